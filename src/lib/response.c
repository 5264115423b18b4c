/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * response - carry out (or, in dry run, describe) a policy's actions.
 *
 * Overview: owns no state beyond struct response_ctx, which the caller
 * holds, and the script starter the daemon registers once at start (the
 * script manager lives in the daemon; this library only hands it the
 * run).  Processes are reached only through pidfds from the process
 * table (or, for descendants, pidfds verified against a stopped parent),
 * so a pid reused between detection and response is never signalled.
 * PID 1, the sensor itself, its script workers and the configured
 * protected programs are never acted on.  File actions go through
 * quarantine.c, which owns the symlink-proof path handling.  Results go
 * into the alert as notifications; this file never logs (the pipeline
 * logs the alert).
 */
#include "response.h"
#include "alert.h"
#include "config.h"
#include "event.h"
#include "policy.h"
#include "proctable.h"
#include "quarantine.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KILL_WAIT_MS	200	/* how long a kill waits to see the exit */
#define TREE_MAX	4096	/* processes a kill-tree handles */
#define TREE_ROUNDS	50	/* rescans until the stopped tree is stable */

struct outcome {
	const char *result;
	char details[768];
};

/* The process an action is about, from the event's snapshot. */
struct target {
	pid_t pid;
	uint64_t start;
	const char *exe;
	int pidfd;
};

static int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) ? -errno : 0;
}

static int pidfd_open_pid(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);	/* always O_CLOEXEC */

	return fd < 0 ? -errno : (int)fd;
}

static void fail(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct outcome *o, const char *fmt, ...)
{
	va_list ap;

	o->result = ALERT_RESULT_FAILED;
	va_start(ap, fmt);
	vsnprintf(o->details, sizeof(o->details), fmt, ap);
	va_end(ap);
}

