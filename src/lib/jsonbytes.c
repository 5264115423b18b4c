/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsonbytes - lossless JSON encoding of byte strings.
 *
 * Overview: stateless helpers.  base64 comes from OpenSSL's EVP encoder
 * rather than a hand-written table.  Strings are validated once: what
 * utf8_valid() accepted is handed to jansson unchecked.
 */
#include "jsonbytes.h"
#include "textesc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);

		/* NUL is valid UTF-8 but jansson's strings are C strings */
		if (n == 0 || p[i] == 0)
			return false;
		i += n;
	}
	return true;
}

json_t *json_lossy_string(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *buf;
	size_t i = 0, o = 0;
	json_t *js;

	if (utf8_valid(s, len))
		return json_stringn_nocheck(s, len);
	buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	while (i < len) {
		size_t n = p[i] ? utf8_seq_len(p + i, len - i) : 0;

		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, p + i, n);
		o += n;
		i += n;
	}
	js = json_stringn_nocheck(buf, o);
	free(buf);
	return js;
}

char *base64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

long base64_decode(const char *b64, unsigned char **out)
{
	size_t len = strlen(b64);
	unsigned char *buf;
	int n;

	if (len % 4)
		return -1;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(buf);
		return -1;
	}
	/* EVP_DecodeBlock counts padding as data: take it back off. */
	if (len >= 1 && b64[len - 1] == '=')
		n--;
	if (len >= 2 && b64[len - 2] == '=')
		n--;
	*out = buf;
	return n;
}

int json_set_bytes(json_t *obj, const char *key, const char *s, size_t len)
{
	char b64key[128];
	json_t *js;

	if (utf8_valid(s, len))
		return json_object_set_new(obj, key, json_stringn_nocheck(s, len)) ? -1 : 0;
	js = json_lossy_string(s, len);
	if (!js || json_object_set_new(obj, key, js))
		return -1;
	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	char *b64 = base64_encode(s, len);

	if (!b64)
		return -1;
	int rc = json_object_set_new(obj, b64key, json_string(b64));

	free(b64);
	return rc;
}

int json_set_strv(json_t *obj, const char *key, const char *s, size_t len)
{
	json_t *arr = json_array(), *arr64 = NULL;
	bool all_valid = true;
	size_t i = 0;

	if (!arr)
		return -1;
	/* /proc cmdline ends with a NUL: it terminates, it does not start an arg */
	while (i < len) {
		size_t n = strnlen(s + i, len - i);

		if (!utf8_valid(s + i, n))
			all_valid = false;
		json_array_append_new(arr, json_lossy_string(s + i, n));
		i += n + 1;
	}
	if (json_object_set_new(obj, key, arr))
		return -1;
	if (all_valid)
		return 0;
	arr64 = json_array();
	for (i = 0; i < len;) {
		size_t n = strnlen(s + i, len - i);
		char *b64 = base64_encode(s + i, n);

		json_array_append_new(arr64, json_string(b64 ? b64 : ""));
		free(b64);
		i += n + 1;
	}
	char b64key[128];

	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	return json_object_set_new(obj, b64key, arr64);
}
