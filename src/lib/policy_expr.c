/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy_expr - compile rule strings into expression trees and evaluate
 * them against events.
 *
 * Overview: owns each compiled expression (its node array, the literal
 * values and the compiled regexes).  It does not own events or policies.
 * Compilation is a hand-written lexer and a recursive-descent parser with
 * a nesting limit (hostile policy files cannot exhaust the stack); every
 * error carries the byte offset of the offending token so policy.c can
 * turn it into FILE:LINE:COLUMN.  Evaluation walks the tree, compares with
 * memcmp on explicit lengths and never allocates: the one buffer it needs
 * (programArgs with NULs turned into spaces, for =~ and like) is a
 * per-thread static array.
 *
 * Grammar:
 *   rule    := ("match" | "ignore") expr | "default" ("match" | "ignore")
 *   expr    := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | "(" expr ")" | field op value
 *            | field "in" "[" value ("," value)* "]"
 *   op      := == != =~ like < <= > >=
 *   value   := "string" | 'string' | integer
 */
#include "policy_expr.h"
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH	64
/* programArgs for =~ and like is matched on at most this much (the
 * kernel's limit for a single argument, MAX_ARG_STRLEN); == and in
 * compare the whole vector. */
#define ARGS_SCRATCH	(128 * 1024)

enum field_type { FT_STR, FT_NUM };

enum field_id {
	F_PROGRAM_NAME, F_PROGRAM_ARGS, F_PARENT_PROGRAM_NAME, F_PID, F_PPID,
	F_UID, F_USER_NAME, F_CONTAINER_ID, F_CONTAINER_NAME, F_FILE_PATH,
	F_OLD_FILE_PATH, F_FILE_NAME, F_FILE_OPERATION, F_SHA256, F_CWD,
	F_EVENT_TYPE,
};

