/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_policy - the policy engine: parser errors with their exact
 * FILE:LINE:COLUMN, expression truth tables, policy typing, replay of
 * recorded events, the shipped policies, and no allocation in eval.
 */
#include "event.h"
#include "event_json.h"
#include "filehash.h"
#include "policy.h"
#include "policy_expr.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation counting: replaces malloc for the whole test binary ---- */

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting;
static volatile unsigned long n_allocs;

void *malloc(size_t n)
{
	if (counting)
		n_allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (counting)
		n_allocs++;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		n_allocs++;
	return __libc_realloc(p, n);
}
#endif

static char tmpdir[] = "/tmp/test_policy.XXXXXX";
static int file_no;

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/test_policy.XXXXXX");
}

static const char *write_yaml(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	if (name)
		snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	else
		snprintf(path, sizeof(path), "%s/p%d.yaml", tmpdir, ++file_no);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Load @text; expect failure with "PATH:@where: " followed by @msg. */
static void expect_error(const char *text, const char *where, const char *msg)
{
	const char *path = write_yaml(NULL, text);
	char err[1024] = "", want[1024];
	struct policy_set *ps = policy_set_load_file(path, err, sizeof(err));

	ck_assert_msg(!ps, "expected %s: %s, but the policy loaded", where, msg);
	snprintf(want, sizeof(want), "%s:%s: ", path, where);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "expected error at \"%s\", saw \"%s\"", want, err);
	ck_assert_msg(strstr(err, msg), "expected \"%s\" in the error, saw \"%s\"", msg, err);
}

static struct policy_set *load_ok(const char *text)
{
	char err[1024] = "";
	struct policy_set *ps = policy_set_load_file(write_yaml(NULL, text), err, sizeof(err));

	ck_assert_msg(ps, "expected the policy to load, saw \"%s\"", err);
	return ps;
}

#define HEAD "P:\n  policy: program\n  rules:\n"

START_TEST(test_wget_policy_loads)
{
	struct policy_set *ps = load_ok(
		"Enforced Wget Blocklist:\n"
		"  policy: program\n"
		"  responseActions:\n"
		"    - kill\n"
		"  dryRun: true\n"
		"  alertMessage: Unauthorized execution of wget\n"
		"  comments: This policy detects and kills instances of wget running\n"
		"  priority: High\n"
		"  enabled: true\n"
		"  rules:\n"
		"    - match programName == \"/usr/bin/wget\"\n"
		"    - default ignore\n");
	const struct policy *p = ps->policies[0];

	ck_assert_uint_eq(ps->n_policies, 1);
	ck_assert_str_eq(p->name, "Enforced Wget Blocklist");
	ck_assert_int_eq(p->type, POLICY_PROGRAM);
	ck_assert_str_eq(p->priority, "High");
	ck_assert(p->enabled);
	ck_assert(p->dry_run);
	ck_assert_str_eq(p->alert_message, "Unauthorized execution of wget");
	ck_assert_uint_eq(p->n_actions, 1);
	ck_assert_int_eq(p->actions[0].kind, RESPONSE_KILL);
	ck_assert_uint_eq(p->line, 1);
	ck_assert(!ps->uses_deny);
	policy_set_put(ps);
}
END_TEST

