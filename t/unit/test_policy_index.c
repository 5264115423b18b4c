/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_policy_index - the program-name index of exec policies changes
 * which policies are evaluated, never the result: for every event,
 * policy_set_eval() returns exactly the policies, in file order, that a
 * plain scan of the set (enabled, policy_applies, policy_match) returns.
 * Likewise the literal prefilter of =~ rules never changes a result:
 * each rule agrees with regexec() itself on every value tried.  And the
 * exec gate's judgement from the binary alone (policy_names_programs,
 * policy_set_exec_named) never rules out a policy that matches.
 */
#include "event.h"
#include "policy.h"
#include "policy_expr.h"

#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char policies[] =
	"By Name:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName == \"/usr/bin/wget\"\n    - default ignore\n"
	"By List:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName in [\"/usr/bin/curl\", \"/usr/bin/wget\", \"/usr/bin/wget\"]\n"
	"    - default ignore\n"
	"Name And Uid:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match uid == 0 and programName == \"/bin/nc\"\n    - default ignore\n"
	"Or Of Names:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName == \"/bin/nc\" or (programName in [\"/bin/ncat\"] and uid > 10)\n"
	"    - default ignore\n"
	"Or Not All Names:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName == \"/bin/nc\" or uid == 4242\n    - default ignore\n"
	"Ignore Then Name:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - ignore uid == 0\n    - match programName == \"/usr/bin/wget\"\n    - default ignore\n"
	"Two Match Rules:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName == \"/bin/a\"\n    - match programName like \"/tmp/*\"\n"
	"    - default ignore\n"
	"Default Match:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - ignore programName == \"/usr/bin/wget\"\n    - default match\n"
	"Not Name:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match not programName == \"/usr/bin/id\"\n    - default ignore\n"
	"Disabled:\n  policy: program\n  priority: Low\n  enabled: false\n  rules:\n"
	"    - match programName == \"/usr/bin/wget\"\n    - default ignore\n"
	"Container By Name:\n  policy: container\n  priority: Low\n  rules:\n"
	"    - match programName == \"/usr/bin/wget\"\n    - default ignore\n"
	"File Policy:\n  policy: file\n  priority: Low\n  rules:\n"
	"    - match programName == \"/usr/bin/wget\"\n    - default ignore\n"
	"Regex:\n  policy: program\n  priority: Low\n  rules:\n"
	"    - match programName =~ 'wget$'\n    - default ignore\n";

static struct policy_set *load(void)
{
	char path[] = "/tmp/test_policy_index.XXXXXX", err[512];
	struct policy_set *ps;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(policies, f);
	fclose(f);
	ps = policy_set_load_file(path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(ps, "policies did not load: %s", err);
	return ps;
}

static struct event *make(enum event_type t, const char *exe, unsigned uid, const char *cid)
{
	struct event *ev = event_new(t);
	struct proc_info *pi = proc_info_new();

