/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_policy - libFuzzer target for the policy parser: each input is
 * written to a file and loaded with policy_set_load_file(), exactly the
 * path a policy from disk takes.  Build and run with t/fuzz/run.sh.
 *
 * Overview: owns one temporary file for the whole run, removed at exit.
 */
#include "policy.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/fuzz_policy.XXXXXX";

static void remove_tmp(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct policy_set *ps;
	char err[1024];

	if (fd < 0) {
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			abort();
		atexit(remove_tmp);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	ps = policy_set_load_file(path, err, sizeof(err));
	/* every failure must say where: FILE: at least */
	if (!ps && strncmp(err, path, strlen(path)) != 0)
		abort();
	policy_set_put(ps);
	return 0;
}