START_TEST(test_parse_errors)
{
	expect_error("P:\n  policy: program\n  colour: red\n  rules:\n    - default ignore\n",
		     "3:3", "unknown key \"colour\"");
	expect_error("P:\n  policy: [program]\n  rules:\n    - default ignore\n",
		     "2:11", "policy: expected a single value, found a list");
	expect_error("P:\n  policy: process\n  rules:\n    - default ignore\n",
		     "2:11", "expected program, file or container");
	expect_error("P:\n  policy: program\n", "1:1", "missing required key \"rules\"");
	expect_error("P:\n  rules:\n    - default ignore\n", "1:1",
		     "missing required key \"policy\"");
	expect_error(HEAD "    - match pid == 1\n", "4:21",
		     "missing closing \"default match\" or \"default ignore\"");
	expect_error(HEAD "    - default ignore\n    - match pid == 1\n", "5:7",
		     "nothing may follow the \"default\" rule");
	expect_error("P:\n  policy: program\n  rules: match pid == 1\n", "3:10",
		     "rules: expected a list");
	expect_error("P:\n  policy: program\n  rules: []\n", "3:10", "the list is empty");
	expect_error(HEAD "    - match programNam == \"x\"\n    - default ignore\n", "4:13",
		     "unknown field \"programNam\"");
	expect_error(HEAD "    - match pid = 1\n    - default ignore\n", "4:17",
		     "unexpected character '='");
	expect_error(HEAD "    - match pid is 1\n    - default ignore\n", "4:17",
		     "expected an operator");
	expect_error(HEAD "    - match (pid == 1 or uid == 0\n    - default ignore\n", "4:13",
		     "unbalanced parentheses: \"(\" is never closed");
	expect_error(HEAD "    - match pid == 1)\n    - default ignore\n", "4:21",
		     "unbalanced parentheses: \")\" without \"(\"");
	expect_error(HEAD "    - match programName =~ \"a(b\"\n    - default ignore\n", "4:28",
		     "bad regular expression: ");
	/* regcomp's memory grows exponentially with these: refused first */
	expect_error(HEAD "    - match programName =~ \"/nc\\\\+++++\"\n    - default ignore\n", "4:28",
		     "regular expression too costly to compile: a repetition of a repetition");
	expect_error(HEAD "    - match programName =~ \"a{1,1000}\"\n    - default ignore\n", "4:28",
		     "regular expression too costly to compile: a repetition bound above 255");
	expect_error(HEAD "    - match programName < \"a\"\n    - default ignore\n", "4:25",
		     "operator < needs a numeric field");
	expect_error(HEAD "    - match uid == \"root\"\n    - default ignore\n", "4:20",
		     "uid is a number: expected an integer");
	expect_error(HEAD "    - match uid in [0, 1\n    - default ignore\n", "4:25",
		     "expected \",\" or \"]\" in list");
	expect_error(HEAD "    - match programName == \"/bin/sh\n    - default ignore\n", "4:28",
		     "unterminated string");
	expect_error(HEAD "    - match fileOperation == \"write\"\n    - default ignore\n", "4:30",
		     "unknown fileOperation \"write\"");
	expect_error(HEAD "    - match sha256 == \"abc\"\n    - default ignore\n", "4:23",
		     "sha256 value must be 64 hexadecimal digits");
	expect_error(HEAD "    - match pid == 1 pid == 2\n    - default ignore\n", "4:22",
		     "expected \"and\", \"or\" or the end of the rule");
	expect_error(HEAD "    - matches pid == 1\n    - default ignore\n", "4:7",
		     "a rule starts with \"match\", \"ignore\" or \"default\"");
	expect_error(HEAD "    - default deny\n", "4:15", "expected \"match\" or \"ignore\"");
	expect_error(HEAD "    - match\n    - default ignore\n", "4:12",
		     "expected an expression after \"match\"");
	expect_error(HEAD "    - [match]\n    - default ignore\n", "4:7", "each rule is a string");
	/* quoted scalars: the column still points into the rule text */
	expect_error(HEAD "    - \"match programName == \\\"a\\\" and uid == x\"\n"
		     "    - default ignore\n", "4:46", "uid is a number");
	expect_error(HEAD "    - 'match programName == ''a'' or pid > \"x\"'\n"
		     "    - default ignore\n", "4:44", "pid is a number");
	expect_error("P:\n  policy: program\n  responseActions:\n    - explode\n"
		     "  rules:\n    - default ignore\n", "4:7", "unknown response action \"explode\"");
	expect_error("P:\n  policy: program\n  responseActions:\n    - kill\n    - quarantine\n"
		     "  rules:\n    - default ignore\n", "5:7",
		     "response action quarantine is not allowed in a program policy");
	expect_error("P:\n  policy: container\n  responseActions: [deny]\n"
		     "  rules:\n    - default ignore\n", "3:21",
		     "response action deny is not allowed in a container policy");
	expect_error("P:\n  policy: program\n  responseActions:\n    - script: ../evil\n"
		     "  rules:\n    - default ignore\n", "4:15", "script: expected a script name");
	expect_error("P:\n  policy: program\n  enabled: maybe\n  rules:\n    - default ignore\n",
		     "3:12", "enabled: expected true or false");
	expect_error("P:\n  policy: program\n  priority: Urgent\n  rules:\n    - default ignore\n",
		     "3:13", "priority: expected Informational, Low, Medium, High or Critical");
	expect_error("P:\n  policy: program\n  policy: file\n  rules:\n    - default ignore\n",
		     "3:3", "duplicate key \"policy\"");
	expect_error("P:\n  policy: program\n  rules:\n    - default ignore\n"
		     "P:\n  policy: file\n  rules:\n    - default ignore\n",
		     "5:1", "duplicate policy name \"P\" (first defined at ");
	expect_error("- just\n- a list\n", "1:1", "expected a mapping of policy names");
	expect_error("P: [1]\n", "1:4", "expected a mapping of policy keys");
	expect_error("P:\n  policy: program\n   rules: x\n", "3:9", "YAML syntax error");
	expect_error(HEAD "    - match not not not\n    - default ignore\n", "4:24",
		     "expected a field name");
}
END_TEST

