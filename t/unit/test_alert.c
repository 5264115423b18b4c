/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_alert - the alert shape, its notifications, dry-run wording and
 * hostile paths surviving as valid one-line JSON.
 */
#include "alert.h"
#include "event.h"
#include "jsonbytes.h"
#include "policy.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* policy.c may not be linked into this test: fall back to the same names. */
__attribute__((weak)) const char *policy_type_name(enum policy_type type)
{
	return type == POLICY_FILE ? "file" : type == POLICY_CONTAINER ? "container" : "program";
}

static struct policy pol = {
	.name = "Enforced Wget Blocklist",
	.type = POLICY_PROGRAM,
	.priority = "High",
	.enabled = true,
	.alert_message = "Unauthorized execution of wget",
	.comments = "kills wget",
};

static struct event *exec_event(void)
{
	struct event *ev = event_new(EVENT_PROC_EXEC);
	struct proc_info *pi = proc_info_new();

	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(pi);
	pi->pid = 4242;
	pi->ppid = 1;
	bytes_set(&pi->exe, "/usr/bin/wget", 13);
	bytes_set(&pi->cmdline, "wget\0http://x\0", 14);
	ev->pid = 4242;
	ev->proc = pi;
	return ev;
}

static const char *sget(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "expected string field \"%s\", saw none", key);
	return s;
}

START_TEST(shape)
{
	struct event *ev = exec_event();
	json_t *a = alert_new(&pol, ev, "node1", "sensor-123");
	json_t *n;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(strlen(sget(a, "uuid")), 36);
	ck_assert_str_eq(alert_uuid(a), sget(a, "uuid"));
	ck_assert_msg(strlen(sget(a, "timestamp")) == 30 && sget(a, "timestamp")[29] == 'Z',
		      "expected RFC 3339 ns timestamp, saw %s", sget(a, "timestamp"));
	ck_assert_str_eq(sget(a, "name"), "Enforced Wget Blocklist");
	ck_assert_str_eq(sget(a, "policyType"), "program");
	ck_assert_str_eq(sget(a, "priority"), "High");
	ck_assert_str_eq(sget(a, "alertMessage"), "Unauthorized execution of wget");
	ck_assert_str_eq(sget(a, "comments"), "kills wget");
	sget(a, "message");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(a, "process"), "pid")),
			 4242);
	ck_assert_str_eq(sget(json_object_get(a, "process"), "exe"), "/usr/bin/wget");
	ck_assert_str_eq(sget(json_object_get(a, "location"), "nodeName"), "node1");
	ck_assert_str_eq(sget(json_object_get(a, "location"), "sensorId"), "sensor-123");
	ck_assert_ptr_null(json_object_get(a, "file"));
	ck_assert_ptr_null(json_object_get(a, "lossWindow"));
	ck_assert_int_eq(json_array_size(json_object_get(a, "notifications")), 1);
	n = json_array_get(json_object_get(a, "notifications"), 0);
	ck_assert_str_eq(sget(n, "type"), "detection");
	ck_assert_str_eq(sget(n, "message"), "Unauthorized execution of wget");
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(uuid_unique)
{
	struct event *ev = exec_event();
	json_t *a = alert_new(&pol, ev, NULL, NULL);
	json_t *b = alert_new(&pol, ev, NULL, NULL);

	ck_assert_str_ne(alert_uuid(a), alert_uuid(b));
	json_decref(a);
	json_decref(b);
	event_free(ev);
}
END_TEST

START_TEST(notifications)
{
	struct event *ev = exec_event();
	json_t *a = alert_new(&pol, ev, "n", "s");
	json_t *n, *mf;

	ev->flags |= EVENT_F_LOSS_WINDOW;
	json_decref(a);
	a = alert_new(&pol, ev, "n", "s");
	ck_assert(json_is_true(json_object_get(a, "lossWindow")));
	alert_add_notification(a, "kill", "process", ALERT_RESULT_SUCCESS, "killed 4242");
	alert_add_notification(a, "kill", "process", ALERT_RESULT_DRY_RUN, NULL);
	alert_add_notification(a, "stop", "process", ALERT_RESULT_FAILED, "gone");
	ck_assert_int_eq(json_array_size(json_object_get(a, "notifications")), 4);

	n = json_array_get(json_object_get(a, "notifications"), 1);
	mf = json_object_get(n, "message_fields");
	ck_assert_str_eq(sget(n, "type"), "response");
	ck_assert_str_eq(sget(mf, "action_type"), "kill");
	ck_assert_str_eq(sget(mf, "action_target_type"), "process");
	ck_assert_str_eq(sget(mf, "action_result"), "success");
	ck_assert_str_eq(sget(mf, "action_result_details"), "killed 4242");

	n = json_array_get(json_object_get(a, "notifications"), 2);
	mf = json_object_get(n, "message_fields");
	ck_assert_str_eq(sget(n, "message"), "Would have taken responseAction: kill");
	ck_assert_str_eq(sget(mf, "action_result"), "dry run");
	ck_assert_str_eq(sget(mf, "action_result_details"), "");

	n = json_array_get(json_object_get(a, "notifications"), 3);
	ck_assert_str_eq(sget(json_object_get(n, "message_fields"), "action_result"), "failed");
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(hostile_path)
{
	static const char path[] = "/tmp/a\nb\"c\\d\xff\xfe\x01\x1b[31m.txt";
	struct event *ev = event_new(EVENT_FILE_WRITE);
	struct policy fp = pol;
	json_t *a, *back, *f;
	json_error_t jerr;
	unsigned char *raw;
	char *line;
	long n;

	fp.type = POLICY_FILE;
	bytes_set(&ev->path, path, sizeof(path) - 1);
	ev->pid = 7;
	a = alert_new(&fp, ev, "node\n1", "id");
	alert_add_notification(a, "quarantine", "file", ALERT_RESULT_FAILED, path);
	line = json_dumps(a, JSON_COMPACT);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strchr(line, '\n') == NULL, "expected one line, saw a newline in %s", line);
	back = json_loads(line, 0, &jerr);
	ck_assert_msg(back != NULL, "expected valid JSON, parser said: %s", jerr.text);
	f = json_object_get(back, "file");
	ck_assert_str_eq(sget(back, "policyType"), "file");
	n = base64_decode(sget(f, "path_b64"), &raw);
	ck_assert_int_eq(n, sizeof(path) - 1);
	ck_assert_msg(memcmp(raw, path, (size_t)n) == 0, "path bytes did not round-trip");
	free(raw);
	free(line);
	json_decref(back);
	json_decref(a);
	event_free(ev);
}
END_TEST

START_TEST(syslog_levels)
{
	ck_assert_int_eq(alert_syslog_priority("Low"), LOG_NOTICE);
	ck_assert_int_eq(alert_syslog_priority("medium"), LOG_WARNING);
	ck_assert_int_eq(alert_syslog_priority("HIGH"), LOG_ERR);
	ck_assert_int_eq(alert_syslog_priority("Critical"), LOG_CRIT);
	ck_assert_int_eq(alert_syslog_priority("Informational"), LOG_INFO);
	ck_assert_int_eq(alert_syslog_priority(NULL), LOG_INFO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, shape);
	tcase_add_test(tc, uuid_unique);
	tcase_add_test(tc, notifications);
	tcase_add_test(tc, hostile_path);
	tcase_add_test(tc, syslog_levels);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