static void ok(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ok(struct outcome *o, const char *fmt, ...)
{
	va_list ap;

	o->result = ALERT_RESULT_SUCCESS;
	va_start(ap, fmt);
	vsnprintf(o->details, sizeof(o->details), fmt, ap);
	va_end(ap);
}

/* /proc/PID/exe, without the " (deleted)" the kernel appends. */
static int live_exe(pid_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t n;
	size_t dl = strlen(" (deleted)");

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if ((size_t)n > dl && strcmp(buf + n - dl, " (deleted)") == 0)
		buf[n - dl] = '\0';
	return 0;
}

/*
 * refusal - why acting on @pid (running @exe) is never allowed, or NULL.
 * @why receives the reason.
 */
static const char *refusal(const struct response_ctx *rc, pid_t pid, const char *exe,
			   char *why, size_t size)
{
	if (pid <= 1)
		snprintf(why, size, "PID %d", (int)pid);
	else if (pid == rc->self_pid)
		snprintf(why, size, "the sensor itself, PID %d", (int)pid);
	else if (exe && rc->cfg && rc->cfg->pyrunner_path &&
		 strcmp(exe, rc->cfg->pyrunner_path) == 0)
		snprintf(why, size, "a script worker of the sensor, PID %d", (int)pid);
	else if (exe && rc->cfg && strlist_contains(&rc->cfg->protected_programs, exe))
		snprintf(why, size, "protected program %s, PID %d", exe, (int)pid);
	else
		return NULL;
	return why;
}

/* Refusal by what the process runs now, checked while @pidfd pins it. */
static const char *refusal_live(const struct response_ctx *rc, pid_t pid, int pidfd,
				char *why, size_t size)
{
	char exe[PATH_MAX];

	if (live_exe(pid, exe, sizeof(exe)))
		return refusal(rc, pid, NULL, why, size);
	/* the exe we read is this process's only if it is still alive */
	if (pidfd >= 0 && pidfd_signal(pidfd, 0))
		return refusal(rc, pid, NULL, why, size);
	return refusal(rc, pid, exe, why, size);
}

static const char *event_exe(const struct event *ev)
{
	return ev->proc && ev->proc->exe.data ? ev->proc->exe.data : NULL;
}

/*
 * target_open - the event's process, pinned by a pidfd, after the checks
 * every process action shares.  Returns 0, or -1 with @o filled in.
 */
static int target_open(struct response_ctx *rc, const struct event *ev,
		       struct target *t, struct outcome *o)
{
	char why[PATH_MAX + 64];
	int fd;

	t->pidfd = -1;
	if (!rc->host_pidns) {
		fail(o, "not available: the sensor is not in the host PID namespace");
		return -1;
	}
	if (!ev->proc) {
		fail(o, "process %d is unknown to the process table", (int)ev->pid);
		return -1;
	}
	t->pid = ev->proc->pid;
	t->start = ev->proc->start_time;
	t->exe = event_exe(ev);
	if (refusal(rc, t->pid, t->exe, why, sizeof(why))) {
		fail(o, "refused: protected target (%s)", why);
		return -1;
	}
	fd = proctable_pidfd(rc->proctable, t->pid, t->start);
	if (fd < 0) {
		fail(o, "process %d already exited", (int)t->pid);
		return -1;
	}
	t->pidfd = fd;
	if (refusal_live(rc, t->pid, fd, why, sizeof(why))) {
		fail(o, "refused: protected target (%s)", why);
		close(fd);
		t->pidfd = -1;
		return -1;
	}
	return 0;
}

static bool wait_exit(int pidfd, int ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

static void do_signal(struct response_ctx *rc, const struct event *ev, int sig,
		      struct outcome *o)
{
	struct target t;
	const char *exe;
	int err;

	if (target_open(rc, ev, &t, o))
		return;
	exe = t.exe ? t.exe : "?";
	err = pidfd_signal(t.pidfd, sig);
	if (err == -ESRCH)
		fail(o, "process %d already exited", (int)t.pid);
	else if (err)
		fail(o, "cannot signal process %d: %s", (int)t.pid, strerror(-err));
	else if (sig == SIGSTOP)
		ok(o, "stopped process %d (%s)", (int)t.pid, exe);
	else if (sig != SIGKILL)	/* senseonctl kill --signal: it may be handled */
		ok(o, "sent SIG%s to process %d (%s)", sigabbrev_np(sig), (int)t.pid, exe);
	else if (wait_exit(t.pidfd, KILL_WAIT_MS))
		ok(o, "killed process %d (%s)", (int)t.pid, exe);
	else
		ok(o, "SIGKILL sent to process %d (%s); not yet exited after %d ms",
		   (int)t.pid, exe, KILL_WAIT_MS);
	close(t.pidfd);
}

/* ---- kill-tree ---- */

struct tree {
	pid_t pid[TREE_MAX];
	int fd[TREE_MAX];
	size_t n;
	size_t skipped;
	char skipped_why[256];
};

static bool tree_has(const struct tree *tr, pid_t pid)
{
	for (size_t i = 0; i < tr->n; i++)
		if (tr->pid[i] == pid)
			return true;
	return false;
}

/* The parent pid in /proc/PID/stat (after the last ')' of comm). */
static pid_t proc_ppid(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", state, &ppid) != 2)
		return -1;
	return ppid;
}

/*
 * Children of @pid as the kernel lists them now, the cross-check for the
 * process table (which may lag behind a fork storm).
 */
static size_t kernel_children(pid_t pid, pid_t *out, size_t max)
{
	char path[64], buf[4096];
	struct dirent *de;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		fp = fopen(buf, "re");
		if (!fp)
			continue;
		int child;

		while (n < max && fscanf(fp, "%d", &child) == 1)
			out[n++] = child;
		fclose(fp);
	}
	closedir(dir);
	return n;
}

/*
 * tree_adopt - pin @child of @parent with a pidfd and stop it.  The
 * parent is stopped, so it cannot reap: if the pid still names a child of
 * @parent once the pidfd is open, the pidfd is that child.
 */
static void tree_adopt(struct response_ctx *rc, struct tree *tr, pid_t parent, pid_t child)
{
	char why[PATH_MAX + 64], state;
	int fd;

	if (tr->n >= TREE_MAX || tree_has(tr, child))
		return;
	fd = pidfd_open_pid(child);
	if (fd < 0)
		return;
	if (proc_ppid(child, &state) != parent || pidfd_signal(fd, 0)) {
		close(fd);
		return;
	}
	if (refusal_live(rc, child, fd, why, sizeof(why))) {
		/* leave a protected subtree alone, but say so */
		if (!tr->skipped++)
			snprintf(tr->skipped_why, sizeof(tr->skipped_why), "%.200s", why);
		close(fd);
		return;
	}
	pidfd_signal(fd, SIGSTOP);
	tr->pid[tr->n] = child;
	tr->fd[tr->n] = fd;
	tr->n++;
}

/* One pass over every known member: adopt children not seen yet.
 * Returns how many were added. */
static size_t tree_grow(struct response_ctx *rc, struct tree *tr)
{
	static pid_t kids[TREE_MAX];
	size_t before = tr->n, k;

	for (size_t i = 0; i < tr->n; i++) {
		k = proctable_children(rc->proctable, tr->pid[i], kids, TREE_MAX);
		for (size_t j = 0; j < k; j++)
			tree_adopt(rc, tr, tr->pid[i], kids[j]);
		k = kernel_children(tr->pid[i], kids, TREE_MAX);
		for (size_t j = 0; j < k; j++)
			tree_adopt(rc, tr, tr->pid[i], kids[j]);
	}
	return tr->n - before;
}

/* Every member has stopped (or died), so none can fork any more. */
static bool tree_settled(const struct tree *tr)
{
	char state;

	for (size_t i = 0; i < tr->n; i++) {
		if (proc_ppid(tr->pid[i], &state) < 0)
			continue;
		if (state != 'T' && state != 't' && state != 'Z' && state != 'X')
			return false;
	}
	return true;
}

static void do_kill_tree(struct response_ctx *rc, const struct event *ev, struct outcome *o)
{
	struct timespec pause = { .tv_nsec = 1000000 };
	struct target t;
	struct tree *tr;
	size_t killed = 0;
	int err;

	if (target_open(rc, ev, &t, o))
		return;
	tr = calloc(1, sizeof(*tr));
	if (!tr) {
		fail(o, "out of memory");
		goto out;
	}
	/* Stop the root first so it cannot fork new members while we look. */
	err = pidfd_signal(t.pidfd, SIGSTOP);
	if (err) {
		fail(o, "process %d already exited", (int)t.pid);
		goto out;
	}
	tr->pid[0] = t.pid;
	tr->fd[0] = t.pidfd;
	tr->n = 1;
	for (int round = 0; round < TREE_ROUNDS; round++) {
		if (tree_grow(rc, tr) == 0 && tree_settled(tr))
			break;
		nanosleep(&pause, NULL);
	}
	/* Deepest first (members were added parents before children). */
	for (size_t i = tr->n; i-- > 0;)
		if (pidfd_signal(tr->fd[i], SIGKILL) == 0)
			killed++;
	wait_exit(t.pidfd, KILL_WAIT_MS);
	if (!killed)
		fail(o, "process %d already exited", (int)t.pid);
	else if (tr->skipped)
		ok(o, "killed process %d (%s) and %zu descendants; left %zu protected (%s)",
		   (int)t.pid, t.exe ? t.exe : "?", killed - 1, tr->skipped, tr->skipped_why);
	else
		ok(o, "killed process %d (%s) and %zu descendants",
		   (int)t.pid, t.exe ? t.exe : "?", killed - 1);
out:
	if (tr)
		for (size_t i = 1; i < tr->n; i++)
			close(tr->fd[i]);
	free(tr);
	close(t.pidfd);
}

/* ---- kill-container ---- */

/* The cgroup v2 path ("0::PATH") of @pid into @buf. */
static int proc_cgroup2(pid_t pid, char *buf, size_t size)
{
	char path[64], line[PATH_MAX + 8];
	FILE *fp;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		err = snprintf(buf, size, "%s", line + 3) < (int)size ? 0 : -ENAMETOOLONG;
		break;
	}
	fclose(fp);
	return err;
}

