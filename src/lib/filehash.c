/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filehash - lazily computed, cached SHA-256 of files.
 *
 * Overview: owns a fixed-size, direct-mapped cache of (dev, inode, size,
 * mtime, ctime) -> digest behind one mutex, allocated statically so a cache
 * hit costs an open, an fstat and a lookup, never an allocation.  It does
 * not own the fds it is given.  The key is taken from the fd *after* open,
 * before the read, so any later change to the file makes it miss.
 *
 * Why ctime: the file's owner can set mtime back with utimensat(2) after a
 * same-size rewrite, but not ctime (every write and utimensat sets it to
 * now), so a sha256 blocklist cannot be dodged that way.  The kernel keeps
 * coarse timestamps (one tick, a few ms), so a file changed within a tick
 * of being hashed could change again with the same ctime: such a digest is
 * not cached ("racily clean", as git calls it); on a filesystem with
 * whole-second timestamps the window is 2 s.  Only root can move the
 * clock, and root is trusted.  Not covered: a store through a shared
 * mapping into a page that is already dirty changes the file without
 * touching ctime (the kernel updates it at the page's first write fault
 * only), so a digest can be stale after such a write (docs/security.md).
 */
#include "filehash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_SLOTS	1024	/* power of two */
/* a change this recent may share its ctime with a later one (well above a
 * tick at HZ=100) */
#define RACY_NS		(20 * 1000000ll)
#define RACY_COARSE_NS	(2 * 1000000000ll)
#define READ_CHUNK	65536

struct slot {
	bool used;
	dev_t dev;
	ino_t ino;
	struct timespec mtime, ctime;
	off_t size;
	char hex[FILEHASH_HEX_LEN + 1];
};

static struct slot cache[CACHE_SLOTS];
static struct filehash_stats stats;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_dev;

	return (size_t)(h >> 32) & (CACHE_SLOTS - 1);
}

static bool slot_matches(const struct slot *s, const struct stat *st)
{
	return s->used && s->dev == st->st_dev && s->ino == st->st_ino &&
	       s->size == st->st_size && s->mtime.tv_sec == st->st_mtim.tv_sec &&
	       s->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       s->ctime.tv_sec == st->st_ctim.tv_sec && s->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool cache_lookup(const struct stat *st, char *hex)
{
	struct slot *s = &cache[slot_of(st)];
	bool hit;

	pthread_mutex_lock(&lock);
	hit = slot_matches(s, st);
	if (hit) {
		memcpy(hex, s->hex, sizeof(s->hex));
		stats.hits++;
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

static void cache_store(const struct stat *st, const char *hex)
{
	struct slot *s = &cache[slot_of(st)];

	pthread_mutex_lock(&lock);
	s->used = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
	memcpy(s->hex, hex, sizeof(s->hex));
	stats.misses++;
	pthread_mutex_unlock(&lock);
}

static void count_racy(void)
{
	pthread_mutex_lock(&lock);
	stats.misses++;
	stats.uncached++;
	pthread_mutex_unlock(&lock);
}

static void count_error(void)
{
	pthread_mutex_lock(&lock);
	stats.errors++;
	pthread_mutex_unlock(&lock);
}

int filehash_buf(const void *data, size_t len, char hex[FILEHASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	filehash_hex(md, hex);
	return 0;
}

static int hash_fd(int fd, char *hex)
{
	unsigned char buf[READ_CHUNK], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	off_t off = 0;
	int rc = -ENOMEM;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	/* Read to EOF rather than to st_size: a file that grew while we
	 * read still hashes as the bytes we actually saw. */
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		off += n;
		if (off > FILEHASH_MAX_SIZE) {
			rc = -EFBIG;
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		goto out;
	filehash_hex(md, hex);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static long long ts_ns(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

int filehash_fd(int fd, char hex[FILEHASH_HEX_LEN + 1])
{
	struct timespec now;
	struct stat st;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);	/* before the fstat: see RACY_NS */
	if (fstat(fd, &st)) {
		rc = -errno;
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto err;
	}
	if (st.st_size > FILEHASH_MAX_SIZE) {
		rc = -EFBIG;
		goto err;
	}
	if (cache_lookup(&st, hex))
		return 0;
	rc = hash_fd(fd, hex);
	if (rc)
		goto err;
	/* a ctime with no fraction: a filesystem with whole-second (or
	 * coarser) timestamps, where two changes a second apart share one */
	if (ts_ns(&st.st_ctim) + (st.st_ctim.tv_nsec ? RACY_NS : RACY_COARSE_NS) < ts_ns(&now))
		cache_store(&st, hex);
	else
		count_racy();
	return 0;
err:
	count_error();
	return rc;
}

int filehash_path(const char *path, char hex[FILEHASH_HEX_LEN + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int rc;

	if (fd < 0) {
		count_error();
		return -errno;
	}
	rc = filehash_fd(fd, hex);
	close(fd);
	return rc;
}

void filehash_get_stats(struct filehash_stats *st)
{
	pthread_mutex_lock(&lock);
	*st = stats;
	pthread_mutex_unlock(&lock);
}

void filehash_flush(void)
{
	pthread_mutex_lock(&lock);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&lock);
}
