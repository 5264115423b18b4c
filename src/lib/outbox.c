/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outbox - the platform channel's durable, bounded, at-least-once queue.
 *
 * Overview: owns the spool directory: segment files named by the oid of
 * their first entry ("%020llu.seg") and a small "state" file (the last
 * acknowledged oid and the count of dropped entries).  An entry is
 *
 *	u32 len (BE) | u32 check | u64 oid (BE) | len bytes
 *
 * where check is the first four bytes of SHA-256(oid bytes | data): a
 * torn or garbled tail is recognised at open and cut off.  Entries are
 * appended to the newest segment with one write(2); outbox_append()
 * follows it with fdatasync(2), outbox_queue() leaves that to the next
 * outbox_commit() so a burst shares one flush (group commit).  Until it
 * is committed an entry is invisible: outbox_next() does not return it
 * and outbox_ack() refuses it, so an oid the platform may hold is never
 * reused after a crash.  A segment is flushed before the next one is
 * started, so only the newest can hold uncommitted entries; segments
 * rotate at opts.segment_bytes.  The in-memory
 * index (first/last oid, entry count and size per segment) is rebuilt
 * from the files at open.  It must not own the transport: the sender
 * (src/daemon/platform.c) reads with outbox_next() and acknowledges with
 * outbox_ack().
 */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_LEN		16
#define DEFAULT_BUDGET	(64ull << 20)
#define MAX_SEGMENT	(4ull << 20)
#define MIN_SEGMENT	4096ull

struct segment {
	uint64_t first, last;	/* oids; last < first while empty */
	uint64_t count;
	uint64_t size;
};

struct outbox {
	pthread_mutex_t lock;
	int dirfd;
	int wfd;		/* the newest segment, open for appending */
	struct segment *seg;	/* oldest first */
	size_t nseg, capseg;
	uint64_t next_oid, acked, dropped, recovered, bytes;
	uint64_t committed;	/* the newest oid flushed to disk */
	uint64_t commits;	/* fdatasync calls that made entries durable */
	uint64_t max_bytes, segment_bytes;
	/* outbox_next's read position, to stream without rescanning */
	int rfd;
	uint64_t rseg_first, rlast, roff;
};

static void be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int entry_check(const uint8_t oid_be[8], const void *data, size_t len,
		       uint32_t *check)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, oid_be, 8) &&
	     EVP_DigestUpdate(ctx, data, len) &&
	     EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	*check = (uint32_t)get_be(md, 4);
	return 0;
}

static void seg_name(char *buf, size_t len, uint64_t first)
{
	snprintf(buf, len, "%020" PRIu64 ".seg", first);
}

/* ---- state file ---- */

static int state_save(struct outbox *ob, bool durable)
{
	char buf[128];
	int fd, n, err = 0;

	n = snprintf(buf, sizeof(buf), "acked %" PRIu64 " dropped %" PRIu64 "\n",
		     ob->acked, ob->dropped);
	fd = openat(ob->dirfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n || (durable && fdatasync(fd)))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && renameat(ob->dirfd, "state.tmp", ob->dirfd, "state"))
		err = -errno;
	return err;
}

static void state_load(struct outbox *ob)
{
	char buf[128] = "";
	int fd = openat(ob->dirfd, "state", O_RDONLY | O_CLOEXEC);
	unsigned long long a = 0, d = 0;
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && sscanf(buf, "acked %llu dropped %llu", &a, &d) == 2) {
		ob->acked = a;
		ob->dropped = d;
	}
}

/* ---- recovery ---- */

/*
 * Scan one segment, fill @sg and cut a torn tail off.  @newest: only the
 * newest segment may legitimately end in a torn entry.
 */
static int seg_scan(struct outbox *ob, struct segment *sg, bool newest)
{
	char name[32];
	uint8_t hdr[HDR_LEN];
	uint8_t *buf = NULL;
	uint64_t off = 0, prev = sg->first - 1;
	struct stat st;
	int fd, err = 0;

	seg_name(name, sizeof(name), sg->first);
	fd = openat(ob->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	buf = malloc(OUTBOX_MAX_ENTRY);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint64_t len, oid;
		uint32_t check;

		if (pread(fd, hdr, HDR_LEN, (off_t)off) != HDR_LEN)
			break;
		len = get_be(hdr, 4);
		oid = get_be(hdr + 8, 8);
		if (len == 0 || len > OUTBOX_MAX_ENTRY || oid <= prev ||
		    off + HDR_LEN + len > (uint64_t)st.st_size ||
		    pread(fd, buf, len, (off_t)(off + HDR_LEN)) != (ssize_t)len)
			break;
		if ((err = entry_check(hdr + 8, buf, len, &check)))
			goto out;
		if (check != (uint32_t)get_be(hdr + 4, 4))
			break;
		prev = sg->last = oid;
		sg->count++;
		off += HDR_LEN + len;
	}
	if (off < (uint64_t)st.st_size) {
		if (!newest) {
			err = -EBADMSG;
			goto out;
		}
		ob->recovered += (uint64_t)st.st_size - off;
		if (ftruncate(fd, (off_t)off) || fsync(fd)) {
			err = -errno;
			goto out;
		}
	}
	sg->size = off;
out:
	free(buf);
	close(fd);
	return err;
}

