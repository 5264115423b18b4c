/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * senseon-pyrunner - the script worker: a fork server ("zygote") holding
 * one initialised CPython, forking one child per script.
 *
 * Overview: senseond starts this program once, as full root and before
 * it drops capabilities or starts threads, with its end of a
 * SOCK_SEQPACKET socketpair as fd 3 ("--zygote").  The zygote
 * initialises CPython once (isolated PyConfig, site imported, `senseon`
 * from PyImport_AppendInittab, no signal handlers, no threads), then
 * waits for requests.  A request is one small JSON message carrying, by
 * SCM_RIGHTS, the script's RPC socket, stdout and stderr pipes, a status
 * pipe and optionally its cgroup directory.  The zygote forks; it writes
 * the child's pid and later its wait status to the status pipe, and owns
 * nothing else of the child.  The child moves itself into its cgroup (or
 * sets rlimits), starts its own session, resets signals, keeps only fds
 * 0-3, reads its job (the script, its name, argv and stdin), which the
 * daemon has written to the RPC socket by then, and runs it as __main__.
 *
 * The zygote must not own any state of the daemon: it never learns the
 * script, only the fds.  Timeouts and kills come from the daemon, from
 * outside.  When the daemon goes away (EOF on fd 3) the zygote exits
 * (not PR_SET_PDEATHSIG: it follows the thread that forked us, and the
 * daemon respawns the zygote from short-lived connection threads); running scripts keep running until their cgroup is
 * killed.
 */
#include <Python.h>

#include "senseonmod.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZYGOTE_FD	3
#define MAX_CHILDREN	1024
#define REQ_FDS		5	/* rpc, stdout, stderr, status, cgroup */

enum { FD_RPC, FD_OUT, FD_ERR, FD_STATUS, FD_CGROUP };

struct child {
	pid_t pid;
	int status_fd;
};

static struct child children[MAX_CHILDREN];
static PyObject *bootstrap_run;

/*
 * Runs in the child.  Catches everything the script can raise so the
 * worker can report an uncaught exception's traceback itself; the exit
 * status rules are the interpreter's (SystemExit(None) is 0, an int is
 * its low byte, anything else is printed and gives 1).
 */
static const char bootstrap_src[] =
	"import sys, types, builtins, traceback, atexit\n"
	"def _code(c):\n"
	"    if c is None:\n"
	"        return 0\n"
	"    if isinstance(c, int):\n"
	"        return c & 0xff\n"
	"    try:\n"
	"        print(c, file=sys.stderr)\n"
	"    except BaseException:\n"
	"        pass\n"
	"    return 1\n"
	"def run(code, name, argv, warm=False):\n"
	"    sys.argv = list(argv)\n"
	"    main = types.ModuleType('__main__')\n"
	"    main.__file__ = name\n"
	"    main.__builtins__ = builtins\n"
	"    sys.modules['__main__'] = main\n"
	"    tb = None\n"
	"    status = 0\n"
	"    try:\n"
	"        exec(compile(code, name, 'exec'), main.__dict__)\n"
	"    except SystemExit as e:\n"
	"        status = _code(e.code)\n"
	"    except BaseException as e:\n"
	"        tb = ''.join(traceback.format_exception(e))\n"
	"        status = 1\n"
	"        try:\n"
	"            sys.stderr.write(tb)\n"
	"        except BaseException:\n"
	"            pass\n"
	"    try:\n"
	"        if not warm:\n"
	"            atexit._run_exitfuncs()\n"
	"    except BaseException:\n"
	"        pass\n"
	"    for f in (sys.stdout, sys.stderr):\n"
	"        try:\n"
	"            f.flush()\n"
	"        except BaseException:\n"
	"            pass\n"
	"    return status, tb\n";

/* Modules most scripts use, imported once here instead of in every child. */
static const char preload_src[] =
	"import senseon, json, os, sys, io, re, time, glob, hashlib, socket,"
	" struct, signal, subprocess, shutil, pwd, grp, stat, datetime, traceback\n";

