/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_isolate - `senseonctl isolate`, `senseonctl unisolate` and
 * `senseonctl isolation` (the isolation status).
 *
 * Overview: owns nothing but its command line.  Changes go straight
 * through src/lib/isolate.c, under the same lock the daemon uses, so that
 * unisolate as root always works (break-glass), whether the daemon runs,
 * hangs or is gone.  The audit record is written by the daemon when it
 * runs (it holds STATE_DIR/isolation.daemon and sees the change within a
 * second); when it does not, we take that lock and write the record here,
 * so there is never more than one writer on the audit chain.
 */
#include "commands.h"
#include "audit.h"
#include "config.h"
#include "isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The daemon is not running: audit ourselves.  Returns 0 or -errno. */
static int audit_if_no_daemon(const struct sensor_config *cfg, const char *action,
			      const struct isolate_state *st, const char *by,
			      int result, const char *err)
{
	char path[4096];
	json_t *f;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/isolation.daemon", cfg->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return 0;	/* the daemon holds it and audits */
	}
	f = isolate_state_json(st);
	if (f) {
		json_object_del(f, "listing");
		json_object_set_new(f, "action", json_string(action));
		json_object_set_new(f, "by", json_string(by));
		json_object_set_new(f, "via", json_string("senseonctl"));
		json_object_set_new(f, "result", json_string(result ? "failed" : "success"));
		if (result)
			json_object_set_new(f, "error", json_string(err));
	}
	mkdir(cfg->log_dir, 0700);
	rc = audit_open(cfg->log_dir);
	if (!rc) {
		rc = audit_append("isolation.change", f);
		audit_close();
	} else {
		json_decref(f);
	}
	close(fd);
	return rc;
}

static void who(char *buf, size_t len)
{
	snprintf(buf, len, "uid:%u", (unsigned)getuid());
}

static void print_state(const struct isolate_state *st, bool table_present)
{
	char t[96];

	if (ctl_opts.json) {
		json_t *o = isolate_state_json(st);

		json_object_del(o, "listing");
		json_object_set_new(o, "table_present", json_boolean(table_present));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("isolation: %s", st->isolated ? "isolated" : "not isolated");
	if (st->isolated && st->expires)
		printf(" (expires in %lds)", (long)(st->expires - time(NULL)));
	printf("%s\n", st->isolated != table_present ?
	       (table_present ? " [our table is present]" : " [our table is MISSING]") : "");
	if (!st->isolated)
		return;
	printf("  platform: %s port %u:", st->spec.platform_host ? st->spec.platform_host :
	       "(none)", st->spec.platform_port);
	for (size_t i = 0; i < st->spec.n_platform; i++) {
		isolate_format_target(&st->spec.platform[i], t, sizeof(t));
		printf(" %s", t);
	}
	printf("\n  allow:");
	for (size_t i = 0; i < st->spec.n_allow; i++) {
		isolate_format_target(&st->spec.allow[i], t, sizeof(t));
		printf(" %s", t);
	}
	printf("\n  ruleset sha256: %s\n", st->digest);
}

static int isolate_usage(FILE *fp, int rc)
{
	fprintf(fp, "Usage: senseonctl isolate [--allow ADDR[/LEN][:PORT]]... [--for DURATION] [--force]\n"
		"Block all outbound traffic except to the platform, loopback and the\n"
		"allow-list; inbound stays open.  DURATION: 90s, 15m, 2h, 1d.\n"
		"--force isolates even when the platform cannot be resolved or reached.\n");
	return rc;
}

int cmd_isolate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allow", required_argument, NULL, 'a' },
		{ "for", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **allow = calloc((size_t)argc + 1, sizeof(*allow));
	struct isolate_request req = { 0 };
	struct sensor_config cfg;
	struct isolate_state st;
	char err[1024] = "", by[32];
	int c, rc;

	if (!allow)
		return CTL_EXIT_FAILURE;
	while ((c = getopt_long(argc, argv, "a:d:Fh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': allow[req.n_allow++] = optarg; break;
		case 'd':
			if (isolate_parse_duration(optarg, &req.duration)) {
				fprintf(stderr, "senseonctl isolate: invalid duration \"%s\"\n", optarg);
				free(allow);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'F': req.force = true; break;
		case 'h': free(allow); return isolate_usage(stdout, CTL_EXIT_OK);
		default: free(allow); return isolate_usage(stderr, CTL_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		free(allow);
		return isolate_usage(stderr, CTL_EXIT_USAGE);
	}
	if (ctl_load_config(&cfg)) {
		free(allow);
		return CTL_EXIT_INVALID;
	}
	who(by, sizeof(by));
	req.allow = allow;
	req.by = by;
	rc = isolate_enable(&cfg, &req, &st, err, sizeof(err));
	if (audit_if_no_daemon(&cfg, "isolate", &st, by, rc, err))
		fprintf(stderr, "senseonctl isolate: warning: audit record not written\n");
	if (rc) {
		fprintf(stderr, "senseonctl isolate: %s\n", err);
		rc = rc == -EINVAL ? CTL_EXIT_INVALID : CTL_EXIT_FAILURE;
	} else {
		print_state(&st, true);
	}
	isolate_state_free(&st);
	config_free(&cfg);
	free(allow);
	return rc;
}

int cmd_unisolate(int argc, char **argv)
{
	struct isolate_state prev;
	struct sensor_config cfg;
	char err[1024] = "", by[32];
	int rc;

	if (argc > 1) {
		printf("Usage: senseonctl unisolate\nRemove the isolation table "
		       "(inet senseon_isolation) and nothing else.\n");
		return strcmp(argv[1], "--help") ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	/* Break-glass: a broken configuration must not keep the host cut
	 * off, so fall back to the built-in paths. */
	if (ctl_load_config(&cfg)) {
		fprintf(stderr, "senseonctl unisolate: using the default paths\n");
		if (config_defaults(&cfg))
			return CTL_EXIT_FAILURE;
	}
	who(by, sizeof(by));
	rc = isolate_disable(&cfg, by, &prev, err, sizeof(err));
	if (audit_if_no_daemon(&cfg, "unisolate", &prev, by, rc, err))
		fprintf(stderr, "senseonctl unisolate: warning: audit record not written\n");
	if (rc)
		fprintf(stderr, "senseonctl unisolate: %s\n", err);
	else if (!ctl_opts.json)
		printf("isolation: not isolated\n");
	isolate_state_free(&prev);
	config_free(&cfg);
	return rc ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int cmd_isolation(int argc, char **argv)
{
	struct sensor_config cfg;
	struct isolate_state st;
	char *listing = NULL;
	int rc;

	if (argc > 1) {
		printf("Usage: senseonctl isolation\nShow whether the host is isolated.\n");
		return strcmp(argv[1], "--help") ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (ctl_load_config(&cfg))
		return CTL_EXIT_INVALID;
	rc = isolate_state_load(cfg.state_dir, &st);
	if (rc) {
		fprintf(stderr, "senseonctl isolation: cannot read %s/" ISOLATE_STATE_FILE ": %s\n",
			cfg.state_dir, strerror(-rc));
		config_free(&cfg);
		return CTL_EXIT_UNAVAILABLE;
	}
	print_state(&st, isolate_kernel_listing(&listing) == 0);
	free(listing);
	isolate_state_free(&st);
	config_free(&cfg);
	return CTL_EXIT_OK;
}
