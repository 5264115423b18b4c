/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isolation - the daemon's side of host network isolation.
 *
 * Overview: owns one watcher thread, its NETLINK_NETFILTER socket
 * (libnl-3; group NFNLGRP_NFTABLES: every ruleset change in this network
 * namespace) and its stop eventfd, plus the record of the last isolation
 * state it audited.  The state file, the lock and the table itself are
 * src/lib/isolate.c's: this file only decides when to call it, and
 * audits.  It must not own the control socket (control.c does) nor the
 * audit log (audit.c); it registers handlers with one and appends to the
 * other.
 *
 * senseonctl changes isolation directly through the library (so that
 * unisolate works as break-glass even when the daemon is wedged).  While
 * the daemon runs it holds STATE_DIR/isolation.daemon locked: senseonctl
 * then leaves the audit record to us, and we write it when the state
 * file shows a change we did not make.
 */
#include "isolation.h"
#include "sensor.h"
#include "audit.h"
#include "control.h"
#include "isolate.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

/* A periodic check catches what events cannot (a lost event, ENOBUFS)
 * and drives the expiry; one second is the expiry's precision. */
#define ISOLATION_TICK_MS	1000

static struct {
	struct sensor *s;
	pthread_t thread;
	bool running;
	struct nl_sock *nl;
	int nl_fd;		/* nl_socket_get_fd(nl), polled */
	int stop_fd;
	int daemon_lock;
	/* Serialises our own changes with the watcher, so a change we make
	 * is audited once, by us, and not again as someone else's. */
	pthread_mutex_t lock;
	bool known_isolated;
	time_t known_since;
} iso = { .nl_fd = -1, .stop_fd = -1, .daemon_lock = -1,
	  .lock = PTHREAD_MUTEX_INITIALIZER };

static void remember(const struct isolate_state *st)
{
	iso.known_isolated = st->isolated;
	iso.known_since = st->since;
}

/* remember_saved - take what the state file says now as audited. */
static void remember_saved(void)
{
	struct isolate_state st;

	if (isolate_state_load(iso.s->cfg.state_dir, &st))
		return;
	remember(&st);
	isolate_state_free(&st);
}

/* audit_change - one "isolation.change" record; failures are logged. */
static void audit_change(const char *action, const struct isolate_state *st,
			 const char *by, int rc, const char *err)
{
	json_t *f = isolate_state_json(st);
	int arc;

	if (!f) {
		log_err("isolation: out of memory for the audit record");
		return;
	}
	json_object_del(f, "listing");
	json_object_set_new(f, "action", json_string(action));
	json_object_set_new(f, "by", json_string(by ? by : "unknown"));
	json_object_set_new(f, "result", json_string(rc ? "failed" : "success"));
	if (rc)
		json_object_set_new(f, "error", json_string(err));
	arc = audit_append("isolation.change", f);
	if (arc)
		log_err("isolation: audit record for %s not written: %s", action,
			strerror(-arc));
}

/* Called with iso.lock held. */
static void sync_now(const char *why)
{
	struct isolate_state st;
	enum isolate_action act;
	char err[1024] = "";
	int rc;

	rc = isolate_sync(&iso.s->cfg, &act, &st, err, sizeof(err));
	if (act == ISOLATE_RESTORED) {
		log_warn("isolation: our nftables table was missing or altered (%s): %s",
			 why, rc ? err : "restored");
		audit_change("restore", &st, "senseond", rc, err);
	} else if (act == ISOLATE_EXPIRED) {
		log_notice("isolation: expired, host unisolated%s%s", rc ? ": " : "", err);
		audit_change("unisolate", &st, "expiry", rc, err);
	} else if (rc) {
		log_err("isolation: %s", err);
	} else if (st.isolated != iso.known_isolated || st.since != iso.known_since) {
		/* senseonctl changed it directly while we run */
		audit_change(st.isolated ? "isolate" : "unisolate", &st, st.by, 0, NULL);
	}
	isolate_state_free(&st);
	remember_saved();
}

