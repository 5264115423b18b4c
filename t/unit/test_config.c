/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_config - senseond.conf parsing: defaults, a good file, every kind
 * of bad value reported as FILE:LINE:COL, and a failed load that leaves
 * the previous configuration exactly as it was.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/senseon-test-config.XXXXXX";
static char cfgpath[sizeof(tmpdir) + 32];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(strcpy(tmpdir, "/tmp/senseon-test-config.XXXXXX")));
	snprintf(cfgpath, sizeof(cfgpath), "%s/senseond.conf", tmpdir);
}

static void teardown(void)
{
	unlink(cfgpath);
	rmdir(tmpdir);
}

static void write_conf(const char *text)
{
	FILE *fp = fopen(cfgpath, "we");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Load @text over the defaults; expect failure with "PATH:LINE:COL: ..." */
static void expect_error(const char *text, int line, int col, const char *needle)
{
	struct sensor_config cfg;
	char err[1024] = "", want[512];

	write_conf(text);
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_msg(config_load(&cfg, cfgpath, err, sizeof(err)) == -1,
		      "expected %s to be refused", text);
	snprintf(want, sizeof(want), "%s:%d:%d: ", cfgpath, line, col);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "expected an error starting \"%s\", got \"%s\"", want, err);
	ck_assert_msg(strstr(err, needle), "expected \"%s\" in \"%s\"", needle, err);
	config_free(&cfg);
}