static bool cgroup_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (strcmp(outer, "/") == 0)
		return true;
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

static bool other_pidns(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &a) || stat("/proc/self/ns/pid", &b))
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* A member of the cgroup we must not kill, or NULL when all may go. */
static const char *cgroup_refusal(struct response_ctx *rc, const char *dir,
				  char *why, size_t size)
{
	char path[PATH_MAX + 32];
	const char *bad = NULL;
	FILE *fp;
	int pid;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return NULL;
	fp = fopen(path, "re");
	if (!fp)
		return NULL;
	while (!bad && fscanf(fp, "%d", &pid) == 1)
		bad = refusal_live(rc, pid, -1, why, size);
	fclose(fp);
	return bad;
}

/* Why the cgroup @cg may not be killed as a container, or NULL. */
static const char *container_refusal(struct response_ctx *rc, const struct event *ev,
				     pid_t pid, const char *cg, char *why, size_t size)
{
	char other[PATH_MAX];

	if (!(ev->proc && ev->proc->container_id) && !other_pidns(pid))
		snprintf(why, size, "process %d is not in a container", (int)pid);
	else if (strcmp(cg, "/") == 0)
		snprintf(why, size, "process %d is in the root cgroup", (int)pid);
	else if (proc_cgroup2(rc->self_pid, other, sizeof(other)) == 0 &&
		 cgroup_within(other, cg))
		snprintf(why, size, "refused: protected target (cgroup %s holds the sensor)", cg);
	else if (proc_cgroup2(1, other, sizeof(other)) == 0 && cgroup_within(other, cg))
		snprintf(why, size, "refused: protected target (cgroup %s holds PID 1)", cg);
	else
		return NULL;
	return why;
}

