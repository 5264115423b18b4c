/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scripts - the daemon's script manager.
 *
 * Overview: owns the senseon-pyrunner zygote (its pid and the
 * SOCK_SEQPACKET socket to it), the "senseon-scripts" cgroup and, for each
 * running script, a struct run: its cgroup, pipes, RPC socket, spool of
 * files put by the requester and its accounting.  A run lives entirely on
 * the control connection's thread that asked for it ("script.run"): that
 * thread starts the script, streams its output, serves its senseon-module
 * calls, enforces its wall-clock timeout and audits every step, so no
 * state is shared between runs except the zygote socket (under a mutex).
 *
 * It must not own the process table, the policies or the alert sink: it
 * reads the table through proctable_lookup(), kills through
 * response_kill() and hands a script's alerts to the main loop as
 * EVENT_SCRIPT_ALERT events (the pipeline writes them).  It never runs Python itself: a script that hangs,
 * forks, exhausts memory or crashes the interpreter does so in its own
 * process, in its own cgroup.
 */
#include "scripts.h"
#include "audit.h"
#include "control.h"
#include "event.h"
#include "event_json.h"
#include "fdpath.h"
#include "filehash.h"
#include "isolation.h"
#include "jsonbytes.h"
#include "log.h"
#include "proctable.h"
#include "protocol.h"
#include "queue.h"
#include "response.h"
#include "sensor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define SCRIPT_MAX_CODE		(4u << 20)
#define SCRIPT_MAX_ARGS		256
#define SCRIPT_MAX_FILES	64
#define SCRIPT_DEFAULT_TIMEOUT	60
#define SCRIPT_MAX_TIMEOUT	(24 * 3600)
#define SCRIPT_GRACE_MS		2000
#define SCRIPT_DRAIN_MS		2000	/* output still held by leftovers */
#define SCRIPT_DEFAULT_OUTPUT	(16u << 20)
#define SCRIPT_DEFAULT_MEMORY	(1ll << 30)
#define SCRIPT_DEFAULT_PIDS	512
#define SCRIPT_DEFAULT_CPU	100	/* percent of one CPU */
#define SCRIPT_OUT_CHUNK	65536
#define CGROUP_DIR		"senseon-scripts"

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_MAX };
static const char *const cg_names[CG_MAX] = { "memory", "pids", "cpu" };

static struct {
	pthread_mutex_t lock;		/* zygote_fd, zygote_pid */
	struct sensor *s;
	int zygote_fd;
	pid_t zygote_pid;
	char cg_base[PATH_MAX];		/* "" when there is no cgroup2 */
	bool cg_ctl[CG_MAX];		/* controllers usable in run cgroups */
	struct response_ctx rc;
	atomic_uint_fast64_t next_id;
	/* Response runs (the script: action) have no connection: each runs
	 * on a detached thread of its own; scripts_stop() waits for them. */
	pthread_cond_t idle;		/* responses dropped to 0 (under lock) */
	unsigned int responses;
	atomic_bool stopping;
} sm = { .lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER,
	 .zygote_fd = -1 };

struct put_file {
	char name[128];
	char path[PATH_MAX + 32];
	long long size;
	char sha256[65];
};

struct run {
	struct control_conn *c;		/* NULL for a response run */
	char origin[192];		/* a response run: "policy:NAME" */
	struct sensor *s;
	uint64_t id;
	char *code;
	char name[PATH_MAX];
	char sha256[65];
	json_t *argv;			/* [name, args...] */
	json_t *alert;			/* alert_context(), or NULL */
	long timeout_s;
	long long mem, pids, cpu;
	size_t max_output;
	/* resources */
	char cgdir[PATH_MAX + 64];
	int cgfd, out_r, err_r, rpc, status_r;
	pid_t pid;
	char spool[PATH_MAX];
	struct put_file files[SCRIPT_MAX_FILES];
	size_t nfiles;
	/* accounting */
	const char *limit_mode;
	json_t *limit_notes;
	uint64_t t0;
	size_t out_bytes, err_bytes;
	bool truncated, timed_out, client_gone, exited;
	int wstatus;
	char *traceback;
	json_t *transfers;		/* uploads and downloads, for the audit */
	/* A response run logs its output by lines: the partial last line
	 * of stdout [0] and stderr [1]. */
	char line[2][512];
	size_t line_len[2];
};

/* ---- small helpers ---- */

static uint64_t ms_since(uint64_t t0)
{
	return (monotonic_ns() - t0) / 1000000;
}

static int write_file_at(int dirfd, const char *file, const char *val)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n != (ssize_t)strlen(val))
		err = n < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

static json_t *run_audit_base(struct run *r)
{
	const struct control_peer *p = r->c ? control_peer(r->c) : NULL;

	if (!r->c)
		return json_pack("{s:I, s:s, s:s}", "run", (json_int_t)r->id, "name", r->name,
				 "origin", r->origin);
	return json_pack("{s:I, s:s, s:s, s:i, s:i}", "run", (json_int_t)r->id,
			 "name", r->name, "analyst", p && p->analyst ? p->analyst : "?",
			 "peerUid", p ? (int)p->uid : -1, "peerPid", p ? (int)p->pid : -1);
}

/* ---- the zygote ---- */

/*
 * The daemon's own cgroup (the "0::" line of /proc/self/cgroup) into @rel
 * when it is a systemd service's (Delegate=yes gives us that subtree);
 * -ENOENT otherwise.
 */
static int own_service_cgroup(char *rel, size_t size)
{
	char line[PATH_MAX + 8];
	int rc = -ENOENT;
	FILE *fp = fopen("/proc/self/cgroup", "re");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		size_t n = strcspn(line, "\n");

		line[n] = '\0';
		if (strncmp(line, "0::/", 4) || n < 12 || strcmp(line + n - 8, ".service"))
			continue;
		rc = (size_t)snprintf(rel, size, "%s", line + 3) < size ? 0 : -ENAMETOOLONG;
	}
	fclose(fp);
	return rc;
}

