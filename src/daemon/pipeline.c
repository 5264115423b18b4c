/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipeline - process queued events on the main loop thread.
 *
 * Overview: pops events from the queue, gives each a process snapshot
 * from the process table, evaluates the policy set and writes the event
 * (and any alert) to the sinks.  Owns the loss window: after events were
 * lost, the process table is rescanned, the processes found are reported
 * as resync events, and events for a while after are flagged so alerts
 * say they may be incomplete.
 */
#include "pipeline.h"
#include "sensor.h"
#include "sink.h"
#include "event.h"
#include "event_json.h"
#include "log.h"
#include "proctable.h"
#include "queue.h"
#include "policy.h"
#include "alert.h"
#include "response.h"
#include "execgate.h"
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long after a loss events are flagged as in a loss window. */
#define LOSS_WINDOW_NS	(5ull * 1000000000ull)
/* Events handled before the sinks are flushed, so output stays timely
 * even while a storm keeps the queue non-empty. */
#define FLUSH_EVERY	1024

/* Most policies one event can match; more are reported as a warning. */
#define MAX_MATCHES	64

static struct response_ctx responses;

static struct policy_set *load_policies(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode))
		return policy_set_load_dir(path, err, errlen);
	return policy_set_load_file(path, err, errlen);
}

int pipeline_init(struct sensor *s)
{
	char err[1024];

	if (response_ctx_init(&responses, s->proctable, &s->cfg))
		log_warn("responses: could not detect the cgroup2 mount; kill-container unavailable");
	if (!responses.host_pidns)
		log_warn("senseond is not in the host PID namespace: process responses "
			 "(kill, kill-tree, stop, kill-container) are unavailable");
	if (access(s->cfg.policy_dir, F_OK) && errno == ENOENT) {
		log_warn("policy directory %s does not exist: no policies loaded",
			 s->cfg.policy_dir);
		return 0;
	}
	s->policies = load_policies(s->cfg.policy_dir, err, sizeof(err));
	if (!s->policies) {
		log_err("policies not loaded: %s", err);
		return -EINVAL;
	}
	log_info("%zu policies loaded from %s", s->policies->n_policies, s->cfg.policy_dir);
	atomic_store(&s->policies_loaded, s->policies->n_policies);	/* control status */
	return 0;
}

void pipeline_fini(struct sensor *s)
{
	policy_set_put(s->policies);
	s->policies = NULL;
}

int pipeline_check_policy(const char *path)
{
	char err[1024];
	struct policy_set *ps = load_policies(path, err, sizeof(err));

	if (!ps) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	printf("%s: OK (%zu policies)\n", path, ps->n_policies);
	policy_set_put(ps);
	return 0;
}

/*
 * Audit records of the pipeline (docs/audit.md).  Each response action is
 * on disk before its alert goes out, so no reported action lacks a record.
 */
static void audit_or_log(const char *type, json_t *fields)
{
	int rc = audit_append(type, fields);

	if (rc)
		log_err("audit record %s not written: %s", type, strerror(-rc));
}

static void audit_policy_reload(struct sensor *s, const struct policy_set *ps,
				const char *err)
{
	audit_or_log("policy.reload", json_pack("{s:s, s:b, s:I, s:s*}",
		"policyDir", s->cfg.policy_dir, "ok", ps != NULL,
		"policies", (json_int_t)(ps ? ps->n_policies : 0), "error", ps ? NULL : err));
}

static void audit_responses(const struct policy *p, const json_t *alert)
{
	const json_t *proc = json_object_get(alert, "process");
	const json_t *file = json_object_get(alert, "file");
	size_t i;
	json_t *n;

	json_array_foreach(json_object_get(alert, "notifications"), i, n) {
		const json_t *mf = json_object_get(n, "message_fields");
		const char *type = json_string_value(json_object_get(n, "type"));

		if (!type || strcmp(type, "response"))
			continue;
		audit_or_log("response.action", json_pack(
			"{s:s*, s:s, s:O*, s:O*, s:O*, s:O*, s:O*, s:O*, s:O*}",
			"alert", alert_uuid(alert), "policy", p->name,
			"action", json_object_get(mf, "action_type"),
			"targetType", json_object_get(mf, "action_target_type"),
			"pid", json_object_get(proc, "pid"),
			"exe", json_object_get(proc, "exe"),
			"path", json_object_get(file, "path"),
			"result", json_object_get(mf, "action_result"),
			"details", json_object_get(mf, "action_result_details")));
	}
}

/* A bad policy file leaves the running set in force: a typo must never
 * switch detection off. */
void pipeline_reload(struct sensor *s)
{
	char err[1024];
	struct policy_set *ps;

	if (access(s->cfg.policy_dir, F_OK) && errno == ENOENT) {
		log_warn("policy directory %s does not exist: keeping the running policies",
			 s->cfg.policy_dir);
		return;
	}
	ps = load_policies(s->cfg.policy_dir, err, sizeof(err));
	audit_policy_reload(s, ps, err);
	if (!ps) {
		log_err("policies not reloaded, the running ones stay in force: %s", err);
		return;
	}
	policy_set_put(s->policies);
	s->policies = ps;
	log_notice("%zu policies reloaded from %s", ps->n_policies, s->cfg.policy_dir);
	atomic_store(&s->policies_loaded, ps->n_policies);	/* control status */
	/* the gate's decisions in flight keep the snapshot they pinned */
	execgate_update(s);
}

/* The sensor starting its own script worker (the pyrunner zygote): not an
 * alert, wherever the worker is installed (a build tree under /tmp would
 * otherwise trip "Execution From Temporary Directory" at every start).
 * What the scripts then run is evaluated as usual. */