static const struct {
	const char *name;
	enum field_type type;
} fields[] = {
	[F_PROGRAM_NAME] = { "programName", FT_STR },
	[F_PROGRAM_ARGS] = { "programArgs", FT_STR },
	[F_PARENT_PROGRAM_NAME] = { "parentProgramName", FT_STR },
	[F_PID] = { "pid", FT_NUM },
	[F_PPID] = { "ppid", FT_NUM },
	[F_UID] = { "uid", FT_NUM },
	[F_USER_NAME] = { "userName", FT_STR },
	[F_CONTAINER_ID] = { "containerId", FT_STR },
	[F_CONTAINER_NAME] = { "containerName", FT_STR },
	[F_FILE_PATH] = { "filePath", FT_STR },
	[F_OLD_FILE_PATH] = { "oldFilePath", FT_STR },
	[F_FILE_NAME] = { "fileName", FT_STR },
	[F_FILE_OPERATION] = { "fileOperation", FT_STR },
	[F_SHA256] = { "sha256", FT_STR },
	[F_CWD] = { "cwd", FT_STR },
	[F_EVENT_TYPE] = { "eventType", FT_STR },
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

enum op { OP_EQ, OP_NE, OP_RE, OP_LIKE, OP_IN, OP_LT, OP_LE, OP_GT, OP_GE };

static const char *const op_names[] = {
	[OP_EQ] = "==", [OP_NE] = "!=", [OP_RE] = "=~", [OP_LIKE] = "like", [OP_IN] = "in",
	[OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=",
};

enum node_kind { N_AND, N_OR, N_NOT, N_CMP };

struct value {
	char *s;		/* NUL-terminated copy, for strings */
	size_t len;
	long long num;
};

/* Most globs are "PREFIX*", "*SUFFIX" or "*PART*": those are matched
 * with memcmp/memmem instead of fnmatch, which costs far more per call. */
enum glob_kind { GLOB_FNMATCH, GLOB_EXACT, GLOB_PREFIX, GLOB_SUFFIX, GLOB_INFIX };

struct node {
	enum node_kind kind;
	enum op op;
	enum glob_kind glob;
	const char *lit;	/* like fast paths: the literal part */
	size_t lit_len;
	enum field_id field;
	uint32_t lhs, rhs;	/* children: AND/OR both, NOT lhs */
	struct value *vals;
	size_t n_vals;
	regex_t *re;
	char *re_lit;		/* =~: bytes every match contains, or NULL */
	size_t re_lit_len;
};

struct policy_expr {
	struct node *nodes;
	size_t n, cap;
	uint32_t root;
	bool uses_sha256;
	bool names_exec;	/* fileOperation == or in with "exec" */
	bool gate_blind;	/* uses a field the exec gate cannot see */
	size_t gate_blind_at;	/* byte offset of its first use */
	enum field_id gate_blind_field;
};

/* ---- lexer ---- */

enum tok {
	T_EOF, T_IDENT, T_STR, T_INT, T_LP, T_RP, T_LB, T_RB, T_COMMA,
	T_EQ, T_NE, T_RE, T_LT, T_LE, T_GT, T_GE,
};

struct parser {
	const char *s;
	size_t len, pos;
	enum tok t;		/* current token */
	size_t start, tlen;	/* its place in s */
	char *str;		/* T_STR: decoded, malloc'd */
	size_t slen;
	long long num;
	struct policy_expr *e;
	struct policy_expr_error *err;
	int depth;
	int rc;			/* first error: -EINVAL or -ENOMEM */
};

static int perr(struct parser *p, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, size_t offset, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	p->rc = -EINVAL;
	return p->rc;
}

static int nomem(struct parser *p)
{
	if (!p->rc) {
		p->err->offset = 0;
		snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
		p->rc = -ENOMEM;
	}
	return p->rc;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static int lex_string(struct parser *p)
{
	char quote = p->s[p->pos];
	size_t i = p->pos + 1, n = 0;
	char *out = malloc(p->len - p->pos + 1);

	if (!out)
		return nomem(p);
	for (; i < p->len && p->s[i] != quote; i++) {
		char c = p->s[i];

		/* Single quotes are literal (handy for regexes); double
		 * quotes take the usual backslash escapes. */
		if (c == '\\' && quote == '"' && i + 1 < p->len) {
			c = p->s[++i];
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c != '"' && c != '\\') {
				free(out);
				return perr(p, i - 1, "unknown escape \"\\%c\" in string "
					    "(use \\\\, \\\", \\n or \\t)", c);
			}
		} else if (c == '\0') {
			free(out);
			return perr(p, i, "NUL byte in string");
		}
		out[n++] = c;
	}
	if (i >= p->len) {
		free(out);
		return perr(p, p->pos, "unterminated string: expected a closing %c", quote);
	}
	out[n] = '\0';
	p->str = out;
	p->slen = n;
	p->t = T_STR;
	p->pos = i + 1;
	return 0;
}

static int lex_number(struct parser *p)
{
	size_t i = p->pos;
	bool neg = false;
	unsigned long long v = 0;

	if (p->s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= p->len || !is_digit(p->s[i]))
		return perr(p, p->pos, "expected a number after \"-\"");
	for (; i < p->len && is_digit(p->s[i]); i++) {
		v = v * 10 + (unsigned)(p->s[i] - '0');
		if (v > (unsigned long long)LLONG_MAX)
			return perr(p, p->pos, "number out of range");
	}
	if (i < p->len && is_ident(p->s[i]))
		return perr(p, p->pos, "bad number: expected digits only");
	p->num = neg ? -(long long)v : (long long)v;
	p->t = T_INT;
	p->pos = i;
	return 0;
}

static const struct {
	const char *text;
	enum tok t;
} punct[] = {
	{ "==", T_EQ }, { "!=", T_NE }, { "=~", T_RE }, { "<=", T_LE },
	{ ">=", T_GE }, { "<", T_LT }, { ">", T_GT }, { "(", T_LP },
	{ ")", T_RP }, { "[", T_LB }, { "]", T_RB }, { ",", T_COMMA },
};

/* next - advance to the next token; 0 or the parser's error. */
static int next(struct parser *p)
{
	free(p->str);
	p->str = NULL;
	if (p->rc)
		return p->rc;
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
	p->start = p->pos;
	if (p->pos >= p->len) {
		p->t = T_EOF;
		p->tlen = 0;
		return 0;
	}
	char c = p->s[p->pos];
	int rc = 0;

	if (is_ident_start(c)) {
		while (p->pos < p->len && is_ident(p->s[p->pos]))
			p->pos++;
		p->t = T_IDENT;
	} else if (c == '"' || c == '\'') {
		rc = lex_string(p);
	} else if (is_digit(c) || c == '-') {
		rc = lex_number(p);
	} else {
		size_t i;

		for (i = 0; i < sizeof(punct) / sizeof(punct[0]); i++) {
			size_t n = strlen(punct[i].text);

			if (p->len - p->pos >= n && memcmp(p->s + p->pos, punct[i].text, n) == 0) {
				p->t = punct[i].t;
				p->pos += n;
				break;
			}
		}
		if (i == sizeof(punct) / sizeof(punct[0]))
			rc = perr(p, p->pos, "unexpected character '%c'", c);
	}
	p->tlen = p->pos - p->start;
	return rc;
}

static bool is_word(const struct parser *p, const char *w)
{
	return p->t == T_IDENT && p->tlen == strlen(w) &&
	       memcmp(p->s + p->start, w, p->tlen) == 0;
}

static const char *tok_desc(const struct parser *p, char *buf, size_t size)
{
	if (p->t == T_EOF)
		return "end of rule";
	snprintf(buf, size, "\"%.*s\"", (int)(p->tlen > 40 ? 40 : p->tlen), p->s + p->start);
	return buf;
}

/* ---- tree building ---- */

static int new_node(struct parser *p, enum node_kind kind, uint32_t *idx)
{
	struct policy_expr *e = p->e;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct node *nn = realloc(e->nodes, cap * sizeof(*nn));

		if (!nn)
			return nomem(p);
		e->nodes = nn;
		e->cap = cap;
	}
	memset(&e->nodes[e->n], 0, sizeof(e->nodes[0]));
	e->nodes[e->n].kind = kind;
	*idx = (uint32_t)e->n++;
	return 0;
}

static int parse_or(struct parser *p, uint32_t *out);

static int find_field(const struct parser *p, enum field_id *f)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (strlen(fields[i].name) == p->tlen &&
		    memcmp(fields[i].name, p->s + p->start, p->tlen) == 0) {
			*f = (enum field_id)i;
			return 0;
		}
	}
	return -1;
}