static int find_cgroup2_base(char *out, size_t size)
{
	char rel[PATH_MAX], dir[PATH_MAX + 64];
	int dirfd;

	if (!sm.rc.cgroup2_mount[0])
		return -ENOENT;
	/*
	 * Per-script memory, pids and cpu limits need controllers, and a
	 * cgroup with processes in it cannot hand them to children ("no
	 * internal processes").  Under systemd (Delegate=yes) the daemon
	 * moves itself into SERVICE/daemon and scripts go below
	 * SERVICE/scripts, so the unit's MemoryMax and stop cover them too.
	 * Elsewhere (a development run, a container) they go below the
	 * cgroup2 root.  Called before any other thread exists, so moving
	 * the process moves all of it.
	 */
	if (own_service_cgroup(rel, sizeof(rel)) == 0 &&
	    (size_t)snprintf(dir, sizeof(dir), "%s%s", sm.rc.cgroup2_mount, rel) < sizeof(dir)) {
		dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (dirfd >= 0 && (mkdirat(dirfd, "daemon", 0755) == 0 || errno == EEXIST) &&
		    write_file_at(dirfd, "daemon/cgroup.procs", "0") == 0) {
			for (int i = 0; i < CG_MAX; i++) {
				char op[16];

				snprintf(op, sizeof(op), "+%s", cg_names[i]);
				write_file_at(dirfd, "cgroup.subtree_control", op);
			}
			close(dirfd);
			if ((size_t)snprintf(out, size, "%s/scripts", dir) < size &&
			    (mkdir(out, 0755) == 0 || errno == EEXIST))
				return 0;
		} else if (dirfd >= 0) {
			close(dirfd);
		}
		log_warn("scripts: cannot use the service's cgroup %s: %s; using the cgroup2 root",
			 dir, strerror(errno));
	}
	snprintf(out, size, "%s/%s", sm.rc.cgroup2_mount, CGROUP_DIR);
	if (mkdir(out, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void cgroup_setup(void)
{
	char buf[256] = "";
	int dirfd, fd;
	ssize_t n;

	if (find_cgroup2_base(sm.cg_base, sizeof(sm.cg_base))) {
		sm.cg_base[0] = '\0';
		log_warn("scripts: no cgroup2 hierarchy: limits fall back to rlimits, "
			 "timeouts kill the script's session");
		return;
	}
	dirfd = open(sm.cg_base, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0)
		return;
	for (int i = 0; i < CG_MAX; i++) {
		char op[16];

		snprintf(op, sizeof(op), "+%s", cg_names[i]);
		write_file_at(dirfd, "cgroup.subtree_control", op);
	}
	fd = openat(dirfd, "cgroup.subtree_control", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	close(dirfd);
	for (int i = 0; i < CG_MAX; i++) {
		char *p = strstr(buf, cg_names[i]);

		sm.cg_ctl[i] = p && (p == buf || p[-1] == ' ') &&
			       (p[strlen(cg_names[i])] == ' ' || p[strlen(cg_names[i])] == '\n' ||
				!p[strlen(cg_names[i])]);
	}
	log_info("scripts: cgroup %s (memory %s, pids %s, cpu %s)", sm.cg_base,
		 sm.cg_ctl[CG_MEMORY] ? "yes" : "no", sm.cg_ctl[CG_PIDS] ? "yes" : "no",
		 sm.cg_ctl[CG_CPU] ? "yes" : "no");
}

/* Called with sm.lock held (or before any thread exists). */
static int zygote_spawn(struct sensor *s)
{
	int sv[2];
	pid_t pid;

	if (access(s->cfg.pyrunner_path, X_OK))
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls: other threads may exist. */
		sigset_t none;
		char *argv[] = { "senseon-pyrunner", "--zygote", NULL };

		if (sv[1] == 3) {
			fcntl(3, F_SETFD, 0);
		} else if (dup2(sv[1], 3) < 0) {
			_exit(127);
		}
		close_range(4, ~0U, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* No PR_SET_PDEATHSIG: it fires when the forking *thread*
		 * ends, and a respawn happens on a connection thread.  The
		 * zygote exits on EOF of its socket when the daemon goes. */
		execv(s->cfg.pyrunner_path, argv);
		_exit(127);
	}
	close(sv[1]);
	sm.zygote_fd = sv[0];
	sm.zygote_pid = pid;
	return 0;
}

static void zygote_reap(void)
{
	if (sm.zygote_fd >= 0)
		close(sm.zygote_fd);
	sm.zygote_fd = -1;
	if (sm.zygote_pid > 0) {
		kill(sm.zygote_pid, SIGKILL);
		waitpid(sm.zygote_pid, NULL, 0);
	}
	sm.zygote_pid = 0;
}

int scripts_start(struct sensor *s)
{
	int err;

	sm.s = s;
	response_ctx_init(&sm.rc, s->proctable, &s->cfg);
	cgroup_setup();
	pthread_mutex_lock(&sm.lock);
	err = zygote_spawn(s);
	pthread_mutex_unlock(&sm.lock);
	if (err)
		log_err("scripts: cannot start %s: %s: analyst scripts are unavailable",
			s->cfg.pyrunner_path, strerror(-err));
	else
		log_info("scripts: zygote %s started (pid %d)", s->cfg.pyrunner_path,
			 (int)sm.zygote_pid);
	return err;
}

void scripts_stop(struct sensor *s)
{
	struct timespec until;

	/* Response runs see this, end their scripts (SIGTERM, grace, kill)
	 * and audit the end while the audit log is still open. */
	atomic_store(&sm.stopping, true);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SCRIPT_GRACE_MS / 1000 + 3;
	pthread_mutex_lock(&sm.lock);
	while (sm.responses &&
	       pthread_cond_timedwait(&sm.idle, &sm.lock, &until) != ETIMEDOUT)
		;
	if (sm.responses)
		log_warn("scripts: %u response scripts still running at stop", sm.responses);
	zygote_reap();
	pthread_mutex_unlock(&sm.lock);
}

/* Hand the zygote one request with its fds; restart it once if it died. */
static int zygote_request(const char *json, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 5)] = { 0 };
	struct iovec iov = { .iov_base = (void *)json, .iov_len = strlen(json) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int err = 0;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	pthread_mutex_lock(&sm.lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (sm.zygote_fd < 0) {
			/* Started after the capability drop, it has only the
			 * daemon's capabilities: say so once per restart. */
			zygote_reap();
			err = sm.s ? zygote_spawn(sm.s) : -ENOTCONN;
			if (err)
				break;
			log_warn("scripts: zygote restarted (pid %d) with the daemon's "
				 "reduced capabilities", (int)sm.zygote_pid);
		}
		if (sendmsg(sm.zygote_fd, &mh, MSG_NOSIGNAL) >= 0) {
			err = 0;
			break;
		}
		err = -errno;
		log_warn("scripts: zygote gone (%s)", strerror(errno));
		close(sm.zygote_fd);
		sm.zygote_fd = -1;
	}
	pthread_mutex_unlock(&sm.lock);
	return err;
}

/* ---- a run: set-up ---- */

static bool name_ok(const char *n)
{
	return n[0] && n[0] != '.' && !strchr(n, '/') && strlen(n) < 128;
}

static int load_named(struct run *r, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", r->s->cfg.scripts_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && !strstr(name, ".py")) {
		snprintf(path, sizeof(path), "%s/%s.py", r->s->cfg.scripts_dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SCRIPT_MAX_CODE) {
		close(fd);
		return -EFBIG;
	}
	r->code = malloc((size_t)st.st_size + 1);
	if (!r->code) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, r->code, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size)
		return -EIO;
	r->code[n] = '\0';
	if (!utf8_valid(r->code, (size_t)n) || strlen(r->code) != (size_t)n)
		return -EILSEQ;
	snprintf(r->name, sizeof(r->name), "%s", path);
	return 0;
}

static long long limit_get(const json_t *limits, const char *key, long long def,
			   long long max)
{
	json_t *v = json_object_get(limits, key);
	long long x;

	if (!json_is_integer(v))
		return def;
	x = json_integer_value(v);
	return x <= 0 || x > max ? def : x;
}

/* Parse the request; on error a message for the client in @why. */
static int run_parse(struct run *r, const json_t *req, char *why, size_t wlen)
{
	const char *code = json_string_value(json_object_get(req, "code"));
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *args = json_object_get(req, "args"), *limits = json_object_get(req, "limits");
	json_t *to = json_object_get(req, "timeout"), *v;
	size_t i;
	int err;

	if (code) {
		if (strlen(code) > SCRIPT_MAX_CODE)
			return snprintf(why, wlen, "script larger than %u bytes", SCRIPT_MAX_CODE), -1;
		r->code = strdup(code);
		snprintf(r->name, sizeof(r->name), "%s", name ? name : "<script>");
	} else if (name && name_ok(name)) {
		err = load_named(r, name);
		if (err)
			return snprintf(why, wlen, "script %s: %s", name,
					err == -ENOENT ? "no such script in the scripts directory" :
					err == -EILSEQ ? "not UTF-8 text" : strerror(-err)), -1;
	} else {
		return snprintf(why, wlen, "script.run needs \"code\" or a script \"name\" "
				"(a file name in the scripts directory)"), -1;
	}
	if (!r->code)
		return snprintf(why, wlen, "out of memory"), -1;
	filehash_buf(r->code, strlen(r->code), r->sha256);
	r->argv = json_array();
	json_array_append_new(r->argv, json_string(r->name));
	if (args && (!json_is_array(args) || json_array_size(args) > SCRIPT_MAX_ARGS))
		return snprintf(why, wlen, "\"args\" must be a list of at most %d strings",
				SCRIPT_MAX_ARGS), -1;
	json_array_foreach(args, i, v) {
		if (!json_is_string(v))
			return snprintf(why, wlen, "\"args\" must be strings"), -1;
		json_array_append(r->argv, v);
	}
	r->timeout_s = SCRIPT_DEFAULT_TIMEOUT;
	if (to && (!json_is_number(to) || json_number_value(to) <= 0 ||
		   json_number_value(to) > SCRIPT_MAX_TIMEOUT))
		return snprintf(why, wlen, "\"timeout\" must be 1 to %d seconds",
				SCRIPT_MAX_TIMEOUT), -1;
	if (to)
		r->timeout_s = (long)json_number_value(to);
	if (r->timeout_s < 1)
		r->timeout_s = 1;
	r->mem = limit_get(limits, "memory", SCRIPT_DEFAULT_MEMORY, 1ll << 40);
	r->pids = limit_get(limits, "pids", SCRIPT_DEFAULT_PIDS, 1 << 22);
	r->cpu = limit_get(limits, "cpu", SCRIPT_DEFAULT_CPU, 100000);
	r->max_output = (size_t)limit_get(limits, "output", SCRIPT_DEFAULT_OUTPUT, 1ll << 32);
	v = json_object_get(req, "alert");
	r->alert = json_is_object(v) ? json_incref(v) : NULL;
	return 0;
}

/* Receive the files the requester put with the run into a private spool. */
static int run_recv_files(struct run *r, const json_t *req, char *why, size_t wlen)
{
	json_t *files = json_object_get(req, "files"), *f;
	unsigned char *chunk;
	size_t i;
	int rc = -1;

	if (!files || !json_array_size(files))
		return 0;
	if (!json_is_array(files) || json_array_size(files) > SCRIPT_MAX_FILES)
		return snprintf(why, wlen, "\"files\": at most %d", SCRIPT_MAX_FILES), -1;
	snprintf(r->spool, sizeof(r->spool), "%s/spool", r->s->cfg.state_dir);
	mkdir(r->spool, 0700);
	snprintf(r->spool, sizeof(r->spool), "%s/spool/run-%d-%llu", r->s->cfg.state_dir,
		 (int)getpid(), (unsigned long long)r->id);
	if (mkdir(r->spool, 0700))
		return snprintf(why, wlen, "spool %.900s: %s", r->spool, strerror(errno)), -1;
	chunk = malloc(PROTO_DATA_CHUNK);
	if (!chunk)
		return snprintf(why, wlen, "out of memory"), -1;
	json_array_foreach(files, i, f) {
		struct put_file *pf = &r->files[i];
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *sha = json_string_value(json_object_get(f, "sha256"));
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char dg[32];
		long long got = 0;
		ssize_t n;
		int fd;

		if (!name || !name_ok(name) || !sha || strlen(sha) != 64 || !md) {
			snprintf(why, wlen, "\"files\"[%zu]: needs a plain \"name\" and \"sha256\"", i);
			EVP_MD_CTX_free(md);
			goto out;
		}
		snprintf(pf->name, sizeof(pf->name), "%s", name);
		snprintf(pf->path, sizeof(pf->path), "%s/%zu", r->spool, i);
		pf->size = json_integer_value(json_object_get(f, "size"));
		fd = open(pf->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		while (fd >= 0 && (n = control_recv_data(r->c, chunk, PROTO_DATA_CHUNK)) > 0) {
			EVP_DigestUpdate(md, chunk, (size_t)n);
			if (write(fd, chunk, (size_t)n) != n)
				break;
			got += n;
		}
		EVP_DigestFinal_ex(md, dg, NULL);
		EVP_MD_CTX_free(md);
		if (fd >= 0)
			close(fd);
		filehash_hex(dg, pf->sha256);
		r->nfiles = i + 1;
		if (fd < 0 || n != 0) {
			snprintf(why, wlen, "file %s: transfer failed", name);
			goto out;
		}
		if (got != pf->size || strcmp(pf->sha256, sha)) {
			snprintf(why, wlen, "file %s: received %lld bytes sha256 %s, announced "
				 "%lld bytes sha256 %s", name, got, pf->sha256, pf->size, sha);
			goto out;
		}
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

static void rlimit_fallback(struct run *r, json_t *rl)
{
	json_object_set_new(rl, "as", json_integer(r->mem));
	json_array_append_new(r->limit_notes, json_string(
		"memory: RLIMIT_AS (no memory controller)"));
	json_array_append_new(r->limit_notes, json_string(
		"pids: not enforced (no pids controller; RLIMIT_NPROC does not bind root)"));
	/* CPU share cannot be an rlimit; bound CPU time by the wall clock. */
	json_object_set_new(rl, "cpu", json_integer(r->timeout_s + SCRIPT_GRACE_MS / 1000 + 1));
	json_array_append_new(r->limit_notes, json_string(
		"cpu: RLIMIT_CPU of the timeout (no cpu controller)"));
}

/* A cgroup for the run, with what limits the hierarchy allows. */
static void run_cgroup(struct run *r, json_t *rl)
{
	char val[64];

	r->cgfd = -1;
	r->limit_mode = "rlimit";
	if (!sm.cg_base[0]) {
		rlimit_fallback(r, rl);
		return;
	}
	snprintf(r->cgdir, sizeof(r->cgdir), "%s/run-%d-%llu", sm.cg_base, (int)getpid(),
		 (unsigned long long)r->id);
	if (mkdir(r->cgdir, 0755)) {
		log_warn("scripts: mkdir %s: %s", r->cgdir, strerror(errno));
		r->cgdir[0] = '\0';
		rlimit_fallback(r, rl);
		return;
	}
	r->cgfd = open(r->cgdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	r->limit_mode = "cgroup";
	if (sm.cg_ctl[CG_MEMORY]) {
		snprintf(val, sizeof(val), "%lld", r->mem);
		write_file_at(r->cgfd, "memory.max", val);
		write_file_at(r->cgfd, "memory.swap.max", "0");
	}
	if (sm.cg_ctl[CG_PIDS]) {
		snprintf(val, sizeof(val), "%lld", r->pids);
		write_file_at(r->cgfd, "pids.max", val);
	}
	if (sm.cg_ctl[CG_CPU]) {
		snprintf(val, sizeof(val), "%lld 100000", r->cpu * 1000);
		write_file_at(r->cgfd, "cpu.max", val);
	}
	if (!sm.cg_ctl[CG_MEMORY]) {
		json_object_set_new(rl, "as", json_integer(r->mem));
		json_array_append_new(r->limit_notes, json_string(
			"memory: RLIMIT_AS (no memory controller)"));
	}
	if (!sm.cg_ctl[CG_PIDS])
		json_array_append_new(r->limit_notes, json_string(
			"pids: not enforced (no pids controller; RLIMIT_NPROC does not bind root)"));
	if (!sm.cg_ctl[CG_CPU]) {
		json_object_set_new(rl, "cpu", json_integer(r->timeout_s + SCRIPT_GRACE_MS / 1000 + 1));
		json_array_append_new(r->limit_notes, json_string(
			"cpu: RLIMIT_CPU of the timeout (no cpu controller)"));
	}
}

static void close_pair(int *p)
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static int rpc_script(struct run *r);

static int run_spawn(struct run *r, char *why, size_t wlen)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, st[2] = { -1, -1 }, sv[2] = { -1, -1 };
	int fds[5], nfds = 4, pid = 0, rc = -1;
	struct timeval tv = { .tv_sec = 1 };
	json_t *req, *rl = json_object();
	struct pollfd pfd;
	char *text = NULL;

	r->limit_notes = json_array();
	run_cgroup(r, rl);
	req = json_pack("{s:o}", "rlimit", rl);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(st, O_CLOEXEC) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(why, wlen, "cannot set up the script: %s", strerror(errno));
		goto out;
	}
	/* A script that sends half a frame, or stops reading, must not
	 * stall this thread. */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = 5;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fds[0] = sv[1];
	fds[1] = out[1];
	fds[2] = err[1];
	fds[3] = st[1];
	if (r->cgfd >= 0)
		fds[nfds++] = r->cgfd;
	rc = zygote_request(text, fds, nfds);
	if (rc) {
		snprintf(why, wlen, "the script worker is not available (%s)", strerror(-rc));
		goto out;
	}
	close(sv[1]);
	close(out[1]);
	close(err[1]);
	close(st[1]);
	sv[1] = out[1] = err[1] = st[1] = -1;
	/*
	 * The job goes out now, unasked, while the zygote forks: the child
	 * reads it first thing instead of asking for it (a round trip
	 * through this thread).  A large script fills the socket and waits
	 * for the child to read; a child that died first makes this fail,
	 * and the status pipe says why.
	 */
	r->rpc = sv[0];
	rpc_script(r);
	r->rpc = -1;
	pfd = (struct pollfd){ .fd = st[0], .events = POLLIN };
	rc = -1;
	if (poll(&pfd, 1, 5000) != 1 || read(st[0], &pid, sizeof(pid)) != sizeof(pid) || pid <= 0) {
		snprintf(why, wlen, "the script worker did not start the script%s%s",
			 pid < 0 ? ": " : "", pid < 0 ? strerror(-pid) : "");
		goto out;
	}
	r->pid = pid;
	r->out_r = out[0];
	r->err_r = err[0];
	r->status_r = st[0];
	r->rpc = sv[0];
	out[0] = err[0] = st[0] = sv[0] = -1;
	rc = 0;
out:
	free(text);
	close_pair(out);
	close_pair(err);
	close_pair(st);
	close_pair(sv);
	return rc;
}

/* ---- a run: the script's senseon-module calls ---- */

static int rpc_send(struct run *r, json_t *msg)
{
	int err;

	if (!msg)
		return -ENOMEM;
	err = proto_write_json(r->rpc, msg);
	json_decref(msg);
	return err;
}

static int rpc_ok(struct run *r, json_t *result)
{
	return rpc_send(r, json_pack("{s:b, s:o}", "ok", 1, "result",
				     result ? result : json_null()));
}

static int rpc_fail(struct run *r, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rpc_fail(struct run *r, const char *kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rpc_send(r, json_pack("{s:b, s:s, s:s}", "ok", 0, "kind", kind, "error", msg));
}

static const char *errno_kind(int err)
{
	if (err == ENOENT || err == ESRCH)
		return "NotFound";
	if (err == EACCES || err == EPERM || err == ELOOP)
		return "PermissionDenied";
	return "Error";
}

static void transfer_note(struct run *r, const char *op, json_t *what)
{
	json_t *rec = json_deep_copy(what);

	json_object_set_new(rec, "op", json_string(op));
	json_array_append_new(r->transfers, rec);
	json_object_set_new(what, "run", json_integer((json_int_t)r->id));
	audit_append(!strcmp(op, "upload") ? "script.upload" : "script.download", what);
}

/*
 * The upload's SHA-256 runs on a thread of its own, off the send path:
 * the sender reads a block into a free slot, hands it to the hasher and
 * sends it; a slot is reused only once it was both sent and hashed.  One
 * SHA-256 stream is about as fast as the socket, so hashing inline would
 * halve the throughput.
 */
#define UPLOAD_SLOTS	4
#define UPLOAD_BLOCK	PROTO_MAX_PAYLOAD	/* the largest data frame */

struct hasher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned char *buf[UPLOAD_SLOTS];
	size_t len[UPLOAD_SLOTS];
	uint64_t filled, hashed;	/* blocks handed over, blocks hashed */
	bool done;
	EVP_MD_CTX *md;
	pthread_t thread;
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		unsigned int slot;

		while (h->hashed == h->filled && !h->done)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->hashed == h->filled)
			break;
		slot = h->hashed % UPLOAD_SLOTS;
		pthread_mutex_unlock(&h->lock);
		EVP_DigestUpdate(h->md, h->buf[slot], h->len[slot]);
		pthread_mutex_lock(&h->lock);
		h->hashed++;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static int hasher_start(struct hasher *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->md = EVP_MD_CTX_new();
	for (int i = 0; i < UPLOAD_SLOTS; i++) {
		h->buf[i] = malloc(UPLOAD_BLOCK);
		if (!h->buf[i])
			return -ENOMEM;
	}
	if (!h->md || !EVP_DigestInit_ex(h->md, EVP_sha256(), NULL))
		return -ENOMEM;
	return -pthread_create(&h->thread, NULL, hasher_main, h);
}

/* A slot the sender may fill: sent already (the sender is sequential) and hashed. */
static unsigned char *hasher_slot(struct hasher *h)
{
	unsigned char *b;

	pthread_mutex_lock(&h->lock);
	while (h->filled - h->hashed >= UPLOAD_SLOTS)
		pthread_cond_wait(&h->cond, &h->lock);
	b = h->buf[h->filled % UPLOAD_SLOTS];
	pthread_mutex_unlock(&h->lock);
	return b;
}

static void hasher_put(struct hasher *h, size_t len)
{
	pthread_mutex_lock(&h->lock);
	h->len[h->filled % UPLOAD_SLOTS] = len;
	h->filled++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Wait for the last block, then the digest (if @hex) and free everything. */
static void hasher_finish(struct hasher *h, bool started, char hex[65])
{
	unsigned char dg[32];

	if (started) {
		pthread_mutex_lock(&h->lock);
		h->done = true;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
	}
	if (hex && h->md) {
		EVP_DigestFinal_ex(h->md, dg, NULL);
		filehash_hex(dg, hex);
	}
	EVP_MD_CTX_free(h->md);
	for (int i = 0; i < UPLOAD_SLOTS; i++)
		free(h->buf[i]);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
}

/*
 * An upload sends what the file holds from the moment it is opened: at
 * most its size then (a file still being written is cut there; one that
 * shrinks ends early), holes as zeros.  The receiver gets
 * {"upload": {...}}, data frames, then an end frame with size and sha256.
 */
static int rpc_upload(struct run *r, json_t *params)
{
	const char *path = json_string_value(json_object_get(params, "path"));
	char real[PATH_MAX], hex[65] = "";
	long long left, sent = 0;
	struct hasher h;
	const char *base;
	struct stat st;
	ssize_t n = 0;
	int fd, err = 0;

	if (!path)
		return rpc_fail(r, "Error", "upload: a path is required");
	if (!r->c)
		return rpc_fail(r, "NotAvailable", "upload: a response script has no requester "
				"to send files to");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rpc_fail(r, errno_kind(errno), "upload %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return rpc_fail(r, "Error", "upload %s: not a regular file", path);
	}
	if (fd_path(fd, real, sizeof(real)) < 0)
		real[0] = '\0';
	base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	err = hasher_start(&h);
	if (err) {
		hasher_finish(&h, false, NULL);
		goto out;
	}
	err = control_reply(r->c, json_pack("{s:{s:s, s:s, s:I}}", "upload", "name", base,
					    "path", real, "size", (json_int_t)st.st_size), 0);
	for (left = st.st_size; !err && left > 0; left -= n, sent += n) {
		unsigned char *buf = hasher_slot(&h);

		n = read(fd, buf, left < UPLOAD_BLOCK ? (size_t)left : UPLOAD_BLOCK);
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		hasher_put(&h, (size_t)n);
		err = control_send_data(r->c, buf, (size_t)n);
	}
	hasher_finish(&h, true, hex);
	if (!err)
		err = control_send_end(r->c, json_pack("{s:s, s:I, s:s}", "name", base,
						       "size", (json_int_t)sent, "sha256", hex));
out:
	close(fd);
	if (err == -EPIPE)
		r->client_gone = true;
	if (err)
		return rpc_fail(r, "Error", "upload %s: %s", real, strerror(-err));
	transfer_note(r, "upload", json_pack("{s:s, s:I, s:s}", "path", real,
					     "size", (json_int_t)sent, "sha256", hex));
	return rpc_ok(r, json_pack("{s:s, s:s, s:I, s:s}", "path", real, "name", base,
				   "size", (json_int_t)sent, "sha256", hex));
}

static const struct put_file *find_put(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].name, name))
			return &r->files[i];
	return NULL;
}

/* Copy @src into the new @dst fd, hashing; 0 or -errno. */
static int copy_hash(int src, int dst, long long *size, char hex[65])
{
	unsigned char *buf = malloc(PROTO_DATA_CHUNK), dg[32];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ssize_t n;
	int err = 0;

	*size = 0;
	if (!buf || !md) {
		err = -ENOMEM;
		goto out;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = read(src, buf, PROTO_DATA_CHUNK)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		if (write(dst, buf, (size_t)n) != n) {
			err = -EIO;
			goto out;
		}
		*size += n;
	}
	if (n < 0)
		err = -errno;
	EVP_DigestFinal_ex(md, dg, NULL);
	filehash_hex(dg, hex);
out:
	free(buf);
	EVP_MD_CTX_free(md);
	return err;
}

/* download(): a put file to @dest, atomically, never through a symlink. */
static int rpc_download(struct run *r, json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *dest = json_string_value(json_object_get(params, "dest"));
	int mode = (int)json_integer_value(json_object_get(params, "mode"));
	bool overwrite = json_is_true(json_object_get(params, "overwrite"));
	char dir[PATH_MAX], tmp[64], hex[65];
	const struct put_file *pf;
	int dirfd = -1, src = -1, dst = -1, err;
	long long size = 0;
	const char *base;
	struct stat st;

	if (!name || !dest || dest[0] != '/')
		return rpc_fail(r, "Error", "download: a name and an absolute dest are required");
	pf = find_put(r, name);
	if (!pf)
		return rpc_fail(r, "NotFound", "download: the requester supplied no file named "
				"\"%s\" (senseonctl run --put %s=FILE)", name, name);
	snprintf(dir, sizeof(dir), "%s", dest);
	*strrchr(dir, '/') = '\0';
	base = strrchr(dest, '/') + 1;
	if (!base[0] || !strcmp(base, ".") || !strcmp(base, ".."))
		return rpc_fail(r, "Error", "download: %s is not a file name", dest);
	dirfd = open(dir[0] ? dir : "/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0)
		return rpc_fail(r, errno_kind(errno), "download: %s: %s", dir, strerror(errno));
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		err = S_ISLNK(st.st_mode) ? rpc_fail(r, "PermissionDenied",
				"download: %s is a symbolic link: refused", dest) :
		      !overwrite ? rpc_fail(r, "Error",
				"download: %s exists (pass overwrite=True to replace it)", dest) :
		      !S_ISREG(st.st_mode) ? rpc_fail(r, "Error",
				"download: %s is not a regular file", dest) : 1;
		if (err != 1)
			goto out;
	}
	snprintf(tmp, sizeof(tmp), ".senseon-download.%d.%llu", (int)getpid(),
		 (unsigned long long)r->id);
	src = open(pf->path, O_RDONLY | O_CLOEXEC);
	dst = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (src < 0 || dst < 0) {
		err = rpc_fail(r, errno_kind(errno), "download: %s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	err = copy_hash(src, dst, &size, hex);
	if (!err && (fchmod(dst, (mode_t)(mode & 07777)) || fsync(dst)))
		err = -errno;
	if (err || size != pf->size || strcmp(hex, pf->sha256)) {
		unlinkat(dirfd, tmp, 0);
		err = err ? rpc_fail(r, "Error", "download %s: %s", dest, strerror(-err)) :
		      rpc_fail(r, "IntegrityError", "download %s: wrote %lld bytes sha256 %s, "
			       "expected %lld bytes sha256 %s", dest, size, hex, pf->size, pf->sha256);
		goto out;
	}
	/* RENAME_NOREPLACE closes the gap between the check and the rename. */
	if (renameat2(dirfd, tmp, dirfd, base, overwrite ? 0 : RENAME_NOREPLACE)) {
		err = errno;
		unlinkat(dirfd, tmp, 0);
		err = rpc_fail(r, err == EEXIST ? "Error" : errno_kind(err), "download %s: %s",
			       dest, strerror(err));
		goto out;
	}
	fsync(dirfd);
	transfer_note(r, "download", json_pack("{s:s, s:s, s:I, s:s}", "name", name,
					       "path", dest, "size", (json_int_t)size, "sha256", hex));
	err = rpc_ok(r, json_pack("{s:s, s:I, s:s}", "path", dest, "size", (json_int_t)size,
				  "sha256", hex));
out:
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	close(dirfd);
	return err;
}

static int rpc_kill(struct run *r, json_t *params)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(params, "pid"));
	int sig = (int)json_integer_value(json_object_get(params, "signal"));
	bool tree = json_is_true(json_object_get(params, "tree"));
	char details[512];
	int err;

	if (pid > 0 && pid == sm.zygote_pid) {
		snprintf(details, sizeof(details), "refused: the sensor's script worker");
		err = -EPERM;
	} else {
		err = response_kill(&sm.rc, pid, sig, tree, details, sizeof(details));
	}
	audit_append("script.kill", json_pack("{s:I, s:i, s:i, s:b, s:s, s:s}",
					      "run", (json_int_t)r->id, "pid", (int)pid,
					      "signal", sig, "tree", tree,
					      "result", err ? "failed" : "success",
					      "details", details));
	if (err)
		return rpc_fail(r, errno_kind(-err), "kill %d: %s", (int)pid, details);
	return rpc_ok(r, json_string(details));
}

static json_t *process_json(pid_t pid)
{
	struct proc_info *pi = proctable_lookup(sm.s->proctable, pid);
	json_t *js;

	if (!pi)
		pi = proc_info_read("/proc", pid);
	if (!pi)
		return NULL;
	js = proc_info_to_json(pi);
	proc_info_put(pi);
	return js;
}

/*
 * processes(): the table has no iterator, and /proc is the authority on
 * which pids exist now; each one is then described from the table (its
 * exact exe, container ...), or read from /proc if the table has not
 * seen it yet.
 */
static int rpc_processes(struct run *r)
{
	json_t *list = json_array();
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d || !list) {
		json_decref(list);
		if (d)
			closedir(d);
		return rpc_fail(r, "Error", "processes: cannot read /proc");
	}
	while ((de = readdir(d))) {
		json_t *p;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		p = process_json((pid_t)atoi(de->d_name));
		if (p) {
			json_object_del(p, "parent");	/* the list has it by ppid */
			json_array_append_new(list, p);
		}
	}
	closedir(d);
	return rpc_ok(r, list);
}

static int rpc_process(struct run *r, json_t *params)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(params, "pid"));
	json_t *p = pid > 0 ? process_json(pid) : NULL;

	if (!p)
		return rpc_fail(r, "NotFound", "process %d: no such process", (int)pid);
	return rpc_ok(r, p);
}

