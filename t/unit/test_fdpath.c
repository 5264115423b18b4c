/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fdpath - fd_path gives the exact bytes of the path an fd names,
 * from any thread, and says so when the buffer is short or the fd bad.
 */
#include "fdpath.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/senseon-fdpath-XXXXXX";
/* a newline and a byte that is not UTF-8: names are bytes */
static const char hostile[] = "a\nb\xff.bin";
static char want[PATH_MAX];
static int fd = -1;

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(want, sizeof(want), "%s/%s", dir, hostile);
	fd = open(want, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
}

static void teardown(void)
{
	close(fd);
	unlink(want);
	rmdir(dir);
	strcpy(dir, "/tmp/senseon-fdpath-XXXXXX");
}

START_TEST(test_exact_bytes)
{
	char buf[PATH_MAX];
	ssize_t n;

	memset(buf, 'x', sizeof(buf));
	n = fd_path(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_mem_eq(buf, want, (size_t)n + 1);	/* NUL-terminated */
}
END_TEST

static void *lookup_thread(void *arg)
{
	static char buf[PATH_MAX];

	(void)arg;
	return fd_path(fd, buf, sizeof(buf)) > 0 ? buf : NULL;
}

START_TEST(test_other_thread)
{
	pthread_t t;
	char *got;

	ck_assert_int_gt(fd_path(fd, (char[PATH_MAX]){ 0 }, PATH_MAX), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, lookup_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, (void **)&got), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_short_buffer)
{
	size_t len = strlen(want);
	char *buf = malloc(len + 1);

	ck_assert_int_eq(fd_path(fd, buf, 0), -ENAMETOOLONG);
	ck_assert_int_eq(fd_path(fd, buf, len), -ENAMETOOLONG);	/* no room for NUL */
	ck_assert_int_eq(fd_path(fd, buf, len + 1), (ssize_t)len);
	ck_assert_str_eq(buf, want);
	free(buf);
}
END_TEST

START_TEST(test_bad_fd)
{
	char buf[64];
	int closed;

	/* first lookup first: it opens the directory, which would take the
	 * number just closed */
	ck_assert_int_gt(fd_path(fd, (char[PATH_MAX]){ 0 }, PATH_MAX), 0);
	closed = dup(fd);
	ck_assert_int_ge(closed, 0);
	close(closed);
	ck_assert_int_eq(fd_path(closed, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(fd_path(-1, buf, sizeof(buf)), -ENOENT);
}
END_TEST

START_TEST(test_deleted)
{
	char buf[PATH_MAX], expect[PATH_MAX + 16];

	ck_assert_int_eq(unlink(want), 0);
	snprintf(expect, sizeof(expect), "%s (deleted)", want);
	ck_assert_int_eq(fd_path(fd, buf, sizeof(buf)), (ssize_t)strlen(expect));
	ck_assert_str_eq(buf, expect);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fdpath");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exact_bytes);
	tcase_add_test(tc, test_other_thread);
	tcase_add_test(tc, test_short_buffer);
	tcase_add_test(tc, test_bad_fd);
	tcase_add_test(tc, test_deleted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
