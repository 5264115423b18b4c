/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_kill - `senseonctl kill PID [--tree] [--signal SIG]`.
 *
 * Overview: asks the daemon to signal a process through its pidfd (the
 * daemon refuses PID 1, itself and protected programs, and audits every
 * attempt).  Owns nothing but its command line; the connection is
 * ctl_client's.
 */
#include "commands.h"
#include "ctl_client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kill_usage(FILE *fp)
{
	fprintf(fp, "Usage: senseonctl kill [--tree] [--signal SIG] PID\n"
		"Signal process PID through the daemon (default SIGKILL).\n\n"
		"  -t, --tree        kill PID and all its descendants (SIGKILL)\n"
		"  -s, --signal SIG  the signal, by name (TERM, SIGSTOP) or number\n");
}

/* A number stays a number; a name is passed on for the daemon to parse. */
static json_t *signal_arg(const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*arg && !*end)
		return json_integer(n);
	return json_string(arg);
}

static int kill_print(json_t *reply)
{
	const char *err = ctl_reply_error(reply);

	if (ctl_opts.json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (err) {
		fprintf(stderr, "senseonctl: kill: %s\n", err);
	} else {
		printf("%s\n", json_string_value(json_object_get(reply, "details")));
	}
	return err ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree", no_argument, NULL, 't' },
		{ "signal", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sig = "KILL";
	struct ctl_conn *c;
	json_t *reply = NULL;
	bool tree = false;
	long pid;
	char *end;
	int opt, err, rc;

	while ((opt = getopt_long(argc, argv, "ts:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't': tree = true; break;
		case 's': sig = optarg; break;
		case 'h': kill_usage(stdout); return CTL_EXIT_OK;
		default: kill_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		kill_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	pid = strtol(argv[optind], &end, 10);
	if (*end || pid <= 0 || pid > INT32_MAX) {
		fprintf(stderr, "senseonctl: kill: not a process id: \"%s\"\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	err = ctl_connect(&c);
	if (err)
		return ctl_exit_code(err);
	err = ctl_call(c, json_pack("{s:s, s:I, s:o, s:b}", "cmd", "kill", "pid",
				    (json_int_t)pid, "signal", signal_arg(sig), "tree", tree),
		       &reply);
	ctl_close(c);
	if (err) {
		fprintf(stderr, "senseonctl: kill: %s\n", strerror(-err));
		return ctl_exit_code(err);
	}
	rc = kill_print(reply);
	json_decref(reply);
	return rc;
}
