/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source_file - file events from a fanotify notification group.
 *
 * Overview: owns the notification group's fd, the per-filesystem mount
 * fds used to open directory handles, the directory-handle -> path cache
 * and the draining thread with its stop eventfd.  It turns each fanotify
 * record into struct event (create, delete, rename, write, attrib) and
 * hands it to the queue with sensor_push(); from then on the event
 * belongs to the main loop.  It must not own anything the main loop
 * reads (process table, policies, sinks): it only pushes and counts.
 *
 * The group runs in FAN_REPORT_DFID_NAME mode with FAN_MARK_FILESYSTEM
 * marks: the kernel reports the parent directory's file handle plus the
 * entry name, never an open fd, so events for files that are already gone
 * still carry a name, and a storm does not burn one fd per event.  The
 * handle is turned into a path with open_by_handle_at() + readlink of
 * /proc/self/fd; a small LRU cache makes that cost once per directory
 * rather than once per event.  A handle is resolved when its record is
 * read, so a record queued before its directory was renamed shows the
 * new directory name unless the directory was already cached; rename and
 * rmdir of a directory drop it and everything below it from the cache.
 *
 * Queue size: the kernel's bounded queue (fs.fanotify.max_queued_events,
 * 16384 by default), not FAN_UNLIMITED_QUEUE.  These are notifications:
 * nothing in the kernel waits for us, so an overflow costs information,
 * which FAN_Q_OVERFLOW reports and we count and push as EVENT_LOSS.  An
 * unlimited queue would instead let a write storm while this thread is
 * slow (or stopped by a debugger) pin unbounded kernel memory on the
 * host we are meant to protect.  The exec gate makes the other choice
 * because there an overflowed permission event would be allowed silently.
 */
#include "sensor.h"
#include "event.h"
#include "fdpath.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef FAN_RENAME
#define FAN_RENAME			0x10000000
#endif
#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME	10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME	12
#endif

/* Events on inodes that a mount mark cannot report (the kernel refuses
 * them with EINVAL on FAN_MARK_MOUNT). */
#define FILE_INODE_EVENTS	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | \
				 FAN_MOVED_TO | FAN_ATTRIB | FAN_RENAME)
#define FILE_BASE_MASK		(FAN_CREATE | FAN_DELETE | FAN_CLOSE_WRITE | \
				 FAN_ATTRIB | FAN_ONDIR)

/* Big enough that a storm is drained with few read(2) calls. */
#define READ_BUF_SIZE		(256 * 1024)
/* metadata + two fid records, each with a handle and a name */
#define RECORD_MAX		(FAN_EVENT_METADATA_LEN + \
				 2 * (sizeof(struct fanotify_event_info_fid) + \
				      MAX_HANDLE_SZ + NAME_MAX + 1 + 8))

/* Pause after each drain so records arrive in batches (see file_thread). */
#define BATCH_DELAY_NS		(1000 * 1000)

/* Directory cache: enough for the working set of busy directories; a
 * lookup costs one hash and one memcmp, a miss two syscalls and a readlink. */
#define DIRCACHE_SIZE		512
#define DIRCACHE_BUCKETS	1024	/* power of two */
#define DIRKEY_MAX		(sizeof(__kernel_fsid_t) + 2 * sizeof(int) + MAX_HANDLE_SZ)

struct dir_entry {
	unsigned char key[DIRKEY_MAX];
	size_t keylen;
	uint32_t hash;
	char *path;
	size_t len;
	int hnext;		/* next in the hash bucket, -1 ends */
	int prev, next;		/* LRU list: head is the most recent */
	bool used;
};

struct dircache {
	struct dir_entry e[DIRCACHE_SIZE];
	int bucket[DIRCACHE_BUCKETS];
	int head, tail;
	int nfree;
	uint64_t hits, misses;
};

struct watched_fs {
	dev_t dev;
	__kernel_fsid_t fsid;
	int mount_fd;		/* open_by_handle_at() needs one per filesystem */
	char *path;		/* the watch path this mark came from */
};

struct ignore_prefix {
	char *path;
	size_t len;
};

/* One file-handle + name record of a fanotify event. */
struct fid_name {
	const __kernel_fsid_t *fsid;
	const struct file_handle *fh;
	const char *name;	/* NULL for records without a name */
};

