/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proctable - what the sensor knows about every live process.
 *
 * Overview: owns a hash table of struct proc_entry keyed by pid.  Each
 * entry owns the pid's start time (so a reused pid is detected), the
 * pending exec-open record for
 * the next exec, and two references to immutable snapshots: `base` (the
 * process alone, parent == NULL) and `snap` (base plus a reference to the
 * parent's base: depth 1, so a long-lived tree never pins a chain of stale
 * ancestors).  A change builds new snapshots; a published one is never
 * written again, so events and other threads may hold them freely.  The
 * table also owns a uid -> user name cache so that NSS is asked once per
 * uid, not once per event.
 *
 * It must not own events (it only attaches references to them) nor do any
 * logging: errors come back as -errno and are counted in the stats.
 *
 * /proc reads are the hot path of an exec storm: each file is read with
 * one openat/read/close into a stack buffer relative to an O_PATH handle
 * on /proc/PID, and only the files an event needs are read.  Ids are not
 * read at fork or exec: a child starts with its parent's credentials and
 * every later change (setuid(), a set-id exec) reaches us first as a uid
 * or gid event, so the table carries them forward; status, the costliest
 * file in /proc, is read only for those events and for processes first
 * met without a parent.  A fork reads stat alone (start time: the child's
 * identity).  No pidfd is held per process: proctable_pidfd() opens one on
 * demand and proves it is the same process by its start time, which is
 * as strong and saves three syscalls per process.
 *
 * Locking: one thread (the main loop: proctable_apply, proctable_scan) is
 * the only writer.  It reads the table without the lock, and takes the
 * lock only around what other threads can see change: linking and
 * unlinking an entry, growing the buckets, swapping an entry's snapshots.
 * Readers (the exec gate's decisions, command handlers) take it for every
 * look.  The slow parts of an update, /proc reads and NSS user lookups,
 * therefore never hold the lock, and a gated exec never waits behind them.
 */
#include "proctable.h"
#include "event.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* argv beyond this is cut; alerts do not need megabytes of arguments. */
#define CMDLINE_MAX	(64 * 1024)
#define USER_CACHE_SIZE	256

struct proc_entry {
	pid_t pid;
	uint64_t start_time;
	struct proc_info *base;		/* this process alone */
	struct proc_info *snap;		/* base + parent link: what events get */
	struct bytes pending_exe;	/* first exec-open since the last exec */
	dev_t pending_dev;
	ino_t pending_ino;
	uint64_t scan_gen;		/* last scan that saw the pid */
	bool scan_new;			/* added by the scan in progress */
	struct proc_entry *next;
};

struct user_slot {
	uid_t uid;
	bool used;
	char *name;			/* NULL: uid has no name */
};

struct proctable {
	pthread_mutex_t lock;
	char *proc_root;
	struct proc_entry **buckets;
	size_t nbuckets;
	size_t count;
	uint64_t scans;
	struct proctable_stats stats;
	struct user_slot users[USER_CACHE_SIZE];
	struct timespec boot_realtime;
	long clk_tck;
};

/* Which files read_proc() reads. */
#define RD_STAT		(1u << 0)	/* ppid, comm, start time */
#define RD_STATUS	(1u << 1)	/* uids, gids */
#define RD_CMDLINE	(1u << 2)
#define RD_EXE		(1u << 3)
#define RD_CWD		(1u << 4)
#define RD_CGROUP	(1u << 5)
#define RD_ALL		(RD_STAT | RD_STATUS | RD_CMDLINE | RD_EXE | RD_CWD | RD_CGROUP)
/* An exec: everything but the ids, which the table carries (Overview). */
#define RD_EXEC		(RD_ALL & ~RD_STATUS)

/* Ids not read yet (never a valid id: setuid(-1) means "unchanged"). */
#define ID_UNKNOWN	((uid_t)-1)

/* ---- small /proc readers ---------------------------------------------- */

static ssize_t read_at(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && len == 0)
				len = (size_t)-errno;
			break;
		}
		len += (size_t)n;
		/* proc's seq files hand the whole record to one read that
		 * has room: a short read is the end, no read of 0 needed */
		if (len < size)
			break;
	}
	close(fd);
	return (ssize_t)len;
}

static int readlink_bytes(int dirfd, const char *name, struct bytes *b)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));

	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return bytes_set(b, buf, (size_t)n);
}

