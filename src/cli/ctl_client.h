/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_client - senseonctl's side of the control socket, shared by every
 * subcommand that talks to the running daemon (status, kill, alerts, run,
 * upload, download ...).  Frames are protocol.h's; the requests and
 * replies are documented in docs/protocol-local.md.
 *
 * A typical streaming command:
 *
 *	struct ctl_conn *c;
 *	struct proto_frame f;
 *	int err = ctl_connect(&c);
 *
 *	if (err)
 *		return ctl_exit_code(err);	   (message already printed)
 *	err = ctl_request(c, json_pack("{s:s, s:s}", "cmd", "run", ...));
 *	while (!err && !(err = ctl_read(c, &f))) {
 *		... f.kind is PROTO_JSON (f.json), PROTO_DATA or PROTO_END ...
 *		done = ctl_frame_done(&f);
 *		proto_frame_free(&f);
 *		if (done) break;
 *	}
 *	ctl_close(c);
 *
 * Functions return 0 or a negative errno and never print, except
 * ctl_connect(), which explains a missing daemon or a refusal once on
 * stderr, because every subcommand would otherwise say it the same way.
 */
#ifndef SENSEON_CTL_CLIENT_H
#define SENSEON_CTL_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

struct ctl_conn;

/*
 * ctl_socket_path - the control socket from the configuration (-c) into
 * @buf.  Returns 0, or -EINVAL when the configuration cannot be read
 * (printed).
 */
int ctl_socket_path(char *buf, size_t size);

/*
 * ctl_connect - connect to the daemon's control socket (the configured
 * path, or $SENSEON_CONTROL_SOCKET when set, for tests) and read the
 * daemon's greeting, which says whether we were accepted.
 * Returns 0 and *@out, or -errno: -ENOENT/-ECONNREFUSED (not running),
 * -EACCES (refused: not root), -EPROTO (not a senseond socket).  The
 * reason is printed on stderr.
 */
int ctl_connect(struct ctl_conn **out);

/* ctl_try_connect - ctl_connect() that prints nothing (status falls back). */
int ctl_try_connect(struct ctl_conn **out);

/* ctl_connect_path - the same for an explicit socket path. */
int ctl_connect_path(const char *path, struct ctl_conn **out);

/* ctl_close - close the connection and free it (NULL is fine). */
void ctl_close(struct ctl_conn *c);

/* ctl_fd - the socket, for poll() in commands that also read stdin. */
int ctl_fd(const struct ctl_conn *c);

/*
 * ctl_request - send @req (steals it) with a fresh "id" added; the id is
 * stored in *@id when @id is not NULL.  Returns 0 or -errno.
 */
int ctl_request(struct ctl_conn *c, json_t *req);
int ctl_request_id(struct ctl_conn *c, json_t *req, json_int_t *id);

/*
 * ctl_read - the next frame from the daemon (blocking).  Returns 0,
 * -ENODATA when the daemon closed the connection, or a protocol.h error.
 * Free @f with proto_frame_free().
 */
int ctl_read(struct ctl_conn *c, struct proto_frame *f);

/* ctl_frame_done - true for the last reply to a request ("done": true). */
bool ctl_frame_done(const struct proto_frame *f);

/*
 * ctl_reply_error - NULL for an ok reply, else its "error" text (or
 * "failed" when the daemon gave none).  Points into @reply.
 */
const char *ctl_reply_error(const json_t *reply);

/*
 * ctl_call - send @req (steals it) and wait for its final reply, for
 * commands with exactly one answer.  Returns 0 and *@reply (the caller
 * decrefs; it may say "ok": false: see ctl_reply_error()) or -errno.
 */
int ctl_call(struct ctl_conn *c, json_t *req, json_t **reply);

/* ctl_send_data - one PROTO_DATA chunk (<= PROTO_MAX_PAYLOAD). 0/-errno. */
int ctl_send_data(struct ctl_conn *c, const void *buf, size_t len);

/* ctl_send_end - a PROTO_END frame; @summary may be NULL (steals it). */
int ctl_send_end(struct ctl_conn *c, json_t *summary);

/*
 * ctl_exit_code - the senseonctl exit status (commands.h CTL_EXIT_*) for
 * an error from this API.
 */
int ctl_exit_code(int err);

#endif
