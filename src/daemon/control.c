/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control - the local control socket and its command dispatcher.
 *
 * Overview: owns the listening socket (cfg.control_socket, 0600 in a 0700
 * directory), the acceptor thread, the table of registered commands and
 * one struct control_conn per client, each served by its own detached
 * thread (at most CONTROL_MAX_CONNS; more are refused with an error
 * frame).  Only uid 0 (SO_PEERCRED) is served; every connection, accepted
 * or refused, is audited before it is answered.  A connection thread owns
 * its conn and frees it when it ends; the global list exists so that
 * control_stop() can hang every connection up and alerts can be fanned
 * out to subscribers.  It also implements the built-in commands status,
 * kill, alerts and alerts.follow.  It must not own what the commands act
 * on: kills go through response.c (pidfds, refusals), records through
 * audit.c, counters through status.c, scripts through scripts.c.
 */
#include "control.h"
#include "audit.h"
#include "log.h"
#include "protocol.h"
#include "response.h"
#include "sensor.h"
#include "status.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_MAX_CONNS	16
#define CONTROL_MAX_HANDLERS	64
#define CONTROL_SEND_TIMEOUT_S	30	/* a client that stops reading is dropped */
#define CONTROL_STOP_WAIT_S	3
#define ALERT_QUEUE_MAX		1024	/* per follower; more are dropped and counted */
#define ALERTS_TAIL_DEFAULT	20
#define ALERTS_TAIL_MAX		10000

struct handler {
	const char *cmd;
	control_handler_fn fn;
};

struct alert_line {
	struct alert_line *next;
	char text[];
};

struct control_conn {
	struct control_conn *next;	/* in ctl.conns, under ctl.lock */
	int fd;
	struct sensor *s;
	struct control_peer peer;
	char analyst[32];
	/* another transport (control_conn_new), or NULL: the local socket */
	const struct control_transport *tr;
	void *tr_priv;
	pthread_mutex_t write_lock;	/* handlers may reply from several threads */
	json_t *req_id;			/* the current request's "id" */
	bool done_sent;
	/* control_recv_data: the data frame being consumed */
	struct proto_frame in;
	size_t in_off;
	json_t *end_summary;
	/* alerts.follow, under ctl.lock */
	bool following;
	int wake_fd;
	struct alert_line *head, *tail;
	size_t queued;
	uint64_t dropped;
};

#define CONTROL_MAX_STATUS	8

struct status_hook {
	const char *key;
	control_status_fn fn;
};

static struct {
	pthread_mutex_t lock;
	struct status_hook status_hooks[CONTROL_MAX_STATUS];
	size_t n_status_hooks;
	pthread_cond_t idle;		/* n_conns dropped to 0 */
	struct handler handlers[CONTROL_MAX_HANDLERS];
	size_t n_handlers;
	struct control_conn *conns;
	unsigned int n_conns;
	uint64_t accepted, refused;
	bool running, stopping;
	int listen_fd, stop_fd;
	pthread_t acceptor;
	struct sensor *s;
	struct response_ctx rc;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} ctl = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.listen_fd = -1,
	.stop_fd = -1,
};

/* ---- registration ---- */

int control_register(const char *cmd, control_handler_fn fn)
{
	int err = 0;

	if (!cmd || !fn)
		return -EINVAL;
	pthread_mutex_lock(&ctl.lock);
	for (size_t i = 0; i < ctl.n_handlers; i++)
		if (strcmp(ctl.handlers[i].cmd, cmd) == 0)
			err = -EEXIST;
	if (!err && ctl.n_handlers == CONTROL_MAX_HANDLERS)
		err = -ENOSPC;
	if (!err)
		ctl.handlers[ctl.n_handlers++] = (struct handler){ cmd, fn };
	pthread_mutex_unlock(&ctl.lock);
	return err;
}

static control_handler_fn handler_find(const char *cmd)
{
	control_handler_fn fn = NULL;

	pthread_mutex_lock(&ctl.lock);
	for (size_t i = 0; i < ctl.n_handlers && !fn; i++)
		if (strcmp(ctl.handlers[i].cmd, cmd) == 0)
			fn = ctl.handlers[i].fn;
	pthread_mutex_unlock(&ctl.lock);
	return fn;
}

