/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SENSEON_TEXTESC_H
#define SENSEON_TEXTESC_H

#include <stddef.h>
#include <stdio.h>

/*
 * textesc - text for a terminal or a log line, from bytes an attacker may
 * choose (file names, command lines, strings from the platform).
 *
 * Valid UTF-8 passes, except what a terminal would act on: C0 controls,
 * DEL and C1 controls (U+0080..U+009F) become \n, \t, \r, \xNN or
 * \u00NN; a byte that is not part of valid UTF-8 becomes \xNN; a backslash
 * becomes \\ so that the escapes cannot be forged.  The result is one
 * line, printable, and names the exact bytes.
 */

/* utf8_seq_len - length of the valid UTF-8 sequence at @s (at most @left
 * bytes, @left > 0): 1 to 4, or 0 when it is not UTF-8 (overlong forms,
 * surrogates and code points beyond U+10FFFF are not) */
size_t utf8_seq_len(const unsigned char *s, size_t left);

/* text_escape - escape @len bytes of @s; a malloc'd string, or NULL */
char *text_escape(const char *s, size_t len);

/* text_escape_into - the same into @out (@size bytes, NUL-terminated,
 * cut short at a character boundary when too small); returns the length
 * the whole escape needs, like snprintf */
size_t text_escape_into(char *out, size_t size, const char *s, size_t len);

/* text_fputs - write the escape of the NUL-terminated @s to @fp */
void text_fputs(const char *s, FILE *fp);

#endif
