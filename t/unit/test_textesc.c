/* SPDX-License-Identifier: GPL-2.0-or-later */
/* textesc: what reaches a terminal or a log line from hostile bytes. */
#include "textesc.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void expect(const char *in, size_t len, const char *want)
{
	char *got = text_escape(in, len);

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, want) == 0, "escape: expected \"%s\", got \"%s\"", want, got);
	free(got);
}

START_TEST(plain_and_utf8_pass)
{
	expect("/usr/bin/wget", 13, "/usr/bin/wget");
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
}
END_TEST

START_TEST(controls_are_escaped)
{
	/* a forged second line, a window title sequence, a bell, DEL */
	static const char in[] = "x\n2026-12-08 Critical fake\x1b]0;pwned\x07\x7f\tend\r";

	expect(in, sizeof(in) - 1,
	       "x\\n2026-12-08 Critical fake\\x1b]0;pwned\\x07\\x7f\\tend\\r");
	expect("a\0b", 3, "a\\x00b");
}
END_TEST

START_TEST(c1_and_invalid_bytes)
{
	/* U+009B (CSI) as UTF-8, a raw 0x9b byte, a lone continuation byte,
	 * an overlong '/', a surrogate, a truncated sequence */
	expect("\xc2\x9b" "2J", 4, "\\u009b2J");
	expect("\x9b" "2J", 3, "\\x9b2J");
	expect("\x80", 1, "\\x80");
	expect("\xc0\xaf", 2, "\\xc0\\xaf");
	expect("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	expect("\xe2\x82", 2, "\\xe2\\x82");
}
END_TEST

START_TEST(backslash_cannot_forge)
{
	/* the name "\x1b" spelled out is not an escape character */
	expect("\\x1b", 4, "\\\\x1b");
}
END_TEST

START_TEST(into_cuts_at_a_character)
{
	char buf[8];
	size_t need = text_escape_into(buf, sizeof(buf), "ab\ncd\x1b" "ef", 8);

	ck_assert_uint_eq(need, strlen("ab\\ncd\\x1bef"));
	/* "ab\ncd" fits in 7 bytes, the 4-byte "\x1b" does not */
	ck_assert_str_eq(buf, "ab\\ncd");
	ck_assert_uint_eq(text_escape_into(NULL, 0, "\x01", 1), 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("textesc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, plain_and_utf8_pass);
	tcase_add_test(tc, controls_are_escaped);
	tcase_add_test(tc, c1_and_invalid_bytes);
	tcase_add_test(tc, backslash_cannot_forge);
	tcase_add_test(tc, into_cuts_at_a_character);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
