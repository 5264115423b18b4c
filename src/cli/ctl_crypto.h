/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_crypto - SHA-256 and base64 for senseonctl, from libcrypto loaded
 * on first use.
 *
 * Most senseonctl runs (status, a script's text output) never hash or
 * decode anything, and mapping and relocating libcrypto at every start
 * cost about half a millisecond, a tenth of a trivial `senseonctl run`.
 * So senseonctl does not link libcrypto: the first call here dlopen()s
 * the library configure found (CRYPTO_SONAME).  The functions return 0
 * or a negative errno (-ENOSYS when libcrypto cannot be loaded) and never
 * print: ctl_crypto_error() says why, for the caller's message.
 */
#ifndef SENSEON_CTL_CRYPTO_H
#define SENSEON_CTL_CRYPTO_H

#include <stddef.h>

struct ctl_sha256;

/* ctl_sha256_new - a fresh SHA-256 stream in *@out.  0 or -errno. */
int ctl_sha256_new(struct ctl_sha256 **out);

/* ctl_sha256_update - hash @len more bytes.  0 or -EIO. */
int ctl_sha256_update(struct ctl_sha256 *h, const void *data, size_t len);

/*
 * ctl_sha256_final - the digest as 64 lower-case hex digits and a NUL in
 * @hex; frees @h.  0 or -EIO.
 */
int ctl_sha256_final(struct ctl_sha256 *h, char hex[65]);

/*
 * ctl_sha256_give - hash @buf (malloc'd, @len bytes) and free it.  Once
 * ctl_sha256_background() succeeded this only queues it for a thread of
 * its own, in order, and returns at once unless a few blocks are already
 * waiting: so a transfer's hashing overlaps its socket and file copies.
 * 0 or -errno (@buf is freed either way).
 */
int ctl_sha256_give(struct ctl_sha256 *h, void *buf, size_t len);

/* ctl_sha256_background - hash given blocks on a thread.  0 or -errno. */
int ctl_sha256_background(struct ctl_sha256 *h);

/* ctl_sha256_free - drop an unfinished stream (NULL is fine). */
void ctl_sha256_free(struct ctl_sha256 *h);

/*
 * ctl_base64_decode - decode padded base64 @b64 into a malloc'd *@out.
 * Returns the number of bytes, or a negative errno.
 */
long ctl_base64_decode(const char *b64, unsigned char **out);

/* ctl_crypto_error - why libcrypto could not be loaded ("" if it was). */
const char *ctl_crypto_error(void);

#endif
