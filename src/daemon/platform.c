/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform - the mutual-TLS WebSocket client to the analysis platform.
 *
 * Overview: owns the libwebsockets context and its service thread, the
 * one connection (at most), the transmit queue, the sessions the
 * platform opened on this connection, the running platform commands and
 * the handles of the outbox and the ledger.  Only the service thread
 * touches the lws connection; other threads queue frames under plat.lock
 * and wake it with lws_cancel_service().  Each command runs on its own
 * detached thread through control_conn_dispatch(): the dispatcher, the
 * actions and the audit log are those of senseonctl; this file only adds
 * the transport (struct control_transport), the ledger (at most once) and
 * the outbox (results, at least once).  It must not own what commands act
 * on, nor the alert format: alerts arrive as finished JSON lines.
 */
#include "platform.h"
#include "audit.h"
#include "control.h"
#include "isolation.h"
#include "ledger.h"
#include "log.h"
#include "outbox.h"
#include "platform_proto.h"
#include "sensor.h"

#include <errno.h>
#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PLAT_PROTOCOL		"senseon.v1"
#define PLAT_WINDOW		256		/* outbox entries in flight */
#define PLAT_TXQ_MAX		(8u << 20)	/* queued bytes before senders wait */
#define PLAT_RXQ_MAX		(16u << 20)	/* buffered incoming data per command */
#define PLAT_BACKOFF_MIN_MS	1000
#define PLAT_BACKOFF_MAX_MS	60000
#define PLAT_STABLE_S		60	/* a connection this old resets the backoff */
#define PLAT_MAX_SESSIONS	32
/* group commit of alerts: flush at this many, or when the oldest is this old */
#define PLAT_BATCH_MAX		256

struct txmsg {
	struct txmsg *next;
	bool binary;
	size_t len;
	uint8_t *buf;		/* LWS_PRE bytes of headroom, then the frame */
};

/* Incoming data of a command; a data.end is queued in order as a marker
 * (@end set, no data), so a run with several files gets them one by one. */
struct rxchunk {
	struct rxchunk *next;
	json_t *end;
	size_t len, off;
	uint8_t data[];
};

/* One platform command in flight (also the control transport's priv). */
struct pcmd {
	struct pcmd *next;
	char id[PPROTO_MAX_ID + 1];
	char cmd[64];
	char session[PPROTO_MAX_ID + 1];
	char analyst[PPROTO_MAX_NAME + 1];
	json_t *req;
	uint64_t gen;		/* the connection it arrived on */
	uint64_t out_off;	/* offset of the next chunk we send */
	uint64_t in_off;	/* offset of the next chunk we expect */
	struct rxchunk *rx_head, *rx_tail;	/* under plat.lock */
	size_t rx_bytes;
	bool finished;		/* its final result is stored */
};

struct session {
	char id[PPROTO_MAX_ID + 1];
	char analyst[PPROTO_MAX_NAME + 1];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* tx space, rx data, commands ending */
	struct sensor *s;
	bool enabled, running, stopping;
	char host[256], path[1024];
	long port;
	struct outbox *ob;
	struct ledger *ledger;
	struct lws_context *ctx;
	struct lws *wsi;	/* service thread only */
	pthread_t thread;
	lws_sorted_usec_list_t sul;
	unsigned int backoff_step;
	time_t connected_at;
	uint64_t gen;		/* bumped per connection; 0: none up */
	bool up;
	bool closing;		/* a malformed frame: close after the error */
	char close_reason[128];
	/* transmit */
	struct txmsg *tx_head, *tx_tail;
	size_t tx_bytes;
	uint64_t sent_oid;	/* outbox cursor */
	bool rx_paused;
	/* receive reassembly (service thread) */
	uint8_t *rx;
	size_t rx_len;
	/* TLS verdicts of the handshake in progress */
	char tls_reason[256];
	struct session sessions[PLAT_MAX_SESSIONS];
	struct pcmd *cmds;
	unsigned int n_cmds;
	/* counters */
	uint64_t connects, failures, tls_refused, malformed, commands, refused, alerts;
	/* alerts queued in the outbox and not yet flushed (main loop only) */
	unsigned int batch;
	uint64_t batch_since_ns;
	uint64_t batch_ns;	/* outbox_flush_ms: a storm's batch flushes by then */
	time_t last_error_at;
	char last_error[256];
} plat = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* Set by platform_stop while the service thread and commands run. */
static bool stopping(void)
{
	return __atomic_load_n(&plat.stopping, __ATOMIC_ACQUIRE);
}

static const char *const capabilities[] = {
	"alerts", "script.run", "file.upload", "file.download", "isolate", "unisolate",
	"isolation.status", "process.kill", "policy.update", "status",
};

/* The platform's command names and the dispatcher's. */
static const struct {
	const char *platform, *dispatcher;
} cmd_map[] = {
	{ "script.run", "script.run" },
	{ "file.upload", "file.upload" },
	{ "file.download", "file.download" },
	{ "isolate", "isolate" },
	{ "unisolate", "unisolate" },
	{ "isolation.status", "isolation.status" },
	{ "process.kill", "kill" },
	{ "policy.update", "policy.update" },
	{ "status", "status" },
};

static void audit_or_log(const char *type, json_t *fields)
{
	int err = audit_append(type, fields);

	if (err)
		log_err("platform: audit record %s not written: %s", type, strerror(-err));
}