/* ---- replies ---- */

const struct control_peer *control_peer(struct control_conn *c)
{
	return &c->peer;
}

struct sensor *control_sensor(struct control_conn *c)
{
	return c->s;
}

static int conn_write_json(struct control_conn *c, json_t *msg)
{
	int err;

	pthread_mutex_lock(&c->write_lock);
	if (c->tr)
		err = c->tr->send_json(c->tr_priv, msg,
				       json_is_true(json_object_get(msg, "done")));
	else
		err = proto_write_json(c->fd, msg);
	pthread_mutex_unlock(&c->write_lock);
	/* SO_SNDTIMEO expired: the client stopped reading */
	return err == -EAGAIN ? -EPIPE : err;
}

int control_reply(struct control_conn *c, json_t *msg, int done)
{
	int err;

	if (!msg)
		return -ENOMEM;
	json_object_set(msg, "id", c->req_id ? c->req_id : json_null());
	if (done) {
		json_object_set_new(msg, "done", json_true());
		if (!json_object_get(msg, "ok"))
			json_object_set_new(msg, "ok", json_true());
		c->done_sent = true;
	}
	err = conn_write_json(c, msg);
	json_decref(msg);
	return err;
}

int control_error(struct control_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return control_reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", buf), 1);
}

int control_send_data(struct control_conn *c, const void *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&c->write_lock);
	if (c->tr)
		err = c->tr->send_data(c->tr_priv, buf, len);
	else
		err = proto_write_frame(c->fd, PROTO_DATA, buf, len);
	pthread_mutex_unlock(&c->write_lock);
	return err == -EAGAIN ? -EPIPE : err;
}

int control_send_end(struct control_conn *c, json_t *summary)
{
	char *text = NULL;
	int err;

	if (c->tr) {
		pthread_mutex_lock(&c->write_lock);
		err = c->tr->send_end(c->tr_priv, summary);
		pthread_mutex_unlock(&c->write_lock);
		return err;
	}
	if (summary) {
		text = json_dumps(summary, JSON_COMPACT);
		json_decref(summary);
		if (!text)
			return -ENOMEM;
	}
	pthread_mutex_lock(&c->write_lock);
	err = proto_write_frame(c->fd, PROTO_END, text, text ? strlen(text) : 0);
	pthread_mutex_unlock(&c->write_lock);
	free(text);
	return err == -EAGAIN ? -EPIPE : err;
}

ssize_t control_recv_data(struct control_conn *c, void *buf, size_t len)
{
	size_t n;
	int err;

	if (c->tr) {
		json_t *end = NULL;
		ssize_t r = c->tr->recv_data(c->tr_priv, buf, len, &end);

		if (r == 0) {
			json_decref(c->end_summary);
			c->end_summary = end;
		}
		return r;
	}
	while (!c->in.payload || c->in_off == c->in.len) {
		proto_frame_free(&c->in);
		c->in_off = 0;
		err = proto_read_frame(c->fd, &c->in);
		if (err)
			return err == -ENODATA ? -EPIPE : err;
		if (c->in.kind == PROTO_END) {
			json_decref(c->end_summary);
			c->end_summary = json_incref(c->in.json);
			proto_frame_free(&c->in);
			return 0;
		}
		if (c->in.kind != PROTO_DATA) {
			proto_frame_free(&c->in);
			return -EBADMSG;
		}
	}
	n = c->in.len - c->in_off;
	if (n > len)
		n = len;
	memcpy(buf, c->in.payload + c->in_off, n);
	c->in_off += n;
	return (ssize_t)n;
}

const json_t *control_recv_end(struct control_conn *c)
{
	return c->end_summary;
}

/* ---- built-in commands ---- */

/* A signal as a number or a name ("KILL", "SIGTERM"); 0 if unknown. */
static int signal_parse(const json_t *v)
{
	const char *name = json_string_value(v);

	if (!v)
		return SIGKILL;
	if (json_is_integer(v))
		return json_integer_value(v) > 0 && json_integer_value(v) < NSIG ?
		       (int)json_integer_value(v) : 0;
	if (!name)
		return 0;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && strcasecmp(abbrev, name) == 0)
			return i;
	}
	return 0;
}

