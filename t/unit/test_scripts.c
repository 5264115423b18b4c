/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_scripts - the daemon's script manager (src/daemon/scripts.c)
 * without the control socket: control.c is replaced by a recording stub
 * (the handler scripts_init() registers is called directly, its replies
 * are kept, the requester's data stream is a buffer).
 *
 * Proves: request validation (code or name, names that climb out of the
 * scripts directory, args, timeout, files) refuses with a message and
 * leaves no spool; a put file whose sha256 differs from the announced one
 * is refused.  With the build's senseon-pyrunner (skipped when absent):
 * (the worker is a build product: missing, the tests fail)
 * output truncation is counted (all bytes counted, only the limit sent,
 * one "truncated" notice); bad limits fall back to the defaults and good
 * ones are applied; download() writes atomically with the mode asked and
 * refuses a symlink in the last component and an existing file; the
 * alert of a run is both alert_context() and stdin; the module's RPC
 * codec carries errors as the module's exception classes.
 */
#include "scripts.h"
#include "control.h"
#include "isolation.h"
#include "sensor.h"
#include "queue.h"
#include "proctable.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PYRUNNER_PATH
#define PYRUNNER_PATH "senseon-pyrunner"
#endif

/* ---- the daemon pieces scripts.c calls (senseond.c, control.c) ---- */

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct control_conn {
	struct sensor *s;
	struct control_peer peer;
	json_t *replies;		/* every JSON reply, in order */
	size_t data_sent;
	const char *in;			/* the requester's data stream */
	size_t in_len, in_off;
};

static control_handler_fn run_handler;

int control_register(const char *cmd, control_handler_fn fn)
{
	if (!strcmp(cmd, "script.run"))
		run_handler = fn;
	return 0;
}

const struct control_peer *control_peer(struct control_conn *c)
{
	return &c->peer;
}

struct sensor *control_sensor(struct control_conn *c)
{
	return c->s;
}

int control_reply(struct control_conn *c, json_t *msg, int done)
{
	if (!msg)
		return -ENOMEM;
	if (done)
		json_object_set_new(msg, "done", json_true());
	json_array_append_new(c->replies, msg);
	return 0;
}

int control_error(struct control_conn *c, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return control_reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", buf), 1);
}

int control_send_data(struct control_conn *c, const void *buf, size_t len)
{
	(void)buf;
	c->data_sent += len;
	return 0;
}

int control_send_end(struct control_conn *c, json_t *summary)
{
	(void)c;
	json_decref(summary);
	return 0;
}

/* One put file per test at most: the whole buffer, then the end. */
ssize_t control_recv_data(struct control_conn *c, void *buf, size_t len)
{
	size_t n = c->in_len - c->in_off;

	if (n > len)
		n = len;
	memcpy(buf, c->in + c->in_off, n);
	c->in_off += n;
	return (ssize_t)n;
}

const json_t *control_recv_end(struct control_conn *c)
{
	(void)c;
	return NULL;
}

int isolation_isolate(const json_t *req, const char *by, json_t **state, char *err, size_t len)
{
	(void)req;
	(void)by;
	*state = NULL;
	snprintf(err, len, "stub");
	return -ENOTCONN;
}

int isolation_unisolate(const char *by, char *err, size_t len)
{
	(void)by;
	snprintf(err, len, "stub");
	return -ENOTCONN;
}

int isolation_status(json_t **status, char *err, size_t len)
{
	*status = NULL;
	snprintf(err, len, "stub");
	return -ENOTCONN;
}

/* ---- fixture ---- */

static struct sensor sensor;
static char dir[64];

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void setup(void)
{
	char p[256];

	snprintf(dir, sizeof(dir), "/tmp/senseon-test-scripts.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&sensor, 0, sizeof(sensor));
	path_in(p, sizeof(p), "scripts");
	mkdir(p, 0700);
	sensor.cfg.scripts_dir = strdup(p);
	path_in(p, sizeof(p), "state");
	mkdir(p, 0700);
	sensor.cfg.state_dir = strdup(p);
	sensor.cfg.pyrunner_path = strdup(PYRUNNER_PATH);
	sensor.cfg.node_name = strdup("unit-node");
	sensor.queue = queue_new(64);
	sensor.proctable = proctable_new("/proc");
	sensor.self_pid = getpid();
	ck_assert_int_eq(scripts_init(&sensor), 0);
	ck_assert_ptr_nonnull(run_handler);
}

static void teardown(void)
{
	char cmd[128];

	scripts_stop(&sensor);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The worker is a build product beside this test: its absence is a failure. */
static bool have_pyrunner(void)
{
	ck_assert_msg(access(PYRUNNER_PATH, X_OK) == 0, "%s: %s", PYRUNNER_PATH, strerror(errno));
	return true;
}

/* Run @req (a JSON text) through the handler; returns the replies. */
static json_t *run_req(const char *req_text, const char *in, size_t in_len,
		       size_t *data_sent)
{
	struct control_conn c = {
		.s = &sensor, .replies = json_array(), .in = in, .in_len = in_len,
		.peer = { .pid = 1234, .uid = 0, .analyst = "uid:0" },
	};
	json_t *req = json_loads(req_text, 0, NULL);

	ck_assert_msg(req != NULL, "bad test request %s", req_text);
	run_handler(&c, req);
	json_decref(req);
	if (data_sent)
		*data_sent = c.data_sent;
	return c.replies;
}

static json_t *last(json_t *replies)
{
	json_t *l = json_array_get(replies, json_array_size(replies) - 1);

	ck_assert_msg(json_is_true(json_object_get(l, "done")), "the last reply is not done");
	return l;
}

/* The refusal of @req; asserts it contains @want. */
static void expect_refused(const char *req, const char *want)
{
	json_t *r = run_req(req, "", 0, NULL);
	const char *err = json_string_value(json_object_get(last(r), "error"));

	ck_assert_msg(err && strstr(err, want), "request %s: expected an error with \"%s\", saw %s",
		      req, want, err ? err : "(none)");
	json_decref(r);
}

/* Concatenated "data" of the @stream replies. */
static char *stream_of(json_t *replies, const char *stream)
{
	size_t i, len = 0;
	json_t *m;
	char *out = calloc(1, 1);

	json_array_foreach(replies, i, m) {
		const char *d = json_string_value(json_object_get(m, "data"));
		const char *st = json_string_value(json_object_get(m, "stream"));

		if (!d || !st || strcmp(st, stream))
			continue;
		out = realloc(out, len + strlen(d) + 1);
		memcpy(out + len, d, strlen(d) + 1);
		len += strlen(d);
	}
	return out;
}

/* stdout; a run that wrote to stderr (a traceback ...) fails the test. */
static char *stdout_of(json_t *replies)
{
	char *err = stream_of(replies, "stderr");
	char *fin = json_dumps(last(replies), JSON_COMPACT);

	ck_assert_msg(!err[0], "the script wrote to stderr: %s (result %s)", err, fin);
	free(err);
	free(fin);
	return stream_of(replies, "stdout");
}

static json_t *run_code(const char *code, const char *extra)
{
	char *req;
	json_t *code_js = json_string(code), *r;
	char *code_text = json_dumps(code_js, JSON_ENCODE_ANY);

	ck_assert_int_gt(asprintf(&req, "{\"cmd\": \"script.run\", \"code\": %s%s%s}", code_text,
				  extra ? ", " : "", extra ? extra : ""), 0);
	r = run_req(req, "", 0, NULL);
	free(req);
	free(code_text);
	json_decref(code_js);
	return r;
}

/* ---- validation (no worker needed) ---- */

START_TEST(refuses_bad_requests)
{
	char p[256];
	DIR *d;
	int n = 0;

	expect_refused("{\"cmd\": \"script.run\"}", "needs \"code\" or a script \"name\"");
	expect_refused("{\"name\": \"../etc/passwd\"}", "needs \"code\" or a script \"name\"");
	expect_refused("{\"name\": \".hidden\"}", "needs \"code\" or a script \"name\"");
	expect_refused("{\"name\": \"nosuch.py\"}", "no such script in the scripts directory");
	expect_refused("{\"code\": \"pass\", \"args\": [1]}", "\"args\" must be strings");
	expect_refused("{\"code\": \"pass\", \"args\": \"x\"}", "\"args\" must be a list");
	expect_refused("{\"code\": \"pass\", \"timeout\": 0}", "\"timeout\" must be 1 to");
	expect_refused("{\"code\": \"pass\", \"timeout\": 1e9}", "\"timeout\" must be 1 to");
	expect_refused("{\"code\": \"pass\", \"files\": [{\"name\": \"a/b\", \"sha256\": "
		       "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		       "needs a plain \"name\" and \"sha256\"");
	/* Nothing is left in the spool after a refusal. */
	snprintf(p, sizeof(p), "%s/spool", sensor.cfg.state_dir);
	d = opendir(p);
	if (d) {
		for (struct dirent *de; (de = readdir(d));)
			n += de->d_name[0] != '.';
		closedir(d);
	}
	ck_assert_msg(n == 0, "expected an empty spool after refusals, saw %d entries", n);
}
END_TEST

START_TEST(refuses_put_file_with_wrong_sha256)
{
	const char *req = "{\"code\": \"pass\", \"files\": [{\"name\": \"f\", \"size\": 3, "
		"\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}]}";
	json_t *r = run_req(req, "abc", 3, NULL);
	const char *err = json_string_value(json_object_get(last(r), "error"));

	/* sha256("abc") */
	ck_assert_msg(err && strstr(err, "received 3 bytes sha256 ba7816bf8f01cfea414140de5dae2223"
				    "b00361a396177a9cb410ff61f20015ad, announced 3 bytes"),
		      "expected the sha256 mismatch named, saw %s", err ? err : "(none)");
	json_decref(r);
}
END_TEST

START_TEST(unavailable_worker_is_reported)
{
	json_t *r;
	const char *err;

	free(sensor.cfg.pyrunner_path);
	sensor.cfg.pyrunner_path = strdup("/nonexistent/senseon-pyrunner");
	ck_assert_int_eq(scripts_start(&sensor), -ENOENT);
	r = run_code("pass", NULL);
	err = json_string_value(json_object_get(last(r), "error"));
	ck_assert_msg(err && strstr(err, "the script worker is not available"),
		      "expected 'not available', saw %s", err ? err : "(none)");
	json_decref(r);
}
END_TEST

/* ---- with the worker ---- */

START_TEST(output_truncation_is_counted)
{
	json_t *r, *m, *fin;
	size_t i, notices = 0;
	char *out;

	if (!have_pyrunner())
		return;
	ck_assert_int_eq(scripts_start(&sensor), 0);
	r = run_code("import sys\nsys.stdout.write('x' * 100000)\nsys.stdout.flush()\n"
		     "sys.stderr.write('e' * 10)\n", "\"limits\": {\"output\": 1000}");
	fin = last(r);
	json_array_foreach(r, i, m)
		notices += json_is_true(json_object_get(m, "truncated")) &&
			   !json_object_get(m, "done");
	out = stream_of(r, "stdout");
	ck_assert_msg(strlen(out) == 1000, "expected 1000 bytes of stdout sent, saw %zu", strlen(out));
	ck_assert_int_eq(notices, 1);
	ck_assert(json_is_true(json_object_get(fin, "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(fin, "stdoutBytes")), 100000);
	ck_assert_int_eq(json_integer_value(json_object_get(fin, "stderrBytes")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(fin, "exit")), 0);
	free(out);
	json_decref(r);
}
END_TEST

START_TEST(limits_fall_back_to_defaults)
{
	json_t *r, *lim;
	char *out;

	if (!have_pyrunner())
		return;
	ck_assert_int_eq(scripts_start(&sensor), 0);
	r = run_code("import json, senseon\nprint(json.dumps(senseon.sensor_info()['limits']))\n",
		     "\"timeout\": 7, \"limits\": {\"memory\": -5, \"pids\": \"many\", \"cpu\": 50}");
	out = stdout_of(r);
	lim = json_loads(out, 0, NULL);
	ck_assert_msg(lim != NULL, "sensor_info()['limits'] not printed: %s", out);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "memory")), 1ll << 30);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "pids")), 512);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "cpu")), 50);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "timeout")), 7);
	json_decref(lim);
	free(out);
	json_decref(r);
}
END_TEST

