/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy - YAML policies in the Sophos Linux Sensor style, compiled once
 * into an immutable, reference-counted policy set.
 *
 * A reload builds a new set and swaps it in; evaluations in flight keep
 * the set they pinned.  Evaluation reads only the event and the compiled
 * rules: no allocation and no I/O on the hot path (sha256 aside, which is
 * computed lazily and cached by inode and mtime).
 */
#ifndef SENSEON_POLICY_H
#define SENSEON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;

enum policy_type { POLICY_PROGRAM, POLICY_FILE, POLICY_CONTAINER };

enum response_kind {
	RESPONSE_KILL,
	RESPONSE_KILL_TREE,
	RESPONSE_STOP,
	RESPONSE_KILL_CONTAINER,
	RESPONSE_QUARANTINE,
	RESPONSE_DELETE,
	RESPONSE_DENY,
	RESPONSE_SCRIPT,
};

struct response_action {
	enum response_kind kind;
	char *script;		/* RESPONSE_SCRIPT: script name */
	char **args;		/* RESPONSE_SCRIPT: NULL-terminated arguments */
};

struct policy_rules;		/* compiled rules, private to policy.c */
struct policy_index;

struct policy {
	char *name;
	enum policy_type type;
	char *priority;		/* as written: Low, Medium, High, Critical ... */
	bool enabled;
	bool dry_run;
	char *alert_message;
	char *comments;
	struct response_action *actions;
	size_t n_actions;
	char *file;		/* where it was defined */
	unsigned int line;
	struct policy_rules *rules;
	/* file policy: a rule names fileOperation "exec" (== or in), so it
	 * also sees exec-open events, and the exec gate evaluates it */
	bool file_exec;
};

struct policy_set {
	int refcount;
	struct policy **policies;
	size_t n_policies;
	bool uses_deny;		/* some enabled policy has a deny action */
	struct policy_index *index;	/* per event class, private to policy.c */
};

const char *response_kind_name(enum response_kind kind);
const char *policy_type_name(enum policy_type type);

/*
 * policy_set_load_dir - parse every *.yaml / *.yml file in @dir (sorted)
 * into a new set.  On any error returns NULL and writes
 * "FILE:LINE:COLUMN: what was expected" into @err.
 */
struct policy_set *policy_set_load_dir(const char *dir, char *err, size_t errlen);
/* policy_set_load_file - the same for one file. */
struct policy_set *policy_set_load_file(const char *path, char *err, size_t errlen);
struct policy_set *policy_set_get(struct policy_set *ps);
void policy_set_put(struct policy_set *ps);

/*
 * policy_set_eval - the enabled policies of @ps that match @ev, in file
 * order, into @out (at most @max).  Returns how many matched.
 */
size_t policy_set_eval(const struct policy_set *ps, const struct event *ev,
		       const struct policy **out, size_t max);

/*
 * policy_applies - whether @p's type makes it look at @ev at all:
 * program policies see EVENT_PROC_EXEC, file policies EVENT_FILE_* (and
 * EVENT_EXEC_OPEN when file_exec), container policies any event but
 * EVENT_EXEC_OPEN of a process with a container id.
 */
bool policy_applies(const struct policy *p, const struct event *ev);
/*
 * policy_match - run @p's rules (top-down, first hit decides) on @ev,
 * ignoring enabled and type.  Same allocation rules as policy_set_eval.
 */
bool policy_match(const struct policy *p, const struct event *ev);
/*
 * policy_uses_sha256 - whether evaluating @p's rules may hash a file (the
 * exec gate does no file I/O, so it does not evaluate such policies).
 */
bool policy_uses_sha256(const struct policy *p);
/*
 * policy_names_programs - whether every match rule of program policy @p
 * names the programs it can match (programName == or in literals), so
 * that an exec of any other program cannot match it.
 */
bool policy_names_programs(const struct policy *p);
/*
 * policy_set_exec_named - the enabled program policies of @ps that name
 * @exe (of @len bytes), as indexes into ps->policies, in @pol; returns how
 * many.  With policy_names_programs() this tells, from the binary alone,
 * which policies an exec could match (the exec gate asks before it looks
 * up the calling process).
 */
size_t policy_set_exec_named(const struct policy_set *ps, const char *exe, size_t len,
			     const uint32_t **pol);
/* response_kind_from_name - "kill" ... "script"; -1 if unknown. */
int response_kind_from_name(const char *name);

#endif
