/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsonbytes - put arbitrary byte strings (file names, argv) into JSON.
 *
 * Linux file names are bytes, not text.  JSON strings must be UTF-8, so:
 *   - valid UTF-8 goes in as is (jansson escapes newlines, quotes and
 *     control characters, so the line stays one line);
 *   - otherwise KEY holds a lossy copy (each invalid byte becomes U+FFFD)
 *     and KEY_b64 holds the exact bytes in base64, so a consumer can
 *     recover the name byte for byte.
 */
#ifndef SENSEON_JSONBYTES_H
#define SENSEON_JSONBYTES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool utf8_valid(const char *s, size_t len);
/* A new JSON string: @s if valid UTF-8, else a lossy copy. NULL on ENOMEM. */
json_t *json_lossy_string(const char *s, size_t len);
/* base64 (RFC 4648, padded) of @len bytes, malloc'd; NULL on ENOMEM. */
char *base64_encode(const void *data, size_t len);
/* Decode base64 into a malloc'd buffer; returns length or -1. */
long base64_decode(const char *b64, unsigned char **out);
/* Set KEY (and KEY_b64 when needed) on @obj. Returns 0 or -1. */
int json_set_bytes(json_t *obj, const char *key, const char *s, size_t len);
/* Set KEY to an array of the NUL-separated strings in @s (and KEY_b64). */
int json_set_strv(json_t *obj, const char *key, const char *s, size_t len);

#endif
