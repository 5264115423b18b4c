/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_outbox - the platform outbox on a real directory: ids across
 * reopen, streaming reads, cumulative acks trimming segments, the disk
 * budget dropping oldest first (counted), a torn tail cut off, and a
 * child SIGKILLed in the middle of appending losing nothing it was told
 * was stored; group commit (queued entries invisible until one flush
 * makes them durable, a rotation flushing first) and a child SIGKILLed
 * while queueing.
 */
#include "outbox.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_outbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void append_str(struct outbox *ob, const char *s, uint64_t *oid)
{
	ck_assert_int_eq(outbox_append(ob, s, strlen(s), oid), 0);
}

/* Read every entry after @after; checks they are "e<oid>". Returns the count. */
static uint64_t drain(struct outbox *ob, uint64_t after, uint64_t *last)
{
	uint64_t n = 0, oid;
	void *data;
	size_t len;
	char want[32];

	while (outbox_next(ob, after, &oid, &data, &len) == 0) {
		ck_assert_uint_gt(oid, after);
		snprintf(want, sizeof(want), "e%" PRIu64, oid);
		ck_assert_msg(len == strlen(want) && memcmp(data, want, len) == 0,
			      "entry %" PRIu64 ": expected %s, saw %.*s", oid, want,
			      (int)len, (char *)data);
		free(data);
		after = oid;
		n++;
	}
	if (last)
		*last = after;
	return n;
}

static void append_numbered(struct outbox *ob, int n)
{
	struct outbox_stats st;
	char buf[32];

	for (int i = 0; i < n; i++) {
		outbox_stats(ob, &st);
		snprintf(buf, sizeof(buf), "e%" PRIu64, st.next_oid);
		append_str(ob, buf, NULL);
	}
}

START_TEST(ids_survive_reopen)
{
	struct outbox *ob;
	struct outbox_stats st;
	uint64_t oid, last;

	ck_assert_int_eq(outbox_open(dir, NULL, &ob), 0);
	append_str(ob, "e1", &oid);
	ck_assert_uint_eq(oid, 1);
	append_numbered(ob, 9);
	ck_assert_uint_eq(drain(ob, 0, &last), 10);
	ck_assert_uint_eq(last, 10);
	ck_assert_int_eq(outbox_ack(ob, 4), 0);
	ck_assert_int_eq(outbox_ack(ob, 11), -ERANGE);
	outbox_close(ob);

	ck_assert_int_eq(outbox_open(dir, NULL, &ob), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.next_oid, 11);
	ck_assert_uint_eq(st.acked, 4);
	ck_assert_uint_eq(st.pending, 6);
	/* at least once: everything after the ack is still there */
	ck_assert_uint_eq(drain(ob, st.acked, NULL), 6);
	ck_assert_int_eq(outbox_ack(ob, 10), 0);
	outbox_close(ob);

	/* every segment acked and deleted: ids still never go back */
	ck_assert_int_eq(outbox_open(dir, NULL, &ob), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.next_oid, 11);
	ck_assert_uint_eq(st.pending, 0);
	append_str(ob, "e11", &oid);
	ck_assert_uint_eq(oid, 11);
	outbox_close(ob);
}
END_TEST

START_TEST(stream_across_segments)
{
	struct outbox_opts o = { .max_bytes = 1 << 20, .segment_bytes = 4096 };
	struct outbox *ob;
	struct outbox_stats st;
	uint64_t last = 0, got = 0;

	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	/* interleave appends and reads, as the sender does while alerts come */
	for (int round = 0; round < 20; round++) {
		append_numbered(ob, 50);
		got += drain(ob, last, &last);
	}
	ck_assert_uint_eq(got, 1000);
	outbox_stats(ob, &st);
	ck_assert_uint_gt(st.segments, 3);
	ck_assert_int_eq(outbox_ack(ob, 600), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.pending, 400);
	/* a reconnect starts again after the ack */
	ck_assert_uint_eq(drain(ob, 600, NULL), 400);
	outbox_close(ob);
}
END_TEST

