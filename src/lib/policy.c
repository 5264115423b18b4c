/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy - load YAML policy files into an immutable policy set and
 * evaluate events against it.
 *
 * Overview: owns policy sets, the policies in them, their response
 * actions and compiled rules (the expressions themselves are compiled and
 * owned per rule through policy_expr).  It never owns events.  A set is
 * built completely (all files of a directory, all-or-nothing) before
 * anyone sees it, and is never modified afterwards: readers pin it with
 * policy_set_get() and the last policy_set_put() frees it, so a reload
 * can swap sets under evaluations in flight.
 *
 * Parsing uses libyaml's document API: every node keeps its marks, so any
 * error names FILE:LINE:COLUMN.  Errors inside a rule string point at the
 * offending token: the rule's mark plus the token's offset, mapped back
 * through the YAML quoting of that scalar.
 *
 * Evaluation pre-filters by event class (exec, file, other, file-exec)
 * through four index arrays built at load, keeping file order, so an exec
 * storm only walks the program and container policies (and, for the
 * exec-open of each binary, the few file policies that name
 * fileOperation "exec").  Exec events are filtered
 * once more by program name: a policy whose every match rule requires
 * `programName == "..."` or `programName in [...]` (policy_expr_program_names)
 * can only match those binaries, so it sits in a hash table under each
 * name instead of in the list scanned for every exec.  The set of a
 * policy with `default match` is unbounded: it is always scanned.
 */
#include "policy.h"
#include "policy_expr.h"
#include "event.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Policy files are written by people: anything larger is a mistake. */
#define MAX_FILE_SIZE	(4 * 1024 * 1024)

struct policy_rule {
	enum policy_rule_kind kind;
	struct policy_expr *expr;
};

struct policy_rules {
	struct policy_rule *v;
	size_t n;
};

/* CLASS_FILE_EXEC: exec-open events (a file being executed), seen only by
 * the file policies that name fileOperation "exec". */
enum event_class { CLASS_EXEC, CLASS_FILE, CLASS_OTHER, CLASS_FILE_EXEC, CLASS_MAX };

/* Exec policies that can only match one program name (borrowed from the
 * compiled literal, which lives as long as the set), in file order. */
struct name_slot {
	const char *name;		/* NULL: empty slot */
	size_t len;
	uint32_t *pol;
	size_t n, cap;
};

struct policy_index {
	uint32_t *idx[CLASS_MAX];
	size_t n[CLASS_MAX];
	/* CLASS_EXEC split: policies scanned for every exec, and by name */
	uint32_t *exec_scan;
	size_t n_exec_scan;
	struct name_slot *names;
	size_t n_slots;			/* a power of two, or 0 */
};

static const char *const kind_names[] = {
	[RESPONSE_KILL] = "kill",
	[RESPONSE_KILL_TREE] = "kill-tree",
	[RESPONSE_STOP] = "stop",
	[RESPONSE_KILL_CONTAINER] = "kill-container",
	[RESPONSE_QUARANTINE] = "quarantine",
	[RESPONSE_DELETE] = "delete",
	[RESPONSE_DENY] = "deny",
	[RESPONSE_SCRIPT] = "script",
};

static const char *const type_names[] = {
	[POLICY_PROGRAM] = "program",
	[POLICY_FILE] = "file",
	[POLICY_CONTAINER] = "container",
};

const char *response_kind_name(enum response_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

int response_kind_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(kind_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *policy_type_name(enum policy_type type)
{
	if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[type];
}

/* ---- freeing ---- */

static void rules_free(struct policy_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		policy_expr_free(r->v[i].expr);
	free(r->v);
	free(r);
}

static void action_clear(struct response_action *a)
{
	free(a->script);
	if (a->args)
		for (char **p = a->args; *p; p++)
			free(*p);
	free(a->args);
}

static void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_actions; i++)
		action_clear(&p->actions[i]);
	free(p->actions);
	free(p->name);
	free(p->priority);
	free(p->alert_message);
	free(p->comments);
	free(p->file);
	rules_free(p->rules);
	free(p);
}

static void set_free(struct policy_set *ps)
{
	for (size_t i = 0; i < ps->n_policies; i++)
		policy_free(ps->policies[i]);
	free(ps->policies);
	if (ps->index) {
		for (int c = 0; c < CLASS_MAX; c++)
			free(ps->index->idx[c]);
		free(ps->index->exec_scan);
		for (size_t i = 0; i < ps->index->n_slots; i++)
			free(ps->index->names[i].pol);
		free(ps->index->names);
	}
	free(ps->index);
	free(ps);
}