static void rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), size - strlen(buf), ".%09ldZ", ts.tv_nsec);
}

static int rpc_alert(struct run *r, json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *msg = json_string_value(json_object_get(params, "message"));
	const char *prio = json_string_value(json_object_get(params, "priority"));
	json_t *fields = json_object_get(params, "fields"), *alert;
	char uuid[37], ts[64];
	struct event *ev;
	uuid_t u;

	if (!name || !msg)
		return rpc_fail(r, "Error", "alert: a name and a message are required");
	uuid_generate(u);
	uuid_unparse_lower(u, uuid);
	rfc3339_now(ts, sizeof(ts));
	alert = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O,"
			  " s:{s:s, s:s}, s:{s:I, s:s, s:s}, s:[{s:s, s:s}]}",
			  "uuid", uuid, "timestamp", ts, "name", name, "policyType", "script",
			  "priority", prio ? prio : "Medium", "message", msg,
			  "alertMessage", msg, "comments", "raised by an analyst script",
			  "fields", fields ? fields : json_null(),
			  "location", "nodeName", r->s->cfg.node_name, "sensorId", r->s->sensor_id,
			  "script", "run", (json_int_t)r->id, "name", r->name, "sha256", r->sha256,
			  "notifications", "type", "detection", "message", msg);
	if (!alert)
		return rpc_fail(r, "Error", "alert: the fields are not JSON-serialisable");
	ev = event_new(EVENT_SCRIPT_ALERT);
	if (!ev) {
		json_decref(alert);
		return rpc_fail(r, "Error", "alert: out of memory");
	}
	ev->alert = alert;
	ev->pid = r->pid;
	/* The main loop writes it (sink_alert is not for other threads). */
	if (queue_push(r->s->queue, ev)) {
		event_free(ev);
		return rpc_fail(r, "Error", "alert: the sensor's event queue is full; try again");
	}
	audit_append("script.alert", json_pack("{s:I, s:s, s:s}", "run", (json_int_t)r->id,
					       "uuid", uuid, "name", name));
	return rpc_ok(r, json_string(uuid));
}