static char *strndup_safe(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int parse_stat(char *buf, size_t len, struct proc_info *pi)
{
	char *open, *close_p, *p;
	int field = 3;

	buf[len] = '\0';
	open = strchr(buf, '(');
	close_p = strrchr(buf, ')');	/* comm may itself hold ')' */
	if (!open || !close_p || close_p < open)
		return -EINVAL;
	free(pi->comm);
	pi->comm = strndup_safe(open + 1, (size_t)(close_p - open - 1));
	if (!pi->comm)
		return -ENOMEM;
	for (p = close_p + 2; *p && field < 22; field++) {
		if (field == 4)
			pi->ppid = (pid_t)strtol(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (field != 22)
		return -EINVAL;
	pi->start_time = strtoull(p, NULL, 10);
	return 0;
}

/* @dir: a /proc/PID directory relative to @dirfd ("." for dirfd itself) */
static int read_stat(int dirfd, const char *dir, struct proc_info *pi)
{
	char buf[1024], name[PATH_MAX];
	ssize_t n;

	snprintf(name, sizeof(name), "%s/stat", dir);
	n = read_at(dirfd, name, buf, sizeof(buf) - 1);

	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	return parse_stat(buf, (size_t)n, pi);
}

/* "Uid:\tR\tE\tS\tF" -> real and effective. */
static int parse_ids(const char *buf, const char *key, unsigned int *real, unsigned int *eff)
{
	const char *p = strstr(buf, key);
	char *end;

	if (!p)
		return -EINVAL;
	p += strlen(key);
	*real = (unsigned int)strtoul(p, &end, 10);
	*eff = (unsigned int)strtoul(end, NULL, 10);
	return 0;
}

/* @dir as for read_stat(); with @ppid also the parent ("PPid:\tP"). */
static int read_status(int dirfd, const char *dir, struct proc_info *pi, pid_t *ppid)
{
	char buf[4096], name[PATH_MAX];
	unsigned int r, e;
	ssize_t n;

	snprintf(name, sizeof(name), "%s/status", dir);
	n = read_at(dirfd, name, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	buf[n] = '\0';
	if (parse_ids(buf, "\nUid:", &r, &e))
		return -EINVAL;
	pi->uid = r;
	pi->euid = e;
	if (parse_ids(buf, "\nGid:", &r, &e))
		return -EINVAL;
	pi->gid = r;
	pi->egid = e;
	if (ppid) {
		if (parse_ids(buf, "\nPPid:", &r, &e))
			return -EINVAL;
		*ppid = (pid_t)r;
	}
	return 0;
}

static int count_args(const char *buf, size_t len)
{
	int argc = 0;

	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			argc++;
	if (len && buf[len - 1] != '\0')
		argc++;
	return argc;
}

static int read_cmdline(int dirfd, struct proc_info *pi)
{
	char stack[4096], *buf = stack;
	size_t size = sizeof(stack);
	ssize_t n;
	int fd, rc = 0;
	size_t len = 0;

	fd = openat(dirfd, "cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len < size)
			break;	/* short read: all of argv (see read_at) */
		if (size >= CMDLINE_MAX)
			break;
		/* Long argv: move to the heap, rarely taken. */
		char *big = malloc(CMDLINE_MAX);

		if (!big)
			break;
		memcpy(big, buf, len);
		buf = big;
		size = CMDLINE_MAX;
	}
	close(fd);
	/* Kernel threads and zombies have no argv: leave it empty. */
	if (len) {
		rc = bytes_set(&pi->cmdline, buf, len);
		pi->argc = count_args(buf, len);
	}
	if (buf != stack)
		free(buf);
	return rc;
}

/*
 * Pick the cgroup line: the v2 "0::" line, except on a hybrid host where
 * the unified hierarchy holds nothing ("0::/") and systemd's named v1
 * hierarchy is the one that says where the process lives.
 */
static int read_cgroup(int dirfd, struct proc_info *pi)
{
	char buf[4096], id[128];
	const char *v2 = NULL, *named = NULL, *runtime = NULL;
	size_t v2len = 0, namedlen = 0;
	ssize_t n = read_at(dirfd, "cgroup", buf, sizeof(buf) - 1);
	char *line, *save = NULL;
	const char *pick;
	bool found = false;

	if (n <= 0)
		return n < 0 ? (int)n : 0;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ':');

		if (!path || !(path = strchr(path + 1, ':')))
			continue;
		path++;
		if (strncmp(line, "0::", 3) == 0) {
			v2 = path;
			v2len = strlen(path);
		} else if (strstr(line, ":name=systemd:")) {
			named = path;
			namedlen = strlen(path);
		}
		/* v1 controller lines name containers too (docker on v1) */
		if (!found && cgroup_container_id(path, id, sizeof(id), &runtime) == 0)
			found = true;
	}
	pick = v2;
	if ((!v2 || strcmp(v2, "/") == 0) && named)
		pick = named;
	if (pick) {
		pi->cgroup = strndup_safe(pick, pick == v2 ? v2len : namedlen);
		if (!pi->cgroup)
			return -ENOMEM;
	}
	if (found) {
		pi->container_id = strdup(id);
		pi->container_runtime = strdup(runtime);
		if (!pi->container_id || !pi->container_runtime)
			return -ENOMEM;
	}
	return 0;
}

static int open_pid_dir(const char *proc_root, pid_t pid)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One file needs no directory handle: two syscalls fewer per fork. */
static int read_stat_only(const char *proc_root, pid_t pid, struct proc_info *pi)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	pi->pid = pid;
	rc = read_stat(AT_FDCWD, path, pi);
	return rc == -ENOENT ? -ESRCH : rc;
}

/* Boot time as wall clock: REALTIME - BOOTTIME, once per table. */
static void boot_realtime(struct timespec *out)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	out->tv_sec = rt.tv_sec - bt.tv_sec;
	out->tv_nsec = rt.tv_nsec - bt.tv_nsec;
	if (out->tv_nsec < 0) {
		out->tv_nsec += 1000000000L;
		out->tv_sec--;
	}
}

