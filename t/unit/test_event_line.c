/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_event_line - event_json_line(), the sink's jansson-free encoder,
 * writes exactly the object event_to_json() builds: every line parses
 * with jansson into an object json_equal() to the json_t path, stays one
 * line of valid UTF-8, and survives event_from_json() byte for byte.
 */
#include "event.h"
#include "event_json.h"
#include "jsonbytes.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char hostile[] = "/tmp/d\n\"x\\y\"/\xff\xfe n\t\x01\x1f\x7f caf\xc3\xa9 \xed\xa0\x80";
static const char argv_hostile[] = "sh\0-c\0echo \"a\\b\"\n\xfe\0\0last";

/* The line for @ev, checked against event_to_json(); returns it parsed. */
static json_t *check_line(const struct event *ev, const char *node)
{
	struct jbuf b = { 0 };
	json_t *want = event_to_json(ev, node), *got;
	json_error_t jerr;
	char *text, *want_text;

	ck_assert_int_eq(event_json_line(ev, node, &b), 0);
	text = strndup(b.data, b.len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strlen(text) == b.len, "line holds a NUL byte: %s", text);
	ck_assert_msg(!strchr(text, '\n'), "line spans lines: %s", text);
	ck_assert_msg(utf8_valid(text, b.len), "line is not UTF-8: %s", text);
	got = json_loads(text, 0, &jerr);
	ck_assert_msg(got, "line does not parse (%s): %s", jerr.text, text);
	want_text = json_dumps(want, JSON_COMPACT);
	ck_assert_msg(json_equal(got, want), "expected %s\n  saw %s", want_text, text);
	free(want_text);
	free(text);
	json_decref(want);
	jbuf_free(&b);
	return got;
}

static struct proc_info *hostile_proc(void)
{
	struct proc_info *pi = proc_info_new(), *parent = proc_info_new();

	ck_assert_ptr_nonnull(pi);
	pi->pid = 31337;
	pi->ppid = 1;
	pi->uid = 1000;
	pi->euid = 0;
	pi->gid = 1001;
	pi->start_time = 123456;
	pi->start_realtime.tv_sec = 1700000000;
	pi->start_realtime.tv_nsec = 5;
	pi->comm = strdup("ev\"il\n");
	pi->user = strdup("al\xffice");
	pi->cgroup = strdup("/system.slice/docker-x.scope");
	pi->container_id = strdup("0123456789ab");
	pi->container_runtime = strdup("docker");
	pi->exe_from_fanotify = true;
	pi->resynced = true;
	bytes_set(&pi->exe, hostile, sizeof(hostile) - 1);
	bytes_set(&pi->cmdline, argv_hostile, sizeof(argv_hostile));
	pi->argc = 5;
	bytes_set(&pi->cwd, "/home/u/\"q\"", 11);
	bytes_set(&parent->exe, "/bin/ba\xc3sh", 10);
	pi->parent = parent;
	return pi;
}

START_TEST(test_every_type)
{
	for (int t = EVENT_NONE + 1; t < EVENT_TYPE_MAX; t++) {
		struct event *ev = event_new((enum event_type)t);
		json_t *got;

		ev->pid = 4242;
		ev->tid = t % 2 ? 4242 : 4243;
		ev->ppid = 7;
		ev->uid = 65534;
		ev->gid = 65533;
		ev->exit_code = -9;
		ev->lost = 123456789012ull;
		ev->loss_source = "queue";
		ev->seq = 18446744073709551615ull >> 1;
		ev->ts.tv_sec = 1700000000 + t;
		ev->ts.tv_nsec = 999999999 - t;
		ev->flags = EVENT_F_RESYNC | EVENT_F_LOSS_WINDOW | EVENT_F_PROC_GONE | EVENT_F_IS_DIR;
		ev->ino = 777;
		if (event_is_file(ev)) {
			bytes_set(&ev->path, hostile, sizeof(hostile) - 1);
			bytes_set(&ev->path2, "/tmp/new", 8);
		}
		ev->proc = hostile_proc();
		got = check_line(ev, "node-\"1\"");
		ck_assert_str_eq(json_string_value(json_object_get(got, "type")),
				 event_type_name(ev->type));
		json_decref(got);
		event_free(ev);
	}
}
END_TEST