static json_t *peer_json(struct control_conn *c)
{
	if (c->peer.via)
		return json_pack("{s:s, s:s, s:s?}", "via", c->peer.via, "analyst",
				 c->peer.analyst, "session", c->peer.session);
	return json_pack("{s:I, s:I, s:s}", "uid", (json_int_t)c->peer.uid,
			 "pid", (json_int_t)c->peer.pid, "analyst", c->peer.analyst);
}

static int cmd_kill(struct control_conn *c, const json_t *req)
{
	json_t *jpid = json_object_get(req, "pid");
	bool tree = json_is_true(json_object_get(req, "tree"));
	int sig = signal_parse(json_object_get(req, "signal"));
	char details[1024];
	json_int_t pid;
	int rc, err;

	if (!json_is_integer(jpid) || json_integer_value(jpid) <= 0 ||
	    json_integer_value(jpid) > INT32_MAX)
		return control_error(c, "kill: \"pid\" must be a positive integer");
	if (!sig)
		return control_error(c, "kill: unknown signal");
	pid = json_integer_value(jpid);
	rc = response_kill(&ctl.rc, (pid_t)pid, sig, tree, details, sizeof(details));
	err = audit_append("process.kill",
			   json_pack("{s:I, s:s, s:b, s:s, s:s, s:o}", "pid", pid,
				     "signal", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
				     "tree", tree, "result", rc ? "failed" : "success",
				     "details", details, "peer", peer_json(c)));
	if (err)
		log_err("control: audit of kill of PID %lld failed: %s",
			(long long)pid, strerror(-err));
	if (rc)
		return control_reply(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", details,
						  "errno", strerrorname_np(-rc) ?
						  strerrorname_np(-rc) : "EIO"), 1);
	return control_reply(c, json_pack("{s:s, s:I, s:b}", "details", details,
					  "pid", pid, "audited", !err), 1);
}

static int cmd_status(struct control_conn *c, const json_t *req)
{
	json_t *st = status_json(c->s);
	unsigned int conns;

	pthread_mutex_lock(&ctl.lock);
	conns = ctl.n_conns;
	json_object_set_new(st, "control", json_pack("{s:I, s:I, s:I}",
		"connections", (json_int_t)conns, "accepted", (json_int_t)ctl.accepted,
		"refused", (json_int_t)ctl.refused));
	pthread_mutex_unlock(&ctl.lock);
	json_object_set_new(st, "policies", json_integer(
		(json_int_t)atomic_load(&c->s->policies_loaded)));
	json_object_set_new(st, "isolation", json_pack("{s:s}", "state", "not available"));
	json_object_set_new(st, "platform", json_pack("{s:s}", "state", "not configured"));
	for (size_t i = 0; i < ctl.n_status_hooks; i++) {
		json_t *v = ctl.status_hooks[i].fn(c->s);

		if (v)
			json_object_set_new(st, ctl.status_hooks[i].key, v);
	}
	return control_reply(c, json_pack("{s:o}", "status", st), 1);
}

int control_status_register(const char *key, control_status_fn fn)
{
	int err = 0;

	pthread_mutex_lock(&ctl.lock);
	for (size_t i = 0; i < ctl.n_status_hooks; i++)
		if (strcmp(ctl.status_hooks[i].key, key) == 0)
			err = -EEXIST;
	if (!err && ctl.n_status_hooks == CONTROL_MAX_STATUS)
		err = -ENOSPC;
	if (!err)
		ctl.status_hooks[ctl.n_status_hooks++] = (struct status_hook){ key, fn };
	pthread_mutex_unlock(&ctl.lock);
	return err;
}

/*
 * The start offset of the last @n lines of @fd (of @size bytes), reading
 * backwards in blocks so a large alerts.jsonl costs only its tail.
 */
