/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_audit - the audit chain on real files in a private temp dir: an
 * intact chain verifies; an edited byte, a deleted record, an inserted
 * forged record (with a correct hash of its own) and two swapped records
 * are each named by file:line and seq; a torn last line is reported and
 * then recovered on the next open; rotation (ours and logrotate's rename
 * + reopen) keeps the chain; 4 threads appending 1000 records each leave
 * an intact chain.
 */
#include "audit.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NREC 40

static char dir[64];
static char cur[128];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_audit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cur, sizeof(cur), "%s/%s", dir, AUDIT_FILE);
}

static void teardown(void)
{
	audit_close();
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- helpers --- */

struct seen {
	size_t n;
	struct {
		enum audit_severity sev;
		unsigned long line;
		unsigned long long seq;
		char file[256];
		char what[256];
	} v[64];
};

static void collect(const struct audit_issue *is, void *arg)
{
	struct seen *s = arg;

	fprintf(stderr, "  issue: %s:%lu: seq %llu: %s%s\n", is->file, is->line,
		(unsigned long long)is->seq, is->severity == AUDIT_NOTE ? "note: " : "", is->what);
	if (s->n >= 64)
		return;
	s->v[s->n].sev = is->severity;
	s->v[s->n].line = is->line;
	s->v[s->n].seq = is->seq;
	snprintf(s->v[s->n].file, sizeof(s->v[0].file), "%s", is->file);
	snprintf(s->v[s->n].what, sizeof(s->v[0].what), "%s", is->what);
	s->n++;
}

static struct audit_verify_result verify1(const char *path, struct seen *s)
{
	struct audit_verify_result res;
	const char *files[] = { path };

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(audit_verify(files, 1, collect, s, &res), 0);
	return res;
}

/* Is there a BROKEN issue at @line whose text contains @needle? */
static bool has_issue(const struct seen *s, unsigned long line, const char *needle)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].sev == AUDIT_BROKEN && s->v[i].line == line &&
		    strstr(s->v[i].what, needle))
			return true;
	return false;
}

static void write_chain(int n)
{
	ck_assert_int_eq(audit_open(dir), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(audit_append("test.record",
			json_pack("{s:i, s:s}", "i", i, "path", "/etc/shadow")), 0);
	audit_close();
}

struct lines {
	char *v[4 * NREC];
	size_t n;
};

static void read_lines(const char *path, struct lines *l)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	ck_assert_ptr_nonnull(fp);
	l->n = 0;
	while (getline(&line, &cap, fp) > 0 && l->n < 4 * NREC)
		l->v[l->n++] = strdup(line);
	free(line);
	fclose(fp);
}

static void write_lines(const char *path, struct lines *l)
{
	FILE *fp = fopen(path, "we");

	ck_assert_ptr_nonnull(fp);
	for (size_t i = 0; i < l->n; i++)
		fputs(l->v[i], fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void free_lines(struct lines *l)
{
	while (l->n)
		free(l->v[--l->n]);
}

static json_t *load_line(const char *line)
{
	json_t *rec = json_loads(line, 0, NULL);

	ck_assert_msg(rec != NULL, "expected a JSON record, saw: %s", line);
	return rec;
}

/* --- tests --- */

START_TEST(chain_intact)
{
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	char want[AUDIT_HASH_HEX_LEN + 1];

	write_chain(NREC);
	res = verify1(cur, &s);
	ck_assert_msg(res.broken == 0 && s.n == 0, "expected an intact chain, saw %lu problems",
		      res.broken);
	ck_assert_uint_eq(res.records, NREC);
	ck_assert_uint_eq(res.first_seq, 1);
	ck_assert_uint_eq(res.last_seq, NREC);
	/* the links themselves, as docs/audit.md defines them */
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, NREC);
	for (size_t i = 0; i < l.n; i++) {
		json_t *rec = load_line(l.v[i]);

		ck_assert_int_eq(json_integer_value(json_object_get(rec, "seq")), (json_int_t)i + 1);
		ck_assert_str_eq(json_string_value(json_object_get(rec, "type")), "test.record");
		ck_assert_int_eq(audit_record_hash(rec, want), 0);
		ck_assert_str_eq(json_string_value(json_object_get(rec, "hash")), want);
		if (i == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(rec, "prev")),
				"0000000000000000000000000000000000000000000000000000000000000000");
		} else {
			json_t *before = load_line(l.v[i - 1]);

			ck_assert_str_eq(json_string_value(json_object_get(rec, "prev")),
					 json_string_value(json_object_get(before, "hash")));
			json_decref(before);
		}
		json_decref(rec);
	}
	free_lines(&l);
}
END_TEST