static void drain_netlink(void)
{
	char buf[16384];

	/* The content does not matter: any change means "check our table".
	 * ENOBUFS (we fell behind) means the same. */
	while (recv(iso.nl_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
}

static void *watcher(void *arg)
{
	struct pollfd pfd[2] = {
		{ .fd = iso.nl_fd, .events = POLLIN },
		{ .fd = iso.stop_fd, .events = POLLIN },
	};

	for (;;) {
		int n = poll(pfd, 2, ISOLATION_TICK_MS);

		if (n < 0 && errno != EINTR) {
			log_err("isolation watcher: poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			break;
		if (n > 0 && (pfd[0].revents & POLLIN))
			drain_netlink();
		pthread_mutex_lock(&iso.lock);
		sync_now(n > 0 ? "nftables change event" : "periodic check");
		pthread_mutex_unlock(&iso.lock);
	}
	return NULL;
}

/* A netlink socket subscribed to nftables ruleset changes; -errno. */
static int open_netlink(void)
{
	int rc;

	iso.nl = nl_socket_alloc();
	if (!iso.nl)
		return -ENOMEM;
	rc = nl_connect(iso.nl, NETLINK_NETFILTER);
	if (rc == 0)
		rc = nl_socket_add_membership(iso.nl, NFNLGRP_NFTABLES);
	if (rc == 0)
		rc = nl_socket_set_nonblocking(iso.nl);
	if (rc < 0) {
		nl_socket_free(iso.nl);
		iso.nl = NULL;
		return -EIO;
	}
	return nl_socket_get_fd(iso.nl);
}

/* --- control commands --- */

static const char *peer_name(struct control_conn *c)
{
	const struct control_peer *p = control_peer(c);

	return p && p->analyst ? p->analyst : "unknown";
}

static int collect_allow(const json_t *req, const char ***out, size_t *n)
{
	json_t *a = json_object_get(req, "allow"), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return -EINVAL;
	*out = calloc(json_array_size(a) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e))
			return -EINVAL;
		(*out)[(*n)++] = json_string_value(e);
	}
	return 0;
}

static int parse_request(const json_t *req, struct isolate_request *r, char *err, size_t len)
{
	json_t *d = json_object_get(req, "for");

	if (collect_allow(req, (const char ***)&r->allow, &r->n_allow)) {
		snprintf(err, len, "\"allow\" must be a list of ADDR[/LEN][:PORT] strings");
		return -EINVAL;
	}
	r->force = json_is_true(json_object_get(req, "force"));
	if (json_is_integer(d) && json_integer_value(d) > 0)
		r->duration = (long)json_integer_value(d);
	else if (d && (!json_is_string(d) ||
		       isolate_parse_duration(json_string_value(d), &r->duration))) {
		snprintf(err, len, "\"for\" must be a duration such as 90s, 15m or 2h");
		return -EINVAL;
	}
	return 0;
}

int isolation_isolate(const json_t *req, const char *by, json_t **state,
		      char *err, size_t len)
{
	struct isolate_request r = { .by = by };
	struct isolate_state st = { 0 };
	int rc;

	*state = NULL;
	if (!iso.s)
		return snprintf(err, len, "the isolation subsystem is not running"), -ENOTCONN;
	rc = parse_request(req, &r, err, len);
	if (rc) {
		free((void *)r.allow);
		return rc;
	}
	pthread_mutex_lock(&iso.lock);
	rc = isolate_enable(&iso.s->cfg, &r, &st, err, len);
	audit_change("isolate", &st, r.by, rc, err);
	if (!rc)
		remember(&st);
	pthread_mutex_unlock(&iso.lock);
	free((void *)r.allow);
	if (rc) {
		log_warn("isolation: isolate refused or failed: %s", err);
		isolate_state_free(&st);
		return rc;
	}
	log_notice("isolation: host isolated by %s (ruleset sha256 %s)", r.by, st.digest);
	*state = isolate_state_json(&st);
	if (*state)
		json_object_del(*state, "listing");
	isolate_state_free(&st);
	return *state ? 0 : -ENOMEM;
}

int isolation_unisolate(const char *by, char *err, size_t len)
{
	struct isolate_state prev;
	int rc;

	if (!iso.s)
		return snprintf(err, len, "the isolation subsystem is not running"), -ENOTCONN;
	pthread_mutex_lock(&iso.lock);
	rc = isolate_disable(&iso.s->cfg, by, &prev, err, len);
	audit_change("unisolate", &prev, by, rc, err);
	remember_saved();
	pthread_mutex_unlock(&iso.lock);
	isolate_state_free(&prev);
	if (!rc)
		log_notice("isolation: host unisolated by %s", by);
	return rc;
}

int isolation_status(json_t **status, char *err, size_t len)
{
	struct isolate_state st;
	char *listing = NULL;
	json_t *msg;
	int rc;

	*status = NULL;
	if (!iso.s)
		return snprintf(err, len, "the isolation subsystem is not running"), -ENOTCONN;
	pthread_mutex_lock(&iso.lock);	/* cfg: see isolation_config_hold */
	rc = isolate_state_load(iso.s->cfg.state_dir, &st);
	pthread_mutex_unlock(&iso.lock);
	if (rc)
		return snprintf(err, len, "cannot read the isolation state: %s", strerror(-rc)), rc;
	msg = isolate_state_json(&st);
	if (!msg) {
		isolate_state_free(&st);
		return snprintf(err, len, "out of memory"), -ENOMEM;
	}
	rc = isolate_kernel_listing(&listing);
	json_object_del(msg, "listing");
	json_object_set_new(msg, "table_present", json_boolean(rc == 0));
	json_object_set_new(msg, "table_intact", json_boolean(rc == 0 && st.listing &&
							      strcmp(listing, st.listing) == 0));
	free(listing);
	isolate_state_free(&st);
	*status = msg;
	return 0;
}

static int cmd_isolate(struct control_conn *c, const json_t *req)
{
	char err[1024] = "";
	json_t *st;

	if (isolation_isolate(req, peer_name(c), &st, err, sizeof(err)))
		return control_error(c, "%s", err[0] ? err : "out of memory");
	json_object_set_new(st, "ok", json_true());
	return control_reply(c, st, 1);
}

static int cmd_unisolate(struct control_conn *c, const json_t *req)
{
	char err[1024] = "";

	if (isolation_unisolate(peer_name(c), err, sizeof(err)))
		return control_error(c, "%s", err);
	return control_reply(c, json_pack("{s:b, s:b}", "ok", 1, "isolated", 0), 1);
}

static int cmd_status(struct control_conn *c, const json_t *req)
{
	char err[1024] = "";
	json_t *msg;

	if (isolation_status(&msg, err, sizeof(err)))
		return control_error(c, "%s", err);
	json_object_set_new(msg, "ok", json_true());
	return control_reply(c, msg, 1);
}

/* --- start and stop --- */

static int take_daemon_lock(const char *state_dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/isolation.daemon", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* blocking: senseonctl holds it only while it audits a change */
	if (flock(fd, LOCK_EX)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int isolation_start(struct sensor *s)
{
	int rc;

	iso.s = s;
	if ((rc = control_register("isolate", cmd_isolate)) ||
	    (rc = control_register("unisolate", cmd_unisolate)) ||
	    (rc = control_register("isolation.status", cmd_status)))
		return rc;
	iso.daemon_lock = take_daemon_lock(s->cfg.state_dir);
	if (iso.daemon_lock < 0)
		log_warn("isolation: cannot lock %s/isolation.daemon: %s", s->cfg.state_dir,
			 strerror(-iso.daemon_lock));
	/* Start from what the state file says, then make the kernel match:
	 * a reboot or a flush while we were down must not release the host. */
	pthread_mutex_lock(&iso.lock);
	remember_saved();
	if (iso.known_isolated)
		log_notice("isolation: host is isolated (since %ld), checking our table",
			   (long)iso.known_since);
	sync_now("start");
	pthread_mutex_unlock(&iso.lock);

	iso.nl_fd = open_netlink();
	if (iso.nl_fd < 0) {
		log_warn("isolation: cannot watch nftables changes (%s): checking every %d ms only",
			 strerror(-iso.nl_fd), ISOLATION_TICK_MS);
	}
	iso.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (iso.stop_fd < 0)
		return -errno;
	rc = pthread_create(&iso.thread, NULL, watcher, NULL);
	if (rc)
		return -rc;
	iso.running = true;
	return 0;
}

void isolation_config_hold(void)
{
	pthread_mutex_lock(&iso.lock);
}

void isolation_config_release(void)
{
	pthread_mutex_unlock(&iso.lock);
}

void isolation_stop(struct sensor *s)
{
	uint64_t one = 1;

	if (iso.running) {
		if (write(iso.stop_fd, &one, sizeof(one)) != sizeof(one))
			log_err("isolation: cannot wake the watcher: %s", strerror(errno));
		pthread_join(iso.thread, NULL);
		iso.running = false;
	}
	nl_socket_free(iso.nl);	/* closes nl_fd */
	iso.nl = NULL;
	if (iso.stop_fd >= 0)
		close(iso.stop_fd);
	if (iso.daemon_lock >= 0)
		close(iso.daemon_lock);
	iso.nl_fd = iso.stop_fd = iso.daemon_lock = -1;
}
