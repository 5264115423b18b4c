/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform_cmds - the dispatcher commands the platform channel brought:
 * file.upload (send a file of the endpoint, from an offset), file.download
 * (receive a file into place, resumable, checked against its sha256) and
 * policy.update (validate, then atomically replace a policy file and
 * reload).  They are ordinary control commands: senseonctl can use them
 * too, and they audit with the requester as peer.
 *
 * Overview: owns nothing between requests; each handler owns its fds
 * until it returns.  It must not know the transport: it talks through
 * control_send_data()/control_recv_data() only.
 */
#include "platform_cmds.h"
#include "audit.h"
#include "control.h"
#include "filehash.h"
#include "log.h"
#include "policy.h"
#include "platform_proto.h"
#include "sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PART_SUFFIX	".senseon-part"

static json_t *peer_fields(struct control_conn *c)
{
	const struct control_peer *p = control_peer(c);

	return json_pack("{s:s, s:s?, s:s?, s:I}", "analyst", p->analyst, "via", p->via,
			 "session", p->session, "uid", (json_int_t)p->uid);
}

/* SHA-256 of the first @len bytes of @fd (all of it if @len < 0). */
static int hash_fd(int fd, off_t len, EVP_MD_CTX *ctx, unsigned char *buf, size_t cap)
{
	off_t off = 0;

	while (len < 0 || off < len) {
		size_t want = len < 0 || (off_t)cap < len - off ? cap : (size_t)(len - off);
		ssize_t n = pread(fd, buf, want, off);

		if (n < 0)
			return -errno;
		if (n == 0)
			return len < 0 ? 0 : -EIO;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	return 0;
}

static int cmd_file_upload(struct control_conn *c, const json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "path"));
	json_int_t offset = json_integer_value(json_object_get(req, "offset"));
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[32];
	char sha[65];
	unsigned char *buf = NULL;
	struct stat st;
	off_t off;
	int fd, err = 0;

	if (!path || path[0] != '/')
		return control_error(c, "file.upload: \"path\" must be an absolute path");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return control_error(c, "file.upload: %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || offset < 0 || offset > st.st_size) {
		close(fd);
		return control_error(c, "file.upload: %s: not a regular file, or offset "
				     "beyond its end", path);
	}
	buf = malloc(PPROTO_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	/* the digest covers the whole file, the part already sent too */
	if ((err = hash_fd(fd, (off_t)offset, ctx, buf, PPROTO_CHUNK)))
		goto out;
	for (off = (off_t)offset;;) {
		ssize_t n = pread(fd, buf, PPROTO_CHUNK, off);

		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if ((err = control_send_data(c, buf, (size_t)n)))
			goto out;
		off += n;
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	filehash_hex(md, sha);
	err = control_send_end(c, json_pack("{s:I, s:s}", "size", (json_int_t)off,
					    "sha256", sha));
	if (err)
		goto out;
	audit_append("file.upload", json_pack("{s:s, s:I, s:I, s:s, s:o}", "path", path,
			"offset", offset, "size", (json_int_t)off, "sha256", sha,
			"peer", peer_fields(c)));
	err = control_reply(c, json_pack("{s:s, s:I, s:s, s:I}", "path", path, "size",
					 (json_int_t)off, "sha256", sha, "offset", offset), 1);
out:
	if (err && err != -EPIPE)
		err = control_error(c, "file.upload: %s: %s", path, strerror(-err));
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(fd);
	return err;
}

/* Receive the rest of the stream into @fd; the bytes written or -errno. */
static off_t receive_into(struct control_conn *c, int fd, off_t off, unsigned char *buf)
{
	for (;;) {
		ssize_t n = control_recv_data(c, buf, PPROTO_CHUNK);

		if (n < 0)
			return n;
		if (n == 0)
			return off;
		if (pwrite(fd, buf, (size_t)n, off) != n)
			return errno ? -errno : -EIO;
		off += n;
	}
}

static int download_finish(struct control_conn *c, int fd, const char *part,
			   const char *path, const char *want_sha, json_int_t want_size,
			   bool overwrite, unsigned char *buf, off_t size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char sha[65];
	int err;

	if (!ctx)
		return -ENOMEM;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	err = hash_fd(fd, -1, ctx, buf, PPROTO_CHUNK);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (err)
		return err;
	filehash_hex(md, sha);
	if (size != (off_t)want_size || strcasecmp(sha, want_sha) != 0) {
		unlink(part);
		return control_error(c, "file.download: %s: got %lld bytes with sha256 %s, "
				     "expected %lld bytes with sha256 %s: discarded", path,
				     (long long)size, sha, (long long)want_size, want_sha);
	}
	if (fsync(fd))
		return -errno;
	if (!overwrite && access(path, F_OK) == 0)
		return control_error(c, "file.download: %s exists (set \"overwrite\")", path);
	if (rename(part, path))
		return -errno;
	audit_append("file.download", json_pack("{s:s, s:I, s:s, s:o}", "path", path,
			"size", (json_int_t)size, "sha256", sha, "peer", peer_fields(c)));
	return control_reply(c, json_pack("{s:s, s:I, s:s}", "path", path, "size",
					  (json_int_t)size, "sha256", sha), 1);
}

static int cmd_file_download(struct control_conn *c, const json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "path"));
	const char *sha = json_string_value(json_object_get(req, "sha256"));
	json_t *jsize = json_object_get(req, "size");
	json_int_t offset = json_integer_value(json_object_get(req, "offset"));
	json_t *jmode = json_object_get(req, "mode");
	mode_t mode = json_is_integer(jmode) ? (mode_t)(json_integer_value(jmode) & 07777) : 0600;
	bool overwrite = json_is_true(json_object_get(req, "overwrite"));
	char part[4096];
	unsigned char *buf;
	struct stat st;
	off_t got;
	int fd, err;

	if (!path || path[0] != '/' || !sha || strlen(sha) != 64 || !json_is_integer(jsize) ||
	    json_integer_value(jsize) < 0 || offset < 0)
		return control_error(c, "file.download: needs an absolute \"path\", \"size\" "
				     "and \"sha256\" (64 hex digits)");
	if (snprintf(part, sizeof(part), "%s%s", path, PART_SUFFIX) >= (int)sizeof(part))
		return control_error(c, "file.download: path too long");
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return control_error(c, "file.download: %s: %s", part, strerror(errno));
	if (fstat(fd, &st) || (offset == 0 && ftruncate(fd, 0))) {
		err = -errno;
		goto out_fd;
	}
	if (offset && offset != st.st_size) {
		close(fd);
		return control_reply(c, json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
			"file.download: offset does not match what the sensor has", "have",
			(json_int_t)st.st_size), 1);
	}
	buf = malloc(PPROTO_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out_fd;
	}
	got = receive_into(c, fd, (off_t)offset, buf);
	if (got < 0) {
		/* keep the part: the platform resumes from "have" */
		err = (int)got;
		if (err != -EPIPE)
			err = control_reply(c, json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
				strerror(-err), "have", (json_int_t)lseek(fd, 0, SEEK_END)), 1);
		else
			control_reply(c, json_pack("{s:b, s:s, s:I}", "ok", 0, "error",
				"the platform went away during the transfer", "have",
				(json_int_t)lseek(fd, 0, SEEK_END)), 1);
	} else {
		err = download_finish(c, fd, part, path, sha, json_integer_value(jsize),
				      overwrite, buf, got);
	}
	free(buf);