static int rpc_log(struct run *r, json_t *params)
{
	const char *msg = json_string_value(json_object_get(params, "message"));
	int level = log_level_from_name(json_string_value(json_object_get(params, "level")));

	if (!msg)
		return rpc_fail(r, "Error", "log: a message is required");
	log_msg(level < 0 ? LOG_INFO : level, "script %s [run %llu]: %s", r->name,
		(unsigned long long)r->id, msg);
	return rpc_ok(r, NULL);
}

static int rpc_sensor_info(struct run *r)
{
	return rpc_ok(r, json_pack("{s:s, s:s, s:s, s:i, s:I, s:{s:s, s:I, s:I, s:I, s:I, s:O}}",
				   "version", PACKAGE_VERSION, "sensorId", r->s->sensor_id,
				   "nodeName", r->s->cfg.node_name, "pid", (int)r->s->self_pid,
				   "uptime", (json_int_t)(time(NULL) - r->s->started),
				   "limits", "mode", r->limit_mode, "timeout", (json_int_t)r->timeout_s,
				   "memory", (json_int_t)r->mem, "pids", (json_int_t)r->pids,
				   "cpu", (json_int_t)r->cpu, "notes", r->limit_notes));
}

static int rpc_exit(struct run *r, json_t *params)
{
	const char *tb = json_string_value(json_object_get(params, "traceback"));

	free(r->traceback);
	r->traceback = tb ? strdup(tb) : NULL;
	return 0;	/* a notification: no reply */
}

