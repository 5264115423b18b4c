/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * commands - the senseonctl subcommands.  Each lives in src/cli/cmd_NAME.c
 * and is one row of the table in senseonctl.c.  A command gets argv with
 * argv[0] = its own name and returns the process exit status.
 */
#ifndef SENSEON_CLI_COMMANDS_H
#define SENSEON_CLI_COMMANDS_H

#include <stdbool.h>

/* Exit codes shared by every subcommand (documented in senseonctl(8)). */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAILURE	1	/* the operation failed */
#define CTL_EXIT_USAGE		2	/* bad command line */
#define CTL_EXIT_INVALID	3	/* bad input: policy, events file ... */
#define CTL_EXIT_UNAVAILABLE	4	/* daemon or state not reachable */

struct ctl_options {
	bool json;		/* --json: machine-readable output */
	const char *config;	/* -c FILE: the daemon's configuration */
};

extern struct ctl_options ctl_opts;

struct sensor_config;
/* The daemon configuration senseonctl reads (-c); 0 or -1 (printed). */
int ctl_load_config(struct sensor_config *cfg);

int cmd_status(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_isolate(int argc, char **argv);
int cmd_unisolate(int argc, char **argv);
int cmd_isolation(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_download(int argc, char **argv);

/* One script run through the daemon (cmd_run.c), shared by run, upload
 * and download. */
#define CTL_RUN_MAX_PUTS	16
struct ctl_run_opts {
	const char *code;	/* the script's text, or NULL: ... */
	const char *name;	/* ... a shipped script of this name */
	char **args;
	int nargs;
	double timeout;		/* seconds, 0: the daemon's default */
	long long memory;	/* bytes, 0: the daemon's default */
	const char *outdir;	/* where uploads are saved (default .) */
	bool quiet;		/* no notes on stderr (upload) */
	struct { const char *name, *path; } puts[CTL_RUN_MAX_PUTS];
	int nputs;
};
/* ctl_run_script - run it, stream its output; the script's exit status. */
int ctl_run_script(const struct ctl_run_opts *o);

#endif
