/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * execstorm - fork, execve and wait for a program N times, as fast as it can.
 *
 * Overview: owns only its worker processes.  Each worker runs its share of
 * the execs one after another (fork, execve, waitpid), so the wall time is
 * dominated by the kernel's process life cycle, the path every process
 * monitor hooks.  Prints the wall time in seconds and how many children
 * exited 0; exits non-zero if any exec failed, so a broken run is never
 * mistaken for a fast one.  With one worker it also prints the median
 * time of one fork+exec+wait (p50_us): a burst of noise on a shared
 * machine moves the wall time but hardly the median.
 *
 * Usage: execstorm [-n COUNT] [-j WORKERS] PROGRAM [ARG]...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Returns how many of @n execs exited 0; each one's time in @lap if not NULL. */
static long run_serial(long n, char **argv, double *lap)
{
	long ok = 0;

	for (long i = 0; i < n; i++) {
		double t = lap ? now() : 0;
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("execstorm: fork");
			break;
		}
		if (pid == 0) {
			execve(argv[0], argv, environ);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
		if (lap)
			lap[i] = now() - t;
	}
	return ok;
}

/* Each worker reports its count through its exit status' pipe. */
static long run_parallel(long n, int workers, char **argv)
{
	int fds[2];
	long ok = 0, got;

	if (pipe(fds)) {
		perror("execstorm: pipe");
		return 0;
	}
	for (int w = 0; w < workers; w++) {
		long share = n / workers + (w < n % workers ? 1 : 0);
		pid_t pid = fork();

		if (pid < 0) {
			perror("execstorm: fork");
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			got = run_serial(share, argv, NULL);
			if (write(fds[1], &got, sizeof(got)) != sizeof(got))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	while (read(fds[0], &got, sizeof(got)) == sizeof(got))
		ok += got;
	close(fds[0]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return ok;
}

int main(int argc, char **argv)
{
	long n = 20000, ok;
	int workers = 1, c;
	double t0, t1, *lap;

	while ((c = getopt(argc, argv, "+n:j:")) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'j': workers = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: execstorm [-n COUNT] [-j WORKERS] PROGRAM [ARG]...\n");
			return 2;
		}
	}
	if (optind >= argc || n <= 0 || workers <= 0) {
		fprintf(stderr, "usage: execstorm [-n COUNT] [-j WORKERS] PROGRAM [ARG]...\n");
		return 2;
	}
	lap = workers == 1 ? calloc((size_t)n, sizeof(*lap)) : NULL;
	t0 = now();
	ok = workers == 1 ? run_serial(n, argv + optind, lap)
			  : run_parallel(n, workers, argv + optind);
	t1 = now();
	printf("wall=%.6f ok=%ld n=%ld", t1 - t0, ok, n);
	if (lap) {
		qsort(lap, (size_t)n, sizeof(*lap), cmp_double);
		printf(" p50_us=%.1f", lap[n / 2] * 1e6);
	}
	printf("\n");
	free(lap);
	return ok == n ? 0 : 1;
}
