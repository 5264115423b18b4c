/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_protocol - the control socket's frame codec: round trips through
 * buffers and real sockets, truncated and oversize frames, bad kinds,
 * garbage JSON, and a reader fed one byte at a time.
 */
#include "protocol.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void raw_frame(uint8_t *out, uint32_t len, uint8_t kind)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[4] = kind;
}

START_TEST(header_round_trip)
{
	uint8_t hdr[PROTO_HDR_LEN], kind;
	uint32_t len;

	ck_assert_int_eq(proto_encode_header(hdr, PROTO_DATA, 0x01020304 & 0xfffff), 0);
	ck_assert_int_eq(hdr[0], 0);
	ck_assert_int_eq(hdr[1], 0x02);
	ck_assert_int_eq(hdr[2], 0x03);
	ck_assert_int_eq(hdr[3], 0x04);
	ck_assert_int_eq(hdr[4], 'd');
	ck_assert_int_eq(proto_decode_header(hdr, &kind, &len), 0);
	ck_assert_int_eq(kind, PROTO_DATA);
	ck_assert_uint_eq(len, 0x020304);
}
END_TEST

START_TEST(header_limits)
{
	uint8_t hdr[PROTO_HDR_LEN], kind;
	uint32_t len;

	ck_assert_int_eq(proto_encode_header(hdr, PROTO_JSON, PROTO_MAX_PAYLOAD), 0);
	ck_assert_int_eq(proto_encode_header(hdr, PROTO_JSON, PROTO_MAX_PAYLOAD + 1), -EMSGSIZE);
	ck_assert_int_eq(proto_encode_header(hdr, 'x', 1), -EPROTO);
	raw_frame(hdr, 0xffffffffu, 'j');
	ck_assert_int_eq(proto_decode_header(hdr, &kind, &len), -EMSGSIZE);
	raw_frame(hdr, 4, 'J');
	ck_assert_int_eq(proto_decode_header(hdr, &kind, &len), -EPROTO);
	raw_frame(hdr, 4, 0);
	ck_assert_int_eq(proto_decode_header(hdr, &kind, &len), -EPROTO);
}
END_TEST

START_TEST(json_round_trip_buffer)
{
	json_t *obj = json_pack("{s:I, s:s, s:[i,i]}", "id", (json_int_t)7, "cmd", "kill",
				"list", 1, 2);
	struct proto_frame f;
	uint8_t *buf;
	size_t len, used = 0;

	ck_assert_int_eq(proto_encode_json(obj, &buf, &len), 0);
	ck_assert_int_eq(buf[4], 'j');
	ck_assert_int_eq(proto_decode(buf, len, &f, &used), 0);
	ck_assert_uint_eq(used, len);
	ck_assert_int_eq(f.kind, PROTO_JSON);
	ck_assert_msg(json_equal(obj, f.json), "decoded JSON differs: %s", f.payload);
	proto_frame_free(&f);
	ck_assert_ptr_null(f.json);
	free(buf);
	json_decref(obj);
}
END_TEST

START_TEST(encode_rejects_non_object)
{
	json_t *arr = json_array();
	uint8_t *buf = NULL;
	size_t len;

	ck_assert_int_eq(proto_encode_json(arr, &buf, &len), -EINVAL);
	ck_assert_ptr_null(buf);
	json_decref(arr);
}
END_TEST

/* Every proper prefix of a frame is "need more", never a frame or an error. */
START_TEST(truncated_frames)
{
	json_t *obj = json_pack("{s:i, s:s}", "id", 1, "cmd", "status");
	struct proto_frame f;
	uint8_t *buf;
	size_t len, used;

	ck_assert_int_eq(proto_encode_json(obj, &buf, &len), 0);
	for (size_t n = 0; n < len; n++) {
		used = 12345;
		ck_assert_int_eq(proto_decode(buf, n, &f, &used), -EAGAIN);
		ck_assert_uint_eq(used, 12345);
		ck_assert_ptr_null(f.payload);
	}
	free(buf);
	json_decref(obj);
}
END_TEST

START_TEST(two_frames_in_one_buffer)
{
	uint8_t buf[64];
	struct proto_frame f;
	size_t used;

	raw_frame(buf, 3, 'd');
	memcpy(buf + 5, "abc", 3);
	raw_frame(buf + 8, 0, 'e');
	ck_assert_int_eq(proto_decode(buf, 13, &f, &used), 0);
	ck_assert_uint_eq(used, 8);
	ck_assert_int_eq(f.kind, PROTO_DATA);
	ck_assert_uint_eq(f.len, 3);
	ck_assert_mem_eq(f.payload, "abc", 3);
	ck_assert_ptr_null(f.json);
	proto_frame_free(&f);
	ck_assert_int_eq(proto_decode(buf + used, 13 - used, &f, &used), 0);
	ck_assert_int_eq(f.kind, PROTO_END);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_uint_eq(used, 5);
	proto_frame_free(&f);
}
END_TEST

static int decode_text(uint8_t kind, const char *text)
{
	uint8_t buf[256];
	struct proto_frame f;
	size_t used, n = strlen(text);
	int err;

	raw_frame(buf, (uint32_t)n, kind);
	memcpy(buf + 5, text, n);
	err = proto_decode(buf, n + 5, &f, &used);
	proto_frame_free(&f);
	return err;
}