struct policy_set *policy_set_get(struct policy_set *ps)
{
	if (ps)
		__atomic_add_fetch(&ps->refcount, 1, __ATOMIC_RELAXED);
	return ps;
}

void policy_set_put(struct policy_set *ps)
{
	if (ps && __atomic_sub_fetch(&ps->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		set_free(ps);
}

/* ---- loading: errors and marks ---- */

struct loader {
	const char *file;
	const unsigned char *text;	/* the whole file, to map columns */
	size_t text_len;
	yaml_document_t *doc;
	struct policy_set *ps;
	char *err;
	size_t errlen;
};

static int lerr_at(struct loader *ld, size_t line, size_t col, const char *fmt, va_list ap)
{
	int n = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: ", ld->file, line + 1, col + 1);

	if (n >= 0 && (size_t)n < ld->errlen)
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

static int lerr(struct loader *ld, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int lerr(struct loader *ld, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lerr_at(ld, m->line, m->column, fmt, ap);
	va_end(ap);
	return rc;
}

static int lerr_nomem(struct loader *ld)
{
	snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
	return -ENOMEM;
}

static bool utf8_lead(unsigned char c)
{
	return (c & 0xc0) != 0x80;
}

/* Byte position in the file of (line, column in characters), or -1. */
static long text_pos(const struct loader *ld, size_t line, size_t col)
{
	size_t i = 0;

	for (size_t l = 0; l < line; i++) {
		if (i >= ld->text_len)
			return -1;
		if (ld->text[i] == '\n')
			l++;
	}
	for (size_t c = 0; c < col; c++) {
		if (i >= ld->text_len || ld->text[i] == '\n')
			return -1;
		for (i++; i < ld->text_len && !utf8_lead(ld->text[i]); i++)
			;
	}
	return (long)i;
}

/* Raw length of the escape at @p in a double-quoted YAML scalar. */
static size_t escape_len(const unsigned char *p, size_t avail)
{
	size_t n = 2;

	if (avail < 2)
		return avail;
	if (p[1] == 'x')
		n = 4;
	else if (p[1] == 'u')
		n = 6;
	else if (p[1] == 'U')
		n = 10;
	return n < avail ? n : avail;
}

/*
 * rule_error - report an error at byte @offset of the rule held by the
 * scalar @node.  Single-line plain and quoted scalars map exactly; for
 * block and multi-line scalars the scalar's own mark is the best we have.
 */
static int rule_error(struct loader *ld, const yaml_node_t *node, size_t offset,
		      const char *fmt, ...)
{
	const yaml_mark_t *m = &node->start_mark;
	yaml_scalar_style_t style = node->data.scalar.style;
	size_t col = m->column, decoded = 0;
	long pos = text_pos(ld, m->line, m->column);
	va_list ap;
	int rc;

	if (pos < 0 || style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE)
		goto out;
	size_t i = (size_t)pos;

	if (style != YAML_PLAIN_SCALAR_STYLE) {
		i++;
		col++;
	}
	while (decoded < offset && i < ld->text_len && ld->text[i] != '\n') {
		size_t raw = 1;

		if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && ld->text[i] == '\\')
			raw = escape_len(ld->text + i, ld->text_len - i);
		else if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && ld->text[i] == '\'')
			raw = 2;
		for (size_t k = 0; k < raw && i < ld->text_len; k++, i++)
			col += utf8_lead(ld->text[i]);
		decoded++;
	}
	if (decoded < offset)
		col = m->column;	/* folded over lines: give the scalar */
out:
	va_start(ap, fmt);
	rc = lerr_at(ld, m->line, col, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- loading: scalars ---- */

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int want_scalar(struct loader *ld, const yaml_node_t *n, const char *key)
{
	if (n->type == YAML_SCALAR_NODE)
		return 0;
	return lerr(ld, &n->start_mark, "%s: expected a single value, found %s", key,
		    node_kind(n));
}

static int dup_scalar(struct loader *ld, const yaml_node_t *n, const char *key, char **out)
{
	if (want_scalar(ld, n, key))
		return -EINVAL;
	free(*out);
	*out = strdup(sval(n));
	return *out ? 0 : lerr_nomem(ld);
}

static int parse_bool(struct loader *ld, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (want_scalar(ld, n, key))
		return -EINVAL;
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(sval(n), yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(sval(n), no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return lerr(ld, &n->start_mark, "%s: expected true or false, found \"%s\"", key, sval(n));
}

/* ---- loading: the keys of one policy ---- */

static int key_policy(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	if (want_scalar(ld, n, "policy"))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(sval(n), type_names[i]) == 0) {
			p->type = (enum policy_type)i;
			return 0;
		}
	}
	return lerr(ld, &n->start_mark, "policy: expected program, file or container, found \"%s\"",
		    sval(n));
}

static int key_priority(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	static const char *const known[] = { "Informational", "Low", "Medium", "High", "Critical" };

	if (want_scalar(ld, n, "priority"))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(sval(n), known[i]) == 0)
			return dup_scalar(ld, n, "priority", &p->priority);
	return lerr(ld, &n->start_mark, "priority: expected Informational, Low, Medium, High "
		    "or Critical, found \"%s\"", sval(n));
}

static int key_enabled(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	return parse_bool(ld, n, "enabled", &p->enabled);
}

static int key_dry_run(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	return parse_bool(ld, n, "dryRun", &p->dry_run);
}

static int key_alert_message(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	return dup_scalar(ld, n, "alertMessage", &p->alert_message);
}

static int key_comments(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	return dup_scalar(ld, n, "comments", &p->comments);
}

/* "NAME [args...]" of a script action; the name is looked up in the
 * scripts directory, so it may not climb out of it. */
static int parse_script(struct loader *ld, const yaml_node_t *n, const char *spec,
			struct response_action *a)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	size_t argc = 0;
	int rc = -EINVAL;

	if (!copy)
		return lerr_nomem(ld);
	a->kind = RESPONSE_SCRIPT;
	tok = strtok_r(copy, " \t\n", &save);
	if (!tok || strchr(tok, '/') || tok[0] == '.') {
		lerr(ld, &n->start_mark, "script: expected a script name (no \"/\", not starting "
		     "with \".\") and optional arguments, found \"%s\"", spec);
		goto out;
	}
	a->script = strdup(tok);
	a->args = calloc(strlen(spec) / 2 + 2, sizeof(char *));
	if (!a->script || !a->args)
		goto nomem;
	while ((tok = strtok_r(NULL, " \t\n", &save)))
		if (!(a->args[argc++] = strdup(tok)))
			goto nomem;
	rc = 0;
	goto out;
nomem:
	rc = lerr_nomem(ld);
out:
	free(copy);
	return rc;
}

static int parse_action(struct loader *ld, const yaml_node_t *n, struct response_action *a)
{
	static const char prefix[] = "script:";
	int kind;

	if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *pair = n->data.mapping.pairs.start;
		yaml_node_t *k, *v;

		if (n->data.mapping.pairs.top - pair != 1)
			goto bad_map;
		k = yaml_document_get_node(ld->doc, pair->key);
		v = yaml_document_get_node(ld->doc, pair->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE || strcmp(sval(k), "script"))
			goto bad_map;
		if (want_scalar(ld, v, "script"))
			return -EINVAL;
		return parse_script(ld, v, sval(v), a);
	}
	if (want_scalar(ld, n, "responseActions item"))
		return -EINVAL;
	if (strncmp(sval(n), prefix, sizeof(prefix) - 1) == 0)
		return parse_script(ld, n, sval(n) + sizeof(prefix) - 1, a);
	kind = response_kind_from_name(sval(n));
	if (kind < 0 || kind == RESPONSE_SCRIPT)
		return lerr(ld, &n->start_mark, "unknown response action \"%s\": expected kill, "
			    "kill-tree, stop, kill-container, quarantine, delete, deny or "
			    "script: NAME [ARGS]", sval(n));
	a->kind = (enum response_kind)kind;
	return 0;
bad_map:
	return lerr(ld, &n->start_mark, "responseActions: a mapping item must be "
		    "\"script: NAME [ARGS]\"");
}

static int key_actions(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t count;

	if (n->type == YAML_SCALAR_NODE && sval(n)[0] == '\0')
		return 0;	/* "responseActions:" with nothing: alert only */
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(ld, &n->start_mark, "responseActions: expected a list, found %s",
			    node_kind(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	p->actions = calloc(count ? count : 1, sizeof(*p->actions));
	if (!p->actions)
		return lerr_nomem(ld);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);

		if (!item)
			continue;
		p->n_actions++;
		if (parse_action(ld, item, &p->actions[p->n_actions - 1]))
			return -EINVAL;
	}
	return 0;
}

static int add_rule(struct loader *ld, struct policy_rules *r, const yaml_node_t *n)
{
	struct policy_expr_error e = { 0 };
	struct policy_rule *rule = &r->v[r->n];
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return lerr(ld, &n->start_mark, "rules: each rule is a string such as "
			    "'match programName == \"/usr/bin/wget\"', found %s", node_kind(n));
	rc = policy_rule_compile(sval(n), n->data.scalar.length, &rule->kind, &rule->expr, &e);
	if (rc == -ENOMEM)
		return lerr_nomem(ld);
	if (rc)
		return rule_error(ld, n, e.offset, "%s", e.msg);
	r->n++;
	return 0;
}

static bool is_default(enum policy_rule_kind k)
{
	return k == POLICY_RULE_DEFAULT_MATCH || k == POLICY_RULE_DEFAULT_IGNORE;
}

static bool has_deny(const struct policy *p)
{
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].kind == RESPONSE_DENY)
			return true;
	return false;
}