/* ---- isolation, through the daemon's isolation subsystem ---- */

/* Who changed isolation, for its audit record: the script and its requester. */
static void run_by(struct run *r, char *by, size_t size)
{
	const struct control_peer *p = r->c ? control_peer(r->c) : NULL;

	snprintf(by, size, "script run %llu (%s)", (unsigned long long)r->id,
		 r->c ? (p && p->analyst ? p->analyst : "?") : r->origin);
}

static const char *isolation_kind(int err)
{
	if (err == -ENOTCONN)
		return "NotAvailable";
	if (err == -EPERM)
		return "PermissionDenied";
	return "Error";
}

static int rpc_isolate(struct run *r, json_t *params)
{
	json_t *req = json_object(), *st = NULL;
	char by[256], err[1024] = "";
	const char *keys[] = { "allow", "for", "force" };
	int rc;

	if (!req)
		return rpc_fail(r, "Error", "out of memory");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(params, keys[i]);

		if (v && !json_is_null(v))
			json_object_set(req, keys[i], v);
	}
	run_by(r, by, sizeof(by));
	rc = isolation_isolate(req, by, &st, err, sizeof(err));
	json_decref(req);
	if (rc)
		return rpc_fail(r, isolation_kind(rc),
				"isolate: %s", err[0] ? err : strerror(-rc));
	return rpc_ok(r, st);
}