/* Deferred records are in the chain, in order, and durable after a flush. */
START_TEST(deferred_records_chain)
{
	struct audit_verify_result res;
	struct lines l;
	struct seen s;

	ck_assert_int_eq(audit_flush(), -ENOTCONN);
	ck_assert_int_eq(audit_open(dir), 0);
	ck_assert_int_eq(audit_append_deferred("test.deferred", json_pack("{s:i}", "i", 0)), 0);
	ck_assert_int_eq(audit_append("test.record", json_pack("{s:i}", "i", 1)), 0);
	ck_assert_int_eq(audit_append_deferred("test.deferred", json_pack("{s:i}", "i", 2)), 0);
	ck_assert_int_eq(audit_append_deferred("", NULL), -EINVAL);
	ck_assert_int_eq(audit_flush(), 0);
	ck_assert_int_eq(audit_flush(), 0);	/* nothing pending */
	audit_close();
	res = verify1(cur, &s);
	ck_assert_msg(res.broken == 0 && s.n == 0, "expected an intact chain, saw %lu problems",
		      res.broken);
	ck_assert_uint_eq(res.records, 3);
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, 3);
	for (size_t i = 0; i < l.n; i++) {
		json_t *rec = load_line(l.v[i]);

		ck_assert_int_eq(json_integer_value(json_object_get(rec, "i")), (json_int_t)i);
		ck_assert_str_eq(json_string_value(json_object_get(rec, "type")),
				 i == 1 ? "test.record" : "test.deferred");
		json_decref(rec);
	}
	free_lines(&l);
}
END_TEST

START_TEST(reserved_keys_ignored)
{
	struct lines l;
	json_t *rec;

	ck_assert_int_eq(audit_open(dir), 0);
	ck_assert_int_eq(audit_append("x.y", json_pack("{s:i, s:s, s:s}", "seq", 999,
						       "hash", "forged", "ok", "yes")), 0);
	ck_assert_int_eq(audit_append("", NULL), -EINVAL);
	audit_close();
	ck_assert_int_eq(audit_append("x.y", NULL), -ENOTCONN);
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, 1);
	rec = load_line(l.v[0]);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "seq")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "ok")), "yes");
	json_decref(rec);
	free_lines(&l);
}
END_TEST

START_TEST(edited_byte_named)
{
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	char *p;

	write_chain(NREC);
	read_lines(cur, &l);
	/* one byte of record 20's content: /etc/shadow -> /etc/shadoW */
	p = strstr(l.v[19], "shadow");
	ck_assert_ptr_nonnull(p);
	p[5] = 'W';
	write_lines(cur, &l);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, 20, "hash mismatch"),
		      "expected \"hash mismatch\" at line 20, saw %zu issues", s.n);
	ck_assert_uint_eq(res.broken, 1);
	ck_assert_uint_eq(s.v[0].seq, 20);
	free_lines(&l);
}
END_TEST

START_TEST(edited_with_rehash_caught_by_next)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	json_t *rec;

	/* the forger edits record 20 and fixes its own hash, but not 21's prev */
	write_chain(NREC);
	read_lines(cur, &l);
	rec = load_line(l.v[19]);
	json_object_set_new(rec, "path", json_string("/tmp/nothing"));
	ck_assert_int_eq(audit_record_hash(rec, hash), 0);
	json_object_set_new(rec, "hash", json_string(hash));
	free(l.v[19]);
	l.v[19] = json_dumps(rec, JSON_COMPACT);
	l.v[19] = realloc(l.v[19], strlen(l.v[19]) + 2);
	strcat(l.v[19], "\n");
	json_decref(rec);
	write_lines(cur, &l);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, 21, "prev does not match record 20"),
		      "expected line 21 \"prev does not match record 20\", saw %zu issues", s.n);
	ck_assert_uint_eq(res.broken, 1);
	free_lines(&l);
}
END_TEST