/*
 * A deny policy is decided by the exec gate before the exec, where argv is
 * not known yet and no file is hashed: a rule on programArgs or sha256
 * would silently decide differently there than after the exec (or not at
 * all), so it is refused, at the field.  (responseActions is applied
 * before rules, so the actions are known here.)
 */
static int gate_check(struct loader *ld, const struct policy *p, const yaml_node_t *item,
		      const struct policy_expr *e)
{
	const char *field;
	size_t at = 0;

	if (!has_deny(p) || !(field = policy_expr_gate_blind(e, &at)))
		return 0;
	return rule_error(ld, item, at, "%s cannot be used in a policy with the deny action: "
			  "the exec gate decides before the exec, when %s", field,
			  strcmp(field, "sha256") == 0 ?
			  "no file is hashed (hashing is file I/O)" : "the arguments are not known yet");
}

static int key_rules(struct loader *ld, struct policy *p, const yaml_node_t *n)
{
	struct policy_rules *r;
	yaml_node_item_t *it;
	yaml_node_t *item = NULL;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(ld, &n->start_mark, "rules: expected a list of rules ending with "
			    "\"default match\" or \"default ignore\", found %s", node_kind(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return lerr(ld, &n->start_mark, "rules: the list is empty: expected rules ending "
			    "with \"default match\" or \"default ignore\"");
	r = p->rules = calloc(1, sizeof(*r));
	if (!r || !(r->v = calloc(count, sizeof(*r->v))))
		return lerr_nomem(ld);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		item = yaml_document_get_node(ld->doc, *it);
		if (!item)
			continue;
		if (r->n && is_default(r->v[r->n - 1].kind))
			return lerr(ld, &item->start_mark, "rules: nothing may follow the "
				    "\"default\" rule: it must be the last");
		if (add_rule(ld, r, item) || gate_check(ld, p, item, r->v[r->n - 1].expr))
			return -EINVAL;
		if (p->type == POLICY_FILE && policy_expr_names_exec(r->v[r->n - 1].expr))
			p->file_exec = true;
	}
	if (!r->n || !is_default(r->v[r->n - 1].kind))
		return lerr(ld, item ? &item->end_mark : &n->end_mark, "rules: missing closing "
			    "\"default match\" or \"default ignore\" as the last rule");
	return 0;
}

/*
 * The keys of a policy, in the order they are applied: `policy` first,
 * because checking the response actions needs the type.
 */
static const struct {
	const char *key;
	bool required;
	int (*parse)(struct loader *ld, struct policy *p, const yaml_node_t *n);
} policy_keys[] = {
	{ "policy", true, key_policy },
	{ "priority", false, key_priority },
	{ "enabled", false, key_enabled },
	{ "dryRun", false, key_dry_run },
	{ "alertMessage", false, key_alert_message },
	{ "comments", false, key_comments },
	{ "responseActions", false, key_actions },
	{ "rules", true, key_rules },
};
#define N_KEYS (sizeof(policy_keys) / sizeof(policy_keys[0]))

static bool action_allowed(enum response_kind k, enum policy_type t)
{
	switch (k) {
	case RESPONSE_QUARANTINE:
	case RESPONSE_DELETE:
		return t == POLICY_FILE;
	case RESPONSE_DENY:
		return t == POLICY_PROGRAM || t == POLICY_FILE;
	default:
		return true;
	}
}

static int check_actions(struct loader *ld, const struct policy *p, const yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t i = 0;

	if (!n || n->type != YAML_SEQUENCE_NODE)
		return 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);

		if (item && i < p->n_actions && !action_allowed(p->actions[i].kind, p->type))
			return lerr(ld, &item->start_mark, "response action %s is not allowed in "
				    "a %s policy (%s)", response_kind_name(p->actions[i].kind),
				    policy_type_name(p->type),
				    p->actions[i].kind == RESPONSE_DENY ?
				    "deny needs a program or file policy" :
				    "quarantine and delete need a file policy");
		if (item && i < p->n_actions && p->actions[i].kind == RESPONSE_DENY &&
		    p->type == POLICY_FILE && !p->file_exec)
			return lerr(ld, &item->start_mark, "response action deny in a file policy "
				    "needs a rule with fileOperation == \"exec\" (only an exec can be "
				    "denied)");
	}
	return 0;
}