static bool own_worker_exec(const struct sensor *s, const struct event *ev)
{
	const struct proc_info *pi = ev->proc;
	const char *worker = s->cfg.pyrunner_path;

	return ev->type == EVENT_PROC_EXEC && pi && pi->ppid == s->self_pid && worker &&
	       pi->exe.data && pi->exe.len == strlen(worker) &&
	       memcmp(pi->exe.data, worker, pi->exe.len) == 0;
}

static void raise_alerts(struct sensor *s, const struct event *ev)
{
	const struct policy *hits[MAX_MATCHES];
	size_t n;

	if (own_worker_exec(s, ev))
		return;
	if (ev->type == EVENT_EXEC_DENIED) {
		/* The gate already decided, with the set it had pinned: alert
		 * for that policy only (the exec never happened, so no exec
		 * event will raise a second alert). */
		hits[0] = ev->gate_policy;
		n = ev->gate_policy ? 1 : 0;
	} else if (s->policies) {
		n = policy_set_eval(s->policies, ev, hits, MAX_MATCHES);
	} else {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *alert = alert_new(hits[i], ev, s->cfg.node_name, s->sensor_id);

		if (!alert)
			continue;
		/* Act first: the target may be about to exit or finish. */
		response_run(&responses, hits[i], ev, alert);
		audit_responses(hits[i], alert);
		if (!s->foreground)
			log_msg(alert_syslog_priority(hits[i]->priority), "alert %s: %s (pid %d)",
				alert_uuid(alert), hits[i]->name, ev->pid);
		sink_alert(alert);
	}
}

static void emit_event(struct sensor *s, struct event *ev)
{
	json_t *js;

	/* Exec-open records only feed the join in the process table. */
	if (ev->type == EVENT_EXEC_OPEN)
		return;
	js = event_to_json(ev, s->cfg.node_name);
	if (js)
		sink_event(js);
}

static void process_one(struct sensor *s, struct event *ev)
{
	ev->seq = ++s->seq;
	if (ev->type == EVENT_SCRIPT_ALERT) {
		/* Raised on a script's thread, written here: the sinks have
		 * one writer.  Not an observation: no policy, no event line. */
		sink_alert(ev->alert);
		ev->alert = NULL;
		return;
	}
	if (monotonic_ns() < s->loss_window_until_ns)
		ev->flags |= EVENT_F_LOSS_WINDOW;
	if (ev->type == EVENT_LOSS) {
		s->loss_window_until_ns = monotonic_ns() + LOSS_WINDOW_NS;
		ev->flags |= EVENT_F_LOSS_WINDOW;
		log_warn("%llu %s events lost; resyncing the process table",
			 (unsigned long long)ev->lost, ev->loss_source ? ev->loss_source : "");
		atomic_store(&s->need_resync, true);
	} else if (event_is_proc(ev) || ev->type == EVENT_EXEC_OPEN || event_is_file(ev)) {
		proctable_apply(s->proctable, ev);
	}
	raise_alerts(s, ev);
	emit_event(s, ev);
}

void pipeline_drain(struct sensor *s)
{
	struct event *ev;
	unsigned int n = 0;

	while ((ev = queue_pop(s->queue))) {
		process_one(s, ev);
		event_free(ev);
		if (++n % FLUSH_EVERY == 0)
			sink_flush();
	}
	if (n)
		sink_flush();
}

struct resync_ctx {
	struct sensor *s;
	unsigned int found;
};

static void resync_found(struct proc_info *pi, void *arg)
{
	struct resync_ctx *ctx = arg;
	struct event *ev = event_new(EVENT_PROC_RESYNC);

	if (!ev)
		return;
	ev->pid = pi->pid;
	ev->ppid = pi->ppid;
	ev->flags |= EVENT_F_RESYNC | EVENT_F_LOSS_WINDOW;
	ev->proc = proc_info_get(pi);
	ev->seq = ++ctx->s->seq;
	emit_event(ctx->s, ev);
	event_free(ev);
	ctx->found++;
}

/* A "loss" event for what the full queue dropped since the last one. */
static void report_queue_loss(struct sensor *s)
{
	uint64_t lost = queue_take_dropped(s->queue);
	struct event *ev;

	if (!lost || !(ev = event_new(EVENT_LOSS)))
		return;
	ev->lost = lost;
	ev->loss_source = "queue";
	process_one(s, ev);
	event_free(ev);
}

void pipeline_resync(struct sensor *s)
{
	struct resync_ctx ctx = { .s = s };
	int n;

	report_queue_loss(s);
	/* Drain first so the rescan sees the table as the events left it. */
	pipeline_drain(s);
	/*
	 * Every resync asked for until now, the loss events just drained
	 * included, is answered by the rescan below, which starts after the
	 * request: one scan, not one more per loss event.  A request made
	 * from here on (a source that lost more) gets a scan of its own.
	 */
	atomic_store(&s->need_resync, false);
	/* drops during the drain asked for this scan too: their request was
	 * just cleared, so report them here, not never */
	report_queue_loss(s);
	s->loss_window_until_ns = monotonic_ns() + LOSS_WINDOW_NS;
	n = proctable_scan(s->proctable, resync_found, &ctx);
	if (n < 0)
		log_err("process table resync failed: %s", strerror(-n));
	else
		log_notice("process table resynced: %u processes found that events missed",
			   ctx.found);
	sink_flush();
}

void pipeline_seed(struct sensor *s)
{
	int n = proctable_scan(s->proctable, NULL, NULL);

	if (n < 0)
		log_err("cannot read /proc: %s", strerror(-n));
	else
		log_info("process table seeded with %d processes", n);
}
