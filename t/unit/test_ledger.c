/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_ledger - at-most-once command ids: a claimed id is never claimed
 * again, the stored result comes back, across a reopen; a command that
 * was running when the process died is reported interrupted, not rerun;
 * the journal is compacted and keeps the newest ids.
 */
#include "ledger.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_ledger.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(once_and_result)
{
	struct ledger *l;
	enum ledger_state st;
	json_t *res, *want = json_pack("{s:b, s:i}", "ok", 1, "exit", 0);

	ck_assert_int_eq(ledger_open(path, 0, &l), 0);
	ck_assert_int_eq(ledger_begin(l, "c1", "script.run", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_NEW);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(ledger_begin(l, "c1", "script.run", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_RUNNING);
	ck_assert_int_eq(ledger_finish(l, "c1", want), 0);
	ck_assert_int_eq(ledger_finish(l, "nope", want), -ENOENT);
	ck_assert_int_eq(ledger_begin(l, "c1", "script.run", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_DONE);
	ck_assert(json_equal(res, want));
	json_decref(res);
	ledger_close(l);

	ck_assert_int_eq(ledger_open(path, 0, &l), 0);
	ck_assert_int_eq(ledger_begin(l, "c1", "script.run", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_DONE);
	ck_assert(json_equal(res, want));
	json_decref(res);
	ledger_close(l);
	json_decref(want);
}
END_TEST

/* A child claims an id and is killed before it finishes: never rerun. */
START_TEST(interrupted_by_kill)
{
	struct ledger *l;
	enum ledger_state st;
	json_t *res;
	int p[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (ledger_open(path, 0, &l) || ledger_begin(l, "k1", "kill", &st, &res) ||
		    st != LEDGER_NEW)
			_exit(2);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(p[0]);
	ck_assert_int_eq(ledger_open(path, 0, &l), 0);
	ck_assert_int_eq(ledger_begin(l, "k1", "kill", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_INTERRUPTED);
	ck_assert_ptr_null(res);
	ledger_close(l);
}
END_TEST

START_TEST(torn_line_and_compaction)
{
	struct ledger *l;
	enum ledger_state st;
	json_t *res, *ok = json_pack("{s:b}", "ok", 1);
	char id[32];
	struct stat sb;
	int fd;

	ck_assert_int_eq(ledger_open(path, 50, &l), 0);
	for (int i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		ck_assert_int_eq(ledger_begin(l, id, "status", &st, &res), 0);
		ck_assert_int_eq(st, LEDGER_NEW);
		ck_assert_int_eq(ledger_finish(l, id, ok), 0);
	}
	ck_assert_uint_eq(ledger_count(l), 50);
	ledger_close(l);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_msg(sb.st_size < 20000, "expected a compacted journal, saw %lld bytes",
		      (long long)sb.st_size);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "{\"id\":\"torn", 11), 11);
	close(fd);
	ck_assert_int_eq(ledger_open(path, 50, &l), 0);
	ck_assert_int_eq(ledger_begin(l, "id-499", "status", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_DONE);
	json_decref(res);
	ck_assert_int_eq(ledger_begin(l, "id-0", "status", &st, &res), 0);
	ck_assert_int_eq(st, LEDGER_NEW);	/* forgotten: beyond the window */
	ledger_close(l);
	json_decref(ok);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, once_and_result);
	tcase_add_test(tc, interrupted_by_kill);
	tcase_add_test(tc, torn_line_and_compaction);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
