/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sink - where events and alerts go as JSON lines: stdout in the
 * foreground, events.jsonl and alerts.jsonl in the log directory.
 */
#ifndef SENSEON_SINK_H
#define SENSEON_SINK_H

#include <jansson.h>
#include <stdbool.h>

struct sensor;

int sink_open(struct sensor *s);	/* 0 or -errno */
void sink_close(void);
int sink_reopen(struct sensor *s);	/* SIGHUP: logrotate moved our files */
void sink_event(json_t *ev);		/* steals the reference */
void sink_alert(json_t *alert);		/* steals the reference */
void sink_flush(void);

#endif