START_TEST(budget_drops_oldest)
{
	struct outbox_opts o = { .max_bytes = 16384, .segment_bytes = 4096 };
	struct outbox *ob;
	struct outbox_stats st;
	uint64_t oid, first;
	void *data;
	size_t len;

	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	append_numbered(ob, 3000);
	outbox_stats(ob, &st);
	ck_assert_msg(st.bytes <= 16384, "expected at most 16384 bytes, saw %" PRIu64, st.bytes);
	ck_assert_uint_gt(st.dropped, 0);
	ck_assert_uint_eq(st.dropped + st.pending, 3000);
	/* the newest entries are the ones kept */
	ck_assert_int_eq(outbox_next(ob, 0, &first, &data, &len), 0);
	free(data);
	ck_assert_uint_eq(first, st.dropped + 1);
	ck_assert_uint_eq(drain(ob, 0, &oid), st.pending);
	ck_assert_uint_eq(oid, 3000);
	outbox_close(ob);
	/* the count of dropped entries is persistent */
	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.dropped, first - 1);
	outbox_close(ob);
}
END_TEST

START_TEST(torn_tail_cut)
{
	struct outbox *ob;
	struct outbox_stats st;
	char path[128];
	int fd;

	ck_assert_int_eq(outbox_open(dir, NULL, &ob), 0);
	append_numbered(ob, 5);
	outbox_close(ob);
	snprintf(path, sizeof(path), "%s/%020d.seg", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	/* half a header and garbage, as a crash mid-write would leave */
	ck_assert_int_eq(write(fd, "\0\0\0\x10garbage", 11), 11);
	close(fd);
	ck_assert_int_eq(outbox_open(dir, NULL, &ob), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.recovered, 11);
	ck_assert_uint_eq(st.next_oid, 6);
	ck_assert_uint_eq(drain(ob, 0, NULL), 5);
	append_numbered(ob, 1);
	ck_assert_uint_eq(drain(ob, 0, NULL), 6);
	outbox_close(ob);
}
END_TEST

/*
 * A child appends as fast as it can and reports each oid on a pipe once
 * outbox_append() returned; we SIGKILL it mid-stream.  Every reported
 * entry must be readable after reopening, intact.
 */
START_TEST(sigkill_mid_append)
{
	struct outbox_opts o = { .max_bytes = 64 << 20, .segment_bytes = 65536 };
	struct outbox *ob;
	uint64_t reported = 0, v, last = 0;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[600];

		close(p[0]);
		if (outbox_open(dir, &o, &ob))
			_exit(2);
		for (uint64_t i = 1;; i++) {
			uint64_t oid;
			int n = snprintf(buf, sizeof(buf), "e%" PRIu64, i);

			/* pad so appends straddle segment boundaries */
			memset(buf + n + 1, 'x', sizeof(buf) - (size_t)n - 1);
			if (outbox_append(ob, buf, (size_t)n, &oid) || oid != i)
				_exit(3);
			if (write(p[1], &oid, sizeof(oid)) != sizeof(oid))
				_exit(4);
		}
	}
	close(p[1]);
	while (reported < 300 && read(p[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	while (read(p[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "the child died on its own (status %d)", status);
	ck_assert_uint_ge(reported, 300);

	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	ck_assert_uint_ge(drain(ob, 0, &last), reported);
	ck_assert_msg(last >= reported, "reported %" PRIu64 " stored, found only up to %" PRIu64,
		      reported, last);
	outbox_close(ob);
}
END_TEST

/*
 * Group commit: queued entries are invisible (not sent, not ackable)
 * until one outbox_commit() flushes them all; a rotation commits too.
 */
START_TEST(group_commit)
{
	struct outbox_opts o = { .max_bytes = 64 << 20, .segment_bytes = 1 << 20 };
	struct outbox_stats st;
	struct outbox *ob;
	uint64_t oid, last = 0;
	void *data;
	size_t len;
	char buf[32];

	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	for (int i = 1; i <= 1000; i++) {
		snprintf(buf, sizeof(buf), "e%d", i);
		ck_assert_int_eq(outbox_queue(ob, buf, strlen(buf), &oid), 0);
		ck_assert_uint_eq(oid, (uint64_t)i);
	}
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.uncommitted, 1000);
	ck_assert_uint_eq(st.commits, 0);
	ck_assert_int_eq(outbox_next(ob, 0, &oid, &data, &len), -ENOENT);
	ck_assert_int_eq(outbox_ack(ob, 1), -ERANGE);
	ck_assert_int_eq(outbox_commit(ob), 0);
	outbox_stats(ob, &st);
	ck_assert_uint_eq(st.uncommitted, 0);
	ck_assert_msg(st.commits == 1, "expected 1000 entries in one flush, saw %" PRIu64
		      " flushes", st.commits);
	ck_assert_uint_eq(drain(ob, 0, &last), 1000);
	ck_assert_uint_eq(last, 1000);
	/* the reader waits at the first uncommitted entry, then goes on */
	snprintf(buf, sizeof(buf), "e1001");
	ck_assert_int_eq(outbox_queue(ob, buf, strlen(buf), NULL), 0);
	ck_assert_int_eq(outbox_next(ob, 1000, &oid, &data, &len), -ENOENT);
	ck_assert_int_eq(outbox_append(ob, "e1002", 5, NULL), 0);
	ck_assert_uint_eq(drain(ob, 1000, &last), 2);
	ck_assert_int_eq(outbox_ack(ob, 1002), 0);
	outbox_close(ob);

	/* a rotation flushes the old segment first: only the newest is open */
	o.segment_bytes = 4096;
	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	for (int i = 0; i < 200; i++) {
		outbox_stats(ob, &st);
		snprintf(buf, sizeof(buf), "e%" PRIu64, st.next_oid);
		ck_assert_int_eq(outbox_queue(ob, buf, strlen(buf), NULL), 0);
	}
	outbox_stats(ob, &st);
	ck_assert_uint_gt(st.segments, 1);
	ck_assert_uint_gt(st.commits, 0);
	ck_assert_uint_lt(st.uncommitted, 200);
	ck_assert_int_eq(outbox_commit(ob), 0);
	ck_assert_uint_eq(drain(ob, 1002, NULL), 200);
	outbox_close(ob);
}
END_TEST

/*
 * SIGKILL of a process that queued without committing: the kernel keeps
 * what write(2) took, so every entry whose outbox_queue() returned is
 * there after reopening (only power loss needs the commit).
 */
START_TEST(sigkill_queued)
{
	struct outbox_opts o = { .max_bytes = 64 << 20, .segment_bytes = 65536 };
	struct outbox *ob;
	uint64_t reported = 0, v, last = 0;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[64];

		close(p[0]);
		if (outbox_open(dir, &o, &ob))
			_exit(2);
		for (uint64_t i = 1;; i++) {
			uint64_t oid;
			int n = snprintf(buf, sizeof(buf), "e%" PRIu64, i);

			if (outbox_queue(ob, buf, (size_t)n, &oid) || oid != i)
				_exit(3);
			if (i % 64 == 0 && outbox_commit(ob))
				_exit(5);
			if (write(p[1], &oid, sizeof(oid)) != sizeof(oid))
				_exit(4);
		}
	}
	close(p[1]);
	while (reported < 3000 && read(p[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	while (read(p[0], &v, sizeof(v)) == sizeof(v))
		reported = v;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "the child died on its own (status %d)", status);

	ck_assert_int_eq(outbox_open(dir, &o, &ob), 0);
	ck_assert_uint_ge(drain(ob, 0, &last), reported);
	ck_assert_msg(last >= reported, "reported %" PRIu64 " queued, found only up to %"
		      PRIu64, reported, last);
	outbox_close(ob);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ids_survive_reopen);
	tcase_add_test(tc, stream_across_segments);
	tcase_add_test(tc, budget_drops_oldest);
	tcase_add_test(tc, torn_tail_cut);
	tcase_add_test(tc, sigkill_mid_append);
	tcase_add_test(tc, group_commit);
	tcase_add_test(tc, sigkill_queued);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