static void set_start_realtime(struct proc_info *pi, const struct timespec *boot, long tck)
{
	uint64_t ns = pi->start_time % (uint64_t)tck * (1000000000ull / (uint64_t)tck);

	pi->start_realtime.tv_sec = boot->tv_sec + (time_t)(pi->start_time / (uint64_t)tck);
	pi->start_realtime.tv_nsec = boot->tv_nsec + (long)ns;
	if (pi->start_realtime.tv_nsec >= 1000000000L) {
		pi->start_realtime.tv_nsec -= 1000000000L;
		pi->start_realtime.tv_sec++;
	}
}

/*
 * read_proc - fill @pi from @proc_root/@pid, reading only @what.
 * Only the stat read decides whether the process exists; the others are
 * best effort (a zombie has no exe or cwd, another user's process may
 * hide some).  Returns 0 or -errno (-ESRCH: gone).
 */
static int read_proc(const char *proc_root, pid_t pid, unsigned int what,
		     struct proc_info *pi)
{
	int dirfd, rc = 0;

	if (what == RD_STAT)
		return read_stat_only(proc_root, pid, pi);
	dirfd = open_pid_dir(proc_root, pid);
	if (dirfd < 0)
		return dirfd == -ENOENT ? -ESRCH : dirfd;
	pi->pid = pid;
	/* argv and cwd first: an exiting process loses them before the rest */
	if (what & RD_CMDLINE)
		read_cmdline(dirfd, pi);
	if (what & RD_CWD)
		readlink_bytes(dirfd, "cwd", &pi->cwd);
	if (what & RD_EXE)
		readlink_bytes(dirfd, "exe", &pi->exe);
	if ((what & RD_STAT) && (rc = read_stat(dirfd, ".", pi)))
		goto out;
	if ((what & RD_STATUS) && (rc = read_status(dirfd, ".", pi, NULL)))
		goto out;
	if (what & RD_CGROUP)
		rc = read_cgroup(dirfd, pi);
out:
	close(dirfd);
	if (rc == -ENOENT)
		rc = -ESRCH;
	return rc;
}

static char *lookup_user(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
		return NULL;
	return strdup(pw.pw_name);
}

static struct proc_info *read_new(const char *proc_root, pid_t pid, unsigned int what)
{
	struct proc_info *pi = proc_info_new();
	struct timespec boot;

	if (!pi)
		return NULL;
	if (!(what & RD_STATUS))
		pi->uid = pi->euid = pi->gid = pi->egid = ID_UNKNOWN;
	if (read_proc(proc_root, pid, what, pi)) {
		proc_info_put(pi);
		return NULL;
	}
	boot_realtime(&boot);
	set_start_realtime(pi, &boot, sysconf(_SC_CLK_TCK));
	return pi;
}

/*
 * The ids are left ID_UNKNOWN: the process table has them (see the
 * Overview), and apply_exec() fills them in.
 */
struct proc_info *proc_info_read_raw(const char *proc_root, pid_t pid)
{
	return read_new(proc_root, pid, RD_EXEC);
}

struct proc_info *proc_info_read(const char *proc_root, pid_t pid)
{
	struct proc_info *pi = read_new(proc_root, pid, RD_ALL);

	if (pi)
		pi->user = lookup_user(pi->uid);
	return pi;
}

/* ---- container ids ----------------------------------------------------- */

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "PREFIX<x>SUFFIX" in one path component: true and @x if it fits. */
static bool component_match(const char *c, size_t len, const char *prefix,
			    const char *suffix, const char **x, size_t *xlen)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (len <= pl + sl || strncmp(c, prefix, pl) ||
	    strncmp(c + len - sl, suffix, sl))
		return false;
	*x = c + pl;
	*xlen = len - pl - sl;
	return true;
}

static const char *match_component(const char *c, size_t len, const char *prev,
				   size_t prevlen, const char **x, size_t *xlen)
{
	static const struct {
		const char *prefix, *suffix, *runtime;
	} scopes[] = {
		{ "docker-", ".scope", "docker" },
		{ "cri-containerd-", ".scope", "containerd" },
		{ "libpod-", ".scope", "podman" },
	};

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (component_match(c, len, scopes[i].prefix, scopes[i].suffix, x, xlen) &&
		    is_hex64(*x, *xlen))
			return scopes[i].runtime;
	/* cgroupfs driver: /docker/<id> */
	if (prevlen == 6 && strncmp(prev, "docker", 6) == 0 && is_hex64(c, len)) {
		*x = c;
		*xlen = len;
		return "docker";
	}
	if (component_match(c, len, "systemd-nspawn@", ".service", x, xlen) ||
	    component_match(c, len, "machine-", ".scope", x, xlen))
		return "systemd-nspawn";
	return NULL;
}

/**
 * cgroup_container_id - container id and runtime named by a cgroup path.
 * @cgroup: a path such as "/system.slice/docker-<64hex>.scope"
 * @id: receives the id (64 hex digits, or the machine name for nspawn)
 * @idlen: size of @id
 * @runtime: receives "docker", "containerd", "podman" or "systemd-nspawn"
 *
 * The innermost match wins, so a container nested in another reports the
 * one the process really runs in.
 *
 * Returns 0 if the path names a container, else -1.
 */
