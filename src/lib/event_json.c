/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event_json - encode events as JSON objects and decode them for replay.
 *
 * Overview: stateless but for a per-thread cache of the formatted
 * second in format_rfc3339().  jansson builds and escapes the objects;
 * jsonbytes keeps hostile byte strings lossless.  Field names here are
 * the public event format documented in README.md: change them only
 * with the docs.
 *
 * File events carry a brief process object (pid, ppid, uid, user, exe,
 * comm, containerId): a storm of writes by one process would otherwise
 * repeat its argv and cwd on every line.  The exec event has them.  Fork
 * and exit events carry the brief object plus the start time (startTime,
 * startTicks: with pid, the process's identity): a fork's child is a copy
 * of its parent, whose exec event already told its argv, cwd and cgroup,
 * and an exit repeats what the process's exec event said.  Building and
 * dumping those strings was most of the encoding cost of an exec storm.
 */
#include "event_json.h"
#include "event.h"
#include "jsonbytes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events come many per second: format each second once per thread. */
static __thread time_t base_sec = -1;
static __thread char base_str[32];
static __thread size_t base_len;

void format_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	char out[48];
	long ns = ts->tv_nsec;
	struct tm tm;
	size_t n;

	if (ts->tv_sec != base_sec) {
		gmtime_r(&ts->tv_sec, &tm);
		base_len = strftime(base_str, sizeof(base_str), "%Y-%m-%dT%H:%M:%S", &tm);
		base_sec = ts->tv_sec;
	}
	if (ns < 0 || ns > 999999999) {
		snprintf(buf, size, "%s.%09ldZ", base_str, ns);
		return;
	}
	memcpy(out, base_str, base_len);
	n = base_len;
	out[n++] = '.';
	for (int i = 8; i >= 0; i--, ns /= 10)
		out[n + (size_t)i] = (char)('0' + ns % 10);
	n += 9;
	out[n++] = 'Z';
	out[n] = '\0';
	snprintf(buf, size, "%s", out);
}

static int parse_rfc3339(const char *s, struct timespec *ts)
{
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	long ns = 0;

	if (!rest)
		return -1;
	if (*rest == '.') {
		int digits = 0;

		for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*rest - '0');
		for (; digits < 9; digits++)
			ns *= 10;
	}
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = ns;
	return 0;
}

static void set_start(json_t *p, const struct proc_info *pi)
{
	char when[48];

	if (pi->start_realtime.tv_sec) {
		format_rfc3339(&pi->start_realtime, when, sizeof(when));
		json_object_set_new(p, "startTime", json_string(when));
	}
	json_object_set_new(p, "startTicks", json_integer((json_int_t)pi->start_time));
}

/* The brief process object of file, fork and exit events (see the
 * Overview); the full one of exec events and alerts adds to it. */
static json_t *proc_brief_to_json(const struct proc_info *pi, bool with_start)
{
	json_t *p = json_object();

	if (!p)
		return NULL;
	json_object_set_new(p, "pid", json_integer(pi->pid));
	json_object_set_new(p, "ppid", json_integer(pi->ppid));
	json_object_set_new(p, "uid", json_integer(pi->uid));
	if (pi->user)
		json_object_set_new(p, "user", json_lossy_string(pi->user, strlen(pi->user)));
	if (pi->exe.data)
		json_set_bytes(p, "exe", pi->exe.data, pi->exe.len);
	if (pi->comm)
		json_object_set_new(p, "comm", json_lossy_string(pi->comm, strlen(pi->comm)));
	if (pi->container_id)
		json_object_set_new(p, "containerId",
				    json_lossy_string(pi->container_id, strlen(pi->container_id)));
	if (with_start)
		set_start(p, pi);
	return p;
}

json_t *proc_info_to_json(const struct proc_info *pi)
{
	json_t *p = proc_brief_to_json(pi, true);

	if (!p)
		return NULL;
	json_object_set_new(p, "euid", json_integer(pi->euid));
	json_object_set_new(p, "gid", json_integer(pi->gid));
	if (pi->cmdline.data)
		json_set_strv(p, "cmdline", pi->cmdline.data, pi->cmdline.len);
	if (pi->cwd.data)
		json_set_bytes(p, "cwd", pi->cwd.data, pi->cwd.len);
	if (pi->cgroup)
		json_object_set_new(p, "cgroup", json_lossy_string(pi->cgroup, strlen(pi->cgroup)));
	if (pi->container_id && pi->container_runtime)
		json_object_set_new(p, "containerRuntime", json_string(pi->container_runtime));
	if (pi->exe_from_fanotify)
		json_object_set_new(p, "exeSource", json_string("fanotify"));
	if (pi->resynced)
		json_object_set_new(p, "resynced", json_true());
	if (pi->parent && pi->parent->exe.data)
		json_set_bytes(p, "parentExe", pi->parent->exe.data, pi->parent->exe.len);
	return p;
}