static int parse_op(struct parser *p, enum op *op)
{
	char buf[64];

	switch (p->t) {
	case T_EQ: *op = OP_EQ; break;
	case T_NE: *op = OP_NE; break;
	case T_RE: *op = OP_RE; break;
	case T_LT: *op = OP_LT; break;
	case T_LE: *op = OP_LE; break;
	case T_GT: *op = OP_GT; break;
	case T_GE: *op = OP_GE; break;
	default:
		if (is_word(p, "like"))
			*op = OP_LIKE;
		else if (is_word(p, "in"))
			*op = OP_IN;
		else
			return perr(p, p->start, "expected an operator (== != =~ like in < <= > >=), "
				    "found %s", tok_desc(p, buf, sizeof(buf)));
	}
	return next(p);
}

static bool valid_hex64(const char *s, size_t len)
{
	if (len != FILEHASH_HEX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static const char *const file_ops[] = {
	"create", "modify", "delete", "rename", "attrib", "exec",
};

/* Reject values that can never match, so a typo is an error, not a
 * policy that silently never fires. */
static int check_value(struct parser *p, const struct node *n, const struct value *v, size_t at)
{
	if (n->op == OP_RE || n->op == OP_LIKE)
		return 0;
	if (n->field == F_SHA256) {
		for (size_t i = 0; i < v->len; i++)
			if (v->s[i] >= 'A' && v->s[i] <= 'F')
				v->s[i] = (char)(v->s[i] - 'A' + 'a');
		if (!valid_hex64(v->s, v->len))
			return perr(p, at, "sha256 value must be 64 hexadecimal digits");
	}
	if (n->field == F_FILE_OPERATION) {
		for (size_t i = 0; i < sizeof(file_ops) / sizeof(file_ops[0]); i++) {
			if (strcmp(v->s, file_ops[i]))
				continue;
			/* what makes a file policy look at execs at all */
			if (strcmp(v->s, "exec") == 0 && (n->op == OP_EQ || n->op == OP_IN))
				p->e->names_exec = true;
			return 0;
		}
		return perr(p, at, "unknown fileOperation \"%s\": expected create, modify, "
			    "delete, rename, attrib or exec", v->s);
	}
	if (n->field == F_EVENT_TYPE && event_type_from_name(v->s) == EVENT_NONE)
		return perr(p, at, "unknown eventType \"%s\"", v->s);
	return 0;
}

/* One literal value at the current token, typed by the field. */
static int parse_value(struct parser *p, struct node *n, struct value *v)
{
	enum field_type ft = fields[n->field].type;
	size_t at = p->start;
	char buf[64];

	if (ft == FT_NUM) {
		if (p->t != T_INT)
			return perr(p, at, "%s is a number: expected an integer, found %s",
				    fields[n->field].name, tok_desc(p, buf, sizeof(buf)));
		v->num = p->num;
		return next(p);
	}
	if (p->t != T_STR)
		return perr(p, at, "%s is a string: expected a quoted string, found %s",
			    fields[n->field].name, tok_desc(p, buf, sizeof(buf)));
	v->s = p->str;
	v->len = p->slen;
	p->str = NULL;
	if (check_value(p, n, v, at))
		return p->rc;
	return next(p);
}

static int push_value(struct parser *p, struct node *n)
{
	struct value *nv = realloc(n->vals, (n->n_vals + 1) * sizeof(*nv));

	if (!nv)
		return nomem(p);
	n->vals = nv;
	memset(&nv[n->n_vals], 0, sizeof(*nv));
	n->n_vals++;
	return parse_value(p, n, &nv[n->n_vals - 1]);
}

static int parse_list(struct parser *p, struct node *n)
{
	char buf[64];

	if (p->t != T_LB)
		return perr(p, p->start, "expected \"[\" after in, found %s",
			    tok_desc(p, buf, sizeof(buf)));
	if (next(p))
		return p->rc;
	for (;;) {
		if (push_value(p, n))
			return p->rc;
		if (p->t == T_RB)
			return next(p);
		if (p->t != T_COMMA)
			return perr(p, p->start, "expected \",\" or \"]\" in list, found %s",
				    tok_desc(p, buf, sizeof(buf)));
		if (next(p))
			return p->rc;
	}
}

/* The index of the "]" closing the bracket expression at @re[i], or 0. */
static size_t bracket_end(const char *re, size_t i)
{
	i++;
	if (re[i] == '^')
		i++;
	if (re[i] == ']')
		i++;		/* a leading ] is a member */
	for (; re[i]; i++) {
		if (re[i] == '[' && (re[i + 1] == ':' || re[i + 1] == '.' || re[i + 1] == '=')) {
			const char *end = strstr(re + i + 2, (char[]){ re[i + 1], ']', 0 });

			if (!end)
				return 0;
			i = (size_t)(end - re) + 1;
		} else if (re[i] == ']') {
			return i;
		}
	}
	return 0;
}

/*
 * required_literal - the longest run of plain characters that every match
 * of the ERE @re must contain: top level only (not inside groups, not
 * under a quantifier), and none at all when the top level has an "|".
 * A cheap memmem() on it rejects most values before regexec(), which is
 * the dominant cost of evaluating regex rules.  Anything unexpected
 * yields no literal, which is always correct, only slower.
 */
static void required_literal(const char *re, char *out, size_t *out_len)
{
	size_t best = 0, run = 0, i, depth = 0;
	char cur[256];

	*out_len = 0;
	for (i = 0; re[i]; i++) {
		char c = re[i], lit = 0;
		bool is_lit = false;

		if (c == '\\' && re[i + 1]) {
			lit = re[++i];
			/* \w, \b, back-references ...: not literal */
			is_lit = depth == 0 && !isalnum((unsigned char)lit);
		} else if (c == '[') {
			if (!(i = bracket_end(re, i)))
				return;
		} else if (c == '{') {
			const char *close_b = strchr(re + i, '}');

			if (!close_b)
				return;
			i = (size_t)(close_b - re);	/* a bound, not literals */
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth)
				depth--;
		} else if (c == '|' && depth == 0) {
			return;
		} else if (!strchr(".^$*+?{}|", c)) {
			lit = c;
			is_lit = depth == 0;
		}
		if (is_lit && !(re[i + 1] && strchr("*?{", re[i + 1]))) {
			if (run < sizeof(cur))
				cur[run++] = lit;
			if (re[i + 1] != '+')
				continue;	/* repeated: the run ends after it */
		}
		if (run > best) {
			best = run;
			memcpy(out, cur, run);
		}
		run = 0;
	}
	if (run > best) {
		best = run;
		memcpy(out, cur, run);
	}
	*out_len = best;
}

/* Largest {n,m} bound a rule may use. */
#define REGEX_MAX_BOUND	255

/*
 * regex_too_costly - why @re would make regcomp() blow up, or NULL.
 * glibc copies the subtree of every repetition, so stacked repetitions
 * ("a++++...") and large bounds grow the compiled form exponentially:
 * a policy line could take the daemon's memory at load time.  Stacked
 * repetitions mean nothing more than one, so both are refused.
 */
static const char *regex_too_costly(const char *re)
{
	bool in_bracket = false, after_rep = false;

	for (const char *c = re; *c; c++) {
		bool rep = false;

		if (in_bracket) {
			if (*c == ']')
				in_bracket = false;
			continue;
		}
		switch (*c) {
		case '\\':
			if (c[1])
				c++;
			break;
		case '[':
			in_bracket = true;
			if (c[1] == '^')
				c++;
			if (c[1] == ']')	/* a leading ] is a member */
				c++;
			break;
		case '*': case '+': case '?':
			rep = true;
			break;
		case '{': {
			char *end;
			long lo, hi;

			if (c[1] < '0' || c[1] > '9')
				break;	/* a literal brace */
			lo = hi = strtol(c + 1, &end, 10);
			if (*end == ',')
				hi = end[1] == '}' ? lo : strtol(end + 1, &end, 10);
			if (lo > REGEX_MAX_BOUND || hi > REGEX_MAX_BOUND)
				return "a repetition bound above 255";
			rep = true;
			break;
		}
		default:
			break;
		}
		if (rep && after_rep)
			return "a repetition of a repetition (such as \"a++\")";
		after_rep = rep;
		if (rep && *c == '{')
			while (c[1] && *c != '}')
				c++;
	}
	return NULL;
}

static int compile_regex(struct parser *p, struct node *n, size_t at)
{
	char lit[256];
	size_t lit_len;

	char msg[160];
	int rc;

	const char *costly = regex_too_costly(n->vals[0].s);

	if (costly)
		return perr(p, at, "regular expression too costly to compile: %s", costly);
	n->re = malloc(sizeof(*n->re));
	if (!n->re)
		return nomem(p);
	rc = regcomp(n->re, n->vals[0].s, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, n->re, msg, sizeof(msg));
		free(n->re);
		n->re = NULL;
		return perr(p, at, "bad regular expression: %s", msg);
	}
	required_literal(n->vals[0].s, lit, &lit_len);
	if (lit_len) {
		n->re_lit = malloc(lit_len);
		if (!n->re_lit)
			return nomem(p);
		memcpy(n->re_lit, lit, lit_len);
		n->re_lit_len = lit_len;
	}
	return 0;
}