START_TEST(deleted_record_named)
{
	struct audit_verify_result res;
	struct lines l;
	struct seen s;

	write_chain(NREC);
	read_lines(cur, &l);
	free(l.v[24]);		/* record 25 */
	memmove(&l.v[24], &l.v[25], (l.n - 25) * sizeof(l.v[0]));
	l.n--;
	write_lines(cur, &l);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, 25, "seq gap 24 -> 26"),
		      "expected \"seq gap 24 -> 26\" at line 25, saw %zu issues", s.n);
	ck_assert_msg(has_issue(&s, 25, "prev does not match record 24"),
		      "expected line 25 \"prev does not match record 24\"");
	ck_assert_uint_eq(res.broken, 2);
	free_lines(&l);
}
END_TEST

START_TEST(inserted_forgery_caught)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	struct audit_verify_result res;
	json_t *before, *forged;
	struct lines l;
	struct seen s;
	char *line;

	write_chain(NREC);
	read_lines(cur, &l);
	/* a perfect record 25 of its own: right seq, prev and self-hash */
	before = load_line(l.v[23]);
	forged = json_pack("{s:i, s:s, s:s, s:O, s:s}", "seq", 25,
			   "time", "2024-01-01T00:00:00.000000000Z", "type", "process.kill",
			   "prev", json_object_get(before, "hash"), "target", "pid 1");
	ck_assert_int_eq(audit_record_hash(forged, hash), 0);
	json_object_set_new(forged, "hash", json_string(hash));
	line = json_dumps(forged, JSON_COMPACT);
	memmove(&l.v[25], &l.v[24], (l.n - 24) * sizeof(l.v[0]));
	ck_assert_int_ne(asprintf(&l.v[24], "%s\n", line), -1);
	l.n++;
	free(line);
	json_decref(before);
	json_decref(forged);
	write_lines(cur, &l);
	res = verify1(cur, &s);
	/* the forgery itself links well; the real record 25 after it does not */
	ck_assert_msg(has_issue(&s, 26, "seq 25 repeated"),
		      "expected \"seq 25 repeated\" at line 26, saw %zu issues", s.n);
	ck_assert_msg(has_issue(&s, 26, "prev does not match record 25"),
		      "expected line 26 \"prev does not match record 25\"");
	ck_assert_uint_ge(res.broken, 2);
	free_lines(&l);
}
END_TEST

START_TEST(swapped_records_named)
{
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	char *t;

	write_chain(NREC);
	read_lines(cur, &l);
	t = l.v[9];		/* records 10 and 11 */
	l.v[9] = l.v[10];
	l.v[10] = t;
	write_lines(cur, &l);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, 10, "seq gap 9 -> 11"),
		      "expected \"seq gap 9 -> 11\" at line 10, saw %zu issues", s.n);
	ck_assert_msg(has_issue(&s, 11, "seq out of order: 10 after 11"),
		      "expected \"seq out of order: 10 after 11\" at line 11");
	ck_assert_uint_ge(res.broken, 3);
	for (size_t i = 0; i < s.n; i++)
		ck_assert_msg(s.v[i].line >= 10 && s.v[i].line <= 12,
			      "expected issues only at lines 10-12, saw line %lu", s.v[i].line);
	free_lines(&l);
}
END_TEST