START_TEST(test_deep_nesting_rejected)
{
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text), HEAD "    - match ");

	for (int i = 0; i < 100; i++)
		text[n++] = '(';
	snprintf(text + n, sizeof(text) - n, "pid == 1\n    - default ignore\n");
	expect_error(text, "4:77", "nested too deeply");
}
END_TEST

START_TEST(test_dir_errors_and_order)
{
	char err[1024], sub[600];
	struct policy_set *ps;

	write_yaml("20-b.yaml", "B:\n  policy: file\n  rules:\n    - default match\n");
	write_yaml("10-a.yml", "A:\n  policy: program\n  responseActions: [deny]\n"
		   "  rules:\n    - default match\n");
	write_yaml("README", "not a policy");
	write_yaml(".hidden.yaml", "garbage: [");
	ps = policy_set_load_dir(tmpdir, err, sizeof(err));
	ck_assert_msg(ps, "expected the directory to load, saw \"%s\"", err);
	ck_assert_uint_eq(ps->n_policies, 2);
	ck_assert_str_eq(ps->policies[0]->name, "A");
	ck_assert_str_eq(ps->policies[1]->name, "B");
	ck_assert(ps->uses_deny);
	policy_set_put(ps);

	/* all or nothing, and a duplicate across files names both places */
	write_yaml("30-c.yaml", "A:\n  policy: file\n  rules:\n    - default match\n");
	ps = policy_set_load_dir(tmpdir, err, sizeof(err));
	ck_assert_ptr_null(ps);
	snprintf(sub, sizeof(sub), "%s/30-c.yaml:1:1: duplicate policy name \"A\" "
		 "(first defined at %s/10-a.yml:1)", tmpdir, tmpdir);
	ck_assert_str_eq(err, sub);

	ps = policy_set_load_dir("/nonexistent-senseon", err, sizeof(err));
	ck_assert_ptr_null(ps);
	ck_assert_msg(strstr(err, "cannot open directory"), "saw \"%s\"", err);
}
END_TEST

START_TEST(test_disabled_and_dry_run_deny)
{
	struct policy_set *ps = load_ok(
		"Off:\n  policy: program\n  enabled: false\n  responseActions: [deny]\n"
		"  rules:\n    - default match\n");

	ck_assert(!ps->uses_deny);
	policy_set_put(ps);
	ps = load_ok("Dry:\n  policy: program\n  dryRun: yes\n  responseActions: [deny, "
		     "kill-tree, stop, {script: collect --all now}, \"script: notify\"]\n"
		     "  rules:\n    - default match\n");
	ck_assert(ps->uses_deny);
	ck_assert_uint_eq(ps->policies[0]->n_actions, 5);
	ck_assert_int_eq(ps->policies[0]->actions[3].kind, RESPONSE_SCRIPT);
	ck_assert_str_eq(ps->policies[0]->actions[3].script, "collect");
	ck_assert_str_eq(ps->policies[0]->actions[3].args[0], "--all");
	ck_assert_str_eq(ps->policies[0]->actions[3].args[1], "now");
	ck_assert_ptr_null(ps->policies[0]->actions[3].args[2]);
	ck_assert_str_eq(ps->policies[0]->actions[4].script, "notify");
	ck_assert_ptr_null(ps->policies[0]->actions[4].args[0]);
	policy_set_put(ps);
}
END_TEST

/* ---- expression evaluation ---- */

static void set_cmdline(struct proc_info *pi, const char *const *argv)
{
	char buf[512];
	size_t n = 0;

	for (int i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;

		memcpy(buf + n, argv[i], l);
		n += l;
		pi->argc++;
	}
	bytes_set(&pi->cmdline, buf, n);
}

static struct event *exec_event(void)
{
	static const char *const argv[] = { "wget", "-q", "http://example.com/x", NULL };
	struct event *ev = event_new(EVENT_PROC_EXEC);
	struct proc_info *pi = proc_info_new();

	ev->pid = 4242;
	pi->pid = 4242;
	pi->ppid = 100;
	pi->uid = 1000;
	pi->user = strdup("alice");
	bytes_set(&pi->exe, "/usr/bin/wget", 13);
	bytes_set(&pi->cwd, "/home/alice", 11);
	set_cmdline(pi, argv);
	pi->parent = proc_info_new();
	bytes_set(&pi->parent->exe, "/usr/bin/bash", 13);
	ev->proc = pi;
	return ev;
}

