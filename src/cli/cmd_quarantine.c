/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_quarantine - `senseonctl quarantine list [--json]` and
 * `senseonctl quarantine restore ID [--force]`.
 *
 * Overview: works on STATE_DIR/quarantine/ straight from the daemon's
 * configuration (-c), so it needs no running daemon; the store itself is
 * quarantine.c's.  This file owns only argument parsing and output.
 */
#include "textesc.h"
#include "commands.h"
#include "config.h"
#include "quarantine.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: senseonctl quarantine list [--json]\n"
		"       senseonctl quarantine restore ID [--force]\n"
		"List quarantined files, or put one back with its owner, mode and times.\n");
}

static const char *str(const json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "-";
}

static void print_human(const json_t *list)
{
	size_t i;
	const json_t *rec;

	if (json_array_size(list) == 0) {
		printf("quarantine is empty\n");
		return;
	}
	printf("%-36s  %-30s  %4s  %10s  %s\n", "ID", "QUARANTINED", "MODE", "SIZE", "ORIGINAL PATH");
	json_array_foreach(list, i, rec) {
		printf("%-36s  %-30s  %4s  %10lld  ", str(rec, "id"), str(rec, "time"),
		       str(rec, "mode"),
		       (long long)json_integer_value(json_object_get(rec, "size")));
		text_fputs(str(rec, "originalPath"), stdout);	/* any name a user chose */
		printf("%s\n", json_is_true(json_object_get(rec, "missingContent")) ?
		       "  (content missing)" : "");
	}
}

static int do_list(const struct sensor_config *cfg, int argc, char **argv)
{
	json_t *list;
	int err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			ctl_opts.json = true;
		} else {
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	err = quarantine_list(cfg->state_dir, &list);
	if (err) {
		fprintf(stderr, "senseonctl: cannot read %s/quarantine: %s\n",
			cfg->state_dir, quarantine_strerror(err));
		return CTL_EXIT_UNAVAILABLE;
	}
	if (ctl_opts.json) {
		json_dumpf(list, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_human(list);
	}
	json_decref(list);
	return CTL_EXIT_OK;
}

static int do_restore(const struct sensor_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f') {
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
		force = true;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	err = quarantine_restore(cfg->state_dir, argv[optind], force);
	if (err) {
		fprintf(stderr, "senseonctl: cannot restore %s: %s\n", argv[optind],
			quarantine_strerror(err));
		return CTL_EXIT_FAILURE;
	}
	if (ctl_opts.json)
		printf("{\"id\":\"%s\",\"restored\":true}\n", argv[optind]);
	else
		printf("restored %s\n", argv[optind]);
	return CTL_EXIT_OK;
}

int cmd_quarantine(int argc, char **argv)
{
	struct sensor_config cfg;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "list") && strcmp(argv[1], "restore")) {
		fprintf(stderr, "senseonctl quarantine: unknown action \"%s\"\n", argv[1]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl_load_config(&cfg))
		return CTL_EXIT_INVALID;
	if (strcmp(argv[1], "list") == 0)
		rc = do_list(&cfg, argc - 1, argv + 1);
	else
		rc = do_restore(&cfg, argc - 1, argv + 1);
	config_free(&cfg);
	return rc;
}
