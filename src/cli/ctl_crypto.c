/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_crypto - senseonctl's SHA-256 and base64, from a libcrypto loaded
 * on first use.
 *
 * Overview: owns the dlopen() handle of libcrypto and the table of the
 * few functions senseonctl calls, filled once (pthread_once) and kept
 * until exit.  It must not own any digest's state beyond the
 * struct ctl_sha256 it hands out (with, for a transfer, its hashing
 * thread and the queue of blocks given to it), and it does no
 * cryptography of its own: every byte is hashed or decoded by libcrypto.  The library code
 * senseonctl shares with the daemon (filehash, jsonbytes) links libcrypto
 * directly, so senseonctl calls neither.
 */
#include "ctl_crypto.h"
#include "filehash.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CRYPTO_SONAME
#error "CRYPTO_SONAME (libcrypto's soname) comes from configure"
#endif

/* The declarations come from <openssl/evp.h>; only the addresses are ours. */
#define CRYPTO_FUNCS(X) \
	X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_sha256) X(EVP_DigestInit_ex) \
	X(EVP_DigestUpdate) X(EVP_DigestFinal_ex) X(EVP_DecodeBlock)

static struct {
#define X(name) __typeof__(&name) name;
	CRYPTO_FUNCS(X)
#undef X
	void *handle;
	char error[256];
} lib;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_load(void)
{
	void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(lib.error, sizeof(lib.error), "%s", dlerror());
		return;
	}
#define X(name) \
	lib.name = (__typeof__(&name))dlsym(h, #name); \
	if (!lib.name) { \
		snprintf(lib.error, sizeof(lib.error), "%s: no %s", CRYPTO_SONAME, #name); \
		dlclose(h); \
		return; \
	}
	CRYPTO_FUNCS(X)
#undef X
	lib.handle = h;
}

static int lib_ready(void)
{
	pthread_once(&lib_once, lib_load);
	return lib.handle ? 0 : -ENOSYS;
}

const char *ctl_crypto_error(void)
{
	return lib.error;
}

/* Blocks given and not yet hashed, at most: bounds the memory held. */
#define SHA_QUEUE	4

struct ctl_sha256 {
	EVP_MD_CTX *md;
	bool threaded, done, failed;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct { void *buf; size_t len; } q[SHA_QUEUE];
	unsigned int head, count;	/* under lock */
};

static void *sha_thread(void *arg)
{
	struct ctl_sha256 *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		void *buf;
		size_t len;

		while (!h->count && !h->done)
			pthread_cond_wait(&h->cond, &h->lock);
		if (!h->count)
			break;
		buf = h->q[h->head].buf;
		len = h->q[h->head].len;
		pthread_mutex_unlock(&h->lock);
		if (!lib.EVP_DigestUpdate(h->md, buf, len))
			h->failed = true;	/* read only after the join */
		free(buf);
		pthread_mutex_lock(&h->lock);
		h->head = (h->head + 1) % SHA_QUEUE;
		h->count--;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int ctl_sha256_background(struct ctl_sha256 *h)
{
	int err;

	if (h->threaded)
		return 0;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	err = -pthread_create(&h->thread, NULL, sha_thread, h);
	if (err) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		return err;
	}
	h->threaded = true;
	return 0;
}

int ctl_sha256_give(struct ctl_sha256 *h, void *buf, size_t len)
{
	int err;

	if (!h->threaded) {
		err = ctl_sha256_update(h, buf, len);
		free(buf);
		return err;
	}
	pthread_mutex_lock(&h->lock);
	while (h->count == SHA_QUEUE)
		pthread_cond_wait(&h->cond, &h->lock);
	h->q[(h->head + h->count) % SHA_QUEUE].buf = buf;
	h->q[(h->head + h->count) % SHA_QUEUE].len = len;
	h->count++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* Wait until every given block is hashed, and end the thread. */
static void sha_join(struct ctl_sha256 *h)
{
	if (!h->threaded)
		return;
	pthread_mutex_lock(&h->lock);
	h->done = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	h->threaded = false;
}

int ctl_sha256_new(struct ctl_sha256 **out)
{
	struct ctl_sha256 *h;
	int err = lib_ready();

	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->md = lib.EVP_MD_CTX_new();
	if (!h->md || !lib.EVP_DigestInit_ex(h->md, lib.EVP_sha256(), NULL)) {
		ctl_sha256_free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

int ctl_sha256_update(struct ctl_sha256 *h, const void *data, size_t len)
{
	return lib.EVP_DigestUpdate(h->md, data, len) ? 0 : -EIO;
}

void ctl_sha256_free(struct ctl_sha256 *h)
{
	if (!h)
		return;
	sha_join(h);
	if (h->md)
		lib.EVP_MD_CTX_free(h->md);
	free(h);
}

int ctl_sha256_final(struct ctl_sha256 *h, char hex[65])
{
	unsigned char md[32];
	int ok;

	sha_join(h);
	ok = !h->failed && lib.EVP_DigestFinal_ex(h->md, md, NULL);
	ctl_sha256_free(h);
	if (!ok)
		return -EIO;
	filehash_hex(md, hex);
	return 0;
}

long ctl_base64_decode(const char *b64, unsigned char **out)
{
	size_t len = strlen(b64);
	unsigned char *buf;
	int n, err = lib_ready();

	if (err)
		return err;
	if (len % 4 || len > (size_t)INT32_MAX)
		return -EINVAL;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	n = lib.EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(buf);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts padding as data: take it back off. */
	if (len >= 1 && b64[len - 1] == '=')
		n--;
	if (len >= 2 && b64[len - 2] == '=')
		n--;
	*out = buf;
	return n;
}
