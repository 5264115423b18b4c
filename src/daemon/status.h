/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status - the daemon's counters as JSON: events per source, lost events,
 * queue depth, process table.  Written to RUN_DIR/status.json once a
 * second (atomically) for `senseonctl status` and the tests.
 */
#ifndef SENSEON_STATUS_H
#define SENSEON_STATUS_H

#include <jansson.h>

struct sensor;

json_t *status_json(struct sensor *s);
void status_write(struct sensor *s);

#endif