static void classify_glob(struct node *n)
{
	const char *g = n->vals[0].s;
	size_t len = n->vals[0].len, lo = 0, hi = len;
	bool lead, trail;

	if (len && g[0] == '*')
		lo = 1;
	if (hi > lo && g[hi - 1] == '*')
		hi--;
	for (size_t i = lo; i < hi; i++)
		if (g[i] == '*' || g[i] == '?' || g[i] == '[' || g[i] == '\\')
			return;		/* leave it to fnmatch */
	lead = lo == 1;
	trail = hi < len;
	n->lit = g + lo;
	n->lit_len = hi - lo;
	n->glob = lead && trail ? GLOB_INFIX : lead ? GLOB_SUFFIX : trail ? GLOB_PREFIX : GLOB_EXACT;
}

static int parse_cmp(struct parser *p, uint32_t *out)
{
	enum field_id f;
	size_t field_at = p->start, op_at, val_at;
	char buf[64];
	struct node *n;
	enum op op = OP_EQ;

	if (p->t != T_IDENT)
		return perr(p, p->start, "expected a field name, \"not\" or \"(\", found %s",
			    tok_desc(p, buf, sizeof(buf)));
	if (find_field(p, &f))
		return perr(p, p->start, "unknown field \"%.*s\"", (int)p->tlen, p->s + p->start);
	if (next(p))
		return p->rc;
	op_at = p->start;
	if (parse_op(p, &op))
		return p->rc;
	if (fields[f].type == FT_STR && op >= OP_LT)
		return perr(p, op_at, "operator %s needs a numeric field; %s is a string",
			    op_names[op], fields[f].name);
	if (fields[f].type == FT_NUM && (op == OP_RE || op == OP_LIKE))
		return perr(p, op_at, "operator %s needs a string field; %s is a number",
			    op_names[op], fields[f].name);
	if (new_node(p, N_CMP, out))
		return p->rc;
	n = &p->e->nodes[*out];
	n->op = op;
	n->field = f;
	if (f == F_SHA256)
		p->e->uses_sha256 = true;
	if ((f == F_SHA256 || f == F_PROGRAM_ARGS) && !p->e->gate_blind) {
		p->e->gate_blind = true;
		p->e->gate_blind_at = field_at;
		p->e->gate_blind_field = f;
	}
	val_at = p->start;
	if (op == OP_IN)
		return parse_list(p, n);
	if (push_value(p, n))
		return p->rc;
	if (op == OP_RE)
		return compile_regex(p, n, val_at);
	if (op == OP_LIKE)
		classify_glob(&p->e->nodes[*out]);
	return 0;
}

