/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isolation - the daemon's side of host network isolation: re-applies a
 * persisted isolation at start, watches nftables change events and
 * restores our table when another tool removes or alters it, unisolates
 * when an expiry passes, serves the control commands "isolate",
 * "unisolate" and "isolation.status", and audits every change
 * ("isolation.change", with the sha256 of the applied ruleset).
 */
#ifndef SENSEON_ISOLATION_H
#define SENSEON_ISOLATION_H

#include <jansson.h>
#include <stddef.h>

struct sensor;

/*
 * isolation_start - register the control commands (call before
 * control_start()), bring the kernel in line with the saved state and
 * start the watcher thread (after capabilities were dropped: it needs
 * only CAP_NET_ADMIN).  Returns 0 or -errno; a failure to re-apply is
 * logged and audited but does not stop the daemon.
 */
int isolation_start(struct sensor *s);

/* isolation_stop - end the watcher thread.  The table stays: isolation
 * outlives the daemon, and the next start re-checks it. */
void isolation_stop(struct sensor *s);

/* isolation_config_hold/release - bracket a change of the sensor's
 * configuration: the watcher and the isolation commands read it under the
 * same lock, so a reload never frees what they are reading. */
void isolation_config_hold(void);
void isolation_config_release(void);

/*
 * The work behind the control commands, for other requesters (a script's
 * senseon.isolate() ...): serialised with the watcher and audited as
 * "isolation.change" by @by.  Each returns 0 or -errno with @err set.
 *
 * isolation_isolate - @req as the "isolate" command takes it ("allow",
 * "for", "force"); *@state gets the new state (caller decrefs).
 * isolation_unisolate - remove exactly our table.
 * isolation_status - *@status gets the state and whether our table is
 * present and intact (caller decrefs).
 */
int isolation_isolate(const json_t *req, const char *by, json_t **state,
		      char *err, size_t len);
int isolation_unisolate(const char *by, char *err, size_t len);
int isolation_status(json_t **status, char *err, size_t len);

#endif
