/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_run - `senseonctl run SCRIPT [ARGS...]`: run an analyst script on
 * this host through the daemon and stream its output.
 *
 * Overview: owns one script run's client side: the "script.run" request,
 * the files put with it (--put NAME=FILE, sent as data right after the
 * request), the streamed stdout/stderr, the files the script uploads
 * (saved under -o DIR, sha256 checked against the daemon's) and the exit
 * status, which becomes senseonctl's.  `upload` and `download`
 * (cmd_transfer.c) are this same run with a built-in script.
 */
#include "commands.h"
#include "ctl_client.h"
#include "ctl_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One file the script is uploading to us. */
struct incoming {
	int fd;
	char tmp[PATH_MAX + 16], path[PATH_MAX];
	long long size, got;
	struct ctl_sha256 *md;
	double last_bar;
};

static int sha256_file(const char *path, long long *size, char hex[65])
{
	unsigned char buf[1 << 16];
	struct ctl_sha256 *h;
	ssize_t n;
	int err, fd = open(path, O_RDONLY | O_CLOEXEC);

	*size = 0;
	if (fd < 0)
		return -errno;
	err = ctl_sha256_new(&h);
	if (err) {
		close(fd);
		return err;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ctl_sha256_update(h, buf, (size_t)n);
		*size += n;
	}
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err) {
		ctl_sha256_free(h);
		return err;
	}
	return ctl_sha256_final(h, hex);
}

/* Why a hash could not be made, for a message. */
static const char *hash_error(int err)
{
	return err == -ENOSYS ? ctl_crypto_error() : strerror(-err);
}

static json_t *build_request(const struct ctl_run_opts *o)
{
	json_t *req = json_pack("{s:s, s:[]}", "cmd", "script.run", "args");
	json_t *files = json_array();

	if (!req || !files)
		return NULL;
	if (o->code)
		json_object_set_new(req, "code", json_string(o->code));
	json_object_set_new(req, "name", json_string(o->name));
	for (int i = 0; i < o->nargs; i++)
		json_array_append_new(json_object_get(req, "args"), json_string(o->args[i]));
	if (o->timeout > 0)
		json_object_set_new(req, "timeout", json_real(o->timeout));
	if (o->memory > 0)
		json_object_set_new(req, "limits", json_pack("{s:I}", "memory",
							     (json_int_t)o->memory));
	for (int i = 0; i < o->nputs; i++) {
		char hex[65];
		long long size;
		int err = sha256_file(o->puts[i].path, &size, hex);

		if (err) {
			fprintf(stderr, "senseonctl: %s: %s\n", o->puts[i].path, hash_error(err));
			json_decref(files);
			json_decref(req);
			return NULL;
		}
		json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", o->puts[i].name,
						       "size", (json_int_t)size, "sha256", hex));
	}
	json_object_set_new(req, "files", files);
	return req;
}

