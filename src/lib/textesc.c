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

/* Length of the valid UTF-8 sequence at @p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		need = 2; c = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		need = 3; c = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		need = 4; c = p[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return need;
}

/* The escape of one character into @buf (at least 8 bytes); its length. */
static size_t escape_one(const unsigned char *p, size_t n, size_t *used, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp = 0;
	size_t l = utf8_len(p, n, &cp);

	if (l == 0) {
		*used = 1;
		buf[0] = '\\'; buf[1] = 'x';
		buf[2] = hex[p[0] >> 4]; buf[3] = hex[p[0] & 15];
		return 4;
	}
	*used = l;
	if (cp == '\\') {
		buf[0] = buf[1] = '\\';
		return 2;
	}
	if (cp == '\n' || cp == '\t' || cp == '\r') {
		buf[0] = '\\';
		buf[1] = cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r';
		return 2;
	}
	if (cp < 0x20 || cp == 0x7f) {
		buf[0] = '\\'; buf[1] = 'x';
		buf[2] = hex[cp >> 4]; buf[3] = hex[cp & 15];
		return 4;
	}
	if (cp >= 0x80 && cp <= 0x9f) {
		memcpy(buf, "\\u00", 4);
		buf[4] = hex[cp >> 4]; buf[5] = hex[cp & 15];
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