/* ---- transmit queue ---- */

static struct txmsg *tx_alloc(bool binary, size_t len)
{
	struct txmsg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->buf = malloc(LWS_PRE + len + 1);
	if (!m->buf) {
		free(m);
		return NULL;
	}
	m->binary = binary;
	m->len = len;
	return m;
}

static void tx_free(struct txmsg *m)
{
	if (m)
		free(m->buf);
	free(m);
}

/* Queue @m (under plat.lock); @front for the error before a close. */
static void tx_push_locked(struct txmsg *m, bool front)
{
	if (front) {
		m->next = plat.tx_head;
		plat.tx_head = m;
		if (!plat.tx_tail)
			plat.tx_tail = m;
	} else {
		if (plat.tx_tail)
			plat.tx_tail->next = m;
		else
			plat.tx_head = m;
		plat.tx_tail = m;
	}
	plat.tx_bytes += m->len;
}

static void tx_clear_locked(void)
{
	while (plat.tx_head) {
		struct txmsg *m = plat.tx_head;

		plat.tx_head = m->next;
		tx_free(m);
	}
	plat.tx_tail = NULL;
	plat.tx_bytes = 0;
	pthread_cond_broadcast(&plat.cond);
}

static void wake(void)
{
	if (plat.ctx)
		lws_cancel_service(plat.ctx);
}

/*
 * Queue a text frame for the connection @gen (0: the current one).
 * Returns 0, or -EPIPE if that connection is gone.
 */
static int send_text(json_t *msg, uint64_t gen, bool front)
{
	struct txmsg *m;
	uint8_t *buf;
	size_t len;
	int err = 0;

	buf = pproto_encode_text(msg, LWS_PRE, &len);
	if (!buf)
		return -errno;
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(buf);
		return -ENOMEM;
	}
	m->buf = buf;
	m->len = len;
	pthread_mutex_lock(&plat.lock);
	if (!plat.up || (gen && gen != plat.gen))
		err = -EPIPE;
	else
		tx_push_locked(m, front);
	pthread_mutex_unlock(&plat.lock);
	if (err)
		tx_free(m);
	else
		wake();
	return err;
}

/* send_text, taking the reference to @msg (jansson's _new convention) */
static int send_text_new(json_t *msg, uint64_t gen, bool front)
{
	int err;

	if (!msg)
		return -ENOMEM;
	err = send_text(msg, gen, front);
	json_decref(msg);
	return err;
}

/* ---- outbox ---- */

