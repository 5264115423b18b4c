/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * senseond - the sensor daemon: start-up, privileges, signals, main loop.
 *
 * Overview: main() loads the configuration, opens every kernel interface
 * as full root, drops to the capabilities the sensor needs, starts the
 * source threads and then runs the main loop on this thread: signals come
 * through a signalfd, events through the queue's eventfd.  The main loop
 * owns the process table, the policy set and the sinks; sources own only
 * their fds and threads.
 */
#include "sensor.h"
#include "pipeline.h"
#include "sink.h"
#include "status.h"
#include "execgate.h"
#include "isolation.h"
#include "control.h"
#include "platform.h"
#include "platform_cmds.h"
#include "scripts.h"
#include "audit.h"
#include "event.h"
#include "log.h"
#include "proctable.h"
#include "queue.h"

#include <cap-ng.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

/* Exit codes, documented in senseond(8) and the unit's
 * RestartPreventExitStatus=: configuration errors are not retried. */
#define EXIT_CONFIG	2
#define EXIT_KERNEL	3

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sensor_push(struct sensor *s, enum source_id src, struct event *ev)
{
	if (queue_push(s->queue, ev) == 0) {
		atomic_fetch_add(&s->stats[src].events, 1);
		return;
	}
	/* Queue full: the event is lost.  Count it and have the main loop
	 * resync the process table, as for a kernel-side loss. */
	atomic_fetch_add(&s->stats[src].lost, 1);
	atomic_store(&s->need_resync, true);
	event_free(ev);
}

/* A copy of each audit hash off the file, so a rewritten log shows. */
static void audit_hash_to_log(uint64_t seq, const char *type, const char *hash)
{
	log_info("audit record %llu %s %s", (unsigned long long)seq, type, hash);
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: senseond [OPTION]...\n"
		"Linux endpoint security sensor.\n\n"
		"  -f, --foreground       stay in the foreground, print events and alerts\n"
		"                         as JSON lines on stdout, log to stderr\n"
		"  -c, --config FILE      read FILE instead of %s/senseond.conf\n"
		"      --check-config     validate the configuration and exit\n"
		"      --check-policy FILE  validate a policy file (or directory) and exit\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n",
		SENSEON_CONFDIR);
}

/*
 * Capabilities kept after start-up, and why:
 *  SYS_ADMIN      fanotify marks (reload, exec gate), cgroup.kill/freeze
 *  DAC_READ_SEARCH  open_by_handle_at for file events; reading any file to hash it
 *  DAC_OVERRIDE, FOWNER, CHOWN  quarantine, delete and restore of any file
 *  SYS_PTRACE     /proc/PID/exe, cwd and fd of other users' processes
 *  KILL           responses (pidfd_send_signal to any process)
 *  NET_ADMIN      nftables isolation
 *  SYS_RESOURCE   raising limits of script workers
 *  SETUID, SETGID, SETPCAP  reserved for starting workers
 */
static const int kept_caps[] = {
	CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN,
	CAP_SYS_PTRACE, CAP_KILL, CAP_NET_ADMIN, CAP_SYS_RESOURCE, CAP_SETUID,
	CAP_SETGID, CAP_SETPCAP,
};

static int drop_capabilities(void)
{
	bool have[sizeof(kept_caps) / sizeof(kept_caps[0])];

	/* Keep only what we hold now: a container or a hardened unit may
	 * already have taken some away, and capset cannot add them back. */
	capng_get_caps_process();
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED, kept_caps[i]);
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++) {
		if (!have[i]) {
			log_info("capability %s is not available: not kept",
				 capng_capability_to_name(kept_caps[i]));
			continue;
		}
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				 CAPNG_BOUNDING_SET, kept_caps[i]))
			return -EINVAL;
	}
	return capng_apply(CAPNG_SELECT_BOTH) ? -EPERM : 0;
}

