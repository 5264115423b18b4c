/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_response - response actions against real processes this test
 * forks: kill, stop, kill-tree of a 3-level tree, a target that already
 * exited, PID 1 / self / protected programs refused, dry run acting on
 * nothing, file actions, and kill-container on a cgroup v2 cgroup the
 * test makes (root only).
 */
#include "alert.h"
#include "config.h"
#include "event.h"
#include "policy.h"
#include "proctable.h"
#include "response.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start time (field 22) and parent of @pid from /proc/PID/stat. */
static uint64_t stat_start(pid_t pid, pid_t *ppid, char *state)
{
	char path[64], buf[2048], *p;
	unsigned long long start = 0;
	int pp = 0;
	char st = '?';
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &st, &pp, &start) != 3)
		return 0;
	if (ppid)
		*ppid = pp;
	if (state)
		*state = st;
	return start;
}

static struct sensor_config cfg;
static struct response_ctx rc;
static char tmpdir[64];
static char sleep_exe[PATH_MAX];

static void setup(void)
{
	ck_assert_int_eq(config_defaults(&cfg), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_response.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	free(cfg.state_dir);
	cfg.state_dir = strdup(tmpdir);
	ck_assert_ptr_nonnull(realpath("/bin/sleep", sleep_exe));
	response_ctx_init(&rc, proctable_new("/proc"), &cfg);
	/* orphans of killed trees come back to us, so we can reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	proctable_free(rc.proctable);
	rc.proctable = NULL;
	config_free(&cfg);
}

static pid_t spawn_sleep(void)
{
	pid_t pid = fork();
	char state = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* wait until it runs sleep, so /proc/PID/exe is the final binary */
	for (int i = 0; i < 1000; i++) {
		char exe[PATH_MAX], link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n > 0 && (exe[n] = '\0', strcmp(exe, sleep_exe) == 0))
			break;
		usleep(1000);
	}
	stat_start(pid, NULL, &state);
	return pid;
}

static struct event *proc_event(pid_t pid, const char *exe)
{
	struct event *ev = event_new(EVENT_PROC_EXEC);
	struct proc_info *pi = proc_info_new();

	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(pi);
	pi->pid = pid;
	pi->start_time = stat_start(pid, &pi->ppid, NULL);
	if (exe)
		bytes_set(&pi->exe, exe, strlen(exe));
	ev->pid = pid;
	ev->proc = pi;
	return ev;
}

static struct policy one_action(enum response_kind kind, bool dry_run)
{
	static struct response_action act;
	struct policy p = {
		.name = "test policy", .type = POLICY_PROGRAM, .priority = "High",
		.alert_message = "test", .actions = &act, .n_actions = 1,
		.dry_run = dry_run,
	};

	act.kind = kind;
	return p;
}

/* Run @kind on @ev; returns the alert (caller frees). */
static json_t *run(enum response_kind kind, bool dry_run, struct event *ev)
{
	struct policy p = one_action(kind, dry_run);
	json_t *a = alert_new(&p, ev, "node", "sensor");

	ck_assert_ptr_nonnull(a);
	/* the real process table learns the test's fresh children by a scan */
	ck_assert_int_ge(proctable_scan(rc.proctable, NULL, NULL), 0);
	response_run(&rc, &p, ev, a);
	ck_assert_int_eq(json_array_size(json_object_get(a, "notifications")), 2);
	return a;
}

static const char *field(json_t *a, const char *key)
{
	json_t *n = json_array_get(json_object_get(a, "notifications"), 1);

	if (strcmp(key, "message") == 0)
		return json_string_value(json_object_get(n, "message"));
	return json_string_value(json_object_get(json_object_get(n, "message_fields"), key));
}

#define assert_result(a, want) \
	ck_assert_msg(strcmp(field(a, "action_result"), want) == 0, \
		      "expected action_result \"%s\", saw \"%s\" (%s)", want, \
		      field(a, "action_result"), field(a, "action_result_details"))

static void assert_killed(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "expected %d killed by SIGKILL, saw status 0x%x", (int)pid, status);
}