static off_t tail_offset(int fd, off_t size, long n)
{
	char buf[65536];
	off_t pos = size;
	long lines = 0;

	while (pos > 0) {
		size_t len = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
		ssize_t r = pread(fd, buf, len, pos - (off_t)len);

		if (r != (ssize_t)len)
			return 0;
		for (size_t i = len; i-- > 0;) {
			/* the newline that ends the file does not start a line */
			if (buf[i] != '\n' || pos - (off_t)len + (off_t)i == size - 1)
				continue;
			if (++lines == n)
				return pos - (off_t)len + (off_t)i + 1;
		}
		pos -= (off_t)len;
	}
	return 0;
}

/* Send the last @n alerts from LOG_DIR/alerts.jsonl; the count or -errno. */
static long send_alert_tail(struct control_conn *c, long n)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	long sent = 0;
	struct stat st;
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "%s/alerts.jsonl", c->s->cfg.log_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) || n <= 0) {
		close(fd);
		return 0;
	}
	lseek(fd, tail_offset(fd, st.st_size, n), SEEK_SET);
	fp = fdopen(fd, "r");
	if (!fp) {
		close(fd);
		return -ENOMEM;
	}
	while (getline(&line, &cap, fp) > 0) {
		json_t *a = json_loads(line, 0, NULL);

		/* a line being written right now is not an alert yet */
		if (!a)
			continue;
		if (control_reply(c, json_pack("{s:o}", "alert", a), 0))
			break;
		sent++;
	}
	free(line);
	fclose(fp);
	return sent;
}

static long tail_count(const json_t *req, long dflt)
{
	json_t *v = json_object_get(req, "n");
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : dflt;

	if (n < 0)
		return 0;
	return n > ALERTS_TAIL_MAX ? ALERTS_TAIL_MAX : (long)n;
}

static int cmd_alerts(struct control_conn *c, const json_t *req)
{
	long sent = send_alert_tail(c, tail_count(req, ALERTS_TAIL_DEFAULT));

	if (sent < 0)
		return control_error(c, "cannot read alerts: %s", strerror((int)-sent));
	return control_reply(c, json_pack("{s:I}", "count", (json_int_t)sent), 1);
}

static void follow_set(struct control_conn *c, bool on)
{
	pthread_mutex_lock(&ctl.lock);
	c->following = on;
	while (!on && c->head) {
		struct alert_line *l = c->head;

		c->head = l->next;
		free(l);
	}
	if (!on)
		c->tail = NULL, c->queued = 0;
	pthread_mutex_unlock(&ctl.lock);
}

/* Send what was queued for @c; 0 or -errno. */
static int follow_flush(struct control_conn *c)
{
	struct alert_line *list;
	uint64_t dropped;
	int err = 0;

	pthread_mutex_lock(&ctl.lock);
	list = c->head;
	dropped = c->dropped;
	c->head = c->tail = NULL;
	c->queued = 0;
	c->dropped = 0;
	pthread_mutex_unlock(&ctl.lock);
	if (dropped)
		err = control_reply(c, json_pack("{s:I}", "dropped", (json_int_t)dropped), 0);
	while (list) {
		struct alert_line *l = list;
		json_t *a = json_loads(l->text, 0, NULL);

		list = l->next;
		if (!err && a)
			err = control_reply(c, json_pack("{s:o}", "alert", a), 0);
		else
			json_decref(a);
		free(l);
	}
	return err;
}