static int outbox_put(json_t *msg)
{
	char *text;
	int err;

	if (!msg)
		return -ENOMEM;
	json_object_set_new(msg, "sensor_id", json_string(plat.s->sensor_id));
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return -ENOMEM;
	err = outbox_append(plat.ob, text, strlen(text), NULL);
	free(text);
	if (err)
		log_err("platform: outbox append failed: %s", strerror(-err));
	wake();
	return err;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void platform_flush(void)
{
	int err;

	if (!plat.enabled || !plat.batch)
		return;
	err = outbox_commit(plat.ob);
	if (err) {
		/* the entries stay queued: the next flush tries again */
		log_err("platform: outbox flush failed: %s", strerror(-err));
		return;
	}
	plat.batch = 0;
	wake();
}

void platform_publish_alert(const char *line)
{
	static const char pre[] = "{\"type\":\"alert\",\"sensor_id\":\"";
	size_t llen = strlen(line), idlen = strlen(plat.s ? plat.s->sensor_id : "");
	char *text;
	size_t n = 0;
	int err;

	if (!plat.enabled)
		return;
	if (llen < 2 || line[0] != '{') {
		log_err("platform: an alert that is not a JSON object was not queued");
		return;
	}
	/* the line is already compact JSON and the sensor id a UUID: no re-parse */
	text = malloc(sizeof(pre) + idlen + 16 + llen);
	if (!text) {
		log_err("platform: out of memory: an alert was not queued");
		return;
	}
	memcpy(text, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	memcpy(text + n, plat.s->sensor_id, idlen);
	n += idlen;
	memcpy(text + n, "\",\"alert\":", 10);
	n += 10;
	memcpy(text + n, line, llen);
	n += llen;
	text[n++] = '}';
	err = outbox_queue(plat.ob, text, n, NULL);
	free(text);
	if (err) {
		log_err("platform: outbox append failed: %s", strerror(-err));
		return;
	}
	__atomic_add_fetch(&plat.alerts, 1, __ATOMIC_RELAXED);
	if (!plat.batch++)
		plat.batch_since_ns = now_ns();
	/* a storm that never lets the loop go idle still flushes often */
	if (plat.batch >= PLAT_BATCH_MAX || now_ns() - plat.batch_since_ns >= plat.batch_ns)
		platform_flush();
}

/* A command's final result: ledger first (at most once), then the outbox. */
static void result_store(struct pcmd *pc, json_t *result, bool ledger)
{
	bool ok = json_is_true(json_object_get(result, "ok"));
	json_t *msg;
	int err;

	if (ledger && (err = ledger_finish(plat.ledger, pc->id, result)))
		log_err("platform: command %s: result not stored in the ledger: %s",
			pc->id, strerror(-err));
	msg = json_pack("{s:s, s:s, s:s, s:b, s:O}", "type", "result", "id", pc->id,
			"cmd", pc->cmd, "ok", ok, "result", result);
	if (msg && !ok)
		json_object_set(msg, "error", json_object_get(result, "error"));
	outbox_put(msg);
}

/* A result for a command that is not run (refused, repeated ...). */
static void result_direct(const char *id, const char *cmd, json_t *result)
{
	struct pcmd pc = { 0 };

	snprintf(pc.id, sizeof(pc.id), "%s", id);
	snprintf(pc.cmd, sizeof(pc.cmd), "%s", cmd);
	result_store(&pc, result, false);
	json_decref(result);
}

/* ---- the control transport ---- */

static int tr_send_json(void *priv, json_t *msg, int done)
{
	struct pcmd *pc = priv;
	json_t *body = json_deep_copy(msg);

	if (!body)
		return -ENOMEM;
	json_object_del(body, "id");
	json_object_del(body, "done");
	if (done) {
		pc->finished = true;
		result_store(pc, body, true);
		json_decref(body);
		return 0;
	}
	/* live output only: a lost connection loses it, the result stays */
	send_text_new(json_pack("{s:s, s:s, s:o}", "type", "reply", "id", pc->id, "reply", body),
		  pc->gen, false);
	return 0;
}

static int tr_send_data(void *priv, const void *buf, size_t len)
{
	struct pcmd *pc = priv;
	struct txmsg *m;
	uint8_t hdr[PPROTO_CHUNK_HDR_MAX];
	int h, err = 0;

	h = pproto_chunk_header(hdr, pc->id, pc->out_off);
	if (h < 0 || len > PPROTO_MAX_CHUNK)
		return -EINVAL;
	m = tx_alloc(true, (size_t)h + len);
	if (!m)
		return -ENOMEM;
	memcpy(m->buf + LWS_PRE, hdr, (size_t)h);
	memcpy(m->buf + LWS_PRE + h, buf, len);
	pthread_mutex_lock(&plat.lock);
	/* back-pressure: a fast file never fills our memory */
	while (plat.up && plat.gen == pc->gen && !stopping() &&
	       plat.tx_bytes > PLAT_TXQ_MAX)
		pthread_cond_wait(&plat.cond, &plat.lock);
	if (!plat.up || plat.gen != pc->gen || stopping())
		err = -EPIPE;
	else
		tx_push_locked(m, false);
	pthread_mutex_unlock(&plat.lock);
	if (err) {
		tx_free(m);
		return err;
	}
	pc->out_off += len;
	wake();
	return 0;
}

static int tr_send_end(void *priv, json_t *summary)
{
	struct pcmd *pc = priv;
	json_t *msg = json_pack("{s:s, s:s}", "type", "data.end", "id", pc->id);
	int err;

	if (summary && msg)
		json_object_update(msg, summary);
	json_decref(summary);
	err = msg ? send_text(msg, pc->gen, false) : -ENOMEM;
	json_decref(msg);
	return err;
}

static ssize_t tr_recv_data(void *priv, void *buf, size_t len, json_t **end)
{
	struct pcmd *pc = priv;
	struct rxchunk *c;
	ssize_t n = 0;

	pthread_mutex_lock(&plat.lock);
	while (!pc->rx_head && plat.gen == pc->gen && plat.up && !stopping())
		pthread_cond_wait(&plat.cond, &plat.lock);
	c = pc->rx_head;
	if (!c) {
		n = -EPIPE;
	} else if (c->end) {
		*end = c->end;
		c->end = NULL;
		c->off = c->len;
	} else {
		n = (ssize_t)(c->len - c->off < len ? c->len - c->off : len);
		memcpy(buf, c->data + c->off, (size_t)n);
		c->off += (size_t)n;
	}
	if (c && c->off == c->len) {
		pc->rx_head = c->next;
		if (!pc->rx_head)
			pc->rx_tail = NULL;
		pc->rx_bytes -= c->len;
		free(c);
	}
	pthread_mutex_unlock(&plat.lock);
	/* the service thread may have paused reading for us */
	if (n > 0 && plat.rx_paused)
		wake();
	return n;
}

static const struct control_transport transport = {
	.send_json = tr_send_json,
	.send_data = tr_send_data,
	.send_end = tr_send_end,
	.recv_data = tr_recv_data,
};

/* ---- commands ---- */

static void pcmd_unlink(struct pcmd *pc)
{
	pthread_mutex_lock(&plat.lock);
	for (struct pcmd **p = &plat.cmds; *p; p = &(*p)->next) {
		if (*p == pc) {
			*p = pc->next;
			break;
		}
	}
	plat.n_cmds--;
	pthread_cond_broadcast(&plat.cond);
	pthread_mutex_unlock(&plat.lock);
}

static void pcmd_free(struct pcmd *pc)
{
	while (pc->rx_head) {
		struct rxchunk *c = pc->rx_head;

		pc->rx_head = c->next;
		json_decref(c->end);
		free(c);
	}
	json_decref(pc->req);
	free(pc);
}

static void *cmd_thread(void *arg)
{
	struct pcmd *pc = arg;
	struct control_peer peer = {
		.analyst = pc->analyst, .via = "platform", .session = pc->session,
	};
	struct control_conn *c = control_conn_new(plat.s, &transport, pc, &peer);
	json_t *id = json_string(pc->id);

	if (c && id) {
		control_conn_dispatch(c, pc->req, id);
		/* a handler that stopped on a lost connection still gets a
		 * durable answer: the platform must not wait for it forever */
		if (!pc->finished) {
			json_t *r = json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
					      "the connection to the platform was lost during "
					      "the command", "sent", (json_int_t)pc->out_off);

			result_store(pc, r, true);
			json_decref(r);
		}
	} else {
		json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", "out of memory");

		result_store(pc, r, true);
		json_decref(r);
	}
	json_decref(id);
	control_conn_free(c);
	pcmd_unlink(pc);
	pcmd_free(pc);
	return NULL;
}

static const char *dispatcher_cmd(const char *cmd)
{
	for (size_t i = 0; i < sizeof(cmd_map) / sizeof(cmd_map[0]); i++)
		if (strcmp(cmd_map[i].platform, cmd) == 0)
			return cmd_map[i].dispatcher;
	return NULL;
}

static struct session *session_find(const char *id)
{
	for (int i = 0; i < PLAT_MAX_SESSIONS; i++)
		if (plat.sessions[i].id[0] && strcmp(plat.sessions[i].id, id) == 0)
			return &plat.sessions[i];
	return NULL;
}

static void refuse(const struct pproto_msg *m, const char *analyst, const char *why)
{
	plat.refused++;
	log_warn("platform: command %s (%s) refused: %s", m->id, m->cmd, why);
	audit_or_log("platform.command.refused",
		     json_pack("{s:s, s:s, s:s, s:s?, s:s}", "id", m->id, "cmd", m->cmd,
			       "session", m->session, "analyst", analyst, "reason", why));
	result_direct(m->id, m->cmd, json_pack("{s:b, s:b, s:s}", "ok", 0, "refused", 1,
					       "error", why));
}

/* Answer a command id the ledger has seen; true if it was seen. */
static bool ledger_answer(const struct pproto_msg *m, enum ledger_state st, json_t *stored)
{
	char why[256];

	switch (st) {
	case LEDGER_NEW:
		return false;
	case LEDGER_DONE:
		json_object_set_new(stored, "repeat", json_true());
		result_direct(m->id, m->cmd, stored);
		break;
	case LEDGER_RUNNING:
		snprintf(why, sizeof(why), "command %s is still running", m->id);
		send_text_new(json_pack("{s:s, s:s, s:{s:b, s:s}}", "type", "reply", "id", m->id,
					"reply", "running", 1, "note", why), 0, false);
		break;
	case LEDGER_INTERRUPTED:
		snprintf(why, sizeof(why), "command %s was interrupted by a restart of the "
			 "sensor; it may have completed and is not run again", m->id);
		result_direct(m->id, m->cmd, json_pack("{s:b, s:b, s:s}", "ok", 0,
						       "interrupted", 1, "error", why));
		break;
	}
	log_info("platform: command %s seen before: not run again", m->id);
	return true;
}

static int start_command(const struct pproto_msg *m, const char *analyst, const char *dcmd)
{
	struct pcmd *pc = calloc(1, sizeof(*pc));
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int err;

	if (!pc)
		return -ENOMEM;
	snprintf(pc->id, sizeof(pc->id), "%s", m->id);
	snprintf(pc->cmd, sizeof(pc->cmd), "%s", m->cmd);
	snprintf(pc->session, sizeof(pc->session), "%s", m->session);
	snprintf(pc->analyst, sizeof(pc->analyst), "%s", analyst);
	pc->req = json_deep_copy(m->json);
	if (!pc->req) {
		free(pc);
		return -ENOMEM;
	}
	json_object_del(pc->req, "type");
	json_object_set_new(pc->req, "cmd", json_string(dcmd));
	if (json_is_integer(json_object_get(pc->req, "offset")) &&
	    json_integer_value(json_object_get(pc->req, "offset")) > 0)
		pc->out_off = pc->in_off = (uint64_t)json_integer_value(
			json_object_get(pc->req, "offset"));
	pthread_mutex_lock(&plat.lock);
	pc->gen = plat.gen;
	pc->next = plat.cmds;
	plat.cmds = pc;
	plat.n_cmds++;
	pthread_mutex_unlock(&plat.lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&tid, &attr, cmd_thread, pc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		pcmd_unlink(pc);
		pcmd_free(pc);
	}
	return err;
}

static void on_command(const struct pproto_msg *m)
{
	struct session *se = session_find(m->session);
	const char *dcmd = dispatcher_cmd(m->cmd);
	enum ledger_state st;
	json_t *stored;
	char why[256];
	int err;

	plat.commands++;
	if (!se) {
		snprintf(why, sizeof(why), "unknown session \"%s\": send session.start first",
			 m->session);
		refuse(m, NULL, why);
		return;
	}
	if (!dcmd) {
		snprintf(why, sizeof(why), "unknown command \"%s\"", m->cmd);
		refuse(m, se->analyst, why);
		return;
	}
	if (!plat.s->cfg.active_response && strcmp(dcmd, "status") != 0) {
		refuse(m, se->analyst, "active response is disabled on this sensor "
		       "(active_response: false)");
		return;
	}
	err = ledger_begin(plat.ledger, m->id, m->cmd, &st, &stored);
	if (err) {
		snprintf(why, sizeof(why), "the command ledger is unavailable (%s): not run",
			 strerror(-err));
		refuse(m, se->analyst, why);
		return;
	}
	if (ledger_answer(m, st, stored))
		return;
	audit_or_log("platform.command", json_pack("{s:s, s:s, s:s, s:s}", "id", m->id,
			"cmd", m->cmd, "session", m->session, "analyst", se->analyst));
	log_info("platform: command %s: %s for %s", m->id, m->cmd, se->analyst);
	err = start_command(m, se->analyst, dcmd);
	if (err) {
		json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", "cannot start the command");
		struct pcmd pc = { 0 };

		snprintf(pc.id, sizeof(pc.id), "%s", m->id);
		snprintf(pc.cmd, sizeof(pc.cmd), "%s", m->cmd);
		result_store(&pc, r, true);
		json_decref(r);
	}
}

static void on_session(const struct pproto_msg *m)
{
	struct session *se = session_find(m->session);

	if (m->type == PPROTO_SESSION_END) {
		if (se)
			memset(se, 0, sizeof(*se));
		audit_or_log("platform.session.end", json_pack("{s:s}", "session", m->session));
		return;
	}
	for (int i = 0; !se && i < PLAT_MAX_SESSIONS; i++)
		if (!plat.sessions[i].id[0])
			se = &plat.sessions[i];
	if (!se)
		se = &plat.sessions[0];	/* full: the oldest slot goes */
	snprintf(se->id, sizeof(se->id), "%s", m->session);
	snprintf(se->analyst, sizeof(se->analyst), "%s", m->analyst);
	audit_or_log("platform.session.start", json_pack("{s:s, s:s}", "session", m->session,
							 "analyst", m->analyst));
	log_info("platform: session %s opened for %s", m->session, m->analyst);
}

static void rx_push_locked(struct pcmd *pc, struct rxchunk *c)
{
	if (pc->rx_tail)
		pc->rx_tail->next = c;
	else
		pc->rx_head = c;
	pc->rx_tail = c;
	pc->rx_bytes += c->len;
}

static struct pcmd *pcmd_find_locked(const char *id)
{
	for (struct pcmd *pc = plat.cmds; pc; pc = pc->next)
		if (pc->gen == plat.gen && strcmp(pc->id, id) == 0)
			return pc;
	return NULL;
}

/* Incoming data for a running command; -EPROTO if nobody expects it. */
static int on_chunk(const struct pproto_chunk *ch)
{
	struct rxchunk *c = malloc(sizeof(*c) + ch->len);
	struct pcmd *pc;
	int err = 0;

	if (!c)
		return -ENOMEM;
	c->next = NULL;
	c->end = NULL;
	c->len = ch->len;
	c->off = 0;
	memcpy(c->data, ch->data, ch->len);
	pthread_mutex_lock(&plat.lock);
	pc = pcmd_find_locked(ch->id);
	if (!pc || ch->offset != pc->in_off) {
		err = -EPROTO;
	} else if (c->len) {
		rx_push_locked(pc, c);
		pc->in_off += c->len;
		c = NULL;
		if (pc->rx_bytes > PLAT_RXQ_MAX)
			plat.rx_paused = true;
	}
	pthread_cond_broadcast(&plat.cond);
	pthread_mutex_unlock(&plat.lock);
	free(c);
	return err;
}

static int on_data_end(const struct pproto_msg *m)
{
	struct rxchunk *c = calloc(1, sizeof(*c));
	struct pcmd *pc;
	int err = 0;

	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&plat.lock);
	pc = pcmd_find_locked(m->id);
	if (!pc) {
		err = -EPROTO;
		free(c);
	} else {
		c->end = json_incref(m->json);
		rx_push_locked(pc, c);
		/* the next file of the same command starts at offset 0 */
		pc->in_off = 0;
	}
	pthread_cond_broadcast(&plat.cond);
	pthread_mutex_unlock(&plat.lock);
	return err;
}

