/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * permfloor - the least any exec gate can cost: a FAN_OPEN_EXEC_PERM
 * group on one mount that answers ALLOW to every event at once, with no
 * path lookup, no policy and no watchdog.  bench/gate.sh runs it as the
 * "floor" configuration, so the gate's figures can be read against the
 * price of the kernel's permission round trip itself (two wake-ups and a
 * file open per exec) on the machine at hand.
 *
 * Overview: owns one fanotify group and nothing else.  Runs until SIGTERM
 * or SIGINT; closing the group (also on SIGKILL) releases every waiting
 * exec.  Prints "ready" on stdout once the mark is in place.
 *
 * Usage: permfloor [-f] [-p] MOUNT
 *   -f  a filesystem mark (as senseond's gate) instead of a mount mark
 *   -p  read each binary's path from /proc/self/fd, as any gate that
 *       matches program names must
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8))), link[64], path[PATH_MAX];
	unsigned int mark = FAN_MARK_MOUNT;
	bool read_path = false;
	struct pollfd pfd[2];
	sigset_t mask;
	int fan, c;

	while ((c = getopt(argc, argv, "fp")) != -1) {
		switch (c) {
		case 'f': mark = FAN_MARK_FILESYSTEM; break;
		case 'p': read_path = true; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1) {
usage:
		fprintf(stderr, "usage: permfloor [-f] [-p] MOUNT\n");
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
			    O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD | mark, FAN_OPEN_EXEC_PERM,
				     AT_FDCWD, argv[optind]) < 0) {
		fprintf(stderr, "permfloor: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = fan, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = signalfd(-1, &mask, SFD_CLOEXEC), .events = POLLIN };
	printf("ready\n");
	fflush(stdout);
	while (poll(pfd, 2, -1) >= 0 || errno == EINTR) {
		ssize_t n;

		if (pfd[1].revents)
			break;
		while ((n = read(fan, buf, sizeof(buf))) > 0) {
			const struct fanotify_event_metadata *m = (const void *)buf;

			for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
				struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };

				if (m->fd < 0)
					continue;
				snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
				if (read_path && readlink(link, path, sizeof(path)) < 0)
					perror("permfloor: readlink");
				if (write(fan, &r, sizeof(r)) != sizeof(r))
					perror("permfloor: answer");
				close(m->fd);
			}
		}
	}
	close(fan);
	return 0;
}