static int cmd_alerts_follow(struct control_conn *c, const json_t *req)
{
	struct pollfd pfd[2] = {
		{ .fd = c->wake_fd, .events = POLLIN },
		{ .fd = c->fd, .events = POLLIN | POLLRDHUP },
	};
	uint64_t v;
	int err;

	/* subscribe first: an alert raised while we send the tail is kept */
	follow_set(c, true);
	err = control_reply(c, json_pack("{s:b}", "following", 1), 0);
	if (!err && send_alert_tail(c, tail_count(req, 0)) < 0)
		err = -EIO;
	while (!err && !__atomic_load_n(&ctl.stopping, __ATOMIC_ACQUIRE)) {
		if (poll(pfd, 2, -1) < 0) {
			err = errno == EINTR ? 0 : -errno;
			continue;
		}
		/* any input or a hang-up from the client ends the stream */
		if (pfd[1].revents) {
			err = -EPIPE;
			break;
		}
		if (pfd[0].revents && read(c->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			err = -errno;
		if (!err)
			err = follow_flush(c);
	}
	follow_set(c, false);
	if (err)
		return err;
	return control_reply(c, json_pack("{s:s}", "reason", "senseond is stopping"), 1);
}

void control_publish_alert(const char *line)
{
	size_t len = strlen(line);
	uint64_t one = 1;

	pthread_mutex_lock(&ctl.lock);
	for (struct control_conn *c = ctl.conns; c; c = c->next) {
		struct alert_line *l;

		if (!c->following)
			continue;
		l = c->queued < ALERT_QUEUE_MAX ? malloc(sizeof(*l) + len + 1) : NULL;
		if (!l) {
			c->dropped++;
			continue;
		}
		l->next = NULL;
		memcpy(l->text, line, len + 1);
		if (c->tail)
			c->tail->next = l;
		else
			c->head = l;
		c->tail = l;
		c->queued++;
		/* EAGAIN: the counter is saturated, the follower is awake */
		if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("control: cannot wake a follower: %s", strerror(errno));
	}
	pthread_mutex_unlock(&ctl.lock);
}

static int register_builtins(void)
{
	static const struct handler builtins[] = {
		{ "status", cmd_status },
		{ "kill", cmd_kill },
		{ "alerts", cmd_alerts },
		{ "alerts.follow", cmd_alerts_follow },
	};
	int err;

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		err = control_register(builtins[i].cmd, builtins[i].fn);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

/* ---- connections ---- */

/* A reply outside any request, then the caller hangs up. */
static void conn_fatal(struct control_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void conn_fatal(struct control_conn *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->req_id = NULL;
	control_reply(c, json_pack("{s:b, s:s}", "ok", 0, "error", buf), 1);
}

/*
 * Closing a Unix socket with unread input resets the peer, which then
 * loses the error reply still queued for it: drop what the client sent
 * (bounded, without waiting) before the caller closes.
 */
static void conn_drain(struct control_conn *c)
{
	char buf[4096];
	size_t total = 0;
	ssize_t r;

	shutdown(c->fd, SHUT_WR);
	while (total < PROTO_MAX_PAYLOAD &&
	       (r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)r;
}

static int conn_run(struct control_conn *c, const json_t *req, json_t *id,
		    const char *cmd);

/* Run one request.  Returns 0 to go on, <0 to close the connection. */
static int conn_dispatch(struct control_conn *c, const json_t *req)
{
	json_t *id = json_object_get(req, "id");
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!json_is_integer(id) || !cmd) {
		conn_fatal(c, "malformed request: needs an integer \"id\" and a string \"cmd\"");
		conn_drain(c);
		return -EBADMSG;
	}
	return conn_run(c, req, id, cmd);
}

int control_conn_dispatch(struct control_conn *c, const json_t *req, json_t *id)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd)
		return control_reply(c, json_pack("{s:b, s:s}", "ok", 0, "error",
						  "malformed request: no \"cmd\""), 1);
	return conn_run(c, req, id, cmd);
}

static int conn_run(struct control_conn *c, const json_t *req, json_t *id,
		    const char *cmd)
{
	control_handler_fn fn;
	int rc;

	c->req_id = id;
	c->done_sent = false;
	fn = handler_find(cmd);
	if (!fn)
		rc = control_error(c, "unknown command \"%s\"", cmd);
	else
		rc = fn(c, req);
	if (rc == -EPIPE || rc == -ECONNRESET)
		return rc;
	if (!c->done_sent)
		rc = rc < 0 ? control_error(c, "%s failed: %s", cmd, strerror(-rc)) :
			      control_reply(c, json_object(), 1);
	c->req_id = NULL;
	/* a failed write means the client is gone; anything else is its answer */
	return rc == -EPIPE || rc == -ECONNRESET ? rc : 0;
}

static void conn_serve(struct control_conn *c)
{
	struct proto_frame f;
	int err;

	for (;;) {
		err = proto_read_frame(c->fd, &f);
		if (err == -ENODATA || err == -ECONNRESET)
			return;
		if (err) {
			log_warn("control: malformed frame from PID %d: %s; closing",
				 (int)c->peer.pid, strerror(-err));
			conn_fatal(c, "malformed frame: %s", strerror(-err));
			conn_drain(c);
			return;
		}
		if (f.kind != PROTO_JSON) {
			proto_frame_free(&f);
			conn_fatal(c, "malformed frame: a data frame outside a transfer");
			conn_drain(c);
			return;
		}
		err = conn_dispatch(c, f.json);
		proto_frame_free(&f);
		if (err)
			return;
	}
}

struct control_conn *control_conn_new(struct sensor *s, const struct control_transport *t,
				      void *priv, const struct control_peer *peer)
{
	struct control_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->wake_fd = -1;
	c->s = s;
	c->tr = t;
	c->tr_priv = priv;
	c->peer = *peer;
	pthread_mutex_init(&c->write_lock, NULL);
	return c;
}

static void conn_free(struct control_conn *c);

void control_conn_free(struct control_conn *c)
{
	conn_free(c);
}

static void conn_free(struct control_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	proto_frame_free(&c->in);
	json_decref(c->end_summary);
	pthread_mutex_destroy(&c->write_lock);
	free(c);
}

/* Audit the connection; false if it must not be served. */
static bool conn_admit(struct control_conn *c)
{
	bool root = c->peer.uid == 0;
	json_t *rec;
	int err;

	rec = json_pack("{s:I, s:I, s:I, s:b, s:s?}", "uid", (json_int_t)c->peer.uid,
			"gid", (json_int_t)c->peer.gid, "pid", (json_int_t)c->peer.pid,
			"accepted", root, "reason", root ? NULL : "permission denied");
	/* An accepted connection's record is made durable with the first
	 * command it audits (or when it ends): one fdatasync per request. */
	err = root ? audit_append_deferred("control.connect", rec) :
		     audit_append("control.connect", rec);
	if (!root) {
		log_warn("control: refused a connection from uid %u (PID %d)",
			 (unsigned int)c->peer.uid, (int)c->peer.pid);
		conn_fatal(c, "permission denied: the control socket is for root only");
		return false;
	}
	if (err) {
		/* no unaudited root commands: fail closed */
		log_err("control: audit log unavailable (%s); refusing the connection",
			strerror(-err));
		conn_fatal(c, "audit log unavailable: %s", strerror(-err));
		return false;
	}
	return true;
}

static void conn_unlink(struct control_conn *c, bool refused)
{
	pthread_mutex_lock(&ctl.lock);
	for (struct control_conn **p = &ctl.conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	ctl.n_conns--;
	if (refused)
		ctl.refused++;
	else
		ctl.accepted++;
	if (ctl.n_conns == 0)
		pthread_cond_broadcast(&ctl.idle);
	pthread_mutex_unlock(&ctl.lock);
}

static void *conn_thread(void *arg)
{
	struct control_conn *c = arg;
	bool admitted = conn_admit(c);

	if (admitted) {
		json_t *hello = json_pack("{s:s, s:s, s:i, s:b}", "hello", "senseond",
					  "version", PACKAGE_VERSION, "protocol", 1, "ok", 1);

		if (hello) {
			conn_write_json(c, hello);	/* takes no reference */
			json_decref(hello);
		}
		conn_serve(c);
		audit_flush();	/* a connection that audited nothing else */
	}
	conn_unlink(c, !admitted);
	conn_free(c);
	return NULL;
}

static struct control_conn *conn_new(int fd)
{
	struct timeval tv = { .tv_sec = CONTROL_SEND_TIMEOUT_S };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct control_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->s = ctl.s;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&c->write_lock, NULL);
	if (c->wake_fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		c->fd = -1;	/* the caller still owns @fd */
		conn_free(c);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	snprintf(c->analyst, sizeof(c->analyst), "uid:%u", (unsigned int)cred.uid);
	c->peer.analyst = c->analyst;
	return c;
}

/* Hand @fd to a new connection thread, or refuse it. */
static void conn_start(int fd)
{
	struct control_conn *c = conn_new(fd);
	pthread_attr_t attr;
	pthread_t tid;
	bool full;

	if (!c) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&ctl.lock);
	full = ctl.n_conns >= CONTROL_MAX_CONNS;
	if (!full) {
		c->next = ctl.conns;
		ctl.conns = c;
		ctl.n_conns++;
	} else {
		ctl.refused++;
	}
	pthread_mutex_unlock(&ctl.lock);
	if (full) {
		audit_append("control.connect",
			     json_pack("{s:I, s:I, s:b, s:s}", "uid", (json_int_t)c->peer.uid,
				       "pid", (json_int_t)c->peer.pid, "accepted", 0,
				       "reason", "too many connections"));
		conn_fatal(c, "too many connections (%d): try again later", CONTROL_MAX_CONNS);
		conn_free(c);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, conn_thread, c)) {
		log_err("control: cannot start a connection thread");
		conn_unlink(c, true);
		conn_free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *acceptor_thread(void *arg)
{
	struct pollfd pfd[2] = {
		{ .fd = ctl.listen_fd, .events = POLLIN },
		{ .fd = ctl.stop_fd, .events = POLLIN },
	};

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("control: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* EMFILE and friends: back off rather than spin */
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				poll(NULL, 0, 100);
			continue;
		}
		conn_start(fd);
	}
}

/* ---- start and stop ---- */

/* The socket's directory: created 0700, or tightened to 0700 if ours. */
static int socket_dir(const char *path)
{
	char copy[sizeof(ctl.path)];
	const char *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0700 && chmod(dir, 0700))
		return -errno;
	return 0;
}

/* A socket file left by a daemon that died: remove it, unless one answers. */
static int socket_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		err = -EADDRINUSE;
	else if (unlink(sa->sun_path) && errno != ENOENT)
		err = -errno;
	close(fd);
	return err;
}

