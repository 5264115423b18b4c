/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_status - `senseonctl status`: the daemon's health counters.
 *
 * Overview: asks the daemon over the control socket ("status": live
 * counters plus policies, isolation, platform and control connections)
 * and prints it for people or (--json) as is.  When the socket cannot be
 * reached it falls back to RUN_DIR/status.json, which the daemon rewrites
 * every second; a file older than a few seconds means the daemon is
 * stalled or gone: say so.  Also home of ctl_load_config(), which every
 * subcommand uses.
 */
#include "commands.h"
#include "config.h"
#include "ctl_client.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ctl_load_config - the daemon's configuration as senseonctl sees it. */
int ctl_load_config(struct sensor_config *cfg)
{
	char err[1024];
	struct stat st;

	if (config_defaults(cfg))
		return -1;
	if (stat(ctl_opts.config, &st) && strcmp(ctl_opts.config,
						 SENSEON_CONFDIR "/senseond.conf") == 0)
		return 0;
	if (config_load(cfg, ctl_opts.config, err, sizeof(err))) {
		fprintf(stderr, "senseonctl: %s\n", err);
		return -1;
	}
	return 0;
}

static json_int_t geti(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_integer_value(v);
}

static const char *gets_or(json_t *o, const char *path1, const char *path2,
			   const char *dflt)
{
	json_t *v = json_object_get(o, path1);
	const char *s;

	if (path2)
		v = json_object_get(v, path2);
	s = json_string_value(v);
	return s ? s : dflt;
}

/* The live status from the daemon; 0, or -errno when it cannot be asked. */
static int status_from_socket(json_t **out)
{
	struct ctl_conn *c;
	json_t *reply = NULL;
	const char *why;
	int err = ctl_try_connect(&c);

	/* a refusal is worth saying even though status.json is tried next */
	if (err == -EACCES)
		fprintf(stderr, "senseonctl: status: the control socket is for root only\n");
	if (err)
		return err;
	err = ctl_call(c, json_pack("{s:s}", "cmd", "status"), &reply);
	ctl_close(c);
	if (err)
		return err;
	why = ctl_reply_error(reply);
	if (why || !json_is_object(json_object_get(reply, "status"))) {
		fprintf(stderr, "senseonctl: status: %s\n", why ? why : "bad reply");
		json_decref(reply);
		return -EPROTO;
	}
	*out = json_incref(json_object_get(reply, "status"));
	json_decref(reply);
	return 0;
}

/* status.json, for when the socket is unreachable; its age in *@age. */
static int status_from_file(json_t **out, time_t *age)
{
	struct sensor_config cfg;
	char path[4096];
	struct stat st;
	json_t *js;

	if (ctl_load_config(&cfg))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/status.json", cfg.run_dir);
	config_free(&cfg);
	js = json_load_file(path, 0, NULL);
	if (!js || stat(path, &st)) {
		fprintf(stderr, "senseonctl: senseond is not running (no control socket, no %s)\n",
			path);
		json_decref(js);
		return -ENOENT;
	}
	*age = time(NULL) - st.st_mtime;
	*out = js;
	return 0;
}

static void status_print(json_t *st_js, bool live, time_t age)
{
	const char *names[] = { "process", "exec", "file" };

	printf("senseond %s, pid %lld, node %s, up %lld s%s\n",
	       gets_or(st_js, "version", NULL, "?"), (long long)geti(st_js, "pid", NULL),
	       gets_or(st_js, "nodeName", NULL, "?"), (long long)geti(st_js, "uptime", NULL),
	       live ? "" : age > 5 ? " (STALE: status.json not updated for over 5 s)" :
	       " (from status.json: control socket unreachable)");
	for (size_t i = 0; i < 3; i++) {
		json_t *src = json_object_get(json_object_get(st_js, "sources"), names[i]);

		printf("  %-8s events %lld, lost %lld, overflows %lld\n", names[i],
		       (long long)geti(src, "events", NULL), (long long)geti(src, "lost", NULL),
		       (long long)geti(src, "overflows", NULL));
	}
	printf("  queue    depth %lld, high water %lld, dropped %lld\n",
	       (long long)geti(st_js, "queueDepth", NULL),
	       (long long)geti(st_js, "queueHighWater", NULL),
	       (long long)geti(st_js, "queueDropped", NULL));
	printf("  processes %lld, resyncs %lld\n",
	       (long long)geti(st_js, "processTable", "entries"),
	       (long long)geti(st_js, "processTable", "resyncs"));
	if (!live)
		return;
	printf("  policies  %lld loaded\n", (long long)geti(st_js, "policies", NULL));
	printf("  isolation %s\n", gets_or(st_js, "isolation", "state", "unknown"));
	printf("  platform  %s\n", gets_or(st_js, "platform", "state", "unknown"));
	printf("  control   %lld connections open, %lld served, %lld refused\n",
	       (long long)geti(st_js, "control", "connections"),
	       (long long)geti(st_js, "control", "accepted"),
	       (long long)geti(st_js, "control", "refused"));
}

int cmd_status(int argc, char **argv)
{
	json_t *st_js = NULL;
	time_t age = 0;
	bool live;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("Usage: senseonctl status\nShow the daemon's counters and health.\n");
		return CTL_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "Usage: senseonctl status\n");
		return CTL_EXIT_USAGE;
	}
	live = status_from_socket(&st_js) == 0;
	if (!live && status_from_file(&st_js, &age))
		return CTL_EXIT_UNAVAILABLE;
	if (ctl_opts.json) {
		json_dumpf(st_js, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		status_print(st_js, live, age);
	}
	json_decref(st_js);
	/* a stale file means the daemon is not really there */
	return live || age <= 5 ? CTL_EXIT_OK : CTL_EXIT_UNAVAILABLE;
}