out_fd:
	close(fd);
	return err;
}

static bool policy_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 5 && n < 200 && !strchr(name, '/') && name[0] != '.' &&
	       strcmp(name + n - 5, ".yaml") == 0;
}

/* The parser names the temporary file: say FILE:LINE:COL of the real one. */
static void name_error(char *err, size_t len, const char *tmp, const char *path)
{
	size_t n = strlen(tmp), plen = strlen(path), rest;

	if (strncmp(err, tmp, n) != 0)
		return;
	rest = strlen(err + n);
	if (plen + rest >= len)
		return;
	memmove(err + plen, err + n, rest + 1);
	memcpy(err, path, plen);
}

static int cmd_policy_update(struct control_conn *c, const json_t *req)
{
	struct sensor *s = control_sensor(c);
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *content = json_string_value(json_object_get(req, "content"));
	char tmp[4096], path[4096], err[1024];
	struct policy_set *ps;
	size_t len;
	int fd;

	if (!policy_name_ok(name) || !content)
		return control_error(c, "policy.update: needs \"name\" (NAME.yaml) and \"content\"");
	snprintf(path, sizeof(path), "%s/%s", s->cfg.policy_dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->cfg.policy_dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return control_error(c, "policy.update: %s: %s", tmp, strerror(errno));
	len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len || fsync(fd)) {
		close(fd);
		unlink(tmp);
		return control_error(c, "policy.update: cannot write %s", tmp);
	}
	close(fd);
	/* validated as the daemon will load it, before it replaces anything */
	ps = policy_set_load_file(tmp, err, sizeof(err));
	if (!ps) {
		unlink(tmp);
		name_error(err, sizeof(err), tmp, path);
		audit_append("policy.update", json_pack("{s:s, s:s, s:s, s:o}", "name", name,
				"result", "invalid", "error", err, "peer", peer_fields(c)));
		return control_error(c, "policy.update: %s is invalid: %s", name, err);
	}
	policy_set_put(ps);
	if (rename(tmp, path)) {
		unlink(tmp);
		return control_error(c, "policy.update: rename to %s: %s", path, strerror(errno));
	}
	audit_append("policy.update", json_pack("{s:s, s:s, s:o}", "name", name, "result",
						"applied", "peer", peer_fields(c)));
	/* the main loop reloads on SIGHUP, as after an edit by hand */
	kill(getpid(), SIGHUP);
	return control_reply(c, json_pack("{s:s, s:b}", "name", name, "reloading", 1), 1);
}

int platform_cmds_init(void)
{
	int err;

	if ((err = control_register("file.upload", cmd_file_upload)) ||
	    (err = control_register("file.download", cmd_file_download)) ||
	    (err = control_register("policy.update", cmd_policy_update)))
		return err;
	return 0;
}
