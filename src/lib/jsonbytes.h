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

/*
 * jbuf - a JSON line written straight into a reusable buffer, for the
 * event hot path where building jansson objects and dumping them cost
 * more than everything else the sensor does per event.  Same encoding
 * rules as above (lossy KEY plus exact KEY_b64 for invalid UTF-8), and a
 * unit test holds it to producing what jansson parses back into the
 * object the json_t path builds.  Errors (ENOMEM) are sticky: check
 * @err once at the end.
 */
struct jbuf {
	char *data;
	size_t len, cap;
	int err;		/* 0 or -ENOMEM */
	bool first;		/* no member yet in the innermost container */
};

/* Empty @b for a new line, keeping its memory. */
void jbuf_reset(struct jbuf *b);
void jbuf_free(struct jbuf *b);
/* Room for @more bytes after the current length; false on ENOMEM. */
bool jbuf_reserve(struct jbuf *b, size_t more);
/* Containers: @key NULL for the top level or an array element. */
void jbuf_open(struct jbuf *b, const char *key, char brace);
void jbuf_close(struct jbuf *b, char brace);
/* Members; @key is a trusted ASCII literal, never escaped. */
void jbuf_int(struct jbuf *b, const char *key, long long v);
void jbuf_true(struct jbuf *b, const char *key);
/* A string known to be printable ASCII without quotes or backslashes. */
void jbuf_ascii(struct jbuf *b, const char *key, const char *s, size_t len);
/* Any bytes as a lossy string, as json_lossy_string(). */
void jbuf_lossy(struct jbuf *b, const char *key, const char *s, size_t len);
/* Any bytes, plus KEY_b64 when not valid UTF-8, as json_set_bytes(). */
void jbuf_bytes(struct jbuf *b, const char *key, const char *s, size_t len);
/* NUL-separated strings as an array (plus KEY_b64), as json_set_strv(). */
void jbuf_strv(struct jbuf *b, const char *key, const char *s, size_t len);

#endif
