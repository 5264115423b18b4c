/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source_proc - the process source (netlink proc connector) and the exec
 * source (fanotify FAN_OPEN_EXEC), read by one thread.
 *
 * Overview: owns the connector socket (libnl-3), the fanotify group that
 * reports every binary opened for execution on the watched filesystems,
 * an eventfd that wakes the thread for stop, and the thread itself.  It
 * turns kernel records into struct event and hands them to the pipeline
 * with sensor_push(); it must not touch the process table, policies or
 * sinks, which belong to the main loop.  Each pushed event (and its
 * pre-read proc_info) passes to the queue's consumer.
 *
 * Why one thread reads both: during an execve the kernel queues the
 * FAN_OPEN_EXEC events (the program, then its script interpreter and
 * ld.so) before it sends the connector's exec event.  So after a batch of
 * netlink messages has been received, every exec-open that belongs to an
 * exec in that batch is already in the fanotify queue.  The thread drains
 * fanotify completely *after* receiving each netlink batch and *before*
 * pushing it; the exec-open record therefore always reaches the queue
 * ahead of its exec event, and the process table's join of "exact binary"
 * to "exec of pid" is exact, without timeouts or guessing.  (Draining
 * before the receive would not do: an exec could land in between.)  Only
 * exec events need the join, so a batch of forks and exits, most of an
 * exec storm's wake-ups, does not pay the drain's read(2); the drain runs
 * right before the batch's first exec event is pushed.
 *
 * Exec events also carry a read of /proc made here, the moment the kernel
 * reported them (proc_info_read_raw): a program such as /bin/true is often
 * gone, argv and all, by the time the main loop gets to its event.
 *
 * Loss: ENOBUFS on the connector socket means the kernel dropped messages.
 * It reports an overflow once, then marks the socket congested and drops
 * every later message *silently* until a read finds the socket empty
 * (net/netlink/af_netlink.c: netlink_overrun, netlink_broadcast_deliver,
 * netlink_rcv_wake).  So the loss is not over when ENOBUFS is read: a
 * process forked between that read and the socket's emptying has all its
 * events dropped, and a /proc rescan made in that window cannot know it
 * (proc_flood.sh: a sleeper known to nothing).  Each ENOBUFS therefore
 * adds 1 to overflows and 1 to lost at once (the status shows the loss
 * while it lasts), but the EVENT_LOSS and the resync request wait until
 * the socket has been read empty; then the socket's own drop count
 * (SO_MEMINFO) says how many messages were lost in all, and the rescan
 * the main loop makes after that point sees every process whose events
 * were dropped.
 */
#include "sensor.h"
#include "event.h"
#include "fdpath.h"
#include "log.h"
#include "proctable.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NL_BATCH	64	/* connector messages per recvmmsg() */
#define NL_MSG_SIZE	1024	/* one connector message is ~100 bytes */
#define FAN_BUF_SIZE	(64 * 1024)
#define MAX_FS		64	/* distinct filesystems marked */

