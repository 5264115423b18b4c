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

#endif