struct file_source {
	struct sensor *s;
	int fan_fd;
	int stop_fd;
	pthread_t thread;
	bool running;
	bool have_rename;	/* FAN_RENAME accepted (Linux >= 5.17) */
	struct watched_fs *fs;
	size_t nfs;
	struct ignore_prefix *ignore;
	size_t nignore;
	struct event *pending_from;	/* fallback: MOVED_FROM awaiting MOVED_TO */
	struct dircache cache;
	char *buf;
	/* One record copied out of buf: the kernel aligns fanotify records
	 * to 4 bytes, the metadata struct (a __u64 mask) needs 8. */
	union {
		struct fanotify_event_metadata md;
		char bytes[RECORD_MAX];
	} rec;
};

/* ---- directory handle -> path cache ---------------------------------- */

static uint32_t hash_bytes(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void dircache_init(struct dircache *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < DIRCACHE_BUCKETS; i++)
		c->bucket[i] = -1;
	c->head = c->tail = -1;
	c->nfree = DIRCACHE_SIZE;
}

static void lru_unlink(struct dircache *c, int i)
{
	struct dir_entry *e = &c->e[i];

	if (e->prev >= 0)
		c->e[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next >= 0)
		c->e[e->next].prev = e->prev;
	else
		c->tail = e->prev;
}

static void lru_push_front(struct dircache *c, int i)
{
	c->e[i].prev = -1;
	c->e[i].next = c->head;
	if (c->head >= 0)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail < 0)
		c->tail = i;
}

static void dircache_remove(struct dircache *c, int i)
{
	struct dir_entry *e = &c->e[i];
	int *pp = &c->bucket[e->hash & (DIRCACHE_BUCKETS - 1)];

	while (*pp != i)
		pp = &c->e[*pp].hnext;
	*pp = e->hnext;
	lru_unlink(c, i);
	free(e->path);
	e->path = NULL;
	e->used = false;
	c->nfree++;
}

static const struct dir_entry *dircache_lookup(struct dircache *c, const unsigned char *key,
					       size_t keylen, uint32_t hash)
{
	int i = c->bucket[hash & (DIRCACHE_BUCKETS - 1)];

	for (; i >= 0; i = c->e[i].hnext) {
		struct dir_entry *e = &c->e[i];

		if (e->hash != hash || e->keylen != keylen || memcmp(e->key, key, keylen))
			continue;
		if (c->head != i) {
			lru_unlink(c, i);
			lru_push_front(c, i);
		}
		c->hits++;
		return e;
	}
	c->misses++;
	return NULL;
}

static void dircache_insert(struct dircache *c, const unsigned char *key, size_t keylen,
			    uint32_t hash, const char *path, size_t len)
{
	char *copy = malloc(len + 1);
	int i;

	if (!copy)
		return;		/* a cache: failing to fill it only costs speed */
	memcpy(copy, path, len);
	copy[len] = '\0';
	if (c->nfree == 0)
		dircache_remove(c, c->tail);
	for (i = 0; c->e[i].used; i++)
		;
	c->e[i] = (struct dir_entry){ .keylen = keylen, .hash = hash, .path = copy,
				      .len = len, .used = true };
	memcpy(c->e[i].key, key, keylen);
	c->e[i].hnext = c->bucket[hash & (DIRCACHE_BUCKETS - 1)];
	c->bucket[hash & (DIRCACHE_BUCKETS - 1)] = i;
	lru_push_front(c, i);
	c->nfree--;
}

static bool path_has_prefix(const char *path, size_t len, const char *pfx, size_t plen)
{
	if (plen == 1 && pfx[0] == '/')
		return len > 0 && path[0] == '/';
	return len >= plen && memcmp(path, pfx, plen) == 0 &&
	       (len == plen || path[plen] == '/');
}

/* A directory was renamed or removed: it and everything below it moved. */
static void dircache_invalidate(struct dircache *c, const char *path, size_t len)
{
	for (int i = 0; i < DIRCACHE_SIZE; i++)
		if (c->e[i].used && path_has_prefix(c->e[i].path, c->e[i].len, path, len))
			dircache_remove(c, i);
}

static void dircache_free(struct dircache *c)
{
	for (int i = 0; i < DIRCACHE_SIZE; i++)
		free(c->e[i].path);
}

/* ---- resolving fanotify records to paths ----------------------------- */

