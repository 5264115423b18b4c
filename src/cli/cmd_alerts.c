/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_alerts - `senseonctl alerts [-n N] [--follow]`.
 *
 * Overview: prints the last N alerts from the daemon and, with --follow,
 * every alert raised after that until interrupted.  Human output is one
 * summary line per alert; --json prints each alert as its JSON line.
 * Owns only its command line and output; the connection is ctl_client's.
 */
#include "textesc.h"
#include "commands.h"
#include "ctl_client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void alerts_usage(FILE *fp)
{
	fprintf(fp, "Usage: senseonctl alerts [-n N] [--follow]\n"
		"Show the last N alerts (default 20; with --follow 0), then with\n"
		"--follow every new alert as it is raised, until interrupted.\n");
}

static const char *str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "-";
}

static void alert_print(const json_t *a)
{
	const json_t *proc = json_object_get(a, "process");
	const json_t *file = json_object_get(a, "file");

	if (ctl_opts.json) {
		json_dumpf(a, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		/* every string may hold a name an attacker chose: escaped */
		text_fputs(str(a, "timestamp"), stdout);
		fputs("  ", stdout);
		text_fputs(str(a, "priority"), stdout);
		fputs(" ", stdout);
		text_fputs(str(a, "name"), stdout);
		if (proc) {
			printf("  pid %lld ", (long long)json_integer_value(
				json_object_get(proc, "pid")));
			text_fputs(str(proc, "exe"), stdout);
		}
		if (file) {
			fputs("  file ", stdout);
			text_fputs(str(file, "path"), stdout);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* One reply frame; 1 when it was the last, 0 to go on, <0 on error. */
static int alerts_frame(const struct proto_frame *f)
{
	const json_t *a;
	const char *err;

	if (f->kind != PROTO_JSON)
		return -EPROTO;
	err = ctl_reply_error(f->json);
	if (err) {
		fprintf(stderr, "senseonctl: alerts: %s\n", err);
		return -EIO;
	}
	a = json_object_get(f->json, "alert");
	if (a)
		alert_print(a);
	if (json_object_get(f->json, "following"))
		fprintf(stderr, "senseonctl: following alerts (Ctrl-C stops)\n");
	if (json_object_get(f->json, "dropped"))
		fprintf(stderr, "senseonctl: %lld alerts dropped (not read fast enough)\n",
			(long long)json_integer_value(json_object_get(f->json, "dropped")));
	return ctl_frame_done(f) ? 1 : 0;
}

int cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proto_frame f;
	struct ctl_conn *c;
	bool follow = false;
	long n = -1;
	char *end;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "fn:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': follow = true; break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 0) {
				fprintf(stderr, "senseonctl: alerts: bad count \"%s\"\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'h': alerts_usage(stdout); return CTL_EXIT_OK;
		default: alerts_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		alerts_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (n < 0)
		n = follow ? 0 : 20;
	err = ctl_connect(&c);
	if (err)
		return ctl_exit_code(err);
	err = ctl_request(c, json_pack("{s:s, s:I}", "cmd", follow ? "alerts.follow" : "alerts",
				       "n", (json_int_t)n));
	while (!err) {
		err = ctl_read(c, &f);
		if (err)
			break;
		err = alerts_frame(&f);
		proto_frame_free(&f);
	}
	ctl_close(c);
	if (err == 1)
		return CTL_EXIT_OK;
	if (err == -EIO)
		return CTL_EXIT_FAILURE;
	fprintf(stderr, "senseonctl: alerts: connection to senseond lost: %s\n",
		strerror(-err));
	return CTL_EXIT_UNAVAILABLE;
}
