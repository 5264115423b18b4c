/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc_storm - a fork/exec/exit flood for proc_flood.sh.
 *
 * Usage: proc_storm COUNT WAVE SLEEP_EVERY PIDFILE
 * Starts COUNT children in waves of WAVE, each exec'ing /bin/true, except
 * every SLEEP_EVERY-th, which execs /bin/sleep and lives until proc_storm
 * gets SIGUSR1 (or SIGTERM): processes a rescan after lost events must
 * find, alive for as long as the test needs them.  Once the flood is over
 * it writes "true N sleepers S" and the live sleepers' pids, one a line, to
 * PIDFILE (renamed into place, so a reader sees all or nothing), then
 * waits.  Kills only the sleepers it started, by pid.
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
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	static char *true_argv[] = { "/bin/true", "proc-storm", NULL };
	static char *sleep_argv[] = { "/bin/sleep", "600", NULL };
	long count, wave, every, ntrue = 0, nsleep = 0;
	char tmp[4096];
	sigset_t release;
	pid_t *sleepers;
	FILE *out;
	int sig;

	if (argc != 5) {
		fprintf(stderr, "usage: proc_storm COUNT WAVE SLEEP_EVERY PIDFILE\n");
		return 2;
	}
	count = atol(argv[1]);
	wave = atol(argv[2]);
	every = atol(argv[3]);
	if (count <= 0 || wave <= 0 || every <= 0)
		return 2;
	/* blocked before any child exists, so no release can be missed;
	 * each child unblocks them before its exec */
	sigemptyset(&release);
	sigaddset(&release, SIGUSR1);
	sigaddset(&release, SIGTERM);
	sigprocmask(SIG_BLOCK, &release, NULL);
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
			if (k < nsleep) {
				/* a sleeper died early: not a /bin/true, and no
				 * longer a live process a rescan can find */
				sleepers[k] = sleepers[--nsleep];
				n++;
			} else {
				ntrue++;
			}
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[4]);
	out = fopen(tmp, "w");
	if (!out)
		return 1;
	fprintf(out, "true %ld sleepers %ld\n", ntrue, nsleep);
	for (long k = 0; k < nsleep; k++)
		fprintf(out, "%d\n", (int)sleepers[k]);
	if (fclose(out) || rename(tmp, argv[4]))
		return 1;
	sigwait(&release, &sig);
	for (long k = 0; k < nsleep; k++) {
		kill(sleepers[k], SIGKILL);
		waitpid(sleepers[k], NULL, 0);
	}
	free(sleepers);
	return 0;
}