static int rpc_unisolate(struct run *r)
{
	char by[256], err[1024] = "";
	int rc;

	run_by(r, by, sizeof(by));
	rc = isolation_unisolate(by, err, sizeof(err));
	if (rc)
		return rpc_fail(r, isolation_kind(rc), "unisolate: %s", err[0] ? err : strerror(-rc));
	return rpc_ok(r, json_pack("{s:b}", "isolated", 0));
}

static int rpc_isolation_status(struct run *r)
{
	char err[1024] = "";
	json_t *st;
	int rc = isolation_status(&st, err, sizeof(err));

	if (rc)
		return rpc_fail(r, isolation_kind(rc), "isolation_status: %s", err);
	return rpc_ok(r, st);
}

/* The job, sent unasked at the start; the alert it answers is its stdin. */
static int rpc_script(struct run *r)
{
	json_t *job = json_pack("{s:s, s:s, s:O}", "code", r->code, "name", r->name,
				"argv", r->argv);

	char *in = r->alert ? json_dumps(r->alert, JSON_COMPACT) : NULL;

	if (job && in)
		json_object_set_new(job, "stdin", json_string(in));
	free(in);
	return rpc_ok(r, job);
}

/* One call from the script.  Returns -1 when the RPC socket is done. */
static int run_rpc(struct run *r)
{
	struct proto_frame f = { 0 };
	const char *m;
	json_t *params;
	int err;

	err = proto_read_frame(r->rpc, &f);
	if (err)
		return -1;	/* EOF, timeout or garbage: the script gets no more */
	m = json_string_value(json_object_get(f.json, "method"));
	params = json_object_get(f.json, "params");
	if (!m)
		err = rpc_fail(r, "Error", "malformed call");
	else if (!strcmp(m, "exit"))
		err = rpc_exit(r, params);
	else if (!strcmp(m, "upload"))
		err = rpc_upload(r, params);
	else if (!strcmp(m, "download"))
		err = rpc_download(r, params);
	else if (!strcmp(m, "kill"))
		err = rpc_kill(r, params);
	else if (!strcmp(m, "processes"))
		err = rpc_processes(r);
	else if (!strcmp(m, "process"))
		err = rpc_process(r, params);
	else if (!strcmp(m, "alert"))
		err = rpc_alert(r, params);
	else if (!strcmp(m, "log"))
		err = rpc_log(r, params);
	else if (!strcmp(m, "hostname"))
		err = rpc_ok(r, json_string(r->s->cfg.node_name));
	else if (!strcmp(m, "sensor_info"))
		err = rpc_sensor_info(r);
	else if (!strcmp(m, "alert_context"))
		err = rpc_ok(r, r->alert ? json_incref(r->alert) : NULL);
	else if (!strcmp(m, "isolate"))
		err = rpc_isolate(r, params);
	else if (!strcmp(m, "unisolate"))
		err = rpc_unisolate(r);
	else if (!strcmp(m, "isolation_status"))
		err = rpc_isolation_status(r);
	else
		err = rpc_fail(r, "Error", "unknown call %s", m);
	proto_frame_free(&f);
	return err == -EMSGSIZE ? rpc_fail(r, "Error", "the reply is too large") : 0;
}

/* ---- a run: output, timeout, end ---- */

/*
 * A response run has no requester: its output goes to the daemon log, a
 * line per record (a line longer than the buffer is logged in pieces).
 * @n == 0 flushes the partial line at the end of the run.
 */
