/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy_evalcost - evaluate one exec event (the exec storm's static
 * `true`, run by execstorm) against a policy file N times, through the
 * set's index (mode 0) or a plain scan of every policy (mode 1, what the
 * set did before it had a program-name index).  Meant to be run under
 * `valgrind --tool=callgrind`: instruction counts are stable on a noisy
 * shared machine where wall time is not.  Per-event cost = (Ir at N=1001
 * - Ir at N=1) / 1000.  See BENCHMARKS.md, "Policies and responses".
 *
 * Build (from a build directory):
 *   cc -O2 -I../src/lib -o policy_evalcost ../bench/policy_evalcost.c \
 *      .libs/libsenseon.a -ljansson -lyaml -lcrypto -luuid -lnl-3 \
 *      -lcap-ng -lsystemd -lpthread
 * Usage: policy_evalcost POLICY.yaml N MODE
 */
#include "event.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t scan(const struct policy_set *ps, const struct event *ev)
{
	size_t hits = 0;

	for (size_t k = 0; k < ps->n_policies; k++) {
		const struct policy *p = ps->policies[k];

		if (p->enabled && policy_applies(p, ev) && policy_match(p, ev))
			hits++;
	}
	return hits;
}

int main(int argc, char **argv)
{
	static const char cmd[] = "true\0polbench-x\0";
	struct policy_set *ps;
	struct event *ev;
	struct proc_info *pi, *pp;
	size_t hits = 0;
	char err[512];
	long n;

	if (argc != 4) {
		fprintf(stderr, "usage: policy_evalcost POLICY.yaml N MODE\n");
		return 2;
	}
	ps = policy_set_load_file(argv[1], err, sizeof(err));
	if (!ps) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	n = strtol(argv[2], NULL, 10);
	ev = event_new(EVENT_PROC_EXEC);
	pi = proc_info_new();
	pp = proc_info_new();
	if (!ev || !pi || !pp)
		return 1;
	bytes_set(&pi->exe, "/tmp/senseon-polbench.abcdef/bin/true", 37);
	bytes_set(&pi->cmdline, cmd, sizeof(cmd) - 1);
	bytes_set(&pp->exe, "/tmp/senseon-polbench.abcdef/bin/execstorm", 42);
	pi->parent = pp;
	pi->user = strdup("root");
	ev->proc = pi;
	ev->pid = 1234;
	for (long i = 0; i < n; i++) {
		const struct policy *out[64];

		hits += atoi(argv[3]) ? scan(ps, ev) : policy_set_eval(ps, ev, out, 64);
	}
	printf("hits %zu\n", hits);
	event_free(ev);
	policy_set_put(ps);
	return 0;
}
