/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_status - `senseonctl status`: the daemon's health counters.
 *
 * Overview: reads RUN_DIR/status.json, which the daemon rewrites every
 * second, and prints it for people or (--json) as is.  A status older
 * than a few seconds means the daemon is stalled or gone: say so.
 */
#include "commands.h"
#include "config.h"

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

int cmd_status(int argc, char **argv)
{
	struct sensor_config cfg;
	char path[4096];
	json_error_t jerr;
	struct stat st;
	json_t *st_js;
	const char *names[] = { "process", "exec", "file" };

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("Usage: senseonctl status\nShow the daemon's counters and health.\n");
		return CTL_EXIT_OK;
	}
	if (ctl_load_config(&cfg))
		return CTL_EXIT_INVALID;
	snprintf(path, sizeof(path), "%s/status.json", cfg.run_dir);
	config_free(&cfg);
	st_js = json_load_file(path, 0, &jerr);
	if (!st_js || stat(path, &st)) {
		fprintf(stderr, "senseonctl: senseond is not running (no %s)\n", path);
		json_decref(st_js);
		return CTL_EXIT_UNAVAILABLE;
	}
	if (ctl_opts.json) {
		json_dumpf(st_js, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(st_js);
		return CTL_EXIT_OK;
	}
	printf("senseond %s, pid %lld, node %s, up %lld s%s\n",
	       json_string_value(json_object_get(st_js, "version")),
	       (long long)geti(st_js, "pid", NULL),
	       json_string_value(json_object_get(st_js, "nodeName")),
	       (long long)geti(st_js, "uptime", NULL),
	       time(NULL) - st.st_mtime > 5 ? " (STALE: not updated for over 5 s)" : "");
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
	json_decref(st_js);
	return CTL_EXIT_OK;
}
