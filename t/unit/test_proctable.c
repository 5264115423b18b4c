/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_proctable - the process table against real processes the test
 * starts, and against an imitation of /proc in a temporary directory for
 * what the kernel will not do on demand (pid reuse, container cgroups).
 */
#include "proctable.h"
#include "event.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- cgroup_container_id ------------------------------------------------- */

static void expect_container(const char *cg, const char *want_id, const char *want_rt)
{
	char id[128] = "";
	const char *rt = NULL;
	int rc = cgroup_container_id(cg, id, sizeof(id), &rt);

	ck_assert_msg(rc == 0, "%s: expected a %s container, got none", cg, want_rt);
	ck_assert_msg(strcmp(id, want_id) == 0, "%s: expected id %s, got %s", cg, want_id, id);
	ck_assert_msg(rt && strcmp(rt, want_rt) == 0, "%s: expected runtime %s, got %s",
		      cg, want_rt, rt ? rt : "(null)");
}

static void expect_no_container(const char *cg)
{
	char id[128] = "";
	const char *rt = NULL;

	ck_assert_msg(cgroup_container_id(cg, id, sizeof(id), &rt) == -1,
		      "%s: expected no container, got %s (%s)", cg, id, rt ? rt : "?");
}

START_TEST(container_ids)
{
	expect_container("/system.slice/docker-" HEX64 ".scope", HEX64, "docker");
	expect_container("/docker/" HEX64, HEX64, "docker");
	expect_container("/docker/" HEX64 "/init.scope", HEX64, "docker");
	expect_container("/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod1c2d.slice/cri-containerd-" HEX64 ".scope",
			 HEX64, "containerd");
	expect_container("/machine.slice/libpod-" HEX64 ".scope/container", HEX64, "podman");
	expect_container("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-"
			 HEX64 ".scope", HEX64, "podman");
	expect_container("/machine.slice/systemd-nspawn@debian12.service/payload",
			 "debian12", "systemd-nspawn");
	expect_container("/machine.slice/machine-fedora.scope", "fedora", "systemd-nspawn");
}
END_TEST

START_TEST(not_containers)
{
	char small[16];
	const char *rt;

	expect_no_container("/");
	expect_no_container("");
	expect_no_container("/user.slice/user-1000.slice/session-2.scope");
	expect_no_container("/system.slice/docker.service");
	expect_no_container("/system.slice/containerd.service");
	expect_no_container("/machine.slice/libpod-conmon-" HEX64 ".scope");
	expect_no_container("/docker/not-an-id");
	expect_no_container("/system.slice/docker-" HEX64 "ab.scope");
	ck_assert_msg(cgroup_container_id("/docker/" HEX64, small, sizeof(small), &rt) == -1,
		      "an id longer than the buffer must be refused, not cut");
}
END_TEST

/* ---- real processes ------------------------------------------------------- */

static uint64_t stat_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	int fd, field = 3;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert(n > 0);
	buf[n] = '\0';
	p = strrchr(buf, ')') + 2;
	for (; field < 22; field++)
		p = strchr(p, ' ') + 1;
	return strtoull(p, NULL, 10);
}

static struct event *apply(struct proctable *pt, enum event_type type, pid_t pid, pid_t ppid)
{
	struct event *ev = event_new(type);

	ck_assert(ev);
	ev->pid = pid;
	ev->ppid = ppid;
	proctable_apply(pt, ev);
	return ev;
}

static void apply_exec_open(struct proctable *pt, pid_t pid, const char *path)
{
	struct event *ev = event_new(EVENT_EXEC_OPEN);

	ev->pid = pid;
	bytes_set(&ev->path, path, strlen(path));
	ev->ino = 42;
	proctable_apply(pt, ev);
	event_free(ev);
}

/* A child that waits for a byte on @gate, then runs sleep with a marker. */
static pid_t start_child(int gate[2], const char *marker)
{
	pid_t pid;

	ck_assert(pipe2(gate, O_CLOEXEC) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		char c;

		close(gate[1]);
		if (read(gate[0], &c, 1) != 1)
			_exit(1);
		/* argv[0] carries the marker: sleep accepts no stray words */
		execl("/bin/sleep", marker, "30", (char *)NULL);
		_exit(127);
	}
	close(gate[0]);
	return pid;
}