START_TEST(torn_line_reported_then_recovered)
{
	static const char torn[] = "{\"seq\":41,\"time\":\"2024-01-01T00:00:00.0";
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	json_t *rec;
	int fd;

	write_chain(NREC);
	fd = open(cur, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
	close(fd);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, NREC + 1, "torn last line"),
		      "expected \"torn last line\" at line %d, saw %zu issues", NREC + 1, s.n);
	ck_assert_uint_eq(res.broken, 1);

	/* the next open closes the torn line and says so in the chain */
	ck_assert_int_eq(audit_open(dir), 0);
	ck_assert_int_eq(audit_append("after.crash", NULL), 0);
	audit_close();
	res = verify1(cur, &s);
	ck_assert_msg(res.broken == 0, "expected the recovered chain intact, saw %lu problems",
		      res.broken);
	ck_assert_uint_eq(res.notes, 1);
	ck_assert_uint_eq(s.v[0].line, NREC + 1);
	ck_assert_ptr_nonnull(strstr(s.v[0].what, "recovered by seq 41"));
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, NREC + 3);
	rec = load_line(l.v[NREC + 1]);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "type")), "audit.recovered");
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "tornBytes")),
			 (json_int_t)strlen(torn));
	json_decref(rec);

	/* a torn line that is not explained by its recovery record is broken */
	free(l.v[NREC + 1]);
	memmove(&l.v[NREC + 1], &l.v[NREC + 2], sizeof(l.v[0]));
	l.n--;
	write_lines(cur, &l);
	res = verify1(cur, &s);
	ck_assert_msg(has_issue(&s, NREC + 1, "not a valid record"),
		      "expected line %d \"not a valid record\"", NREC + 1);
	free_lines(&l);
}
END_TEST

START_TEST(reopen_continues_chain)
{
	struct audit_verify_result res;
	struct seen s;

	write_chain(5);
	write_chain(5);		/* a restart of the daemon */
	res = verify1(cur, &s);
	ck_assert_uint_eq(res.broken, 0);
	ck_assert_uint_eq(res.records, 10);
	ck_assert_int_eq(audit_open(dir), 0);
	ck_assert_int_eq(audit_open(dir), -EBUSY);
}
END_TEST

static struct audit_verify_result verify_dir(struct seen *s, int *nfiles)
{
	struct audit_verify_result res;
	char **files = NULL;
	int n = audit_list_files(dir, &files);

	ck_assert_int_gt(n, 0);
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(audit_verify((const char *const *)files, (size_t)n, collect, s, &res), 0);
	audit_free_list(files);
	*nfiles = n;
	return res;
}