static int parse_unary(struct parser *p, uint32_t *out)
{
	char buf[64];
	uint32_t child;

	if (++p->depth > MAX_DEPTH)
		return perr(p, p->start, "expression nested too deeply (limit %d)", MAX_DEPTH);
	if (is_word(p, "not")) {
		if (next(p) || parse_unary(p, &child) || new_node(p, N_NOT, out))
			return p->rc;
		p->e->nodes[*out].lhs = child;
	} else if (p->t == T_LP) {
		size_t open_at = p->start;

		if (next(p) || parse_or(p, out))
			return p->rc;
		if (p->t != T_RP)
			return perr(p, p->t == T_EOF ? open_at : p->start,
				    p->t == T_EOF ? "unbalanced parentheses: \"(\" is never closed%s"
						  : "expected \")\" or an operator, found %s",
				    p->t == T_EOF ? "" : tok_desc(p, buf, sizeof(buf)));
		if (next(p))
			return p->rc;
	} else if (parse_cmp(p, out)) {
		return p->rc;
	}
	p->depth--;
	return 0;
}

static int parse_binary(struct parser *p, uint32_t *out, const char *word, enum node_kind kind,
			int (*sub)(struct parser *, uint32_t *))
{
	uint32_t lhs, rhs;

	if (sub(p, &lhs))
		return p->rc;
	while (is_word(p, word)) {
		if (next(p) || sub(p, &rhs) || new_node(p, kind, out))
			return p->rc;
		p->e->nodes[*out].lhs = lhs;
		p->e->nodes[*out].rhs = rhs;
		lhs = *out;
	}
	*out = lhs;
	return 0;
}