int cgroup_container_id(const char *cgroup, char *id, size_t idlen,
			const char **runtime)
{
	const char *c = cgroup, *prev = "", *best = NULL, *best_rt = NULL;
	size_t prevlen = 0, bestlen = 0;

	if (!cgroup)
		return -1;
	while (*c) {
		const char *end = strchr(c, '/'), *x, *rt;
		size_t len, xlen;

		if (!end)
			end = c + strlen(c);
		len = (size_t)(end - c);
		if (len && (rt = match_component(c, len, prev, prevlen, &x, &xlen))) {
			best = x;
			bestlen = xlen;
			best_rt = rt;
		}
		prev = c;
		prevlen = len;
		c = *end ? end + 1 : end;
	}
	if (!best || bestlen + 1 > idlen)
		return -1;
	memcpy(id, best, bestlen);
	id[bestlen] = '\0';
	*runtime = best_rt;
	return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

static int dup_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int dup_bytes(struct bytes *dst, const struct bytes *src)
{
	return src->data ? bytes_set(dst, src->data, src->len) : 0;
}

/* A deep copy without the parent link. */
static struct proc_info *proc_info_clone(const struct proc_info *src)
{
	struct proc_info *pi = proc_info_new();

	if (!pi)
		return NULL;
	pi->pid = src->pid;
	pi->ppid = src->ppid;
	pi->uid = src->uid;
	pi->euid = src->euid;
	pi->gid = src->gid;
	pi->egid = src->egid;
	pi->start_time = src->start_time;
	pi->start_realtime = src->start_realtime;
	pi->argc = src->argc;
	pi->exe_dev = src->exe_dev;
	pi->exe_ino = src->exe_ino;
	pi->exe_from_fanotify = src->exe_from_fanotify;
	pi->resynced = src->resynced;
	if (dup_bytes(&pi->exe, &src->exe) || dup_bytes(&pi->cmdline, &src->cmdline) ||
	    dup_bytes(&pi->cwd, &src->cwd) || dup_str(&pi->comm, src->comm) ||
	    dup_str(&pi->user, src->user) || dup_str(&pi->cgroup, src->cgroup) ||
	    dup_str(&pi->container_id, src->container_id) ||
	    dup_str(&pi->container_runtime, src->container_runtime)) {
		proc_info_put(pi);
		return NULL;
	}
	return pi;
}

static const char *cached_user(struct proctable *pt, uid_t uid)
{
	struct user_slot *u = &pt->users[uid % USER_CACHE_SIZE];

	if (u->used && u->uid == uid)
		return u->name;
	free(u->name);
	u->uid = uid;
	u->used = true;
	u->name = lookup_user(uid);
	return u->name;
}

static size_t bucket_of(const struct proctable *pt, pid_t pid)
{
	return ((size_t)pid * 2654435761u) & (pt->nbuckets - 1);
}

static struct proc_entry *find(struct proctable *pt, pid_t pid)
{
	struct proc_entry *e = pt->buckets[bucket_of(pt, pid)];

	while (e && e->pid != pid)
		e = e->next;
	return e;
}

static void grow(struct proctable *pt)
{
	size_t old = pt->nbuckets, n = old * 2;
	struct proc_entry **ob = pt->buckets, **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;	/* longer chains, still correct */
	pt->buckets = nb;
	pt->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		struct proc_entry *e = ob[i], *next;

		for (; e; e = next) {
			size_t b = bucket_of(pt, e->pid);

			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	free(ob);
}

/* ---- entries ------------------------------------------------------------ */

/* Writer only, like entry_remove() and publish(): they lock for readers. */
static struct proc_entry *entry_add(struct proctable *pt, pid_t pid)
{
	struct proc_entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	e->pid = pid;
	pthread_mutex_lock(&pt->lock);
	if (pt->count >= pt->nbuckets * 2)
		grow(pt);
	b = bucket_of(pt, pid);
	e->next = pt->buckets[b];
	pt->buckets[b] = e;
	pt->count++;
	pthread_mutex_unlock(&pt->lock);
	return e;
}

static void entry_remove(struct proctable *pt, struct proc_entry *e)
{
	struct proc_entry **pp = &pt->buckets[bucket_of(pt, e->pid)];

	pthread_mutex_lock(&pt->lock);
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	pt->count--;
	pthread_mutex_unlock(&pt->lock);
	proc_info_put(e->snap);
	proc_info_put(e->base);
	bytes_clear(&e->pending_exe);
	free(e);
}

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/*
 * A pidfd (always O_CLOEXEC) is only meaningful for the real /proc: a
 * test's imitation of /proc names pids that may belong to anything on
 * the host.
 */
static int take_pidfd(struct proctable *pt, pid_t pid)
{
	int fd;

	if (strcmp(pt->proc_root, "/proc") != 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -1 : fd;
}

/* Make @base and @snap (references, consumed) the entry's state. */
static void swap_snaps(struct proctable *pt, struct proc_entry *e, struct proc_info *base,
		       struct proc_info *snap)
{
	struct proc_info *old_base, *old_snap;

	pthread_mutex_lock(&pt->lock);
	old_base = e->base;
	old_snap = e->snap;
	e->base = base;
	e->snap = snap;
	if (base && base->start_time)
		e->start_time = base->start_time;
	pthread_mutex_unlock(&pt->lock);
	proc_info_put(old_base);
	proc_info_put(old_snap);
}

/*
 * publish - make @base (a new reference, consumed) the entry's current
 * state.  The event-facing snapshot links the parent's base, never the
 * parent's own linked snapshot, so chains stay one level deep.
 */
static void publish(struct proctable *pt, struct proc_entry *e, struct proc_info *base)
{
	struct proc_entry *p = base->ppid ? find(pt, base->ppid) : NULL;
	struct proc_info *snap = NULL;

	base->parent = NULL;
	if (p && p != e && p->base) {
		snap = proc_info_clone(base);
		if (snap)
			snap->parent = proc_info_get(p->base);
	}
	if (!snap)
		snap = proc_info_get(base);
	swap_snaps(pt, e, base, snap);
}

static void set_user(struct proctable *pt, struct proc_info *pi)
{
	const char *name = cached_user(pt, pi->uid);

	free(pi->user);
	pi->user = name ? strdup(name) : NULL;
}

static void attach(struct event *ev, struct proc_entry *e)
{
	proc_info_put(ev->proc);
	ev->proc = e ? proc_info_get(e->snap) : NULL;
}

static bool ids_known(const struct proc_info *pi)
{
	return pi->uid != ID_UNKNOWN;
}

static void copy_ids(struct proc_info *pi, const struct proc_info *from)
{
	pi->uid = from->uid;
	pi->euid = from->euid;
	pi->gid = from->gid;
	pi->egid = from->egid;
}

/* Inherit what a fork copies; used when we do not re-read it. */
static int inherit(struct proc_info *pi, const struct proc_info *parent)
{
	copy_ids(pi, parent);
	pi->exe_dev = parent->exe_dev;
	pi->exe_ino = parent->exe_ino;
	pi->exe_from_fanotify = parent->exe_from_fanotify;
	pi->argc = parent->argc;
	if (dup_bytes(&pi->exe, &parent->exe) || dup_bytes(&pi->cmdline, &parent->cmdline) ||
	    dup_bytes(&pi->cwd, &parent->cwd) || dup_str(&pi->cgroup, parent->cgroup) ||
	    dup_str(&pi->container_id, parent->container_id) ||
	    dup_str(&pi->container_runtime, parent->container_runtime))
		return -ENOMEM;
	return 0;
}

/*
 * Fork: the child starts as a copy of its parent, so when the parent is
 * known only stat (start time: the child's identity) is read, and the
 * rest, ids included (see the Overview), is inherited.  An unknown parent means a full read;
 * a child already gone is derived from the parent entirely.
 */
static void apply_fork(struct proctable *pt, struct event *ev)
{
	struct proc_entry *e = find(pt, ev->pid), *parent = find(pt, ev->ppid);
	bool have_parent = parent && parent->base;
	struct proc_info *pi;
	int rc;

	pi = proc_info_new();
	if (!pi)
		return;
	if (have_parent && !ids_known(parent->base))
		have_parent = false;	/* nothing to inherit them from */
	rc = read_proc(pt->proc_root, ev->pid, have_parent ? RD_STAT : RD_ALL, pi);
	/*
	 * An entry with a snapshot and this child's start time is the child
	 * itself, read by a rescan that ran while this fork event was still
	 * queued (in the socket or the queue): what the rescan read is newer
	 * than what the fork can say (the child may have exec'd since), so
	 * it stays.  With another start time it is a process whose exit we
	 * lost: the pid is reused.  One without a snapshot is the child's own
	 * exec-open, received in the same netlink batch as this fork and
	 * queued ahead of it: keep it.
	 */
	if (e && e->base && rc == 0 && pi->start_time && pi->start_time == e->start_time) {
		proc_info_put(pi);
		attach(ev, e);
		return;
	}
	if (e && e->base) {
		entry_remove(pt, e);
		e = NULL;
	}
	if (!e)
		e = entry_add(pt, ev->pid);
	if (!e)
		goto fail;
	if (rc == 0 && have_parent)
		rc = inherit(pi, parent->base) ? -ENOMEM : 0;
	if (rc && have_parent) {
		proc_info_put(pi);
		pi = proc_info_clone(parent->base);
		if (!pi)
			goto fail;
		pi->pid = ev->pid;
		pi->ppid = ev->ppid;
		pi->start_time = 0;
		pi->start_realtime = (struct timespec){ 0 };
		ev->flags |= EVENT_F_PROC_GONE;
	} else if (rc) {
		pi->pid = ev->pid;
		pi->ppid = ev->ppid;
		ev->flags |= EVENT_F_PROC_GONE;
	}
	pi->resynced = false;
	if (pi->start_time)
		set_start_realtime(pi, &pt->boot_realtime, pt->clk_tck);
	set_user(pt, pi);
	publish(pt, e, pi);
	attach(ev, e);
	return;
fail:
	proc_info_put(pi);
	if (e)
		entry_remove(pt, e);
}

/* The binary of an exec: fanotify's record, else /proc, else unknown. */
static void exec_exe(struct proctable *pt, struct proc_entry *e, struct proc_info *pi,
		     struct event *ev)
{
	if (e->pending_exe.data) {
		bytes_clear(&pi->exe);
		pi->exe = e->pending_exe;	/* moved, not copied */
		e->pending_exe.data = NULL;
		e->pending_exe.len = 0;
		pi->exe_dev = e->pending_dev;
		pi->exe_ino = e->pending_ino;
		pi->exe_from_fanotify = true;
		__atomic_fetch_add(&pt->stats.exe_from_fanotify, 1, __ATOMIC_RELAXED);
		return;
	}
	pi->exe_from_fanotify = false;
	pi->exe_dev = 0;
	pi->exe_ino = 0;
	if (pi->exe.data) {
		__atomic_fetch_add(&pt->stats.exe_from_proc, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&pt->stats.exe_unknown, 1, __ATOMIC_RELAXED);
	ev->flags |= EVENT_F_PROC_GONE;
}

/*
 * The ids of an exec: the table's (a set-id exec sent its uid/gid event
 * ahead of the exec event), else a late read of status for a process met
 * here first, else 0 as for any process gone before it was read.
 */
static void exec_ids(struct proctable *pt, struct proc_entry *e, struct proc_info *pi)
{
	struct proc_info now = { 0 };

	if (e->base && ids_known(e->base)) {
		copy_ids(pi, e->base);
		return;
	}
	if (read_proc(pt->proc_root, pi->pid, RD_STATUS, &now))
		memset(&now, 0, sizeof(now));
	copy_ids(pi, &now);
}

/*
 * Exec: everything but the pid, parent and cgroup may have changed, so
 * the process is read again -- ideally by the source at the moment the
 * kernel reported it (@ev->proc pre-set, see proc_info_read_raw()), since
 * a short-lived program is often gone by the time the pipeline runs.
 */
static void apply_exec(struct proctable *pt, struct event *ev)
{
	struct proc_info *pi = ev->proc;
	struct proc_entry *e;

	ev->proc = NULL;
	if (!pi)
		pi = read_new(pt->proc_root, ev->pid, RD_EXEC);
	e = find(pt, ev->pid);
	if (e && pi && e->start_time && pi->start_time && e->start_time != pi->start_time) {
		entry_remove(pt, e);	/* same pid, another process */
		e = NULL;
	}
	if (!e) {
		e = entry_add(pt, ev->pid);
		if (!e)
			goto out;
	}
	if (pi && !ids_known(pi))
		exec_ids(pt, e, pi);
	/* stat of a process being torn down says ppid 0: exec keeps the parent */
	if (pi && !pi->ppid && e->base && e->base->ppid)
		pi->ppid = e->base->ppid;
	if (!pi) {
		/* Gone: keep what exec does not change, drop the old image. */
		pi = e->base ? proc_info_clone(e->base) : proc_info_new();
		if (!pi)
			goto out;
		pi->pid = ev->pid;
		bytes_clear(&pi->exe);
		bytes_clear(&pi->cmdline);
		pi->argc = 0;
		free(pi->comm);
		pi->comm = NULL;
		ev->flags |= EVENT_F_PROC_GONE;
	}
	pi->resynced = false;
	exec_exe(pt, e, pi, ev);
	set_user(pt, pi);
	publish(pt, e, pi);
	pi = NULL;
	attach(ev, e);
out:
	proc_info_put(pi);
}

static void apply_exit(struct proctable *pt, struct event *ev)
{
	struct proc_entry *e = find(pt, ev->pid);

	attach(ev, e);
	if (e)
		entry_remove(pt, e);
}

/* uid/gid change: status has both real and effective ids; the event has one. */
static void apply_ids(struct proctable *pt, struct event *ev)
{
	struct proc_entry *e = find(pt, ev->pid);
	struct proc_info *pi, now = { 0 };

	if (!e || !e->base)
		return;
	pi = proc_info_clone(e->base);
	if (!pi)
		return;
	if (read_proc(pt->proc_root, ev->pid, RD_STATUS, &now) == 0) {
		pi->uid = now.uid;
		pi->euid = now.euid;
		pi->gid = now.gid;
		pi->egid = now.egid;
	} else if (ev->type == EVENT_PROC_UID) {
		pi->uid = pi->euid = ev->uid;
	} else {
		pi->gid = pi->egid = ev->gid;
	}
	pi->resynced = false;
	set_user(pt, pi);
	publish(pt, e, pi);
	attach(ev, e);
}

/* The first exec-open since the last exec is the program that was run;
 * later ones are its script interpreter and ld.so. */
static void apply_exec_open(struct proctable *pt, struct event *ev)
{
	struct proc_entry *e = find(pt, ev->pid);

	if (!e)
		e = entry_add(pt, ev->pid);
	if (!e || e->pending_exe.data || !ev->path.data)
		return;
	if (bytes_set(&e->pending_exe, ev->path.data, ev->path.len))
		return;
	e->pending_dev = ev->dev;
	e->pending_ino = ev->ino;
}

/**
 * proctable_apply - update the table from one event and attach a snapshot.
 * @pt: the table
 * @ev: a process, exec-open or file event
 *
 * For EVENT_PROC_EXEC a source may have left a fresh read of the process
 * in @ev->proc (proc_info_read_raw()); it is completed and published here
 * instead of reading /proc late.  File events only look up.
 */
void proctable_apply(struct proctable *pt, struct event *ev)
{
	switch (ev->type) {
	case EVENT_PROC_FORK:
		apply_fork(pt, ev);
		break;
	case EVENT_PROC_EXEC:
		apply_exec(pt, ev);
		break;
	case EVENT_PROC_EXIT:
		apply_exit(pt, ev);
		break;
	case EVENT_PROC_UID:
	case EVENT_PROC_GID:
		apply_ids(pt, ev);
		break;
	case EVENT_EXEC_OPEN:
		apply_exec_open(pt, ev);
		/* the caller, before its exec: what file policies on
		 * fileOperation "exec" see, as the exec gate does */
		if (!ev->proc)
			attach(ev, find(pt, ev->pid));
		break;
	default:
		if (!ev->proc)
			attach(ev, find(pt, ev->pid));
		break;
	}
}

/* ---- rescan ------------------------------------------------------------- */

static bool parse_pid(const char *name, pid_t *pid)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)name[0]))
		return false;
	v = strtol(name, &end, 10);
	if (*end || v <= 0 || v > INT_MAX)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* What a rescan finds at an entry's pid. */
enum scan_match {
	SCAN_OTHER,	/* another process (the pid was reused), or none known */
	SCAN_SAME,	/* the process the entry describes, unchanged */
	SCAN_EXECED,	/* that process, but it exec'd since: its exec event was lost */
};

static bool bytes_differ(const struct bytes *a, const struct bytes *b)
{
	return a->data && b->data && (a->len != b->len || memcmp(a->data, b->data, a->len));
}

static enum scan_match scan_match(struct proctable *pt, struct proc_entry *e, uint64_t gen)
{
	struct proc_info now = { 0 };
	enum scan_match m = SCAN_OTHER;

	if (!e->base)
		return SCAN_OTHER;
	if (read_proc(pt->proc_root, e->pid, RD_STAT | RD_EXE, &now))
		return SCAN_SAME;	/* gone meanwhile: the sweep drops it */
	if (now.start_time == e->start_time) {
		/* A lost exec leaves the start time and changes the binary;
		 * comm alone is not enough (a fork event read after the
		 * child's exec has the child's comm and the parent's exe).
		 * Kernel threads (no exe) rename themselves (kworker/...).
		 * A script's exe, learnt from fanotify, is not its /proc exe
		 * (the interpreter): a rescan re-reads it, flagged resync. */
		m = now.exe.data &&
		    ((now.comm && e->base->comm && strcmp(now.comm, e->base->comm)) ||
		     bytes_differ(&now.exe, &e->base->exe)) ? SCAN_EXECED : SCAN_SAME;
		if (m == SCAN_SAME)
			e->scan_gen = gen;
	}
	free(now.comm);
	bytes_clear(&now.exe);
	return m;
}

static int scan_one(struct proctable *pt, pid_t pid, uint64_t gen, unsigned int *gone)
{
	struct proc_entry *e = find(pt, pid);
	enum scan_match m = e ? scan_match(pt, e, gen) : SCAN_OTHER;
	struct proc_info *pi;

	if (m == SCAN_SAME)
		return 0;
	if (e && e->base) {
		entry_remove(pt, e);
		if (m == SCAN_OTHER)
			(*gone)++;
		e = NULL;
	}
	pi = proc_info_new();
	if (!pi)
		return -ENOMEM;
	if (read_proc(pt->proc_root, pid, RD_ALL, pi)) {
		proc_info_put(pi);
		return 0;
	}
	if (!e && !(e = entry_add(pt, pid))) {
		proc_info_put(pi);
		return -ENOMEM;
	}
	set_start_realtime(pi, &pt->boot_realtime, pt->clk_tck);
	pi->resynced = true;
	set_user(pt, pi);
	/* linked to its parent once every process of the scan is known */
	swap_snaps(pt, e, pi, proc_info_get(e->snap));
	e->scan_gen = gen;
	e->scan_new = true;
	return 1;
}

/* Drop what the scan did not see; publish and report what it found. */
static unsigned int scan_finish(struct proctable *pt, uint64_t gen,
				proctable_found_fn found, void *arg)
{
	unsigned int gone = 0;

	for (size_t i = 0; i < pt->nbuckets; i++) {
		struct proc_entry *e = pt->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (e->scan_gen != gen) {
				entry_remove(pt, e);
				gone++;
			}
		}
	}
	for (size_t i = 0; i < pt->nbuckets; i++) {
		for (struct proc_entry *e = pt->buckets[i]; e; e = e->next) {
			struct proc_info *base;

			if (!e->scan_new)
				continue;
			e->scan_new = false;
			base = proc_info_get(e->base);
			publish(pt, e, base);
			if (found)
				found(e->snap, arg);
		}
	}
	return gone;
}