static void do_kill_container(struct response_ctx *rc, const struct event *ev,
			      struct outcome *o)
{
	char cg[PATH_MAX], dir[PATH_MAX + 256], why[PATH_MAX + 128];
	struct target t;
	int fd;

	if (target_open(rc, ev, &t, o))
		return;
	if (!rc->cgroup2_mount[0]) {
		fail(o, "no cgroup v2 hierarchy is mounted");
		goto out;
	}
	/* Read, then check the pidfd: the path is this process's only if it
	 * is still alive after the read. */
	if (proc_cgroup2(t.pid, cg, sizeof(cg)) || pidfd_signal(t.pidfd, 0)) {
		fail(o, "process %d already exited", (int)t.pid);
		goto out;
	}
	if (container_refusal(rc, ev, t.pid, cg, why, sizeof(why))) {
		fail(o, "%s", why);
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s%s", rc->cgroup2_mount, cg);
	if (cgroup_refusal(rc, dir, why, sizeof(why))) {
		fail(o, "refused: protected target (%s in cgroup %s)", why, cg);
		goto out;
	}
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/cgroup.kill");
	fd = open(dir, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			fail(o, "cgroup.kill not supported by this kernel (needs Linux 5.14)");
		else
			fail(o, "cannot open %s: %s", dir, strerror(errno));
		goto out;
	}
	if (write(fd, "1", 1) != 1)
		fail(o, "cannot kill cgroup %s: %s", cg, strerror(errno));
	else
		ok(o, "killed every process in cgroup %s%s%s", cg,
		   ev->proc->container_id ? ", container " : "",
		   ev->proc->container_id ? ev->proc->container_id : "");
	close(fd);
out:
	close(t.pidfd);
}

/* ---- files ---- */

/* The file an event is about (a rename's new name), or NULL. */
static const char *event_file(const struct event *ev)
{
	const struct bytes *b = &ev->path;

	if (ev->type == EVENT_FILE_RENAME && ev->path2.data)
		b = &ev->path2;
	if (!b->data || strlen(b->data) != b->len)
		return NULL;
	return b->data;
}

static const char *file_refusal(struct response_ctx *rc, const char *path,
				char *why, size_t size)
{
	if (rc->cfg && strlist_contains(&rc->cfg->protected_programs, path)) {
		snprintf(why, size, "protected program %s", path);
		return why;
	}
	return NULL;
}

static void do_file(struct response_ctx *rc, const struct event *ev, bool quarantine,
		    json_t *alert, struct outcome *o)
{
	const char *path = event_file(ev);
	char id[QUARANTINE_ID_LEN], why[PATH_MAX + 32];
	int err;

	if (!path) {
		fail(o, "the event names no file");
		return;
	}
	if (file_refusal(rc, path, why, sizeof(why))) {
		fail(o, "refused: protected target (%s)", why);
		return;
	}
	if (quarantine) {
		if (!rc->cfg || !rc->cfg->state_dir) {
			fail(o, "no state directory configured");
			return;
		}
		err = quarantine_file(rc->cfg->state_dir, path, alert_uuid(alert), id);
		if (err)
			fail(o, "%s: %s", path, quarantine_strerror(err));
		else
			ok(o, "quarantined %s as %s", path, id);
		return;
	}
	err = quarantine_delete_path(path);
	if (err)
		fail(o, "%s: %s", path, quarantine_strerror(err));
	else
		ok(o, "deleted %s", path);
}

/* ---- dry run ---- */

/* What the live action would refuse on, checked without acting. */
static const char *dry_refusal(struct response_ctx *rc, const struct event *ev,
			       char *why, size_t size)
{
	const char *bad;
	int fd;

	bad = refusal(rc, ev->proc->pid, event_exe(ev), why, size);
	if (bad)
		return bad;
	fd = proctable_pidfd(rc->proctable, ev->proc->pid, ev->proc->start_time);
	if (fd < 0)
		return NULL;
	bad = refusal_live(rc, ev->proc->pid, fd, why, size);
	close(fd);
	return bad;
}

static void describe(struct response_ctx *rc, const struct response_action *a,
		     const struct event *ev, struct outcome *o)
{
	char why[PATH_MAX + 64];
	const char *path;

	o->result = ALERT_RESULT_DRY_RUN;
	o->details[0] = '\0';
	switch (a->kind) {
	case RESPONSE_KILL:
	case RESPONSE_KILL_TREE:
	case RESPONSE_STOP:
	case RESPONSE_KILL_CONTAINER:
		if (!rc->host_pidns) {
			snprintf(o->details, sizeof(o->details),
				 "would not have been available: the sensor is not in the host PID namespace");
			return;
		}
		if (!ev->proc)
			return;
		if (!dry_refusal(rc, ev, why, sizeof(why)))
			why[0] = '\0';
		if (why[0])
			snprintf(o->details, sizeof(o->details),
				 "would have been refused: protected target (%s)", why);
		else
			snprintf(o->details, sizeof(o->details), "target process %d",
				 (int)ev->proc->pid);
		return;
	case RESPONSE_QUARANTINE:
	case RESPONSE_DELETE:
		path = event_file(ev);
		if (path && file_refusal(rc, path, why, sizeof(why)))
			snprintf(o->details, sizeof(o->details),
				 "would have been refused: protected target (%.600s)", why);
		else if (path)
			snprintf(o->details, sizeof(o->details), "target file %s", path);
		return;
	case RESPONSE_SCRIPT:
		snprintf(o->details, sizeof(o->details), "script %s", a->script);
		return;
	default:
		return;
	}
}

static const char *target_type(enum response_kind kind)
{
	switch (kind) {
	case RESPONSE_KILL:
	case RESPONSE_STOP:
	case RESPONSE_DENY:
		return "process";
	case RESPONSE_KILL_TREE:
		return "process tree";
	case RESPONSE_KILL_CONTAINER:
		return "container";
	case RESPONSE_QUARANTINE:
	case RESPONSE_DELETE:
		return "file";
	case RESPONSE_SCRIPT:
		return "script";
	}
	return "unknown";
}

/*
 * deny happens in the exec gate (src/daemon/execgate.c), before the
 * program runs; here it is only reported.  An exec event reaching a live
 * deny policy means the program did run: say so, and why it can happen.
 */
static void do_deny(const struct event *ev, struct outcome *o)
{
	/* the binary: for a file policy's denial the process is the caller */
	const char *exe = ev->path.data ? ev->path.data : event_exe(ev);

	if (ev->type == EVENT_EXEC_DENIED) {
		ok(o, "exec of %.600s denied before it ran", exe ? exe : "(unknown)");
		return;
	}
	if (ev->type != EVENT_PROC_EXEC && ev->type != EVENT_EXEC_OPEN) {
		fail(o, "deny stops executions only; this was a %s event", event_type_name(ev->type));
		return;
	}
	fail(o, "the program already ran: the exec gate did not deny it (its filesystem "
	     "is not in exec_gate_paths, the gate was not running, or the gate's "
	     "deadline answered first)");
}

static response_script_fn script_starter;

void response_set_script_starter(response_script_fn fn)
{
	script_starter = fn;
}

/* The run is only started here; its outcome goes to the audit log. */
static void do_script(const struct response_action *a, const json_t *alert,
		      struct outcome *o)
{
	int err;

