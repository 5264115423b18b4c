/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * execgate - the `deny` response action: a fanotify FAN_OPEN_EXEC_PERM
 * group that answers every exec on the gated filesystems before the
 * program runs, and never freezes the host.
 *
 * The kernel waits for our answer with no timeout, so the gate is built
 * around one promise: every event read is answered exactly once, within
 * exec_gate_deadline_ms, whatever the decision thread is doing.  A gate
 * thread reads the group and decides on the pinned policy snapshot; a
 * watchdog thread answers with the default response whatever the gate
 * thread has not answered within the deadline, and reads the group itself
 * while the gate thread is stalled; closing the group fd (stop, crash, SIGKILL) releases
 * everything still waiting.
 *
 * The core (slots, reply, deadline) is public so that unit tests can drive
 * it with a socketpair standing in for the fanotify fd.
 */
#ifndef SENSEON_EXECGATE_H
#define SENSEON_EXECGATE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sensor;

/**
 * execgate_update - start, retarget or stop the gate after the policies
 * (s->policies) or the configuration changed.  Main thread only.
 * @s: the sensor
 *
 * The gate runs while some enabled, live (not dry-run) policy that can
 * match an exec (a program policy, or a file policy naming fileOperation
 * "exec") has a deny action.  Returns 0 or a negative errno; on error a description
 * was logged and the gate is stopped (execs are not gated).
 */
int execgate_update(struct sensor *s);

/* execgate_stop - answer everything pending with ALLOW, stop the threads,
 * close the group. Main thread only; safe when the gate is not running. */
void execgate_stop(struct sensor *s);

/*
 * execgate_healthy - false when the gate's watchdog has not woken for
 * seconds, the gate thread has been stuck in one batch for seconds, or an
 * event has waited seconds past its deadline.
 * The main loop withholds systemd's WATCHDOG=1 then, so a stuck gate gets
 * the daemon killed, and the kernel releases every waiting exec.
 */
bool execgate_healthy(struct sensor *s);

/* execgate_status - add "execGate" (counters, latency) to @st. */
void execgate_status(struct sensor *s, json_t *st);

/*
 * execgate_install_crash_handlers - on SIGSEGV, SIGBUS, SIGILL, SIGFPE and
 * SIGABRT close the group fd first, then die by the same signal: a core
 * dump (or a core helper the kernel execs) must not wait on our gate.
 */
void execgate_install_crash_handlers(void);

/* ---- the core, public for the unit tests ---- */

/**
 * execgate_reply - answer one permission event and close its fd.
 * @fanfd: the fanotify group (a socket or pipe in tests)
 * @fd: the event's fd; always closed, even when the write fails
 * @response: FAN_ALLOW or FAN_DENY
 *
 * Returns 0 or a negative errno from the write.
 */
int execgate_reply(int fanfd, int fd, uint32_t response);

#define EXECGATE_SLOTS		1024
#define EXECGATE_LAT_BUCKETS	256

/* One pending event.  state packs a generation (high bits) with the
 * slot state (low 2 bits), so a stale decision cannot answer a slot that
 * was answered by the watchdog and reused meanwhile. */
struct execgate_slot {
	_Atomic uint64_t state;
	int fd;
	pid_t pid;
	uint64_t t_recv_ns;
};

struct execgate_counters {
	atomic_uint_fast64_t decisions;	/* events answered by a decision */
	atomic_uint_fast64_t allowed;	/* ALLOW answers, all paths */
	atomic_uint_fast64_t denied;	/* DENY answers, all paths */
	atomic_uint_fast64_t deadline;	/* answered by the watchdog */
	atomic_uint_fast64_t self_allowed;	/* the sensor, its workers, its binaries */
	atomic_uint_fast64_t overflow;	/* no free slot: answered at once */
	atomic_uint_fast64_t sha256_skipped;	/* deny policies not evaluated: sha256 */
	atomic_uint_fast64_t reply_errors;
	atomic_uint_fast64_t read_errors;
	atomic_uint_fast64_t stale;	/* decisions dropped: already answered */
	atomic_uint_fast64_t table_misses;	/* caller read from /proc: not in the table yet */
	atomic_uint_fast64_t by_name;	/* allowed from the binary alone: no policy names it */
	atomic_uint_fast64_t max_ns;
	atomic_uint_fast64_t lat[EXECGATE_LAT_BUCKETS];
};

struct execgate_core {
	int fanfd;
	uint64_t deadline_ns;
	uint32_t default_response;	/* FAN_ALLOW, or FAN_DENY if fail-closed */
	unsigned int cursor;		/* gate thread: where to look for a free slot */
	struct execgate_slot slots[EXECGATE_SLOTS];
	struct execgate_counters c;
};

void execgate_core_init(struct execgate_core *core, int fanfd, uint64_t deadline_ns,
			bool fail_closed);
/*
 * execgate_core_add - register event @fd of @pid received at @now_ns.
 * Gate thread only.  Returns the slot index and its state word in
 * @word, or -ENOSPC (the caller answers at once).
 */
int execgate_core_add(struct execgate_core *core, int fd, pid_t pid, uint64_t now_ns,
		      uint64_t *word);
/*
 * execgate_core_answer - answer slot @idx with @response if it still holds
 * the event whose state word was @word.  Any thread.  Returns 0 if this
 * call answered (fd written and closed), -EALREADY if another did.
 */
int execgate_core_answer(struct execgate_core *core, unsigned int idx, uint64_t word,
			 uint32_t response, uint64_t now_ns);
/*
 * execgate_core_expire - the watchdog: answer with the default response
 * every event received before @now_ns - deadline.  Returns how many,
 * and the number still pending in @pending (may be NULL).
 */
unsigned int execgate_core_expire(struct execgate_core *core, uint64_t now_ns,
				  unsigned int *pending);
/* execgate_core_p99_ns - the 99th percentile answer latency (bucket top). */
uint64_t execgate_core_p99_ns(const struct execgate_core *core);

#endif