static int parse_and(struct parser *p, uint32_t *out)
{
	return parse_binary(p, out, "and", N_AND, parse_unary);
}

static int parse_or(struct parser *p, uint32_t *out)
{
	return parse_binary(p, out, "or", N_OR, parse_and);
}

void policy_expr_free(struct policy_expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		struct node *n = &e->nodes[i];

		for (size_t j = 0; j < n->n_vals; j++)
			free(n->vals[j].s);
		free(n->vals);
		if (n->re) {
			regfree(n->re);
			free(n->re);
		}
		free(n->re_lit);
	}
	free(e->nodes);
	free(e);
}

static int parse_rule_head(struct parser *p, enum policy_rule_kind *kind)
{
	char buf[64];

	if (is_word(p, "match")) {
		*kind = POLICY_RULE_MATCH;
	} else if (is_word(p, "ignore")) {
		*kind = POLICY_RULE_IGNORE;
	} else if (is_word(p, "default")) {
		if (next(p))
			return p->rc;
		if (is_word(p, "match"))
			*kind = POLICY_RULE_DEFAULT_MATCH;
		else if (is_word(p, "ignore"))
			*kind = POLICY_RULE_DEFAULT_IGNORE;
		else
			return perr(p, p->start, "expected \"match\" or \"ignore\" after default, "
				    "found %s", tok_desc(p, buf, sizeof(buf)));
	} else {
		return perr(p, p->start, "a rule starts with \"match\", \"ignore\" or "
			    "\"default\", found %s", tok_desc(p, buf, sizeof(buf)));
	}
	return next(p);
}

int policy_rule_compile(const char *src, size_t len, enum policy_rule_kind *kind,
			struct policy_expr **expr, struct policy_expr_error *err)
{
	struct parser p = { .s = src, .len = len, .err = err };
	char buf[64];

	*expr = NULL;
	if (next(&p) || parse_rule_head(&p, kind))
		goto fail;
	if (*kind == POLICY_RULE_DEFAULT_MATCH || *kind == POLICY_RULE_DEFAULT_IGNORE) {
		if (p.t != T_EOF)
			perr(&p, p.start, "nothing may follow \"default %s\", found %s",
			     *kind == POLICY_RULE_DEFAULT_MATCH ? "match" : "ignore",
			     tok_desc(&p, buf, sizeof(buf)));
		goto done;
	}
	if (p.t == T_EOF) {
		perr(&p, p.start, "expected an expression after \"%s\"",
		     *kind == POLICY_RULE_MATCH ? "match" : "ignore");
		goto fail;
	}
	p.e = calloc(1, sizeof(*p.e));
	if (!p.e) {
		nomem(&p);
		goto fail;
	}
	if (parse_or(&p, &p.e->root))
		goto fail;
	if (p.t == T_RP)
		perr(&p, p.start, "unbalanced parentheses: \")\" without \"(\"");
	else if (p.t != T_EOF)
		perr(&p, p.start, "expected \"and\", \"or\" or the end of the rule, found %s",
		     tok_desc(&p, buf, sizeof(buf)));
done:
	if (p.rc)
		goto fail;
	*expr = p.e;
	return 0;
fail:
	free(p.str);
	policy_expr_free(p.e);
	return p.rc ? p.rc : -EINVAL;
}

/* Whether node @i requires programName to be one of some literals. */
static bool names_required(const struct policy_expr *e, uint32_t i)
{
	const struct node *n = &e->nodes[i];

	switch (n->kind) {
	case N_CMP:
		return n->field == F_PROGRAM_NAME && (n->op == OP_EQ || n->op == OP_IN);
	case N_AND:
		return names_required(e, n->lhs) || names_required(e, n->rhs);
	case N_OR:
		return names_required(e, n->lhs) && names_required(e, n->rhs);
	case N_NOT:
		return false;
	}
	return false;
}

/* Report the literals of node @i, which names_required(). */
static int names_emit(const struct policy_expr *e, uint32_t i, policy_name_fn fn, void *arg)
{
	const struct node *n = &e->nodes[i];
	int rc;

	switch (n->kind) {
	case N_CMP:
		for (size_t j = 0; j < n->n_vals; j++)
			if ((rc = fn(n->vals[j].s, n->vals[j].len, arg)))
				return rc;
		return 0;
	case N_AND:
		/* one conjunct is enough: the first that names programs */
		return names_emit(e, names_required(e, n->lhs) ? n->lhs : n->rhs, fn, arg);
	case N_OR:
		rc = names_emit(e, n->lhs, fn, arg);
		return rc ? rc : names_emit(e, n->rhs, fn, arg);
	case N_NOT:
		break;
	}
	return 0;
}