/**
 * proctable_scan - (re)read every process under the proc root.
 * @pt: the table
 * @found: called (on the writer's thread, unlocked) for each process added
 * @arg: passed to @found
 *
 * The first scan seeds the table; later ones are resyncs after loss and
 * are counted as such.  Returns the number of processes added, or -errno.
 */
int proctable_scan(struct proctable *pt, proctable_found_fn found, void *arg)
{
	unsigned int gone = 0;
	int added = 0, rc = 0;
	struct dirent *d;
	uint64_t gen;
	DIR *dir;

	gen = ++pt->scans;
	dir = opendir(pt->proc_root);
	if (!dir) {
		rc = -errno;
		goto out;
	}
	while ((d = readdir(dir))) {
		pid_t pid;
		int n;

		if (!parse_pid(d->d_name, &pid))
			continue;
		n = scan_one(pt, pid, gen, &gone);
		if (n < 0) {
			rc = n;
			break;
		}
		added += n;
	}
	closedir(dir);
	gone += scan_finish(pt, gen, found, arg);
	if (gen > 1) {
		pthread_mutex_lock(&pt->lock);
		pt->stats.resyncs++;
		pt->stats.resync_found += (uint64_t)added;
		pt->stats.resync_gone += gone;
		pthread_mutex_unlock(&pt->lock);
	}
out:
	return rc ? rc : added;
}