/* ---- frames in ---- */

static void malformed(const char *why)
{
	plat.malformed++;
	log_warn("platform: malformed frame from the platform: %s; resetting the connection",
		 why);
	snprintf(plat.close_reason, sizeof(plat.close_reason), "malformed frame: %s", why);
	send_text_new(json_pack("{s:s, s:s}", "type", "error", "error", plat.close_reason), 0,
		      true);
	plat.closing = true;
}

static void on_frame(bool binary, const uint8_t *buf, size_t len)
{
	struct pproto_msg m;
	struct pproto_chunk ch;
	int err;

	if (binary) {
		err = pproto_decode_chunk(buf, len, &ch);
		if (!err)
			err = on_chunk(&ch);
		if (err)
			malformed(err == -EPROTO && ch.id[0] ?
				  "a data chunk no transfer expects" : strerror(-err));
		return;
	}
	err = pproto_decode_text(buf, len, &m);
	if (err) {
		malformed(err == -EPROTO ? "unknown type or missing field" : strerror(-err));
		return;
	}
	switch (m.type) {
	case PPROTO_ACK:
		err = outbox_ack(plat.ob, m.oid);
		if (err == -ERANGE)
			malformed("ack of an oid never sent");
		break;
	case PPROTO_SESSION_START:
	case PPROTO_SESSION_END:
		on_session(&m);
		break;
	case PPROTO_COMMAND:
		on_command(&m);
		break;
	case PPROTO_DATA_END:
		if (on_data_end(&m))
			malformed("data.end for no transfer");
		break;
	case PPROTO_ERROR:
		log_warn("platform: the platform reports: %s", m.error);
		break;
	}
	pproto_msg_free(&m);
}