static int socket_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = socket_dir(path);
	if (!err)
		err = socket_clear_stale(&sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the 0700 directory guards the moment between bind and chmod */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, 64)) {
		err = -errno;
		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

int control_start(struct sensor *s)
{
	sigset_t all, old;
	int err;

	ctl.s = s;
	err = register_builtins();
	if (err)
		return err;
	response_ctx_init(&ctl.rc, s->proctable, &s->cfg);
	snprintf(ctl.path, sizeof(ctl.path), "%s", s->cfg.control_socket);
	ctl.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (ctl.stop_fd < 0)
		return -errno;
	ctl.listen_fd = socket_open(s->cfg.control_socket);
	if (ctl.listen_fd < 0) {
		err = ctl.listen_fd;
		goto fail;
	}
	/* signals belong to the main loop's signalfd, never to our threads;
	 * connection threads inherit the mask from the acceptor */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&ctl.acceptor, NULL, acceptor_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	ctl.running = true;
	return 0;
fail:
	if (ctl.listen_fd >= 0) {
		close(ctl.listen_fd);
		unlink(ctl.path);
	}
	close(ctl.stop_fd);
	ctl.listen_fd = ctl.stop_fd = -1;
	return err;
}

void control_stop(struct sensor *s)
{
	struct timespec deadline;
	uint64_t one = 1;

	if (!ctl.running)
		return;
	__atomic_store_n(&ctl.stopping, true, __ATOMIC_RELEASE);
	if (write(ctl.stop_fd, &one, sizeof(one)) < 0)
		log_warn("control: cannot wake the acceptor: %s", strerror(errno));
	pthread_join(ctl.acceptor, NULL);
	close(ctl.listen_fd);
	unlink(ctl.path);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CONTROL_STOP_WAIT_S;
	pthread_mutex_lock(&ctl.lock);
	for (struct control_conn *c = ctl.conns; c; c = c->next) {
		shutdown(c->fd, SHUT_RDWR);
		if (write(c->wake_fd, &one, sizeof(one)) < 0)
			continue;
	}
	while (ctl.n_conns &&
	       pthread_cond_timedwait(&ctl.idle, &ctl.lock, &deadline) == 0)
		;
	if (ctl.n_conns)
		log_warn("control: %u connections still busy at shutdown", ctl.n_conns);
	pthread_mutex_unlock(&ctl.lock);
	close(ctl.stop_fd);
	ctl.listen_fd = ctl.stop_fd = -1;
	ctl.running = false;
}