START_TEST(test_defaults)
{
	struct sensor_config cfg;

	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_ptr_null(cfg.source_file);
	ck_assert_str_eq(cfg.state_dir, SENSEON_STATEDIR);
	ck_assert_str_eq(cfg.log_dir, SENSEON_LOGDIR);
	ck_assert_str_eq(cfg.run_dir, SENSEON_RUNDIR);
	ck_assert_str_eq(cfg.control_socket, SENSEON_RUNDIR "/control.sock");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_str_eq(cfg.stdout_events, "all");
	ck_assert(cfg.process_source && cfg.exec_source && cfg.file_source && cfg.event_log);
	ck_assert(!cfg.exec_gate_fail_closed);
	ck_assert_int_eq(cfg.queue_size, 65536);
	ck_assert(strlist_contains(&cfg.watch_paths, "/"));
	ck_assert(strlist_contains(&cfg.watch_paths, "/tmp"));
	ck_assert(strlist_contains(&cfg.protected_programs, "/usr/sbin/sshd"));
	ck_assert_uint_eq(cfg.ignore_paths.n, 0);
	ck_assert_ptr_nonnull(cfg.node_name);
	ck_assert_uint_gt(strlen(cfg.node_name), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_good_file)
{
	struct sensor_config cfg;
	char err[1024] = "";

	write_conf("# a comment\n"
		   "state_dir: /tmp/x/state\n"
		   "log_dir: /tmp/x/log\n"
		   "node_name: \"web-01\"\n"
		   "log_level: debug\n"
		   "process_source: false\n"
		   "exec_source: no\n"
		   "file_source: on\n"
		   "stdout_events: alerts\n"
		   "queue_size: 4096\n"
		   "exec_gate_deadline_ms: 20\n"
		   "exec_gate_fail_closed: yes\n"
		   "watch_paths:\n"
		   "  - /srv\n"
		   "  - /opt/app\n"
		   "ignore_paths: [/var/cache, /tmp/build]\n");
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_msg(config_load(&cfg, cfgpath, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_str_eq(cfg.source_file, cfgpath);
	ck_assert_str_eq(cfg.state_dir, "/tmp/x/state");
	ck_assert_str_eq(cfg.log_dir, "/tmp/x/log");
	ck_assert_str_eq(cfg.run_dir, SENSEON_RUNDIR);	/* untouched: default */
	ck_assert_str_eq(cfg.node_name, "web-01");
	ck_assert_str_eq(cfg.log_level, "debug");
	ck_assert(!cfg.process_source);
	ck_assert(!cfg.exec_source);
	ck_assert(cfg.file_source);
	ck_assert_str_eq(cfg.stdout_events, "alerts");
	ck_assert_int_eq(cfg.queue_size, 4096);
	ck_assert_int_eq(cfg.exec_gate_deadline_ms, 20);
	ck_assert(cfg.exec_gate_fail_closed);
	/* a list in the file replaces the default list, it does not append */
	ck_assert_uint_eq(cfg.watch_paths.n, 2);
	ck_assert_str_eq(cfg.watch_paths.v[0], "/srv");
	ck_assert_str_eq(cfg.watch_paths.v[1], "/opt/app");
	ck_assert_ptr_null(cfg.watch_paths.v[2]);
	ck_assert_uint_eq(cfg.ignore_paths.n, 2);
	ck_assert(strlist_contains(&cfg.ignore_paths, "/var/cache"));
	ck_assert(strlist_contains(&cfg.ignore_paths, "/tmp/build"));
	ck_assert(!strlist_contains(&cfg.ignore_paths, "/var"));
	/* protected_programs was not in the file: defaults kept */
	ck_assert(strlist_contains(&cfg.protected_programs, "/usr/sbin/sshd"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_empty_list_and_empty_file)
{
	struct sensor_config cfg;
	char err[1024] = "";

	write_conf("watch_paths: []\n");
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_msg(config_load(&cfg, cfgpath, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_uint_eq(cfg.watch_paths.n, 0);
	config_free(&cfg);

	write_conf("# nothing but a comment\n");
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_msg(config_load(&cfg, cfgpath, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert(strlist_contains(&cfg.watch_paths, "/"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_unknown_option)
{
	expect_error("log_level: info\nno_such_option: 1\n", 2, 1, "unknown option");
	expect_error("log_level: info\n  \nwatch_pathz: [/]\n", 3, 1, "unknown option");
}
END_TEST

START_TEST(test_bad_values)
{
	expect_error("process_source: maybe\n", 1, 17, "expected true or false");
	expect_error("log_dir: /tmp\nqueue_size: lots\n", 2, 13, "whole number");
	expect_error("queue_size: 12\n", 1, 13, "whole number");		/* below min */
	expect_error("queue_size: 4096x\n", 1, 13, "whole number");
	expect_error("exec_gate_deadline_ms: 99999999999999999999\n", 1, 24, "whole number");
	expect_error("state_dir: relative/dir\n", 1, 12, "absolute path");
	expect_error("\n\nstdout_events: some\n", 3, 16, "not one of the allowed values");
	expect_error("log_level: loud\n", 1, 12, "not one of the allowed values");
	expect_error("watch_paths: /tmp\n", 1, 14, "expected a list");
	expect_error("watch_paths:\n  - /tmp\n  - [nested]\n", 3, 5, "list of strings");
	expect_error("log_dir: [/a, /b]\n", 1, 10, "single value");
}
END_TEST

START_TEST(test_not_a_mapping_and_syntax)
{
	expect_error("- just\n- a list\n", 1, 1, "mapping");
	expect_error("log_dir: /tmp\nlog_level: \"unterminated\n", 3, 1,
		     "while scanning a quoted scalar at line 2 column 12");
}
END_TEST

START_TEST(test_failed_load_keeps_previous)
{
	struct sensor_config cfg;
	char err[1024] = "";

	write_conf("log_dir: /tmp/first\nwatch_paths: [/a]\nqueue_size: 2048\n");
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_msg(config_load(&cfg, cfgpath, err, sizeof(err)) == 0, "refused: %s", err);

	/* Good lines first, then a bad one: none of it may leak in. */
	write_conf("log_dir: /tmp/second\nwatch_paths: [/b, /c]\nqueue_size: 4096\n"
		   "file_source: false\nbogus: 1\n");
	ck_assert_int_eq(config_load(&cfg, cfgpath, err, sizeof(err)), -1);
	ck_assert_str_eq(cfg.log_dir, "/tmp/first");
	ck_assert_uint_eq(cfg.watch_paths.n, 1);
	ck_assert_str_eq(cfg.watch_paths.v[0], "/a");
	ck_assert_int_eq(cfg.queue_size, 2048);
	ck_assert(cfg.file_source);
	ck_assert_str_eq(cfg.source_file, cfgpath);

	/* A file that does not exist is an error too, and changes nothing. */
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/senseond.conf", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/senseond.conf"));
	ck_assert_str_eq(cfg.log_dir, "/tmp/first");
	config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_empty_list_and_empty_file);
	tcase_add_test(tc, test_unknown_option);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_not_a_mapping_and_syntax);
	tcase_add_test(tc, test_failed_load_keeps_previous);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