	if (!script_starter) {
		/* the library alone (tools, tests): no daemon to run it */
		fail(o, "not available in this build");
		return;
	}
	o->details[0] = '\0';
	err = script_starter(a->script, a->args, alert, o->details, sizeof(o->details));
	o->result = err ? ALERT_RESULT_FAILED : ALERT_RESULT_SUCCESS;
	if (!o->details[0])
		snprintf(o->details, sizeof(o->details), "script %s: %s", a->script,
			 err ? strerror(-err) : "started");
}

static void run_one(struct response_ctx *rc, const struct response_action *a,
		    const struct event *ev, json_t *alert, struct outcome *o)
{
	switch (a->kind) {
	case RESPONSE_KILL:
		do_signal(rc, ev, SIGKILL, o);
		break;
	case RESPONSE_STOP:
		do_signal(rc, ev, SIGSTOP, o);
		break;
	case RESPONSE_KILL_TREE:
		do_kill_tree(rc, ev, o);
		break;
	case RESPONSE_KILL_CONTAINER:
		do_kill_container(rc, ev, o);
		break;
	case RESPONSE_QUARANTINE:
		do_file(rc, ev, true, alert, o);
		break;
	case RESPONSE_DELETE:
		do_file(rc, ev, false, alert, o);
		break;
	case RESPONSE_DENY:
		do_deny(ev, o);
		break;
	case RESPONSE_SCRIPT:
		do_script(a, alert, o);
		break;
	default:
		fail(o, "not available in this build");
		break;
	}
}

void response_run(struct response_ctx *rc, const struct policy *p,
		  const struct event *ev, json_t *alert)
{
	struct outcome o;

	for (size_t i = 0; i < p->n_actions; i++) {
		const struct response_action *a = &p->actions[i];

		if (p->dry_run)
			describe(rc, a, ev, &o);
		else
			run_one(rc, a, ev, alert, &o);
		alert_add_notification(alert, response_kind_name(a->kind),
				       target_type(a->kind), o.result, o.details);
	}
}

/* ---- context ---- */

/* More than one NSpid entry: we are in a nested PID namespace. */
static bool in_host_pidns(void)
{
	char line[256];
	bool host = true;
	FILE *fp = fopen("/proc/self/status", "re");

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		host = strchr(line + 6, '\t') == strrchr(line + 6, '\t');
		break;
	}
	fclose(fp);
	return host;
}

