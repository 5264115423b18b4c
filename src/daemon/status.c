/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status - snapshot of the sensor's health counters.
 *
 * Overview: reads counters the sources update atomically and the main
 * loop's own state; owns nothing.  The file is replaced with rename(2) so
 * a reader never sees half of it.
 */
#include "status.h"
#include "sensor.h"
#include "proctable.h"
#include "queue.h"
#include "execgate.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *const source_names[SOURCE_MAX] = {
	[SOURCE_PROC] = "process", [SOURCE_EXEC] = "exec", [SOURCE_FILE] = "file",
};

json_t *status_json(struct sensor *s)
{
	json_t *st = json_object(), *src = json_object(), *pt = json_object();
	struct proctable_stats ps;

	json_object_set_new(st, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(st, "pid", json_integer(s->self_pid));
	json_object_set_new(st, "uptime", json_integer(time(NULL) - s->started));
	json_object_set_new(st, "nodeName", json_string(s->cfg.node_name));
	for (int i = 0; i < SOURCE_MAX; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "events",
				    json_integer((json_int_t)atomic_load(&s->stats[i].events)));
		json_object_set_new(o, "lost",
				    json_integer((json_int_t)atomic_load(&s->stats[i].lost)));
		json_object_set_new(o, "overflows",
				    json_integer((json_int_t)atomic_load(&s->stats[i].overflows)));
		json_object_set_new(o, "errors",
				    json_integer((json_int_t)atomic_load(&s->stats[i].errors)));
		json_object_set_new(src, source_names[i], o);
	}
	json_object_set_new(st, "sources", src);
	json_object_set_new(st, "queueDepth", json_integer((json_int_t)queue_depth(s->queue)));
	json_object_set_new(st, "queueHighWater",
			    json_integer((json_int_t)queue_high_water(s->queue)));
	json_object_set_new(st, "queueDropped",
			    json_integer((json_int_t)queue_dropped_total(s->queue)));
	json_object_set_new(st, "eventsProcessed", json_integer((json_int_t)s->seq));
	proctable_get_stats(s->proctable, &ps);
	json_object_set_new(pt, "entries", json_integer((json_int_t)ps.entries));
	json_object_set_new(pt, "resyncs", json_integer((json_int_t)ps.resyncs));
	json_object_set_new(pt, "resyncFound", json_integer((json_int_t)ps.resync_found));
	json_object_set_new(pt, "resyncGone", json_integer((json_int_t)ps.resync_gone));
	json_object_set_new(pt, "exeFromFanotify", json_integer((json_int_t)ps.exe_from_fanotify));
	json_object_set_new(pt, "exeFromProc", json_integer((json_int_t)ps.exe_from_proc));
	json_object_set_new(pt, "exeUnknown", json_integer((json_int_t)ps.exe_unknown));
	json_object_set_new(st, "processTable", pt);
	execgate_status(s, st);
	return st;
}

void status_write(struct sensor *s)
{
	char path[4096], tmp[4200];
	json_t *st = status_json(s);

	snprintf(path, sizeof(path), "%s/status.json", s->cfg.run_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(st, tmp, JSON_COMPACT) == 0)
		rename(tmp, path);
	json_decref(st);
}