/* ---- queries ------------------------------------------------------------ */

struct proc_info *proctable_lookup(struct proctable *pt, pid_t pid)
{
	struct proc_entry *e;
	struct proc_info *pi = NULL;

	pthread_mutex_lock(&pt->lock);
	e = find(pt, pid);
	if (e)
		pi = proc_info_get(e->snap);
	pthread_mutex_unlock(&pt->lock);
	return pi;
}

/**
 * proctable_pidfd - a pidfd for exactly the process @pid started at @start_time.
 * @pt: the table
 * @pid: the process
 * @start_time: its start time in clock ticks, as in the snapshot
 *
 * The pidfd is opened now, then the pid's start time is read again: a
 * pidfd pins whatever process held the pid when it was opened, and while
 * that process lives (or is a zombie) no other can take the pid, so an
 * unchanged start time read after the open proves it is @start_time's
 * process.  Had it been reaped and the pid reused, /proc would show the
 * newcomer's later start time.
 *
 * Returns a new O_CLOEXEC descriptor, or -ESRCH when the entry is gone,
 * belongs to another start time, or the process has exited.
 */
int proctable_pidfd(struct proctable *pt, pid_t pid, uint64_t start_time)
{
	struct proc_info now = { 0 };
	struct proc_entry *e;
	bool known;
	int fd;

	/* The lock only for the table's word; the proof is the pidfd's. */
	pthread_mutex_lock(&pt->lock);
	e = find(pt, pid);
	known = e && start_time && e->start_time == start_time;
	pthread_mutex_unlock(&pt->lock);
	if (!known)
		return -ESRCH;
	fd = take_pidfd(pt, pid);
	if (fd < 0)
		return -ESRCH;
	if (read_proc(pt->proc_root, pid, RD_STAT, &now) || now.start_time != start_time ||
	    pidfd_exited(fd)) {
		close(fd);
		fd = -ESRCH;
	}
	free(now.comm);
	return fd;
}

