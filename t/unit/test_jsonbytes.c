/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_jsonbytes - UTF-8 validation and the lossless JSON form of
 * hostile byte strings (file names are bytes, JSON is UTF-8).
 */
#include "jsonbytes.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define V(lit)	utf8_valid(lit, sizeof(lit) - 1)

START_TEST(test_utf8_valid)
{
	ck_assert(V(""));
	ck_assert(V("plain ascii"));
	ck_assert(V("caf\xc3\xa9"));			/* U+00E9 */
	ck_assert(V("\xe2\x82\xac"));			/* U+20AC */
	ck_assert(V("\xf0\x9f\x98\x80"));		/* U+1F600 */
	ck_assert(V("\xf4\x8f\xbf\xbf"));		/* U+10FFFF */
	ck_assert(V("\xed\x9f\xbf"));			/* U+D7FF, just below surrogates */
	ck_assert(V("line\nfeed\ttab\x01\x7f"));	/* controls are valid UTF-8 */
}
END_TEST

START_TEST(test_utf8_invalid)
{
	ck_assert(!V("\xff"));
	ck_assert(!V("\xfe"));
	ck_assert(!V("a\x80" "b"));			/* lone continuation */
	ck_assert(!V("\xc3"));				/* truncated 2-byte */
	ck_assert(!V("\xe2\x82"));			/* truncated 3-byte */
	ck_assert(!V("\xf0\x9f\x98"));			/* truncated 4-byte */
	ck_assert(!V("\xc3\x28"));			/* bad continuation */
	ck_assert(!V("\xf5\x80\x80\x80"));		/* beyond U+10FFFF */
	ck_assert(!V("\xf4\x90\x80\x80"));		/* U+110000 */
}
END_TEST

START_TEST(test_utf8_overlong)
{
	ck_assert(!V("\xc0\xaf"));			/* '/' in 2 bytes */
	ck_assert(!V("\xc1\xbf"));
	ck_assert(!V("\xe0\x80\xaf"));			/* '/' in 3 bytes */
	ck_assert(!V("\xe0\x9f\xbf"));			/* U+07FF in 3 bytes */
	ck_assert(!V("\xf0\x80\x80\xaf"));		/* '/' in 4 bytes */
	ck_assert(!V("\xf0\x8f\xbf\xbf"));		/* U+FFFF in 4 bytes */
	ck_assert(!V("\xc0\x80"));			/* "modified UTF-8" NUL */
}
END_TEST

START_TEST(test_utf8_surrogates_and_nul)
{
	ck_assert(!V("\xed\xa0\x80"));			/* U+D800 */
	ck_assert(!V("\xed\xbf\xbf"));			/* U+DFFF */
	ck_assert(!V("\xed\xa0\xbd\xed\xb8\x80"));	/* CESU-8 pair */
	/* NUL cannot live in a jansson C string: treat it as needing b64 */
	ck_assert(!utf8_valid("a\0b", 3));
	ck_assert(!utf8_valid("\0", 1));
}
END_TEST

START_TEST(test_base64_roundtrip)
{
	static const unsigned char all[] = { 0, 1, 2, 0xfe, 0xff, '\n', '"' };
	unsigned char *out = NULL;

	for (size_t len = 0; len <= sizeof(all); len++) {
		char *b64 = base64_encode(all, len);
		long n;

		ck_assert_ptr_nonnull(b64);
		ck_assert_uint_eq(strlen(b64) % 4, 0);
		n = base64_decode(b64, &out);
		ck_assert_msg(n == (long)len, "len %zu: decoded %ld bytes from \"%s\"", len, n, b64);
		ck_assert(memcmp(out, all, len) == 0);
		free(out);
		free(b64);
	}
	ck_assert_int_eq(base64_decode("abc", &out), -1);	/* not a multiple of 4 */
}
END_TEST

