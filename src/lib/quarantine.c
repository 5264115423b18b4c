/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quarantine - move suspicious files into STATE_DIR/quarantine/ and back.
 *
 * Overview: owns the on-disk store (ID.data + ID.json per file) and
 * nothing else: no global state, every call opens what it needs and
 * closes it.  Every path from an alert is hostile: it is walked from /
 * one component at a time with O_NOFOLLOW, the file is opened by O_PATH
 * and checked to be a regular file before it is read, and its device and
 * inode are checked again right before it is moved, so a symlink or a
 * swapped name can never redirect the sensor (which runs as root) onto
 * another file.  The record is written before the content moves, so a
 * crash leaves a record without content (reported by list) rather than
 * content nobody knows about.  Callers (response.c, senseonctl) log.
 */
#include "quarantine.h"
#include "event_json.h"
#include "filehash.h"
#include "jsonbytes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define STORE_SUBDIR	"quarantine"
#define COPY_CHUNK	(128 * 1024)

/* A path's parent directory (an fd) and its last component. */
struct walk {
	int dirfd;
	char *copy;		/* strdup of the path; name points into it */
	const char *name;
};

static void walk_done(struct walk *w)
{
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w->copy);
	w->dirfd = -1;
	w->copy = NULL;
}

static int open_component(int dirfd, const char *comp)
{
	struct stat st;
	int fd = openat(dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (S_ISDIR(st.st_mode))
		return fd;
	close(fd);
	return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
}

/*
 * walk_parent - open the directory holding @path's last component without
 * following any symlink on the way.  ".." is refused rather than resolved
 * because the alert's path is what must be acted on, nothing else.
 */
static int walk_parent(const char *path, struct walk *w)
{
	char *save = NULL, *comp, *next;
	int fd;

	w->dirfd = -1;
	w->name = NULL;
	w->copy = strdup(path);
	if (!w->copy)
		return -ENOMEM;
	if (path[0] != '/')
		goto einval;
	w->dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0)
		return -errno;
	comp = strtok_r(w->copy, "/", &save);
	for (; comp; comp = next) {
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
			goto einval;
		next = strtok_r(NULL, "/", &save);
		if (!next) {
			w->name = comp;
			return 0;
		}
		fd = open_component(w->dirfd, comp);
		if (fd < 0)
			return fd;
		close(w->dirfd);
		w->dirfd = fd;
	}
einval:
	/* "/" itself, a relative path, or dot components */
	return -EINVAL;
}

/* Open the regular file @name in @dirfd for reading, never a symlink or
 * device: O_PATH first, so nothing but a regular file is ever opened. */
static int open_regular(int dirfd, const char *name, struct stat *st)
{
	char proc[64];
	struct stat st2;
	int pfd, fd, err;

	pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err = S_ISLNK(st->st_mode) ? -ELOOP : -EINVAL;
		goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (fstat(fd, &st2) || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
		close(fd);
		err = -ESTALE;
		goto out;
	}
	err = fd;
out:
	close(pfd);
	return err;
}

/*
 * copy_hash - sha256 of @in from offset 0 into @hex; when @out >= 0 the
 * bytes are also written there (cross-filesystem moves hash what they copy).
 */
