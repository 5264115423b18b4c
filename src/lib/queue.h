/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue - a bounded multi-producer, single-consumer queue of events.
 * Sources push from their threads; the pipeline pops on the main loop,
 * which polls queue_fd() (an eventfd) beside its other fds.  A full queue
 * never blocks a source: the event is dropped and counted, and the
 * consumer is told how many were lost so it can flag and resync.
 */
#ifndef SENSEON_QUEUE_H
#define SENSEON_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct queue;

struct queue *queue_new(size_t capacity);
void queue_free(struct queue *q);	/* frees events still queued */
int queue_push(struct queue *q, struct event *ev);	/* 0, or -ENOSPC (ev not taken) */
struct event *queue_pop(struct queue *q);	/* NULL when empty */
int queue_fd(const struct queue *q);	/* readable when events wait */
void queue_clear_wakeup(struct queue *q);	/* consumer: reset the eventfd */
size_t queue_depth(struct queue *q);
size_t queue_high_water(struct queue *q);
uint64_t queue_take_dropped(struct queue *q);	/* drops since last call */
uint64_t queue_dropped_total(struct queue *q);

#endif