START_TEST(garbage_json)
{
	ck_assert_int_eq(decode_text('j', "{\"id\": 1, \"cmd\": "), -EBADMSG);
	ck_assert_int_eq(decode_text('j', "not json"), -EBADMSG);
	ck_assert_int_eq(decode_text('j', "[1, 2]"), -EBADMSG);
	ck_assert_int_eq(decode_text('j', "42"), -EBADMSG);
	ck_assert_int_eq(decode_text('j', ""), -EBADMSG);
	ck_assert_int_eq(decode_text('j', "{\"a\":1,\"a\":2}"), -EBADMSG);
	ck_assert_int_eq(decode_text('j', "{\"a\":1} trailing"), -EBADMSG);
	/* an end frame may carry a summary object, or nothing */
	ck_assert_int_eq(decode_text('e', "{\"size\": 3}"), 0);
	ck_assert_int_eq(decode_text('e', "nope"), -EBADMSG);
	ck_assert_int_eq(decode_text('d', "any bytes \x01\x02"), 0);
	ck_assert_int_eq(decode_text('q', "{}"), -EPROTO);
}
END_TEST

START_TEST(oversize_buffer_frame)
{
	uint8_t hdr[PROTO_HDR_LEN];
	struct proto_frame f;
	size_t used;

	raw_frame(hdr, PROTO_MAX_PAYLOAD + 1, 'd');
	/* refused from the header alone: no need to receive 1 MiB first */
	ck_assert_int_eq(proto_decode(hdr, sizeof(hdr), &f, &used), -EMSGSIZE);
}
END_TEST

START_TEST(socket_round_trip)
{
	int sv[2];
	struct proto_frame f;
	json_t *obj = json_pack("{s:i, s:s}", "id", 3, "cmd", "alerts");
	static uint8_t big[PROTO_MAX_PAYLOAD];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	/* a child writes so a full socket buffer cannot deadlock the test */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(proto_write_json(sv[1], obj) || proto_write_frame(sv[1], 'd', big, sizeof(big)) ||
		      proto_write_frame(sv[1], 'e', NULL, 0));
	}
	close(sv[1]);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), 0);
	ck_assert(json_equal(f.json, obj));
	proto_frame_free(&f);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), 0);
	ck_assert_int_eq(f.kind, PROTO_DATA);
	ck_assert_uint_eq(f.len, sizeof(big));
	ck_assert_msg(memcmp(f.payload, big, sizeof(big)) == 0, "1 MiB data frame corrupted");
	proto_frame_free(&f);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), 0);
	ck_assert_int_eq(f.kind, PROTO_END);
	proto_frame_free(&f);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), -ENODATA);
	close(sv[0]);
	json_decref(obj);
}
END_TEST

/* The writer trickles one byte at a time: the reader must reassemble. */
START_TEST(partial_reads)
{
	json_t *obj = json_pack("{s:i, s:s, s:s}", "id", 9, "cmd", "status", "pad",
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	struct proto_frame f;
	uint8_t *buf;
	size_t len;
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(proto_encode_json(obj, &buf, &len), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (size_t i = 0; i < len; i++) {
			if (write(sv[1], buf + i, 1) != 1)
				_exit(1);
			usleep(200);
		}
		_exit(0);
	}
	close(sv[1]);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), 0);
	ck_assert(json_equal(f.json, obj));
	proto_frame_free(&f);
	ck_assert_int_eq(proto_read_frame(sv[0], &f), -ENODATA);
	close(sv[0]);
	free(buf);
	json_decref(obj);
}
END_TEST

static int read_after_writing(const void *bytes, size_t n)
{
	struct proto_frame f;
	int sv[2], err;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], bytes, n), (ssize_t)n);
	close(sv[1]);
	err = proto_read_frame(sv[0], &f);
	proto_frame_free(&f);
	close(sv[0]);
	return err;
}

START_TEST(stream_errors)
{
	uint8_t buf[32];

	/* EOF inside the header, inside the payload */
	raw_frame(buf, 10, 'j');
	ck_assert_int_eq(read_after_writing(buf, 3), -EPROTO);
	memcpy(buf + 5, "{\"a\"", 4);
	ck_assert_int_eq(read_after_writing(buf, 9), -EPROTO);
	/* oversize: refused before reading the payload */
	raw_frame(buf, PROTO_MAX_PAYLOAD + 1, 'd');
	ck_assert_int_eq(read_after_writing(buf, 5), -EMSGSIZE);
	raw_frame(buf, 2, 'z');
	memcpy(buf + 5, "{}", 2);
	ck_assert_int_eq(read_after_writing(buf, 7), -EPROTO);
	raw_frame(buf, 2, 'j');
	memcpy(buf + 5, "[]", 2);
	ck_assert_int_eq(read_after_writing(buf, 7), -EBADMSG);
	ck_assert_int_eq(read_after_writing(buf, 0), -ENODATA);
}
END_TEST

START_TEST(write_to_closed_peer)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	/* -EPIPE, and no SIGPIPE (which would kill this test) */
	ck_assert_int_eq(proto_write_frame(sv[1], 'd', "x", 1), -EPIPE);
	ck_assert_int_eq(proto_write_frame(sv[1], 'x', "x", 1), -EPROTO);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("protocol");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, header_round_trip);
	tcase_add_test(tc, header_limits);
	tcase_add_test(tc, json_round_trip_buffer);
	tcase_add_test(tc, encode_rejects_non_object);
	tcase_add_test(tc, truncated_frames);
	tcase_add_test(tc, two_frames_in_one_buffer);
	tcase_add_test(tc, garbage_json);
	tcase_add_test(tc, oversize_buffer_frame);
	tcase_add_test(tc, socket_round_trip);
	tcase_add_test(tc, partial_reads);
	tcase_add_test(tc, stream_errors);
	tcase_add_test(tc, write_to_closed_peer);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
