/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * textesc - escaping of untrusted text for terminals and logs (see
 * textesc.h).  One pass, no locale: what is "printable" must not depend on
 * the analyst's LANG, or a name safe in one shell drives the next.
 */
#include "textesc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t left)
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

/* The escape of one character into @buf (at least 8 bytes); its length. */
static size_t escape_one(const unsigned char *p, size_t n, size_t *used, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t l = utf8_seq_len(p, n);
	unsigned char c = p[0];

	if (l == 0) {
		*used = 1;
		buf[0] = '\\'; buf[1] = 'x';
		buf[2] = hex[c >> 4]; buf[3] = hex[c & 15];
		return 4;
	}
	*used = l;
	if (l == 1 && c == '\\') {
		buf[0] = buf[1] = '\\';
		return 2;
	}
	if (l == 1 && (c == '\n' || c == '\t' || c == '\r')) {
		buf[0] = '\\';
		buf[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		return 2;
	}
	if (l == 1 && (c < 0x20 || c == 0x7f)) {
		buf[0] = '\\'; buf[1] = 'x';
		buf[2] = hex[c >> 4]; buf[3] = hex[c & 15];
		return 4;
	}
	/* C1 controls, U+0080..U+009F: C2 80..C2 9F */
	if (l == 2 && c == 0xc2 && p[1] <= 0x9f) {
		memcpy(buf, "\\u00", 4);
		buf[4] = hex[p[1] >> 4]; buf[5] = hex[p[1] & 15];
		return 6;
	}
	memcpy(buf, p, l);
	return l;
}

size_t text_escape_into(char *out, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need = 0, off = 0, used;
	char buf[8];
	int fits = size > 0;

	while (off < len) {
		size_t l = escape_one(p + off, len - off, &used, buf);

		if (fits && need + l < size)
			memcpy(out + need, buf, l);
		else if (fits) {
			out[need] = '\0';
			fits = 0;
		}
		need += l;
		off += used;
	}
	if (fits)
		out[need] = '\0';
	return need;
}

char *text_escape(const char *s, size_t len)
{
	size_t need = text_escape_into(NULL, 0, s, len);
	char *out = malloc(need + 1);

	if (out)
		text_escape_into(out, need + 1, s, len);
	return out;
}

void text_fputs(const char *s, FILE *fp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), off = 0, used;
	char buf[8];

	while (off < len) {
		size_t l = escape_one(p + off, len - off, &used, buf);

		fwrite(buf, 1, l, fp);
		off += used;
	}
}
