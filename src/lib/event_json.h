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

/* A new JSON object for @ev, or NULL on ENOMEM. */
json_t *event_to_json(const struct event *ev, const char *node_name);
/* The "process" object of an event or alert. */
json_t *proc_info_to_json(const struct proc_info *pi);
/* Rebuild an event from its JSON form (replay).  NULL if not an event. */
struct event *event_from_json(const json_t *obj);
/* RFC 3339 UTC time with nanoseconds into @buf (at least 40 bytes). */
void format_rfc3339(const struct timespec *ts, char *buf, size_t size);

#endif
