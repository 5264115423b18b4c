/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * senseonctl - the analyst and administrator command line.
 *
 * Overview: parses the global options, finds the subcommand in a table and
 * hands it the rest of argv.  Subcommands share the library with the
 * daemon (policy parser, event JSON, quarantine store) instead of copying it.
 *
 * This file builds two programs.  senseonctl has the commands that talk
 * to the daemon and are run all the time, and starts in about a
 * millisecond because it loads only libc, jansson and libyaml.  The
 * others (NULL in its table: policy, quarantine, isolation, audit) need
 * libnftables, libcrypto and libuuid, so senseonctl execs senseonctl-admin
 * (built with SENSEONCTL_ADMIN, every command linked in) with the same
 * argv.  It owns no state beyond the parsed global options.
 */
#include "commands.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SENSEONCTL_ADMIN
#define ADMIN(fn) fn
#else
#define ADMIN(fn) NULL
#endif

struct ctl_options ctl_opts = {
	.config = SENSEON_CONFDIR "/senseond.conf",
};

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "status", cmd_status, "show the daemon's counters and health" },
	{ "policy", ADMIN(cmd_policy), "check policy files, replay events through them" },
	{ "quarantine", ADMIN(cmd_quarantine), "list quarantined files or restore one" },
	{ "isolate", ADMIN(cmd_isolate), "cut the host off the network, except the platform" },
	{ "unisolate", ADMIN(cmd_unisolate),
	  "end network isolation (break-glass: always works as root)" },
	{ "isolation", ADMIN(cmd_isolation), "show whether the host is isolated" },
	{ "kill", cmd_kill, "signal a process (or kill its tree) through the daemon" },
	{ "alerts", cmd_alerts, "show recent alerts, or follow new ones" },
	{ "audit", ADMIN(cmd_audit), "print, follow or verify the hash-chained audit log" },
	{ "run", cmd_run, "run a Python script on this host, stream its output" },
	{ "upload", cmd_upload, "copy a file from this host (sha256 checked)" },
	{ "download", cmd_download, "write a file to this host, atomically" },
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: senseonctl [--json] [-c CONFIG] COMMAND [ARGS]...\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\nRun 'senseonctl COMMAND --help' for a command's options.\n");
}

/*
 * A command senseonctl does not link: exec senseonctl-admin with our own
 * argv.  Next to this program first (the build tree), else the installed
 * one; only a directory root can write holds either.
 */
static int exec_admin(char **argv)
{
	static const char name[] = "senseonctl-admin";
	char self[PATH_MAX], path[PATH_MAX + sizeof(name)];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			slash[1] = '\0';
			snprintf(path, sizeof(path), "%s%s", self, name);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", SENSEON_LIBEXECDIR, name);
	execv(path, argv);
	fprintf(stderr, "senseonctl: cannot run %s: %s\n", path, strerror(errno));
	return CTL_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	log_init("senseonctl", LOG_TARGET_STDERR, LOG_WARNING);
	/* '+': stop at the subcommand, its options are its own */
	while ((c = getopt_long(argc, argv, "+jc:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctl_opts.json = true; break;
		case 'c': ctl_opts.config = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		case 'V': printf("senseonctl %s\n", PACKAGE_VERSION); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			if (!commands[i].run)
				return exec_admin(argv);
			optind++;
			/* subcommands parse with getopt again from their own argv[0] */
			int sub_argc = argc - optind + 1;
			char **sub_argv = argv + optind - 1;

			optind = 1;
			return commands[i].run(sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "senseonctl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
