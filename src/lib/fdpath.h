/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdpath - the path an open file descriptor names, as the kernel prints
 * it in /proc/self/fd (what fanotify event fds and handles resolve to).
 */
#ifndef SENSEON_FDPATH_H
#define SENSEON_FDPATH_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write @fd's path into @buf (@size bytes), NUL-terminated.  Returns its
 * length, -ENAMETOOLONG if it does not fit, or another -errno.  Safe to
 * call from any thread of the process that first called it (not from a
 * child after fork(): the directory kept open is the parent's).
 */
ssize_t fd_path(int fd, char *buf, size_t size);

#endif