static void assert_alive_running(pid_t pid)
{
	char state = '?';
	int status;

	ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "expected %d still alive", (int)pid);
	stat_start(pid, NULL, &state);
	ck_assert_msg(state == 'S' || state == 'R', "expected %d running, saw state %c",
		      (int)pid, state);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

START_TEST(kill_process)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	json_t *a = run(RESPONSE_KILL, false, ev);

	assert_result(a, "success");
	ck_assert_str_eq(field(a, "action_type"), "kill");
	ck_assert_str_eq(field(a, "action_target_type"), "process");
	ck_assert_str_eq(field(a, "message"), "Took responseAction: kill");
	assert_killed(pid);
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(stop_process)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	json_t *a = run(RESPONSE_STOP, false, ev);
	int status;

	assert_result(a, "success");
	ck_assert_int_eq(waitpid(pid, &status, WUNTRACED), pid);
	ck_assert_msg(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP,
		      "expected stopped by SIGSTOP, saw status 0x%x", status);
	reap(pid);
	json_decref(a);
	event_free(ev);
}
END_TEST

/* A child that forks @depth more levels and writes every pid to @wfd. */
static void tree_level(int depth, int wfd)
{
	for (;; depth--) {
		pid_t me = getpid();

		if (write(wfd, &me, sizeof(me)) != sizeof(me))
			_exit(1);
		if (depth <= 1 || fork() != 0)
			break;
	}
	for (;;)
		pause();
}

START_TEST(kill_tree)
{
	pid_t pids[3], root;
	int fds[2], status;
	struct event *ev;
	json_t *a;

	ck_assert_int_eq(pipe(fds), 0);
	root = fork();
	if (root == 0) {
		close(fds[0]);
		tree_level(3, fds[1]);
	}
	close(fds[1]);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(read(fds[0], &pids[i], sizeof(pid_t)), sizeof(pid_t));
	close(fds[0]);
	ck_assert_int_eq(pids[0], root);
	ev = proc_event(root, "/usr/libexec/tree-test");
	a = run(RESPONSE_KILL_TREE, false, ev);
	assert_result(a, "success");
	ck_assert_msg(strstr(field(a, "action_result_details"), "and 2 descendants") != NULL,
		      "expected 2 descendants killed, saw \"%s\"", field(a, "action_result_details"));
	assert_killed(root);
	/* the orphaned levels were reparented to us (subreaper) */
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "expected level %d killed by SIGKILL, saw status 0x%x", i, status);
	}
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(target_exited)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	json_t *a;

	reap(pid);
	for (int k = RESPONSE_KILL; k <= RESPONSE_KILL_CONTAINER; k++) {
		a = run(k, false, ev);
		assert_result(a, "failed");
		ck_assert_msg(strstr(field(a, "action_result_details"), "already exited"),
			      "expected \"already exited\", saw \"%s\"",
			      field(a, "action_result_details"));
		json_decref(a);
	}
	event_free(ev);
}
END_TEST

static void assert_refused(json_t *a, const char *what)
{
	assert_result(a, "failed");
	ck_assert_msg(strstr(field(a, "action_result_details"), "refused: protected target (") &&
		      strstr(field(a, "action_result_details"), what),
		      "expected refusal naming \"%s\", saw \"%s\"", what,
		      field(a, "action_result_details"));
}

START_TEST(pid1_and_self_refused)
{
	struct event *ev1 = proc_event(1, "/sbin/init");
	struct event *evs = proc_event(getpid(), "/usr/bin/anything");

	for (int k = RESPONSE_KILL; k <= RESPONSE_KILL_CONTAINER; k++) {
		json_t *a = run(k, false, ev1);

		assert_refused(a, "PID 1");
		json_decref(a);
		a = run(k, false, evs);
		assert_refused(a, "the sensor itself");
		json_decref(a);
	}
	event_free(ev1);
	event_free(evs);
}
END_TEST

/* The sensor's script workers (senseon-pyrunner) are never targets. */
START_TEST(script_worker_refused)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	char *saved = cfg.pyrunner_path;

	cfg.pyrunner_path = sleep_exe;
	for (int k = RESPONSE_KILL; k <= RESPONSE_KILL_CONTAINER; k++) {
		json_t *a = run(k, false, ev);

		assert_refused(a, "script worker");
		json_decref(a);
	}
	cfg.pyrunner_path = saved;
	assert_alive_running(pid);
	reap(pid);
	event_free(ev);
}
END_TEST

