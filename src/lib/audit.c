/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit - the hash-chained audit log (LOG_DIR/audit.jsonl).
 *
 * Overview: owns the one open audit file of the process (its fd, the
 * directory fd, the last seq and hash of the chain) behind a mutex; no
 * other code writes that file.  It does not own the records' meaning:
 * callers (the daemon's pipeline, control socket, script manager) choose
 * the type and fields, and log errors themselves; this file never prints.
 * The daemon hands each record's hash to its logger through the notify
 * hook, so the chain has a copy off the file (syslog/journald).
 *
 * Durability: a record is written with one write(2) on an O_APPEND fd
 * while `lock` is held (so lines never interleave and seq/prev follow the
 * file order), then made durable by fdatasync(2) under `sync_lock`.  One
 * fdatasync covers every record written before it started, so threads
 * that append at the same time wait for one disk flush, not one each
 * (group commit).  Lock order: sync_lock, then lock.
 *
 * Verification (audit_verify) needs no state: it reads the files given.
 */
#include "audit.h"
#include "filehash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZERO_HASH	"0000000000000000000000000000000000000000000000000000000000000000"
#define TAIL_CHUNK	65536
#define ROTATED_PREFIX	AUDIT_FILE "."

static struct {
	pthread_mutex_t lock;		/* fd, seq, last_hash, written, broken */
	pthread_mutex_t sync_lock;	/* synced; held across fdatasync */
	int fd;
	int dirfd;
	uint64_t seq;
	char last_hash[AUDIT_HASH_HEX_LEN + 1];
	uint64_t written;	/* records written (tickets handed out) */
	uint64_t synced;	/* records known durable */
	int broken;		/* 0, or the -errno that broke the log */
	audit_notify_fn notify;
} A = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sync_lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.dirfd = -1,
};

static const char *const reserved[] = { "seq", "time", "type", "prev", "hash" };

/* --- hashing --- */

int audit_record_hash(const json_t *rec, char out[AUDIT_HASH_HEX_LEN + 1])
{
	json_t *copy;
	char *canon;
	int rc;

	if (!json_is_object(rec))
		return -EINVAL;
	copy = json_copy((json_t *)rec);
	if (!copy)
		return -ENOMEM;
	json_object_del(copy, "hash");
	canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (!canon)
		return -ENOMEM;
	rc = filehash_buf(canon, strlen(canon), out);
	free(canon);
	return rc;
}

/* --- building a record --- */

static void rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

/*
 * The record for @type/@fields as the next link of the chain, serialized
 * with its trailing newline.  The fixed keys come first so a human reads
 * the line in a useful order; the hash does not depend on that order.
 */
