/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filestorm - create, write 4 KiB, close and unlink N files in one directory.
 *
 * Overview: owns the files it creates in DIR and removes each before the
 * next, so the directory stays small and the run measures the per-file
 * cost of the create/close-write/delete events every file monitor hooks.
 * File names start with MARKER so monitors' output can be matched to this
 * run.  Prints the wall time; exits non-zero on the first failure.
 *
 * Usage: filestorm [-n COUNT] DIR MARKER
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_file(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	if (close(fd))
		return -1;
	return unlink(path);
}

int main(int argc, char **argv)
{
	static char buf[4096];
	char path[4096];
	long n = 20000, i;
	double t0, t1;
	int c;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: filestorm [-n COUNT] DIR MARKER\n");
			return 2;
		}
	}
	if (argc - optind != 2 || n <= 0) {
		fprintf(stderr, "usage: filestorm [-n COUNT] DIR MARKER\n");
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s-%ld", argv[optind], argv[optind + 1], i);
		if (one_file(path, buf, sizeof(buf))) {
			perror(path);
			return 1;
		}
	}
	t1 = now();
	printf("wall=%.6f ok=%ld n=%ld\n", t1 - t0, i, n);
	return 0;
}
