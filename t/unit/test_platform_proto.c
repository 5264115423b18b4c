/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_platform_proto - the platform channel's frame codec: every message
 * type the platform may send, the fields each one needs, binary chunk
 * headers in both directions, and what must be refused.
 */
#include "platform_proto.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int decode(const char *text, struct pproto_msg *m)
{
	return pproto_decode_text(text, strlen(text), m);
}

START_TEST(ack)
{
	struct pproto_msg m;

	ck_assert_int_eq(decode("{\"type\":\"ack\",\"oid\":42}", &m), 0);
	ck_assert_int_eq(m.type, PPROTO_ACK);
	ck_assert_uint_eq(m.oid, 42);
	pproto_msg_free(&m);
	ck_assert_int_eq(decode("{\"type\":\"ack\",\"oid\":-1}", &m), -EPROTO);
	ck_assert_ptr_null(m.json);
	ck_assert_int_eq(decode("{\"type\":\"ack\",\"oid\":\"7\"}", &m), -EPROTO);
	ck_assert_int_eq(decode("{\"type\":\"ack\"}", &m), -EPROTO);
}
END_TEST

START_TEST(session_and_command)
{
	struct pproto_msg m;

	ck_assert_int_eq(decode("{\"type\":\"session.start\",\"session\":\"s1\","
				"\"analyst\":\"alice@example.com\"}", &m), 0);
	ck_assert_int_eq(m.type, PPROTO_SESSION_START);
	ck_assert_str_eq(m.session, "s1");
	ck_assert_str_eq(m.analyst, "alice@example.com");
	pproto_msg_free(&m);
	ck_assert_int_eq(decode("{\"type\":\"session.start\",\"session\":\"s1\"}", &m),
			 -EPROTO);
	ck_assert_int_eq(decode("{\"type\":\"session.end\",\"session\":\"s1\"}", &m), 0);
	pproto_msg_free(&m);

	ck_assert_int_eq(decode("{\"type\":\"command\",\"id\":\"c-1\",\"cmd\":\"process.kill\","
				"\"session\":\"s1\",\"pid\":12}", &m), 0);
	ck_assert_int_eq(m.type, PPROTO_COMMAND);
	ck_assert_str_eq(m.id, "c-1");
	ck_assert_str_eq(m.cmd, "process.kill");
	ck_assert_str_eq(m.session, "s1");
	ck_assert_int_eq(json_integer_value(json_object_get(m.json, "pid")), 12);
	pproto_msg_free(&m);
	/* no id, an id with a space, no session: refused */
	ck_assert_int_eq(decode("{\"type\":\"command\",\"cmd\":\"x\",\"session\":\"s\"}", &m),
			 -EPROTO);
	ck_assert_int_eq(decode("{\"type\":\"command\",\"id\":\"a b\",\"cmd\":\"x\","
				"\"session\":\"s\"}", &m), -EPROTO);
	ck_assert_int_eq(decode("{\"type\":\"command\",\"id\":\"a\",\"cmd\":\"x\"}", &m),
			 -EPROTO);
}
END_TEST

START_TEST(malformed)
{
	struct pproto_msg m;
	char *big;

	ck_assert_int_eq(decode("", &m), -EBADMSG);
	ck_assert_int_eq(decode("[1,2]", &m), -EBADMSG);
	ck_assert_int_eq(decode("{\"type\":", &m), -EBADMSG);
	ck_assert_int_eq(decode("{\"type\":\"ack\",\"type\":\"ack\",\"oid\":1}", &m), -EBADMSG);
	ck_assert_int_eq(decode("{\"type\":\"nope\"}", &m), -EPROTO);
	ck_assert_int_eq(decode("{\"oid\":1}", &m), -EPROTO);
	ck_assert_int_eq(pproto_decode_text("{\"type\":\"ack\",\"oid\":1}\0", 25, &m), -EBADMSG);
	/* invalid UTF-8 */
	ck_assert_int_eq(decode("{\"type\":\"error\",\"error\":\"\xff\"}", &m), -EBADMSG);
	/* an escaped NUL is refused by the parser itself */
	ck_assert_int_eq(decode("{\"type\":\"session.end\",\"session\":\"a\\u0000b\"}", &m),
			 -EBADMSG);
	big = malloc(PPROTO_MAX_TEXT + 2);
	memset(big, ' ', PPROTO_MAX_TEXT + 1);
	ck_assert_int_eq(pproto_decode_text(big, PPROTO_MAX_TEXT + 1, &m), -EMSGSIZE);
	free(big);
}
END_TEST

