/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * execgate - deny a program before it runs (fanotify FAN_OPEN_EXEC_PERM).
 *
 * Overview: owns the content-class fanotify group, its marks, the slot
 * table of pending events, the pinned policy snapshot the decisions use
 * and two threads:
 *
 *  gate      reads the group (non-blocking), files every event of a read
 *            batch in a slot, then decides each in turn: reads the
 *            binary's path from the event fd, evaluates the deny policies
 *            of the pinned snapshot on events built on its stack (program
 *            policies on an exec of the binary, file policies on an
 *            exec-open of it by the caller, as the exec source would report
 *            it), and answers.  Reading and deciding on one thread keeps
 *            one wake-up, not two, on the path of every exec: on a VM each
 *            cross-CPU wake-up of an idle vCPU costs tens of microseconds.
 *            It may still be slow (the process table's lock, a regex).
 *  watchdog  answers in the gate thread's place.  It sleeps on a timerfd
 *            that the gate thread arms for the deadline when a batch
 *            starts and the timer is not already running; it is never
 *            disarmed.  When it fires the watchdog answers each slot older
 *            than the deadline with the default response and, while a
 *            batch is still going, looks again every WATCH_MS; once the
 *            batch is older than the deadline it also reads the group and
 *            answers everything it reads at once (the gate thread is
 *            stalled, and what queues behind it must not wait).  Seeing
 *            no batch, it leaves the timer to the next batch.  So a storm
 *            costs one timer syscall and one watchdog wake-up per deadline
 *            period, not per exec: on a VM each timer (re)programming is
 *            an exit to the hypervisor, and arming and disarming per batch
 *            cost ~30 us per exec.
 *            It only ever polls, reads, writes and closes, so nothing it
 *            does can wait on an exec.
 *
 * Exactly one answer per event: a slot's state word is claimed with a
 * compare-and-swap (PENDING -> BUSY) by whichever of gate and watchdog
 * gets there first; the winner writes the answer and closes the fd; the
 * gate thread alone reuses FREE slots, and the generation in the state
 * word makes a decision about an answered-and-reused slot fail its CAS.
 *
 * Neither thread logs or allocates while an event waits: counters only,
 * read by execgate_status().  A denied exec is reported after it was
 * answered, as an EVENT_EXEC_DENIED pushed to the normal queue (the only
 * allocation, with the answer already written); the pipeline raises the
 * alert.  The gate does not own the policy set: it pins a snapshot
 * (a reference to the set plus the list of its live deny policies) that
 * the main loop swaps on reload; a batch in flight keeps the one it pinned.
 *
 * What the gate does not own: the process table (read through
 * proctable_lookup only), the queue and the sinks.
 */
#include "execgate.h"
#include "sensor.h"
#include "event.h"
#include "fdpath.h"
#include "log.h"
#include "policy.h"
#include "proctable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define ST_FREE		0u
#define ST_PENDING	1u
#define ST_BUSY		2u
#define ST_MASK		3u
#define ST_GEN		4u	/* one generation step */

#define READ_BUF	(4096 * 4)
#define BATCH_MAX	(READ_BUF / FAN_EVENT_METADATA_LEN)
#define WATCH_MS	1	/* watchdog period while the gate is busy */
#define IDLE_MS		500	/* the watchdog's heartbeat while idle */
#define STUCK_NS	(5 * 1000000000ull)	/* execgate_healthy(): no heartbeat */

/* The deny policies of one policy set, pinned as a unit. */
struct gate_pol {
	const struct policy *p;
	uint32_t idx;		/* in ps->policies */
	bool named;		/* matches only the programs it names */
	bool sha256;		/* would hash: never evaluated here */
};

struct gate_snap {
	int refcount;
	struct policy_set *ps;
	size_t n;
	struct gate_pol deny[];
};

/* One filed event of the gate thread's batch. */
struct filed {
	uint32_t idx;
	uint64_t word;
};

/* uid -> user name for callers the process table has not seen yet */
#define GATE_USERS	64
struct gate_user {
	bool used;
	uid_t uid;
	char name[256];		/* "": the uid has no name */
};

struct execgate {
	struct sensor *s;
	struct execgate_core core;
	int stopfd;		/* eventfd: both threads finish */
	int timerfd;		/* the deadline of the gate thread's batch */
	pthread_t gate, watchdog;
	bool threads;
	_Atomic uint64_t heartbeat_ns;	/* the watchdog's last wake-up */
	_Atomic uint64_t busy_since_ns;	/* the gate thread's batch start, 0 between */
	_Atomic bool timer_armed;	/* the watchdog's timer runs or has fired */
	pthread_mutex_t snap_lock;	/* held for a pointer copy only */
	struct gate_snap *snap;
	long stall_ms;		/* SENSEON_GATE_TEST_STALL_MS, tests only */
	struct gate_user users[GATE_USERS];	/* gate thread only */
	char self_exe[PATH_MAX];
	size_t self_exe_len;
	struct strlist paths;	/* what was marked, to see a change */
};

/* The group fd for the fatal-signal handlers. */
static volatile sig_atomic_t crash_fanfd = -1;

static uint64_t now_ns(void)
{
	return monotonic_ns();
}

/* ---- the core ---- */

int execgate_reply(int fanfd, int fd, uint32_t response)
{
	struct fanotify_response r = { .fd = fd, .response = response };
	ssize_t n;
	int rc = 0;

	do {
		n = write(fanfd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if (n != sizeof(r))
		rc = -EIO;
	/* The kernel forgets the event when its fd closes; leaking it would
	 * keep the exec waiting for ever (fapolicyd's queue-full bug). */
	close(fd);
	return rc;
}

void execgate_core_init(struct execgate_core *core, int fanfd, uint64_t deadline_ns,
			bool fail_closed)
{
	memset(core, 0, sizeof(*core));
	core->fanfd = fanfd;
	core->deadline_ns = deadline_ns;
	core->default_response = fail_closed ? FAN_DENY : FAN_ALLOW;
	for (unsigned int i = 0; i < EXECGATE_SLOTS; i++)
		core->slots[i].fd = -1;
}

int execgate_core_add(struct execgate_core *core, int fd, pid_t pid, uint64_t now,
		      uint64_t *word)
{
	for (unsigned int n = 0; n < EXECGATE_SLOTS; n++) {
		unsigned int i = (core->cursor + n) % EXECGATE_SLOTS;
		struct execgate_slot *sl = &core->slots[i];
		uint64_t w = atomic_load_explicit(&sl->state, memory_order_acquire);

		if ((w & ST_MASK) != ST_FREE)
			continue;
		sl->fd = fd;
		sl->pid = pid;
		sl->t_recv_ns = now;
		w = (w & ~(uint64_t)ST_MASK) + ST_GEN + ST_PENDING;
		atomic_store_explicit(&sl->state, w, memory_order_release);
		core->cursor = (i + 1) % EXECGATE_SLOTS;
		*word = w;
		return (int)i;
	}
	return -ENOSPC;
}

static void count_latency(struct execgate_core *core, uint64_t ns)
{
	uint64_t v = ns | 1, max;
	unsigned int e = 63 - (unsigned int)__builtin_clzll(v), b;

	/* four sub-buckets per power of two: about 25% resolution */
	b = e < 2 ? (unsigned int)v : e * 4 + (unsigned int)((v >> (e - 2)) & 3);
	if (b >= EXECGATE_LAT_BUCKETS)
		b = EXECGATE_LAT_BUCKETS - 1;
	atomic_fetch_add_explicit(&core->c.lat[b], 1, memory_order_relaxed);
	max = atomic_load_explicit(&core->c.max_ns, memory_order_relaxed);
	while (ns > max && !atomic_compare_exchange_weak(&core->c.max_ns, &max, ns))
		;
}

static uint64_t bucket_top(unsigned int b)
{
	unsigned int e = b / 4, sub = b % 4;

	if (b < 8)
		return b + 1;
	return ((uint64_t)(4 + sub + 1)) << (e - 2);
}

uint64_t execgate_core_p99_ns(const struct execgate_core *core)
{
	uint64_t total = 0, seen = 0;

	for (unsigned int b = 0; b < EXECGATE_LAT_BUCKETS; b++)
		total += atomic_load(&core->c.lat[b]);
	if (!total)
		return 0;
	for (unsigned int b = 0; b < EXECGATE_LAT_BUCKETS; b++) {
		seen += atomic_load(&core->c.lat[b]);
		if (seen * 100 >= total * 99)
			return bucket_top(b);
	}
	return 0;
}

int execgate_core_answer(struct execgate_core *core, unsigned int idx, uint64_t word,
			 uint32_t response, uint64_t now)
{
	struct execgate_slot *sl = &core->slots[idx];
	uint64_t busy = (word & ~(uint64_t)ST_MASK) | ST_BUSY;
	uint64_t expect = word;
	int fd;

	if ((word & ST_MASK) != ST_PENDING ||
	    !atomic_compare_exchange_strong_explicit(&sl->state, &expect, busy,
						     memory_order_acq_rel,
						     memory_order_acquire))
		return -EALREADY;
	fd = sl->fd;
	sl->fd = -1;
	if (execgate_reply(core->fanfd, fd, response))
		atomic_fetch_add(&core->c.reply_errors, 1);
	atomic_fetch_add(response == FAN_DENY ? &core->c.denied : &core->c.allowed, 1);
	count_latency(core, now > sl->t_recv_ns ? now - sl->t_recv_ns : 0);
	atomic_store_explicit(&sl->state, (busy & ~(uint64_t)ST_MASK) | ST_FREE,
			      memory_order_release);
	return 0;
}

unsigned int execgate_core_expire(struct execgate_core *core, uint64_t now,
				  unsigned int *pending)
{
	unsigned int answered = 0, left = 0;

	for (unsigned int i = 0; i < EXECGATE_SLOTS; i++) {
		struct execgate_slot *sl = &core->slots[i];
		uint64_t w = atomic_load_explicit(&sl->state, memory_order_acquire);

		if ((w & ST_MASK) != ST_PENDING)
			continue;
		if (now - sl->t_recv_ns < core->deadline_ns || now < sl->t_recv_ns) {
			left++;
			continue;
		}
		if (execgate_core_answer(core, i, w, core->default_response, now) == 0) {
			atomic_fetch_add(&core->c.deadline, 1);
			answered++;
		}
	}
	if (pending)
		*pending = left;
	return answered;
}

/* ---- policy snapshot ---- */

static void snap_put(struct gate_snap *sn)
{
	if (sn && __atomic_sub_fetch(&sn->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
		policy_set_put(sn->ps);
		free(sn);
	}
}

/* Live deny policies that can match an exec: program policies, and file
 * policies that name fileOperation "exec" (the loader refuses a file
 * deny policy without one). */
static bool gates(const struct policy *p)
{
	if (!p->enabled || p->dry_run)
		return false;
	if (p->type != POLICY_PROGRAM && !(p->type == POLICY_FILE && p->file_exec))
		return false;
	for (size_t a = 0; a < p->n_actions; a++)
		if (p->actions[a].kind == RESPONSE_DENY)
			return true;
	return false;
}

/* Main thread: the live deny program policies of @ps (may be NULL). */
static struct gate_snap *snap_build(struct policy_set *ps)
{
	size_t n = 0, cap = ps ? ps->n_policies : 0;
	struct gate_snap *sn = calloc(1, sizeof(*sn) + cap * sizeof(sn->deny[0]));

	if (!sn)
		return NULL;
	sn->refcount = 1;
	for (size_t i = 0; i < cap; i++) {
		const struct policy *p = ps->policies[i];

		if (!gates(p))
			continue;
		sn->deny[n++] = (struct gate_pol){
			.p = p,
			.idx = (uint32_t)i,
			.named = policy_names_programs(p),
			.sha256 = policy_uses_sha256(p),
		};
	}
	sn->n = n;
	sn->ps = policy_set_get(ps);
	return sn;
}

static struct gate_snap *snap_pin(struct execgate *g)
{
	struct gate_snap *sn;

	pthread_mutex_lock(&g->snap_lock);
	sn = g->snap;
	__atomic_add_fetch(&sn->refcount, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g->snap_lock);
	return sn;
}

static void snap_swap(struct execgate *g, struct gate_snap *sn)
{
	struct gate_snap *old;

	pthread_mutex_lock(&g->snap_lock);
	old = g->snap;
	g->snap = sn;
	pthread_mutex_unlock(&g->snap_lock);
	snap_put(old);
}

/* ---- decisions ---- */

/* The sensor's own binaries (senseond, libexec helpers) never wait. */
static bool own_binary(const struct execgate *g, const char *path, size_t len)
{
	static const char libexec[] = SENSEON_LIBEXECDIR "/";

	if (len == g->self_exe_len && memcmp(path, g->self_exe, len) == 0)
		return true;
	return len > sizeof(libexec) - 1 && memcmp(path, libexec, sizeof(libexec) - 1) == 0;
}

/*
 * A caller the process table has not seen yet: a child that execs right
 * after its fork (posix_spawn, vfork) is usually ahead of the main loop.
 * Its ids and parent come from one read of /proc/PID/status
 * (proctable_read_ids, no allocation), the rest (cwd, cgroup, container,
 * user name if the uid is the same) from the parent it inherited them
 * from at fork; a change between fork and exec (chdir, a cgroup move) is
 * not seen.  Deciding with the ids
 * unknown would let `uid == 1000` fail to match a fast spawn.  Returns the
 * parent's snapshot (a reference) filled into @pi, or NULL.
 */
static struct proc_info *fresh_proc(struct execgate *g, struct proc_info *pi, pid_t pid)
{
	struct proc_info *parent;

	atomic_fetch_add(&g->core.c.table_misses, 1);
	if (proctable_read_ids(g->s->proctable, pid, pi))
		return NULL;
	parent = proctable_lookup(g->s->proctable, pi->ppid);
	if (!parent)
		return NULL;
	pi->parent = parent;
	pi->cwd = parent->cwd;
	pi->comm = parent->comm;
	pi->user = parent->uid == pi->uid ? parent->user : NULL;
	pi->cgroup = parent->cgroup;
	pi->container_id = parent->container_id;
	pi->container_runtime = parent->container_runtime;
	return parent;
}

/*
 * The user name of a fresh caller whose uid differs from its parent's (a
 * setuid helper, setpriv, su): without it `userName == "nobody"` fails to
 * match a fast spawn, a deny bypass that a slow or loaded sensor made
 * common.  The process table's cache belongs to the main loop, so the gate
 * keeps its own.  The NSS lookup may block: it is made at most once per
 * uid, and the watchdog answers whatever waits meanwhile.
 */
static const char *gate_user_name(struct execgate *g, uid_t uid)
{
	struct gate_user *u = &g->users[uid % GATE_USERS];

	if (!u->used || u->uid != uid) {
		struct passwd pw, *res = NULL;
		char buf[16384];
		int rc = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);

		/* an error (NSS unreachable, ERANGE) is not "no such user":
		 * only an answer is kept, so the next exec asks again */
		if (rc)
			return NULL;
		u->used = true;
		u->uid = uid;
		u->name[0] = '\0';
		if (res && strlen(res->pw_name) < sizeof(u->name))
			strcpy(u->name, res->pw_name);
	}
	return u->name[0] ? u->name : NULL;
}

/* The stack event a decision is made on: the calling process as the
 * process table knows it, with the binary it is about to run.  Its
 * arguments are not known before the exec: programArgs is absent. */
static void stack_proc(struct proc_info *pi, const struct proc_info *lk, pid_t pid,
		       char *path, size_t len)
{
	memset(pi, 0, sizeof(*pi));
	pi->refcount = 1;
	pi->pid = pid;
	pi->exe.data = path;
	pi->exe.len = len;
	pi->exe_from_fanotify = true;
	if (!lk) {
		/* unknown, not root, until fresh_proc() reads them */
		pi->uid = pi->euid = (uid_t)-1;
		pi->gid = pi->egid = (gid_t)-1;
		return;
	}
	pi->ppid = lk->ppid;
	pi->uid = lk->uid;
	pi->euid = lk->euid;
	pi->gid = lk->gid;
	pi->egid = lk->egid;
	pi->start_time = lk->start_time;
	pi->start_realtime = lk->start_realtime;
	pi->cwd = lk->cwd;
	pi->comm = lk->comm;
	pi->user = lk->user;
	pi->cgroup = lk->cgroup;
	pi->container_id = lk->container_id;
	pi->container_runtime = lk->container_runtime;
	pi->parent = lk->parent;
}

/* The deny policies an exec of one binary could match, judged from the
 * binary alone: a policy that names its programs, and not this one, is
 * out.  Most execs leave none, and are then allowed without a look at
 * the calling process. */
struct candidates {
	const uint32_t *named;	/* policies naming the binary (set indexes) */
	size_t n_named;
};

static void candidates_init(struct candidates *c, const struct gate_snap *sn,
			    const char *path, size_t len)
{
	c->n_named = policy_set_exec_named(sn->ps, path, len, &c->named);
}

static bool candidate(const struct candidates *c, const struct gate_pol *gp)
{
	if (!gp->named)
		return true;
	for (size_t i = 0; i < c->n_named; i++)
		if (c->named[i] == gp->idx)
			return true;
	return false;
}

static bool any_candidate(const struct candidates *c, const struct gate_snap *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		if (candidate(c, &sn->deny[i]))
			return true;
	return false;
}

/* The first deny policy of @sn that matches: program policies see the
 * exec as @prog, file policies as the exec-open @file. */
static const struct policy *evaluate(struct execgate *g, const struct gate_snap *sn,
				     const struct candidates *c, const struct event *prog,
				     const struct event *file)
{
	for (size_t i = 0; i < sn->n; i++) {
		const struct gate_pol *gp = &sn->deny[i];

		if (!candidate(c, gp))
			continue;
		/* Hashing is file I/O: not on the gate.  The loader refuses
		 * sha256 in deny policies; this only guards that promise. */
		if (gp->sha256) {
			atomic_fetch_add(&g->core.c.sha256_skipped, 1);
			continue;
		}
		if (policy_match(gp->p, gp->p->type == POLICY_FILE ? file : prog))
			return gp->p;
	}
	return NULL;
}

/* A copy of the process as the policy saw it (@stack lives on the gate
 * thread's stack); with its exe when @with_exe. */
static int copy_stack(struct event *ev, const struct proc_info *stack, bool with_exe)
{
	struct proc_info *pi = proc_info_new();

	if (!pi)
		return -ENOMEM;
	*pi = *stack;
	pi->refcount = 1;
	pi->exe = (struct bytes){ 0 };
	pi->cwd = (struct bytes){ 0 };
	pi->comm = pi->user = pi->cgroup = pi->container_id = pi->container_runtime = NULL;
	pi->parent = proc_info_get(stack->parent);
	ev->proc = pi;	/* event_free() puts it */
	if ((with_exe && bytes_set(&pi->exe, stack->exe.data, stack->exe.len)) ||
	    (stack->cwd.data && bytes_set(&pi->cwd, stack->cwd.data, stack->cwd.len)))
		return -ENOMEM;
	if ((stack->user && !(pi->user = strdup(stack->user))) ||
	    (stack->comm && !(pi->comm = strdup(stack->comm))) ||
	    (stack->cgroup && !(pi->cgroup = strdup(stack->cgroup))) ||
	    (stack->container_id && !(pi->container_id = strdup(stack->container_id))) ||
	    (stack->container_runtime &&
	     !(pi->container_runtime = strdup(stack->container_runtime))))
		return -ENOMEM;
	return 0;
}

/* A file policy's denial: the process is the caller as the table knows
 * it (what the policy saw; built from /proc and its parent if the table
 * had not seen it yet), the file is the binary. */
static int denied_by_file(struct event *ev, const struct proc_info *stack,
			  const struct proc_info *caller, struct proc_info *lk)
{
	ev->pid = ev->tid = stack->pid;
	ev->ppid = stack->ppid;
	ev->uid = stack->uid;
	if (lk)
		ev->proc = proc_info_get(lk);
	else if (copy_stack(ev, caller, true))
		return -ENOMEM;
	return bytes_set(&ev->path, stack->exe.data, stack->exe.len);
}

/* A program policy's denial: the process as the policy saw it, with the
 * binary as its exe. */
static int denied_by_program(struct event *ev, const struct proc_info *stack)
{
	ev->pid = ev->tid = stack->pid;
	ev->ppid = stack->ppid;
	ev->uid = stack->uid;
	if (copy_stack(ev, stack, true))
		return -ENOMEM;
	return bytes_set(&ev->path, stack->exe.data, stack->exe.len);
}

/* After the answer: hand the denied exec to the pipeline for its alert. */
static void report_denied(struct execgate *g, const struct gate_snap *sn,
			  const struct policy *p, const struct proc_info *stack,
			  const struct proc_info *caller, struct proc_info *lk)
{
	struct event *ev = event_new(EVENT_EXEC_DENIED);

	if (!ev)
		goto fail;
	if (p->type == POLICY_FILE ? denied_by_file(ev, stack, caller, lk) :
				     denied_by_program(ev, stack))
		goto fail;
	ev->gate_set = policy_set_get(sn->ps);
	ev->gate_policy = p;
	sensor_push(g->s, SOURCE_EXEC, ev);
	return;
fail:
	event_free(ev);
	atomic_fetch_add(&g->s->stats[SOURCE_EXEC].lost, 1);
}

static void decide_one(struct execgate *g, const struct gate_snap *sn,
		       const struct filed *re)
{
	struct execgate_slot *sl = &g->core.slots[re->idx];
	char path[PATH_MAX];
	const struct policy *hit = NULL;
	struct proc_info *lk = NULL, *fresh_parent = NULL, *caller, pi, fresh_caller;
	struct candidates cand;
	struct event ev, fev;
	ssize_t n;
	pid_t pid;
	int fd;

	if (atomic_load_explicit(&sl->state, memory_order_acquire) != re->word) {
		atomic_fetch_add(&g->core.c.stale, 1);
		return;
	}
	fd = sl->fd;
	pid = sl->pid;
	/* If the watchdog answers meanwhile, fd may be reused: what we read
	 * is then wrong, and the CAS in execgate_core_answer throws it away. */
	n = fd_path(fd, path, sizeof(path));
	if (n <= 0)
		goto answer;
	if (own_binary(g, path, (size_t)n)) {
		atomic_fetch_add(&g->core.c.self_allowed, 1);
		goto answer;
	}
	candidates_init(&cand, sn, path, (size_t)n);
	if (!any_candidate(&cand, sn)) {
		atomic_fetch_add(&g->core.c.by_name, 1);
		goto answer;
	}
	lk = proctable_lookup(g->s->proctable, pid);
	stack_proc(&pi, lk, pid, path, (size_t)n);
	caller = lk;
	if (!lk) {
		fresh_parent = fresh_proc(g, &pi, pid);
		if (!pi.user && pi.uid != (uid_t)-1)
			pi.user = (char *)gate_user_name(g, pi.uid);
		/* the caller still runs what it inherited from its parent */
		fresh_caller = pi;
		fresh_caller.exe = fresh_parent ? fresh_parent->exe : (struct bytes){ 0 };
		fresh_caller.exe_from_fanotify = false;
		caller = &fresh_caller;
	}
	/* our own children, and script workers (forks of the pyrunner)
	 * starting what their scripts run */
	if (caller->ppid == g->s->self_pid ||
	    (caller->exe.data && own_binary(g, caller->exe.data, caller->exe.len))) {
		atomic_fetch_add(&g->core.c.self_allowed, 1);
		goto answer;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_PROC_EXEC;
	ev.pid = ev.tid = pid;
	ev.proc = &pi;
	/* as the exec source reports it: the caller opening the binary */
	memset(&fev, 0, sizeof(fev));
	fev.type = EVENT_EXEC_OPEN;
	fev.pid = fev.tid = pid;
	fev.path = pi.exe;
	fev.proc = caller;
	hit = evaluate(g, sn, &cand, &ev, &fev);
answer:
	atomic_fetch_add(&g->core.c.decisions, 1);
	if (execgate_core_answer(&g->core, re->idx, re->word, hit ? FAN_DENY : FAN_ALLOW,
				 now_ns())) {
		atomic_fetch_add(&g->core.c.stale, 1);
		hit = NULL;
	}
	if (hit)
		report_denied(g, sn, hit, &pi, caller, lk);
	proc_info_put(lk);
	proc_info_put(fresh_parent);
}

/* The test knob's stall; a stop cuts it short so shutdown stays quick. */
static void stall(const struct execgate *g)
{
	struct pollfd pfd = { .fd = g->stopfd, .events = POLLIN };

	poll(&pfd, 1, (int)g->stall_ms);
}

/* ---- the gate thread ---- */

static void answer_now(struct execgate *g, int fd, uint32_t response,
		       atomic_uint_fast64_t *counter)
{
	if (execgate_reply(g->core.fanfd, fd, response))
		atomic_fetch_add(&g->core.c.reply_errors, 1);
	atomic_fetch_add(response == FAN_DENY ? &g->core.c.denied : &g->core.c.allowed, 1);
	atomic_fetch_add(counter, 1);
}

/* File one event in a slot for the watchdog; false if it was answered
 * on the spot (the sensor's own, or no free slot). */
/* What needs no decision, done at once (by either thread): true if @m
 * was closed or answered here. */
static bool settled_at_once(struct execgate *g, const struct fanotify_event_metadata *m)
{
	if (m->fd < 0)
		return true;	/* FAN_Q_OVERFLOW cannot happen: unlimited queue */
	if (!(m->mask & FAN_OPEN_EXEC_PERM)) {
		close(m->fd);
		return true;
	}
	if (m->pid == g->s->self_pid) {
		answer_now(g, m->fd, FAN_ALLOW, &g->core.c.self_allowed);
		return true;
	}
	return false;
}

static bool file_event(struct execgate *g, const struct fanotify_event_metadata *m,
		       uint64_t now, struct filed *f)
{
	int idx;

	if (settled_at_once(g, m))
		return false;
	idx = execgate_core_add(&g->core, m->fd, m->pid, now, &f->word);
	if (idx < 0) {
		answer_now(g, m->fd, g->core.default_response, &g->core.c.overflow);
		return false;
	}
	f->idx = (uint32_t)idx;
	return true;
}

/* Arm the watchdog's timer to fire @ns from now. */
static void arm_watchdog(struct execgate *g, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull) },
	};

	if (timerfd_settime(g->timerfd, 0, &its, NULL))
		atomic_fetch_add(&g->core.c.read_errors, 1);
}

/* Read, file and decide what the kernel has, batch by batch. */
static void serve(struct execgate *g)
{
	char buf[READ_BUF] __attribute__((aligned(8)));
	struct filed batch[BATCH_MAX];

	for (;;) {
		ssize_t n = read(g->core.fanfd, buf, sizeof(buf));
		const struct fanotify_event_metadata *m = (const void *)buf;
		unsigned int nb = 0;
		struct gate_snap *sn;
		uint64_t now;

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				atomic_fetch_add(&g->core.c.read_errors, 1);
			return;
		}
		now = now_ns();
		/* Store, then exchange (seq_cst); the watchdog stores the flag,
		 * then loads busy_since_ns: one of us always arms the timer. */
		atomic_store(&g->busy_since_ns, now);
		if (!atomic_exchange(&g->timer_armed, true))
			arm_watchdog(g, g->core.deadline_ns);
		for (; FAN_EVENT_OK(m, n) && nb < BATCH_MAX; m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				atomic_fetch_add(&g->core.c.read_errors, 1);
				break;
			}
			if (file_event(g, m, now, &batch[nb]))
				nb++;
		}
		sn = snap_pin(g);
		for (unsigned int i = 0; i < nb; i++) {
			if (g->stall_ms)
				stall(g);
			decide_one(g, sn, &batch[i]);
		}
		snap_put(sn);
		atomic_store(&g->busy_since_ns, 0);
		/* Room for another event left: the queue was empty when read,
		 * and poll() says when it is not (saves a read per exec). */
		if ((size_t)n + FAN_EVENT_METADATA_LEN <= sizeof(buf))
			return;
	}
}

