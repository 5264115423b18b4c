/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outbox - the durable queue of what the sensor owes the platform
 * (alerts, command results): segment files in a spool directory
 * (STATE_DIR/spool/), each entry appended and fdatasync'ed before
 * outbox_append() returns, so an entry survives SIGKILL and power loss.
 * A burst (an alert storm) uses outbox_queue() per entry and one
 * outbox_commit() for all of them: one flush per batch, not per entry.
 *
 * Every entry gets an outbox id (oid), strictly increasing and never
 * reused, also across restarts.  Delivery is at least once: the sender
 * reads entries after the last acknowledged oid, the platform
 * acknowledges cumulatively (outbox_ack(N): every entry <= N is stored
 * there) and de-duplicates by oid.  Acknowledged segments are deleted.
 *
 * The spool is bounded by a disk budget: when an append takes it over,
 * whole segments are dropped oldest first and the entries lost are
 * counted (outbox_stats().dropped, persisted), so the loss is reported
 * rather than silent.  The platform also sees it as a gap in the oids.
 *
 * Thread-safe (one mutex).  Never prints; 0 or -errno.
 */
#ifndef SENSEON_OUTBOX_H
#define SENSEON_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct outbox;

#define OUTBOX_MAX_ENTRY	(4u << 20)	/* bytes of one entry */

struct outbox_opts {
	uint64_t max_bytes;	/* disk budget for the segments; 0: 64 MiB */
	uint64_t segment_bytes;	/* rotate segments at this size; 0: budget/16,
				 * at most 4 MiB */
};

struct outbox_stats {
	uint64_t next_oid;	/* the oid the next append gets */
	uint64_t acked;		/* highest oid acknowledged */
	uint64_t pending;	/* entries stored and not acknowledged */
	uint64_t bytes;		/* on disk, in segments */
	uint64_t segments;
	uint64_t dropped;	/* entries dropped by the budget, ever */
	uint64_t recovered;	/* torn bytes cut off at open */
	uint64_t uncommitted;	/* queued, waiting for outbox_commit() */
	uint64_t commits;	/* flushes that made entries durable */
};

/*
 * outbox_open - open (creating it 0700) the spool @dir, recover from a
 * crash (a torn last entry is cut off: it was never reported appended)
 * and return the outbox in *@out.  @opts may be NULL for defaults.
 * Returns 0 or -errno (-EBADMSG: a segment other than the newest is
 * damaged; it is left for inspection).
 */
int outbox_open(const char *dir, const struct outbox_opts *opts, struct outbox **out);

/* outbox_close - close the files and free @ob (NULL is fine). */
void outbox_close(struct outbox *ob);

/*
 * outbox_append - store @len bytes (1..OUTBOX_MAX_ENTRY) durably.
 * *@oid (may be NULL) gets the entry's id.  Returns 0 once the entry is
 * on disk, -EMSGSIZE, or the error of open/write/fdatasync (the entry is
 * then not stored: a partial write is cut off again).
 */
int outbox_append(struct outbox *ob, const void *data, size_t len, uint64_t *oid);

/*
 * outbox_queue - like outbox_append() but without the flush: the entry
 * is written (it survives SIGKILL of the process, which leaves the page
 * cache) and gets its oid, but becomes durable against power loss, and
 * visible to outbox_next() and outbox_ack(), only at the next
 * outbox_commit() (or outbox_append(), or a segment rotation).
 */
int outbox_queue(struct outbox *ob, const void *data, size_t len, uint64_t *oid);

/*
 * outbox_commit - flush every queued entry with one fdatasync(2) and
 * make them visible.  Returns 0 (also when nothing was queued) or the
 * error of fdatasync (the entries stay queued and invisible).
 */
int outbox_commit(struct outbox *ob);

/*
 * outbox_next - the first entry with an oid greater than @after: *@oid,
 * and a malloc'ed copy in *@data (NUL-terminated past *@len).  Returns
 * 0, -ENOENT when there is none yet, or -errno.
 */
int outbox_next(struct outbox *ob, uint64_t after, uint64_t *oid, void **data,
		size_t *len);

/*
 * outbox_ack - the platform has every entry up to @oid: remember it
 * (a lost acknowledgement only causes duplicates) and delete the
 * segments it covers.  An @oid at or below the last ack changes nothing;
 * one beyond the last appended entry is -ERANGE.
 */
int outbox_ack(struct outbox *ob, uint64_t oid);

/* outbox_stats - a consistent snapshot of the counters. */
void outbox_stats(struct outbox *ob, struct outbox_stats *st);

#endif