static int on_receive(struct lws *wsi, const void *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
	uint8_t *nb;

	if (first)
		plat.rx_len = 0;
	if (plat.rx_len + len > PPROTO_MAX_CHUNK + PPROTO_CHUNK_HDR_MAX) {
		malformed("frame too large");
		return 0;
	}
	nb = realloc(plat.rx, plat.rx_len + len + 1);
	if (!nb)
		return -1;
	plat.rx = nb;
	memcpy(plat.rx + plat.rx_len, in, len);
	plat.rx_len += len;
	if (final && !plat.closing)
		on_frame(lws_frame_is_binary(wsi), plat.rx, plat.rx_len);
	return 0;
}

/* ---- frames out ---- */

/* The isolation state as isolation.status reports it, or why not. */
static json_t *hello_isolation(void)
{
	char err[256] = "";
	json_t *st = NULL;

	if (isolation_status(&st, err, sizeof(err)) || !st)
		return json_pack("{s:s, s:s}", "state", "not available", "error",
				 err[0] ? err : "out of memory");
	return st;
}

static json_t *hello_msg(void)
{
	json_t *caps = json_array(), *iso;
	struct outbox_stats st;
	struct utsname u;
	char os[512], pretty[256] = "";
	FILE *fp = fopen("/etc/os-release", "re");
	char line[512];

	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "PRETTY_NAME=\"%255[^\"]\"", pretty) == 1)
			break;
	if (fp)
		fclose(fp);
	uname(&u);
	snprintf(os, sizeof(os), "%s %s%s%s%s", u.sysname, u.release, pretty[0] ? " (" : "",
		 pretty, pretty[0] ? ")" : "");
	for (size_t i = 0; i < sizeof(capabilities) / sizeof(capabilities[0]); i++)
		json_array_append_new(caps, json_string(capabilities[i]));
	outbox_stats(plat.ob, &st);
	iso = hello_isolation();
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:{s:I, s:I, s:I, s:I}}",
			 "type", "hello", "protocol", PPROTO_VERSION, "sensor_id",
			 plat.s->sensor_id, "hostname", plat.s->cfg.node_name, "os", os,
			 "version", PACKAGE_VERSION, "capabilities", caps, "active_response",
			 plat.s->cfg.active_response, "isolation", iso, "outbox",
			 "next_oid", (json_int_t)st.next_oid, "acked", (json_int_t)st.acked,
			 "pending", (json_int_t)st.pending, "dropped", (json_int_t)st.dropped);
}

