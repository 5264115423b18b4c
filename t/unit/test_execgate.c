/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_execgate - the exec gate's core without fanotify: a pipe or a
 * socketpair stands in for the group fd (as fapolicyd's notify test does),
 * so the answer written for each event can be read back and counted.
 *
 * Proves: the reply closes the event fd even when the write fails; every
 * event gets exactly one answer while a decider and the watchdog race for
 * it; the watchdog answers at the deadline, with ALLOW or (fail-closed)
 * DENY; a stale decision cannot answer a reused slot.
 */
#include "execgate.h"
#include "sensor.h"
#include "event.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The daemon's pieces execgate.c calls (senseond.c is not linked). */
uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sensor_push(struct sensor *s, enum source_id src, struct event *ev)
{
	(void)s;
	(void)src;
	event_free(ev);
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static int devnull(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(reply_writes_and_closes)
{
	struct fanotify_response r;
	int sv[2], fd = devnull();

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(execgate_reply(sv[0], fd, FAN_DENY), 0);
	ck_assert_int_eq(read(sv[1], &r, sizeof(r)), (int)sizeof(r));
	ck_assert_int_eq(r.fd, fd);
	ck_assert_uint_eq(r.response, FAN_DENY);
	ck_assert_msg(fd_closed(fd), "expected event fd %d closed after the reply; it is open", fd);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(reply_closes_when_write_fails)
{
	int p[2], sv[2], fd = devnull(), rc;

	/* a read-only end: the write fails with EBADF */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	rc = execgate_reply(p[0], fd, FAN_ALLOW);
	ck_assert_msg(rc == -EBADF, "expected -EBADF writing to a read-only pipe, saw %d", rc);
	ck_assert_msg(fd_closed(fd), "expected event fd %d closed after a failed write", fd);
	close(p[0]);
	close(p[1]);

	/* a peer that went away: EPIPE (SIGPIPE is blocked, as in senseond) */
	fd = devnull();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	rc = execgate_reply(sv[0], fd, FAN_ALLOW);
	ck_assert_msg(rc == -EPIPE, "expected -EPIPE writing to a closed peer, saw %d", rc);
	ck_assert_msg(fd_closed(fd), "expected event fd %d closed after EPIPE", fd);
	close(sv[0]);
}
END_TEST

static struct execgate_core core;

START_TEST(deadline_answers_once)
{
	struct fanotify_response r;
	const uint64_t t0 = 1000000000ull, dl = 5000000ull;
	unsigned int pending = 0;
	uint64_t word;
	int p[2], fd = devnull(), idx;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	execgate_core_init(&core, p[1], dl, (bool)_i);
	idx = execgate_core_add(&core, fd, 4242, t0, &word);
	ck_assert_int_ge(idx, 0);
	ck_assert_uint_eq(execgate_core_expire(&core, t0 + dl - 1, &pending), 0);
	ck_assert_uint_eq(pending, 1);
	ck_assert_msg(read(p[0], &r, sizeof(r)) < 0 && errno == EAGAIN,
		      "expected no answer before the deadline");
	ck_assert_uint_eq(execgate_core_expire(&core, t0 + dl, &pending), 1);
	ck_assert_uint_eq(pending, 0);
	ck_assert_int_eq(read(p[0], &r, sizeof(r)), (int)sizeof(r));
	ck_assert_int_eq(r.fd, fd);
	ck_assert_uint_eq(r.response, _i ? FAN_DENY : FAN_ALLOW);
	ck_assert(fd_closed(fd));
	ck_assert_uint_eq(atomic_load(&core.c.deadline), 1);
	/* the decision arriving late must not answer again */
	ck_assert_int_eq(execgate_core_answer(&core, (unsigned)idx, word, FAN_DENY, t0 + 2 * dl),
			 -EALREADY);
	ck_assert_msg(read(p[0], &r, sizeof(r)) < 0 && errno == EAGAIN,
		      "expected exactly one answer, saw a second one for fd %d", r.fd);
	ck_assert_uint_eq(atomic_load(&core.c.allowed) + atomic_load(&core.c.denied), 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(stale_decision_cannot_answer_reused_slot)
{
	struct fanotify_response r;
	uint64_t w0, w1;
	int p[2], fd0 = devnull(), fd1, i0, i1;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	execgate_core_init(&core, p[1], 1, false);
	i0 = execgate_core_add(&core, fd0, 1, 10, &w0);
	ck_assert_uint_eq(execgate_core_expire(&core, 100, NULL), 1);
	core.cursor = (unsigned)i0;	/* make the reader reuse the same slot */
	fd1 = devnull();
	i1 = execgate_core_add(&core, fd1, 2, 200, &w1);
	ck_assert_int_eq(i1, i0);
	ck_assert_msg(w1 != w0, "expected a new generation for a reused slot");
	ck_assert_int_eq(execgate_core_answer(&core, (unsigned)i0, w0, FAN_DENY, 300), -EALREADY);
	ck_assert_int_eq(execgate_core_answer(&core, (unsigned)i1, w1, FAN_DENY, 300), 0);
	ck_assert_int_eq(read(p[0], &r, sizeof(r)), (int)sizeof(r));	/* expiry of fd0 */
	ck_assert_uint_eq(r.response, FAN_ALLOW);
	ck_assert_int_eq(read(p[0], &r, sizeof(r)), (int)sizeof(r));
	ck_assert_int_eq(r.fd, fd1);
	ck_assert_uint_eq(r.response, FAN_DENY);
	ck_assert(read(p[0], &r, sizeof(r)) < 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- the race: decider and watchdog on the same events ---- */

#define BATCH	1000
#define ROUNDS	40

struct race {
	int idx[BATCH];
	uint64_t word[BATCH];
	int fd[BATCH];
	atomic_bool done;
	unsigned int decided;
};

static void *decider(void *arg)
{
	struct race *rc = arg;

	for (int i = 0; i < BATCH; i++)
		if (execgate_core_answer(&core, (unsigned)rc->idx[i], rc->word[i], FAN_DENY,
					 monotonic_ns()) == 0)
			rc->decided++;
	atomic_store(&rc->done, true);
	return NULL;
}

static void *watchdog(void *arg)
{
	struct race *rc = arg;

	while (!atomic_load(&rc->done))
		execgate_core_expire(&core, UINT64_MAX / 2, NULL);
	execgate_core_expire(&core, UINT64_MAX / 2, NULL);
	return NULL;
}

START_TEST(one_answer_per_event_under_race)
{
	static struct race rc;
	static unsigned char seen[65536];
	uint64_t total_decided = 0;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	/* room for a whole batch of answers in the pipe */
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), BATCH * 8);
	execgate_core_init(&core, p[1], 1, false);
	for (int round = 0; round < ROUNDS; round++) {
		struct fanotify_response r;
		pthread_t a, b;
		int n = 0;

		memset(&rc, 0, sizeof(rc));
		memset(seen, 0, sizeof(seen));
		for (int i = 0; i < BATCH; i++) {
			rc.fd[i] = devnull();
			rc.idx[i] = execgate_core_add(&core, rc.fd[i], i + 2, 0, &rc.word[i]);
			ck_assert_int_ge(rc.idx[i], 0);
		}
		pthread_create(&b, NULL, watchdog, &rc);
		pthread_create(&a, NULL, decider, &rc);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		while (read(p[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
			ck_assert_int_lt(r.fd, (int)sizeof(seen));
			ck_assert_msg(!seen[r.fd], "round %d: fd %d answered twice", round, r.fd);
			seen[r.fd] = 1;
			n++;
		}
		ck_assert_msg(n == BATCH, "round %d: expected %d answers, saw %d", round, BATCH, n);
		for (int i = 0; i < BATCH; i++) {
			ck_assert_msg(seen[rc.fd[i]], "round %d: fd %d never answered", round, rc.fd[i]);
			ck_assert_msg(fd_closed(rc.fd[i]), "round %d: fd %d left open", round, rc.fd[i]);
		}
		total_decided += rc.decided;
	}
	ck_assert_uint_eq(atomic_load(&core.c.deadline) + total_decided, (uint64_t)BATCH * ROUNDS);
	ck_assert_uint_eq(atomic_load(&core.c.allowed) + atomic_load(&core.c.denied),
			  (uint64_t)BATCH * ROUNDS);
	ck_assert_uint_eq(atomic_load(&core.c.denied), total_decided);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(full_table_refuses)
{
	uint64_t w;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), EXECGATE_SLOTS * 8);
	execgate_core_init(&core, p[1], 1, false);
	for (int i = 0; i < EXECGATE_SLOTS; i++)
		ck_assert_int_ge(execgate_core_add(&core, devnull(), 2, 0, &w), 0);
	ck_assert_int_eq(execgate_core_add(&core, 0, 2, 0, &w), -ENOSPC);
	ck_assert_uint_eq(execgate_core_expire(&core, 10, NULL), EXECGATE_SLOTS);
	ck_assert_int_ge(execgate_core_add(&core, devnull(), 2, 0, &w), 0);
	execgate_core_expire(&core, 10, NULL);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(p99_from_histogram)
{
	int p[2];
	uint64_t w, p99;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 200 * 8);
	execgate_core_init(&core, p[1], 1ull << 40, false);
	/* 98 answers after 10 us, 2 after 10 ms: p99 is in the slow bucket */
	for (int i = 0; i < 100; i++) {
		int idx = execgate_core_add(&core, devnull(), 2, 1000, &w);

		execgate_core_answer(&core, (unsigned)idx, w, FAN_ALLOW,
				     1000 + (i < 98 ? 10000 : 10000000));
	}
	p99 = execgate_core_p99_ns(&core);
	ck_assert_msg(p99 >= 10000000 && p99 <= 12500000,
		      "expected p99 near 10 ms (bucket top), saw %llu ns", (unsigned long long)p99);
	ck_assert_uint_eq(atomic_load(&core.c.max_ns), 10000000);
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("execgate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	sigset_t mask;
	int failed;

	sigemptyset(&mask);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reply_writes_and_closes);
	tcase_add_test(tc, reply_closes_when_write_fails);
	tcase_add_loop_test(tc, deadline_answers_once, 0, 2);
	tcase_add_test(tc, stale_decision_cannot_answer_reused_slot);
	tcase_add_test(tc, one_answer_per_event_under_race);
	tcase_add_test(tc, full_table_refuses);
	tcase_add_test(tc, p99_from_histogram);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