static struct event *file_event(enum event_type type, const char *path, const char *path2)
{
	struct event *ev = event_new(type);

	bytes_set(&ev->path, path, strlen(path));
	if (path2)
		bytes_set(&ev->path2, path2, strlen(path2));
	ev->proc = proc_info_new();
	ev->proc->pid = 77;
	bytes_set(&ev->proc->exe, "/usr/bin/vim.basic", 18);
	return ev;
}

/* Compile "match EXPR" and evaluate it on @ev. */
static bool eval_rule(const char *expr, const struct event *ev)
{
	char rule[1024];
	struct policy_expr_error err = { 0 };
	struct policy_expr *e;
	enum policy_rule_kind kind;
	struct policy_eval_ctx c;
	bool r;

	snprintf(rule, sizeof(rule), "match %s", expr);
	ck_assert_msg(policy_rule_compile(rule, strlen(rule), &kind, &e, &err) == 0,
		      "rule \"%s\" did not compile: %s (offset %zu)", rule, err.msg, err.offset);
	ck_assert_int_eq(kind, POLICY_RULE_MATCH);
	policy_eval_ctx_init(&c, ev);
	r = policy_expr_eval(e, &c);
	policy_expr_free(e);
	return r;
}

#define T(expr, ev) ck_assert_msg(eval_rule(expr, ev), "expected true: %s", expr)
#define F(expr, ev) ck_assert_msg(!eval_rule(expr, ev), "expected false: %s", expr)

START_TEST(test_eval_operators)
{
	struct event *ev = exec_event();

	T("programName == \"/usr/bin/wget\"", ev);
	F("programName == \"/usr/bin/wge\"", ev);
	F("programName == \"/usr/bin/wgett\"", ev);
	T("programName != \"/usr/bin/curl\"", ev);
	F("programName != \"/usr/bin/wget\"", ev);
	T("programName =~ 'w[a-z]+t$'", ev);
	F("programName =~ '^wget'", ev);
	T("programName like \"/usr/*/wget\"", ev);
	T("programName like \"*wg?t\"", ev);
	F("programName like \"/bin/*\"", ev);
	T("programName in [\"/bin/sh\", \"/usr/bin/wget\"]", ev);
	F("programName in [\"/bin/sh\"]", ev);
	T("programArgs == \"wget -q http://example.com/x\"", ev);
	F("programArgs == \"wget -q\"", ev);
	T("programArgs =~ ' -q '", ev);
	T("programArgs like \"wget * http://*\"", ev);
	/* the memcmp fast paths of like: exact, prefix, suffix, infix */
	T("programArgs like \"wget -q http://example.com/x\"", ev);
	T("programArgs like \"wget -q*\"", ev);
	F("programArgs like \"wget -x*\"", ev);
	T("programArgs like \"*com/x\"", ev);
	T("programArgs like \"*q http*\"", ev);
	F("programArgs like \"*q  http*\"", ev);
	T("programName like \"*\"", ev);
	F("programName like \"/usr/bin/wge\"", ev);
	T("programName like \"*bin/w*\"", ev);
	T("parentProgramName == \"/usr/bin/bash\"", ev);
	T("userName == \"alice\" and cwd == \"/home/alice\"", ev);
	T("eventType == \"exec\"", ev);
	T("uid == 1000", ev);
	T("uid != 0", ev);
	T("uid < 1001", ev);
	F("uid < 1000", ev);
	T("uid <= 1000", ev);
	T("uid > 999", ev);
	F("uid > 1000", ev);
	T("uid >= 1000", ev);
	T("uid in [0, 1000]", ev);
	F("uid in [0, 1]", ev);
	T("pid == 4242 and ppid == 100", ev);
	T("pid > -1", ev);
	event_free(ev);
}
END_TEST