struct proc_source {
	struct sensor *s;
	struct nl_sock *nl;
	int nlfd;
	int fanfd;
	int wakefd;
	pthread_t thread;
	bool started;
	bool fan_drained;	/* since the current netlink batch arrived */
	unsigned int nl_overflows;	/* ENOBUFS read since the socket was last empty */
	bool nl_have_drops;	/* SO_MEMINFO works: nl_drops is the socket's count */
	uint32_t nl_drops;	/* its drop count when the last loss was accounted */
	struct mmsghdr msgs[NL_BATCH];
	struct iovec iov[NL_BATCH];
	struct sockaddr_nl from[NL_BATCH];
	char nlbuf[NL_BATCH][NL_MSG_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	char fanbuf[FAN_BUF_SIZE] __attribute__((aligned(8)));
};

/* ---- proc connector ----------------------------------------------------- */

static void drain_fanotify(struct proc_source *ps);
static bool nl_drop_count(struct proc_source *ps, uint32_t *drops);

static int nl_send_op(struct proc_source *ps, enum proc_cn_mcast_op op)
{
	char buf[sizeof(struct cn_msg) + sizeof(op)] = { 0 };
	struct cn_msg *cn = (struct cn_msg *)(void *)buf;
	struct nl_msg *msg;
	int rc;

	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(op);
	memcpy(buf + sizeof(*cn), &op, sizeof(op));
	msg = nlmsg_alloc_simple(NLMSG_DONE, 0);
	if (!msg)
		return -ENOMEM;
	rc = nlmsg_append(msg, buf, sizeof(buf), NLMSG_ALIGNTO);
	if (rc == 0)
		rc = nl_send_auto(ps->nl, msg);
	nlmsg_free(msg);
	if (rc < 0) {
		log_err("proc connector: cannot send %s: %s",
			op == PROC_CN_MCAST_LISTEN ? "LISTEN" : "IGNORE", nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

static int nl_open(struct proc_source *ps, long rcvbuf)
{
	int val = (int)rcvbuf, rc;

	ps->nl = nl_socket_alloc();
	if (!ps->nl)
		return -ENOMEM;
	nl_socket_disable_seq_check(ps->nl);
	nl_socket_disable_auto_ack(ps->nl);
	rc = nl_connect(ps->nl, NETLINK_CONNECTOR);
	if (rc < 0) {
		log_err("proc connector: connect: %s", nl_geterror(rc));
		return -EIO;
	}
	ps->nlfd = nl_socket_get_fd(ps->nl);
	/* libnl opens with SOCK_CLOEXEC; say so anyway for older builds */
	fcntl(ps->nlfd, F_SETFD, FD_CLOEXEC);
	rc = nl_socket_add_membership(ps->nl, CN_IDX_PROC);
	if (rc < 0) {
		log_err("proc connector: join CN_IDX_PROC: %s", nl_geterror(rc));
		return -EIO;
	}
	if (setsockopt(ps->nlfd, SOL_SOCKET, SO_RCVBUFFORCE, &val, sizeof(val)) < 0)
		log_warn("proc connector: SO_RCVBUFFORCE %d: %s", val, strerror(errno));
	ps->nl_have_drops = nl_drop_count(ps, &ps->nl_drops);
	rc = nl_socket_set_nonblocking(ps->nl);
	if (rc < 0) {
		log_err("proc connector: non-blocking: %s", nl_geterror(rc));
		return -EIO;
	}
	for (int i = 0; i < NL_BATCH; i++) {
		ps->iov[i].iov_base = ps->nlbuf[i];
		ps->iov[i].iov_len = NL_MSG_SIZE;
	}
	return nl_send_op(ps, PROC_CN_MCAST_LISTEN);
}

/* Ask for a resync and report @lost events lost from @src. */
static void push_loss_event(struct proc_source *ps, enum source_id src, const char *name,
			    uint64_t lost)
{
	struct sensor *s = ps->s;
	struct event *ev;

	/* requested before the push, so the main loop's wake-up sees it */
	atomic_store(&s->need_resync, true);
	ev = event_new(EVENT_LOSS);
	if (!ev)
		return;
	ev->lost = lost;
	ev->loss_source = name;
	sensor_push(s, src, ev);
}

static void push_loss(struct proc_source *ps, enum source_id src, const char *name)
{
	/* The kernel does not say how many: one overflow, at least one lost. */
	atomic_fetch_add(&ps->s->stats[src].overflows, 1);
	atomic_fetch_add(&ps->s->stats[src].lost, 1);
	push_loss_event(ps, src, name, 1);
}

/* The connector socket's count of dropped messages (SO_MEMINFO). */
static bool nl_drop_count(struct proc_source *ps, uint32_t *drops)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(ps->nlfd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return false;
	*drops = mem[SK_MEMINFO_DROPS];
	return true;
}

/* ENOBUFS: counted now; reported when the socket is empty (Overview). */
static void nl_overflow(struct proc_source *ps)
{
	atomic_fetch_add(&ps->s->stats[SOURCE_PROC].overflows, 1);
	atomic_fetch_add(&ps->s->stats[SOURCE_PROC].lost, 1);
	ps->nl_overflows++;
}

/*
 * A read found the connector socket empty: the kernel has stopped dropping
 * (the congestion ends with that read), so every message of this loss is
 * behind us.  Now report it, with the count the socket kept, and ask for
 * the resync, which the main loop therefore makes after this point.
 */
static void nl_loss_end(struct proc_source *ps)
{
	uint64_t lost = ps->nl_overflows;
	uint32_t drops;

	if (!ps->nl_overflows)
		return;
	if (ps->nl_have_drops && nl_drop_count(ps, &drops)) {
		uint32_t n = drops - ps->nl_drops;	/* wraps like the kernel's */

		ps->nl_drops = drops;
		if (n > lost) {
			atomic_fetch_add(&ps->s->stats[SOURCE_PROC].lost, n - lost);
			lost = n;
		}
	}
	ps->nl_overflows = 0;
	push_loss_event(ps, SOURCE_PROC, "proc", lost);
}

/* The member of the event_data union must fit in what the kernel sent. */
#define PE_HAS(len, member) \
	((len) >= offsetof(struct proc_event, event_data) + \
		  sizeof(((struct proc_event *)0)->event_data.member))

static struct event *fork_event(const struct proc_event *pe, size_t len)
{
	struct event *ev;

	/* Threads share the process: only new thread-group leaders count. */
	if (!PE_HAS(len, fork) ||
	    pe->event_data.fork.child_pid != pe->event_data.fork.child_tgid)
		return NULL;
	ev = event_new(EVENT_PROC_FORK);
	if (!ev)
		return NULL;
	ev->pid = pe->event_data.fork.child_tgid;
	ev->tid = pe->event_data.fork.child_pid;
	ev->ppid = pe->event_data.fork.parent_tgid;
	return ev;
}

static struct event *exec_event(const struct proc_event *pe, size_t len)
{
	struct event *ev;

	if (!PE_HAS(len, exec))
		return NULL;
	ev = event_new(EVENT_PROC_EXEC);
	if (!ev)
		return NULL;
	ev->pid = pe->event_data.exec.process_tgid;
	ev->tid = pe->event_data.exec.process_pid;
	ev->proc = proc_info_read_raw("/proc", ev->pid);
	return ev;
}

static struct event *exit_event(const struct proc_event *pe, size_t len)
{
	struct event *ev;

	/* A thread's exit is not the process's. */
	if (!PE_HAS(len, exit) ||
	    pe->event_data.exit.process_pid != pe->event_data.exit.process_tgid)
		return NULL;
	ev = event_new(EVENT_PROC_EXIT);
	if (!ev)
		return NULL;
	ev->pid = pe->event_data.exit.process_tgid;
	ev->exit_code = (int)pe->event_data.exit.exit_code;
	return ev;
}

/* setuid() in glibc changes every thread: report the leader's change only. */
static struct event *id_event(const struct proc_event *pe, size_t len)
{
	bool uid = pe->what == PROC_EVENT_UID;
	struct event *ev;

	if (!PE_HAS(len, id) || pe->event_data.id.process_pid != pe->event_data.id.process_tgid)
		return NULL;
	ev = event_new(uid ? EVENT_PROC_UID : EVENT_PROC_GID);
	if (!ev)
		return NULL;
	ev->pid = pe->event_data.id.process_tgid;
	if (uid)
		ev->uid = pe->event_data.id.r.ruid;
	else
		ev->gid = pe->event_data.id.r.rgid;
	return ev;
}

static pid_t subject_tgid(const struct proc_event *pe)
{
	switch (pe->what) {
	case PROC_EVENT_FORK:
		return pe->event_data.fork.child_tgid;
	case PROC_EVENT_EXEC:
		return pe->event_data.exec.process_tgid;
	case PROC_EVENT_EXIT:
		return pe->event_data.exit.process_tgid;
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		return pe->event_data.id.process_tgid;
	default:
		return 0;
	}
}

static void handle_proc_event(struct proc_source *ps, const struct proc_event *pe, size_t len)
{
	struct event *ev = NULL;

	if (len < offsetof(struct proc_event, event_data) ||
	    subject_tgid(pe) == ps->s->self_pid)
		return;
	switch (pe->what) {
	case PROC_EVENT_FORK:
		ev = fork_event(pe, len);
		break;
	case PROC_EVENT_EXEC:
		if (!ps->fan_drained) {
			drain_fanotify(ps);
			ps->fan_drained = true;
		}
		ev = exec_event(pe, len);
		break;
	case PROC_EVENT_EXIT:
		ev = exit_event(pe, len);
		break;
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		ev = id_event(pe, len);
		break;
	default:
		return;
	}
	if (ev)
		sensor_push(ps->s, SOURCE_PROC, ev);
}

/* Only the kernel (nl_pid 0) speaking for the proc connector is believed. */
static void handle_datagram(struct proc_source *ps, int i, size_t len)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)ps->nlbuf[i];
	int left = (int)len;

	if (ps->from[i].nl_pid != 0 || (ps->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
		atomic_fetch_add(&ps->s->stats[SOURCE_PROC].errors, 1);
		return;
	}
	for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
		struct cn_msg *cn = NLMSG_DATA(nlh);
		size_t plen = NLMSG_PAYLOAD(nlh, 0);

		if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_ERROR)
			continue;
		if (plen < sizeof(*cn) || cn->id.idx != CN_IDX_PROC ||
		    cn->id.val != CN_VAL_PROC || cn->len > plen - sizeof(*cn))
			continue;
		/* cn->data sits 4 bytes past an 8-byte boundary and struct
		 * proc_event holds a u64: copy it out rather than read it
		 * misaligned. */
		struct proc_event pe;
		size_t n = cn->len < sizeof(pe) ? cn->len : sizeof(pe);

		memset(&pe, 0, sizeof(pe));
		memcpy(&pe, cn->data, n);
		handle_proc_event(ps, &pe, n);
	}
}

/* ---- fanotify exec source ----------------------------------------------- */

static int fan_open(struct proc_source *ps, const struct strlist *paths)
{
	dev_t seen[MAX_FS];
	size_t nseen = 0, marked = 0;

	ps->fanfd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				  FAN_UNLIMITED_QUEUE,
				  O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (ps->fanfd < 0) {
		log_err("exec source: fanotify_init: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < paths->n; i++) {
		const char *path = paths->v[i];
		struct stat st;
		size_t j;

		if (stat(path, &st) < 0) {
			log_warn("exec source: %s: %s; not watched", path, strerror(errno));
			continue;
		}
		for (j = 0; j < nseen && seen[j] != st.st_dev; j++)
			;
		if (j < nseen)
			continue;	/* one mark covers the whole filesystem */
		if (nseen < MAX_FS)
			seen[nseen++] = st.st_dev;
		if (fanotify_mark(ps->fanfd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
				  FAN_OPEN_EXEC, AT_FDCWD, path) < 0) {
			log_warn("exec source: cannot watch the filesystem of %s: %s",
				 path, strerror(errno));
			continue;
		}
		marked++;
	}
	if (!marked)
		log_warn("exec source: no filesystem watched; binaries will come from /proc");
	return 0;
}

static void handle_exec_open(struct proc_source *ps, const struct fanotify_event_metadata *m)
{
	char path[PATH_MAX];
	struct event *ev;
	struct stat st;
	ssize_t n;

	n = fd_path(m->fd, path, sizeof(path));
	if (n < 0 || fstat(m->fd, &st) < 0) {
		atomic_fetch_add(&ps->s->stats[SOURCE_EXEC].errors, 1);
		return;
	}
	ev = event_new(EVENT_EXEC_OPEN);
	if (!ev || bytes_set(&ev->path, path, (size_t)n)) {
		event_free(ev);
		atomic_fetch_add(&ps->s->stats[SOURCE_EXEC].errors, 1);
		return;
	}
	ev->pid = m->pid;
	ev->dev = st.st_dev;
	ev->ino = st.st_ino;
	sensor_push(ps->s, SOURCE_EXEC, ev);
}

static void handle_fan_event(struct proc_source *ps, const struct fanotify_event_metadata *m)
{
	if (m->vers != FANOTIFY_METADATA_VERSION) {
		atomic_fetch_add(&ps->s->stats[SOURCE_EXEC].errors, 1);
	} else if (m->mask & FAN_Q_OVERFLOW) {
		push_loss(ps, SOURCE_EXEC, "exec");
	} else if (m->fd >= 0 && m->pid != ps->s->self_pid) {
		handle_exec_open(ps, m);
	}
	if (m->fd >= 0)
		close(m->fd);
}

static void drain_fanotify(struct proc_source *ps)
{
	if (ps->fanfd < 0)
		return;
	for (;;) {
		ssize_t n = read(ps->fanfd, ps->fanbuf, sizeof(ps->fanbuf));
		const struct fanotify_event_metadata *m;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				atomic_fetch_add(&ps->s->stats[SOURCE_EXEC].errors, 1);
			return;
		}
		if (n == 0)
			return;
		m = (const struct fanotify_event_metadata *)(void *)ps->fanbuf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n))
			handle_fan_event(ps, m);
	}
}