START_TEST(chunk_round_trip)
{
	uint8_t buf[PPROTO_CHUNK_HDR_MAX + 16];
	struct pproto_chunk c;
	int h;

	h = pproto_chunk_header(buf, "cmd-7", 0x0102030405060708ull);
	ck_assert_int_eq(h, 2 + 5 + 8);
	memcpy(buf + h, "hello", 5);
	ck_assert_int_eq(pproto_decode_chunk(buf, (size_t)h + 5, &c), 0);
	ck_assert_str_eq(c.id, "cmd-7");
	ck_assert_uint_eq(c.offset, 0x0102030405060708ull);
	ck_assert_uint_eq(c.len, 5);
	ck_assert_int_eq(memcmp(c.data, "hello", 5), 0);
	/* an empty chunk is fine (a zero-length file) */
	ck_assert_int_eq(pproto_decode_chunk(buf, (size_t)h, &c), 0);
	ck_assert_uint_eq(c.len, 0);
	/* shorter than the header, bad magic, id length 0 or too long */
	ck_assert_int_eq(pproto_decode_chunk(buf, (size_t)h - 1, &c), -EPROTO);
	buf[0] = 'X';
	ck_assert_int_eq(pproto_decode_chunk(buf, (size_t)h, &c), -EPROTO);
	buf[0] = 'D';
	buf[1] = 0;
	ck_assert_int_eq(pproto_decode_chunk(buf, (size_t)h, &c), -EPROTO);
	buf[1] = PPROTO_MAX_ID + 1;
	ck_assert_int_eq(pproto_decode_chunk(buf, sizeof(buf), &c), -EPROTO);
	/* a NUL inside the id: the id would read shorter than announced */
	memcpy(buf, "D\2c\0", 4);
	ck_assert_int_eq(pproto_decode_chunk(buf, 12, &c), -EPROTO);
	ck_assert_int_eq(pproto_chunk_header(buf, "", 0), -EINVAL);
	ck_assert_int_eq(pproto_chunk_header(buf, "a\nb", 0), -EINVAL);
}
END_TEST

START_TEST(encode_text)
{
	json_t *o = json_pack("{s:s, s:i}", "type", "hello", "protocol", 1);
	struct pproto_msg m;
	uint8_t *buf;
	size_t len;

	buf = pproto_encode_text(o, 16, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, strlen("{\"type\":\"hello\",\"protocol\":1}"));
	ck_assert_int_eq(memcmp(buf + 16, "{\"type\":\"hello\",\"protocol\":1}", len), 0);
	free(buf);
	json_decref(o);
	o = json_array();
	ck_assert_ptr_null(pproto_encode_text(o, 0, &len));
	ck_assert_int_eq(errno, EINVAL);
	json_decref(o);
	/* what the sensor encodes for an ack round-trips through the decoder */
	o = json_pack("{s:s, s:I}", "type", "ack", "oid", (json_int_t)9);
	buf = pproto_encode_text(o, 0, &len);
	ck_assert_int_eq(pproto_decode_text(buf, len, &m), 0);
	ck_assert_uint_eq(m.oid, 9);
	pproto_msg_free(&m);
	free(buf);
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("platform_proto");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ack);
	tcase_add_test(tc, session_and_command);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, chunk_round_trip);
	tcase_add_test(tc, encode_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
