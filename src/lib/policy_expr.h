/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy_expr - the rule language of policies: one rule string such as
 *   match programName == "/usr/bin/wget" and not (uid in [0, 1])
 * compiled once into a small tree, evaluated against an event without
 * allocating.  Used by policy.c; public so the tests can drive it.
 *
 * Fields (event.h names in brackets):
 *   programName [proc->exe]        programArgs [proc->cmdline, NULs -> ' ']
 *   parentProgramName [proc->parent->exe]   cwd [proc->cwd]
 *   pid ppid uid [proc->...]       userName [proc->user]
 *   containerId containerName [proc->container_id; no names are known yet]
 *   filePath [path; for rename the NEW name; for exec-open the binary]
 *   oldFilePath [rename: old name]  fileName [basename of filePath]
 *   fileOperation [create modify delete rename attrib; "exec" for
 *   EVENT_EXEC_OPEN, a file being executed]  eventType [event_type_name()]
 *   sha256 [file and exec-open events: the file; others: the process binary]
 * A comparison with a field the event does not have is false, except !=,
 * which is true.
 */
#ifndef SENSEON_POLICY_EXPR_H
#define SENSEON_POLICY_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "filehash.h"

struct event;
struct policy_expr;

enum policy_rule_kind {
	POLICY_RULE_MATCH,		/* match EXPR */
	POLICY_RULE_IGNORE,		/* ignore EXPR */
	POLICY_RULE_DEFAULT_MATCH,	/* default match */
	POLICY_RULE_DEFAULT_IGNORE,	/* default ignore */
};

/* Where and why a rule did not compile; @offset is a byte offset into
 * the rule string, pointing at the offending token. */
struct policy_expr_error {
	size_t offset;
	char msg[256];
};

/*
 * Per-event evaluation state, on the caller's stack: the lazily computed
 * sha256 is shared by every rule of every policy for one event.
 */
struct policy_eval_ctx {
	const struct event *ev;
	int sha_state;			/* 0 not yet, 1 have it, <0 -errno */
	char sha_hex[FILEHASH_HEX_LEN + 1];
};

static inline void policy_eval_ctx_init(struct policy_eval_ctx *c, const struct event *ev)
{
	c->ev = ev;
	c->sha_state = 0;
}

/**
 * policy_rule_compile - compile one rule string.
 * @src: the rule, @len bytes (need not be NUL-terminated)
 * @kind: receives the rule kind
 * @expr: receives the compiled expression (NULL for default rules)
 * @err: filled on failure
 *
 * Returns 0, -EINVAL with @err filled, or -ENOMEM.
 */
int policy_rule_compile(const char *src, size_t len, enum policy_rule_kind *kind,
			struct policy_expr **expr, struct policy_expr_error *err);

/* policy_expr_free - free a compiled expression (NULL is fine). */
void policy_expr_free(struct policy_expr *e);

/**
 * policy_expr_eval - evaluate @e for @c->ev.
 *
 * Allocates nothing itself; the only I/O is reading a file for sha256,
 * at most once per context and cached by filehash.  Returns the truth value.
 */
bool policy_expr_eval(const struct policy_expr *e, struct policy_eval_ctx *c);

/* Called with each literal of policy_expr_program_names(). */
typedef int (*policy_name_fn)(const char *name, size_t len, void *arg);

/**
 * policy_expr_program_names - the programName literals @e requires.
 * @e: a compiled expression
 * @fn: called for each literal (stops at the first non-zero return)
 * @arg: passed to @fn
 *
 * When @e can only be true for an event whose programName equals one of
 * a fixed set of literals (`programName == "x"` or `programName in [...]`
 * as a conjunct of the top-level `and`, or on every side of an `or`),
 * reports that set and returns 0; @fn's first non-zero return is passed
 * back.  Returns -ENOENT when @e has no such requirement (the literals
 * of one conjunct suffice: any conjunct's set is a necessary condition).
 * Lets the policy set index policies by program name.
 */
int policy_expr_program_names(const struct policy_expr *e, policy_name_fn fn, void *arg);

/* policy_expr_uses_sha256 - whether evaluating @e may hash a file. */
bool policy_expr_uses_sha256(const struct policy_expr *e);

/*
 * policy_expr_names_exec - whether @e compares fileOperation with "exec"
 * through == or in: what makes a file policy look at exec-open events.
 */
bool policy_expr_names_exec(const struct policy_expr *e);

/*
 * policy_expr_gate_blind - the first field of @e the exec gate cannot see
 * before the exec (programArgs: argv is not known yet; sha256: hashing is
 * file I/O the gate does not do), with its byte offset in the rule in
 * @offset; NULL when @e uses neither.
 */
const char *policy_expr_gate_blind(const struct policy_expr *e, size_t *offset);

#endif
