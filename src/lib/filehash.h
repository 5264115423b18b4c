/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filehash - SHA-256 of files, computed lazily and cached by the identity
 * of the file version (device, inode, mtime, size), so a binary executed a
 * thousand times is read and hashed once.  Thread safe.
 */
#ifndef SENSEON_FILEHASH_H
#define SENSEON_FILEHASH_H

#include <stddef.h>
#include <stdint.h>

#define FILEHASH_HEX_LEN	64
/* Files larger than this are not hashed (-EFBIG): bounded cost per event. */
#define FILEHASH_MAX_SIZE	(512ll * 1024 * 1024)

struct filehash_stats {
	uint64_t hits;
	uint64_t misses;	/* files read and hashed */
	uint64_t uncached;	/* ... and not cached: changed too recently */
	uint64_t errors;
};

/**
 * filehash_fd - SHA-256 of the regular file open on @fd, as lowercase hex.
 * @fd: a readable fd; read with pread, its offset is not moved
 * @hex: receives FILEHASH_HEX_LEN characters and a NUL
 *
 * Returns 0, -EINVAL for something that is not a regular file, -EFBIG
 * above FILEHASH_MAX_SIZE, or another negative errno from fstat/pread.
 */
int filehash_fd(int fd, char hex[FILEHASH_HEX_LEN + 1]);

/**
 * filehash_path - the same for the file at @path (opened O_RDONLY |
 * O_CLOEXEC | O_NOCTTY | O_NONBLOCK, so a FIFO cannot block the caller).
 *
 * Returns 0 or a negative errno (-ENOENT for a deleted file ...).
 */
int filehash_path(const char *path, char hex[FILEHASH_HEX_LEN + 1]);

/* filehash_hex - lower-case hex of a 32-byte SHA-256 digest, NUL-terminated.
 * Inline: senseonctl, which does not link libcrypto, formats its digests
 * with it too. */
static inline void filehash_hex(const unsigned char md[32], char hex[FILEHASH_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[FILEHASH_HEX_LEN] = '\0';
}

/* filehash_buf - SHA-256 of @len bytes at @data as hex.  Returns 0 or -EIO. */
int filehash_buf(const void *data, size_t len, char hex[FILEHASH_HEX_LEN + 1]);

void filehash_get_stats(struct filehash_stats *st);
/* filehash_flush - forget every cached hash (tests, policy reload). */
void filehash_flush(void);

#endif