static bool read_proc_file(pid_t pid, const char *name, char *buf, size_t size, size_t *len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size);
	close(fd);
	if (n < 0)
		return false;
	*len = (size_t)n;
	return true;
}

/* Wait until the child's exec is complete as /proc shows it: the kernel
 * switches /proc/PID/exe early in execve, comm and argv later, so wait on
 * all three (bounded generously: the machine may be busy). */
static void wait_exec_done(pid_t pid, const char *exe, const char *comm,
			   const char *argv, size_t argv_len)
{
	char link[64], buf[PATH_MAX], seen_exe[PATH_MAX] = "", seen_comm[64] = "";
	size_t seen_argv = 0, n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 6000; i++) {
		ssize_t l = readlink(link, seen_exe, sizeof(seen_exe) - 1);

		seen_exe[l > 0 ? l : 0] = '\0';
		if (read_proc_file(pid, "comm", seen_comm, sizeof(seen_comm) - 1, &n))
			seen_comm[n && seen_comm[n - 1] == '\n' ? n - 1 : n] = '\0';
		if (read_proc_file(pid, "cmdline", buf, sizeof(buf), &seen_argv) &&
		    strcmp(seen_exe, exe) == 0 && strcmp(seen_comm, comm) == 0 &&
		    seen_argv == argv_len && memcmp(buf, argv, argv_len) == 0)
			return;
		usleep(5000);
	}
	ck_abort_msg("child %d: waited 30 s for its exec of %s (comm %s, %zu bytes of argv); "
		     "saw exe %s, comm %s, %zu bytes of argv", (int)pid, exe, comm, argv_len,
		     seen_exe, seen_comm, seen_argv);
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

