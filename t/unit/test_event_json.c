/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_event_json - events survive event_to_json -> text -> event_from_json
 * byte for byte, hostile file names and process fields included.
 */
#include "event.h"
#include "event_json.h"
#include "jsonbytes.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Serialise as the sink does (one compact line) and parse it back. */
static struct event *roundtrip(const struct event *ev)
{
	json_t *js = event_to_json(ev, "node-1"), *back;
	json_error_t jerr;
	struct event *out;
	char *line;

	ck_assert_ptr_nonnull(js);
	line = json_dumps(js, JSON_COMPACT);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(!strchr(line, '\n'), "event JSON spans lines: %s", line);
	ck_assert_msg(utf8_valid(line, strlen(line)), "event JSON is not UTF-8: %s", line);
	back = json_loads(line, 0, &jerr);
	ck_assert_msg(back, "event JSON does not parse: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(back, "nodeName")), "node-1");
	out = event_from_json(back);
	ck_assert_msg(out, "event_from_json refused %s", line);
	json_decref(back);
	json_decref(js);
	free(line);
	return out;
}

static void assert_bytes(const struct bytes *got, const char *want, size_t len, const char *what)
{
	ck_assert_msg(got->data != NULL, "%s: missing after round trip", what);
	ck_assert_msg(got->len == len, "%s: expected %zu bytes, got %zu", what, len, got->len);
	ck_assert_msg(memcmp(got->data, want, len) == 0, "%s: bytes differ", what);
}

static const char hostile_old[] = "/tmp/dir\n\"x\\y\"/\xff\xfe name\t\x01";
static const char hostile_new[] = "/tmp/caf\xc3\xa9/new\nname";

START_TEST(test_file_rename)
{
	struct event *ev = event_new(EVENT_FILE_RENAME), *out;

	ev->pid = 4242;
	ev->tid = 4243;
	ev->seq = 99;
	ev->ts.tv_sec = 1700000000;
	ev->ts.tv_nsec = 123456789;
	ev->flags = EVENT_F_IS_DIR | EVENT_F_LOSS_WINDOW;
	ev->ino = 777;
	bytes_set(&ev->path, hostile_old, sizeof(hostile_old) - 1);
	bytes_set(&ev->path2, hostile_new, sizeof(hostile_new) - 1);
	out = roundtrip(ev);
	ck_assert_int_eq(out->type, EVENT_FILE_RENAME);
	ck_assert_int_eq(out->pid, 4242);
	ck_assert_int_eq(out->tid, 4243);
	ck_assert_uint_eq(out->seq, 99);
	ck_assert_int_eq(out->ts.tv_sec, 1700000000);
	ck_assert_int_eq(out->ts.tv_nsec, 123456789);
	ck_assert_uint_eq(out->ino, 777);
	ck_assert(out->flags & EVENT_F_IS_DIR);
	ck_assert(out->flags & EVENT_F_LOSS_WINDOW);
	assert_bytes(&out->path, hostile_old, sizeof(hostile_old) - 1, "path");
	assert_bytes(&out->path2, hostile_new, sizeof(hostile_new) - 1, "newPath");
	event_free(out);
	event_free(ev);
}
END_TEST

START_TEST(test_every_file_type)
{
	static const enum event_type types[] = {
		EVENT_FILE_CREATE, EVENT_FILE_DELETE, EVENT_FILE_WRITE, EVENT_FILE_ATTRIB,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct event *ev = event_new(types[i]), *out;

		ev->pid = 10 + (pid_t)i;
		bytes_set(&ev->path, hostile_old, sizeof(hostile_old) - 1);
		out = roundtrip(ev);
		ck_assert_msg(out->type == types[i], "type %s came back as %s",
			      event_type_name(types[i]), event_type_name(out->type));
		ck_assert_int_eq(out->pid, 10 + (pid_t)i);
		ck_assert(!(out->flags & EVENT_F_IS_DIR));
		assert_bytes(&out->path, hostile_old, sizeof(hostile_old) - 1, "path");
		ck_assert_ptr_null(out->path2.data);
		event_free(out);
		event_free(ev);
	}
}
END_TEST

START_TEST(test_process_fields)
{
	static const char exe[] = "/opt/\xff" "evil\nbin";
	static const char cmdline[] = "evil\0--name=a\nb\0\xfe\xff\0";
	static const char cwd[] = "/home/u/\"q\"";
	struct event *ev = event_new(EVENT_PROC_EXEC), *out;
	struct proc_info *pi = proc_info_new(), *parent = proc_info_new();

	ev->pid = 31337;
	pi->pid = 31337;
	pi->ppid = 1;
	pi->uid = 1000;
	pi->euid = 0;
	pi->gid = 1001;
	pi->start_time = 123456;
	pi->comm = strdup("evil");
	pi->user = strdup("alice");
	pi->cgroup = strdup("/system.slice/x.service");
	pi->container_id = strdup("0123456789ab");
	pi->container_runtime = strdup("docker");
	bytes_set(&pi->exe, exe, sizeof(exe) - 1);
	bytes_set(&pi->cmdline, cmdline, sizeof(cmdline) - 1);
	pi->argc = 3;
	bytes_set(&pi->cwd, cwd, sizeof(cwd) - 1);
	bytes_set(&parent->exe, "/bin/bash", 9);
	pi->parent = parent;
	ev->proc = pi;

	out = roundtrip(ev);
	ck_assert_int_eq(out->type, EVENT_PROC_EXEC);
	ck_assert_int_eq(out->pid, 31337);
	ck_assert_ptr_nonnull(out->proc);
	ck_assert_int_eq(out->proc->pid, 31337);
	ck_assert_int_eq(out->proc->ppid, 1);
	ck_assert_uint_eq(out->proc->uid, 1000);
	ck_assert_uint_eq(out->proc->euid, 0);
	ck_assert_uint_eq(out->proc->gid, 1001);
	ck_assert_uint_eq(out->proc->start_time, 123456);
	ck_assert_str_eq(out->proc->comm, "evil");
	ck_assert_str_eq(out->proc->user, "alice");
	ck_assert_str_eq(out->proc->cgroup, "/system.slice/x.service");
	ck_assert_str_eq(out->proc->container_id, "0123456789ab");
	ck_assert_str_eq(out->proc->container_runtime, "docker");
	assert_bytes(&out->proc->exe, exe, sizeof(exe) - 1, "exe");
	assert_bytes(&out->proc->cwd, cwd, sizeof(cwd) - 1, "cwd");
	ck_assert_int_eq(out->proc->argc, 3);
	assert_bytes(&out->proc->cmdline, cmdline, sizeof(cmdline) - 1, "cmdline");
	ck_assert_ptr_nonnull(out->proc->parent);
	assert_bytes(&out->proc->parent->exe, "/bin/bash", 9, "parentExe");
	event_free(out);
	event_free(ev);
}
END_TEST

START_TEST(test_proc_events)
{
	struct event *ev = event_new(EVENT_PROC_FORK), *out;

	ev->pid = 200;
	ev->ppid = 100;
	ev->flags = EVENT_F_RESYNC;
	out = roundtrip(ev);
	ck_assert_int_eq(out->type, EVENT_PROC_FORK);
	ck_assert_int_eq(out->ppid, 100);
	ck_assert(out->flags & EVENT_F_RESYNC);
	ck_assert_ptr_null(out->path.data);
	event_free(out);
	event_free(ev);

	ev = event_new(EVENT_PROC_EXIT);
	ev->pid = 200;
	ev->exit_code = 9;
	out = roundtrip(ev);
	ck_assert_int_eq(out->type, EVENT_PROC_EXIT);
	ck_assert_int_eq(out->exit_code, 9);
	ck_assert_int_eq(out->tid, 200);	/* tid left out when equal to pid */
	event_free(out);
	event_free(ev);

	ev = event_new(EVENT_PROC_UID);
	ev->pid = 300;
	ev->uid = 0;
	out = roundtrip(ev);
	ck_assert_int_eq(out->type, EVENT_PROC_UID);
	ck_assert_uint_eq(out->uid, 0);
	event_free(out);
	event_free(ev);
	ev = event_new(EVENT_PROC_GID);
	ev->pid = 300;
	ev->gid = 27;
	out = roundtrip(ev);
	ck_assert_uint_eq(out->gid, 27);
	event_free(out);
	event_free(ev);
}
END_TEST

/*
 * Fork and exit carry the brief process object plus the start time; the
 * exec event of the same snapshot keeps argv, cwd and cgroup.
 */
START_TEST(test_brief_fork_exit)
{
	static const enum event_type types[] = { EVENT_PROC_FORK, EVENT_PROC_EXIT,
						 EVENT_PROC_EXEC };
	struct proc_info *pi = proc_info_new();

	pi->pid = 4242;
	pi->ppid = 1;
	pi->uid = 1000;
	pi->start_time = 987;
	pi->start_realtime.tv_sec = 1700000000;
	pi->comm = strdup("true");
	pi->user = strdup("alice");
	pi->cgroup = strdup("/user.slice");
	bytes_set(&pi->exe, "/usr/bin/true", 13);
	bytes_set(&pi->cmdline, "true\0--marker", 13);
	pi->argc = 2;
	bytes_set(&pi->cwd, "/root", 5);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct event *ev = event_new(types[i]);
		json_t *js, *p;
		bool brief = types[i] != EVENT_PROC_EXEC;

		ev->pid = 4242;
		ev->proc = proc_info_get(pi);
		js = event_to_json(ev, NULL);
		p = json_object_get(js, "process");
		ck_assert_msg(json_is_object(p), "%s: no process object", event_type_name(types[i]));
		ck_assert_str_eq(json_string_value(json_object_get(p, "exe")), "/usr/bin/true");
		ck_assert_str_eq(json_string_value(json_object_get(p, "comm")), "true");
		ck_assert_str_eq(json_string_value(json_object_get(p, "user")), "alice");
		ck_assert_int_eq(json_integer_value(json_object_get(p, "ppid")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "startTicks")), 987);
		ck_assert_msg(json_is_string(json_object_get(p, "startTime")),
			      "%s: startTime missing", event_type_name(types[i]));
		ck_assert_msg((json_object_get(p, "cmdline") == NULL) == brief &&
			      (json_object_get(p, "cwd") == NULL) == brief &&
			      (json_object_get(p, "cgroup") == NULL) == brief,
			      "%s: expected %s process object, got cmdline %s, cwd %s, cgroup %s",
			      event_type_name(types[i]), brief ? "a brief" : "the full",
			      json_object_get(p, "cmdline") ? "present" : "absent",
			      json_object_get(p, "cwd") ? "present" : "absent",
			      json_object_get(p, "cgroup") ? "present" : "absent");
		json_decref(js);
		event_free(ev);
	}
	proc_info_put(pi);
}
END_TEST

START_TEST(test_not_an_event)
{
	json_t *js = json_pack("{s:s}", "type", "no-such-type");

	ck_assert_ptr_null(event_from_json(js));
	json_decref(js);
	js = json_pack("{s:i}", "pid", 1);
	ck_assert_ptr_null(event_from_json(js));
	json_decref(js);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event_json");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_file_rename);
	tcase_add_test(tc, test_every_file_type);
	tcase_add_test(tc, test_process_fields);
	tcase_add_test(tc, test_proc_events);
	tcase_add_test(tc, test_brief_fork_exit);
	tcase_add_test(tc, test_not_an_event);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