static char *build_line(const char *type, json_t *fields, uint64_t seq, const char *prev,
			char hash[AUDIT_HASH_HEX_LEN + 1])
{
	char now[64], *line = NULL;
	json_t *rec = json_object();
	const char *key;
	json_t *val;
	size_t len;

	if (!rec)
		return NULL;
	rfc3339_now(now, sizeof(now));
	if (json_object_set_new(rec, "seq", json_integer((json_int_t)seq)) ||
	    json_object_set_new(rec, "time", json_string(now)) ||
	    json_object_set_new(rec, "type", json_string(type)) ||
	    json_object_set_new(rec, "prev", json_string(prev)))
		goto out;
	json_object_foreach(fields, key, val) {
		bool skip = false;

		for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			skip |= strcmp(key, reserved[i]) == 0;
		if (!skip && json_object_set(rec, key, val))
			goto out;
	}
	if (audit_record_hash(rec, hash) ||
	    json_object_set_new(rec, "hash", json_string(hash)))
		goto out;
	line = json_dumps(rec, JSON_COMPACT);
	if (!line)
		goto out;
	len = strlen(line);
	/* room for the newline: json_dumps gives exactly len + 1 bytes */
	line = realloc(line, len + 2);
	if (line) {
		line[len] = '\n';
		line[len + 1] = '\0';
	}
out:
	json_decref(rec);
	return line;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* A short write (ENOSPC on the way) leaves a torn line that
		 * the rest completes; still one record, still in order. */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Caller holds A.lock.  Writes the next record; *ticket identifies it. */
static int append_locked(const char *type, json_t *fields, uint64_t *ticket,
			 char hash[AUDIT_HASH_HEX_LEN + 1], uint64_t *seq)
{
	char *line;
	int rc;

	if (A.fd < 0)
		return -ENOTCONN;
	if (A.broken)
		return -EIO;
	line = build_line(type, fields, A.seq + 1, A.last_hash, hash);
	if (!line)
		return -ENOMEM;
	rc = write_all(A.fd, line, strlen(line));
	free(line);
	if (rc) {
		A.broken = rc;
		return rc;
	}
	A.seq++;
	memcpy(A.last_hash, hash, sizeof(A.last_hash));
	*seq = A.seq;
	*ticket = ++A.written;
	return 0;
}

/* Caller holds A.sync_lock (and not A.lock). */
static int sync_upto(uint64_t ticket)
{
	uint64_t target;
	int fd, rc = 0;

	if (A.synced >= ticket)
		return 0;
	pthread_mutex_lock(&A.lock);
	target = A.written;
	fd = A.fd;
	rc = A.broken;
	pthread_mutex_unlock(&A.lock);
	if (rc)
		return -EIO;
	/* fd stays open: closing it needs sync_lock, which we hold */
	if (fdatasync(fd)) {
		rc = -errno;
		pthread_mutex_lock(&A.lock);
		A.broken = rc;
		pthread_mutex_unlock(&A.lock);
		return rc;
	}
	A.synced = target;
	return 0;
}

/* Append one record; with @sync, return only once it is on disk. */
static int append_record(const char *type, json_t *fields, bool sync)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	uint64_t ticket = 0, seq = 0;
	audit_notify_fn notify;
	int rc;

	if (!type || !*type || (fields && !json_is_object(fields))) {
		json_decref(fields);
		return -EINVAL;
	}
	pthread_mutex_lock(&A.lock);
	rc = append_locked(type, fields, &ticket, hash, &seq);
	notify = A.notify;
	pthread_mutex_unlock(&A.lock);
	json_decref(fields);
	if (rc)
		return rc;
	if (sync) {
		pthread_mutex_lock(&A.sync_lock);
		rc = sync_upto(ticket);
		pthread_mutex_unlock(&A.sync_lock);
	}
	if (rc == 0 && notify)
		notify(seq, type, hash);
	return rc;
}

int audit_append(const char *type, json_t *fields)
{
	return append_record(type, fields, true);
}

int audit_append_deferred(const char *type, json_t *fields)
{
	return append_record(type, fields, false);
}

int audit_flush(void)
{
	uint64_t ticket;
	int rc;

	pthread_mutex_lock(&A.lock);
	ticket = A.written;
	rc = A.fd < 0 ? -ENOTCONN : 0;
	pthread_mutex_unlock(&A.lock);
	if (rc)
		return rc;
	pthread_mutex_lock(&A.sync_lock);
	rc = sync_upto(ticket);
	pthread_mutex_unlock(&A.sync_lock);
	return rc;
}

void audit_set_notify(audit_notify_fn fn)
{
	pthread_mutex_lock(&A.lock);
	A.notify = fn;
	pthread_mutex_unlock(&A.lock);
}

/* --- reading the tail of a file --- */

/* Offset of the last '\n' before @end in @fd, or -1 if there is none. */
static off_t last_newline(int fd, off_t end)
{
	char buf[TAIL_CHUNK];

	while (end > 0) {
		off_t start = end > TAIL_CHUNK ? end - TAIL_CHUNK : 0;
		ssize_t n = pread(fd, buf, (size_t)(end - start), start);

		if (n <= 0)
			return -1;
		for (ssize_t i = n - 1; i >= 0; i--)
			if (buf[i] == '\n')
				return start + i;
		end = start;
	}
	return -1;
}