	ev->pid = 100;
	pi->pid = 100;
	pi->uid = uid;
	if (exe)
		bytes_set(&pi->exe, exe, strlen(exe));
	if (cid)
		pi->container_id = strdup(cid);
	ev->proc = pi;
	if (event_is_file(ev))
		bytes_set(&ev->path, "/etc/x", 6);
	return ev;
}

START_TEST(test_index_equals_scan)
{
	static const char *const exes[] = {
		"/usr/bin/wget", "/usr/bin/curl", "/bin/nc", "/bin/ncat", "/bin/a",
		"/tmp/x", "/usr/bin/id", "/usr/bin/wget2", "/usr/bin/wge", "", NULL,
	};
	static const enum event_type types[] = { EVENT_PROC_EXEC, EVENT_PROC_FORK, EVENT_FILE_CREATE };
	static const unsigned uids[] = { 0, 11, 4242 };
	struct policy_set *ps = load();
	size_t checked = 0, hits = 0;

	for (size_t t = 0; t < 3; t++)
	for (size_t e = 0; e < sizeof(exes) / sizeof(exes[0]); e++)
	for (size_t u = 0; u < 3; u++)
	for (int c = 0; c < 2; c++) {
		struct event *ev = make(types[t], exes[e], uids[u], c ? "abc" : NULL);
		const struct policy *got[32], *want[32];
		size_t ngot = policy_set_eval(ps, ev, got, 32), nwant = 0;

		for (size_t i = 0; i < ps->n_policies; i++) {
			const struct policy *p = ps->policies[i];

			if (p->enabled && policy_applies(p, ev) && policy_match(p, ev))
				want[nwant++] = p;
		}
		ck_assert_msg(ngot == nwant, "%s exe %s uid %u container %d: expected %zu "
			      "policies, saw %zu", event_type_name(types[t]),
			      exes[e] ? exes[e] : "(none)", uids[u], c, nwant, ngot);
		for (size_t i = 0; i < ngot; i++)
			ck_assert_msg(got[i] == want[i], "exe %s: policy %zu is %s, expected %s",
				      exes[e] ? exes[e] : "(none)", i, got[i]->name, want[i]->name);
		checked++;
		hits += ngot;
		event_free(ev);
	}
	/* the fixture must exercise matches, not only misses */
	ck_assert_msg(hits > 50, "expected many matches over %zu events, saw %zu", checked, hits);
	policy_set_put(ps);
}
END_TEST

/* @max stops at the first @max hits in file order, as a scan would. */
START_TEST(test_index_respects_max)
{
	struct policy_set *ps = load();
	struct event *ev = make(EVENT_PROC_EXEC, "/usr/bin/wget", 11, "abc");
	const struct policy *got[2];
	size_t n = policy_set_eval(ps, ev, got, 2);

	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(got[0]->name, "By Name");
	ck_assert_str_eq(got[1]->name, "By List");
	event_free(ev);
	policy_set_put(ps);
}
END_TEST

/* =~ with its literal prefilter against plain regexec(), both fields. */
START_TEST(test_regex_prefilter_agrees)
{
	static const char *const res[] = {
		"--donate-level", "(^| )--donate-level(=| )5", "/(xmrig|kinsing)1$", "ab+c",
		"ab*c", "ab?c", "a{2}b", "x\\.y", "x\\.?y", "[]a]bc", "[[:digit:]]+xyz",
		"^/usr/bin/(ba)?sh$", "foo|bar", "(foo)bar(baz)", "\\(lit\\)", "tail$", "q\\w+r",
		"abc", "a.c", "[^/]*/tmp/", "(a|b)*cd", "c+d+", "end\\+", "",
	};
	static const char *const vals[] = {
		"xmrig --donate-level 5", "--donate-level=5", "/opt/xmrig1", "/opt/kinsing1",
		"abbbc", "ac", "abc", "aab", "x.y", "xy", "xzy", "]bc", "abc", "12xyz", "/usr/bin/sh",
		"/usr/bin/bash", "foo", "bar", "foobarbaz", "(lit)", "a tail", "qwwr", "q r", "a-c",
		"/tmp/", "x/tmp/", "bacd", "ccdd", "end+", "end", "",
	};
	size_t agreed = 0, matched = 0;

	for (size_t r = 0; r < sizeof(res) / sizeof(res[0]); r++) {
		char rule[256];
		struct policy_expr *e;
		struct policy_expr_error perr;
		enum policy_rule_kind kind;
		regex_t re;

		snprintf(rule, sizeof(rule), "match programName =~ '%s'", res[r]);
		ck_assert_msg(policy_rule_compile(rule, strlen(rule), &kind, &e, &perr) == 0,
			      "%s did not compile: %s", rule, perr.msg);
		ck_assert_int_eq(regcomp(&re, res[r], REG_EXTENDED | REG_NOSUB), 0);
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			struct event *ev = make(EVENT_PROC_EXEC, vals[v], 0, NULL);
			struct policy_eval_ctx c;
			bool want = regexec(&re, vals[v], 0, NULL, 0) == 0, got;

			policy_eval_ctx_init(&c, ev);
			got = policy_expr_eval(e, &c);
			ck_assert_msg(got == want, "'%s' on \"%s\": regexec says %d, rule says %d",
				      res[r], vals[v], want, got);
			agreed++;
			matched += want;
			event_free(ev);
		}
		regfree(&re);
		policy_expr_free(e);
	}
	ck_assert_msg(matched > 40, "expected many matches over %zu checks, saw %zu", agreed, matched);
}
END_TEST

static bool named_for(const struct policy_set *ps, size_t i, const char *exe)
{
	const uint32_t *named;
	size_t n = policy_set_exec_named(ps, exe, strlen(exe), &named);

	for (size_t k = 0; k < n; k++)
		if (named[k] == i)
			return true;
	return false;
}

/* The gate's candidates: every matching program policy stays one, and
 * the policies that name their programs are out for any other binary. */
START_TEST(test_gate_candidates_keep_matches)
{
	static const char *const exes[] = {
		"/usr/bin/wget", "/usr/bin/curl", "/bin/nc", "/bin/ncat", "/bin/a", "/tmp/x",
		"/usr/bin/id", "/bin/ls", "/usr/bin/wgetx",
	};
	static const unsigned uids[] = { 0, 11, 4242 };
	struct policy_set *ps = load();
	size_t ruled_out = 0, matches = 0;

	for (size_t i = 0; i < ps->n_policies; i++) {
		const struct policy *p = ps->policies[i];

		if (!p->enabled || p->type != POLICY_PROGRAM)
			continue;
		for (size_t x = 0; x < sizeof(exes) / sizeof(exes[0]); x++) {
			bool candidate = !policy_names_programs(p) || named_for(ps, i, exes[x]);

			ruled_out += !candidate;
			for (size_t u = 0; u < sizeof(uids) / sizeof(uids[0]); u++) {
				struct event *ev = make(EVENT_PROC_EXEC, exes[x], uids[u], NULL);

				if (policy_match(p, ev)) {
					matches++;
					ck_assert_msg(candidate, "policy %s matches %s (uid %u) but the "
						      "gate would rule it out", p->name, exes[x], uids[u]);
				}
				event_free(ev);
			}
		}
	}
	ck_assert_msg(ruled_out > 20, "expected the names to rule out many pairs, saw %zu",
		      ruled_out);
	ck_assert_msg(matches > 10, "expected matches to check, saw %zu", matches);
	ck_assert(policy_names_programs(ps->policies[0]));	/* By Name */
	ck_assert(!policy_names_programs(ps->policies[4]));	/* Or Not All Names */
	policy_set_put(ps);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_index");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_index_equals_scan);
	tcase_add_test(tc, test_index_respects_max);
	tcase_add_test(tc, test_regex_prefilter_agrees);
	tcase_add_test(tc, test_gate_candidates_keep_matches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