/* The next outbox entry as a frame: "{" "oid":N, the stored object's members. */
static struct txmsg *outbox_frame(void)
{
	struct outbox_stats st;
	struct txmsg *m;
	uint64_t oid;
	void *data;
	size_t len;
	char pre[40];
	int n;

	outbox_stats(plat.ob, &st);
	if (plat.sent_oid < st.acked)
		plat.sent_oid = st.acked;
	if (plat.sent_oid - st.acked >= PLAT_WINDOW)
		return NULL;
	if (outbox_next(plat.ob, plat.sent_oid, &oid, &data, &len))
		return NULL;
	n = snprintf(pre, sizeof(pre), "{\"oid\":%llu%s", (unsigned long long)oid,
		     len > 2 ? "," : "");
	m = tx_alloc(false, (size_t)n + len - 1);
	if (m) {
		memcpy(m->buf + LWS_PRE, pre, (size_t)n);
		memcpy(m->buf + LWS_PRE + n, (char *)data + 1, len - 1);
		plat.sent_oid = oid;
	}
	free(data);
	return m;
}

static int on_writeable(struct lws *wsi)
{
	struct txmsg *m;
	int n;

	pthread_mutex_lock(&plat.lock);
	m = plat.tx_head;
	if (m) {
		plat.tx_head = m->next;
		if (!plat.tx_head)
			plat.tx_tail = NULL;
		plat.tx_bytes -= m->len;
		pthread_cond_broadcast(&plat.cond);
	}
	pthread_mutex_unlock(&plat.lock);
	if (!m && plat.closing) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
				 (unsigned char *)plat.close_reason, strlen(plat.close_reason));
		return -1;
	}
	if (!m && !plat.closing)
		m = outbox_frame();
	if (!m)
		return 0;
	n = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY :
		      LWS_WRITE_TEXT);
	tx_free(m);
	if (n < 0)
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* ---- TLS ---- */

/* "sha256//BASE64" of the certificate's SubjectPublicKeyInfo. */
static int spki_pin(X509 *cert, char *out, size_t outlen)
{
	unsigned char *der = NULL, md[32], b64[64];
	unsigned int mdlen = 0;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

	if (len <= 0)
		return -EINVAL;
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return -EIO;
	}
	OPENSSL_free(der);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, outlen, "sha256//%s", b64);
	return 0;
}