struct tail {
	uint64_t seq;
	char hash[AUDIT_HASH_HEX_LEN + 1];
	bool have_record;
	off_t torn_off;		/* where an unterminated last line starts */
	size_t torn_len;	/* 0: the file ends with a newline */
	char torn_sha[AUDIT_HASH_HEX_LEN + 1];
};

static int parse_link(const char *buf, size_t len, struct tail *t)
{
	json_t *rec = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *seq = json_object_get(rec, "seq");
	const char *hash = json_string_value(json_object_get(rec, "hash"));
	int rc = -EBADMSG;

	if (json_is_integer(seq) && json_integer_value(seq) > 0 &&
	    hash && strlen(hash) == AUDIT_HASH_HEX_LEN) {
		t->seq = (uint64_t)json_integer_value(seq);
		memcpy(t->hash, hash, sizeof(t->hash));
		t->have_record = true;
		rc = 0;
	}
	json_decref(rec);
	return rc;
}

static int read_range(int fd, off_t off, size_t len, char **out)
{
	char *buf = malloc(len + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, len, off);
	if (n < 0 || (size_t)n != len) {
		free(buf);
		return n < 0 ? -errno : -EIO;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* The last complete record of @fd and any torn bytes after it. */
static int read_tail(int fd, struct tail *t)
{
	struct stat st;
	off_t nl, start;
	char *buf;
	int rc;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st))
		return -errno;
	if (st.st_size == 0)
		return 0;
	nl = last_newline(fd, st.st_size);
	if (nl + 1 < st.st_size) {
		t->torn_off = nl + 1;
		t->torn_len = (size_t)(st.st_size - t->torn_off);
		rc = read_range(fd, t->torn_off, t->torn_len, &buf);
		if (rc)
			return rc;
		rc = filehash_buf(buf, t->torn_len, t->torn_sha);
		free(buf);
		if (rc)
			return rc;
	}
	if (nl < 0)
		return 0;	/* nothing but a torn line */
	start = last_newline(fd, nl) + 1;
	rc = read_range(fd, start, (size_t)(nl - start), &buf);
	if (rc)
		return rc;
	rc = parse_link(buf, (size_t)(nl - start), t);
	free(buf);
	return rc;
}

static int tail_of_path(int dirfd, const char *name, struct tail *t)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0)
		return -errno;
	rc = read_tail(fd, t);
	close(fd);
	return rc;
}

/* --- listing the files of a log directory --- */

static bool is_audit_name(const char *name)
{
	static const char *const packed[] = { ".gz", ".xz", ".bz2", ".zst", ".tmp" };
	size_t len = strlen(name);

	if (strcmp(name, AUDIT_FILE) == 0)
		return true;
	if (strncmp(name, ROTATED_PREFIX, strlen(ROTATED_PREFIX)) ||
	    len == strlen(ROTATED_PREFIX))
		return false;
	for (size_t i = 0; i < sizeof(packed) / sizeof(packed[0]); i++) {
		size_t n = strlen(packed[i]);

		if (len > n && strcmp(name + len - n, packed[i]) == 0)
			return false;
	}
	return true;
}

struct listed {
	char *path;
	uint64_t first_seq;
	bool current;
};

static uint64_t first_seq_of(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	uint64_t seq = UINT64_MAX;
	ssize_t n;

	if (!fp)
		return seq;
	n = getline(&line, &cap, fp);
	if (n > 0) {
		json_t *rec = json_loadb(line, (size_t)n, 0, NULL);
		json_t *js = json_object_get(rec, "seq");

		if (json_is_integer(js) && json_integer_value(js) > 0)
			seq = (uint64_t)json_integer_value(js);
		json_decref(rec);
	}
	free(line);
	fclose(fp);
	return seq;
}