static const struct watched_fs *fs_by_fsid(const struct file_source *fsrc,
					   const __kernel_fsid_t *fsid)
{
	for (size_t i = 0; i < fsrc->nfs; i++)
		if (!memcmp(&fsrc->fs[i].fsid, fsid, sizeof(*fsid)))
			return &fsrc->fs[i];
	return NULL;
}

/*
 * Open the directory by handle and ask the kernel for its current path.
 * Returns the length written to @out, or -errno.  *@cacheable is false
 * when the directory was already removed: its path is a last sighting.
 */
static int dir_path_from_handle(const struct watched_fs *wfs, const struct file_handle *fh,
				char *out, size_t size, bool *cacheable)
{
	static const char deleted[] = " (deleted)";
	union {
		struct file_handle fh;
		unsigned char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	struct stat st;
	ssize_t n;
	int fd, rc;

	if (fh->handle_bytes > MAX_HANDLE_SZ)
		return -EINVAL;
	/* The record is not aligned for struct file_handle: copy it. */
	memcpy(&h, fh, sizeof(*fh) + fh->handle_bytes);
	fd = open_by_handle_at(wfs->mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = fd_path(fd, out, size);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	*cacheable = true;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		*cacheable = false;
		if ((size_t)n > sizeof(deleted) - 1 &&
		    !memcmp(out + n - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1))
			n -= sizeof(deleted) - 1;
	}
	rc = (int)n;
out:
	close(fd);
	return rc;
}

/* Build the cache key: fsid, handle type and size, handle bytes. */
static size_t dir_key(const struct fid_name *r, unsigned char *key)
{
	size_t n = 0;

	memcpy(key + n, r->fsid, sizeof(*r->fsid));
	n += sizeof(*r->fsid);
	memcpy(key + n, r->fh, sizeof(*r->fh) + r->fh->handle_bytes);
	return n + sizeof(*r->fh) + r->fh->handle_bytes;
}

/*
 * resolve - the full path of a record's entry into @out (parent path,
 * "/", name).  When the directory cannot be opened any more (removed and
 * forgotten by the kernel), the bare name is all we have: it is kept so
 * the event is not lost, and the error is counted.
 */
static int resolve(struct file_source *fsrc, const struct fid_name *r, struct bytes *out)
{
	char dir[PATH_MAX * 2];
	unsigned char key[DIRKEY_MAX];
	const struct dir_entry *e;
	const struct watched_fs *wfs;
	const char *dpath = dir;
	size_t keylen, dlen = 0, nlen;
	bool cacheable = false;
	uint32_t hash;
	int n = -ESTALE;
	char *buf;

	if (r->fh->handle_bytes > MAX_HANDLE_SZ)
		return -EINVAL;
	keylen = dir_key(r, key);
	hash = hash_bytes(key, keylen);
	e = dircache_lookup(&fsrc->cache, key, keylen, hash);
	if (e) {
		dpath = e->path;
		dlen = e->len;
	} else {
		wfs = fs_by_fsid(fsrc, r->fsid);
		if (wfs)
			n = dir_path_from_handle(wfs, r->fh, dir, sizeof(dir), &cacheable);
		if (n < 0) {
			atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].errors, 1);
			dlen = 0;
		} else {
			dlen = (size_t)n;
			if (cacheable)
				dircache_insert(&fsrc->cache, key, keylen, hash, dir, dlen);
		}
	}
	/* "." names the directory itself (events on the marked object). */
	if (!r->name || !strcmp(r->name, "."))
		return dlen ? bytes_set(out, dpath, dlen) : -ESTALE;
	nlen = strlen(r->name);
	buf = malloc(dlen + nlen + 2);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, dpath, dlen);
	if (dlen && dpath[dlen - 1] != '/')
		buf[dlen++] = '/';
	memcpy(buf + dlen, r->name, nlen);
	out->data = buf;	/* @out is empty: hand the buffer over */
	out->len = dlen + nlen;
	buf[out->len] = '\0';
	return 0;
}

/* Find the fid record of @type in the event's info records. */
static bool find_record(const struct fanotify_event_metadata *m, int type,
			struct fid_name *r)
{
	const char *p = (const char *)m + m->metadata_len;
	const char *end = (const char *)m + m->event_len;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_fid *info = (const void *)p;
		size_t len = info->hdr.len;

