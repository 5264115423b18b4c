/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event_json - the JSON form of an event (one line per event), and back.
 * The same form is what `senseonctl policy test --events` replays.
 */
#ifndef SENSEON_EVENT_JSON_H
#define SENSEON_EVENT_JSON_H

#include <jansson.h>

struct event;
struct proc_info;
struct jbuf;

/* A new JSON object for @ev, or NULL on ENOMEM. */
json_t *event_to_json(const struct event *ev, const char *node_name);
/*
 * event_json_line - the same object as event_to_json() as one line
 * (without the newline) in @b, written without building it; for the sink.
 * Returns 0 or -ENOMEM.
 */
int event_json_line(const struct event *ev, const char *node_name, struct jbuf *b);
/* The "process" object of an event or alert. */
json_t *proc_info_to_json(const struct proc_info *pi);
/* Rebuild an event from its JSON form (replay).  NULL if not an event. */
struct event *event_from_json(const json_t *obj);
/* RFC 3339 UTC time with nanoseconds into @buf (at least 40 bytes). */
void format_rfc3339(const struct timespec *ts, char *buf, size_t size);

#endif