static json_t *event_proc_json(const struct event *ev)
{
	if (event_is_file(ev))
		return proc_brief_to_json(ev->proc, false);
	if (ev->type == EVENT_PROC_FORK || ev->type == EVENT_PROC_EXIT)
		return proc_brief_to_json(ev->proc, true);
	return proc_info_to_json(ev->proc);
}

json_t *event_to_json(const struct event *ev, const char *node_name)
{
	json_t *o = json_object();
	char when[48];

	if (!o)
		return NULL;
	format_rfc3339(&ev->ts, when, sizeof(when));
	json_object_set_new(o, "timestamp", json_string(when));
	json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
	json_object_set_new(o, "type", json_string(event_type_name(ev->type)));
	if (node_name)
		json_object_set_new(o, "nodeName", json_lossy_string(node_name, strlen(node_name)));
	if (ev->pid)
		json_object_set_new(o, "pid", json_integer(ev->pid));
	if (ev->tid && ev->tid != ev->pid)
		json_object_set_new(o, "tid", json_integer(ev->tid));
	switch (ev->type) {
	case EVENT_PROC_FORK:
		json_object_set_new(o, "ppid", json_integer(ev->ppid));
		break;
	case EVENT_PROC_EXIT:
		json_object_set_new(o, "exitCode", json_integer(ev->exit_code));
		break;
	case EVENT_PROC_UID:
		json_object_set_new(o, "uid", json_integer(ev->uid));
		break;
	case EVENT_PROC_GID:
		json_object_set_new(o, "gid", json_integer(ev->gid));
		break;
	case EVENT_LOSS:
		json_object_set_new(o, "lost", json_integer((json_int_t)ev->lost));
		if (ev->loss_source)
			json_object_set_new(o, "source", json_string(ev->loss_source));
		break;
	default:
		break;
	}
	if (ev->path.data) {
		json_t *f = json_object();

		json_set_bytes(f, "path", ev->path.data, ev->path.len);
		if (ev->type == EVENT_FILE_RENAME && ev->path2.data)
			json_set_bytes(f, "newPath", ev->path2.data, ev->path2.len);
		if (ev->ino)
			json_object_set_new(f, "inode", json_integer((json_int_t)ev->ino));
		if (ev->flags & EVENT_F_IS_DIR)
			json_object_set_new(f, "isDir", json_true());
		json_object_set_new(o, "file", f);
	}
	if (ev->flags & EVENT_F_RESYNC)
		json_object_set_new(o, "resync", json_true());
	if (ev->flags & EVENT_F_LOSS_WINDOW)
		json_object_set_new(o, "lossWindow", json_true());
	if (ev->flags & EVENT_F_PROC_GONE)
		json_object_set_new(o, "processGone", json_true());
	if (ev->proc)
		json_object_set_new(o, "process", event_proc_json(ev));
	return o;
}

/* Take KEY, or KEY_b64 when present (exact bytes), into @b. */
static int bytes_from_json(const json_t *obj, const char *key, struct bytes *b)
{
	char b64key[128];
	const json_t *v;

	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	v = json_object_get(obj, b64key);
	if (json_is_string(v)) {
		unsigned char *raw;
		long n = base64_decode(json_string_value(v), &raw);

		if (n < 0)
			return -1;
		int rc = bytes_set(b, raw, (size_t)n);

		free(raw);
		return rc;
	}
	v = json_object_get(obj, key);
	if (!json_is_string(v))
		return 0;
	return bytes_set(b, json_string_value(v), json_string_length(v));
}

/* Take KEY (an array of strings), or KEY_b64 when present, into @b as
 * NUL-separated arguments, as /proc/PID/cmdline holds them. */