static void run_log_output(struct run *r, int which, const char *buf, size_t n)
{
	static const char *const names[2] = { "stdout", "stderr" };
	char *line = r->line[which];
	size_t *len = &r->line_len[which];

	for (size_t i = 0; i <= n; i++) {
		bool end = i == n ? !n && *len : buf[i] == '\n';

		if (!end && i < n) {
			line[(*len)++] = buf[i];
			end = *len == sizeof(r->line[0]);
		}
		if (!end)
			continue;
		log_msg(LOG_INFO, "script %s [run %llu] %s: %.*s", r->name,
			(unsigned long long)r->id, names[which], (int)*len, line);
		*len = 0;
	}
}

static int run_output(struct run *r, int fd, const char *stream, size_t *count)
{
	char buf[SCRIPT_OUT_CHUNK];
	size_t room;
	ssize_t n = read(fd, buf, sizeof(buf));
	json_t *msg;

	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	*count += (size_t)n;
	room = r->out_bytes + r->err_bytes - (size_t)n < r->max_output ?
	       r->max_output - (r->out_bytes + r->err_bytes - (size_t)n) : 0;
	if ((size_t)n > room) {
		if (!r->truncated && r->c)
			control_reply(r->c, json_pack("{s:b, s:I}", "truncated", 1,
						      "limit", (json_int_t)r->max_output), 0);
		r->truncated = true;
		n = (ssize_t)room;
	}
	if (n == 0 || r->client_gone)
		return 0;
	if (!r->c) {
		run_log_output(r, count == &r->err_bytes, buf, (size_t)n);
		return 0;
	}
	msg = json_pack("{s:s}", "stream", stream);
	if (msg && !json_set_bytes(msg, "data", buf, (size_t)n) &&
	    control_reply(r->c, msg, 0) == -EPIPE)
		r->client_gone = true;
	else if (!msg)
		return 0;
	return 0;
}

/* Kill whatever is left of the script: its cgroup, else its session. */
static void run_kill_all(struct run *r, int sig)
{
	if (sig == SIGKILL && r->cgfd >= 0 && write_file_at(r->cgfd, "cgroup.kill", "1") == 0)
		return;
	if (r->pid > 0) {
		kill(-r->pid, sig);
		if (!r->exited)
			kill(r->pid, sig);
	}
}

static void run_loop(struct run *r)
{
	uint64_t deadline = r->t0 + (uint64_t)r->timeout_s * 1000000000ull;
	uint64_t kill_at = 0, drain_until = 0;
	bool out_open = true, err_open = true, rpc_open = true;

	while (!r->exited || out_open || err_open) {
		struct pollfd pfd[4] = {
			{ .fd = out_open ? r->out_r : -1, .events = POLLIN },
			{ .fd = err_open ? r->err_r : -1, .events = POLLIN },
			{ .fd = rpc_open ? r->rpc : -1, .events = POLLIN },
			{ .fd = r->exited ? -1 : r->status_r, .events = POLLIN },
		};
		uint64_t now = monotonic_ns();
		int wait_ms = 200;

		bool stop = r->client_gone || atomic_load(&sm.stopping);

		/* Once: kill_at is set from here on. */
		if (!r->exited && !kill_at && (now >= deadline || stop)) {
			r->timed_out = !stop;
			run_kill_all(r, SIGTERM);
			kill_at = now + SCRIPT_GRACE_MS * 1000000ull;
		}
		if (kill_at && now >= kill_at && !r->exited) {
			run_kill_all(r, SIGKILL);
			kill_at = now + 500 * 1000000ull;	/* again, if it raced a fork */
		}
		if (r->exited && drain_until && now >= drain_until)
			break;	/* something still holds the pipes: stop reading */
		if (!r->exited && !kill_at && deadline > now)
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		if (poll(pfd, 4, wait_ms > 200 ? 200 : wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && run_output(r, r->out_r, "stdout", &r->out_bytes))
			out_open = false;
		if (pfd[1].revents && run_output(r, r->err_r, "stderr", &r->err_bytes))
			err_open = false;
		if (pfd[2].revents && run_rpc(r))
			rpc_open = false;
		if (pfd[3].revents) {
			if (read(r->status_r, &r->wstatus, sizeof(r->wstatus)) != sizeof(r->wstatus))
				r->wstatus = -1;
			r->exited = true;
			/* Children the script left behind die with it. */
			run_kill_all(r, SIGKILL);
			drain_until = monotonic_ns() + SCRIPT_DRAIN_MS * 1000000ull;
		}
	}
	/* Calls already queued when the script ended (its "exit" report). */
	while (rpc_open && run_rpc(r) == 0) {
		struct pollfd p = { .fd = r->rpc, .events = POLLIN };

		if (poll(&p, 1, 0) != 1)
			break;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Release everything of the run but the struct; safe to call twice. */
static void run_cleanup(struct run *r)
{
	if (r->cgdir[0]) {
		/* cgroup.kill is asynchronous: wait a little for the exits. */
		for (int i = 0; i < 200 && rmdir(r->cgdir) && errno == EBUSY; i++) {
			write_file_at(r->cgfd, "cgroup.kill", "1");
			usleep(5000);
		}
		r->cgdir[0] = '\0';
	}
	close_fd(&r->cgfd);
	for (size_t i = 0; i < r->nfiles; i++)
		unlink(r->files[i].path);
	r->nfiles = 0;
	if (r->spool[0])
		rmdir(r->spool);
	r->spool[0] = '\0';
	close_fd(&r->out_r);
	close_fd(&r->err_r);
	close_fd(&r->rpc);
	close_fd(&r->status_r);
	free(r->code);
	free(r->traceback);
	r->code = r->traceback = NULL;
	json_decref(r->argv);
	json_decref(r->alert);
	json_decref(r->limit_notes);
	json_decref(r->transfers);
	r->argv = r->alert = r->limit_notes = r->transfers = NULL;
}

static json_t *run_result(struct run *r)
{
	int ws = r->wstatus;
	json_t *res;

	res = json_pack("{s:b, s:b, s:I, s:b, s:b, s:I, s:I, s:I, s:s, s:O}",
			"done", 1, "ok", 1, "run", (json_int_t)r->id,
			"timedOut", r->timed_out, "truncated", r->truncated,
			"durationMs", (json_int_t)ms_since(r->t0),
			"stdoutBytes", (json_int_t)r->out_bytes,
			"stderrBytes", (json_int_t)r->err_bytes,
			"limits", r->limit_mode, "limitNotes", r->limit_notes);
	if (ws != -1 && WIFEXITED(ws)) {
		json_object_set_new(res, "exit", json_integer(WEXITSTATUS(ws)));
		json_object_set_new(res, "signal", json_null());
	} else if (ws != -1 && WIFSIGNALED(ws)) {
		json_object_set_new(res, "exit", json_integer(128 + WTERMSIG(ws)));
		json_object_set_new(res, "signal", json_integer(WTERMSIG(ws)));
		json_object_set_new(res, "signalName", json_string(sigabbrev_np(WTERMSIG(ws))));
	} else {
		json_object_set_new(res, "exit", json_integer(255));
		json_object_set_new(res, "signal", json_null());
	}
	json_object_set_new(res, "traceback", r->traceback ? json_string(r->traceback) :
			    json_null());
	return res;
}

static void run_audit_start(struct run *r)
{
	json_t *rec = run_audit_base(r);
	json_t *files = json_array();

	for (size_t i = 0; i < r->nfiles; i++)
		json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", r->files[i].name,
						       "size", (json_int_t)r->files[i].size,
						       "sha256", r->files[i].sha256));
	json_object_set_new(rec, "sha256", json_string(r->sha256));
	json_object_set_new(rec, "code", json_string(r->code));
	json_object_set(rec, "argv", r->argv);
	json_object_set_new(rec, "timeout", json_integer(r->timeout_s));
	json_object_set_new(rec, "files", files);
	json_object_set_new(rec, "responseTo", r->alert ?
			    json_string(json_string_value(json_object_get(r->alert, "uuid"))) :
			    json_null());
	/* In the chain before the script is forked; durable with the first
	 * privileged call it makes, or with script.end before "done". */
	audit_append_deferred("script.start", rec);
}

static void run_audit_end(struct run *r, const json_t *res)
{
	json_t *rec = run_audit_base(r);

	json_object_set_new(rec, "sha256", json_string(r->sha256));
	json_object_set_new(rec, "pid", json_integer(r->pid));
	json_object_set(rec, "exit", json_object_get(res, "exit"));
	json_object_set(rec, "signal", json_object_get(res, "signal"));
	json_object_set(rec, "durationMs", json_object_get(res, "durationMs"));
	json_object_set_new(rec, "outputBytes", json_integer((json_int_t)(r->out_bytes +
									r->err_bytes)));
	json_object_set_new(rec, "truncated", json_boolean(r->truncated));
	json_object_set_new(rec, "timedOut", json_boolean(r->timed_out));
	json_object_set_new(rec, "clientGone", json_boolean(r->client_gone));
	json_object_set_new(rec, "limits", json_string(r->limit_mode));
	json_object_set(rec, "transfers", r->transfers);
	audit_append("script.end", rec);
}

static struct run *run_new(struct control_conn *c, struct sensor *s)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	r->s = s;
	r->id = atomic_fetch_add(&sm.next_id, 1) + 1;
	r->cgfd = r->out_r = r->err_r = r->rpc = r->status_r = -1;
	r->transfers = json_array();
	r->t0 = monotonic_ns();
	return r;
}