/* ---- the thread ---------------------------------------------------------- */

/*
 * Receive netlink batches until empty; see the Overview for the order.
 * After an ENOBUFS the loss is reported only once a read has found the
 * socket empty (a short batch or EAGAIN), never on another error.
 */
static void drain_netlink(struct proc_source *ps)
{
	for (;;) {
		int n;

		for (int i = 0; i < NL_BATCH; i++) {
			memset(&ps->msgs[i].msg_hdr, 0, sizeof(ps->msgs[i].msg_hdr));
			ps->msgs[i].msg_hdr.msg_iov = &ps->iov[i];
			ps->msgs[i].msg_hdr.msg_iovlen = 1;
			ps->msgs[i].msg_hdr.msg_name = &ps->from[i];
			ps->msgs[i].msg_hdr.msg_namelen = sizeof(ps->from[i]);
		}
		n = recvmmsg(ps->nlfd, ps->msgs, NL_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			nl_overflow(ps);
			continue;	/* the socket still holds what fitted */
		}
		if (n < 0) {
			if (errno != EAGAIN)
				atomic_fetch_add(&ps->s->stats[SOURCE_PROC].errors, 1);
			else
				nl_loss_end(ps);
			return;
		}
		ps->fan_drained = false;
		for (int i = 0; i < n; i++)
			handle_datagram(ps, i, ps->msgs[i].msg_len);
		if (n < NL_BATCH) {
			/* pushed after the batch: the loss event follows the
			 * messages that were queued ahead of the drops */
			nl_loss_end(ps);
			return;
		}
	}
}