START_TEST(fork_exec_exit)
{
	struct proctable *pt = proctable_new("/proc");
	struct proctable_stats st;
	struct event *ev;
	struct proc_info *self;
	char self_exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	static const char argv_want[] = "pt-marker-1\0" "30";
	pid_t kids[8];
	int gate[2], fd;
	pid_t pid;

	ck_assert(pt && n > 0);
	self_exe[n] = '\0';
	ck_assert_msg(proctable_scan(pt, NULL, NULL) > 1, "seeding found no processes");
	self = proctable_lookup(pt, getpid());
	ck_assert_msg(self && self->exe.data && strcmp(self->exe.data, self_exe) == 0,
		      "seed: expected our exe %s, got %s", self_exe,
		      self && self->exe.data ? self->exe.data : "(none)");
	proc_info_put(self);

	pid = start_child(gate, "pt-marker-1");
	ev = apply(pt, EVENT_PROC_FORK, pid, getpid());
	ck_assert_msg(ev->proc, "fork: no snapshot attached");
	ck_assert_int_eq(ev->proc->pid, pid);
	ck_assert_int_eq(ev->proc->ppid, getpid());
	ck_assert_int_eq(ev->proc->uid, getuid());
	ck_assert_msg(ev->proc->start_time == stat_start_time(pid),
		      "fork: start time %llu, /proc says %llu",
		      (unsigned long long)ev->proc->start_time,
		      (unsigned long long)stat_start_time(pid));
	ck_assert_msg(ev->proc->start_realtime.tv_sec > time(NULL) - 60 &&
		      ev->proc->start_realtime.tv_sec <= time(NULL) + 1,
		      "fork: start realtime %ld is not now", (long)ev->proc->start_realtime.tv_sec);
	ck_assert_msg(ev->proc->exe.data && strcmp(ev->proc->exe.data, self_exe) == 0,
		      "fork: child should inherit exe %s", self_exe);
	ck_assert_msg(ev->proc->parent && ev->proc->parent->pid == getpid(),
		      "fork: parent snapshot not linked");
	ck_assert_msg(ev->proc->parent->parent == NULL, "parent chain deeper than 1");
	ck_assert_int_eq(proctable_children(pt, getpid(), kids, 8), 1);
	ck_assert_int_eq(kids[0], pid);

	fd = proctable_pidfd(pt, pid, ev->proc->start_time);
	ck_assert_msg(fd >= 0, "pidfd for the live child: %s", strerror(-fd));
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ck_assert_int_eq(proctable_pidfd(pt, pid, ev->proc->start_time + 1), -ESRCH);
	event_free(ev);

	/* exec without a fanotify record: the binary comes from /proc */
	ck_assert(write(gate[1], "x", 1) == 1);
	close(gate[1]);
	wait_exec_done(pid, "/usr/bin/sleep", "sleep", argv_want, sizeof(argv_want));
	ev = apply(pt, EVENT_PROC_EXEC, pid, 0);
	ck_assert(ev->proc);
	ck_assert_str_eq(ev->proc->exe.data, "/usr/bin/sleep");
	ck_assert(!ev->proc->exe_from_fanotify);
	ck_assert_int_eq(ev->proc->argc, 2);
	ck_assert_msg(ev->proc->cmdline.len == sizeof(argv_want) &&
		      memcmp(ev->proc->cmdline.data, argv_want, sizeof(argv_want)) == 0,
		      "exec: argv not pt-marker-1/30 (len %zu)", ev->proc->cmdline.len);
	ck_assert_str_eq(ev->proc->comm, "sleep");
	ck_assert_int_eq(ev->proc->ppid, getpid());
	event_free(ev);

	/* the first exec-open since the last exec is the program */
	apply_exec_open(pt, pid, "/opt/first/program");
	apply_exec_open(pt, pid, "/lib64/ld-linux-x86-64.so.2");
	ev = apply(pt, EVENT_PROC_EXEC, pid, 0);
	ck_assert_str_eq(ev->proc->exe.data, "/opt/first/program");
	ck_assert(ev->proc->exe_from_fanotify);
	ck_assert_int_eq(ev->proc->exe_ino, 42);
	event_free(ev);

	proctable_get_stats(pt, &st);
	ck_assert_int_eq(st.exe_from_fanotify, 1);
	ck_assert_int_eq(st.exe_from_proc, 1);

	stop_child(pid);
	ev = apply(pt, EVENT_PROC_EXIT, pid, 0);
	ck_assert_msg(ev->proc && strcmp(ev->proc->exe.data, "/opt/first/program") == 0,
		      "exit: the last snapshot should be attached");
	event_free(ev);
	ck_assert_msg(proctable_lookup(pt, pid) == NULL, "exit: entry still in the table");
	ck_assert_int_eq(proctable_pidfd(pt, pid, stat_start_time(getpid())), -ESRCH);

	/* events about a process already reaped */
	ev = apply(pt, EVENT_PROC_EXEC, pid, 0);
	ck_assert_msg(ev->flags & EVENT_F_PROC_GONE, "exec of a gone process not flagged");
	event_free(ev);
	proctable_get_stats(pt, &st);
	ck_assert_int_eq(st.exe_unknown, 1);
	ev = apply(pt, EVENT_PROC_EXIT, pid, 0);
	event_free(ev);
	ev = apply(pt, EVENT_PROC_FORK, pid, getpid());
	ck_assert(ev->flags & EVENT_F_PROC_GONE);
	ck_assert_msg(ev->proc && ev->proc->exe.data && strcmp(ev->proc->exe.data, self_exe) == 0,
		      "fork of a gone child should be derived from its parent");
	event_free(ev);
	proctable_free(pt);
}
END_TEST

START_TEST(pidfd_after_exit)
{
	struct proctable *pt = proctable_new("/proc");
	struct event *ev;
	uint64_t start;
	int gate[2];
	pid_t pid = start_child(gate, "pt-marker-2");

	ev = apply(pt, EVENT_PROC_FORK, pid, getpid());
	start = ev->proc->start_time;
	event_free(ev);
	close(gate[1]);		/* child reads EOF and exits */
	waitpid(pid, NULL, 0);
	ck_assert_msg(proctable_pidfd(pt, pid, start) == -ESRCH,
		      "a pidfd of an exited process must be refused");
	proctable_free(pt);
}
END_TEST

