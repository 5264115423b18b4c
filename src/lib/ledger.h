/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ledger - the record of platform command ids, so that each command is
 * executed at most once, across reconnects and restarts.
 *
 * ledger_begin() writes "started" for an id and fdatasyncs it before the
 * command may run; ledger_finish() stores the command's final result.  A
 * command id seen again is not run: the caller gets the stored result,
 * or learns that the command is still running, or that it was
 * interrupted by a restart (it may or may not have completed: it is
 * never run a second time).
 *
 * The file (STATE_DIR/ledger.jsonl) is an append-only journal of JSON
 * lines, compacted (rewritten, then renamed over) when it holds more
 * than twice @max_entries ids; the newest @max_entries are kept.
 * Thread-safe.  Never prints; 0 or -errno.
 */
#ifndef SENSEON_LEDGER_H
#define SENSEON_LEDGER_H

#include <jansson.h>
#include <stddef.h>

struct ledger;

enum ledger_state {
	LEDGER_NEW,		/* never seen: claimed now, run it */
	LEDGER_RUNNING,		/* started in this process, no result yet */
	LEDGER_DONE,		/* finished: the stored result is returned */
	LEDGER_INTERRUPTED,	/* started before a restart, never finished */
};

/* The largest result stored; a larger one is stored as a summary. */
#define LEDGER_MAX_RESULT	(64u * 1024)

/*
 * ledger_open - load @path (created 0600 if missing; a torn last line
 * from a crash is ignored) keeping at most @max_entries ids (0: 10000).
 * Returns 0 or -errno.
 */
int ledger_open(const char *path, size_t max_entries, struct ledger **out);

/* ledger_close - free @l (NULL is fine). */
void ledger_close(struct ledger *l);

/*
 * ledger_begin - claim command @id (@cmd is recorded with it).  Returns
 * 0 with *@state LEDGER_NEW once the claim is on disk: run the command.
 * Otherwise returns 0 with *@state telling why not, and for LEDGER_DONE
 * *@result gets a new reference to the stored result (else NULL).
 * Returns -errno if the claim could not be made durable: do not run.
 */
int ledger_begin(struct ledger *l, const char *id, const char *cmd,
		 enum ledger_state *state, json_t **result);

/*
 * ledger_finish - store @result (an object, not stolen) as @id's final
 * result, durably.  Returns 0, -ENOENT (not claimed) or -errno.
 */
int ledger_finish(struct ledger *l, const char *id, const json_t *result);

/* ledger_count - ids remembered. */
size_t ledger_count(struct ledger *l);

#endif