/* Sort the pairs of the mapping @n into @vals by key, rejecting unknown
 * and repeated keys. */
static int collect_keys(struct loader *ld, const yaml_node_t *n, const char *name,
			yaml_node_t *vals[N_KEYS])
{
	yaml_node_pair_t *pair;

	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
		size_t i;

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE)
			return lerr(ld, &k->start_mark, "policy \"%s\": expected a key, found %s",
				    name, node_kind(k));
		for (i = 0; i < N_KEYS; i++)
			if (strcmp(sval(k), policy_keys[i].key) == 0)
				break;
		if (i == N_KEYS)
			return lerr(ld, &k->start_mark, "policy \"%s\": unknown key \"%s\" "
				    "(expected policy, priority, enabled, dryRun, alertMessage, "
				    "comments, responseActions or rules)", name, sval(k));
		if (vals[i])
			return lerr(ld, &k->start_mark, "policy \"%s\": duplicate key \"%s\"",
				    name, sval(k));
		vals[i] = v;
	}
	return 0;
}

static const struct policy *find_policy(const struct policy_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_policies; i++)
		if (strcmp(ps->policies[i]->name, name) == 0)
			return ps->policies[i];
	return NULL;
}

static int parse_policy(struct loader *ld, const yaml_node_t *kn, const yaml_node_t *vn,
			struct policy *p)
{
	yaml_node_t *vals[N_KEYS] = { 0 };
	const struct policy *dup;
	const char *name;