/* File events carry the brief process object; exec events the full one. */
START_TEST(test_brief_process_on_file_events)
{
	struct event *ev = event_new(EVENT_FILE_WRITE), *back;
	json_t *got, *p;

	ev->pid = 31337;
	bytes_set(&ev->path, "/srv/x", 6);
	ev->proc = hostile_proc();
	got = check_line(ev, NULL);
	p = json_object_get(got, "process");
	ck_assert_msg(json_is_object(p), "file event without a process object");
	ck_assert_msg(!json_object_get(p, "cmdline") && !json_object_get(p, "cwd") &&
		      !json_object_get(p, "parentExe"),
		      "file event process object is not the brief one");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "ppid")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(p, "containerId")), "0123456789ab");
	ck_assert_ptr_nonnull(json_object_get(p, "exe_b64"));
	back = event_from_json(got);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back->proc->exe.len, sizeof(hostile) - 1);
	ck_assert(memcmp(back->proc->exe.data, hostile, sizeof(hostile) - 1) == 0);
	event_free(back);
	json_decref(got);
	event_free(ev);

	ev = event_new(EVENT_PROC_EXEC);
	ev->pid = 31337;
	ev->proc = hostile_proc();
	got = check_line(ev, NULL);
	back = event_from_json(got);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back->proc->cmdline.len, sizeof(argv_hostile));
	ck_assert(memcmp(back->proc->cmdline.data, argv_hostile, sizeof(argv_hostile)) == 0);
	event_free(back);
	json_decref(got);
	event_free(ev);
}
END_TEST

/* One buffer reused from a long line to short ones, as the sink does. */
START_TEST(test_buffer_reuse_and_growth)
{
	size_t big = 200 * 1024;
	char *args = malloc(big);
	struct event *ev = event_new(EVENT_PROC_EXEC);
	struct proc_info *pi = proc_info_new();
	struct jbuf b = { 0 };
	json_t *got;

	memset(args, 'a', big);
	for (size_t i = 99; i < big; i += 100)
		args[i] = '\0';
	bytes_set(&pi->cmdline, args, big);
	ev->proc = pi;
	ck_assert_int_eq(event_json_line(ev, "n", &b), 0);
	ck_assert_msg(b.len > big, "expected a line longer than %zu, saw %zu", big, b.len);
	got = check_line(ev, "n");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(got, "process"),
							   "cmdline")), big / 100);
	json_decref(got);
	event_free(ev);
	ev = event_new(EVENT_PROC_EXIT);
	ev->pid = 1;
	ck_assert_int_eq(event_json_line(ev, "n", &b), 0);
	ck_assert_msg(b.len < 200 && memcmp(b.data, "{\"timestamp\"", 12) == 0,
		      "reused buffer holds %zu bytes: %.*s", b.len, (int)b.len, b.data);
	jbuf_free(&b);
	event_free(ev);
	free(args);
}
END_TEST

/* The cached second must not leak into the next second's timestamps. */
START_TEST(test_timestamps)
{
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 1 };
	char buf[48];

	format_rfc3339(&ts, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.000000001Z");
	ts.tv_nsec = 999999999;
	format_rfc3339(&ts, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.999999999Z");
	ts.tv_sec++;
	ts.tv_nsec = 0;
	format_rfc3339(&ts, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2023-11-14T22:13:21.000000000Z");
	ts.tv_sec = 0;
	format_rfc3339(&ts, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000000000Z");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("event_line");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_type);
	tcase_add_test(tc, test_brief_process_on_file_events);
	tcase_add_test(tc, test_buffer_reuse_and_growth);
	tcase_add_test(tc, test_timestamps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