static void run_free(struct run *r)
{
	run_cleanup(r);
	free(r);
}

/*
 * run_execute - start the parsed run, serve it until it ends and audit
 * it.  Returns its result (the final reply), or NULL with @why set when
 * it could not start.  The run's cgroup is gone when this returns.
 */
static json_t *run_execute(struct run *r, char *why, size_t wlen)
{
	json_t *res;

	run_audit_start(r);
	if (run_spawn(r, why, wlen))
		return NULL;
	if (r->c)
		control_reply(r->c, json_pack("{s:b, s:I, s:i, s:s, s:s}", "started", 1,
					      "run", (json_int_t)r->id, "pid", (int)r->pid,
					      "sha256", r->sha256, "limits", r->limit_mode), 0);
	run_loop(r);
	if (!r->c) {
		run_log_output(r, 0, NULL, 0);
		run_log_output(r, 1, NULL, 0);
	}
	res = run_result(r);
	run_audit_end(r, res);
	log_msg(r->c ? LOG_INFO : LOG_NOTICE, "script %s [run %llu%s%s] ended: exit %lld%s%s in %llu ms",
		r->name, (unsigned long long)r->id, r->c ? "" : ", ", r->origin,
		(long long)json_integer_value(json_object_get(res, "exit")),
		r->timed_out ? ", timed out" : "", r->truncated ? ", output truncated" : "",
		(unsigned long long)ms_since(r->t0));
	/* The cgroup is gone before "done": nothing of the script is left. */
	run_cleanup(r);
	return res;
}

static void run_audit_refused(struct run *r, const char *why)
{
	audit_append("script.refused", json_pack("{s:I, s:s, s:s, s:s}", "run", (json_int_t)r->id,
						 "name", r->name[0] ? r->name : "?", "reason", why,
						 "origin", r->c ? "control" : r->origin));
}

/* "script.run": the whole life of one script, on this connection's thread. */
static int handle_run(struct control_conn *c, const json_t *req)
{
	struct run *r = run_new(c, control_sensor(c));
	char why[1024] = "";
	json_t *res;

	if (!r)
		return control_error(c, "out of memory");
	if (run_parse(r, req, why, sizeof(why)) || run_recv_files(r, req, why, sizeof(why)))
		goto refuse;
	res = run_execute(r, why, sizeof(why));
	if (!res)
		goto refuse;
	free(r);
	return control_reply(c, res, 1);
refuse:
	run_audit_refused(r, why);
	run_free(r);
	return control_error(c, "%s", why);
}

/* ---- response runs (a policy's script: action) ---- */

#define SCRIPT_MAX_RESPONSES	16	/* response runs at once */
#define SCRIPT_RESPONSE_OUTPUT	(64u << 10)	/* logged, so kept short */

static void *response_thread(void *arg)
{
	struct run *r = arg;
	char why[1024] = "";
	json_t *res = run_execute(r, why, sizeof(why));

	if (!res) {
		log_err("script %s [run %llu, %s] did not start: %s", r->name,
			(unsigned long long)r->id, r->origin, why);
		run_audit_refused(r, why);
	}
	json_decref(res);
	run_free(r);
	pthread_mutex_lock(&sm.lock);
	if (--sm.responses == 0)
		pthread_cond_broadcast(&sm.idle);
	pthread_mutex_unlock(&sm.lock);
	return NULL;
}

/* Build the request a control client would send for this action. */
static json_t *response_request(const char *name, char *const *args, const json_t *alert)
{
	json_t *req = json_pack("{s:s, s:[], s:O, s:{s:I}}", "name", name, "args",
				"alert", alert, "limits", "output",
				(json_int_t)SCRIPT_RESPONSE_OUTPUT);

	for (size_t i = 0; req && args && args[i]; i++)
		json_array_append_new(json_object_get(req, "args"), json_string(args[i]));
	return req;
}

static int response_spawn_thread(struct run *r)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_mutex_lock(&sm.lock);
	if (sm.responses >= SCRIPT_MAX_RESPONSES || atomic_load(&sm.stopping)) {
		pthread_mutex_unlock(&sm.lock);
		return -EBUSY;
	}
	sm.responses++;
	pthread_mutex_unlock(&sm.lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&t, &attr, response_thread, r);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_lock(&sm.lock);
		if (--sm.responses == 0)
			pthread_cond_broadcast(&sm.idle);
		pthread_mutex_unlock(&sm.lock);
	}
	return err;
}

/*
 * The response_script_fn of the script: action.  On the main loop: only
 * the script file is read here (so a missing script fails the action
 * at once); the run itself is on a thread of its own.
 */
static int scripts_respond(const char *name, char *const *args, const json_t *alert,
			   char *details, size_t size)
{
	const char *policy = json_string_value(json_object_get(alert, "name"));
	json_t *req = response_request(name, args, alert);
	struct run *r = sm.s ? run_new(NULL, sm.s) : NULL;
	char why[1024] = "";
	int err = -ENOMEM;
	uint64_t id;

	if (!r || !req)
		goto fail;
	id = r->id;	/* the thread owns (and frees) r once started */
	snprintf(r->origin, sizeof(r->origin), "policy:%s", policy ? policy : "?");
	if (run_parse(r, req, why, sizeof(why))) {
		err = -EINVAL;
		goto fail;
	}
	err = response_spawn_thread(r);
	if (err) {
		snprintf(why, sizeof(why), "%s", err == -EBUSY ? (atomic_load(&sm.stopping) ?
			 "the sensor is stopping" : "too many response scripts running") :
			 strerror(-err));
		goto fail;
	}
	json_decref(req);
	snprintf(details, size, "script started: run id %llu", (unsigned long long)id);
	return 0;
fail:
	snprintf(details, size, "script %s: %s", name, why[0] ? why : strerror(-err));
	if (r) {
		run_audit_refused(r, why[0] ? why : strerror(-err));
		run_free(r);
	}
	json_decref(req);
	return err;
}

int scripts_init(struct sensor *s)
{
	sm.s = s;
	response_set_script_starter(scripts_respond);
	return control_register("script.run", handle_run);
}