START_TEST(rotation_keeps_chain)
{
	struct audit_verify_result res;
	char lr[192];
	json_t *first, *last;
	struct lines l, o;
	struct seen s;
	char **files;
	int n;

	ck_assert_int_eq(audit_open(dir), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(audit_append("a", json_pack("{s:i}", "i", i)), 0);
	ck_assert_int_eq(audit_rotate(), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(audit_append("b", json_pack("{s:i}", "i", i)), 0);
	/* logrotate's way: rename, then the daemon reopens on SIGHUP */
	snprintf(lr, sizeof(lr), "%s/%s.1", dir, AUDIT_FILE);
	ck_assert_int_eq(rename(cur, lr), 0);
	ck_assert_int_eq(audit_append("c", NULL), 0);	/* still to the renamed file */
	ck_assert_int_eq(audit_reopen(), 0);
	ck_assert_int_eq(audit_reopen(), 0);		/* nothing moved: no record */
	ck_assert_int_eq(audit_append("d", NULL), 0);
	audit_close();

	res = verify_dir(&s, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_msg(res.broken == 0 && s.n == 0, "expected an intact chain over 3 files, saw %lu",
		      res.broken);
	ck_assert_uint_eq(res.records, 10 + 1 + 5 + 1 + 1 + 1);

	/* the new file starts with audit.rotated chained to the old file's end */
	read_lines(lr, &o);
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, 2);
	first = load_line(l.v[0]);
	last = load_line(o.v[o.n - 1]);
	ck_assert_str_eq(json_string_value(json_object_get(first, "type")), "audit.rotated");
	ck_assert_str_eq(json_string_value(json_object_get(first, "previousFile")), AUDIT_FILE ".1");
	ck_assert_str_eq(json_string_value(json_object_get(first, "prev")),
			 json_string_value(json_object_get(last, "hash")));
	json_decref(first);
	json_decref(last);

	/* files are ordered by their first seq, whatever their names */
	ck_assert_int_eq(audit_list_files(dir, &files), 3);
	ck_assert_ptr_nonnull(strstr(files[0], AUDIT_FILE ".2"));	/* our timestamped name */
	ck_assert_str_eq(files[1], lr);
	ck_assert_str_eq(files[2], cur);
	audit_free_list(files);

	/* losing a whole middle file is a gap */
	ck_assert_int_eq(unlink(lr), 0);
	res = verify_dir(&s, &n);
	ck_assert_msg(has_issue(&s, 1, "seq gap"), "expected a seq gap at the start of %s", cur);
	/* the newest file alone starts mid-chain: a note, not a break */
	res = verify1(cur, &s);
	ck_assert_uint_eq(res.broken, 0);
	ck_assert_uint_eq(res.notes, 1);
	free_lines(&l);
	free_lines(&o);
}
END_TEST

START_TEST(open_after_offline_rotation)
{
	char lr[192];
	struct audit_verify_result res;
	struct lines l;
	struct seen s;
	json_t *first;
	int n;

	write_chain(3);
	snprintf(lr, sizeof(lr), "%s/%s.1", dir, AUDIT_FILE);
	ck_assert_int_eq(rename(cur, lr), 0);
	write_chain(2);
	read_lines(cur, &l);
	ck_assert_uint_eq(l.n, 3);
	first = load_line(l.v[0]);
	ck_assert_str_eq(json_string_value(json_object_get(first, "type")), "audit.rotated");
	ck_assert_int_eq(json_integer_value(json_object_get(first, "seq")), 4);
	json_decref(first);
	res = verify_dir(&s, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(res.broken, 0);
	free_lines(&l);
}
END_TEST

START_TEST(torn_first_line_after_rotation)
{
	struct audit_verify_result res;
	struct seen s;
	char lr[192];
	int fd, n;

	/* rotated, then the daemon died writing the new file's first record */
	write_chain(3);
	snprintf(lr, sizeof(lr), "%s/%s.1", dir, AUDIT_FILE);
	ck_assert_int_eq(rename(cur, lr), 0);
	fd = open(cur, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"seq\":4,", 9), 9);
	close(fd);
	write_chain(1);
	res = verify_dir(&s, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_msg(res.broken == 0, "expected the chain to go on from %s, saw %lu problems",
		      lr, res.broken);
	ck_assert_uint_eq(res.records, 5);	/* 3 + audit.recovered + 1 */
	ck_assert_uint_eq(res.notes, 1);
}
END_TEST

#define THREADS	4
#define PER_THREAD 1000

static void *appender(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < PER_THREAD; i++)
		if (audit_append("thread.record", json_pack("{s:i, s:i}", "thread", (int)id, "i", i)))
			return (void *)1;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(concurrent_appends)
{
	struct audit_verify_result res;
	pthread_t t[THREADS];
	struct seen s;
	double t0, t1;
	void *ret;

	ck_assert_int_eq(audit_open(dir), 0);
	t0 = now_s();
	for (long i = 0; i < 100; i++)
		ck_assert_int_eq(audit_append("serial", NULL), 0);
	t1 = now_s();
	fprintf(stderr, "# serial append (write + fdatasync): %.3f ms per record\n",
		(t1 - t0) * 1000 / 100);
	t0 = now_s();
	for (long i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, appender, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_msg(ret == NULL, "expected every append of thread %d to succeed", i);
	}
	t1 = now_s();
	fprintf(stderr, "# %d threads x %d appends: %.3f s, %.3f ms per record (group commit)\n",
		THREADS, PER_THREAD, t1 - t0, (t1 - t0) * 1000 / (THREADS * PER_THREAD));
	audit_close();
	res = verify1(cur, &s);
	ck_assert_msg(res.broken == 0, "expected an intact chain, saw %lu problems", res.broken);
	ck_assert_uint_eq(res.records, 100 + THREADS * PER_THREAD);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chain_intact);
	tcase_add_test(tc, deferred_records_chain);
	tcase_add_test(tc, reserved_keys_ignored);
	tcase_add_test(tc, edited_byte_named);
	tcase_add_test(tc, edited_with_rehash_caught_by_next);
	tcase_add_test(tc, deleted_record_named);
	tcase_add_test(tc, inserted_forgery_caught);
	tcase_add_test(tc, swapped_records_named);
	tcase_add_test(tc, torn_line_reported_then_recovered);
	tcase_add_test(tc, reopen_continues_chain);
	tcase_add_test(tc, rotation_keeps_chain);
	tcase_add_test(tc, open_after_offline_rotation);
	tcase_add_test(tc, torn_first_line_after_rotation);
	tcase_add_test(tc, concurrent_appends);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