static int verify_server(X509_STORE_CTX *xs, int preverify_ok)
{
	int depth = X509_STORE_CTX_get_error_depth(xs);
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);
	char pin[128];

	if (!preverify_ok) {
		snprintf(plat.tls_reason, sizeof(plat.tls_reason),
			 "certificate verification failed at depth %d: %s", depth,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
		return 1;
	}
	if (depth != 0 || plat.s->cfg.platform_pins.n == 0)
		return 0;
	if (!cert || spki_pin(cert, pin, sizeof(pin)))
		return 1;
	if (strlist_contains(&plat.s->cfg.platform_pins, pin))
		return 0;
	snprintf(plat.tls_reason, sizeof(plat.tls_reason),
		 "the server's public key matches no pin (it is %s)", pin);
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 1;
}

/* ---- connection ---- */

static void schedule_connect(void);

static void connection_failed(const char *why)
{
	plat.failures++;
	plat.last_error_at = time(NULL);
	if (plat.tls_reason[0]) {
		plat.tls_refused++;
		snprintf(plat.last_error, sizeof(plat.last_error), "%s", plat.tls_reason);
		log_err("platform: %s:%ld refused: %s", plat.host, plat.port, plat.tls_reason);
		audit_or_log("platform.tls_refused",
			     json_pack("{s:s, s:s}", "url", plat.s->cfg.platform_url,
				       "reason", plat.tls_reason));
	} else {
		snprintf(plat.last_error, sizeof(plat.last_error), "%s", why ? why : "?");
		log_warn("platform: cannot connect to %s:%ld: %s", plat.host, plat.port,
			 plat.last_error);
	}
	plat.tls_reason[0] = '\0';
	plat.wsi = NULL;
	schedule_connect();
}

static void connection_closed(void)
{
	pthread_mutex_lock(&plat.lock);
	plat.up = false;
	tx_clear_locked();
	pthread_cond_broadcast(&plat.cond);
	pthread_mutex_unlock(&plat.lock);
	memset(plat.sessions, 0, sizeof(plat.sessions));
	if (time(NULL) - plat.connected_at >= PLAT_STABLE_S)
		plat.backoff_step = 0;
	plat.wsi = NULL;
	plat.closing = false;
	log_notice("platform: connection to %s:%ld closed", plat.host, plat.port);
	schedule_connect();
}

static void connection_up(struct lws *wsi)
{
	json_t *hello = hello_msg();

	pthread_mutex_lock(&plat.lock);
	plat.up = true;
	plat.gen++;
	tx_clear_locked();
	pthread_mutex_unlock(&plat.lock);
	plat.connects++;
	plat.connected_at = time(NULL);
	plat.closing = false;
	plat.tls_reason[0] = '\0';
	/* at least once: everything not acknowledged goes again */
	plat.sent_oid = 0;
	log_notice("platform: connected to %s:%ld", plat.host, plat.port);
	send_text(hello, 0, true);
	json_decref(hello);
	lws_callback_on_writable(wsi);
}

static void do_connect(lws_sorted_usec_list_t *sul)
{
	struct lws_client_connect_info ci = { 0 };
	static const lws_retry_bo_t idle = {
		.secs_since_valid_ping = 30,
		.secs_since_valid_hangup = 60,
	};

	ci.context = plat.ctx;
	ci.address = plat.host;
	ci.port = (int)plat.port;
	ci.path = plat.path;
	ci.host = plat.host;
	ci.origin = plat.host;
	ci.ssl_connection = LCCSCF_USE_SSL;
	ci.protocol = PLAT_PROTOCOL;
	ci.local_protocol_name = PLAT_PROTOCOL;
	ci.retry_and_idle_policy = &idle;
	ci.pwsi = &plat.wsi;
	plat.tls_reason[0] = '\0';
	if (!lws_client_connect_via_info(&ci))
		connection_failed("cannot start a connection");
}