int policy_expr_program_names(const struct policy_expr *e, policy_name_fn fn, void *arg)
{
	if (!e || !names_required(e, e->root))
		return -ENOENT;
	return names_emit(e, e->root, fn, arg);
}

bool policy_expr_uses_sha256(const struct policy_expr *e)
{
	return e && e->uses_sha256;
}

bool policy_expr_names_exec(const struct policy_expr *e)
{
	return e && e->names_exec;
}

const char *policy_expr_gate_blind(const struct policy_expr *e, size_t *offset)
{
	if (!e || !e->gate_blind)
		return NULL;
	*offset = e->gate_blind_at;
	return fields[e->gate_blind_field].name;
}

/* ---- evaluation ---- */

struct fval {
	bool present;
	bool args;		/* NUL bytes stand for spaces */
	const char *s;
	size_t len;
	long long num;
};

static void set_bytes(struct fval *v, const struct bytes *b)
{
	if (!b->data)
		return;
	v->present = true;
	v->s = b->data;
	v->len = b->len;
}

static void set_str(struct fval *v, const char *s)
{
	if (!s)
		return;
	v->present = true;
	v->s = s;
	v->len = strlen(s);
}

static void set_num(struct fval *v, long long n)
{
	v->present = true;
	v->num = n;
}

static const struct bytes *file_path(const struct event *ev)
{
	if (ev->type == EVENT_EXEC_OPEN)
		return ev->path.data ? &ev->path : NULL;	/* the file executed */
	if (!event_is_file(ev))
		return NULL;
	if (ev->type == EVENT_FILE_RENAME)
		return ev->path2.data ? &ev->path2 : NULL;
	return ev->path.data ? &ev->path : NULL;
}

static void get_sha256(struct policy_eval_ctx *c, struct fval *v)
{
	const struct event *ev = c->ev;
	const struct bytes *b = file_path(ev);

	if (c->sha_state == 0) {
		c->sha_state = -ENOENT;
		if (!event_is_file(ev) && ev->type != EVENT_EXEC_OPEN && ev->proc &&
		    ev->proc->exe.data)
			b = &ev->proc->exe;
		if (b && ev->type != EVENT_FILE_DELETE)
			c->sha_state = filehash_path(b->data, c->sha_hex) ?: 1;
	}
	if (c->sha_state == 1)
		set_str(v, c->sha_hex);
}

static void get_field(enum field_id f, struct policy_eval_ctx *c, struct fval *v)
{
	const struct event *ev = c->ev;
	const struct proc_info *pi = ev->proc;
	const struct bytes *b;

	memset(v, 0, sizeof(*v));
	switch (f) {
	case F_PROGRAM_NAME: if (pi) set_bytes(v, &pi->exe); break;
	case F_PROGRAM_ARGS:
		if (pi && pi->cmdline.data) {
			set_bytes(v, &pi->cmdline);
			v->args = true;
			/* /proc ends every argument with a NUL: drop the last */
			while (v->len && v->s[v->len - 1] == '\0')
				v->len--;
		}
		break;
	case F_PARENT_PROGRAM_NAME: if (pi && pi->parent) set_bytes(v, &pi->parent->exe); break;
	case F_PID: if (pi || ev->pid) set_num(v, pi ? pi->pid : ev->pid); break;
	case F_PPID: if (pi) set_num(v, pi->ppid); else if (ev->ppid) set_num(v, ev->ppid); break;
	case F_UID: if (pi) set_num(v, pi->uid); break;
	case F_USER_NAME: if (pi) set_str(v, pi->user); break;
	case F_CONTAINER_ID:
	case F_CONTAINER_NAME: if (pi) set_str(v, pi->container_id); break;
	case F_FILE_PATH: if ((b = file_path(ev))) set_bytes(v, b); break;
	case F_OLD_FILE_PATH: if (ev->type == EVENT_FILE_RENAME) set_bytes(v, &ev->path); break;
	case F_FILE_NAME:
		if ((b = file_path(ev))) {
			const char *slash = memrchr(b->data, '/', b->len);
			const char *name = slash ? slash + 1 : b->data;

			v->present = true;
			v->s = name;
			v->len = b->len - (size_t)(name - b->data);
		}
		break;
	case F_FILE_OPERATION:
		if (event_is_file(ev))
			set_str(v, event_type_name(ev->type));
		else if (ev->type == EVENT_EXEC_OPEN)
			set_str(v, "exec");
		break;
	case F_SHA256: get_sha256(c, v); break;
	case F_CWD: if (pi) set_bytes(v, &pi->cwd); break;
	case F_EVENT_TYPE: set_str(v, event_type_name(ev->type)); break;
	}
}