		if (len < sizeof(*info) || p + len > end)
			return false;
		if (info->hdr.info_type == type &&
		    len >= sizeof(*info) + sizeof(struct file_handle)) {
			r->fsid = &info->fsid;
			r->fh = (const struct file_handle *)info->handle;
			r->name = NULL;
			if (type != FAN_EVENT_INFO_TYPE_DFID && type != FAN_EVENT_INFO_TYPE_FID)
				r->name = (const char *)r->fh->f_handle + r->fh->handle_bytes;
			return (const char *)r->fh->f_handle + r->fh->handle_bytes <= p + len;
		}
		p += len;
	}
	return false;
}

/* ---- filtering and pushing -------------------------------------------- */

static bool is_ignored(const struct file_source *fsrc, const struct bytes *b)
{
	if (!b->data)
		return false;
	for (size_t i = 0; i < fsrc->nignore; i++)
		if (path_has_prefix(b->data, b->len, fsrc->ignore[i].path, fsrc->ignore[i].len))
			return true;
	return false;
}

static struct event *file_event(enum event_type type, const struct fanotify_event_metadata *m)
{
	struct event *ev = event_new(type);

	if (!ev)
		return NULL;
	ev->pid = m->pid;
	ev->tid = m->pid;
	if (m->mask & FAN_ONDIR)
		ev->flags |= EVENT_F_IS_DIR;
	return ev;
}

static void push(struct file_source *fsrc, struct event *ev)
{
	if (!ev)
		return;
	if (is_ignored(fsrc, &ev->path) && (ev->type != EVENT_FILE_RENAME ||
					    !ev->path2.data || is_ignored(fsrc, &ev->path2))) {
		event_free(ev);
		return;
	}
	sensor_push(fsrc->s, SOURCE_FILE, ev);
}

static void flush_pending(struct file_source *fsrc)
{
	struct event *ev = fsrc->pending_from;

	fsrc->pending_from = NULL;
	push(fsrc, ev);	/* a move out of sight: a rename with no new name */
}

static void push_loss(struct file_source *fsrc)
{
	struct event *ev = event_new(EVENT_LOSS);

	atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].overflows, 1);
	/* The kernel does not say how many: at least one. */
	atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].lost, 1);
	if (!ev)
		return;
	ev->lost = 1;
	ev->loss_source = "file";
	sensor_push(fsrc->s, SOURCE_FILE, ev);
}

/* One event per kernel bit: a merged record (the kernel merges queued
 * events of the same name and pid) becomes several, in the usual order. */
static void push_simple(struct file_source *fsrc, const struct fanotify_event_metadata *m,
			const struct bytes *path)
{
	static const struct { uint64_t bit; enum event_type type; } order[] = {
		{ FAN_CREATE, EVENT_FILE_CREATE },
		{ FAN_CLOSE_WRITE, EVENT_FILE_WRITE },
		{ FAN_ATTRIB, EVENT_FILE_ATTRIB },
		{ FAN_DELETE, EVENT_FILE_DELETE },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct event *ev;

		if (!(m->mask & order[i].bit))
			continue;
		ev = file_event(order[i].type, m);
		if (ev && bytes_set(&ev->path, path->data, path->len)) {
			event_free(ev);
			ev = NULL;
		}
		push(fsrc, ev);
	}
}

static void handle_rename(struct file_source *fsrc, const struct fanotify_event_metadata *m)
{
	struct fid_name from, to;
	struct event *ev = file_event(EVENT_FILE_RENAME, m);

	if (!ev)
		return;
	if (find_record(m, FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, &from))
		resolve(fsrc, &from, &ev->path);
	if (find_record(m, FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, &to))
		resolve(fsrc, &to, &ev->path2);
	if ((m->mask & FAN_ONDIR) && ev->path.data)
		dircache_invalidate(&fsrc->cache, ev->path.data, ev->path.len);
	push(fsrc, ev);
}

/* Without FAN_RENAME (Linux < 5.17) the kernel queues MOVED_FROM and
 * MOVED_TO back to back for one rename; pair them by adjacency. */
static void handle_move(struct file_source *fsrc, const struct fanotify_event_metadata *m,
			struct bytes *path)
{
	struct event *ev;