/* Encode @len bytes under "path", dump, and check the dump and both forms. */
static void check_roundtrip(const char *s, size_t len)
{
	json_t *obj = json_object(), *back;
	json_error_t jerr;
	const char *txt;
	char *dump;
	bool valid = utf8_valid(s, len);

	ck_assert_int_eq(json_set_bytes(obj, "path", s, len), 0);
	dump = json_dumps(obj, JSON_COMPACT);
	ck_assert_ptr_nonnull(dump);
	ck_assert_msg(strchr(dump, '\n') == NULL, "dump is not one line: %s", dump);
	ck_assert_msg(utf8_valid(dump, strlen(dump)), "dump is not valid UTF-8");
	back = json_loads(dump, 0, &jerr);
	ck_assert_msg(back != NULL, "dump does not parse: %s", jerr.text);

	txt = json_string_value(json_object_get(back, "path"));
	ck_assert_ptr_nonnull(txt);
	if (valid) {
		/* valid UTF-8: the string itself is exact, no b64 twin */
		ck_assert_uint_eq(json_string_length(json_object_get(back, "path")), len);
		ck_assert(memcmp(txt, s, len) == 0);
		ck_assert_ptr_null(json_object_get(back, "path_b64"));
	} else {
		const char *b64 = json_string_value(json_object_get(back, "path_b64"));
		unsigned char *raw = NULL;
		long n;

		ck_assert_msg(b64 != NULL, "invalid UTF-8 but no path_b64 in %s", dump);
		n = base64_decode(b64, &raw);
		ck_assert_msg(n == (long)len, "path_b64 gave %ld bytes, expected %zu", n, len);
		ck_assert(memcmp(raw, s, len) == 0);
		/* the lossy twin is readable: U+FFFD where the bytes were bad */
		ck_assert_ptr_nonnull(strstr(txt, "\xef\xbf\xbd"));
		free(raw);
	}
	json_decref(back);
	free(dump);
	json_decref(obj);
}

#define RT(lit)	check_roundtrip(lit, sizeof(lit) - 1)

START_TEST(test_hostile_names)
{
	RT("/tmp/new\nline");
	RT("/tmp/quo\"te");
	RT("/tmp/back\\slash");
	RT("/tmp/tab\there");
	RT("/tmp/ctl\x01\x02\x1b[31m\x7f");
	RT("/tmp/bad\xff");
	RT("/tmp/\xc0\xaf" "overlong");
	RT("/tmp/\xed\xa0\x80" "surrogate");
	RT("/tmp/mixed\n\xff\"\\\t\xe2\x82\xac");
	RT("/tmp/caf\xc3\xa9");
	check_roundtrip("nul\0inside", 10);
}
END_TEST

START_TEST(test_long_path)
{
	char *p = malloc(4096);

	/* /aaaa.../ with invalid bytes sprinkled in, 4096 bytes */
	for (size_t i = 0; i < 4096; i++)
		p[i] = (i % 64 == 0) ? '/' : (i % 97 == 5) ? '\xff' : (i % 101 == 7) ? '\n' : 'a';
	check_roundtrip(p, 4096);
	for (size_t i = 0; i < 4096; i++)
		if (p[i] == '\xff')
			p[i] = 'b';
	check_roundtrip(p, 4096);
	free(p);
}
END_TEST

START_TEST(test_strv)
{
	static const char argv[] = "cat\0/tmp/a\nb\0/tmp/\xff\0";
	json_t *obj = json_object(), *arr, *arr64;
	unsigned char *raw = NULL;
	long n;

	ck_assert_int_eq(json_set_strv(obj, "cmdline", argv, sizeof(argv) - 1), 0);
	arr = json_object_get(obj, "cmdline");
	arr64 = json_object_get(obj, "cmdline_b64");
	ck_assert_uint_eq(json_array_size(arr), 3);
	ck_assert_str_eq(json_string_value(json_array_get(arr, 1)), "/tmp/a\nb");
	ck_assert_uint_eq(json_array_size(arr64), 3);
	n = base64_decode(json_string_value(json_array_get(arr64, 2)), &raw);
	ck_assert_int_eq(n, 6);
	ck_assert(memcmp(raw, "/tmp/\xff", 6) == 0);
	free(raw);
	json_decref(obj);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonbytes");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_utf8_invalid);
	tcase_add_test(tc, test_utf8_overlong);
	tcase_add_test(tc, test_utf8_surrogates_and_nul);
	tcase_add_test(tc, test_base64_roundtrip);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_long_path);
	tcase_add_test(tc, test_strv);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