START_TEST(test_eval_logic)
{
	struct event *ev = exec_event();

	/* truth tables of and, or, not over (true, false) */
	T("uid == 1000 and pid == 4242", ev);
	F("uid == 1000 and pid == 1", ev);
	F("uid == 1 and pid == 4242", ev);
	F("uid == 1 and pid == 1", ev);
	T("uid == 1000 or pid == 4242", ev);
	T("uid == 1000 or pid == 1", ev);
	T("uid == 1 or pid == 4242", ev);
	F("uid == 1 or pid == 1", ev);
	T("not uid == 1", ev);
	F("not uid == 1000", ev);
	T("not not uid == 1000", ev);
	/* and binds tighter than or: T or (F and F) = T, (T or F) and F = F */
	T("uid == 1000 or uid == 1 and pid == 1", ev);
	F("(uid == 1000 or uid == 1) and pid == 1", ev);
	/* F and F or T = (F and F) or T = T */
	T("uid == 1 and pid == 1 or ppid == 100", ev);
	F("uid == 1 and (pid == 1 or ppid == 100)", ev);
	/* not binds tighter than and */
	T("not uid == 1 and pid == 4242", ev);
	F("not (uid == 1000 and pid == 4242)", ev);
	T("((((uid == 1000))))", ev);
	event_free(ev);
}
END_TEST

START_TEST(test_eval_missing_fields)
{
	struct event *ev = event_new(EVENT_PROC_EXIT);

	/* no process, no file: every comparison false, != true */
	F("programName == \"x\"", ev);
	T("programName != \"x\"", ev);
	F("programName =~ '.*'", ev);
	F("programName like \"*\"", ev);
	F("programName in [\"x\"]", ev);
	F("uid == 0", ev);
	T("uid != 0", ev);
	F("uid < 100", ev);
	F("uid >= 0", ev);
	F("filePath like \"*\"", ev);
	F("containerId =~ '.'", ev);
	F("sha256 =~ '.'", ev);
	T("not filePath == \"x\"", ev);
	T("eventType == \"exit\"", ev);
	event_free(ev);

	ev = exec_event();
	F("parentProgramName == \"x\" or containerName like \"*\" or fileName like \"*\"", ev);
	F("fileOperation == \"create\"", ev);
	F("oldFilePath like \"*\"", ev);
	event_free(ev);
}
END_TEST

START_TEST(test_eval_file_fields)
{
	struct event *ev = file_event(EVENT_FILE_RENAME, "/home/a/.bash_history", "/tmp/x");

	T("filePath == \"/tmp/x\"", ev);
	T("oldFilePath == \"/home/a/.bash_history\"", ev);
	T("fileName == \"x\"", ev);
	T("fileOperation == \"rename\"", ev);
	T("programName == \"/usr/bin/vim.basic\"", ev);
	F("fileOperation in [\"create\", \"delete\"]", ev);
	event_free(ev);

	ev = file_event(EVENT_FILE_WRITE, "/root/.ssh/authorized_keys", NULL);
	T("fileName == \"authorized_keys\" and fileOperation == \"modify\"", ev);
	T("filePath like \"/root/*\"", ev);
	F("oldFilePath == \"/root/.ssh/authorized_keys\"", ev);
	event_free(ev);

	ev = file_event(EVENT_FILE_CREATE, "noslash", NULL);
	T("fileName == \"noslash\"", ev);
	event_free(ev);
}
END_TEST

/*
 * Deny policies are decided by the exec gate before the exec: a file
 * policy can deny only if it names fileOperation "exec", and rules on what
 * the gate cannot see (programArgs, sha256) are refused at the field.
 * A file policy that names "exec" sees exec-open events (the binary as
 * filePath, the caller as the process); other file policies and container
 * policies do not.
 */