/*
 * With the connector open, the exec-open group is not polled: every exec
 * drains it before its event is pushed (see the Overview), so waking for
 * each exec-open as well would only add a wake-up per exec.  What no exec
 * event follows (an execve that failed after opening its binary) is read
 * by the drain at the next exec, or at the latest FAN_IDLE_DRAIN_MS later,
 * so the queue, and the files its events pin, stay small.
 */
#define FAN_IDLE_DRAIN_MS	1000

static void *proc_thread(void *arg)
{
	struct proc_source *ps = arg;
	bool fan_polled = ps->nlfd < 0;
	struct pollfd pfd[3] = {
		{ .fd = ps->wakefd, .events = POLLIN },
		{ .fd = ps->nlfd, .events = POLLIN },
		{ .fd = fan_polled ? ps->fanfd : -1, .events = POLLIN },
	};
	bool idle_drain = !fan_polled && ps->fanfd >= 0;
	uint64_t last_drain = monotonic_ns();

	pthread_setname_np(pthread_self(), "senseond-proc");	/* top -H, perf */
	while (!atomic_load(&ps->s->stopping)) {
		int n = poll(pfd, 3, idle_drain ? FAN_IDLE_DRAIN_MS : -1);	/* negative fds are ignored */

		if (n < 0 && errno != EINTR) {
			log_err("process source: poll: %s", strerror(errno));
			break;
		}
		if (idle_drain && monotonic_ns() - last_drain >=
				  FAN_IDLE_DRAIN_MS * 1000000ull) {
			drain_fanotify(ps);
			last_drain = monotonic_ns();
		}
		if (n <= 0)
			continue;
		if (pfd[0].revents)
			break;
		/* POLLERR on the netlink socket is how ENOBUFS shows up. */
		if (ps->nlfd >= 0 && pfd[1].revents)
			drain_netlink(ps);
		if (pfd[2].revents)
			drain_fanotify(ps);
	}
	return NULL;
}