START_TEST(protected_program_refused)
{
	pid_t pid = spawn_sleep();
	struct event *named = proc_event(pid, sleep_exe);
	struct event *disguised = proc_event(pid, "/tmp/innocent");
	char *v[] = { sleep_exe };
	struct strlist saved = cfg.protected_programs;
	json_t *a;

	cfg.protected_programs.v = v;
	cfg.protected_programs.n = 1;
	for (int k = RESPONSE_KILL; k <= RESPONSE_KILL_CONTAINER; k++) {
		a = run(k, false, named);
		assert_refused(a, sleep_exe);
		json_decref(a);
		/* the event's exe is not trusted alone: the live one counts */
		a = run(k, false, disguised);
		assert_refused(a, sleep_exe);
		json_decref(a);
	}
	a = run(RESPONSE_KILL, true, named);
	assert_result(a, "dry run");
	ck_assert_msg(strstr(field(a, "action_result_details"), "would have been refused"),
		      "expected dry run to say it would be refused, saw \"%s\"",
		      field(a, "action_result_details"));
	json_decref(a);
	cfg.protected_programs = saved;
	assert_alive_running(pid);
	reap(pid);
	event_free(named);
	event_free(disguised);
}
END_TEST

START_TEST(dry_run_acts_on_nothing)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	struct event *ev1 = proc_event(1, "/sbin/init");
	json_t *a;

	for (int k = RESPONSE_KILL; k <= RESPONSE_KILL_CONTAINER; k++) {
		a = run(k, true, ev);
		assert_result(a, "dry run");
		ck_assert(strncmp(field(a, "message"), "Would have taken responseAction: ", 33) == 0);
		json_decref(a);
	}
	a = run(RESPONSE_KILL, true, ev);
	ck_assert_str_eq(field(a, "message"), "Would have taken responseAction: kill");
	json_decref(a);
	a = run(RESPONSE_KILL, true, ev1);
	ck_assert_msg(strstr(field(a, "action_result_details"),
			     "would have been refused: protected target (PID 1)"),
		      "saw \"%s\"", field(a, "action_result_details"));
	json_decref(a);
	usleep(20000);
	assert_alive_running(pid);
	reap(pid);
	event_free(ev);
	event_free(ev1);
}
END_TEST

static struct event *file_event(const char *path)
{
	struct event *ev = event_new(EVENT_FILE_WRITE);

	bytes_set(&ev->path, path, strlen(path));
	return ev;
}

START_TEST(file_actions)
{
	char path[128], link[128], qdir[128];
	struct event *ev, *evl;
	json_t *a;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/dropper.sh", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(qdir, sizeof(qdir), "%s/quarantine", tmpdir);
	fp = fopen(path, "w");
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	ck_assert_int_eq(symlink(path, link), 0);
	ev = file_event(path);
	evl = file_event(link);

	a = run(RESPONSE_QUARANTINE, true, ev);
	assert_result(a, "dry run");
	ck_assert_int_eq(access(path, F_OK), 0);
	json_decref(a);

	a = run(RESPONSE_QUARANTINE, false, evl);
	assert_result(a, "failed");
	ck_assert(strstr(field(a, "action_result_details"), "symbolic link") != NULL);
	json_decref(a);
	a = run(RESPONSE_DELETE, false, evl);
	assert_result(a, "failed");
	json_decref(a);
	ck_assert_int_eq(access(path, F_OK), 0);

	a = run(RESPONSE_QUARANTINE, false, ev);
	assert_result(a, "success");
	ck_assert_str_eq(field(a, "action_target_type"), "file");
	ck_assert_msg(access(path, F_OK) != 0, "expected %s moved away", path);
	ck_assert_int_eq(access(qdir, F_OK), 0);
	json_decref(a);

	a = run(RESPONSE_DELETE, false, ev);
	assert_result(a, "failed");	/* already gone */
	json_decref(a);
	fp = fopen(path, "w");
	fclose(fp);
	a = run(RESPONSE_DELETE, false, ev);
	assert_result(a, "success");
	ck_assert_msg(access(path, F_OK) != 0, "expected %s deleted", path);
	json_decref(a);
	event_free(ev);
	event_free(evl);
}
END_TEST

