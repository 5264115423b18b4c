/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control - the local control socket (RUN_DIR/control.sock, root only,
 * checked with SO_PEERCRED) and the command dispatcher behind it.
 *
 * The wire format is src/lib/protocol.h: length-prefixed frames carrying
 * either one JSON object (requests, replies, streamed output) or a chunk
 * of binary data (file transfers).  Every request is a JSON object with
 * "id" (chosen by the client, echoed in every reply) and "cmd"; the last
 * reply to a request has "done": true, plus "ok" and "error" when not ok.
 *
 * Subsystems add commands with control_register() before control_start();
 * a handler runs on the connection's own thread and may block (a script
 * run streams output for minutes): it talks to the client only through
 * control_reply() / control_send_data() / control_recv_data().
 */
#ifndef SENSEON_CONTROL_H
#define SENSEON_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct sensor;
struct control_conn;

/* The identity of the peer, from SO_PEERCRED (and the platform later). */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *analyst;	/* who asked: "uid:0" locally, the platform's
				 * analyst identity for remote sessions */
	const char *via;	/* NULL locally; "platform" for platform commands */
	const char *session;	/* the platform session, or NULL */
};

typedef int (*control_handler_fn)(struct control_conn *c, const json_t *req);

/* control_register - route requests whose "cmd" is @cmd to @fn. */
int control_register(const char *cmd, control_handler_fn fn);

int control_start(struct sensor *s);	/* bind the socket, start the acceptor thread */
void control_stop(struct sensor *s);	/* close the socket, end every connection */

const struct control_peer *control_peer(struct control_conn *c);
struct sensor *control_sensor(struct control_conn *c);

/*
 * control_reply - send one JSON object for the current request (the "id"
 * is added).  @done marks the last reply.  Steals @msg.  0 or -errno
 * (-EPIPE: the client went away; the handler should wind down).
 */
int control_reply(struct control_conn *c, json_t *msg, int done);
/* control_error - the final reply {"ok": false, "error": @fmt...}. */
int control_error(struct control_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * control_send_data - one binary chunk of a transfer to the client
 * (<= PROTO_MAX_PAYLOAD bytes).  0 or -errno (-EPIPE: client gone).
 */
int control_send_data(struct control_conn *c, const void *buf, size_t len);
/*
 * control_send_end - the end of a transfer (a PROTO_END frame) carrying
 * @summary (e.g. {"size":..,"sha256":..}; may be NULL; stolen).
 */
int control_send_end(struct control_conn *c, json_t *summary);
/*
 * control_recv_data - up to @len bytes of the client's data stream.
 * Returns the bytes copied, 0 at the end of the stream (the client's
 * PROTO_END frame: its JSON, if any, is control_recv_end()), -EBADMSG if
 * the client sent a JSON frame instead, -EPIPE if it went away.
 */
ssize_t control_recv_data(struct control_conn *c, void *buf, size_t len);
/* control_recv_end - the JSON of the last PROTO_END received, or NULL. */
const json_t *control_recv_end(struct control_conn *c);

/*
 * Other transports (the platform channel): a connection whose replies and
 * data go through these instead of the local socket.  send_json gets the
 * complete reply (with "id", and "done"/"ok" on the last one) and does
 * not steal it; send_end steals @summary (may be NULL); recv_data returns
 * bytes, 0 at the end of the stream (with a new reference to the end's
 * JSON, or NULL, in *@end) or -errno.  Each returns -EPIPE once the peer
 * is gone.
 */
struct control_transport {
	int (*send_json)(void *priv, json_t *msg, int done);
	int (*send_data)(void *priv, const void *buf, size_t len);
	int (*send_end)(void *priv, json_t *summary);
	ssize_t (*recv_data)(void *priv, void *buf, size_t len, json_t **end);
};

/*
 * control_conn_new - a connection served by @t (with @priv) for @peer
 * (copied; its strings must outlive the connection).  NULL on ENOMEM.
 */
struct control_conn *control_conn_new(struct sensor *s, const struct control_transport *t,
				      void *priv, const struct control_peer *peer);
/*
 * control_conn_dispatch - run one request on @c, on the calling thread,
 * through the same handlers as the local socket.  @id is echoed in every
 * reply.  A final reply is always sent.  Returns 0, or -EPIPE when the
 * transport went away.
 */
int control_conn_dispatch(struct control_conn *c, const json_t *req, json_t *id);
/* control_conn_free - free a connection made by control_conn_new(). */
void control_conn_free(struct control_conn *c);

/*
 * control_status_register - add "@key": @fn(s) to the status command's
 * reply (replacing a placeholder of that name).  Call before
 * control_start().  0, -EEXIST or -ENOSPC.
 */
typedef json_t *(*control_status_fn)(struct sensor *s);
int control_status_register(const char *key, control_status_fn fn);

/*
 * control_publish_alert - fan one alert (a compact JSON line) out to the
 * clients following alerts.  Never blocks on a client: each follower has
 * a bounded queue, overflow is counted and reported to it.  Called by the
 * alert sink on the main loop.
 */
void control_publish_alert(const char *line);

#endif