/*
 * A child writes to every page where it touches an object, and each first
 * write copies the page (about 500 a run, most of a trivial script's
 * cost).  Much of that is first-time work that leaves the interpreter
 * changed: caches filled, bytecode specialised, strings interned.  Doing
 * a script's path once here, before forking (without the atexit handlers,
 * which belong to the scripts), leaves that work done in the shared pages.
 */
static const char warmup_src[] =
	"_argv, _main = sys.argv, sys.modules.get('__main__')\n"
	"for _ in range(3):\n"
	"    run('import senseon, sys\\npass\\n', '<warm-up>', ['<warm-up>'], True)\n"
	"    json.dumps({'method': 'exit', 'params': {'status': 0, 'traceback': None}})\n"
	"    json.loads('{\"ok\": true, \"result\": {\"code\": \"pass\", \"argv\": [\"x\"]}}')\n"
	"sys.argv = _argv\n"
	"if _main is not None:\n"
	"    sys.modules['__main__'] = _main\n"
	"del _argv, _main, _\n"
	/* Out of the collector's sight: a collection in a child would write
	 * to every object's header and copy each page the fork shared. */
	"import gc\ngc.collect()\ngc.freeze()\n";

static int python_init(const char *argv0)
{
	PyPreConfig pre;
	PyConfig cfg;
	PyStatus st;
	PyObject *globals;

	PyPreConfig_InitIsolatedConfig(&pre);
	pre.utf8_mode = 1;	/* file names and output are bytes: never ASCII */
	st = Py_PreInitialize(&pre);
	if (PyStatus_Exception(st))
		goto fail;
	if (PyImport_AppendInittab("senseon", PyInit_senseon))
		return -1;
	PyConfig_InitIsolatedConfig(&cfg);
	cfg.install_signal_handlers = 0;	/* scripts get default dispositions */
	cfg.buffered_stdio = 0;			/* output streams as it is written */
	cfg.site_import = 1;			/* Debian's dist-packages */
	cfg.parse_argv = 0;
	st = PyConfig_SetBytesString(&cfg, &cfg.program_name, argv0);
	if (PyStatus_Exception(st)) {
		PyConfig_Clear(&cfg);
		goto fail;
	}
	st = Py_InitializeFromConfig(&cfg);
	PyConfig_Clear(&cfg);
	if (PyStatus_Exception(st))
		goto fail;

	globals = PyDict_New();
	if (!globals)
		return -1;
	PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
	if (!PyRun_String(bootstrap_src, Py_file_input, globals, globals))
		goto pyerr;
	bootstrap_run = PyDict_GetItemString(globals, "run");
	Py_XINCREF(bootstrap_run);
	if (!bootstrap_run || !PyRun_String(preload_src, Py_file_input, globals, globals) ||
	    !PyRun_String(warmup_src, Py_file_input, globals, globals))
		goto pyerr;
	return 0;
pyerr:
	PyErr_Print();
	return -1;
fail:
	fprintf(stderr, "senseon-pyrunner: python: %s\n", st.err_msg ? st.err_msg : "failed");
	return -1;
}

/* ---- the child: one script ---- */

static void reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);	/* EINVAL for KILL/STOP/RT internals */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void apply_rlimits(json_t *rl)
{
	static const struct { const char *key; int res; } map[] = {
		{ "as", RLIMIT_AS }, { "nproc", RLIMIT_NPROC }, { "cpu", RLIMIT_CPU },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		json_t *v = json_object_get(rl, map[i].key);
		struct rlimit r;

		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			continue;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
		/* ASan's and TSan's shadow memory is terabytes of address
		 * space: a sanitizer build (tests only) cannot run under
		 * RLIMIT_AS. */
		if (map[i].res == RLIMIT_AS)
			continue;
#endif
		r.rlim_cur = r.rlim_max = (rlim_t)json_integer_value(v);
		setrlimit(map[i].res, &r);
	}
}

static int join_cgroup(int dirfd)
{
	int fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) != 1)
		rc = -errno;
	close(fd);
	return rc;
}

