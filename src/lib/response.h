/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * response - the automated response actions of a matching policy: kill,
 * kill-tree, stop, kill-container, quarantine, delete (deny belongs to
 * the exec gate; script is handed to the starter the daemon registers).  Processes are always targeted through a
 * pidfd, never a bare pid that may have been reused.  Each action adds
 * one notification to the alert, saying what was done or why not.
 */
#ifndef SENSEON_RESPONSE_H
#define SENSEON_RESPONSE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct event;
struct policy;
struct proctable;
struct sensor_config;

struct response_ctx {
	struct proctable *proctable;
	const struct sensor_config *cfg;	/* protected_programs, state_dir */
	pid_t self_pid;
	/* false: the sensor is not in the host PID namespace, so pids in
	 * events may not be ours to signal: process actions are reported
	 * unavailable. */
	bool host_pidns;
	/* Where the cgroup v2 hierarchy is mounted, "" if it is not. */
	char cgroup2_mount[256];
};

/**
 * response_ctx_init - fill @rc for this process.
 * @rc: the context to fill
 * @pt: the process table whose pidfds the actions use
 * @cfg: the configuration (protected_programs, state_dir); kept by pointer
 *
 * Detects whether we run in the host PID namespace and where cgroup2 is
 * mounted (from /proc/self/mountinfo).  Returns 0 or a negative errno
 * (the context is usable even then: the missing piece is reported by the
 * actions that need it).
 */
int response_ctx_init(struct response_ctx *rc, struct proctable *pt,
		      const struct sensor_config *cfg);

/**
 * response_run - run every action of @p, in order, for @ev.
 * @rc: the context
 * @p: the matching policy; with p->dry_run nothing is done, only described
 * @ev: the event that matched
 * @alert: the alert from alert_new(); one notification per action is added
 *
 * Never blocks for long: a kill waits at most a fraction of a second to
 * report whether the process is gone.
 */
void response_run(struct response_ctx *rc, const struct policy *p,
		  const struct event *ev, json_t *alert);

/**
 * response_kill - signal one process (or kill its tree) on command: the
 * control socket's kill, a script's senseon.kill().  Same pidfd path and
 * the same refusals (PID 1, the sensor, protected programs) as a policy's
 * kill / kill-tree.  Added for the control socket.
 * @rc: the context
 * @pid: the target, which must be in the process table
 * @sig: the signal (with @tree only SIGKILL)
 * @tree: kill @pid and its descendants (the kill-tree action)
 * @details: receives what was done or why not, for the reply and audit
 * @size: size of @details
 *
 * Returns 0 when the signal was delivered, -EPERM when the target is
 * protected, -ESRCH when it is unknown or gone, -EINVAL for a bad @sig,
 * or another negative errno.
 */
int response_kill(struct response_ctx *rc, pid_t pid, int sig, bool tree,
		  char *details, size_t size);

/**
 * response_script_fn - start a response script without waiting for it.
 * @name: the script's name in the scripts directory (no "/")
 * @args: NULL-terminated arguments (may be NULL)
 * @alert: the alert that triggered it (the callee copies what it keeps)
 * @details: receives "script started: run id N" or why it did not start
 * @size: size of @details
 *
 * Called on the main loop: must not block on the script.  Returns 0 when
 * the run was started, or a negative errno.
 */
typedef int (*response_script_fn)(const char *name, char *const *args,
				  const json_t *alert, char *details, size_t size);

/**
 * response_set_script_starter - route the script: action to @fn (the
 * daemon's script manager).  Call before the first response_run(); NULL
 * makes the action fail as "not available".
 */
void response_set_script_starter(response_script_fn fn);

#endif