static int copy_hash(int in, int out, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *buf = malloc(COPY_CHUNK);
	off_t off = 0;
	int err = -ENOMEM;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (;;) {
		ssize_t n = pread(in, buf, COPY_CHUNK, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (out >= 0) {
			for (ssize_t done = 0; done < n;) {
				ssize_t w = write(out, buf + done, (size_t)(n - done));

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					err = -errno;
					goto out;
				}
				done += w;
			}
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
		goto out;
	filehash_hex(md, hex);
	err = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}

static bool same_content_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* @name in @dirfd is still the inode @st describes, unchanged. */
static int check_unchanged(int dirfd, const char *name, int fd, const struct stat *st)
{
	struct stat now;

	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? -ESTALE : -errno;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return -ESTALE;
	if (fstat(fd, &now))
		return -errno;
	return same_content_stat(&now, st) ? 0 : -ESTALE;
}

/* Open (creating 0700) STATE_DIR/quarantine; only root may read it. */
static int open_store(const char *state_dir, bool create)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (snprintf(path, sizeof(path), "%s/" STORE_SUBDIR, state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (create) {
		if (mkdir(state_dir, 0700) && errno != EEXIST)
			return -errno;
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
		fchmod(fd, 0700);
	return fd;
}

static json_int_t ts_ns(const struct timespec *ts)
{
	return (json_int_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static void set_time(json_t *rec, const char *key, const struct timespec *ts)
{
	char when[48], nskey[32];

	format_rfc3339(ts, when, sizeof(when));
	json_object_set_new(rec, key, json_string(when));
	snprintf(nskey, sizeof(nskey), "%sNs", key);
	json_object_set_new(rec, nskey, json_integer(ts_ns(ts)));
}

static json_t *make_record(const char *id, const char *path, const struct stat *st,
			   const char *sha, const char *alert_uuid, bool moved)
{
	json_t *rec = json_object();
	struct timespec now;
	char mode[16];

	if (!rec)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(mode, sizeof(mode), "%04o", (unsigned int)(st->st_mode & 07777));
	json_object_set_new(rec, "id", json_string(id));
	json_set_bytes(rec, "originalPath", path, strlen(path));
	json_object_set_new(rec, "owner", json_integer(st->st_uid));
	json_object_set_new(rec, "group", json_integer(st->st_gid));
	json_object_set_new(rec, "mode", json_string(mode));
	set_time(rec, "atime", &st->st_atim);
	set_time(rec, "mtime", &st->st_mtim);
	json_object_set_new(rec, "size", json_integer((json_int_t)st->st_size));
	json_object_set_new(rec, "sha256", json_string(sha));
	if (alert_uuid)
		json_object_set_new(rec, "alertUuid", json_string(alert_uuid));
	set_time(rec, "time", &now);
	json_object_set_new(rec, "method", json_string(moved ? "rename" : "copy"));
	return rec;
}

/* Write ID.json atomically (temp file, fsync, rename). */
static int write_record(int qfd, const char *id, json_t *rec)
{
	char tmp[64], final[64];
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	size_t len;
	int fd, err = 0;

	if (!text)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.json.tmp", id);
	snprintf(final, sizeof(final), "%s.json", id);
	fd = openat(qfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	len = strlen(text);
	text[len] = '\n';
	if (write(fd, text, len + 1) != (ssize_t)(len + 1) || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && renameat(qfd, tmp, qfd, final))
		err = -errno;
	if (err)
		unlinkat(qfd, tmp, 0);
out:
	free(text);
	return err;
}

static void new_id(char id[QUARANTINE_ID_LEN])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, id);
}

/* Same filesystem: rename the very inode we hashed into the store. */
static int move_by_rename(struct walk *w, int fd, const struct stat *st,
			  int qfd, const char *data)
{
	struct stat now;
	int err;

	err = check_unchanged(w->dirfd, w->name, fd, st);
	if (err)
		return err;
	if (renameat2(w->dirfd, w->name, qfd, data, RENAME_NOREPLACE))
		return -errno;
	/* The name may have been swapped between the check and the rename:
	 * whatever we moved, it must be the inode we hashed. */
	if (fstatat(qfd, data, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
	    check_unchanged(qfd, data, fd, st) == 0)
		return 0;
	renameat2(qfd, data, w->dirfd, w->name, RENAME_NOREPLACE);
	return -ESTALE;
}

/* Other filesystem: copy (hashing again), fsync, then unlink the source. */
static int move_by_copy(struct walk *w, int fd, const struct stat *st,
			int qfd, const char *data, const char *sha)
{
	char tmp[96], sha2[65];
	int out, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp", data);
	out = openat(qfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	err = copy_hash(fd, out, sha2);
	if (!err && fsync(out))
		err = -errno;
	close(out);
	if (!err && strcmp(sha, sha2))
		err = -ESTALE;
	if (!err)
		err = check_unchanged(w->dirfd, w->name, fd, st);
	if (!err && renameat(qfd, tmp, qfd, data))
		err = -errno;
	if (err) {
		unlinkat(qfd, tmp, 0);
		return err;
	}
	if (unlinkat(w->dirfd, w->name, 0)) {
		err = -errno;
		unlinkat(qfd, data, 0);
		return err;
	}
	return 0;
}

int quarantine_file(const char *state_dir, const char *path,
		    const char *alert_uuid, char id[QUARANTINE_ID_LEN])
{
	struct walk w = { .dirfd = -1 };
	char sha[65], data[64], recname[64];
	struct stat st, st2, qst;
	json_t *rec = NULL;
	int fd = -1, qfd = -1, err;
	bool same_fs;

	err = walk_parent(path, &w);
	if (err)
		goto out;
	fd = open_regular(w.dirfd, w.name, &st);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	qfd = open_store(state_dir, true);
	if (qfd < 0) {
		err = qfd;
		goto out;
	}
	err = copy_hash(fd, -1, sha);
	if (err)
		goto out;
	if (fstat(fd, &st2) || !same_content_stat(&st, &st2) ||
	    fstat(qfd, &qst)) {
		err = -ESTALE;
		goto out;
	}
	same_fs = qst.st_dev == st.st_dev;
	new_id(id);
	snprintf(data, sizeof(data), "%s.data", id);
	snprintf(recname, sizeof(recname), "%s.json", id);
	rec = make_record(id, path, &st, sha, alert_uuid, same_fs);
	if (!rec) {
		err = -ENOMEM;
		goto out;
	}
	err = write_record(qfd, id, rec);
	if (err)
		goto out;
	if (same_fs)
		err = move_by_rename(&w, fd, &st, qfd, data);
	else
		err = move_by_copy(&w, fd, &st, qfd, data, sha);
	if (err) {
		unlinkat(qfd, recname, 0);
		goto out;
	}
	/* Neutralise it in the store: no setuid, no exec, root only. */
	if (same_fs)
		fchmod(fd, 0600);
	fsync(qfd);
out:
	json_decref(rec);
	if (fd >= 0)
		close(fd);
	if (qfd >= 0)
		close(qfd);
	walk_done(&w);
	return err;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n != QUARANTINE_ID_LEN - 1)
		return false;
	return strspn(id, "0123456789abcdef-") == n;
}

static json_t *read_record(int qfd, const char *name)
{
	json_error_t jerr;
	json_t *rec;
	FILE *fp;
	int fd = openat(qfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	fp = fdopen(fd, "r");
	if (!fp) {
		close(fd);
		return NULL;
	}
	rec = json_loadf(fp, 0, &jerr);
	fclose(fp);
	if (rec && !json_is_object(rec)) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* The record's original path as exact bytes (originalPath_b64 wins). */
static char *record_path(const json_t *rec)
{
	const char *b64 = json_string_value(json_object_get(rec, "originalPath_b64"));
	const char *s = json_string_value(json_object_get(rec, "originalPath"));
	unsigned char *raw;
	long n;

	if (!b64)
		return s ? strdup(s) : NULL;
	n = base64_decode(b64, &raw);
	if (n < 0)
		return NULL;
	if (memchr(raw, '\0', (size_t)n)) {
		free(raw);
		return NULL;
	}
	char *p = realloc(raw, (size_t)n + 1);

	if (!p) {
		free(raw);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

static struct timespec ns_to_ts(json_int_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000LL),
		.tv_nsec = (long)(ns % 1000000000LL),
	};

	return ts;
}

/* Owner first (chown clears setuid), then mode, then times (last, as
 * every other change moves mtime). */
static int apply_metadata(int fd, const json_t *rec)
{
	const char *mode = json_string_value(json_object_get(rec, "mode"));
	struct timespec times[2];

	if (fchown(fd, (uid_t)json_integer_value(json_object_get(rec, "owner")),
		   (gid_t)json_integer_value(json_object_get(rec, "group"))))
		return -errno;
	if (mode && fchmod(fd, (mode_t)strtoul(mode, NULL, 8) & 07777))
		return -errno;
	times[0] = ns_to_ts(json_integer_value(json_object_get(rec, "atimeNs")));
	times[1] = ns_to_ts(json_integer_value(json_object_get(rec, "mtimeNs")));
	if (futimens(fd, times))
		return -errno;
	return 0;
}

static int check_target(struct walk *w, bool force)
{
	struct stat st;

	if (fstatat(w->dirfd, w->name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	/* --force may replace a file, never a directory, link or device. */
	if (!force || !S_ISREG(st.st_mode))
		return -EEXIST;
	return 0;
}

static int restore_by_copy(struct walk *w, int dfd, const json_t *rec,
			   const char *id, bool force)
{
	char tmp[96], sha2[65];
	const char *sha = json_string_value(json_object_get(rec, "sha256"));
	int out, err;

	snprintf(tmp, sizeof(tmp), ".senseon-restore-%s", id);
	out = openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	err = copy_hash(dfd, out, sha2);
	if (!err && (!sha || strcmp(sha, sha2)))
		err = -EBADMSG;
	if (!err)
		err = apply_metadata(out, rec);
	if (!err && fsync(out))
		err = -errno;
	close(out);
	if (!err && renameat2(w->dirfd, tmp, w->dirfd, w->name, force ? 0 : RENAME_NOREPLACE))
		err = -errno;
	if (err)
		unlinkat(w->dirfd, tmp, 0);
	return err;
}

int quarantine_restore(const char *state_dir, const char *id, bool force)
{
	struct walk w = { .dirfd = -1 };
	char data[64], recname[64], sha2[65];
	const char *sha;
	struct stat dst, pst;
	json_t *rec = NULL;
	char *path = NULL;
	int qfd, dfd = -1, err;

	if (!valid_id(id))
		return -ENOENT;
	qfd = open_store(state_dir, false);
	if (qfd < 0)
		return qfd;
	snprintf(data, sizeof(data), "%s.data", id);
	snprintf(recname, sizeof(recname), "%s.json", id);
	if (fstatat(qfd, recname, &pst, AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		goto out;
	}
	rec = read_record(qfd, recname);
	if (!rec) {
		err = -EBADMSG;
		goto out;
	}
	path = record_path(rec);
	sha = json_string_value(json_object_get(rec, "sha256"));
	if (!path || !sha) {
		err = -EBADMSG;
		goto out;
	}
	dfd = open_regular(qfd, data, &dst);
	if (dfd < 0) {
		err = dfd;
		goto out;
	}
	err = copy_hash(dfd, -1, sha2);
	if (!err && strcmp(sha, sha2))
		err = -EBADMSG;
	if (!err)
		err = walk_parent(path, &w);
	if (!err)
		err = check_target(&w, force);
	if (!err && fstat(w.dirfd, &pst))
		err = -errno;
	if (err)
		goto out;
	if (pst.st_dev == dst.st_dev) {
		err = apply_metadata(dfd, rec);
		if (!err && renameat2(qfd, data, w.dirfd, w.name, force ? 0 : RENAME_NOREPLACE))
			err = -errno;
	} else {
		err = restore_by_copy(&w, dfd, rec, id, force);
		if (!err)
			unlinkat(qfd, data, 0);
	}
	if (err)
		goto out;
	unlinkat(qfd, recname, 0);
	fsync(qfd);
out:
	if (dfd >= 0)
		close(dfd);
	close(qfd);
	walk_done(&w);
	free(path);
	json_decref(rec);
	return err;
}

static int by_time(const void *a, const void *b)
{
	const json_t *ra = *(json_t *const *)a, *rb = *(json_t *const *)b;
	json_int_t ta = json_integer_value(json_object_get(ra, "timeNs"));
	json_int_t tb = json_integer_value(json_object_get(rb, "timeNs"));

	return (ta > tb) - (ta < tb);
}

static int sorted_array(json_t **v, size_t n, json_t **out)
{
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	if (n > 1)	/* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), by_time);
	for (size_t i = 0; i < n; i++)
		json_array_append(arr, v[i]);
	*out = arr;
	return 0;
}

int quarantine_list(const char *state_dir, json_t **out)
{
	json_t **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dir;
	int qfd, err = 0;

	*out = NULL;
	qfd = open_store(state_dir, false);
	if (qfd == -ENOENT)
		return (*out = json_array()) ? 0 : -ENOMEM;
	if (qfd < 0)
		return qfd;
	dir = fdopendir(qfd);
	if (!dir) {
		close(qfd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char data[64];
		struct stat st;
		json_t *rec, **nv;

		if (len != QUARANTINE_ID_LEN - 1 + 5 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		rec = read_record(qfd, de->d_name);
		if (!rec)
			continue;
		snprintf(data, sizeof(data), "%.36s.data", de->d_name);
		if (fstatat(qfd, data, &st, AT_SYMLINK_NOFOLLOW))
			json_object_set_new(rec, "missingContent", json_true());
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			json_decref(rec);
			err = -ENOMEM;
			break;
		}
		v = nv;
		v[n++] = rec;
	}
	closedir(dir);
	if (!err)
		err = sorted_array(v, n, out);
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return err;
}

int quarantine_delete_path(const char *path)
{
	struct walk w = { .dirfd = -1 };
	struct stat st;
	int err;

	err = walk_parent(path, &w);
	if (err)
		goto out;
	if (fstatat(w.dirfd, w.name, &st, AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
		goto out;
	}
	if (unlinkat(w.dirfd, w.name, 0))
		err = -errno;
out:
	walk_done(&w);
	return err;
}

const char *quarantine_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "refused: symbolic link in path";
	case -EINVAL:
		return "refused: not a regular file or not an absolute path";
	case -ESTALE:
		return "file changed or was replaced while being handled";
	case -ENOENT:
		return "no such file";
	case -EEXIST:
		return "a file already exists at the original path (use --force)";
	case -EBADMSG:
		return "quarantined copy does not match its record";
	case -ENOTDIR:
		return "a path component is not a directory";
	default:
		return strerror(-err);
	}
}
