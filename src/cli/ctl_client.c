/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_client - senseonctl's connection to the daemon's control socket.
 *
 * Overview: owns one struct ctl_conn per connection: the socket and the
 * next request id.  It knows frames (protocol.h) and the envelope of a
 * request ("id", "cmd") and of a reply ("done", "ok", "error"); it must
 * not know what any command means: that belongs to the cmd_*.c files.
 * Only ctl_connect() prints, so every subcommand explains an unreachable
 * or refusing daemon the same way.
 */
#include "ctl_client.h"
#include "commands.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct ctl_conn {
	int fd;
	json_int_t next_id;
};

int ctl_socket_path(char *buf, size_t size)
{
	struct sensor_config cfg;
	const char *env = getenv("SENSEON_CONTROL_SOCKET");

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return 0;
	}
	if (ctl_load_config(&cfg))
		return -EINVAL;
	snprintf(buf, size, "%s", cfg.control_socket);
	config_free(&cfg);
	return 0;
}

int ctl_fd(const struct ctl_conn *c)
{
	return c->fd;
}

void ctl_close(struct ctl_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The daemon speaks first: a hello, or a refusal before it hangs up. */
static int read_greeting(struct ctl_conn *c, const char *path, FILE *errfp)
{
	struct proto_frame f;
	const char *why;
	int err = proto_read_frame(c->fd, &f);

	if (err) {
		if (errfp)
			fprintf(errfp, "senseonctl: %s: no greeting from senseond: %s\n",
				path, strerror(-err));
		return err == -ENODATA ? -ECONNRESET : err;
	}
	err = 0;
	why = f.json ? ctl_reply_error(f.json) : "not a senseond control socket";
	if (why) {
		if (errfp)
			fprintf(errfp, "senseonctl: senseond refused the connection: %s\n", why);
		err = strstr(why, "permission denied") ? -EACCES : -ECONNREFUSED;
	}
	proto_frame_free(&f);
	return err;
}

/* Connect and read the greeting; explain a failure on @errfp if not NULL. */
static int connect_report(const char *path, struct ctl_conn **out, FILE *errfp)
{
	struct ctl_conn *c;
	int fd, err;

	fd = sock_connect(path);
	if (fd < 0 && errfp) {
		if (fd == -ENOENT || fd == -ECONNREFUSED)
			fprintf(errfp, "senseonctl: senseond is not running (%s: %s)\n",
				path, strerror(-fd));
		else
			fprintf(errfp, "senseonctl: cannot connect to %s: %s\n",
				path, strerror(-fd));
	}
	if (fd < 0)
		return fd;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->next_id = 1;
	err = read_greeting(c, path, errfp);
	if (err) {
		ctl_close(c);
		return err;
	}
	*out = c;
	return 0;
}

int ctl_connect_path(const char *path, struct ctl_conn **out)
{
	return connect_report(path, out, stderr);
}

int ctl_try_connect(struct ctl_conn **out)
{
	char path[4096];
	int err = ctl_socket_path(path, sizeof(path));

	if (err)
		return err;
	return connect_report(path, out, NULL);
}

int ctl_connect(struct ctl_conn **out)
{
	char path[4096];
	int err = ctl_socket_path(path, sizeof(path));

	if (err)
		return err;
	return ctl_connect_path(path, out);
}

int ctl_request_id(struct ctl_conn *c, json_t *req, json_int_t *id)
{
	json_int_t my = c->next_id++;
	int err;

	if (!req)
		return -ENOMEM;
	if (json_object_set_new(req, "id", json_integer(my))) {
		json_decref(req);
		return -ENOMEM;
	}
	err = proto_write_json(c->fd, req);
	json_decref(req);
	if (!err && id)
		*id = my;
	return err;
}

int ctl_request(struct ctl_conn *c, json_t *req)
{
	return ctl_request_id(c, req, NULL);
}

int ctl_read(struct ctl_conn *c, struct proto_frame *f)
{
	return proto_read_frame(c->fd, f);
}

bool ctl_frame_done(const struct proto_frame *f)
{
	return f->kind == PROTO_JSON && json_is_true(json_object_get(f->json, "done"));
}

const char *ctl_reply_error(const json_t *reply)
{
	const char *msg;
	json_t *ok = json_object_get(reply, "ok");

	if (!ok || json_is_true(ok))
		return NULL;
	msg = json_string_value(json_object_get(reply, "error"));
	return msg ? msg : "failed";
}

int ctl_call(struct ctl_conn *c, json_t *req, json_t **reply)
{
	struct proto_frame f;
	int err = ctl_request(c, req);

	while (!err) {
		err = ctl_read(c, &f);
		if (err)
			break;
		if (ctl_frame_done(&f)) {
			*reply = json_incref(f.json);
			proto_frame_free(&f);
			return 0;
		}
		/* single-answer commands have no intermediate frames to keep */
		proto_frame_free(&f);
	}
	return err;
}

int ctl_send_data(struct ctl_conn *c, const void *buf, size_t len)
{
	return proto_write_frame(c->fd, PROTO_DATA, buf, len);
}

int ctl_send_end(struct ctl_conn *c, json_t *summary)
{
	char *text = NULL;
	int err;

	if (summary) {
		text = json_dumps(summary, JSON_COMPACT);
		json_decref(summary);
		if (!text)
			return -ENOMEM;
	}
	err = proto_write_frame(c->fd, PROTO_END, text, text ? strlen(text) : 0);
	free(text);
	return err;
}

int ctl_exit_code(int err)
{
	switch (err) {
	case 0:
		return CTL_EXIT_OK;
	case -EINVAL:
		return CTL_EXIT_INVALID;
	case -ENOENT:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ENODATA:
	case -EPIPE:
	case -EACCES:
	case -EPERM:
		return CTL_EXIT_UNAVAILABLE;
	default:
		return CTL_EXIT_FAILURE;
	}
}