static int cmp_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->current != y->current)
		return x->current ? 1 : -1;
	if (x->first_seq != y->first_seq)
		return x->first_seq < y->first_seq ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int collect(DIR *d, const char *log_dir, struct listed **out, size_t *count)
{
	struct listed *v = NULL;
	struct dirent *de;
	size_t n = 0;

	while ((de = readdir(d))) {
		struct listed *nv;
		char *path;

		if (!is_audit_name(de->d_name))
			continue;
		if (asprintf(&path, "%s/%s", log_dir, de->d_name) < 0)
			goto nomem;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(path);
			goto nomem;
		}
		v = nv;
		v[n].path = path;
		v[n].current = strcmp(de->d_name, AUDIT_FILE) == 0;
		v[n].first_seq = v[n].current ? 0 : first_seq_of(path);
		n++;
	}
	*out = v;
	*count = n;
	return 0;
nomem:
	while (n--)
		free(v[n].path);
	free(v);
	return -ENOMEM;
}

int audit_list_files(const char *log_dir, char ***files)
{
	struct listed *v = NULL;
	size_t n = 0;
	char **res;
	DIR *d = opendir(log_dir);
	int rc;

	if (!d)
		return -errno;
	rc = collect(d, log_dir, &v, &n);
	closedir(d);
	if (rc)
		return rc;
	if (n > 1)	/* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), cmp_listed);
	res = calloc(n + 1, sizeof(*res));
	if (!res) {
		while (n--)
			free(v[n].path);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		res[i] = v[i].path;
	free(v);
	*files = res;
	return (int)n;
}

void audit_free_list(char **files)
{
	if (!files)
		return;
	for (char **f = files; *f; f++)
		free(*f);
	free(files);
}

/* --- opening, recovery, rotation --- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The chain of an empty new file continues from the newest rotated one. */
static int tail_of_newest_rotated(const char *log_dir, struct tail *t, char *name, size_t size)
{
	char **files = NULL;
	int n = audit_list_files(log_dir, &files), rc = 0;

	memset(t, 0, sizeof(*t));
	if (n < 0)
		return n;
	for (int i = n - 1; i >= 0; i--) {
		const char *b = base_name(files[i]);

		if (strcmp(b, AUDIT_FILE) == 0)
			continue;
		rc = tail_of_path(A.dirfd, b, t);
		snprintf(name, size, "%s", b);
		break;
	}
	audit_free_list(files);
	return rc;
}

/* O_RDWR: audit_open reads the tail back to pick the chain up. */
static int open_current(void)
{
	int fd = openat(A.dirfd, AUDIT_FILE,
			O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	/* the file's name must survive a crash as well as its records */
	if (fsync(A.dirfd)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Caller holds both locks.  Appends and syncs one record. */
static int append_sync_locked(const char *type, json_t *fields)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	uint64_t ticket, seq;
	int rc = append_locked(type, fields, &ticket, hash, &seq);

	json_decref(fields);
	if (rc)
		return rc;
	if (fdatasync(A.fd)) {
		A.broken = -errno;
		return A.broken;
	}
	A.synced = A.written;
	return 0;
}

static int recover_torn(const struct tail *t)
{
	int rc = write_all(A.fd, "\n", 1);

	if (rc)
		return rc;
	return append_sync_locked("audit.recovered",
				  json_pack("{s:I, s:I, s:s, s:s}",
					    "tornOffset", (json_int_t)t->torn_off,
					    "tornBytes", (json_int_t)t->torn_len,
					    "tornSha256", t->torn_sha,
					    "reason", "the last line was cut (crash mid-write)"));
}

static int pick_up_chain(const char *log_dir)
{
	char prev_name[256] = "";
	struct tail t;
	int rc = read_tail(A.fd, &t);

	if (rc)
		return rc;
	if (!t.have_record) {
		/* a new file (maybe torn at its first record) after rotation */
		struct tail r;

		rc = tail_of_newest_rotated(log_dir, &r, prev_name, sizeof(prev_name));
		if (rc)
			return rc;
		t.have_record = r.have_record;
		t.seq = r.seq;
		memcpy(t.hash, r.hash, sizeof(t.hash));
	}
	A.seq = t.have_record ? t.seq : 0;
	memcpy(A.last_hash, t.have_record ? t.hash : ZERO_HASH, sizeof(A.last_hash));
	if (t.torn_len)
		return recover_torn(&t);
	if (prev_name[0])
		return append_sync_locked("audit.rotated",
					  json_pack("{s:s}", "previousFile", prev_name));
	return 0;
}

static void close_locked(void)
{
	if (A.fd >= 0)
		close(A.fd);
	if (A.dirfd >= 0)
		close(A.dirfd);
	A.fd = A.dirfd = -1;
}

int audit_open(const char *log_dir)
{
	int rc;

	pthread_mutex_lock(&A.sync_lock);
	pthread_mutex_lock(&A.lock);
	rc = -EBUSY;
	if (A.fd >= 0)
		goto out;
	A.broken = 0;
	A.written = A.synced = 0;
	A.dirfd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (A.dirfd < 0) {
		rc = -errno;
		goto out;
	}
	A.fd = open_current();
	if (A.fd < 0) {
		rc = A.fd;
		goto out;
	}
	rc = pick_up_chain(log_dir);
out:
	if (rc && rc != -EBUSY)
		close_locked();
	pthread_mutex_unlock(&A.lock);
	pthread_mutex_unlock(&A.sync_lock);
	return rc;
}

void audit_close(void)
{
	pthread_mutex_lock(&A.sync_lock);
	pthread_mutex_lock(&A.lock);
	if (A.fd >= 0 && !A.broken)
		fdatasync(A.fd);
	close_locked();
	pthread_mutex_unlock(&A.lock);
	pthread_mutex_unlock(&A.sync_lock);
}

/* The name under which @st now lives in the log directory, if any. */
static void find_renamed(const struct stat *st, char *name, size_t size)
{
	int fd = dup(A.dirfd);
	struct dirent *de;
	DIR *d;

	snprintf(name, size, "(unknown)");
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat cur;

		if (fstatat(A.dirfd, de->d_name, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
		    cur.st_dev == st->st_dev && cur.st_ino == st->st_ino &&
		    strcmp(de->d_name, AUDIT_FILE) != 0) {
			snprintf(name, size, "%s", de->d_name);
			break;
		}
	}
	closedir(d);
}

/* Caller holds both locks: the old fd is synced, then replaced. */
static int switch_file(const char *previous)
{
	int fd, rc;

	if (A.broken)
		return -EIO;
	if (fdatasync(A.fd))
		return -errno;
	A.synced = A.written;
	fd = open_current();
	if (fd < 0)
		return fd;
	close(A.fd);
	A.fd = fd;
	rc = append_sync_locked("audit.rotated", json_pack("{s:s}", "previousFile", previous));
	return rc;
}

int audit_reopen(void)
{
	struct stat old, cur;
	char name[256];
	int rc = 0;

	pthread_mutex_lock(&A.sync_lock);
	pthread_mutex_lock(&A.lock);
	if (A.fd < 0) {
		rc = -ENOTCONN;
		goto out;
	}
	if (fstat(A.fd, &old)) {
		rc = -errno;
		goto out;
	}
	if (fstatat(A.dirfd, AUDIT_FILE, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
	    cur.st_dev == old.st_dev && cur.st_ino == old.st_ino)
		goto out;	/* not rotated: keep writing where we are */
	find_renamed(&old, name, sizeof(name));
	rc = switch_file(name);
out:
	pthread_mutex_unlock(&A.lock);
	pthread_mutex_unlock(&A.sync_lock);
	return rc;
}

int audit_rotate(void)
{
	char name[128];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(name, sizeof(name), AUDIT_FILE ".%Y%m%dT%H%M%S", &tm);
	snprintf(name + n, sizeof(name) - n, ".%09ldZ", ts.tv_nsec);

	pthread_mutex_lock(&A.sync_lock);
	pthread_mutex_lock(&A.lock);
	rc = -ENOTCONN;
	if (A.fd < 0)
		goto out;
	rc = -EIO;
	if (A.broken)
		goto out;
	if (renameat(A.dirfd, AUDIT_FILE, A.dirfd, name)) {
		rc = -errno;
		goto out;
	}
	rc = switch_file(name);
out:
	pthread_mutex_unlock(&A.lock);
	pthread_mutex_unlock(&A.sync_lock);
	return rc;
}

/* --- verification --- */

struct verifier {
	audit_issue_fn fn;
	void *arg;
	struct audit_verify_result *res;
	bool have_prev;
	uint64_t prev_seq;
	char prev_hash[AUDIT_HASH_HEX_LEN + 1];
	char prev_where[512];
	/* an unparseable line waiting for the audit.recovered that explains it */
	bool pending;
	char pending_sha[AUDIT_HASH_HEX_LEN + 1];
	const char *pending_file;
	unsigned long pending_line;
};

static void issue(struct verifier *v, enum audit_severity sev, const char *file,
		  unsigned long line, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void issue(struct verifier *v, enum audit_severity sev, const char *file,
		  unsigned long line, uint64_t seq, const char *fmt, ...)
{
	struct audit_issue is = { .severity = sev, .file = file, .line = line, .seq = seq };
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	is.what = what;
	if (sev == AUDIT_BROKEN)
		v->res->broken++;
	else
		v->res->notes++;
	if (v->fn)
		v->fn(&is, v->arg);
}

static void flush_pending(struct verifier *v)
{
	if (!v->pending)
		return;
	issue(v, AUDIT_BROKEN, v->pending_file, v->pending_line, 0,
	      "not a valid record (and no audit.recovered record explains it)");
	v->pending = false;
}

/* A torn line is innocent only if the next record names its exact bytes. */
static bool explains_pending(struct verifier *v, const json_t *rec, const char *type,
			     uint64_t seq)
{
	const char *sha = json_string_value(json_object_get(rec, "tornSha256"));

	if (!v->pending || strcmp(type, "audit.recovered") || !sha ||
	    strcmp(sha, v->pending_sha))
		return false;
	issue(v, AUDIT_NOTE, v->pending_file, v->pending_line, 0,
	      "torn record (crash mid-write), recovered by seq %llu", (unsigned long long)seq);
	v->pending = false;
	return true;
}

static void check_link(struct verifier *v, const char *file, unsigned long ln, uint64_t seq,
		       const char *prev)
{
	if (!v->have_prev) {
		bool zero = strcmp(prev, ZERO_HASH) == 0;

		if (seq == 1 && !zero)
			issue(v, AUDIT_BROKEN, file, ln, seq, "first record (seq 1) has a non-zero prev");
		else if (seq != 1 && zero)
			issue(v, AUDIT_BROKEN, file, ln, seq, "zero prev on seq %llu (not the first record)",
			      (unsigned long long)seq);
		else if (seq != 1)
			issue(v, AUDIT_NOTE, file, ln, seq,
			      "chain starts at seq %llu: earlier records are not in the files checked",
			      (unsigned long long)seq);
		return;
	}
	if (seq == v->prev_seq)
		issue(v, AUDIT_BROKEN, file, ln, seq, "seq %llu repeated", (unsigned long long)seq);
	else if (seq < v->prev_seq)
		issue(v, AUDIT_BROKEN, file, ln, seq, "seq out of order: %llu after %llu",
		      (unsigned long long)seq, (unsigned long long)v->prev_seq);
	else if (seq != v->prev_seq + 1)
		issue(v, AUDIT_BROKEN, file, ln, seq, "seq gap %llu -> %llu",
		      (unsigned long long)v->prev_seq, (unsigned long long)seq);
	if (strcmp(prev, v->prev_hash))
		issue(v, AUDIT_BROKEN, file, ln, seq, "prev does not match record %llu (%s)",
		      (unsigned long long)v->prev_seq, v->prev_where);
}

static bool fields_ok(const json_t *rec, uint64_t *seq, const char **type, const char **prev,
		      const char **hash)
{
	json_t *js = json_object_get(rec, "seq");

	*type = json_string_value(json_object_get(rec, "type"));
	*prev = json_string_value(json_object_get(rec, "prev"));
	*hash = json_string_value(json_object_get(rec, "hash"));
	if (!json_is_integer(js) || json_integer_value(js) <= 0 || !*type ||
	    !json_is_string(json_object_get(rec, "time")) ||
	    !*prev || strlen(*prev) != AUDIT_HASH_HEX_LEN ||
	    !*hash || strlen(*hash) != AUDIT_HASH_HEX_LEN)
		return false;
	*seq = (uint64_t)json_integer_value(js);
	return true;
}

static void verify_record(struct verifier *v, const char *file, unsigned long ln, json_t *rec)
{
	const char *type, *prev, *hash;
	char want[AUDIT_HASH_HEX_LEN + 1];
	uint64_t seq;

	if (!fields_ok(rec, &seq, &type, &prev, &hash)) {
		flush_pending(v);
		issue(v, AUDIT_BROKEN, file, ln, 0,
		      "record lacks seq, time, type, prev or hash (or has the wrong type)");
		return;
	}
	if (!explains_pending(v, rec, type, seq))
		flush_pending(v);
	if (audit_record_hash(rec, want) || strcmp(want, hash))
		issue(v, AUDIT_BROKEN, file, ln, seq, "hash mismatch: the record was edited");
	check_link(v, file, ln, seq, prev);
	if (!v->res->records++)
		v->res->first_seq = seq;
	v->res->last_seq = seq;
	memcpy(v->res->last_hash, hash, sizeof(v->res->last_hash));
	v->have_prev = true;
	v->prev_seq = seq;
	memcpy(v->prev_hash, hash, sizeof(v->prev_hash));
	snprintf(v->prev_where, sizeof(v->prev_where), "%s:%lu", file, ln);
}

static void verify_line(struct verifier *v, const char *file, unsigned long ln, char *line,
			size_t len)
{
	json_t *rec;

	if (len && line[len - 1] == '\n') {
		line[--len] = '\0';
	} else {
		flush_pending(v);
		issue(v, AUDIT_BROKEN, file, ln, 0,
		      "torn last line (%zu bytes, no newline): cut mid-write and not yet "
		      "recovered by the daemon, or truncated", len);
		return;
	}
	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(rec)) {
		verify_record(v, file, ln, rec);
	} else {
		flush_pending(v);
		v->pending = true;
		filehash_buf(line, len, v->pending_sha);
		v->pending_file = file;
		v->pending_line = ln;
	}
	json_decref(rec);
}

static int verify_file(struct verifier *v, const char *file)
{
	FILE *fp = fopen(file, "re");
	unsigned long ln = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp)
		return -errno;
	while ((n = getline(&line, &cap, fp)) > 0)
		verify_line(v, file, ++ln, line, (size_t)n);
	free(line);
	fclose(fp);
	/* a torn line must be explained in its own file */
	flush_pending(v);
	return 0;
}

int audit_verify(const char *const *files, size_t nfiles, audit_issue_fn fn, void *arg,
		 struct audit_verify_result *res)
{
	struct verifier v = { .fn = fn, .arg = arg, .res = res };

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < nfiles; i++) {
		int rc = verify_file(&v, files[i]);

		if (rc)
			return rc;
	}
	return 0;
}