int proctable_read_ids(struct proctable *pt, pid_t pid, struct proc_info *pi)
{
	char dir[PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%d", pt->proc_root, (int)pid);
	rc = read_status(AT_FDCWD, dir, pi, &pi->ppid);
	return rc == -ENOENT ? -ESRCH : rc;
}

size_t proctable_children(struct proctable *pt, pid_t pid, pid_t *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&pt->lock);
	for (size_t i = 0; i < pt->nbuckets && n < max; i++)
		for (struct proc_entry *e = pt->buckets[i]; e && n < max; e = e->next)
			if (e->base && e->base->ppid == pid && e->pid != pid)
				out[n++] = e->pid;
	pthread_mutex_unlock(&pt->lock);
	return n;
}

void proctable_get_stats(struct proctable *pt, struct proctable_stats *st)
{
	pthread_mutex_lock(&pt->lock);
	*st = pt->stats;
	st->entries = pt->count;
	pthread_mutex_unlock(&pt->lock);
}

struct proctable *proctable_new(const char *proc_root)
{
	struct proctable *pt = calloc(1, sizeof(*pt));

	if (!pt)
		return NULL;
	pt->nbuckets = 1024;
	pt->buckets = calloc(pt->nbuckets, sizeof(*pt->buckets));
	pt->proc_root = strdup(proc_root ? proc_root : "/proc");
	if (!pt->buckets || !pt->proc_root) {
		free(pt->buckets);
		free(pt->proc_root);
		free(pt);
		return NULL;
	}
	pthread_mutex_init(&pt->lock, NULL);
	pt->clk_tck = sysconf(_SC_CLK_TCK);
	if (pt->clk_tck <= 0)
		pt->clk_tck = 100;
	boot_realtime(&pt->boot_realtime);
	return pt;
}

void proctable_free(struct proctable *pt)
{
	if (!pt)
		return;
	for (size_t i = 0; i < pt->nbuckets; i++)
		while (pt->buckets[i])
			entry_remove(pt, pt->buckets[i]);
	for (size_t i = 0; i < USER_CACHE_SIZE; i++)
		free(pt->users[i].name);
	pthread_mutex_destroy(&pt->lock);
	free(pt->buckets);
	free(pt->proc_root);
	free(pt);
}
