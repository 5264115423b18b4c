/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sensor - the daemon's shared context: configuration, the event queue,
 * the process table and the counters the sources and pipeline update.
 * Sources only push into the queue and bump their counters; everything
 * else happens on the main loop thread.
 */
#ifndef SENSEON_SENSOR_H
#define SENSEON_SENSOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct queue;
struct proctable;
struct policy_set;
struct event;
struct execgate;

struct source_stats {
	atomic_uint_fast64_t events;	/* events pushed to the queue */
	atomic_uint_fast64_t lost;	/* events the kernel or queue lost */
	atomic_uint_fast64_t overflows;	/* ENOBUFS / FAN_Q_OVERFLOW seen */
	atomic_uint_fast64_t errors;
};

enum source_id { SOURCE_PROC, SOURCE_EXEC, SOURCE_FILE, SOURCE_MAX };

struct sensor {
	struct sensor_config cfg;
	const char *config_path;
	bool foreground;
	pid_t self_pid;
	struct queue *queue;
	struct proctable *proctable;
	struct policy_set *policies;	/* owned by the main loop */
	struct source_stats stats[SOURCE_MAX];
	atomic_bool stopping;
	/* Set by a source when it lost events; the main loop resyncs. */
	atomic_bool need_resync;
	/* Alerts raised until this time (CLOCK_MONOTONIC, ns) are flagged
	 * as possibly affected by lost events. */
	uint64_t loss_window_until_ns;
	uint64_t seq;
	time_t started;
	char sensor_id[37];	/* persistent uuid, STATE_DIR/sensor-id */
	void *source_priv[SOURCE_MAX];
	/* Policies in the running set, for readers off the main loop
	 * (control socket status) that must not touch s->policies. */
	atomic_size_t policies_loaded;
	struct execgate *gate;		/* exec gate, NULL when not running */
};

/*
 * Source entry points (src/daemon/source_*.c).  open() opens the kernel
 * interfaces while the daemon still has every capability; run() starts
 * the source's thread after capabilities were dropped (capabilities are
 * per thread, so threads must start after the drop); stop() asks the
 * thread to finish, joins it and closes every fd.  open() and run()
 * return 0 or a negative errno.  The proc source also owns the fanotify
 * FAN_OPEN_EXEC group (see source_proc.c for why one thread reads both).
 */
int source_proc_open(struct sensor *s);
int source_proc_run(struct sensor *s);
void source_proc_stop(struct sensor *s);
int source_file_open(struct sensor *s);
int source_file_run(struct sensor *s);
void source_file_stop(struct sensor *s);

/* Push an event from a source thread; counts a loss when the queue is full. */
void sensor_push(struct sensor *s, enum source_id src, struct event *ev);

uint64_t monotonic_ns(void);

#endif