START_TEST(deny_and_script_unavailable)
{
	struct event *ev = proc_event(getppid(), NULL);

	json_t *a;

	/* deny is done by the exec gate before the exec; an event reaching
	 * the response means the program ran: reported as failed, with why */
	a = run(RESPONSE_DENY, false, ev);
	assert_result(a, "failed");
	ck_assert_ptr_nonnull(strstr(field(a, "action_result_details"), "already ran"));
	json_decref(a);
	a = run(RESPONSE_SCRIPT, false, ev);
	assert_result(a, "failed");
	ck_assert_str_eq(field(a, "action_result_details"), "not available in this build");
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(not_a_container)
{
	pid_t pid = spawn_sleep();
	struct event *ev = proc_event(pid, sleep_exe);
	json_t *a;

	if (!rc.cgroup2_mount[0]) {
		reap(pid);
		event_free(ev);
		return;
	}
	a = run(RESPONSE_KILL_CONTAINER, false, ev);
	assert_result(a, "failed");
	ck_assert_msg(strstr(field(a, "action_result_details"), "not in a container"),
		      "saw \"%s\"", field(a, "action_result_details"));
	assert_alive_running(pid);
	reap(pid);
	json_decref(a);
	event_free(ev);
}
END_TEST

/* A "container": its own cgroup and PID namespace, made by the test. */
START_TEST(kill_container)
{
	char cg[PATH_MAX], procs[PATH_MAX + 16], buf[32];
	pid_t outer, inner;
	int fds[2], fd;
	struct event *ev;
	json_t *a;

	if (geteuid() != 0 || !rc.cgroup2_mount[0]) {
		fprintf(stderr, "kill_container: skipped (needs root and cgroup2)\n");
		return;
	}
	snprintf(cg, sizeof(cg), "%s/senseon-test-%d", rc.cgroup2_mount, (int)getpid());
	ck_assert_msg(mkdir(cg, 0755) == 0, "mkdir %s: %s", cg, strerror(errno));
	ck_assert_int_eq(pipe(fds), 0);
	outer = fork();
	if (outer == 0) {
		close(fds[0]);
		if (unshare(CLONE_NEWPID))
			_exit(1);
		inner = fork();	/* PID 1 of the new namespace */
		if (inner == 0) {
			for (;;)
				pause();
		}
		if (write(fds[1], &inner, sizeof(inner)) != sizeof(inner))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	/* move outer first: its later children inherit, so move inner too */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	ck_assert_int_eq(read(fds[0], &inner, sizeof(inner)), sizeof(inner));
	close(fds[0]);
	for (int i = 0; i < 2; i++) {
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		snprintf(buf, sizeof(buf), "%d", (int)(i ? inner : outer));
		ck_assert_msg(write(fd, buf, strlen(buf)) > 0, "cannot move %s into %s: %s",
			      buf, cg, strerror(errno));
		close(fd);
	}
	ev = proc_event(inner, "/usr/bin/container-test");
	a = run(RESPONSE_KILL_CONTAINER, false, ev);
	assert_result(a, "success");
	ck_assert_str_eq(field(a, "action_target_type"), "container");
	assert_killed(outer);
	/* inner was reparented to us and killed with its cgroup */
	assert_killed(inner);
	for (int i = 0; i < 100 && rmdir(cg); i++)
		usleep(10000);
	json_decref(a);
	event_free(ev);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("response");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kill_process);
	tcase_add_test(tc, stop_process);
	tcase_add_test(tc, kill_tree);
	tcase_add_test(tc, target_exited);
	tcase_add_test(tc, pid1_and_self_refused);
	tcase_add_test(tc, script_worker_refused);
	tcase_add_test(tc, protected_program_refused);
	tcase_add_test(tc, dry_run_acts_on_nothing);
	tcase_add_test(tc, file_actions);
	tcase_add_test(tc, deny_and_script_unavailable);
	tcase_add_test(tc, not_a_container);
	tcase_add_test(tc, kill_container);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