static void *gate_main(void *arg)
{
	struct execgate *g = arg;
	struct pollfd pfd[2] = {
		{ .fd = g->core.fanfd, .events = POLLIN },
		{ .fd = g->stopfd, .events = POLLIN },
	};

	pthread_setname_np(pthread_self(), "senseond-gate");	/* top -H, perf */

	for (;;) {
		int rc = poll(pfd, 2, -1);

		if (rc < 0) {
			/* ENOMEM: the watchdog answers meanwhile; retry */
			if (errno != EINTR)
				atomic_fetch_add(&g->core.c.read_errors, 1);
			continue;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN)
			serve(g);
	}
	return NULL;
}

/* ---- the watchdog ---- */

/* The gate thread is stalled past the deadline: answer whatever the
 * kernel holds with the default response rather than let it queue. */
static void drain_default(struct execgate *g)
{
	char buf[READ_BUF] __attribute__((aligned(8)));

	for (;;) {
		ssize_t n = read(g->core.fanfd, buf, sizeof(buf));
		const struct fanotify_event_metadata *m = (const void *)buf;

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				atomic_fetch_add(&g->core.c.read_errors, 1);
			return;
		}
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				atomic_fetch_add(&g->core.c.read_errors, 1);
				return;
			}
			if (!settled_at_once(g, m))
				answer_now(g, m->fd, g->core.default_response, &g->core.c.deadline);
		}
	}
}