static int send_puts(struct ctl_conn *c, const struct ctl_run_opts *o)
{
	unsigned char *buf = malloc(PROTO_DATA_CHUNK);
	int err = buf ? 0 : -ENOMEM;

	for (int i = 0; !err && i < o->nputs; i++) {
		int fd = open(o->puts[i].path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0) {
			err = -errno;
			break;
		}
		while (!err && (n = read(fd, buf, PROTO_DATA_CHUNK)) > 0)
			err = ctl_send_data(c, buf, (size_t)n);
		close(fd);
		if (!err)
			err = ctl_send_end(c, NULL);
	}
	free(buf);
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(struct incoming *in, bool final)
{
	double t = now_s();
	int pct;

	if (!isatty(STDERR_FILENO) || (!final && t - in->last_bar < 0.2) || in->size <= 0)
		return;
	in->last_bar = t;
	pct = (int)(in->got * 100 / in->size);
	fprintf(stderr, "\r%-40.40s [%-30.*s] %3d%% %lld MiB%s", strrchr(in->path, '/') + 1,
		pct * 30 / 100, "##############################", pct, in->got >> 20,
		final ? "\n" : "");
}

static int incoming_open(struct incoming *in, const json_t *up, const char *outdir)
{
	const char *name = json_string_value(json_object_get(up, "name"));
	char base[NAME_MAX + 1];
	int err;

	snprintf(base, sizeof(base), "%s", name && name[0] && name[0] != '.' ? name : "upload");
	for (char *p = base; *p; p++)
		if (*p == '/')
			*p = '_';
	in->size = json_integer_value(json_object_get(up, "size"));
	in->got = 0;
	in->last_bar = 0;
	/* Never overwrite: name, name.1, name.2 ... */
	snprintf(in->path, sizeof(in->path), "%s/%s", outdir, base);
	for (int i = 1; access(in->path, F_OK) == 0 && i < 1000; i++)
		snprintf(in->path, sizeof(in->path), "%s/%s.%d", outdir, base, i);
	snprintf(in->tmp, sizeof(in->tmp), "%s.partial", in->path);
	in->fd = open(in->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in->fd < 0) {
		fprintf(stderr, "senseonctl: %s: %s\n", in->tmp, strerror(errno));
		return -errno;
	}
	/*
	 * Each data frame's payload is malloc'd by the reader and freed by
	 * the hashing thread.  Above the mmap threshold that is an mmap and
	 * munmap per frame, and 256 page faults per MiB: keep them on the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 4 * PROTO_MAX_PAYLOAD);
	mallopt(M_TRIM_THRESHOLD, 16 * PROTO_MAX_PAYLOAD);
	err = ctl_sha256_new(&in->md);
	if (!err)
		err = ctl_sha256_background(in->md);
	if (err) {
		ctl_sha256_free(in->md);
		in->md = NULL;
		fprintf(stderr, "senseonctl: cannot verify %s: %s\n", in->path, hash_error(err));
		close(in->fd);
		unlink(in->tmp);
		in->fd = -1;
		return err;
	}
	return 0;
}

/* Written here, then hashed on the hash's own thread, which frees it. */
static int incoming_data(struct incoming *in, struct proto_frame *f)
{
	if (in->fd < 0)
		return 0;	/* an upload we could not open: drop its data */
	if (write(in->fd, f->payload, f->len) != (ssize_t)f->len) {
		fprintf(stderr, "senseonctl: %s: %s\n", in->tmp, strerror(errno));
		return -EIO;
	}
	in->got += f->len;
	ctl_sha256_give(in->md, f->payload, f->len);
	f->payload = NULL;
	progress(in, false);
	return 0;
}

/* The end of an upload: check what we got against the daemon's summary. */
static int incoming_end(struct incoming *in, const json_t *sum)
{
	const char *sha = json_string_value(json_object_get(sum, "sha256"));
	char hex[65] = "";
	int err;

	if (in->fd < 0)
		return -EIO;
	err = ctl_sha256_final(in->md, hex);
	in->md = NULL;
	if ((fsync(in->fd) || close(in->fd)) && !err)
		err = -errno;
	in->fd = -1;
	progress(in, true);
	if (!err && (!sha || strcmp(sha, hex) ||
		     in->got != json_integer_value(json_object_get(sum, "size")))) {
		fprintf(stderr, "senseonctl: upload %s: received %lld bytes sha256 %s, the "
			"sensor sent %lld bytes sha256 %s: discarded\n", in->path, in->got, hex,
			(long long)json_integer_value(json_object_get(sum, "size")),
			sha ? sha : "?");
		err = -EBADMSG;
	}
	if (err || rename(in->tmp, in->path)) {
		unlink(in->tmp);
		return err ? err : -errno;
	}
	if (!ctl_opts.json)
		fprintf(stderr, "senseonctl: saved %s (%lld bytes, sha256 %s)\n", in->path,
			in->got, hex);
	return 0;
}

static void write_stream(const json_t *msg)
{
	const char *stream = json_string_value(json_object_get(msg, "stream"));
	const char *b64 = json_string_value(json_object_get(msg, "data_b64"));
	const char *data = json_string_value(json_object_get(msg, "data"));
	FILE *fp = stream && !strcmp(stream, "stderr") ? stderr : stdout;
	unsigned char *raw = NULL;
	long n;

	if (b64 && (n = ctl_base64_decode(b64, &raw)) >= 0) {
		fwrite(raw, 1, (size_t)n, fp);
		free(raw);
	} else if (data) {
		fwrite(data, 1, json_string_length(json_object_get(msg, "data")), fp);
	}
	fflush(fp);
}

static int final_status(const json_t *res, bool quiet)
{
	const char *err = ctl_reply_error(res);
	json_int_t code = json_integer_value(json_object_get(res, "exit"));
	json_t *sig = json_object_get(res, "signal");

	if (err) {
		fprintf(stderr, "senseonctl: run refused: %s\n", err);
		return CTL_EXIT_FAILURE;
	}
	if (ctl_opts.json || quiet)
		return (int)code;
	if (json_is_true(json_object_get(res, "timedOut")))
		fprintf(stderr, "senseonctl: the script timed out and was killed\n");
	if (json_is_true(json_object_get(res, "truncated")))
		fprintf(stderr, "senseonctl: output truncated at the size limit\n");
	if (json_is_integer(sig))
		fprintf(stderr, "senseonctl: the script was killed by signal %s\n",
			json_string_value(json_object_get(res, "signalName")) ?: "?");
	return (int)code;
}

/* Dispatch one frame; returns 1 on the final reply, <0 on error. */
static int on_frame(struct incoming *in, struct proto_frame *f,
		    const struct ctl_run_opts *o, int *status)
{
	json_t *up;

	if (f->kind == PROTO_DATA)
		return incoming_data(in, f);
	if (f->kind == PROTO_END)
		return incoming_end(in, f->json);
	if (ctl_opts.json && !json_object_get(f->json, "upload")) {
		json_dumpf(f->json, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
	}
	if (ctl_frame_done(f)) {
		*status = final_status(f->json, o->quiet);
		return 1;
	}
	up = json_object_get(f->json, "upload");
	if (up)
		return incoming_open(in, up, o->outdir ? o->outdir : ".");
	if (json_object_get(f->json, "stream") && !ctl_opts.json)
		write_stream(f->json);
	return 0;
}

int ctl_run_script(const struct ctl_run_opts *o)
{
	struct incoming in = { .fd = -1 };
	struct proto_frame f = { 0 };
	struct ctl_conn *c;
	int err, status = CTL_EXIT_FAILURE, rc;
	json_t *req = build_request(o);

	if (!req)
		return CTL_EXIT_FAILURE;
	err = ctl_connect(&c);
	if (err) {
		json_decref(req);
		return ctl_exit_code(err);
	}
	err = ctl_request(c, req);
	if (!err)
		err = send_puts(c, o);
	while (!err && !(err = ctl_read(c, &f))) {
		rc = on_frame(&in, &f, o, &status);
		proto_frame_free(&f);
		if (rc)
			break;
	}
	if (in.fd >= 0) {
		close(in.fd);
		unlink(in.tmp);
	}
	ctl_sha256_free(in.md);
	ctl_close(c);
	if (err) {
		fprintf(stderr, "senseonctl: lost the daemon during the run: %s\n", strerror(-err));
		return ctl_exit_code(err);
	}
	return status;
}

static int usage(FILE *fp, int rc)
{
	fprintf(fp,
		"Usage: senseonctl run [OPTIONS] SCRIPT [--] [ARGS...]\n"
		"Run a Python script on this host through senseond, as root, in its own\n"
		"worker process; stream its output and exit with its status.\n"
		"SCRIPT is a local file, or the name of a shipped script (triage, collect,\n"
		"killtree, quarantine, isolation).\n\n"
		"  -t, --timeout S       kill the script after S seconds (default 60)\n"
		"  -p, --put NAME=FILE   send FILE along; the script gets it with\n"
		"                        senseon.download(NAME, DEST)\n"
		"  -o, --output DIR      where files the script uploads are saved (default .)\n"
		"  -m, --memory BYTES    memory limit (default 1 GiB)\n");
	return rc;
}

static int read_code(const char *path, char **code)
{
	struct stat st;
	FILE *fp = fopen(path, "re");
	size_t n;

	if (!fp)
		return -errno;
	if (fstat(fileno(fp), &st) || st.st_size > (4 << 20)) {
		fclose(fp);
		return -EFBIG;
	}
	*code = calloc(1, (size_t)st.st_size + 1);
	n = *code ? fread(*code, 1, (size_t)st.st_size, fp) : 0;
	fclose(fp);
	return *code && n == (size_t)st.st_size ? 0 : -EIO;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "put", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "memory", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_run_opts o = { 0 };
	char *code = NULL, *eq;
	int c, rc, err;

	while ((c = getopt_long(argc, argv, "t:p:o:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.timeout = strtod(optarg, NULL);
			if (o.timeout <= 0)
				return usage(stderr, CTL_EXIT_USAGE);
			break;
		case 'p':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg || o.nputs == CTL_RUN_MAX_PUTS)
				return usage(stderr, CTL_EXIT_USAGE);
			*eq = '\0';
			o.puts[o.nputs].name = optarg;
			o.puts[o.nputs++].path = eq + 1;
			break;
		case 'o': o.outdir = optarg; break;
		case 'm': o.memory = strtoll(optarg, NULL, 0); break;
		case 'h': return usage(stdout, CTL_EXIT_OK);
		default: return usage(stderr, CTL_EXIT_USAGE);
		}
	}
	if (optind >= argc)
		return usage(stderr, CTL_EXIT_USAGE);
	o.name = argv[optind];
	/* A local file wins; a bare name is a shipped script. */
	if (strchr(o.name, '/') || access(o.name, F_OK) == 0) {
		err = read_code(o.name, &code);
		if (err) {
			fprintf(stderr, "senseonctl: %s: %s\n", o.name, strerror(-err));
			return CTL_EXIT_INVALID;
		}
		o.code = code;
		o.name = strrchr(o.name, '/') ? strrchr(o.name, '/') + 1 : o.name;
	}
	o.args = argv + optind + 1;
	o.nargs = argc - optind - 1;
	/* getopt moves options out of SCRIPT's way but leaves a "--" that
	 * came after SCRIPT: it only ended our options. */
	if (o.nargs > 0 && strcmp(o.args[0], "--") == 0) {
		o.args++;
		o.nargs--;
	}
	rc = ctl_run_script(&o);
	free(code);
	return rc;
}