/* Exponential backoff, capped, with full jitter in [step/2, step]. */
static void schedule_connect(void)
{
	unsigned int shift = plat.backoff_step < 16 ? plat.backoff_step : 16;
	uint64_t step = (uint64_t)PLAT_BACKOFF_MIN_MS << shift;
	uint64_t ms;

	if (stopping())
		return;
	if (step > PLAT_BACKOFF_MAX_MS)
		step = PLAT_BACKOFF_MAX_MS;
	else
		plat.backoff_step++;
	ms = step / 2 + (uint64_t)random() % (step / 2 + 1);
	log_info("platform: reconnecting in %llu ms", (unsigned long long)ms);
	lws_sul_schedule(plat.ctx, 0, &plat.sul, do_connect, (lws_usec_t)ms * LWS_US_PER_MS);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* TLS 1.2 or newer, whatever the library's default */
		SSL_CTX_set_min_proto_version((SSL_CTX *)user, TLS1_2_VERSION);
		return 0;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		return verify_server((X509_STORE_CTX *)user, (int)len);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		connection_failed(in ? (const char *)in : "connection error");
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		connection_up(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		connection_closed();
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (plat.wsi && plat.up) {
			if (plat.rx_paused) {
				bool resume = true;

				pthread_mutex_lock(&plat.lock);
				for (struct pcmd *pc = plat.cmds; pc; pc = pc->next)
					if (pc->rx_bytes > PLAT_RXQ_MAX / 2)
						resume = false;
				pthread_mutex_unlock(&plat.lock);
				if (resume) {
					plat.rx_paused = false;
					lws_rx_flow_control(plat.wsi, 1);
				}
			}
			lws_callback_on_writable(plat.wsi);
		}
		return 0;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ PLAT_PROTOCOL, callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *service_thread(void *arg)
{
	lws_sul_schedule(plat.ctx, 0, &plat.sul, do_connect, 1);
	while (!stopping()) {
		if (lws_service(plat.ctx, 0) < 0)
			break;
		if (plat.rx_paused && plat.wsi)
			lws_rx_flow_control(plat.wsi, 0);
	}
	return NULL;
}

/* ---- status ---- */

static json_t *status_hook(struct sensor *s)
{
	struct outbox_stats st;

	outbox_stats(plat.ob, &st);
	return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s,"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I}",
			 "state", plat.up ? "connected" : "disconnected",
			 "url", s->cfg.platform_url, "active_response", s->cfg.active_response,
			 "connects", (json_int_t)plat.connects,
			 "failures", (json_int_t)plat.failures,
			 "tls_refused", (json_int_t)plat.tls_refused,
			 "malformed", (json_int_t)plat.malformed,
			 "commands", (json_int_t)plat.commands,
			 "refused", (json_int_t)plat.refused,
			 "last_error", plat.last_error,
			 "outbox", "next_oid", (json_int_t)st.next_oid,
			 "acked", (json_int_t)st.acked, "pending", (json_int_t)st.pending,
			 "bytes", (json_int_t)st.bytes, "dropped", (json_int_t)st.dropped,
			 "uncommitted", (json_int_t)st.uncommitted,
			 "commits", (json_int_t)st.commits,
			 "ledger", (json_int_t)ledger_count(plat.ledger));
}

/* ---- start and stop ---- */

int platform_init(struct sensor *s)
{
	struct outbox_opts oo = { .max_bytes = (uint64_t)s->cfg.outbox_max_bytes };
	char path[4096];
	int err;

	plat.s = s;
	plat.batch_ns = (uint64_t)s->cfg.outbox_flush_ms * 1000000ull;
	if (!s->cfg.platform_url)
		return 0;
	if (!s->cfg.platform_ca || !s->cfg.platform_cert || !s->cfg.platform_key) {
		log_err("platform: platform_url needs platform_ca, platform_cert and platform_key");
		return -EINVAL;
	}
	if (config_parse_platform_url(s->cfg.platform_url, plat.host, sizeof(plat.host),
				      &plat.port, plat.path, sizeof(plat.path)))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/spool", s->cfg.state_dir);
	if ((err = outbox_open(path, &oo, &plat.ob))) {
		log_err("platform: outbox %s: %s", path, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/ledger.jsonl", s->cfg.state_dir);
	if ((err = ledger_open(path, 0, &plat.ledger))) {
		log_err("platform: ledger %s: %s", path, strerror(-err));
		outbox_close(plat.ob);
		plat.ob = NULL;
		return err;
	}
	srandom((unsigned int)(time(NULL) ^ getpid()));
	control_status_register("platform", status_hook);
	plat.enabled = true;
	return 0;
}

int platform_start(struct sensor *s)
{
	struct lws_context_creation_info info = { 0 };
	sigset_t all, old;
	int err;

	if (!plat.enabled)
		return 0;
	lws_set_log_level(LLL_ERR, NULL);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	/* Trust platform_ca (and the pins) alone: Debian's libwebsockets
	 * would also load the system store, and any CA in it (a public one,
	 * a TLS-inspection proxy's) could then run scripts as root here. */
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.client_ssl_ca_filepath = s->cfg.platform_ca;
	info.client_ssl_cert_filepath = s->cfg.platform_cert;
	info.client_ssl_private_key_filepath = s->cfg.platform_key;
	info.fd_limit_per_thread = 64;
	plat.ctx = lws_create_context(&info);
	if (!plat.ctx) {
		log_err("platform: cannot create the TLS client (check platform_ca, "
			"platform_cert and platform_key)");
		return -EINVAL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&plat.thread, NULL, service_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		lws_context_destroy(plat.ctx);
		plat.ctx = NULL;
		return err;
	}
	plat.running = true;
	return 0;
}

void platform_stop(struct sensor *s)
{
	struct timespec deadline;

	if (!plat.enabled)
		return;
	if (plat.running) {
		__atomic_store_n(&plat.stopping, true, __ATOMIC_RELEASE);
		lws_cancel_service(plat.ctx);
		pthread_join(plat.thread, NULL);
	}
	pthread_mutex_lock(&plat.lock);
	__atomic_store_n(&plat.stopping, true, __ATOMIC_RELEASE);
	plat.up = false;
	pthread_cond_broadcast(&plat.cond);
	/* commands see -EPIPE on their transport and wind down */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 3;
	while (plat.n_cmds &&
	       pthread_cond_timedwait(&plat.cond, &plat.lock, &deadline) == 0)
		;
	tx_clear_locked();
	pthread_mutex_unlock(&plat.lock);
	if (plat.ctx)
		lws_context_destroy(plat.ctx);
	plat.ctx = NULL;
	free(plat.rx);
	plat.rx = NULL;
	if (plat.n_cmds) {
		/* still running (a long script): their transport must outlive us */
		log_warn("platform: %u commands still running at shutdown", plat.n_cmds);
		return;
	}
	ledger_close(plat.ledger);
	outbox_close(plat.ob);
	plat.ledger = NULL;
	plat.ob = NULL;
	plat.enabled = false;
}