static void sha256_text(const char *s, char hex[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md);

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

static char *read_text(const char *path)
{
	char buf[256] = "";
	FILE *fp = fopen(path, "re");

	if (!fp)
		return NULL;
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	return strdup(buf);
}

START_TEST(download_is_atomic_and_refuses_symlinks)
{
	char req[2048], hex[65], dest[256], link[256], victim[256], *got;
	const char *payload = "payload\n";
	struct stat st;
	json_t *r;
	DIR *d;

	if (!have_pyrunner())
		return;
	ck_assert_int_eq(scripts_start(&sensor), 0);
	sha256_text(payload, hex);
	path_in(dest, sizeof(dest), "out.txt");
	path_in(link, sizeof(link), "link.txt");
	path_in(victim, sizeof(victim), "victim.txt");
	ck_assert_int_eq(symlink(victim, link), 0);
	snprintf(req, sizeof(req), "{\"code\": \"import senseon, sys\\n"
		 "r = senseon.download('f', sys.argv[1], mode=0o640)\\n"
		 "print(r['size'], r['sha256'])\\n"
		 "for dst, kw in ((sys.argv[1], {}), (sys.argv[2], {}), (sys.argv[2], {'overwrite': True})):\\n"
		 "    try:\\n"
		 "        senseon.download('f', dst, **kw)\\n"
		 "        print('written', dst)\\n"
		 "    except senseon.PermissionDenied as e:\\n"
		 "        print('PermissionDenied')\\n"
		 "    except senseon.Error as e:\\n"
		 "        print('Error', 'exists' in str(e))\\n\", "
		 "\"args\": [\"%s\", \"%s\"], \"files\": [{\"name\": \"f\", \"size\": %zu, "
		 "\"sha256\": \"%s\"}]}", dest, link, strlen(payload), hex);
	r = run_req(req, payload, strlen(payload), NULL);
	got = stdout_of(r);
	{
		char want[512];

		snprintf(want, sizeof(want), "%zu %s\nError True\nPermissionDenied\nPermissionDenied\n",
			 strlen(payload), hex);
		ck_assert_str_eq(got, want);
	}
	free(got);
	ck_assert_int_eq(stat(dest, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	got = read_text(dest);
	ck_assert_str_eq(got, payload);
	free(got);
	ck_assert_msg(access(victim, F_OK) != 0, "the symlink's target was written");
	/* No temporary file is left beside the destination. */
	d = opendir(dir);
	for (struct dirent *de; (de = readdir(d));)
		ck_assert_msg(strncmp(de->d_name, ".senseon-download", 17),
			      "temporary file %s left behind", de->d_name);
	closedir(d);
	json_decref(r);
}
END_TEST

START_TEST(alert_is_context_and_stdin)
{
	json_t *r;
	char *out;

	if (!have_pyrunner())
		return;
	ck_assert_int_eq(scripts_start(&sensor), 0);
	r = run_code("import json, sys, senseon\n"
		     "print(senseon.alert_context()['uuid'], json.load(sys.stdin)['uuid'])\n",
		     "\"alert\": {\"uuid\": \"u-1\", \"name\": \"n\"}");
	out = stdout_of(r);
	ck_assert_str_eq(out, "u-1 u-1\n");
	free(out);
	json_decref(r);
	/* Without an alert: None, and stdin is empty. */
	r = run_code("import sys, senseon\nprint(senseon.alert_context(), repr(sys.stdin.read()))\n",
		     NULL);
	out = stdout_of(r);
	ck_assert_str_eq(out, "None ''\n");
	free(out);
	json_decref(r);
}
END_TEST

START_TEST(rpc_errors_are_module_exceptions)
{
	json_t *r;
	char *out;

	if (!have_pyrunner())
		return;
	ck_assert_int_eq(scripts_start(&sensor), 0);
	r = run_code("import senseon\n"
		     "for f in (lambda: senseon.process(999999999), lambda: senseon.kill(1),\n"
		     "          lambda: senseon.isolation_status(), lambda: senseon.upload('/nonexistent'),\n"
		     "          lambda: senseon.download('nofile', '/tmp/x')):\n"
		     "    try:\n"
		     "        f()\n"
		     "        print('no error')\n"
		     "    except senseon.Error as e:\n"
		     "        print(type(e).__name__)\n", NULL);
	out = stdout_of(r);
	ck_assert_str_eq(out, "NotFound\nPermissionDenied\nNotAvailable\nNotFound\nNotFound\n");
	free(out);
	json_decref(r);
}
END_TEST

static Suite *scripts_suite(void)
{
	Suite *s = suite_create("scripts");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, refuses_bad_requests);
	tcase_add_test(tc, refuses_put_file_with_wrong_sha256);
	tcase_add_test(tc, unavailable_worker_is_reported);
	tcase_add_test(tc, output_truncation_is_counted);
	tcase_add_test(tc, limits_fall_back_to_defaults);
	tcase_add_test(tc, download_is_atomic_and_refuses_symlinks);
	tcase_add_test(tc, alert_is_context_and_stdin);
	tcase_add_test(tc, rpc_errors_are_module_exceptions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scripts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
