/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc_storm - a fork/exec/exit flood for proc_flood.sh.
 *
 * Usage: proc_storm COUNT WAVE SLEEP_EVERY HOLD_MS
 * Starts COUNT children in waves of WAVE, each exec'ing /bin/true, except
 * every SLEEP_EVERY-th, which execs /bin/sleep and lives until the flood
 * is over plus HOLD_MS: processes a rescan after lost events must find.
 * Kills only the sleepers it started, by pid.  Prints "true N sleepers S".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t spawn(const char *path, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	static char *true_argv[] = { "/bin/true", "proc-storm", NULL };
	static char *sleep_argv[] = { "/bin/sleep", "60", NULL };
	long count, wave, every, hold_ms, ntrue = 0, nsleep = 0;
	struct timespec hold;
	pid_t *sleepers;

	if (argc != 5) {
		fprintf(stderr, "usage: proc_storm COUNT WAVE SLEEP_EVERY HOLD_MS\n");
		return 2;
	}
	count = atol(argv[1]);
	wave = atol(argv[2]);
	every = atol(argv[3]);
	hold_ms = atol(argv[4]);
	if (count <= 0 || wave <= 0 || every <= 0 || hold_ms < 0)
		return 2;
	sleepers = calloc((size_t)(count / every + 1), sizeof(*sleepers));
	if (!sleepers)
		return 1;
	for (long i = 0; i < count; i += wave) {
		long n = 0;

		for (long j = i; j < i + wave && j < count; j++) {
			if (j % every == 0) {
				pid_t pid = spawn("/bin/sleep", sleep_argv);

				if (pid > 0)
					sleepers[nsleep++] = pid;
			} else if (spawn("/bin/true", true_argv) > 0) {
				n++;
			}
		}
		/* reap this wave's /bin/true children */
		for (; n > 0; n--) {
			pid_t pid = waitpid(-1, NULL, 0);
			long k;

			for (k = 0; k < nsleep && sleepers[k] != pid; k++)
				;
			if (k < nsleep)
				n++;	/* a sleeper died early; not one of ours to count */
			else
				ntrue++;
		}
	}
	hold.tv_sec = hold_ms / 1000;
	hold.tv_nsec = hold_ms % 1000 * 1000000L;
	nanosleep(&hold, NULL);
	for (long k = 0; k < nsleep; k++) {
		kill(sleepers[k], SIGKILL);
		waitpid(sleepers[k], NULL, 0);
	}
	printf("true %ld sleepers %ld\n", ntrue, nsleep);
	free(sleepers);
	return 0;
}
