/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_isolate - allow-entry parsing, durations, ruleset text, digest and
 * the state file round trip.  Nothing here touches nftables.
 */
#include "isolate.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void roundtrip(const char *in, const char *canon)
{
	struct isolate_target t, t2;
	char buf[96];

	ck_assert_msg(isolate_parse_target(in, &t) == 0, "expected \"%s\" to parse", in);
	isolate_format_target(&t, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, canon) == 0, "\"%s\": expected \"%s\", got \"%s\"",
		      in, canon, buf);
	ck_assert_int_eq(isolate_parse_target(buf, &t2), 0);
	ck_assert_msg(memcmp(&t, &t2, sizeof(t)) == 0, "\"%s\" does not parse back", buf);
}

START_TEST(parse_targets)
{
	roundtrip("10.1.2.3", "10.1.2.3");
	roundtrip("10.1.2.3:22", "10.1.2.3:22");
	roundtrip("10.1.2.3/8", "10.0.0.0/8");	/* host bits cleared */
	roundtrip("192.168.7.0/24:443", "192.168.7.0/24:443");
	roundtrip("fd00::1", "fd00::1");
	roundtrip("[fd00::1]:8443", "[fd00::1]:8443");
	roundtrip("fd00:1:2::5/48", "fd00:1:2::/48");
	roundtrip("[fd00::/64]:53", "[fd00::/64]:53");
}
END_TEST

START_TEST(parse_targets_rejects)
{
	const char *bad[] = {
		"", "host.example", "10.1.2.3:0", "10.1.2.3:65536", "10.1.2.3:",
		"10.1.2.3/33", "10.1.2.3/-1", "[10.1.2.3]:22", "fd00::1:22:", "[fd00::1",
		"[fd00::1]x", "fd00::/129", "1.2.3.4:22:33", "10.1.2.3 ", NULL,
	};
	struct isolate_target t;

	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(isolate_parse_target(bad[i], &t) < 0,
			      "expected \"%s\" to be rejected", bad[i]);
}
END_TEST

START_TEST(durations)
{
	long s = 0;

	ck_assert_int_eq(isolate_parse_duration("90", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(isolate_parse_duration("15m", &s), 0);
	ck_assert_int_eq(s, 900);
	ck_assert_int_eq(isolate_parse_duration("2h", &s), 0);
	ck_assert_int_eq(s, 7200);
	ck_assert_int_eq(isolate_parse_duration("1d", &s), 0);
	ck_assert_int_eq(s, 86400);
	ck_assert_int_lt(isolate_parse_duration("0", &s), 0);
	ck_assert_int_lt(isolate_parse_duration("-5m", &s), 0);
	ck_assert_int_lt(isolate_parse_duration("2x", &s), 0);
	ck_assert_int_lt(isolate_parse_duration("2hh", &s), 0);
	ck_assert_int_lt(isolate_parse_duration("h", &s), 0);
	ck_assert_int_lt(isolate_parse_duration("99999999999d", &s), 0);
}
END_TEST

static void spec_add(struct isolate_target **v, size_t *n, const char *s)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	ck_assert_ptr_nonnull(*v);
	ck_assert_int_eq(isolate_parse_target(s, &(*v)[*n]), 0);
	(*n)++;
}

static void fill_spec(struct isolate_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->platform_host = strdup("platform.test");
	spec->platform_port = 8443;
	spec_add(&spec->platform, &spec->n_platform, "10.9.0.2");
	spec_add(&spec->platform, &spec->n_platform, "fd09::2");
	spec_add(&spec->allow, &spec->n_allow, "10.50.0.0/16");
	spec_add(&spec->allow, &spec->n_allow, "[fd50::7]:22");
	spec_add(&spec->dns, &spec->n_dns, "10.0.0.53");
}

static void expect_line(const char *text, const char *line)
{
	ck_assert_msg(strstr(text, line), "expected the ruleset to contain\n  %s\ngot:\n%s",
		      line, text);
}

START_TEST(ruleset_text)
{
	const char *head = "add table inet senseon_isolation\n"
		"delete table inet senseon_isolation\n"
		"table inet senseon_isolation {\n";
	struct isolate_spec spec;
	char *text;

	fill_spec(&spec);
	text = isolate_ruleset(&spec);
	ck_assert_ptr_nonnull(text);
	/* atomic replacement of our table only */
	ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "unexpected head:\n%s", text);
	ck_assert_msg(!strstr(text, "flush ruleset"), "must never flush the ruleset");
	expect_line(text, "type filter hook output priority filter; policy drop;");
	expect_line(text, "oif \"lo\" accept");
	expect_line(text, "ct state established,related accept");
	expect_line(text, "nd-neighbor-solicit, nd-neighbor-advert");
	expect_line(text, "ip daddr 10.9.0.2 tcp dport 8443 accept");
	expect_line(text, "ip6 daddr fd09::2 tcp dport 8443 accept");
	expect_line(text, "ip daddr 10.50.0.0/16 accept");
	expect_line(text, "ip6 daddr fd50::7 meta l4proto { tcp, udp } th dport 22 accept");
	expect_line(text, "ip daddr 10.0.0.53 udp dport 53 accept");
	expect_line(text, "ip daddr 10.0.0.53 tcp dport 53 accept");
	expect_line(text, "type filter hook input priority filter; policy accept;");
	expect_line(text, "type filter hook forward priority filter; policy drop;");
	free(text);
	isolate_spec_free(&spec);
}
END_TEST