static int seg_push(struct outbox *ob, uint64_t first)
{
	struct segment *sg;

	if (ob->nseg == ob->capseg) {
		size_t cap = ob->capseg ? ob->capseg * 2 : 16;

		sg = realloc(ob->seg, cap * sizeof(*sg));
		if (!sg)
			return -ENOMEM;
		ob->seg = sg;
		ob->capseg = cap;
	}
	ob->seg[ob->nseg++] = (struct segment){ .first = first, .last = first - 1 };
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The oids that name the segments in the spool, sorted. */
static int seg_list(struct outbox *ob, uint64_t **firsts, size_t *n)
{
	int fd = openat(ob->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	uint64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		unsigned long long first;
		char tail[8];

		if (sscanf(de->d_name, "%20llu.se%1[g]%c", &first, tail, tail + 1) != 2 ||
		    strlen(de->d_name) != 24 || first == 0)
			continue;
		if (cnt == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = first;
	}
	closedir(d);
	if (cnt > 1)	/* qsort(NULL, 0) is undefined */
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*firsts = v;
	*n = cnt;
	return 0;
}

static int recover(struct outbox *ob)
{
	uint64_t *firsts = NULL;
	size_t n = 0;
	int err = seg_list(ob, &firsts, &n);

	for (size_t i = 0; !err && i < n; i++) {
		err = seg_push(ob, firsts[i]);
		if (!err)
			err = seg_scan(ob, &ob->seg[ob->nseg - 1], i + 1 == n);
		if (!err)
			ob->bytes += ob->seg[ob->nseg - 1].size;
	}
	free(firsts);
	if (err)
		return err;
	ob->next_oid = ob->acked + 1;
	for (size_t i = 0; i < ob->nseg; i++) {
		if (ob->seg[i].count && ob->seg[i].last >= ob->next_oid)
			ob->next_oid = ob->seg[i].last + 1;
		if (ob->seg[i].first >= ob->next_oid)
			ob->next_oid = ob->seg[i].first;
	}
	return 0;
}

/* ---- segments ---- */

static void seg_remove(struct outbox *ob, size_t i)
{
	char name[32];

	if (i == ob->nseg - 1 && ob->wfd >= 0) {
		close(ob->wfd);
		ob->wfd = -1;
	}
	if (ob->rfd >= 0 && ob->rseg_first == ob->seg[i].first) {
		close(ob->rfd);
		ob->rfd = -1;
	}
	seg_name(name, sizeof(name), ob->seg[i].first);
	unlinkat(ob->dirfd, name, 0);
	ob->bytes -= ob->seg[i].size;
	memmove(ob->seg + i, ob->seg + i + 1, (ob->nseg - i - 1) * sizeof(*ob->seg));
	ob->nseg--;
}

/* Make every entry written so far durable and visible. */
static int commit_locked(struct outbox *ob)
{
	if (ob->committed + 1 == ob->next_oid)
		return 0;
	if (ob->wfd >= 0 && fdatasync(ob->wfd))
		return -errno;
	ob->committed = ob->next_oid - 1;
	ob->commits++;
	return 0;
}

/* Open the newest segment for appending, starting a new one if needed. */
static int seg_writable(struct outbox *ob, size_t need)
{
	struct segment *cur = ob->nseg ? &ob->seg[ob->nseg - 1] : NULL;
	char name[32];
	int err;

	if (cur && cur->size && cur->size + need > ob->segment_bytes) {
		/* older segments are always whole on disk (see recover()) */
		if ((err = commit_locked(ob)))
			return err;
		if (ob->wfd >= 0)
			close(ob->wfd);
		ob->wfd = -1;
		cur = NULL;
	}
	if (ob->wfd >= 0)
		return 0;
	if (!cur) {
		if ((err = seg_push(ob, ob->next_oid)))
			return err;
		cur = &ob->seg[ob->nseg - 1];
	}
	seg_name(name, sizeof(name), cur->first);
	ob->wfd = openat(ob->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (ob->wfd < 0) {
		err = -errno;
		if (cur->size == 0)
			ob->nseg--;
		return err;
	}
	/* a new file's name must survive a crash as well as its data */
	if (cur->size == 0 && fsync(ob->dirfd))
		return -errno;
	return 0;
}

/* Over budget: drop the oldest segments, but never the one being written. */
static void enforce_budget(struct outbox *ob)
{
	bool dropped = false;

	while (ob->bytes > ob->max_bytes && ob->nseg > 1) {
		struct segment *old = &ob->seg[0];

		if (old->count && old->last > ob->acked)
			ob->dropped += old->first > ob->acked ? old->count :
				       old->last - ob->acked;
		if (old->count && old->last > ob->acked)
			ob->acked = old->last;	/* nothing to wait for before the gap */
		seg_remove(ob, 0);
		dropped = true;
	}
	if (dropped)
		state_save(ob, true);
}

/* ---- public ---- */

int outbox_open(const char *dir, const struct outbox_opts *opts, struct outbox **out)
{
	struct outbox *ob;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	pthread_mutex_init(&ob->lock, NULL);
	ob->wfd = ob->rfd = -1;
	ob->max_bytes = opts && opts->max_bytes ? opts->max_bytes : DEFAULT_BUDGET;
	ob->segment_bytes = opts && opts->segment_bytes ? opts->segment_bytes :
			    ob->max_bytes / 16;
	if (ob->segment_bytes > MAX_SEGMENT)
		ob->segment_bytes = MAX_SEGMENT;
	if (ob->segment_bytes < MIN_SEGMENT)
		ob->segment_bytes = MIN_SEGMENT;
	ob->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ob->dirfd < 0) {
		err = -errno;
		free(ob);
		return err;
	}
	state_load(ob);
	err = recover(ob);
	if (err) {
		outbox_close(ob);
		return err;
	}
	/* what survived the crash is on disk now (the scan read it back) */
	ob->committed = ob->next_oid - 1;
	*out = ob;
	return 0;
}

void outbox_close(struct outbox *ob)
{
	if (!ob)
		return;
	commit_locked(ob);
	if (ob->wfd >= 0)
		close(ob->wfd);
	if (ob->rfd >= 0)
		close(ob->rfd);
	close(ob->dirfd);
	free(ob->seg);
	pthread_mutex_destroy(&ob->lock);
	free(ob);
}

static int append_locked(struct outbox *ob, const void *data, size_t len, uint64_t *oid,
			 bool sync)
{
	uint8_t hdr[HDR_LEN];
	struct segment *cur;
	uint8_t *rec;
	uint32_t check;
	ssize_t w;
	int err;

	if ((err = seg_writable(ob, HDR_LEN + len)))
		return err;
	cur = &ob->seg[ob->nseg - 1];
	be32(hdr, (uint32_t)len);
	be64(hdr + 8, ob->next_oid);
	if ((err = entry_check(hdr + 8, data, len, &check)))
		return err;
	be32(hdr + 4, check);
	/* one write: a reader never sees a header without its data */
	rec = malloc(HDR_LEN + len);
	if (!rec)
		return -ENOMEM;
	memcpy(rec, hdr, HDR_LEN);
	memcpy(rec + HDR_LEN, data, len);
	w = write(ob->wfd, rec, HDR_LEN + len);
	err = w == (ssize_t)(HDR_LEN + len) ? 0 : w < 0 ? -errno : -ENOSPC;
	free(rec);
	if (err) {
		/* not reported stored, so it must not be sent either */
		if (ftruncate(ob->wfd, (off_t)cur->size))
			close(ob->wfd), ob->wfd = -1;
		return err;
	}
	cur->size += HDR_LEN + len;
	cur->last = ob->next_oid;
	cur->count++;
	ob->bytes += HDR_LEN + len;
	if (oid)
		*oid = ob->next_oid;
	ob->next_oid++;
	/*
	 * A failed flush leaves the entry written but unreported: it stays
	 * invisible until a later commit succeeds, and the caller is told.
	 */
	if (sync && (err = commit_locked(ob)))
		return err;
	enforce_budget(ob);
	return 0;
}

static int append(struct outbox *ob, const void *data, size_t len, uint64_t *oid,
		  bool sync)
{
	int err;

	if (len == 0 || len > OUTBOX_MAX_ENTRY)
		return -EMSGSIZE;
	pthread_mutex_lock(&ob->lock);
	err = append_locked(ob, data, len, oid, sync);
	pthread_mutex_unlock(&ob->lock);
	return err;
}

int outbox_append(struct outbox *ob, const void *data, size_t len, uint64_t *oid)
{
	return append(ob, data, len, oid, true);
}

int outbox_queue(struct outbox *ob, const void *data, size_t len, uint64_t *oid)
{
	return append(ob, data, len, oid, false);
}

int outbox_commit(struct outbox *ob)
{
	int err;

	pthread_mutex_lock(&ob->lock);
	err = commit_locked(ob);
	pthread_mutex_unlock(&ob->lock);
	return err;
}

/* Position the read fd at the first entry of the segment holding @after+1. */
static int read_seek(struct outbox *ob, uint64_t after)
{
	char name[32];
	size_t i;

	if (ob->rfd >= 0 && ob->rlast == after)
		return 0;	/* streaming on from where we stopped */
	for (i = 0; i < ob->nseg; i++)
		if (ob->seg[i].count && ob->seg[i].last > after)
			break;
	if (i == ob->nseg)
		return -ENOENT;
	if (ob->rfd >= 0)
		close(ob->rfd);
	seg_name(name, sizeof(name), ob->seg[i].first);
	ob->rfd = openat(ob->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (ob->rfd < 0)
		return -errno;
	ob->rseg_first = ob->seg[i].first;
	ob->roff = 0;
	ob->rlast = ob->seg[i].first - 1;
	return 0;
}

static struct segment *seg_find(struct outbox *ob, uint64_t first)
{
	for (size_t i = 0; i < ob->nseg; i++)
		if (ob->seg[i].first == first)
			return &ob->seg[i];
	return NULL;
}

static int next_locked(struct outbox *ob, uint64_t after, uint64_t *oid, void **data,
		       size_t *len)
{
	uint8_t hdr[HDR_LEN];
	struct segment *sg;
	uint64_t n, o;
	uint8_t *buf;
	int err;

	if ((err = read_seek(ob, after)))
		return err;
	for (;;) {
		sg = seg_find(ob, ob->rseg_first);
		/* caught up with the writer: keep the position for the next call */
		if (sg && ob->roff >= sg->size && sg == &ob->seg[ob->nseg - 1])
			return -ENOENT;
		if (!sg || ob->roff >= sg->size) {
			/* this segment is done (or gone): on to the next one */
			close(ob->rfd);
			ob->rfd = -1;
			if (sg && sg->count && sg->last > after)
				after = sg->last;
			if ((err = read_seek(ob, after)))
				return err;
			continue;
		}
		if (pread(ob->rfd, hdr, HDR_LEN, (off_t)ob->roff) != HDR_LEN)
			return -EIO;
		n = get_be(hdr, 4);
		o = get_be(hdr + 8, 8);
		if (n == 0 || n > OUTBOX_MAX_ENTRY)
			return -EBADMSG;
		if (o <= after) {
			ob->roff += HDR_LEN + n;
			ob->rlast = o;
			continue;
		}
		if (o > ob->committed)
			return -ENOENT;	/* not durable yet: stay here */
		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
		if (pread(ob->rfd, buf, n, (off_t)(ob->roff + HDR_LEN)) != (ssize_t)n) {
			free(buf);
			return -EIO;
		}
		buf[n] = '\0';
		ob->roff += HDR_LEN + n;
		ob->rlast = o;
		*oid = o;
		*data = buf;
		*len = n;
		return 0;
	}
}

int outbox_next(struct outbox *ob, uint64_t after, uint64_t *oid, void **data, size_t *len)
{
	int err;

	pthread_mutex_lock(&ob->lock);
	err = next_locked(ob, after, oid, data, len);
	pthread_mutex_unlock(&ob->lock);
	return err;
}

int outbox_ack(struct outbox *ob, uint64_t oid)
{
	int err = 0;

	pthread_mutex_lock(&ob->lock);
	if (oid > ob->committed) {
		err = -ERANGE;
		goto out;
	}
	if (oid <= ob->acked)
		goto out;
	ob->acked = oid;
	while (ob->nseg && ob->seg[0].count && ob->seg[0].last <= oid)
		seg_remove(ob, 0);
	/* not fsync'ed: an ack lost in a crash only causes duplicates */
	err = state_save(ob, false);
out:
	pthread_mutex_unlock(&ob->lock);
	return err;
}

void outbox_stats(struct outbox *ob, struct outbox_stats *st)
{
	pthread_mutex_lock(&ob->lock);
	st->next_oid = ob->next_oid;
	st->acked = ob->acked;
	st->pending = ob->next_oid - 1 - ob->acked;
	st->bytes = ob->bytes;
	st->segments = ob->nseg;
	st->dropped = ob->dropped;
	st->recovered = ob->recovered;
	st->uncommitted = ob->next_oid - 1 - ob->committed;
	st->commits = ob->commits;
	pthread_mutex_unlock(&ob->lock);
}