	if (m->mask & FAN_MOVED_TO) {
		ev = fsrc->pending_from;
		fsrc->pending_from = NULL;
		if (!ev)
			ev = file_event(EVENT_FILE_CREATE, m);	/* moved in from out of sight */
		if (ev && ev->type == EVENT_FILE_RENAME) {
			ev->path2 = *path;
			*path = (struct bytes){ 0 };
		} else if (ev && bytes_set(&ev->path, path->data, path->len)) {
			event_free(ev);
			ev = NULL;
		}
		push(fsrc, ev);
	}
	if (m->mask & FAN_MOVED_FROM) {
		flush_pending(fsrc);
		ev = file_event(EVENT_FILE_RENAME, m);
		if (!ev)
			return;
		ev->path = *path;
		*path = (struct bytes){ 0 };
		if (m->mask & FAN_ONDIR)
			dircache_invalidate(&fsrc->cache, ev->path.data, ev->path.len);
		fsrc->pending_from = ev;
	}
}

static void handle_event(struct file_source *fsrc, const struct fanotify_event_metadata *m)
{
	struct bytes path = { 0 };
	struct fid_name r;

	if (m->mask & FAN_Q_OVERFLOW) {
		flush_pending(fsrc);
		push_loss(fsrc);
		return;
	}
	if ((pid_t)m->pid == fsrc->s->self_pid)
		return;
	if (m->mask & FAN_RENAME) {
		flush_pending(fsrc);
		handle_rename(fsrc, m);
		return;
	}
	if (!find_record(m, FAN_EVENT_INFO_TYPE_DFID_NAME, &r) &&
	    !find_record(m, FAN_EVENT_INFO_TYPE_DFID, &r)) {
		atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].errors, 1);
		return;
	}
	if (resolve(fsrc, &r, &path) < 0) {
		atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].errors, 1);
		return;
	}
	if (!(m->mask & FAN_MOVED_TO))
		flush_pending(fsrc);
	if ((m->mask & FAN_ONDIR) && (m->mask & FAN_DELETE))
		dircache_invalidate(&fsrc->cache, path.data, path.len);
	push_simple(fsrc, m, &path);
	if (m->mask & (FAN_MOVED_FROM | FAN_MOVED_TO))
		handle_move(fsrc, m, &path);
	bytes_clear(&path);
}

/* ---- the thread -------------------------------------------------------- */

/* Read until the queue is empty.  Returns 0, or -errno on a fatal error. */
static int drain(struct file_source *fsrc)
{
	for (;;) {
		ssize_t len = read(fsrc->fan_fd, fsrc->buf, READ_BUF_SIZE);
		size_t off = 0;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		/* FAN_EVENT_OK/NEXT would read through a misaligned pointer */
		while (off + FAN_EVENT_METADATA_LEN <= (size_t)len) {
			struct fanotify_event_metadata hdr;

			memcpy(&hdr, fsrc->buf + off, sizeof(hdr));
			if (hdr.event_len < FAN_EVENT_METADATA_LEN ||
			    hdr.event_len > (size_t)len - off)
				break;
			if (hdr.vers != FANOTIFY_METADATA_VERSION)
				return -EPROTO;
			if (hdr.event_len <= sizeof(fsrc->rec)) {
				memcpy(fsrc->rec.bytes, fsrc->buf + off, hdr.event_len);
				handle_event(fsrc, &fsrc->rec.md);
			} else {
				/* cannot be with one handle and one name per
				 * record; never leave an fd open behind it */
				if (hdr.fd >= 0)
					close(hdr.fd);
				push_loss(fsrc);
			}
			off += hdr.event_len;
		}
	}
	/* Queue empty: a MOVED_FROM still waiting has no partner coming. */
	flush_pending(fsrc);
	return 0;
}

static void *file_thread(void *arg)
{
	struct file_source *fsrc = arg;
	struct pollfd pfd[2] = {
		{ .fd = fsrc->fan_fd, .events = POLLIN },
		{ .fd = fsrc->stop_fd, .events = POLLIN },
	};
	const struct timespec batch_delay = { 0, BATCH_DELAY_NS };
	int rc;

	while (!atomic_load(&fsrc->s->stopping)) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("file source: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		rc = drain(fsrc);
		if (rc) {
			log_err("file source: reading fanotify: %s", strerror(-rc));
			atomic_fetch_add(&fsrc->s->stats[SOURCE_FILE].errors, 1);
			break;
		}
		/* Let a storm pile up for a moment: one read(2) of hundreds of
		 * records instead of a wakeup per record, which the workload
		 * pays for on a small machine.  The queue (16384) holds far
		 * more than a millisecond of any storm. */
		nanosleep(&batch_delay, NULL);
	}
	return NULL;
}