START_TEST(test_exec_file_policies)
{
	static const char dir[] = "/usr/bin";
	struct event *ev, *cr;
	struct policy_set *ps;
	const struct policy *hits[4];

	expect_error("F:\n  policy: file\n  responseActions: [deny]\n  rules:\n"
		     "    - match filePath == \"/x\"\n    - default ignore\n", "3:21",
		     "deny in a file policy needs a rule with fileOperation == \"exec\"");
	expect_error(HEAD "    - match programName == \"/a\" and programArgs like \"*-x*\"\n"
		     "    - default ignore\n  responseActions: [kill, deny]\n", "4:37",
		     "programArgs cannot be used in a policy with the deny action");
	expect_error("S:\n  policy: file\n  responseActions: [deny]\n  rules:\n"
		     "    - 'ignore sha256 == \"" "0123456789abcdef0123456789abcdef"
		     "0123456789abcdef0123456789abcdef\"'\n"
		     "    - match fileOperation == \"exec\"\n    - default ignore\n", "5:15",
		     "sha256 cannot be used in a policy with the deny action");
	expect_error(HEAD "    - match fileOperation == \"exe\"\n    - default ignore\n", "4:30",
		     "expected create, modify, delete, rename, attrib or exec");

	ps = load_ok("Args:\n  policy: program\n  responseActions: [kill]\n  rules:\n"
		     "    - match programArgs like \"*-x*\"\n    - default ignore\n"
		     "FX:\n  policy: file\n  responseActions: [deny]\n  rules:\n"
		     "    - match fileOperation in [\"exec\", \"create\"] and "
		     "fileName == \"evil\" and uid == 1000\n    - default ignore\n"
		     "FC:\n  policy: file\n  rules:\n    - match fileName == \"evil\"\n"
		     "    - default ignore\n"
		     "C:\n  policy: container\n  rules:\n    - default match\n");
	ck_assert(!ps->policies[0]->file_exec);
	ck_assert(ps->policies[1]->file_exec);
	ck_assert(!ps->policies[2]->file_exec);
	ck_assert(ps->uses_deny);

	ev = event_new(EVENT_EXEC_OPEN);
	bytes_set(&ev->path, "/tmp/d/evil", 11);
	ev->pid = 4242;
	ev->proc = proc_info_new();
	ev->proc->pid = 4242;
	ev->proc->uid = 1000;
	ev->proc->container_id = strdup("c0ffee");
	bytes_set(&ev->proc->exe, dir, sizeof(dir) - 1);
	T("fileOperation == \"exec\" and filePath == \"/tmp/d/evil\"", ev);
	T("fileName == \"evil\" and programName == \"/usr/bin\"", ev);
	F("fileOperation == \"create\"", ev);
	ck_assert_uint_eq(policy_set_eval(ps, ev, hits, 4), 1);
	ck_assert_str_eq(hits[0]->name, "FX");
	ck_assert(policy_applies(ps->policies[1], ev));
	ck_assert_msg(!policy_applies(ps->policies[2], ev),
		      "a file policy that does not name exec must not see exec-open events");
	ck_assert_msg(!policy_applies(ps->policies[3], ev),
		      "container policies must not see exec-open events");
	ev->proc->uid = 0;
	ck_assert_uint_eq(policy_set_eval(ps, ev, hits, 4), 0);

	cr = file_event(EVENT_FILE_CREATE, "/tmp/d/evil", NULL);
	F("fileOperation == \"exec\"", cr);
	ck_assert_uint_eq(policy_set_eval(ps, cr, hits, 4), 1);
	ck_assert_str_eq(hits[0]->name, "FC");
	event_free(cr);
	event_free(ev);
	policy_set_put(ps);
}
END_TEST

/* Wait until @path last changed more than the cache's racy window ago (a
 * file changed within a timestamp tick is hashed but never cached). */
static void wait_older_than_racy(const char *path)
{
	struct timespec now;
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_REALTIME, &now);
		if ((now.tv_sec - st.st_ctim.tv_sec) * 1000000000ll +
		    (now.tv_nsec - st.st_ctim.tv_nsec) > 100 * 1000000ll)
			return;
		usleep(10000);
	}
	ck_abort_msg("%s: its ctime never got 100 ms old", path);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The owner rewrites a hashed file with other bytes of the same size and
 * sets its mtime back: the cache must not return the old digest. */