/* Undo mountinfo's octal escapes (\040 for a space ...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

static int find_cgroup2(char *out, size_t size)
{
	char line[4096], mnt[4096];
	int err = -ENOENT;
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape(mnt);
		if (strlen(mnt) >= size)
			continue;
		snprintf(out, size, "%s", strcmp(mnt, "/") ? mnt : "");
		err = 0;
		break;
	}
	fclose(fp);
	return err;
}

int response_ctx_init(struct response_ctx *rc, struct proctable *pt,
		      const struct sensor_config *cfg)
{
	memset(rc, 0, sizeof(*rc));
	rc->proctable = pt;
	rc->cfg = cfg;
	rc->self_pid = getpid();
	rc->host_pidns = in_host_pidns();
	return find_cgroup2(rc->cgroup2_mount, sizeof(rc->cgroup2_mount));
}

/* ---- on command (control socket, scripts) ---- */

int response_kill(struct response_ctx *rc, pid_t pid, int sig, bool tree,
		  char *details, size_t size)
{
	struct event ev = { .pid = pid };
	char why[PATH_MAX + 64];
	struct outcome o;

	if (sig <= 0 || sig >= NSIG || (tree && sig != SIGKILL)) {
		snprintf(details, size, "invalid signal %d%s", sig,
			 tree ? " (a tree is killed with SIGKILL)" : "");
		return -EINVAL;
	}
	/* Refuse before the lookup so PID 1 is refused even when unknown. */
	if (refusal(rc, pid, NULL, why, sizeof(why))) {
		snprintf(details, size, "refused: protected target (%s)", why);
		return -EPERM;
	}
	ev.proc = proctable_lookup(rc->proctable, pid);
	if (tree)
		do_kill_tree(rc, &ev, &o);
	else
		do_signal(rc, &ev, sig, &o);
	proc_info_put(ev.proc);
	snprintf(details, size, "%s", o.details);
	if (strcmp(o.result, ALERT_RESULT_SUCCESS) == 0)
		return 0;
	if (strncmp(o.details, "refused", 7) == 0)
		return -EPERM;
	if (strstr(o.details, "exited") || strstr(o.details, "unknown"))
		return -ESRCH;
	return -EIO;
}