/* ---- setup -------------------------------------------------------------- */

static int add_ignore(struct file_source *fsrc, const char *path)
{
	char real[PATH_MAX];
	const char *forms[2] = { path, realpath(path, real) };
	struct ignore_prefix *v;

	for (size_t i = 0; i < 2; i++) {
		size_t len;

		if (!forms[i] || (i == 1 && !strcmp(forms[0], forms[1])))
			continue;
		len = strlen(forms[i]);
		while (len > 1 && forms[i][len - 1] == '/')
			len--;
		v = realloc(fsrc->ignore, (fsrc->nignore + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		fsrc->ignore = v;
		v[fsrc->nignore].path = strndup(forms[i], len);
		if (!v[fsrc->nignore].path)
			return -ENOMEM;
		v[fsrc->nignore++].len = len;
	}
	return 0;
}

static int build_ignore_list(struct file_source *fsrc)
{
	const struct sensor_config *cfg = &fsrc->s->cfg;
	const char *own[] = { cfg->state_dir, cfg->log_dir, cfg->run_dir };
	int rc;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i] && (rc = add_ignore(fsrc, own[i])))
			return rc;
	for (size_t i = 0; i < cfg->ignore_paths.n; i++)
		if ((rc = add_ignore(fsrc, cfg->ignore_paths.v[i])))
			return rc;
	return 0;
}

/*
 * Mark the filesystem holding @path.  FAN_MARK_FILESYSTEM is refused on
 * some filesystems (btrfs subvolumes: EXDEV) and in user namespaces; a
 * mount mark still gives close-write, but not the directory-entry events.
 */
static int mark_path(struct file_source *fsrc, const char *path)
{
	uint64_t mask = FILE_BASE_MASK;
	int rc;

	mask |= fsrc->have_rename ? FAN_RENAME : (FAN_MOVED_FROM | FAN_MOVED_TO);
	rc = fanotify_mark(fsrc->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path);
	if (rc && errno == EINVAL && fsrc->have_rename) {
		/* Linux < 5.17: no FAN_RENAME; pair MOVED_FROM/MOVED_TO. */
		fsrc->have_rename = false;
		return mark_path(fsrc, path);
	}
	if (rc == 0)
		return 0;
	rc = -errno;
	log_warn("file source: cannot mark the filesystem of %s (%s); "
		 "falling back to a mount mark: only close-write events there",
		 path, strerror(-rc));
	if (fanotify_mark(fsrc->fan_fd, FAN_MARK_ADD | FAN_MARK_MOUNT,
			  (mask & ~FILE_INODE_EVENTS), AT_FDCWD, path))
		return -errno;
	return 0;
}

/*
 * An fd for open_by_handle_at() on @path's filesystem.  The kernel
 * refuses O_PATH fds there (EBADF), and opening a watched non-directory
 * (a device, a FIFO) could have side effects, so take its directory.
 */
static int open_mount_fd(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 || errno != ENOTDIR)
		return fd;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash) {
		strcpy(dir, ".");
	} else {
		slash[slash == dir] = '\0';	/* "/file" -> "/" */
	}
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int watch_path(struct file_source *fsrc, const char *path)
{
	struct watched_fs *wfs;
	struct statfs sfs;
	struct stat st;
	int fd, rc;

	fd = open_mount_fd(path);
	if (fd < 0 || fstat(fd, &st) || fstatfs(fd, &sfs)) {
		log_warn("file source: not watching %s: %s", path, strerror(errno));
		goto out_skip;
	}
	for (size_t i = 0; i < fsrc->nfs; i++)
		if (fsrc->fs[i].dev == st.st_dev)
			goto out_skip;	/* one filesystem mark covers it */
	rc = mark_path(fsrc, path);
	if (rc) {
		log_warn("file source: not watching %s: %s", path, strerror(-rc));
		goto out_skip;
	}
	wfs = realloc(fsrc->fs, (fsrc->nfs + 1) * sizeof(*wfs));
	if (!wfs) {
		close(fd);
		return -ENOMEM;
	}
	fsrc->fs = wfs;
	wfs = &fsrc->fs[fsrc->nfs++];
	memset(wfs, 0, sizeof(*wfs));
	wfs->dev = st.st_dev;
	memcpy(&wfs->fsid, &sfs.f_fsid, sizeof(wfs->fsid));
	wfs->mount_fd = fd;
	wfs->path = strdup(path);
	log_info("file source: watching the filesystem of %s", path);
	return 0;
out_skip:
	if (fd >= 0)
		close(fd);
	return 0;
}

