/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proctable - what the sensor knows about every live process.
 *
 * Keyed by pid plus start time, so a reused pid is never mistaken for the
 * process that had it before.  The pipeline feeds it every process event
 * (proctable_apply) and gets back an immutable snapshot (struct proc_info)
 * that travels with the event.  Each entry also holds a pidfd taken when
 * the process was first seen, so responses can signal exactly that process.
 */
#ifndef SENSEON_PROCTABLE_H
#define SENSEON_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event;
struct proc_info;
struct proctable;

struct proctable_stats {
	size_t entries;
	uint64_t resyncs;		/* full /proc rescans done */
	uint64_t resync_found;		/* processes discovered by rescans */
	uint64_t resync_gone;		/* entries dropped by rescans */
	uint64_t exe_from_fanotify;	/* execs whose binary came from fanotify */
	uint64_t exe_from_proc;		/* ... from /proc/PID/exe */
	uint64_t exe_unknown;		/* process gone, no fanotify record */
};

/* Called for each process a rescan found that no event told us about. */
typedef void (*proctable_found_fn)(struct proc_info *pi, void *arg);

/*
 * proctable_new - an empty table.  @proc_root is "/proc" except in tests.
 */
struct proctable *proctable_new(const char *proc_root);
void proctable_free(struct proctable *pt);

/*
 * One thread (the main loop) is the writer: only it calls proctable_scan()
 * and proctable_apply().  The queries below may be called from any thread.
 */

/*
 * proctable_scan - (re)read every process under /proc: add the ones we do
 * not know (calling @found for each, marked resynced), drop entries whose
 * process is gone.  Used to seed the table at start and after event loss.
 * Returns the number of processes found, or a negative errno.
 */
int proctable_scan(struct proctable *pt, proctable_found_fn found, void *arg);

/*
 * proctable_apply - update the table from a process or exec-open event and
 * attach a snapshot to @ev->proc (a new reference).  Exit events get the
 * last snapshot and then drop the entry.  EVENT_EXEC_OPEN records the exact
 * binary for the pid, to be used by that pid's next exec event.
 */
void proctable_apply(struct proctable *pt, struct event *ev);

/* proctable_lookup - a new reference to the current snapshot, or NULL. */
struct proc_info *proctable_lookup(struct proctable *pt, pid_t pid);

/*
 * proctable_pidfd - a duplicate of the pidfd taken when @pid (started at
 * @start_time, in clock ticks) was first seen, or -ESRCH if that process
 * is gone or the pid now belongs to another.  The caller closes it.
 */
int proctable_pidfd(struct proctable *pt, pid_t pid, uint64_t start_time);

/*
 * proctable_read_ids - the ids and parent of @pid from one read of its
 * status file into @pi, without allocating: for the exec gate, deciding
 * on a caller the table has not met yet.  0 or -errno.
 */
int proctable_read_ids(struct proctable *pt, pid_t pid, struct proc_info *pi);

/* proctable_children - pids whose parent is @pid (for kill-tree). */
size_t proctable_children(struct proctable *pt, pid_t pid, pid_t *out, size_t max);

void proctable_get_stats(struct proctable *pt, struct proctable_stats *st);

/* Read one process from /proc into a new snapshot (NULL if gone). */
struct proc_info *proc_info_read(const char *proc_root, pid_t pid);
/*
 * proc_info_read_raw - proc_info_read() without the user name (no NSS
 * lookup), for a source thread that reads a process the moment the kernel
 * reports its exec, before a short-lived program is gone.  Leave it in
 * the EVENT_PROC_EXEC event's ->proc: proctable_apply() completes it.
 */
struct proc_info *proc_info_read_raw(const char *proc_root, pid_t pid);
/* Container id and runtime from a cgroup path; 0 if found, else -1. */
int cgroup_container_id(const char *cgroup, char *id, size_t idlen,
			const char **runtime);

#endif
