/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsonbytes - lossless JSON encoding of byte strings.
 *
 * Overview: stateless helpers, and struct jbuf, whose memory belongs to
 * its caller (one per writer thread, reused line after line).  base64
 * comes from OpenSSL's EVP encoder rather than a hand-written table.
 * Strings are validated once: what utf8_valid() accepted is handed to
 * jansson unchecked, and jbuf escapes and validates in the same pass.
 */
#include "jsonbytes.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at @s (at most @left bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

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

/* ---- jbuf: JSON written straight into a buffer -------------------------- */

bool jbuf_reserve(struct jbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return false;
	if (b->len + more <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static void put(struct jbuf *b, const char *s, size_t len)
{
	if (!jbuf_reserve(b, len))
		return;
	memcpy(b->data + b->len, s, len);
	b->len += len;
}

static void putc_(struct jbuf *b, char c)
{
	if (jbuf_reserve(b, 1))
		b->data[b->len++] = c;
}

/* The comma, and "key": when there is a key. */
static void member(struct jbuf *b, const char *key)
{
	if (!b->first)
		putc_(b, ',');
	b->first = false;
	if (!key)
		return;
	putc_(b, '"');
	put(b, key, strlen(key));
	put(b, "\":", 2);
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->err = 0;
	b->first = true;
}

void jbuf_free(struct jbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void jbuf_open(struct jbuf *b, const char *key, char brace)
{
	member(b, key);
	putc_(b, brace);
	b->first = true;
}

/* After a container closes, its parent has at least that member. */
void jbuf_close(struct jbuf *b, char brace)
{
	putc_(b, brace);
	b->first = false;
}

void jbuf_int(struct jbuf *b, const char *key, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	member(b, key);
	put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jbuf_true(struct jbuf *b, const char *key)
{
	member(b, key);
	put(b, "true", 4);
}

void jbuf_ascii(struct jbuf *b, const char *key, const char *s, size_t len)
{
	member(b, key);
	putc_(b, '"');
	put(b, s, len);
	putc_(b, '"');
}

/*
 * The escaped, lossy body of a string (no quotes); returns whether @s
 * was valid UTF-8 without NUL bytes.  Runs of plain bytes are copied at
 * once: names and arguments are mostly plain.
 */
static bool put_escaped(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	bool valid = true;
	size_t i = 0, run = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		put(b, s + run, i - run);
		if (c >= 0x80) {
			n = utf8_seq_len(p + i, len - i);
			if (n) {
				put(b, s + i, n);
			} else {
				put(b, "\xef\xbf\xbd", 3);	/* U+FFFD */
				valid = false;
				n = 1;
			}
			i += n;
			run = i;
			continue;
		}
		switch (c) {
		case '"': put(b, "\\\"", 2); break;
		case '\\': put(b, "\\\\", 2); break;
		case '\n': put(b, "\\n", 2); break;
		case '\t': put(b, "\\t", 2); break;
		case '\r': put(b, "\\r", 2); break;
		case 0:
			put(b, "\xef\xbf\xbd", 3);	/* jansson strings are C strings */
			valid = false;
			break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(b, u, sizeof(u));
		}
		}
		run = ++i;
	}
	put(b, s + run, len - run);
	return valid;
}

void jbuf_lossy(struct jbuf *b, const char *key, const char *s, size_t len)
{
	member(b, key);
	putc_(b, '"');
	put_escaped(b, s, len);
	putc_(b, '"');
}

static void put_b64(struct jbuf *b, const char *s, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);

	putc_(b, '"');
	if (jbuf_reserve(b, n + 1)) {
		EVP_EncodeBlock((unsigned char *)b->data + b->len,
				(const unsigned char *)s, (int)len);
		b->len += n;
	}
	putc_(b, '"');
}

void jbuf_bytes(struct jbuf *b, const char *key, const char *s, size_t len)
{
	char b64key[128];

	member(b, key);
	putc_(b, '"');
	if (put_escaped(b, s, len)) {
		putc_(b, '"');
		return;
	}
	putc_(b, '"');
	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	member(b, b64key);
	put_b64(b, s, len);
}

void jbuf_strv(struct jbuf *b, const char *key, const char *s, size_t len)
{
	bool all_valid = true;
	char b64key[128];
	size_t i, n;

	jbuf_open(b, key, '[');
	/* /proc cmdline ends with a NUL: it terminates, it does not start an arg */
	for (i = 0; i < len; i += n + 1) {
		n = strnlen(s + i, len - i);
		member(b, NULL);
		putc_(b, '"');
		all_valid &= put_escaped(b, s + i, n);
		putc_(b, '"');
	}
	jbuf_close(b, ']');
	if (all_valid)
		return;
	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	jbuf_open(b, b64key, '[');
	for (i = 0; i < len; i += n + 1) {
		n = strnlen(s + i, len - i);
		member(b, NULL);
		put_b64(b, s + i, n);
	}
	jbuf_close(b, ']');
}