	if (kn->type != YAML_SCALAR_NODE || !sval(kn)[0])
		return lerr(ld, &kn->start_mark, "expected a policy name, found %s",
			    kn->type == YAML_SCALAR_NODE ? "an empty string" : node_kind(kn));
	name = sval(kn);
	dup = find_policy(ld->ps, name);
	if (dup)
		return lerr(ld, &kn->start_mark, "duplicate policy name \"%s\" (first defined at "
			    "%s:%u)", name, dup->file, dup->line);
	p->name = strdup(name);
	p->file = strdup(ld->file);
	p->priority = strdup("Medium");
	if (!p->name || !p->file || !p->priority)
		return lerr_nomem(ld);
	p->line = (unsigned int)kn->start_mark.line + 1;
	p->enabled = true;
	if (vn->type != YAML_MAPPING_NODE)
		return lerr(ld, &vn->start_mark, "policy \"%s\": expected a mapping of policy keys, "
			    "found %s", name, node_kind(vn));
	if (collect_keys(ld, vn, name, vals))
		return -EINVAL;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (!vals[i] && policy_keys[i].required)
			return lerr(ld, &kn->start_mark, "policy \"%s\": missing required key "
				    "\"%s\"", name, policy_keys[i].key);
		if (vals[i] && policy_keys[i].parse(ld, p, vals[i]))
			return -EINVAL;
	}
	for (size_t i = 0; i < N_KEYS; i++)
		if (policy_keys[i].parse == key_actions)
			return check_actions(ld, p, vals[i]);
	return 0;
}

static int add_policy(struct loader *ld, const yaml_node_t *kn, const yaml_node_t *vn)
{
	struct policy_set *ps = ld->ps;
	struct policy **np, *p;

	np = realloc(ps->policies, (ps->n_policies + 1) * sizeof(*np));
	if (!np)
		return lerr_nomem(ld);
	ps->policies = np;
	p = calloc(1, sizeof(*p));
	if (!p)
		return lerr_nomem(ld);
	if (parse_policy(ld, kn, vn, p)) {
		policy_free(p);
		return -EINVAL;
	}
	ps->policies[ps->n_policies++] = p;
	return 0;
}