static void report_setup_error(const char *what, int err)
{
	dprintf(STDERR_FILENO, "senseon-pyrunner: %s: %s\n", what, strerror(-err));
}

/* Arrange fds 0-3 and close everything else, then run. */
static void child_setup(int *fds, json_t *req, bool born_in_cgroup)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setsid();	/* a process group the daemon can kill as a whole */
	if (fds[FD_CGROUP] >= 0 && !born_in_cgroup) {
		int err = join_cgroup(fds[FD_CGROUP]);

		if (err) {
			dup2(fds[FD_ERR], STDERR_FILENO);
			report_setup_error("cannot join the script's cgroup", err);
			_exit(127);
		}
	}
	apply_rlimits(json_object_get(req, "rlimit"));
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(fds[FD_OUT], STDOUT_FILENO);
	dup2(fds[FD_ERR], STDERR_FILENO);
	/* close-on-exec: the module's root channel must never reach a program
	 * the script runs (dup2 would clear the flag) */
	if (fds[FD_RPC] == SENSEON_RPC_FD)
		fcntl(SENSEON_RPC_FD, F_SETFD, FD_CLOEXEC);
	else
		dup3(fds[FD_RPC], SENSEON_RPC_FD, O_CLOEXEC);
	close_range(SENSEON_RPC_FD + 1, ~0U, 0);
	reset_signals();
	prctl(PR_SET_NAME, "senseon-script", 0, 0, 0);
}

/*
 * A response script reads the alert it answers on stdin: the daemon sends
 * it with the script, and a memfd (not a pipe) holds it so no size can
 * block either side.
 */
static void set_stdin(PyObject *job)
{
	PyObject *in = PyDict_GetItemString(job, "stdin");
	const char *text;
	Py_ssize_t len, off = 0;
	int fd;

	if (!in || !PyUnicode_Check(in))
		return;
	text = PyUnicode_AsUTF8AndSize(in, &len);
	if (!text)
		return;
	fd = memfd_create("senseon-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return;
	while (off < len) {
		ssize_t n = write(fd, text + off, (size_t)(len - off));

		if (n <= 0)
			break;
		off += n;
	}
	if (off == len && lseek(fd, 0, SEEK_SET) == 0)
		dup2(fd, STDIN_FILENO);
	close(fd);
}

static int child_run(void)
{
	PyObject *job, *res, *params;
	const char *code, *name;
	PyObject *argv, *tb;
	int status;

	job = senseon_reply("script");
	if (!job || !PyDict_Check(job))
		goto pyerr;
	code = PyUnicode_AsUTF8(PyDict_GetItemString(job, "code"));
	name = PyUnicode_AsUTF8(PyDict_GetItemString(job, "name"));
	argv = PyDict_GetItemString(job, "argv");
	if (!code || !name || !argv)
		goto pyerr;
	set_stdin(job);
	res = PyObject_CallFunction(bootstrap_run, "ssO", code, name, argv);
	if (!res)
		goto pyerr;
	status = (int)PyLong_AsLong(PyTuple_GetItem(res, 0));
	tb = PyTuple_GetItem(res, 1);
	params = Py_BuildValue("{s:i, s:O}", "status", status, "traceback", tb);
	if (params)
		senseon_notify("exit", params);
	return status;
pyerr:
	PyErr_Print();
	return 1;
}

static void run_child(int *fds, json_t *req, bool born_in_cgroup)
{
	int status;

	PyOS_AfterFork_Child();
	child_setup(fds, req, born_in_cgroup);
	status = child_run();
	/* No Py_Finalize: atexit already ran, and tearing down the
	 * interpreter would only cost time and risk a script's broken
	 * objects crashing in their finalisers. */
	_exit(status);
}

/* ---- the zygote ---- */

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Receive one request: its JSON text and up to REQ_FDS fds. */
static json_t *recv_request(int sock, int *fds, int *nfds)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * REQ_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return NULL;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (*nfds > REQ_FDS)
			*nfds = REQ_FDS;
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)*nfds);
	}
	buf[n] = '\0';
	return json_loads(buf, 0, NULL);
}

