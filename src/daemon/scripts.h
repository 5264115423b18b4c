/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scripts - the daemon-side script manager: it owns the senseon-pyrunner
 * zygote (a pre-initialised CPython that forks one child per script), runs
 * scripts for control clients ("script.run"), enforces their wall-clock
 * timeout from outside, streams their output and serves the privileged
 * calls of the senseon module (upload, download, kill, processes, alert,
 * ...) over each script's RPC socket, auditing every one of them.
 */
#ifndef SENSEON_SCRIPTS_H
#define SENSEON_SCRIPTS_H

struct sensor;

/*
 * scripts_init - register the script manager's control commands
 * ("script.run", ...) with control_register().  Call before
 * control_start().  Returns 0 or -errno.
 */
int scripts_init(struct sensor *s);

/*
 * scripts_start - fork the pyrunner zygote.  Call while the daemon still
 * holds every capability (before the drop) so that scripts run with full
 * root, and before any thread exists.  A failure is not fatal to the
 * daemon: script requests then fail with a clear error.  0 or -errno.
 */
int scripts_start(struct sensor *s);

/* scripts_stop - end running scripts and the zygote. */
void scripts_stop(struct sensor *s);

#endif
