/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kill_latency - how long a program a `kill` policy names lives.
 *
 * Overview: owns only its children.  N times, one after another: read
 * CLOCK_MONOTONIC, fork, execve the target (this binary, renamed by the
 * runner to the path the policy names, run with --target: it sleeps and
 * exits 0 if nobody kills it), waitpid, read the clock again.  The time
 * from just before fork+execve to the parent seeing SIGKILL is the
 * latency; a child that exits any other way is counted as survived and
 * left out of the percentiles.  Prints p50, p99 and max in milliseconds
 * and exits non-zero if any target survived, so a sensor that stops
 * killing is never reported as fast.
 *
 * Usage: kill_latency [-n COUNT] [-t SURVIVE_MS] TARGET
 *        (TARGET --target [MS]: the victim's side)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The victim: live long enough to be killed, then report survival. */
static int target(int argc, char **argv)
{
	long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v. */
static double pct(const double *v, long n, double p)
{
	long k = (long)(p / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	return v[k - 1];
}

/* One run: returns the latency in ms if SIGKILL ended it, else -1. */
static double one(char *path, char *survive)
{
	char *argv[] = { path, "--target", survive, NULL };
	double t0 = now_ms();
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("kill_latency: fork");
		exit(2);
	}
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("kill_latency: waitpid");
			exit(2);
		}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return now_ms() - t0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "kill_latency: cannot execute %s\n", path);
		exit(2);
	}
	return -1;
}

int main(int argc, char **argv)
{
	char survive[16] = "2000";
	long n = 1000, killed = 0;
	double *lat;
	int c;

	if (argc >= 2 && strcmp(argv[1], "--target") == 0)
		return target(argc, argv);
	while ((c = getopt(argc, argv, "n:t:")) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 't': snprintf(survive, sizeof(survive), "%ld", strtol(optarg, NULL, 10)); break;
		default:
			fprintf(stderr, "usage: kill_latency [-n COUNT] [-t SURVIVE_MS] TARGET\n");
			return 2;
		}
	}
	if (argc - optind != 1 || n <= 0) {
		fprintf(stderr, "usage: kill_latency [-n COUNT] [-t SURVIVE_MS] TARGET\n");
		return 2;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 2;
	for (long i = 0; i < n; i++) {
		double ms = one(argv[optind], survive);

		if (ms >= 0)
			lat[killed++] = ms;
	}
	if (killed)
		qsort(lat, (size_t)killed, sizeof(*lat), cmp_double);
	printf("runs %ld killed %ld survived %ld", n, killed, n - killed);
	if (killed)
		printf(" p50_ms %.3f p99_ms %.3f max_ms %.3f", pct(lat, killed, 50),
		       pct(lat, killed, 99), lat[killed - 1]);
	printf("\n");
	free(lat);
	return killed == n ? 0 : 1;
}
