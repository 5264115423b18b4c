/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit - the tamper-evident audit trail: LOG_DIR/audit.jsonl, append-only
 * JSON lines, hash-chained with SHA-256 (docs/audit.md has the record
 * types and the exact hash definition).
 *
 * Every record is one line:
 *   {"seq": N, "time": "RFC 3339, ns, UTC", "type": "...",
 *    "prev": "<the previous record's hash, 64 zeros for the first ever>",
 *    "hash": "<sha256 hex of the record without \"hash\", as compact JSON
 *             with sorted keys>", ...fields}
 *
 * audit_append() writes the line with one write(2) on an O_APPEND fd and
 * returns only after fdatasync(2): an action is reported done only once
 * its record is on disk.  It is thread-safe; concurrent appenders share
 * one fdatasync (group commit).  The chain continues across rotation: the
 * first record of a new file carries the last hash of the old one.
 *
 * A chain detects edits, deletions, insertions and reordering by anyone
 * who cannot rewrite every later record.  What makes a rewrite detectable
 * too is a copy of the hashes kept elsewhere: the daemon logs each
 * record's hash to journald/syslog (see audit_set_notify()).
 */
#ifndef SENSEON_AUDIT_H
#define SENSEON_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_FILE		"audit.jsonl"
#define AUDIT_HASH_HEX_LEN	64

/*
 * audit_open - open (or create, mode 0600) LOG_DIR/audit.jsonl for
 * appending and pick the chain up from its last record.  A torn last line
 * (a crash mid-write) is closed with a newline and recorded as an
 * "audit.recovered" record.  An empty new file continues from the hash
 * and seq given by the newest rotated file (audit.jsonl.1 or
 * audit.jsonl.TIMESTAMP), if any.
 * @log_dir: the directory (must exist).
 *
 * Returns 0 or -errno (-EBUSY if already open, -EBADMSG if the last
 * complete record cannot be parsed, so the chain cannot be continued).
 */
int audit_open(const char *log_dir);

/*
 * audit_append - add one record and make it durable.
 * @type: the record type ("script.run", "process.kill" ... see docs/audit.md).
 * @fields: a JSON object of type-specific fields, or NULL.  Stolen (also
 *	on error), so callers may pass json_pack(...) directly.  The keys
 *	seq, time, type, prev and hash are reserved and overwritten.
 *
 * Returns 0 once the record is on disk, or -errno: -ENOTCONN (not open),
 * -EINVAL, -ENOMEM, or the error of write/fdatasync.  After a write error
 * the log is marked broken and every later append fails with -EIO rather
 * than leave a hole in the chain.
 */
int audit_append(const char *type, json_t *fields);

/*
 * audit_append_deferred - add one record to the chain (written, hashed,
 * in order) without waiting for the disk: it becomes durable with the
 * next audit_append() or audit_flush() of any thread (one fdatasync
 * covers every record written before it).  For records whose action is
 * reported done only later, by a record that is synced (a script's
 * start, before its end): one request, one fdatasync.  Same arguments
 * and errors as audit_append() except the fdatasync's.
 */
int audit_append_deferred(const char *type, json_t *fields);

/* audit_flush - make every record written so far durable.  0 or -errno. */
int audit_flush(void);

/*
 * audit_rotate - rename audit.jsonl to audit.jsonl.TIMESTAMP (UTC,
 * sortable), start a new audit.jsonl whose first record is
 * {"type": "audit.rotated", "previousFile": NAME, ...} chained to the
 * old file's last hash.  Returns 0 or -errno.
 */
int audit_rotate(void);

/*
 * audit_reopen - after an outside rename (logrotate, then SIGHUP): close
 * the fd and open LOG_DIR/audit.jsonl again, continuing the chain from
 * memory.  If the file changed, the first record in it is an
 * "audit.rotated" record.  Returns 0 or -errno.
 */
int audit_reopen(void);

/* audit_close - close the log (further appends return -ENOTCONN). */
void audit_close(void);

/*
 * audit_set_notify - called after each durable append with the record's
 * seq, type and hash, outside the lock, so the daemon can send the hash
 * off-host (syslog).  @fn may be NULL.  Set it before appending starts.
 */
typedef void (*audit_notify_fn)(uint64_t seq, const char *type, const char *hash);
void audit_set_notify(audit_notify_fn fn);

/*
 * audit_record_hash - the hash of @rec as the chain defines it: SHA-256
 * (hex, lower case) of json_dumps(@rec without "hash",
 * JSON_COMPACT | JSON_SORT_KEYS).  @out gets 65 bytes.  0 or -errno.
 */
int audit_record_hash(const json_t *rec, char out[AUDIT_HASH_HEX_LEN + 1]);

/* --- verification (senseonctl audit verify, tests) --- */

enum audit_severity {
	AUDIT_NOTE,	/* worth saying, not a break: a recovered torn line */
	AUDIT_BROKEN,	/* the chain is broken here: edited, deleted ... */
};

struct audit_issue {
	enum audit_severity severity;
	const char *file;	/* as given to audit_verify() */
	unsigned long line;	/* 1-based */
	uint64_t seq;		/* 0 when the record has none */
	const char *what;	/* "hash mismatch", "seq gap 41 -> 43" ... */
};

typedef void (*audit_issue_fn)(const struct audit_issue *issue, void *arg);

struct audit_verify_result {
	uint64_t records;	/* records read */
	uint64_t first_seq, last_seq;
	char last_hash[AUDIT_HASH_HEX_LEN + 1];
	unsigned long broken;	/* AUDIT_BROKEN issues */
	unsigned long notes;
};

/*
 * audit_verify - check the chain through @files, in the order given (one
 * chain across all of them).  Each problem is passed to @fn (may be NULL).
 * A chain may start anywhere (older files may have been removed by
 * rotation), but from its first record on, every hash, seq and prev must
 * follow.
 *
 * Returns 0 when the files were read (look at @res->broken), or -errno
 * when one could not be read.
 */
int audit_verify(const char *const *files, size_t nfiles, audit_issue_fn fn, void *arg,
		 struct audit_verify_result *res);

/*
 * audit_list_files - the audit files in @log_dir, oldest first: the
 * uncompressed rotated files (audit.jsonl.*, ordered by the seq of their
 * first record, so logrotate's .1/.2 and our timestamped names both
 * work), then audit.jsonl.  *@files is a NULL-terminated malloc'd array
 * freed with audit_free_list().  Compressed files (.gz) are skipped.
 * Returns the number of files or -errno.
 */
int audit_list_files(const char *log_dir, char ***files);
void audit_free_list(char **files);

#endif