static int make_dirs(struct sensor *s)
{
	const char *dirs[] = { s->cfg.state_dir, s->cfg.log_dir, s->cfg.run_dir };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mkdir(dirs[i], 0700) && errno != EEXIST) {
			log_err("cannot create %s: %s", dirs[i], strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The sensor's identity survives restarts: the platform and the alerts'
 * location.sensorId name this host by it. */
static int load_sensor_id(struct sensor *s)
{
	char path[4096], buf[64] = "";
	uuid_t id;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/sensor-id", s->cfg.state_dir);
	fp = fopen(path, "re");
	if (fp) {
		if (fgets(buf, sizeof(buf), fp))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(fp);
		if (uuid_parse(buf, id) == 0) {
			uuid_unparse_lower(id, s->sensor_id);
			return 0;
		}
	}
	uuid_generate(id);
	uuid_unparse_lower(id, s->sensor_id);
	fp = fopen(path, "we");
	if (!fp) {
		log_err("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(fp, "%s\n", s->sensor_id);
	return fclose(fp) ? -EIO : 0;
}

static int load_config(struct sensor *s)
{
	char err[1024];

	if (config_defaults(&s->cfg))
		return -ENOMEM;
	if (access(s->config_path, F_OK) && errno == ENOENT &&
	    strcmp(s->config_path, SENSEON_CONFDIR "/senseond.conf") == 0)
		return 0;	/* no config file installed: defaults */
	if (config_load(&s->cfg, s->config_path, err, sizeof(err))) {
		log_err("%s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * audit_daemon - one audit record of the daemon's life (start, stop,
 * reload).  Without an audit log (audit_open failed, already logged)
 * there is nothing more to say.
 */
static void audit_daemon(struct sensor *s, const char *type, json_t *fields)
{
	int rc;

	json_object_set_new(fields, "pid", json_integer(s->self_pid));
	rc = audit_append(type, fields);
	if (rc && rc != -ENOTCONN)
		log_err("audit record %s not written: %s", type, strerror(-rc));
}

static void reload(struct sensor *s)
{
	char err[1024];
	bool ok = true;
	int rc;

	log_notice("SIGHUP: reloading %s", s->config_path);
	isolation_config_hold();
	rc = access(s->config_path, F_OK) == 0 ?
	     config_load(&s->cfg, s->config_path, err, sizeof(err)) : 0;
	isolation_config_release();
	if (rc) {
		log_err("configuration not reloaded, keeping the running one: %s", err);
		ok = false;
	} else {
		log_set_level(log_level_from_name(s->cfg.log_level));
	}
	/* logrotate renamed audit.jsonl: the chain goes on in a new file */
	rc = audit_reopen();
	if (rc && rc != -ENOTCONN)
		log_err("audit log not reopened: %s", strerror(-rc));
	audit_daemon(s, "config.reload", json_pack("{s:s, s:b, s:s*}", "file", s->config_path,
						   "ok", ok, "error", ok ? NULL : err));
	sink_reopen(s);
	pipeline_reload(s);
}

static int handle_signal(struct sensor *s, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	switch (si.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_notice("signal %d: shutting down", si.ssi_signo);
		return 1;
	case SIGHUP:
		reload(s);
		return 0;
	default:
		return 0;
	}
}

static int main_loop(struct sensor *s, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = queue_fd(s->queue), .events = POLLIN },
	};
	uint64_t next_status = 0;

	for (;;) {
		int n = poll(pfd, 2, 1000);

		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return -errno;
		}
		if (n > 0 && (pfd[0].revents & POLLIN) && handle_signal(s, sfd))
			return 0;
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			queue_clear_wakeup(s->queue);
			pipeline_drain(s);
		}
		if (atomic_exchange(&s->need_resync, false))
			pipeline_resync(s);
		if (monotonic_ns() >= next_status) {
			status_write(s);
			/* deadman: a stuck exec gate gets us killed, and the
			 * kernel then releases every exec waiting on it */
			if (execgate_healthy(s))
				sd_notify(0, "WATCHDOG=1");
			next_status = monotonic_ns() + 1000000000ull;
		}
	}
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* fanotify event fds, control connections, pidfds of responses */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "check-policy", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sensor sensor;
	struct sensor *s = &sensor;
	const char *check_policy = NULL;
	bool check_config = false;
	sigset_t mask;
	int c, sfd, rc = EXIT_FAILURE;

	s->config_path = SENSEON_CONFDIR "/senseond.conf";
	while ((c = getopt_long(argc, argv, "fc:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'f': s->foreground = true; break;
		case 'c': s->config_path = optarg; break;
		case 'C': check_config = true; break;
		case 'P': check_policy = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("senseond %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return EXIT_CONFIG;
		}
	}
	log_init("senseond", s->foreground || check_config || check_policy ?
		 LOG_TARGET_STDERR : LOG_TARGET_SYSLOG, LOG_INFO);
	if (load_config(s))
		return EXIT_CONFIG;
	log_set_level(log_level_from_name(s->cfg.log_level));
	if (check_config) {
		printf("%s: OK\n", s->cfg.source_file ? s->cfg.source_file : "defaults");
		config_free(&s->cfg);
		return 0;
	}
	if (check_policy)
		return pipeline_check_policy(check_policy) ? EXIT_CONFIG : 0;
	if (geteuid() != 0) {
		log_err("senseond must run as root (it opens fanotify and the proc connector)");
		return EXIT_KERNEL;
	}

	s->self_pid = getpid();
	s->started = time(NULL);
	raise_fd_limit();
	if (make_dirs(s) || load_sensor_id(s))
		return EXIT_CONFIG;
	/* Control, scripts and isolation: audit first, so every action is
	 * recorded; without the log, detection goes on but the control
	 * socket refuses clients (control.c fails closed). */
	audit_set_notify(audit_hash_to_log);
	if ((rc = audit_open(s->cfg.log_dir)))
		log_err("audit log %s/%s: %s", s->cfg.log_dir, AUDIT_FILE, strerror(-rc));
	s->queue = queue_new((size_t)s->cfg.queue_size);
	s->proctable = proctable_new("/proc");
	if (!s->queue || !s->proctable) {
		log_err("out of memory");
		return EXIT_FAILURE;
	}
	if (pipeline_init(s))
		return EXIT_CONFIG;

	/* Signals: blocked in every thread (threads inherit the mask),
	 * read through a signalfd by the main loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return EXIT_FAILURE;
	}

	if (sink_open(s))
		return EXIT_CONFIG;
	if (s->cfg.process_source || s->cfg.exec_source) {
		if ((rc = source_proc_open(s))) {
			log_err("process source: %s", strerror(-rc));
			return EXIT_KERNEL;
		}
	}
	if (s->cfg.file_source) {
		if ((rc = source_file_open(s))) {
			log_err("file source: %s", strerror(-rc));
			return EXIT_KERNEL;
		}
	}
	/* The script worker starts here, as full root and before the drop,
	 * so analyst scripts keep every capability (DESIGN.md, Privilege);
	 * it is exec'd, so the daemon's fds and threads do not follow it. */
	scripts_start(s);
	if (drop_capabilities())
		log_warn("could not drop capabilities; running with full root");
	/* Before the gate opens: a crash must close its fd before dumping. */
	execgate_install_crash_handlers();

	/* Seed the table before the sources run, so the first events of
	 * already running processes find their entries. */
	pipeline_seed(s);
	if ((s->cfg.process_source || s->cfg.exec_source) && (rc = source_proc_run(s)))
		return EXIT_KERNEL;
	if (s->cfg.file_source && (rc = source_file_run(s)))
		return EXIT_KERNEL;
	/* Only when a loaded policy denies; a failure leaves execs ungated
	 * and is reported by every deny alert, but does not stop detection. */
	execgate_update(s);
	/* A persisted isolation is re-applied here: after a reboot the host
	 * is isolated again before we report ready. */
	if ((rc = isolation_start(s)))
		log_err("isolation: %s", strerror(-rc));
	if ((rc = scripts_init(s)))
		log_err("scripts: %s", strerror(-rc));
	/* The platform channel: its commands and outbox before control
	 * starts, its thread after; a failure leaves the sensor local. */
	if ((rc = platform_cmds_init()))
		log_err("platform commands: %s", strerror(-rc));
	if ((rc = platform_init(s)) || (rc = platform_start(s)))
		log_err("platform channel: %s", strerror(-rc));
	/* Last: every command is registered before clients can connect. */
	if ((rc = control_start(s)))
		log_err("control socket %s: %s", s->cfg.control_socket, strerror(-rc));

	log_notice("senseond %s started (pid %d, node %s)", PACKAGE_VERSION,
		   s->self_pid, s->cfg.node_name);
	audit_daemon(s, "sensor.start", json_pack("{s:s, s:s, s:s*, s:s}",
		"version", PACKAGE_VERSION, "config", s->config_path,
		"nodeName", s->cfg.node_name, "sensorId", s->sensor_id));
	sd_notify(0, "READY=1");
	rc = main_loop(s, sfd) ? EXIT_FAILURE : 0;
	sd_notify(0, "STOPPING=1");

	atomic_store(&s->stopping, true);
	execgate_stop(s);	/* first: nothing may wait on us while we stop */
	platform_stop(s);	/* no new platform commands either */
	control_stop(s);	/* no new commands while the rest winds down */
	scripts_stop(s);
	isolation_stop(s);
	if (s->cfg.process_source || s->cfg.exec_source)
		source_proc_stop(s);
	if (s->cfg.file_source)
		source_file_stop(s);
	pipeline_drain(s);	/* what the sources queued before they stopped */
	audit_daemon(s, "sensor.stop", json_pack("{s:i}", "exitStatus", rc));
	status_write(s);
	pipeline_fini(s);
	sink_close();
	close(sfd);
	queue_free(s->queue);
	proctable_free(s->proctable);
	audit_close();
	config_free(&s->cfg);
	log_notice("senseond stopped");
	return rc;
}