static void *watchdog_main(void *arg)
{
	struct execgate *g = arg;
	struct pollfd pfd[2] = {
		{ .fd = g->timerfd, .events = POLLIN },
		{ .fd = g->stopfd, .events = POLLIN },
	};
	uint64_t v;

	pthread_setname_np(pthread_self(), "senseond-gatewd");

	for (;;) {
		int rc = poll(pfd, 2, IDLE_MS);
		uint64_t now, busy;

		/* Never leave: a failing poll (ENOMEM) still runs the checks. */
		if (rc < 0 && errno != EINTR)
			atomic_fetch_add(&g->core.c.read_errors, 1);
		now = now_ns();
		atomic_store_explicit(&g->heartbeat_ns, now, memory_order_relaxed);
		if (rc > 0 && pfd[1].revents)
			break;
		if (rc > 0 && pfd[0].revents && read(g->timerfd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			atomic_fetch_add(&g->core.c.read_errors, 1);
		execgate_core_expire(&g->core, now, NULL);
		busy = atomic_load(&g->busy_since_ns);
		if (busy && now > busy && now - busy >= g->core.deadline_ns)
			drain_default(g);
		if (!busy) {
			/* Idle: the next batch arms the timer, unless one began
			 * while the flag was still set (see serve()). */
			atomic_store(&g->timer_armed, false);
			if (!atomic_load(&g->busy_since_ns) ||
			    atomic_exchange(&g->timer_armed, true))
				continue;
		}
		/* A batch is going: look again soon. */
		arm_watchdog(g, WATCH_MS * 1000000ull);
	}
	return NULL;
}

/* ---- start, stop, update ---- */

static int mark_paths(int fanfd, const struct strlist *paths, char *err, size_t errlen)
{
	for (size_t i = 0; i < paths->n; i++) {
		const char *p = paths->v[i];

		if (fanotify_mark(fanfd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
				  FAN_OPEN_EXEC_PERM, AT_FDCWD, p) == 0)
			continue;
		/* Filesystems that cannot take a filesystem mark (btrfs
		 * subvolumes: EXDEV) still take a mount mark. */
		if ((errno == EXDEV || errno == EINVAL) &&
		    fanotify_mark(fanfd, FAN_MARK_ADD | FAN_MARK_MOUNT,
				  FAN_OPEN_EXEC_PERM, AT_FDCWD, p) == 0)
			continue;
		snprintf(err, errlen, "cannot gate %s: %s", p, strerror(errno));
		return -errno;
	}
	return 0;
}

static const struct strlist *gate_paths(const struct sensor *s)
{
	return s->cfg.exec_gate_paths.n ? &s->cfg.exec_gate_paths : &s->cfg.watch_paths;
}

static bool same_paths(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static void paths_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int paths_copy(struct strlist *dst, const struct strlist *src)
{
	dst->v = calloc(src->n + 1, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	for (dst->n = 0; dst->n < src->n; dst->n++)
		if (!(dst->v[dst->n] = strdup(src->v[dst->n])))
			return -ENOMEM;
	return 0;
}

static void gate_free(struct execgate *g)
{
	if (g->core.fanfd >= 0) {
		crash_fanfd = -1;
		close(g->core.fanfd);	/* releases anything still waiting */
	}
	if (g->stopfd >= 0)
		close(g->stopfd);
	if (g->timerfd >= 0)
		close(g->timerfd);
	snap_put(g->snap);
	paths_free(&g->paths);
	pthread_mutex_destroy(&g->snap_lock);
	free(g);
}

static int gate_open(struct sensor *s, struct execgate *g, char *err, size_t errlen)
{
	const char *stall_env = getenv("SENSEON_GATE_TEST_STALL_MS");
	ssize_t n;
	int fd, rc;

	g->s = s;
	g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
			   FAN_UNLIMITED_QUEUE, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	execgate_core_init(&g->core, fd, (uint64_t)s->cfg.exec_gate_deadline_ms * 1000000ull,
			   s->cfg.exec_gate_fail_closed);
	if (fd < 0 || g->stopfd < 0 || g->timerfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "fanotify_init: %s", strerror(errno));
		return rc;
	}
	crash_fanfd = fd;
	if ((rc = paths_copy(&g->paths, gate_paths(s)))) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	if ((rc = mark_paths(fd, &g->paths, err, errlen)))
		return rc;
	n = readlink("/proc/self/exe", g->self_exe, sizeof(g->self_exe) - 1);
	g->self_exe_len = n > 0 ? (size_t)n : 0;
	g->self_exe[g->self_exe_len] = '\0';
	if (stall_env)
		g->stall_ms = strtol(stall_env, NULL, 10);
	return 0;
}

static int gate_start(struct sensor *s, struct gate_snap *sn)
{
	struct execgate *g = calloc(1, sizeof(*g));
	char err[512] = "";
	int rc;

	if (!g) {
		snap_put(sn);
		return -ENOMEM;
	}
	g->core.fanfd = g->stopfd = g->timerfd = -1;
	pthread_mutex_init(&g->snap_lock, NULL);
	g->snap = sn;
	rc = gate_open(s, g, err, sizeof(err));
	if (rc)
		goto fail;
	atomic_store(&g->heartbeat_ns, now_ns());
	if ((rc = -pthread_create(&g->watchdog, NULL, watchdog_main, g)))
		goto fail_thread;
	if ((rc = -pthread_create(&g->gate, NULL, gate_main, g))) {
		uint64_t one = 1;

		if (write(g->stopfd, &one, sizeof(one)) < 0)
			rc = -errno;
		pthread_join(g->watchdog, NULL);
		goto fail_thread;
	}
	g->threads = true;
	s->gate = g;
	if (g->stall_ms)
		log_warn("exec gate: SENSEON_GATE_TEST_STALL_MS=%ld: every decision is delayed "
			 "(test knob)", g->stall_ms);
	log_notice("exec gate: %zu deny policies, %zu paths gated, deadline %ld ms, %s",
		   sn->n, g->paths.n, s->cfg.exec_gate_deadline_ms,
		   s->cfg.exec_gate_fail_closed ? "fail-closed" : "fail-open");
	return 0;
fail_thread:
	snprintf(err, sizeof(err), "cannot start threads: %s", strerror(-rc));
fail:
	log_err("exec gate not started (deny actions will report failed): %s", err);
	gate_free(g);
	return rc;
}

void execgate_stop(struct sensor *s)
{
	struct execgate *g = s->gate;
	uint64_t one = 1;

	if (!g)
		return;
	s->gate = NULL;
	if (g->threads) {
		if (write(g->stopfd, &one, sizeof(one)) < 0)
			log_warn("exec gate: stop: %s", strerror(errno));
		pthread_join(g->gate, NULL);
		pthread_join(g->watchdog, NULL);
	}
	/* Answer what the threads left, ALLOW whatever the failure mode: we
	 * are stopping, not failing.  The deadline does not matter now. */
	g->core.default_response = FAN_ALLOW;
	execgate_core_expire(&g->core, UINT64_MAX / 2, NULL);
	gate_free(g);
	log_notice("exec gate stopped");
}

int execgate_update(struct sensor *s)
{
	struct gate_snap *sn = snap_build(s->policies);

	if (!sn) {
		log_err("exec gate: out of memory; keeping the running snapshot");
		return -ENOMEM;
	}
	if (!sn->n) {
		snap_put(sn);
		execgate_stop(s);
		return 0;
	}
	if (s->gate && (!same_paths(&s->gate->paths, gate_paths(s)) ||
			s->gate->core.deadline_ns !=
			(uint64_t)s->cfg.exec_gate_deadline_ms * 1000000ull ||
			(s->gate->core.default_response == FAN_DENY) != s->cfg.exec_gate_fail_closed))
		execgate_stop(s);	/* new marks or settings: a new group */
	if (s->gate) {
		snap_swap(s->gate, sn);
		return 0;
	}
	return gate_start(s, sn);
}

bool execgate_healthy(struct sensor *s)
{
	struct execgate *g = s->gate;
	uint64_t now = now_ns(), beat, busy;

	if (!g || !g->threads)
		return true;
	beat = atomic_load_explicit(&g->heartbeat_ns, memory_order_relaxed);
	if (now > beat && now - beat > STUCK_NS)
		return false;
	/* The watchdog answers for a gate thread stuck in a batch, but the
	 * gate is then off in all but name. */
	busy = atomic_load(&g->busy_since_ns);
	if (busy && now > busy && now - busy > g->core.deadline_ns + STUCK_NS)
		return false;
	/* The watchdog runs but events outlive their deadline by far:
	 * answers are not getting through. */
	for (unsigned int i = 0; i < EXECGATE_SLOTS; i++) {
		const struct execgate_slot *sl = &g->core.slots[i];
		uint64_t w = atomic_load_explicit(&sl->state, memory_order_acquire);

		if ((w & ST_MASK) != ST_FREE && now > sl->t_recv_ns &&
		    now - sl->t_recv_ns > g->core.deadline_ns + STUCK_NS)
			return false;
	}
	return true;
}

void execgate_status(struct sensor *s, json_t *st)
{
	struct execgate *g = s->gate;
	const struct execgate_counters *c;
	json_t *o = json_object();

	json_object_set_new(o, "active", json_boolean(g != NULL));
	json_object_set_new(st, "execGate", o);
	if (!g)
		return;
	c = &g->core.c;
#define CNT(name, field) \
	json_object_set_new(o, name, json_integer((json_int_t)atomic_load(&c->field)))
	CNT("decisions", decisions);
	CNT("allowed", allowed);
	CNT("denied", denied);
	CNT("deadlineAnswers", deadline);
	CNT("selfAllowed", self_allowed);
	CNT("overflowAnswers", overflow);
	CNT("sha256Skipped", sha256_skipped);
	CNT("replyErrors", reply_errors);
	CNT("readErrors", read_errors);
	CNT("staleDecisions", stale);
	CNT("tableMisses", table_misses);
	CNT("allowedByName", by_name);
#undef CNT
	json_object_set_new(o, "denyPolicies", json_integer((json_int_t)g->snap->n));
	json_object_set_new(o, "paths", json_integer((json_int_t)g->paths.n));
	json_object_set_new(o, "deadlineMs", json_integer(s->cfg.exec_gate_deadline_ms));
	json_object_set_new(o, "failClosed", json_boolean(g->core.default_response == FAN_DENY));
	json_object_set_new(o, "maxLatencyUs",
			    json_integer((json_int_t)(atomic_load(&c->max_ns) / 1000)));
	json_object_set_new(o, "p99LatencyUs",
			    json_integer((json_int_t)((execgate_core_p99_ns(&g->core) + 999) / 1000)));
}

/* ---- fatal signals ---- */

static void crash_handler(int sig)
{
	int fd = crash_fanfd;

	if (fd >= 0)
		close(fd);
	/* SA_RESETHAND restored the default action: die by the same signal */
	raise(sig);
}

void execgate_install_crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
