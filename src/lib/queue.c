/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue - bounded MPSC ring of event pointers.
 *
 * Overview: the queue owns the events between push and pop; pop hands
 * ownership to the consumer.  A mutex is enough here: pushes are a few
 * instructions and the sources batch their reads, so contention is low.
 * The eventfd is written only on the empty -> non-empty edge so a busy
 * pipeline does not pay a syscall per event.
 */
#include "queue.h"
#include "event.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct queue {
	pthread_mutex_t lock;
	struct event **ring;
	size_t capacity, head, count, high_water;
	uint64_t dropped_pending, dropped_total;
	int efd;
	int signalled;
};

struct queue *queue_new(size_t capacity)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->ring = calloc(capacity, sizeof(*q->ring));
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!q->ring || q->efd < 0) {
		free(q->ring);
		if (q->efd >= 0)
			close(q->efd);
		free(q);
		return NULL;
	}
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void queue_free(struct queue *q)
{
	struct event *ev;

	if (!q)
		return;
	while ((ev = queue_pop(q)))
		event_free(ev);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

int queue_push(struct queue *q, struct event *ev)
{
	int wake = 0;

	pthread_mutex_lock(&q->lock);
	if (q->count == q->capacity) {
		q->dropped_pending++;
		q->dropped_total++;
		pthread_mutex_unlock(&q->lock);
		return -ENOSPC;
	}
	q->ring[(q->head + q->count) % q->capacity] = ev;
	q->count++;
	if (q->count > q->high_water)
		q->high_water = q->count;
	if (!q->signalled) {
		q->signalled = 1;
		wake = 1;
	}
	pthread_mutex_unlock(&q->lock);
	if (wake) {
		uint64_t one = 1;
		ssize_t n = write(q->efd, &one, sizeof(one));
		(void)n;	/* EAGAIN means it is already readable */
	}
	return 0;
}

struct event *queue_pop(struct queue *q)
{
	struct event *ev = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->count) {
		ev = q->ring[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return ev;
}

void queue_clear_wakeup(struct queue *q)
{
	uint64_t val;
	ssize_t n;

	pthread_mutex_lock(&q->lock);
	n = read(q->efd, &val, sizeof(val));
	(void)n;
	q->signalled = 0;
	/* Events pushed before we cleared the flag are still in the ring:
	 * re-arm so the consumer does not sleep on them. */
	if (q->count) {
		uint64_t one = 1;

		q->signalled = 1;
		n = write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->lock);
}

int queue_fd(const struct queue *q)
{
	return q->efd;
}

size_t queue_depth(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t queue_high_water(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->high_water;
	pthread_mutex_unlock(&q->lock);
	return n;
}

uint64_t queue_take_dropped(struct queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped_pending;
	q->dropped_pending = 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

uint64_t queue_dropped_total(struct queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped_total;
	pthread_mutex_unlock(&q->lock);
	return n;
}
