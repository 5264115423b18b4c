/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_policy - `senseonctl policy check` and `senseonctl policy test`.
 *
 * Overview: check loads policy files or directories exactly as the daemon
 * does (the same library call), so "OK" here means the daemon will accept
 * them.  test replays recorded events (the daemon's events.jsonl) through
 * a policy and prints the alerts it would raise, one JSON line each, all
 * marked as a replay: nothing is acted on.  Owns nothing past one run.
 */
#include "commands.h"
#include "event.h"
#include "event_json.h"
#include "policy.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: senseonctl policy check FILE|DIR...\n"
		"       senseonctl policy test FILE|DIR --events EVENTS.jsonl\n\n"
		"check  validate policy files (a directory: every *.yaml / *.yml in it)\n"
		"test   replay recorded events through the policies and print, one JSON\n"
		"       line each, the alerts they would raise (nothing is acted on)\n");
}

static struct policy_set *load(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return policy_set_load_dir(path, err, errlen);
	return policy_set_load_file(path, err, errlen);
}

static int policy_check(int argc, char **argv)
{
	int rc = CTL_EXIT_OK;
	char err[1024];

	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		struct policy_set *ps = load(argv[i], err, sizeof(err));

		if (!ps) {
			fprintf(stderr, "%s\n", err);
			rc = CTL_EXIT_INVALID;
			continue;
		}
		printf("%s: OK (%zu %s)\n", argv[i], ps->n_policies,
		       ps->n_policies == 1 ? "policy" : "policies");
		policy_set_put(ps);
	}
	return rc;
}

static json_t *action_json(const struct response_action *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "action_type", json_string(response_kind_name(a->kind)));
	if (a->kind == RESPONSE_SCRIPT) {
		json_t *args = json_array();

		json_object_set_new(o, "script", json_string(a->script));
		for (char **p = a->args; p && *p; p++)
			json_array_append_new(args, json_string(*p));
		json_object_set_new(o, "args", args);
	}
	json_object_set_new(o, "action_result", json_string("dry run"));
	json_object_set_new(o, "action_result_details",
			    json_string("replay: would have taken this response action"));
	return o;
}

static void print_alert(const struct policy *p, const struct event *ev, json_t *evjs)
{
	json_t *a = json_object(), *acts = json_array(), *v;

	json_object_set_new(a, "replay", json_true());
	json_object_set_new(a, "dryRun", json_true());
	json_object_set_new(a, "name", json_string(p->name));
	json_object_set_new(a, "policy", json_string(policy_type_name(p->type)));
	json_object_set_new(a, "priority", json_string(p->priority));
	if (p->alert_message)
		json_object_set_new(a, "alertMessage", json_string(p->alert_message));
	json_object_set_new(a, "policyFile", json_string(p->file));
	json_object_set_new(a, "policyDryRun", json_boolean(p->dry_run));
	json_object_set_new(a, "eventType", json_string(event_type_name(ev->type)));
	if ((v = json_object_get(evjs, "timestamp")))
		json_object_set(a, "timestamp", v);
	if ((v = json_object_get(evjs, "seq")))
		json_object_set(a, "seq", v);
	if (ev->proc)
		json_object_set_new(a, "process", proc_info_to_json(ev->proc));
	if ((v = json_object_get(evjs, "file")))
		json_object_set(a, "file", v);
	for (size_t i = 0; i < p->n_actions; i++)
		json_array_append_new(acts, action_json(&p->actions[i]));
	json_object_set_new(a, "responseActions", acts);
	json_dumpf(a, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(a);
}

struct replay {
	const char *path;
	unsigned long events, alerts, bad;
};

static void replay_line(struct replay *r, const struct policy_set *ps,
			const struct policy **hits, const char *line, unsigned long lineno)
{
	json_error_t jerr;
	struct event *ev;
	json_t *js;
	size_t n;

	js = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(js)) {
		fprintf(stderr, "%s:%lu: %s\n", r->path, lineno,
			js ? "expected a JSON object (one event per line)" : jerr.text);
		r->bad++;
		json_decref(js);
		return;
	}
	ev = event_from_json(js);
	if (!ev) {
		fprintf(stderr, "%s:%lu: not an event: missing or unknown \"type\"\n",
			r->path, lineno);
		r->bad++;
		json_decref(js);
		return;
	}
	r->events++;
	n = policy_set_eval(ps, ev, hits, ps->n_policies);
	for (size_t i = 0; i < n; i++)
		print_alert(hits[i], ev, js);
	r->alerts += n;
	event_free(ev);
	json_decref(js);
}

static int replay_file(struct replay *r, const struct policy_set *ps)
{
	const struct policy **hits = calloc(ps->n_policies + 1, sizeof(*hits));
	FILE *fp = fopen(r->path, "re");
	unsigned long lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	ssize_t len;

	if (!fp || !hits) {
		fprintf(stderr, "senseonctl: %s: %s\n", r->path, strerror(errno));
		if (fp)
			fclose(fp);
		free(hits);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len)
			replay_line(r, ps, hits, line, lineno);
	}
	free(line);
	free(hits);
	fclose(fp);
	return 0;
}

static int policy_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay r = { 0 };
	struct policy_set *ps;
	char err[1024];
	int c, rc;

	/* 0, not 1: glibc re-reads the ordering mode only on a full reset,
	 * and senseonctl's own "+" would stop us at the policy path */
	optind = 0;
	while ((c = getopt_long(argc, argv, "e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': r.path = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (!r.path || optind != argc - 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	ps = load(argv[optind], err, sizeof(err));
	if (!ps) {
		fprintf(stderr, "%s\n", err);
		return CTL_EXIT_INVALID;
	}
	rc = replay_file(&r, ps);
	policy_set_put(ps);
	fflush(stdout);
	if (rc)
		return CTL_EXIT_FAILURE;
	fprintf(stderr, "%lu events, %lu alerts", r.events, r.alerts);
	if (r.bad)
		fprintf(stderr, ", %lu bad lines skipped", r.bad);
	fputc('\n', stderr);
	return r.bad ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}

/**
 * cmd_policy - `senseonctl policy check|test ...`.
 * @argc: argument count, @argv[0] is "policy"
 * @argv: the arguments
 *
 * Returns CTL_EXIT_OK, CTL_EXIT_INVALID (bad policy or events),
 * CTL_EXIT_USAGE or CTL_EXIT_FAILURE.
 */
int cmd_policy(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "test") == 0)
		return policy_test(argc - 1, argv + 1);
	fprintf(stderr, "senseonctl policy: unknown subcommand \"%s\"\n", argv[1]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