static int strv_from_json(const json_t *obj, const char *key, struct bytes *b, int *argc)
{
	const json_t *arr = json_object_get(obj, key), *arr64, *v;
	char b64key[128];
	size_t i, total = 0;
	char *buf;
	int rc = -1;

	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	arr64 = json_object_get(obj, b64key);
	if (json_is_array(arr64))
		arr = arr64;	/* exact bytes: the plain array is a lossy copy */
	if (!json_is_array(arr))
		return 0;
	json_array_foreach(arr, i, v)
		total += json_string_length(v) + 1;
	buf = malloc(total + 1);
	if (!buf)
		return -1;
	total = 0;
	json_array_foreach(arr, i, v) {
		const char *sv = json_string_value(v) ? json_string_value(v) : "";
		unsigned char *raw = NULL;
		long n = (long)json_string_length(v);

		if (arr == arr64) {
			n = base64_decode(sv, &raw);
			if (n < 0)
				goto out;
			sv = (const char *)raw;
		}
		memcpy(buf + total, sv, (size_t)n);	/* base64 never grows */
		free(raw);
		total += (size_t)n;
		buf[total++] = '\0';
	}
	*argc = (int)json_array_size(arr);
	rc = bytes_set(b, buf, total);
out:
	free(buf);
	return rc;
}

static char *opt_strdup(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? strdup(s) : NULL;
}

struct event *event_from_json(const json_t *obj)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *when = json_string_value(json_object_get(obj, "timestamp"));
	const json_t *f, *p;
	struct event *ev;

	if (!type || event_type_from_name(type) == EVENT_NONE)
		return NULL;
	ev = event_new(event_type_from_name(type));
	if (!ev)
		return NULL;
	if (when)
		parse_rfc3339(when, &ev->ts);
	ev->seq = (uint64_t)json_integer_value(json_object_get(obj, "seq"));
	ev->pid = (pid_t)json_integer_value(json_object_get(obj, "pid"));
	/* event_to_json leaves tid out when it equals pid */
	ev->tid = json_is_integer(json_object_get(obj, "tid")) ?
		  (pid_t)json_integer_value(json_object_get(obj, "tid")) : ev->pid;
	ev->uid = (uid_t)json_integer_value(json_object_get(obj, "uid"));
	ev->gid = (gid_t)json_integer_value(json_object_get(obj, "gid"));
	ev->ppid = (pid_t)json_integer_value(json_object_get(obj, "ppid"));
	ev->exit_code = (int)json_integer_value(json_object_get(obj, "exitCode"));
	if (json_is_true(json_object_get(obj, "resync")))
		ev->flags |= EVENT_F_RESYNC;
	if (json_is_true(json_object_get(obj, "lossWindow")))
		ev->flags |= EVENT_F_LOSS_WINDOW;
	f = json_object_get(obj, "file");
	if (json_is_object(f)) {
		bytes_from_json(f, "path", &ev->path);
		bytes_from_json(f, "newPath", &ev->path2);
		ev->ino = (ino_t)json_integer_value(json_object_get(f, "inode"));
		if (json_is_true(json_object_get(f, "isDir")))
			ev->flags |= EVENT_F_IS_DIR;
	}
	p = json_object_get(obj, "process");
	if (json_is_object(p)) {
		struct proc_info *pi = proc_info_new();

		if (!pi) {
			event_free(ev);
			return NULL;
		}
		pi->pid = (pid_t)json_integer_value(json_object_get(p, "pid"));
		pi->ppid = (pid_t)json_integer_value(json_object_get(p, "ppid"));
		pi->uid = (uid_t)json_integer_value(json_object_get(p, "uid"));
		pi->euid = (uid_t)json_integer_value(json_object_get(p, "euid"));
		pi->gid = (gid_t)json_integer_value(json_object_get(p, "gid"));
		pi->start_time = (uint64_t)json_integer_value(json_object_get(p, "startTicks"));
		bytes_from_json(p, "exe", &pi->exe);
		bytes_from_json(p, "cwd", &pi->cwd);
		strv_from_json(p, "cmdline", &pi->cmdline, &pi->argc);
		pi->comm = opt_strdup(p, "comm");
		pi->user = opt_strdup(p, "user");
		pi->cgroup = opt_strdup(p, "cgroup");
		pi->container_id = opt_strdup(p, "containerId");
		pi->container_runtime = opt_strdup(p, "containerRuntime");
		if (json_is_string(json_object_get(p, "parentExe"))) {
			pi->parent = proc_info_new();
			if (pi->parent) {
				pi->parent->pid = pi->ppid;
				bytes_from_json(p, "parentExe", &pi->parent->exe);
			}
		}
		ev->proc = pi;
	}
	return ev;
}