START_TEST(digest_known)
{
	char d[ISOLATE_DIGEST_HEX_LEN + 1];

	ck_assert_int_eq(isolate_digest("abc", d), 0);
	ck_assert_str_eq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(state_roundtrip)
{
	char dir[] = "/tmp/test_isolate.XXXXXX", path[256];
	struct isolate_state st = { 0 }, back;
	char *a, *b;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* no file: not isolated */
	ck_assert_int_eq(isolate_state_load(dir, &back), 0);
	ck_assert(!back.isolated);

	fill_spec(&st.spec);
	st.isolated = true;
	st.since = 1700000000;
	st.expires = 1700007200;
	st.forced = true;
	st.by = strdup("uid:0");
	st.listing = strdup("table inet senseon_isolation {\n}\n");
	ck_assert_int_eq(isolate_digest(st.listing, st.digest), 0);
	ck_assert_int_eq(isolate_state_save(dir, &st), 0);
	ck_assert_int_eq(isolate_state_load(dir, &back), 0);

	ck_assert(back.isolated && back.forced);
	ck_assert_int_eq(back.since, st.since);
	ck_assert_int_eq(back.expires, st.expires);
	ck_assert_str_eq(back.by, "uid:0");
	ck_assert_str_eq(back.digest, st.digest);
	ck_assert_str_eq(back.listing, st.listing);
	ck_assert_uint_eq(back.spec.n_platform, 2);
	ck_assert_uint_eq(back.spec.n_allow, 2);
	ck_assert_uint_eq(back.spec.n_dns, 1);
	/* the same spec generates the same ruleset, byte for byte */
	a = isolate_ruleset(&st.spec);
	b = isolate_ruleset(&back.spec);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	isolate_state_free(&back);

	/* a corrupt file is an error, not "not isolated" */
	snprintf(path, sizeof(path), "%s/" ISOLATE_STATE_FILE, dir);
	FILE *fp = fopen(path, "we");
	ck_assert_ptr_nonnull(fp);
	fputs("{\"isolated\": tru", fp);
	fclose(fp);
	ck_assert_int_lt(isolate_state_load(dir, &back), 0);

	unlink(path);
	snprintf(path, sizeof(path), "%s/isolation.lock", dir);
	unlink(path);
	rmdir(dir);
	isolate_state_free(&st);
}
END_TEST

START_TEST(netns_guard)
{
	ck_assert_int_eq(isolate_netns_guard(NULL), 0);
	ck_assert_int_eq(isolate_netns_guard("/proc/self/ns/net"), 0);
	/* a different namespace file (the user namespace) is not ours */
	ck_assert_int_eq(isolate_netns_guard("/proc/self/ns/user"), -EPERM);
	ck_assert_int_eq(isolate_netns_guard("/nonexistent/netns"), -EPERM);
}
END_TEST

START_TEST(resolve_literals)
{
	struct isolate_spec spec = { 0 };
	char err[256] = "";

	ck_assert_int_eq(isolate_resolve(&spec, "192.0.2.7", 443, err, sizeof(err)), 0);
	ck_assert_uint_eq(spec.n_platform, 1);
	ck_assert_int_eq(spec.platform[0].family, AF_INET);
	isolate_spec_free(&spec);
	ck_assert_int_eq(isolate_resolve(&spec, "2001:db8::7", 443, err, sizeof(err)), 0);
	ck_assert_int_eq(spec.platform[0].family, AF_INET6);
	isolate_spec_free(&spec);
	ck_assert_int_lt(isolate_resolve(&spec, "no-such-host.invalid", 443, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "no-such-host.invalid"), "error should name the host: %s", err);
	isolate_spec_free(&spec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("isolate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_targets);
	tcase_add_test(tc, parse_targets_rejects);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, ruleset_text);
	tcase_add_test(tc, digest_known);
	tcase_add_test(tc, state_roundtrip);
	tcase_add_test(tc, netns_guard);
	tcase_add_test(tc, resolve_literals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