static struct child *child_slot(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

static void write_int(int fd, int v)
{
	ssize_t rc;

	do
		rc = write(fd, &v, sizeof(v));
	while (rc < 0 && errno == EINTR);
}

/*
 * fork_into - fork straight into the script's cgroup (clone3 with
 * CLONE_INTO_CGROUP).  Moving a process afterwards through cgroup.procs
 * takes the cgroup threadgroup lock for writing, which waits for an RCU
 * grace period: about 20 ms, most of a script's start-up.  Without a
 * cgroup, or on a kernel without clone3, a plain fork().
 *
 * The zygote is single-threaded and holds no libc lock here, which is
 * what makes a raw clone3 safe; libc's cached thread id in the child is
 * then the zygote's, which only matters to raise()/pthread_kill(), where
 * the kernel refuses the stale id (tgkill checks the thread group), so a
 * script's abort() still ends only the script.
 */
static pid_t fork_into(int cgfd, bool *in_cgroup)
{
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};
	long pid;

	*in_cgroup = false;
	if (cgfd < 0)
		return fork();
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0) {
		*in_cgroup = true;
		return (pid_t)pid;
	}
	return fork();	/* ENOSYS, or E2BIG on old kernels: join by hand */
}

static void spawn(int sock)
{
	int fds[REQ_FDS] = { -1, -1, -1, -1, -1 }, nfds;
	json_t *req = recv_request(sock, fds, &nfds);
	struct child *slot = child_slot(0);
	bool in_cgroup = false;
	pid_t pid;

	if (!req || nfds < FD_CGROUP || !slot) {
		if (nfds > FD_STATUS)
			write_int(fds[FD_STATUS], -1);
		goto out;
	}
	if (nfds == FD_CGROUP)
		fds[FD_CGROUP] = -1;
	PyOS_BeforeFork();
	pid = fork_into(fds[FD_CGROUP], &in_cgroup);
	if (pid == 0) {
		close(sock);
		run_child(fds, req, in_cgroup);
	}
	PyOS_AfterFork_Parent();
	if (pid < 0) {
		write_int(fds[FD_STATUS], -errno);
		goto out;
	}
	write_int(fds[FD_STATUS], pid);
	slot->pid = pid;
	slot->status_fd = fds[FD_STATUS];
	fds[FD_STATUS] = -1;	/* kept until the child is reaped */
out:
	close_fds(fds, REQ_FDS);
	json_decref(req);
}

static void reap(int sfd)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_slot(pid);

		if (!c)
			continue;
		write_int(c->status_fd, status);
		close(c->status_fd);
		c->pid = 0;
	}
}

static int zygote(void)
{
	struct pollfd pfd[2];
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return 1;
	pfd[0] = (struct pollfd){ .fd = ZYGOTE_FD, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[1].revents & POLLIN)
			reap(sfd);
		if (pfd[0].revents & (POLLHUP | POLLERR))
			return 0;	/* the daemon is gone */
		if (pfd[0].revents & POLLIN)
			spawn(ZYGOTE_FD);
	}
}

static int usage(void)
{
	fprintf(stderr,
		"Usage: senseon-pyrunner --zygote\n"
		"The script worker of senseond, started by it with its socket as fd 3.\n"
		"Run analyst scripts with `senseonctl run` instead.\n");
	return 2;
}

int main(int argc, char **argv)
{
	int null;

	if (argc != 2 || strcmp(argv[1], "--zygote"))
		return usage();
	if (fcntl(ZYGOTE_FD, F_GETFD) < 0) {
		fprintf(stderr, "senseon-pyrunner: fd 3 is not open: not started by senseond\n");
		return 2;
	}
	/* Orphans of scripts come back to us to be reaped (reap() takes any
	 * child), not to an init that may be slow or absent in a container. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* Children inherit 0-2 until they replace them; never the daemon's. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (python_init(argv[0]))
		return 1;
	return zygote();
}