static void file_source_free(struct file_source *fsrc)
{
	if (!fsrc)
		return;
	for (size_t i = 0; i < fsrc->nfs; i++) {
		close(fsrc->fs[i].mount_fd);
		free(fsrc->fs[i].path);
	}
	free(fsrc->fs);
	for (size_t i = 0; i < fsrc->nignore; i++)
		free(fsrc->ignore[i].path);
	free(fsrc->ignore);
	event_free(fsrc->pending_from);
	dircache_free(&fsrc->cache);
	if (fsrc->fan_fd >= 0)
		close(fsrc->fan_fd);
	if (fsrc->stop_fd >= 0)
		close(fsrc->stop_fd);
	free(fsrc->buf);
	free(fsrc);
}

/**
 * source_file_open - create the notification group and mark the watched
 * filesystems.
 * @s: the sensor; reads cfg.watch_paths and the directories to ignore.
 *
 * Must run with CAP_SYS_ADMIN (filesystem marks).  Missing watch paths
 * are skipped with a warning, so a host without /home still starts.
 *
 * Returns 0 or a negative errno.
 */
int source_file_open(struct sensor *s)
{
	struct file_source *fsrc = calloc(1, sizeof(*fsrc));
	int rc;

	if (!fsrc)
		return -ENOMEM;
	fsrc->s = s;
	fsrc->stop_fd = -1;
	fsrc->have_rename = true;
	dircache_init(&fsrc->cache);
	fsrc->buf = malloc(READ_BUF_SIZE);
	fsrc->fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				     FAN_REPORT_DFID_NAME, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fsrc->fan_fd < 0) {
		rc = -errno;
		goto out_free;
	}
	fsrc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fsrc->stop_fd < 0 || !fsrc->buf) {
		rc = fsrc->buf ? -errno : -ENOMEM;
		goto out_free;
	}
	rc = build_ignore_list(fsrc);
	for (size_t i = 0; rc == 0 && i < s->cfg.watch_paths.n; i++)
		rc = watch_path(fsrc, s->cfg.watch_paths.v[i]);
	if (rc)
		goto out_free;
	if (fsrc->nfs == 0)
		log_warn("file source: no watch path could be marked; no file events");
	else if (!fsrc->have_rename)
		log_info("file source: no FAN_RENAME; pairing MOVED_FROM/MOVED_TO");
	s->source_priv[SOURCE_FILE] = fsrc;
	return 0;
out_free:
	file_source_free(fsrc);
	return rc;
}

/**
 * source_file_run - start the draining thread.
 * @s: the sensor, after source_file_open() succeeded.
 *
 * Returns 0 or a negative errno.
 */
int source_file_run(struct sensor *s)
{
	struct file_source *fsrc = s->source_priv[SOURCE_FILE];
	int rc;

	if (!fsrc)
		return -EINVAL;
	rc = pthread_create(&fsrc->thread, NULL, file_thread, fsrc);
	if (rc) {
		log_err("file source: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	fsrc->running = true;
	return 0;
}

/**
 * source_file_stop - stop the thread, close the group and free the source.
 * @s: the sensor.  Safe to call when open failed or run was never called.
 */
void source_file_stop(struct sensor *s)
{
	struct file_source *fsrc = s->source_priv[SOURCE_FILE];
	uint64_t one = 1;

	if (!fsrc)
		return;
	if (fsrc->running) {
		if (write(fsrc->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("file source: stop: %s", strerror(errno));
		pthread_join(fsrc->thread, NULL);
	}
	log_debug("file source: directory cache %llu hits, %llu misses",
		  (unsigned long long)fsrc->cache.hits, (unsigned long long)fsrc->cache.misses);
	s->source_priv[SOURCE_FILE] = NULL;
	file_source_free(fsrc);
}