START_TEST(uid_change)
{
	struct proctable *pt;
	struct event *ev;
	int gate[2], ready[2];
	pid_t pid;
	char c;

	if (geteuid() != 0)
		return;		/* needs root to change uid */
	pt = proctable_new("/proc");
	ck_assert(pipe2(gate, O_CLOEXEC) == 0 && pipe2(ready, O_CLOEXEC) == 0);
	pid = fork();
	if (pid == 0) {
		close(gate[1]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(gate[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	ev = apply(pt, EVENT_PROC_FORK, pid, getpid());
	event_free(ev);
	ck_assert(read(ready[0], &c, 1) == 1);
	ev = apply(pt, EVENT_PROC_UID, pid, 0);
	ck_assert_msg(ev->proc && ev->proc->uid == 65534 && ev->proc->euid == 65534,
		      "uid change: expected 65534, got %d", ev->proc ? (int)ev->proc->uid : -1);
	ck_assert_msg(ev->proc->user && strcmp(ev->proc->user, "nobody") == 0,
		      "uid change: expected user nobody, got %s",
		      ev->proc->user ? ev->proc->user : "(null)");
	event_free(ev);
	close(gate[1]);
	waitpid(pid, NULL, 0);
	proctable_free(pt);
}
END_TEST

/* ---- an imitation of /proc ------------------------------------------------ */

static char fake_root[] = "/tmp/senseon-fakeproc.XXXXXX";

static void put_file(pid_t pid, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", fake_root, (int)pid, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void fake_proc(pid_t pid, pid_t ppid, const char *comm, uint64_t start,
		      const char *cgroup)
{
	char path[PATH_MAX], buf[1024];
	int n;

	snprintf(path, sizeof(path), "%s/%d", fake_root, (int)pid);
	mkdir(path, 0755);
	n = snprintf(buf, sizeof(buf),
		     "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %llu "
		     "1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		     (int)pid, comm, (int)ppid, (int)pid, (int)pid, (unsigned long long)start);
	put_file(pid, "stat", buf, (size_t)n);
	n = snprintf(buf, sizeof(buf), "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\n"
		     "Tgid:\t%d\nPid:\t%d\nPPid:\t%d\nUid:\t1000\t1001\t1000\t1000\n"
		     "Gid:\t100\t101\t100\t100\n", comm, (int)pid, (int)pid, (int)ppid);
	put_file(pid, "status", buf, (size_t)n);
	n = snprintf(buf, sizeof(buf), "%s%c--flag%c", comm, 0, 0);
	put_file(pid, "cmdline", buf, (size_t)n);
	put_file(pid, "cgroup", cgroup, strlen(cgroup));
	snprintf(path, sizeof(path), "%s/%d/exe", fake_root, (int)pid);
	unlink(path);
	snprintf(buf, sizeof(buf), "/usr/bin/%s", comm);
	ck_assert(symlink(buf, path) == 0);
}

static void rm_fake(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fake_root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fake_root);
}

static void count_found(struct proc_info *pi, void *arg)
{
	ck_assert(pi->resynced);
	(*(int *)arg)++;
}

START_TEST(pid_reuse_and_resync)
{
	static const char hybrid[] = "9:name=systemd:/system.slice/docker-" HEX64 ".scope\n"
				     "4:memory:/docker/" HEX64 "\n0::/\n";
	static const char v2[] = "0::/user.slice/user-1000.slice/session-3.scope\n";
	struct proctable *pt;
	struct proctable_stats st;
	struct proc_info *pi;
	struct event *ev;
	int found = 0;

	ck_assert(mkdtemp(fake_root));
	fake_proc(1, 0, "init", 5, v2);
	fake_proc(4242, 1, "daemon", 1000, hybrid);
	pt = proctable_new(fake_root);
	ck_assert_int_eq(proctable_scan(pt, NULL, NULL), 2);

	pi = proctable_lookup(pt, 4242);
	ck_assert(pi);
	ck_assert_int_eq(pi->start_time, 1000);
	ck_assert_int_eq(pi->ppid, 1);
	ck_assert_int_eq(pi->uid, 1000);
	ck_assert_int_eq(pi->euid, 1001);
	ck_assert_int_eq(pi->gid, 100);
	ck_assert_int_eq(pi->argc, 2);
	ck_assert_str_eq(pi->exe.data, "/usr/bin/daemon");
	ck_assert(pi->resynced);
	ck_assert_msg(pi->cgroup && strcmp(pi->cgroup, "/system.slice/docker-" HEX64 ".scope") == 0,
		      "hybrid: expected the name=systemd path, got %s", pi->cgroup);
	ck_assert_str_eq(pi->container_id, HEX64);
	ck_assert_str_eq(pi->container_runtime, "docker");
	ck_assert_msg(pi->parent && pi->parent->pid == 1, "scan: parent not linked");
	proc_info_put(pi);
	pi = proctable_lookup(pt, 1);
	ck_assert_str_eq(pi->cgroup, "/user.slice/user-1000.slice/session-3.scope");
	ck_assert_ptr_null(pi->container_id);
	proc_info_put(pi);

	/* the pid now belongs to another process: same pid, new start time */
	fake_proc(4242, 1, "intruder", 2000, v2);
	ck_assert_int_eq(proctable_scan(pt, count_found, &found), 1);
	ck_assert_int_eq(found, 1);
	pi = proctable_lookup(pt, 4242);
	ck_assert_int_eq(pi->start_time, 2000);
	ck_assert_str_eq(pi->comm, "intruder");
	proc_info_put(pi);
	proctable_get_stats(pt, &st);
	ck_assert_int_eq(st.resyncs, 1);
	ck_assert_int_eq(st.resync_found, 1);
	ck_assert_int_eq(st.resync_gone, 1);
	ck_assert_int_eq(st.entries, 2);
	ck_assert_int_eq(proctable_pidfd(pt, 4242, 1000), -ESRCH);

	/* an exec event that finds a different start time replaces the entry */
	fake_proc(4242, 1, "third", 3000, v2);
	ev = apply(pt, EVENT_PROC_EXEC, 4242, 0);
	ck_assert_int_eq(ev->proc->start_time, 3000);
	ck_assert_str_eq(ev->proc->exe.data, "/usr/bin/third");
	ck_assert(!ev->proc->resynced);
	event_free(ev);

	/* same start time, another binary: it exec'd and the event was lost;
	 * the rescan must learn the new program (and report it), not keep
	 * the old one; the process is not gone */
	fake_proc(4242, 1, "fourth", 3000, v2);
	found = 0;
	ck_assert_int_eq(proctable_scan(pt, count_found, &found), 1);
	ck_assert_int_eq(found, 1);
	pi = proctable_lookup(pt, 4242);
	ck_assert_str_eq(pi->comm, "fourth");
	ck_assert_str_eq(pi->exe.data, "/usr/bin/fourth");
	ck_assert(pi->resynced);
	proc_info_put(pi);
	proctable_get_stats(pt, &st);
	ck_assert_int_eq(st.resync_gone, 1);

	/* gone from /proc: the rescan drops it */
	rm_fake();
	ck_assert(mkdir(fake_root, 0700) == 0);
	fake_proc(1, 0, "init", 5, v2);
	found = 0;
	ck_assert_int_eq(proctable_scan(pt, count_found, &found), 0);
	ck_assert_ptr_null(proctable_lookup(pt, 4242));
	proctable_get_stats(pt, &st);
	ck_assert_int_eq(st.resyncs, 3);
	ck_assert_int_eq(st.resync_gone, 2);
	ck_assert_int_eq(st.entries, 1);
	proctable_free(pt);
	rm_fake();
}
END_TEST

/*
 * A rescan that runs while a fork event is still queued (in the socket or
 * the queue) reads the child first, perhaps after it exec'd; the fork
 * event that comes after must not replace that newer entry with a copy
 * of the parent, or the child's exit names the parent's binary.
 */
START_TEST(late_fork_after_resync)
{
	static const char v2[] = "0::/user.slice/user-1000.slice/session-3.scope\n";
	struct proctable *pt;
	struct proc_info *pi;
	struct event *ev;
	char cmd[PATH_MAX + 16];
	int found = 0;

	strcpy(fake_root, "/tmp/senseon-fakeproc.XXXXXX");
	ck_assert(mkdtemp(fake_root));
	fake_proc(1, 0, "init", 5, v2);
	fake_proc(4200, 1, "storm", 1000, v2);
	pt = proctable_new(fake_root);
	ck_assert_int_eq(proctable_scan(pt, NULL, NULL), 2);

	/* 4200 forked 4300, which exec'd sleep; events were lost and the
	 * rescan found it before the fork event was read */
	fake_proc(4300, 4200, "sleep", 2000, v2);
	ck_assert_int_eq(proctable_scan(pt, count_found, &found), 1);
	ck_assert_int_eq(found, 1);

	ev = apply(pt, EVENT_PROC_FORK, 4300, 4200);
	ck_assert(ev->proc);
	ck_assert_int_eq(ev->proc->start_time, 2000);
	ck_assert_msg(ev->proc->exe.data && strcmp(ev->proc->exe.data, "/usr/bin/sleep") == 0,
		      "late fork replaced the rescan's entry: exe %s",
		      ev->proc->exe.data ? ev->proc->exe.data : "(null)");
	event_free(ev);
	pi = proctable_lookup(pt, 4300);
	ck_assert(pi);
	ck_assert_str_eq(pi->comm, "sleep");
	ck_assert_str_eq(pi->exe.data, "/usr/bin/sleep");
	ck_assert_int_eq(pi->ppid, 4200);
	proc_info_put(pi);
	ev = apply(pt, EVENT_PROC_EXIT, 4300, 0);
	ck_assert(ev->proc);
	ck_assert_str_eq(ev->proc->exe.data, "/usr/bin/sleep");
	event_free(ev);
	ck_assert_ptr_null(proctable_lookup(pt, 4300));

	/* 4200 forked 4400, which exec'd sleep before the fork event was
	 * handled, and the exec event was lost: the fork reads the child's
	 * comm ("sleep") but inherits the parent's exe.  Only the exe shows
	 * the lost exec; the rescan must re-read and report it. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/4300", fake_root);	/* it exited */
	ck_assert_int_eq(system(cmd), 0);
	/* the parent's binary as the exec source reports it (fanotify) */
	apply_exec_open(pt, 4200, "/usr/bin/storm");
	event_free(apply(pt, EVENT_PROC_EXEC, 4200, 0));
	fake_proc(4400, 4200, "sleep", 3000, v2);
	ev = apply(pt, EVENT_PROC_FORK, 4400, 4200);
	ck_assert(ev->proc->exe_from_fanotify);
	ck_assert_str_eq(ev->proc->comm, "sleep");
	ck_assert_str_eq(ev->proc->exe.data, "/usr/bin/storm");
	event_free(ev);
	found = 0;
	ck_assert_int_eq(proctable_scan(pt, count_found, &found), 1);
	ck_assert_int_eq(found, 1);
	pi = proctable_lookup(pt, 4400);
	ck_assert_str_eq(pi->exe.data, "/usr/bin/sleep");
	proc_info_put(pi);

	/* a fork for a pid whose entry has another start time is still a
	 * reused pid: the old entry goes, the child starts as its parent */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/4300", fake_root);
	ck_assert(system(cmd) == 0);
	fake_proc(4301, 4200, "sleep", 2100, v2);
	ck_assert_int_eq(proctable_scan(pt, NULL, NULL), 1);
	fake_proc(4301, 4200, "storm", 2200, v2);
	ev = apply(pt, EVENT_PROC_FORK, 4301, 4200);
	ck_assert_int_eq(ev->proc->start_time, 2200);
	ck_assert_str_eq(ev->proc->exe.data, "/usr/bin/storm");
	ck_assert(!ev->proc->resynced);
	event_free(ev);
	proctable_free(pt);
	rm_fake();
}
END_TEST

START_TEST(proc_info_read_self)
{
	struct proc_info *pi = proc_info_read("/proc", getpid());

	ck_assert(pi);
	ck_assert_int_eq(pi->pid, getpid());
	ck_assert_int_eq(pi->ppid, getppid());
	ck_assert_int_eq(pi->uid, getuid());
	ck_assert_int_eq(pi->start_time, stat_start_time(getpid()));
	ck_assert(pi->cwd.data && pi->cmdline.data && pi->argc >= 1);
	ck_assert(pi->cgroup);
	if (getuid() == 0)
		ck_assert_str_eq(pi->user, "root");
	proc_info_put(pi);
	ck_assert_ptr_null(proc_info_read("/proc", 0x3fffffff));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proctable");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, container_ids);
	tcase_add_test(tc, not_containers);
	tcase_add_test(tc, fork_exec_exit);
	tcase_add_test(tc, pidfd_after_exit);
	tcase_add_test(tc, uid_change);
	tcase_add_test(tc, pid_reuse_and_resync);
	tcase_add_test(tc, late_fork_after_resync);
	tcase_add_test(tc, proc_info_read_self);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