static bool str_eq(const struct fval *v, const struct value *lit)
{
	if (v->len != lit->len)
		return false;
	if (!v->args)
		return memcmp(v->s, lit->s, lit->len) == 0;
	for (size_t i = 0; i < lit->len; i++)
		if ((v->s[i] ? v->s[i] : ' ') != lit->s[i])
			return false;
	return true;
}

static __thread char args_scratch[ARGS_SCRATCH];

/* A NUL-terminated view of @v for regexec/fnmatch, without allocating. */
static const char *cstr(const struct fval *v)
{
	size_t n;

	if (!v->args)
		return v->s;	/* every byte string carries a terminating NUL */
	n = v->len < ARGS_SCRATCH - 1 ? v->len : ARGS_SCRATCH - 1;
	for (size_t i = 0; i < n; i++)
		args_scratch[i] = v->s[i] ? v->s[i] : ' ';
	args_scratch[n] = '\0';
	return args_scratch;
}

static bool byte_eq(const struct fval *v, size_t off, const char *lit, size_t len)
{
	if (!v->args)
		return memcmp(v->s + off, lit, len) == 0;
	for (size_t i = 0; i < len; i++)
		if ((v->s[off + i] ? v->s[off + i] : ' ') != lit[i])
			return false;
	return true;
}

static bool glob_infix(const struct fval *v, const char *lit, size_t len)
{
	if (!v->args)
		return memmem(v->s, v->len, lit, len) != NULL;
	for (size_t off = 0; off + len <= v->len; off++)
		if (byte_eq(v, off, lit, len))
			return true;
	return false;
}

static bool like(const struct node *n, const struct fval *v)
{
	switch (n->glob) {
	case GLOB_EXACT:
		return v->len == n->lit_len && byte_eq(v, 0, n->lit, n->lit_len);
	case GLOB_PREFIX:
		return v->len >= n->lit_len && byte_eq(v, 0, n->lit, n->lit_len);
	case GLOB_SUFFIX:
		return v->len >= n->lit_len &&
		       byte_eq(v, v->len - n->lit_len, n->lit, n->lit_len);
	case GLOB_INFIX:
		return glob_infix(v, n->lit, n->lit_len);
	case GLOB_FNMATCH:
		break;
	}
	return fnmatch(n->vals[0].s, cstr(v), 0) == 0;
}

static bool regex_match(const struct node *n, const struct fval *v)
{
	const char *s = cstr(v);

	if (n->re_lit && !memmem(s, v->args ? strlen(s) : v->len, n->re_lit, n->re_lit_len))
		return false;
	return regexec(n->re, s, 0, NULL, 0) == 0;
}

static bool cmp_str(const struct node *n, const struct fval *v)
{
	switch (n->op) {
	case OP_EQ: return str_eq(v, &n->vals[0]);
	case OP_NE: return !str_eq(v, &n->vals[0]);
	case OP_RE: return regex_match(n, v);
	case OP_LIKE: return like(n, v);
	case OP_IN:
		for (size_t i = 0; i < n->n_vals; i++)
			if (str_eq(v, &n->vals[i]))
				return true;
		return false;
	default: return false;
	}
}

static bool cmp_num(const struct node *n, long long x)
{
	long long y = n->vals[0].num;

	switch (n->op) {
	case OP_EQ: return x == y;
	case OP_NE: return x != y;
	case OP_LT: return x < y;
	case OP_LE: return x <= y;
	case OP_GT: return x > y;
	case OP_GE: return x >= y;
	case OP_IN:
		for (size_t i = 0; i < n->n_vals; i++)
			if (x == n->vals[i].num)
				return true;
		return false;
	default: return false;
	}
}

static bool eval_cmp(const struct node *n, struct policy_eval_ctx *c)
{
	struct fval v;

	get_field(n->field, c, &v);
	if (!v.present)
		return n->op == OP_NE;
	if (fields[n->field].type == FT_NUM)
		return cmp_num(n, v.num);
	return cmp_str(n, &v);
}

static bool eval_node(const struct policy_expr *e, uint32_t i, struct policy_eval_ctx *c)
{
	const struct node *n = &e->nodes[i];

	switch (n->kind) {
	case N_AND: return eval_node(e, n->lhs, c) && eval_node(e, n->rhs, c);
	case N_OR: return eval_node(e, n->lhs, c) || eval_node(e, n->rhs, c);
	case N_NOT: return !eval_node(e, n->lhs, c);
	case N_CMP: return eval_cmp(n, c);
	}
	return false;
}

bool policy_expr_eval(const struct policy_expr *e, struct policy_eval_ctx *c)
{
	return e && eval_node(e, e->root, c);
}
