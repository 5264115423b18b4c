/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event - the one record that flows through senseond's pipeline.
 *
 * Sources (proc connector, fanotify) fill in what the kernel told them;
 * the enrich stage attaches a snapshot of the process (struct proc_info)
 * taken from the process table; everything downstream (policy, alert,
 * sinks, responses) only reads it.  Strings are raw bytes with explicit
 * lengths: file names may hold newlines or invalid UTF-8, and the JSON
 * encoder (event_json.c) is the one place that makes them printable.
 */
#ifndef SENSEON_EVENT_H
#define SENSEON_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum event_type {
	EVENT_NONE = 0,
	/* process source (proc connector) */
	EVENT_PROC_FORK,
	EVENT_PROC_EXEC,
	EVENT_PROC_EXIT,
	EVENT_PROC_UID,		/* uid change (setuid, setresuid ...) */
	EVENT_PROC_GID,
	EVENT_PROC_RESYNC,	/* process found by a /proc rescan after loss */
	/* exec source (fanotify FAN_OPEN_EXEC): joins a binary to a pid */
	EVENT_EXEC_OPEN,
	/* file source (fanotify, FAN_REPORT_DFID_NAME) */
	EVENT_FILE_CREATE,
	EVENT_FILE_DELETE,
	EVENT_FILE_RENAME,	/* path = old name, path2 = new name */
	EVENT_FILE_WRITE,	/* close after write */
	EVENT_FILE_ATTRIB,
	/* the sensor's own bookkeeping */
	EVENT_LOSS,		/* events were lost (ENOBUFS, queue overflow) */
	/* exec gate: an exec denied before it ran (path = the binary) */
	EVENT_EXEC_DENIED,
	/* an alert raised by an analyst script (senseon.alert()), carried
	 * to the main loop so that the alert sinks have one writer */
	EVENT_SCRIPT_ALERT,
	EVENT_TYPE_MAX
};

/* Event flags. */
#define EVENT_F_RESYNC		(1u << 0)	/* produced by a /proc rescan */
#define EVENT_F_LOSS_WINDOW	(1u << 1)	/* raised while events were lost */
#define EVENT_F_IS_DIR		(1u << 2)	/* file event about a directory */
#define EVENT_F_PROC_GONE	(1u << 3)	/* process exited before enrichment */

/* A byte string that may hold anything (no NUL termination is promised
 * by the kernel data it comes from, but we always add one). */
struct policy;
struct policy_set;

struct bytes {
	char *data;
	size_t len;
};

/*
 * proc_info - an immutable, reference-counted snapshot of a process as the
 * process table knew it when the event was enriched.
 */
struct proc_info {
	int refcount;
	pid_t pid;
	pid_t ppid;
	uid_t uid, euid;
	gid_t gid, egid;
	uint64_t start_time;	/* clock ticks since boot (/proc/PID/stat 22) */
	struct timespec start_realtime;
	struct bytes exe;	/* exact binary, from fanotify when we have it */
	struct bytes cmdline;	/* argv joined with NUL bytes, as in /proc */
	int argc;
	struct bytes cwd;
	char *comm;
	char *user;		/* user name of uid, or NULL */
	char *cgroup;		/* cgroup v2 path (or name=systemd v1 path) */
	char *container_id;	/* docker/containerd/podman/nspawn id, or NULL */
	char *container_runtime;
	dev_t exe_dev;
	ino_t exe_ino;
	bool exe_from_fanotify;
	bool resynced;		/* learnt by a /proc rescan, not an event */
	struct proc_info *parent;	/* snapshot of the parent, may be NULL */
};

struct event {
	enum event_type type;
	uint32_t flags;
	uint64_t seq;			/* per-daemon monotonic sequence */
	struct timespec ts;		/* CLOCK_REALTIME when received */
	pid_t pid;			/* thread group id */
	pid_t tid;
	pid_t ppid;			/* fork: parent tgid */
	uid_t uid;			/* uid/gid change: the new ids */
	gid_t gid;
	int exit_code;			/* exit: raw wait status */
	uint64_t lost;			/* EVENT_LOSS: how many */
	const char *loss_source;	/* EVENT_LOSS: "proc", "file" ... */
	struct bytes path;		/* file or binary path */
	struct bytes path2;		/* rename: new path */
	dev_t dev;
	ino_t ino;
	struct proc_info *proc;		/* attached by enrich; may be NULL */
	/* EVENT_EXEC_DENIED: the policy that denied it, and a reference to
	 * its set that keeps it alive across a reload */
	const struct policy *gate_policy;
	struct policy_set *gate_set;
	/* EVENT_SCRIPT_ALERT: the alert (a jansson object), owned */
	struct json_t *alert;
};

struct event *event_new(enum event_type type);
void event_free(struct event *ev);

/* Copy @len bytes into a NUL-terminated byte string. Returns 0 or -ENOMEM. */
int bytes_set(struct bytes *b, const void *data, size_t len);
void bytes_clear(struct bytes *b);

const char *event_type_name(enum event_type type);
enum event_type event_type_from_name(const char *name);
bool event_is_file(const struct event *ev);
bool event_is_proc(const struct event *ev);

struct proc_info *proc_info_new(void);
struct proc_info *proc_info_get(struct proc_info *pi);
void proc_info_put(struct proc_info *pi);

#endif