static void source_free(struct proc_source *ps)
{
	if (ps->nl) {
		if (ps->nlfd >= 0)
			nl_send_op(ps, PROC_CN_MCAST_IGNORE);
		nl_socket_free(ps->nl);	/* closes nlfd */
	}
	if (ps->fanfd >= 0)
		close(ps->fanfd);
	if (ps->wakefd >= 0)
		close(ps->wakefd);
	free(ps);
}

/**
 * source_proc_open - open the proc connector and the FAN_OPEN_EXEC group.
 * @s: the sensor; cfg.process_source and cfg.exec_source say which
 *
 * Runs on the main thread with every capability.  Returns 0 or -errno.
 */
int source_proc_open(struct sensor *s)
{
	struct proc_source *ps = calloc(1, sizeof(*ps));
	int rc = 0;

	if (!ps)
		return -ENOMEM;
	ps->s = s;
	ps->nlfd = ps->fanfd = -1;
	ps->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ps->wakefd < 0) {
		rc = -errno;
		goto fail;
	}
	if (s->cfg.process_source && (rc = nl_open(ps, s->cfg.proc_rcvbuf)))
		goto fail;
	if (s->cfg.exec_source && (rc = fan_open(ps, &s->cfg.watch_paths)))
		goto fail;
	s->source_priv[SOURCE_PROC] = ps;
	return 0;
fail:
	source_free(ps);
	return rc;
}

/**
 * source_proc_run - start the thread that reads both kernel interfaces.
 * @s: the sensor, after source_proc_open()
 *
 * Returns 0 or -errno.
 */
int source_proc_run(struct sensor *s)
{
	struct proc_source *ps = s->source_priv[SOURCE_PROC];
	int rc;

	if (!ps)
		return -EINVAL;
	rc = pthread_create(&ps->thread, NULL, proc_thread, ps);
	if (rc) {
		log_err("process source: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	ps->started = true;
	return 0;
}

/**
 * source_proc_stop - stop and join the thread, unsubscribe, close every fd.
 * @s: the sensor
 */
void source_proc_stop(struct sensor *s)
{
	struct proc_source *ps = s->source_priv[SOURCE_PROC];
	uint64_t one = 1;

	if (!ps)
		return;
	if (ps->started) {
		if (write(ps->wakefd, &one, sizeof(one)) < 0)
			log_warn("process source: cannot wake its thread: %s", strerror(errno));
		pthread_join(ps->thread, NULL);
	}
	s->source_priv[SOURCE_PROC] = NULL;
	source_free(ps);
}