START_TEST(test_sha256_cache_not_forgeable)
{
	char path[600], hex[FILEHASH_HEX_LEN + 1];
	struct timespec times[2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/swap", tmpdir);
	write_file(path, "hello\n");
	wait_older_than_racy(path);
	ck_assert_int_eq(filehash_path(path, hex), 0);
	ck_assert_str_eq(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	ck_assert_int_eq(stat(path, &st), 0);
	write_file(path, "HELLO\n");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	ck_assert_int_eq(filehash_path(path, hex), 0);
	/* sha256("HELLO\n") */
	ck_assert_str_eq(hex, "3b09aeb6f5f5336beb205d7f720371bc927cd46c21922e334d47ba264acb5ba4");
}
END_TEST

START_TEST(test_sha256)
{
	char path[600], hex[FILEHASH_HEX_LEN + 1];
	struct filehash_stats st0, st1;
	struct event *ev;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/hello", tmpdir);
	fp = fopen(path, "w");
	fputs("hello\n", fp);
	fclose(fp);
	/* a file changed this instant is hashed but not cached */
	filehash_get_stats(&st0);
	ck_assert_int_eq(filehash_path(path, hex), 0);
	filehash_get_stats(&st1);
	ck_assert_uint_eq(st1.uncached, st0.uncached + 1);
	wait_older_than_racy(path);
	ck_assert_int_eq(filehash_path(path, hex), 0);
	ck_assert_str_eq(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	filehash_get_stats(&st0);
	ev = file_event(EVENT_FILE_WRITE, path, NULL);
	T("sha256 == \"5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03\"", ev);
	F("sha256 in [\"0000000000000000000000000000000000000000000000000000000000000000\"]", ev);
	filehash_get_stats(&st1);
	ck_assert_msg(st1.hits >= st0.hits + 2 && st1.misses == st0.misses,
		      "expected cache hits only, saw hits %llu->%llu misses %llu->%llu",
		      (unsigned long long)st0.hits, (unsigned long long)st1.hits,
		      (unsigned long long)st0.misses, (unsigned long long)st1.misses);
	event_free(ev);
	/* deleted files have no hash; a directory is not hashed */
	ev = file_event(EVENT_FILE_DELETE, path, NULL);
	F("sha256 =~ '.'", ev);
	event_free(ev);
	ck_assert_int_eq(filehash_path(tmpdir, hex), -EINVAL);
	ck_assert_int_eq(filehash_path("/nonexistent-senseon", hex), -ENOENT);
	/* exec events hash the binary */
	ev = exec_event();
	bytes_set(&ev->proc->exe, path, strlen(path));
	T("sha256 =~ '^5891b5b5'", ev);
	event_free(ev);
}
END_TEST

/* ---- typing ---- */

static const char typed_yaml[] =
	"Prog:\n  policy: program\n  rules:\n    - default match\n"
	"Files:\n  policy: file\n  rules:\n    - default match\n"
	"Cont:\n  policy: container\n  rules:\n    - default match\n"
	"Off:\n  policy: program\n  enabled: false\n  rules:\n    - default match\n"
	"Never:\n  policy: program\n  rules:\n    - ignore uid == 1000\n    - default match\n";

static size_t eval_names(const struct policy_set *ps, const struct event *ev, char *buf)
{
	const struct policy *out[8];
	size_t n = policy_set_eval(ps, ev, out, 8);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(buf, out[i]->name);
		strcat(buf, " ");
	}
	return n;
}

START_TEST(test_typing)
{
	struct policy_set *ps = load_ok(typed_yaml);
	struct event *ev = exec_event();
	char names[256];

	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Prog ");
	ev->proc->container_id = strdup("0123abcd");
	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Prog Cont ");
	ev->type = EVENT_PROC_FORK;
	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Cont ");
	ev->type = EVENT_FILE_CREATE;
	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Files Cont ");
	free(ev->proc->container_id);
	ev->proc->container_id = NULL;
	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Files ");
	ev->type = EVENT_PROC_EXIT;
	ck_assert_uint_eq(eval_names(ps, ev, names), 0);
	/* Never: uid 1000 is ignored, others match */
	ev->type = EVENT_PROC_EXEC;
	ev->proc->uid = 0;
	eval_names(ps, ev, names);
	ck_assert_str_eq(names, "Prog Never ");
	ck_assert(policy_applies(ps->policies[0], ev));
	ck_assert(!policy_applies(ps->policies[1], ev));
	ck_assert(policy_match(ps->policies[4], ev));
	/* at most max results */
	{
		const struct policy *one[1];

		ck_assert_uint_eq(policy_set_eval(ps, ev, one, 1), 1);
		ck_assert_str_eq(one[0]->name, "Prog");
	}
	event_free(ev);
	policy_set_put(ps);
}
END_TEST

START_TEST(test_replay_json)
{
	struct policy_set *ps = load_ok(
		"Wget:\n  policy: program\n  rules:\n"
		"    - match programName == \"/usr/bin/wget\" and programArgs =~ '-q'\n"
		"    - default ignore\n"
		"Keys:\n  policy: file\n  rules:\n"
		"    - match fileName == \"authorized_keys\"\n    - default ignore\n");
	const char *lines[] = {
		"{\"type\":\"exec\",\"pid\":5,\"process\":{\"pid\":5,\"ppid\":1,\"uid\":0,"
		"\"exe\":\"/usr/bin/wget\",\"cmdline\":[\"wget\",\"-q\",\"x\"]}}",
		"{\"type\":\"create\",\"file\":{\"path\":\"/root/.ssh/authorized_keys\"},"
		"\"process\":{\"pid\":6,\"exe\":\"/usr/bin/cp\"}}",
		"{\"type\":\"exec\",\"process\":{\"pid\":7,\"exe\":\"/usr/bin/wget\","
		"\"cmdline\":[\"wget\",\"x\"]}}",
	};
	const char *want[] = { "Wget", "Keys", NULL };

	for (size_t i = 0; i < 3; i++) {
		json_error_t jerr;
		json_t *js = json_loads(lines[i], 0, &jerr);
		struct event *ev = event_from_json(js);
		const struct policy *out[2];
		size_t n;

		ck_assert_msg(ev, "line %zu did not decode", i);
		n = policy_set_eval(ps, ev, out, 2);
		if (want[i]) {
			ck_assert_uint_eq(n, 1);
			ck_assert_str_eq(out[0]->name, want[i]);
		} else {
			ck_assert_uint_eq(n, 0);
		}
		event_free(ev);
		json_decref(js);
	}
	policy_set_put(ps);
}
END_TEST

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d ? d : ".";
}

START_TEST(test_shipped_policies)
{
	char dir[1024], err[1024];
	struct policy_set *ps;
	struct event *ev;
	const struct policy *out[16];

	snprintf(dir, sizeof(dir), "%s/policy", srcdir());
	ps = policy_set_load_dir(dir, err, sizeof(err));
	ck_assert_msg(ps, "shipped policies must load: %s", err);
	ck_assert_uint_ge(ps->n_policies, 9);
	for (size_t i = 0; i < ps->n_policies; i++) {
		const struct policy *p = ps->policies[i];

		ck_assert_msg(p->comments && strlen(p->comments) > 40,
			      "%s: every shipped policy explains itself in comments", p->name);
		for (size_t a = 0; a < p->n_actions; a++)
			ck_assert_msg(0, "%s: shipped policies are alert-only", p->name);
	}
	ck_assert(!ps->uses_deny);
	/* one smoke check per behaviour */
	ev = exec_event();
	bytes_set(&ev->proc->exe, "/dev/shm/.x", 11);
	ck_assert_uint_eq(policy_set_eval(ps, ev, out, 16), 1);
	ck_assert_str_eq(out[0]->name, "Execution From Temporary Directory");
	bytes_set(&ev->proc->exe, "/usr/bin/wget", 13);
	ck_assert_uint_eq(policy_set_eval(ps, ev, out, 16), 0);
	event_free(ev);
	ev = file_event(EVENT_FILE_WRITE, "/etc/ld.so.preload", NULL);
	ck_assert_uint_eq(policy_set_eval(ps, ev, out, 16), 1);
	event_free(ev);
	policy_set_put(ps);

	snprintf(dir, sizeof(dir), "%s/policy/examples/wget-blocklist.yaml", srcdir());
	ps = policy_set_load_file(dir, err, sizeof(err));
	ck_assert_msg(ps, "example must load: %s", err);
	policy_set_put(ps);
}
END_TEST

START_TEST(test_eval_does_not_allocate)
{
#ifdef COUNT_MALLOC
	struct policy_set *ps = load_ok(
		"A:\n  policy: program\n  rules:\n"
		"    - ignore uid in [1, 2, 3] or userName == \"bob\"\n"
		"    - match programName like \"/usr/*/wget\" and not (pid < 10 or ppid >= 100000)\n"
		"    - default ignore\n"
		"B:\n  policy: program\n  rules:\n"
		"    - match programArgs like \"* -q *\" and parentProgramName != \"x\"\n"
		"    - default ignore\n"
		"C:\n  policy: file\n  rules:\n    - match fileName == \"x\"\n    - default match\n");
	struct event *ev = exec_event();
	const struct policy *out[4];
	size_t n;
	void *probe;

	/* the counter itself works: one malloc counts once */
	n_allocs = 0;
	counting = 1;
	probe = malloc(16);
	counting = 0;
	free(probe);
	ck_assert_uint_eq(n_allocs, 1);
	n_allocs = 0;
	counting = 1;
	n = policy_set_eval(ps, ev, out, 4);
	counting = 0;
	ck_assert_uint_eq(n, 2);
	ck_assert_msg(n_allocs == 0, "policy_set_eval allocated %lu times", n_allocs);
	event_free(ev);
	policy_set_put(ps);
#endif
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wget_policy_loads);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_deep_nesting_rejected);
	tcase_add_test(tc, test_dir_errors_and_order);
	tcase_add_test(tc, test_disabled_and_dry_run_deny);
	tcase_add_test(tc, test_eval_operators);
	tcase_add_test(tc, test_eval_logic);
	tcase_add_test(tc, test_eval_missing_fields);
	tcase_add_test(tc, test_eval_file_fields);
	tcase_add_test(tc, test_sha256);
	tcase_add_test(tc, test_sha256_cache_not_forgeable);
	tcase_add_test(tc, test_exec_file_policies);
	tcase_add_test(tc, test_typing);
	tcase_add_test(tc, test_replay_json);
	tcase_add_test(tc, test_shipped_policies);
	tcase_add_test(tc, test_eval_does_not_allocate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