static int load_document(struct loader *ld, yaml_node_t *root)
{
	yaml_node_pair_t *pair;

	if (root->type == YAML_SCALAR_NODE && !sval(root)[0])
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return lerr(ld, &root->start_mark, "expected a mapping of policy names to "
			    "policies, found %s", node_kind(root));
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);

		if (k && v && add_policy(ld, k, v))
			return -EINVAL;
	}
	return 0;
}

static int yaml_error(struct loader *ld, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = &parser->problem_mark;

	if (parser->error == YAML_MEMORY_ERROR)
		return lerr_nomem(ld);
	if (parser->context)
		return lerr(ld, m, "YAML syntax error: %s %s", parser->problem, parser->context);
	return lerr(ld, m, "YAML syntax error: %s", parser->problem ? parser->problem : "unknown");
}

static int load_text(struct loader *ld)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return lerr_nomem(ld);
	yaml_parser_set_input_string(&parser, ld->text, ld->text_len);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			rc = yaml_error(ld, &parser);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		ld->doc = &doc;
		rc = load_document(ld, root);
		ld->doc = NULL;
		yaml_document_delete(&doc);
		if (rc)
			break;
	}
	yaml_parser_delete(&parser);
	return rc;
}

static int read_file(struct loader *ld, const char *path, unsigned char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	unsigned char *buf = NULL;
	struct stat st;
	size_t n = 0;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(ld->err, ld->errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		rc = -EINVAL;
		snprintf(ld->err, ld->errlen, "%s: not a regular file of at most %d bytes",
			 path, MAX_FILE_SIZE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = lerr_nomem(ld);
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int load_into(struct policy_set *ps, const char *path, char *err, size_t errlen)
{
	struct loader ld = { .file = path, .ps = ps, .err = err, .errlen = errlen };
	unsigned char *text = NULL;
	int rc;

	rc = read_file(&ld, path, &text, &ld.text_len);
	if (rc)
		return rc;
	ld.text = text;
	rc = load_text(&ld);
	free(text);
	return rc;
}

/* ---- sets ---- */

static struct policy_set *set_new(void)
{
	struct policy_set *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->refcount = 1;
	ps->index = calloc(1, sizeof(*ps->index));
	if (!ps->index) {
		free(ps);
		return NULL;
	}
	return ps;
}

static bool sees_class(const struct policy *p, enum event_class c)
{
	switch (p->type) {
	case POLICY_PROGRAM: return c == CLASS_EXEC;
	case POLICY_FILE: return c == CLASS_FILE || (c == CLASS_FILE_EXEC && p->file_exec);
	/* an exec-open carries the caller before its exec: container
	 * policies already see that exec as the exec event */
	case POLICY_CONTAINER: return c != CLASS_FILE_EXEC;
	}
	return false;
}

/* FNV-1a: program names are short, and this is not exposed to collisions
 * an attacker controls in any way that costs more than a longer chain. */
static size_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return (size_t)h;
}

static struct name_slot *name_find(const struct policy_index *ix, const char *s, size_t len)
{
	size_t mask = ix->n_slots - 1, i;

	if (!ix->n_slots)
		return NULL;
	for (i = name_hash(s, len) & mask;; i = (i + 1) & mask) {
		struct name_slot *slot = &ix->names[i];

		if (!slot->name)
			return slot;
		if (slot->len == len && memcmp(slot->name, s, len) == 0)
			return slot;
	}
}

struct name_add {
	struct policy_index *ix;
	uint32_t pol;
};

static int name_add(const char *name, size_t len, void *arg)
{
	struct name_add *a = arg;
	struct name_slot *slot = name_find(a->ix, name, len);

	if (!slot->name) {
		slot->name = name;
		slot->len = len;
	}
	/* the same name twice in one policy: listed once */
	if (slot->n && slot->pol[slot->n - 1] == a->pol)
		return 0;
	if (slot->n == slot->cap) {
		size_t cap = slot->cap ? slot->cap * 2 : 2;
		uint32_t *v = realloc(slot->pol, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		slot->pol = v;
		slot->cap = cap;
	}
	slot->pol[slot->n++] = a->pol;
	return 0;
}

static int name_count(const char *name, size_t len, void *arg)
{
	(void)name;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

/* Whether every match rule of @p names its programs (see the Overview). */
static bool by_name(const struct policy *p)
{
	size_t n = 0;

	if (!p->rules)
		return false;
	for (size_t i = 0; i < p->rules->n; i++) {
		const struct policy_rule *r = &p->rules->v[i];

		if (r->kind == POLICY_RULE_DEFAULT_MATCH)
			return false;
		if (r->kind == POLICY_RULE_DEFAULT_IGNORE)
			break;		/* nothing after it runs */
		if (r->kind == POLICY_RULE_MATCH &&
		    policy_expr_program_names(r->expr, name_count, &n))
			return false;
	}
	return true;
}

/* Split the exec class into the always-scanned list and the name table. */
static int index_exec_names(struct policy_set *ps)
{
	struct policy_index *ix = ps->index;
	size_t names = 0, slots = 16;

	ix->exec_scan = calloc(ix->n[CLASS_EXEC] ? ix->n[CLASS_EXEC] : 1, sizeof(uint32_t));
	if (!ix->exec_scan)
		return -ENOMEM;
	for (size_t i = 0; i < ix->n[CLASS_EXEC]; i++) {
		const struct policy *p = ps->policies[ix->idx[CLASS_EXEC][i]];

		if (!by_name(p))
			continue;
		for (size_t r = 0; r < p->rules->n; r++)
			if (p->rules->v[r].kind == POLICY_RULE_MATCH)
				policy_expr_program_names(p->rules->v[r].expr, name_count, &names);
	}
	while (slots < names * 2)
		slots *= 2;
	ix->names = calloc(slots, sizeof(*ix->names));
	if (!ix->names)
		return -ENOMEM;
	ix->n_slots = slots;
	for (size_t i = 0; i < ix->n[CLASS_EXEC]; i++) {
		uint32_t pi = ix->idx[CLASS_EXEC][i];
		const struct policy *p = ps->policies[pi];
		struct name_add a = { ix, pi };

		if (!by_name(p)) {
			ix->exec_scan[ix->n_exec_scan++] = pi;
			continue;
		}
		for (size_t r = 0; r < p->rules->n; r++) {
			const struct policy_rule *rule = &p->rules->v[r];

			if (rule->kind == POLICY_RULE_DEFAULT_IGNORE)
				break;
			if (rule->kind == POLICY_RULE_MATCH &&
			    policy_expr_program_names(rule->expr, name_add, &a))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Build the per-class index and uses_deny once the set is complete. */
static int set_finish(struct policy_set *ps, char *err, size_t errlen)
{
	struct policy_index *ix = ps->index;

	for (int c = 0; c < CLASS_MAX; c++) {
		ix->idx[c] = calloc(ps->n_policies ? ps->n_policies : 1, sizeof(uint32_t));
		if (!ix->idx[c]) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < ps->n_policies; i++) {
		const struct policy *p = ps->policies[i];

		if (!p->enabled)
			continue;
		for (size_t a = 0; a < p->n_actions; a++)
			if (p->actions[a].kind == RESPONSE_DENY)
				ps->uses_deny = true;
		for (int c = 0; c < CLASS_MAX; c++)
			if (sees_class(p, (enum event_class)c))
				ix->idx[c][ix->n[c]++] = (uint32_t)i;
	}
	if (index_exec_names(ps)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct policy_set *policy_set_load_file(const char *path, char *err, size_t errlen)
{
	struct policy_set *ps = set_new();

	if (!ps) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (load_into(ps, path, err, errlen) || set_finish(ps, err, errlen)) {
		set_free(ps);
		return NULL;
	}
	return ps;
}

static bool policy_file_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;	/* editor swap files, dpkg leftovers are dotfiles */
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted policy file names in @dir, malloc'd, into @names. */
static int list_dir(const char *dir, char ***names, size_t *n, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = NULL;
	size_t count = 0;

	if (!d) {
		int rc = -errno;

		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: cannot open directory: %s", dir, strerror(-rc));
		return rc;
	}
	while ((de = readdir(d))) {
		char **nv;

		if (!policy_file_name(de->d_name))
			continue;
		nv = realloc(v, (count + 1) * sizeof(*v));
		if (!nv || !(nv[count] = strdup(de->d_name))) {
			v = nv ? nv : v;
			closedir(d);
			*names = v;
			*n = count;
			snprintf(err, errlen, "%s: out of memory", dir);
			return -ENOMEM;
		}
		v = nv;
		count++;
	}
	closedir(d);
	if (count)
		qsort(v, count, sizeof(*v), cmp_names);
	*names = v;
	*n = count;
	return 0;
}

struct policy_set *policy_set_load_dir(const char *dir, char *err, size_t errlen)
{
	struct policy_set *ps = set_new();
	char **names = NULL, path[4096];
	size_t n = 0, i;
	int rc;

	if (!ps) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return NULL;
	}
	rc = list_dir(dir, &names, &n, err, errlen);
	for (i = 0; !rc && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rc = load_into(ps, path, err, errlen);
	}
	if (!rc)
		rc = set_finish(ps, err, errlen);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc) {
		set_free(ps);
		return NULL;
	}
	return ps;
}

/* ---- evaluation: no allocation below this line ---- */

static enum event_class class_of(const struct event *ev)
{
	if (ev->type == EVENT_PROC_EXEC)
		return CLASS_EXEC;
	if (event_is_file(ev))
		return CLASS_FILE;
	if (ev->type == EVENT_EXEC_OPEN)
		return CLASS_FILE_EXEC;
	return CLASS_OTHER;
}

static bool in_container(const struct event *ev)
{
	return ev->proc && ev->proc->container_id;
}

bool policy_applies(const struct policy *p, const struct event *ev)
{
	if (p->type == POLICY_CONTAINER && !in_container(ev))
		return false;
	return sees_class(p, class_of(ev));
}

static bool rules_match(const struct policy_rules *r, struct policy_eval_ctx *c)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct policy_rule *rule = &r->v[i];

		switch (rule->kind) {
		case POLICY_RULE_DEFAULT_MATCH: return true;
		case POLICY_RULE_DEFAULT_IGNORE: return false;
		case POLICY_RULE_MATCH:
			if (policy_expr_eval(rule->expr, c))
				return true;
			break;
		case POLICY_RULE_IGNORE:
			if (policy_expr_eval(rule->expr, c))
				return false;
			break;
		}
	}
	return false;
}

bool policy_uses_sha256(const struct policy *p)
{
	for (size_t i = 0; p->rules && i < p->rules->n; i++)
		if (policy_expr_uses_sha256(p->rules->v[i].expr))
			return true;
	return false;
}

bool policy_match(const struct policy *p, const struct event *ev)
{
	struct policy_eval_ctx c;

	policy_eval_ctx_init(&c, ev);
	return p->rules && rules_match(p->rules, &c);
}

/* Evaluate the policies of sorted lists @a and @b, merged in file order. */
static size_t eval_merged(const struct policy_set *ps, struct policy_eval_ctx *c,
			  const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
			  const struct policy **out, size_t max)
{
	bool contained = in_container(c->ev);
	size_t i = 0, j = 0, n = 0;

	while ((i < na || j < nb) && n < max) {
		uint32_t k;
		const struct policy *p;

		if (j >= nb || (i < na && a[i] < b[j]))
			k = a[i++];
		else
			k = b[j++];
		p = ps->policies[k];
		if (p->type == POLICY_CONTAINER && !contained)
			continue;
		if (rules_match(p->rules, c))
			out[n++] = p;
	}
	return n;
}

bool policy_names_programs(const struct policy *p)
{
	return p->type == POLICY_PROGRAM && by_name(p);
}

size_t policy_set_exec_named(const struct policy_set *ps, const char *exe, size_t len,
			     const uint32_t **pol)
{
	const struct name_slot *slot = exe ? name_find(ps->index, exe, len) : NULL;

	if (!slot || !slot->name) {
		*pol = NULL;
		return 0;
	}
	*pol = slot->pol;
	return slot->n;
}

size_t policy_set_eval(const struct policy_set *ps, const struct event *ev,
		       const struct policy **out, size_t max)
{
	enum event_class cls = class_of(ev);
	const struct policy_index *ix = ps->index;
	const struct bytes *exe = ev->proc ? &ev->proc->exe : NULL;
	const uint32_t *named;
	struct policy_eval_ctx c;
	size_t n_named;

	policy_eval_ctx_init(&c, ev);
	if (cls != CLASS_EXEC)
		return eval_merged(ps, &c, ix->idx[cls], ix->n[cls], NULL, 0, out, max);
	/* no programName: the policies listed by name cannot match */
	n_named = policy_set_exec_named(ps, exe ? exe->data : NULL, exe ? exe->len : 0, &named);
	return eval_merged(ps, &c, ix->exec_scan, ix->n_exec_scan, named, n_named, out, max);
}
