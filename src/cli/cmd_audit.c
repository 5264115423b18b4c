/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_audit - `senseonctl audit [--follow]` and `senseonctl audit verify`.
 *
 * Overview: reads the audit files of the configured log_dir (or the files
 * named on the command line) directly, as ausearch reads audit.log: the
 * daemon need not run to inspect or verify its trail.  It owns no state
 * beyond the open file it is reading; the chain rules live in
 * src/lib/audit.c (audit_verify), shared with the daemon and the tests.
 */
#include "textesc.h"
#include "audit.h"
#include "commands.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FOLLOW_POLL_MS	200
#define VALUE_MAX	96	/* human output shortens longer values */

static volatile sig_atomic_t stop_follow;

static void on_stop(int sig)
{
	stop_follow = 1;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: senseonctl audit [--follow] [--json]\n"
		"       senseonctl audit verify [--json] [FILE]...\n\n"
		"Print the audit records of the daemon's log_dir, oldest first; with\n"
		"--follow, only the new ones as they are written (across rotations).\n"
		"'verify' checks the hash chain through the files (default: the log_dir's\n"
		"audit.jsonl.* then audit.jsonl) and names every record that was edited,\n"
		"deleted, inserted or reordered.\n"
		"Exit status: 0 intact, 3 tampered or torn, 4 no audit log, 1 read error.\n");
}

/* --- printing records --- */

static bool reserved_key(const char *k)
{
	return !strcmp(k, "seq") || !strcmp(k, "time") || !strcmp(k, "type") ||
	       !strcmp(k, "prev") || !strcmp(k, "hash");
}

static void print_value(const json_t *v)
{
	char *s = json_is_string(v) ? strdup(json_string_value(v))
				    : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len;

	if (!s)
		return;
	/* a script payload is kept whole in the file, not on the terminal;
	 * every value is escaped (names and payloads are anyone's bytes) */
	len = strlen(s);
	if (len > VALUE_MAX) {
		char *cut = text_escape(s, VALUE_MAX);

		printf("%s...(%zu bytes)", cut ? cut : "", len);
		free(cut);
	} else {
		text_fputs(s, stdout);
	}
	free(s);
}

static void print_human(const char *line, size_t len)
{
	json_t *rec = json_loadb(line, len, 0, NULL);
	const char *key;
	json_t *val;

	if (!json_is_object(rec)) {
		char *cut = text_escape(line, len > 60 ? 60 : len);

		printf("(not a record: %s)\n", cut ? cut : "");
		free(cut);
		json_decref(rec);
		return;
	}
	text_fputs(json_string_value(json_object_get(rec, "time")) ?: "?", stdout);
	printf(" #%lld ", (long long)json_integer_value(json_object_get(rec, "seq")));
	text_fputs(json_string_value(json_object_get(rec, "type")) ?: "?", stdout);
	json_object_foreach(rec, key, val) {
		if (reserved_key(key))
			continue;
		putchar(' ');
		text_fputs(key, stdout);
		putchar('=');
		print_value(val);
	}
	putchar('\n');
	json_decref(rec);
}

static void print_line(const char *line, size_t len)
{
	if (ctl_opts.json)
		printf("%.*s\n", (int)len, line);
	else
		print_human(line, len);
}

/* Complete lines read so far; a partial last line waits for the rest. */
struct linebuf {
	char *buf;
	size_t len, cap;
};

static int drain_fd(int fd, struct linebuf *lb)
{
	for (;;) {
		char *nl, *start;
		ssize_t n;

		if (lb->cap - lb->len < 65536) {
			char *nb = realloc(lb->buf, lb->cap + 65536);

			if (!nb)
				return -ENOMEM;
			lb->buf = nb;
			lb->cap += 65536;
		}
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		lb->len += (size_t)n;
		start = lb->buf;
		while ((nl = memchr(start, '\n', lb->len - (size_t)(start - lb->buf)))) {
			print_line(start, (size_t)(nl - start));
			start = nl + 1;
		}
		lb->len -= (size_t)(start - lb->buf);
		memmove(lb->buf, start, lb->len);
	}
	fflush(stdout);
	return 0;
}

static int print_file(const char *path, struct linebuf *lb)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	lb->len = 0;
	rc = drain_fd(fd, lb);
	close(fd);
	return rc;
}

/* Tail LOG_DIR/audit.jsonl, across rotations, until a signal. */
static int follow(const char *log_dir, struct linebuf *lb)
{
	struct timespec pause = { 0, FOLLOW_POLL_MS * 1000000L };
	struct stat cur, now;
	char path[4096];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/" AUDIT_FILE, log_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &cur))
		return -errno;
	lseek(fd, 0, SEEK_END);
	lb->len = 0;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	while (!stop_follow && rc == 0) {
		rc = drain_fd(fd, lb);
		if (rc)
			break;
		if (stat(path, &now) == 0 && (now.st_ino != cur.st_ino || now.st_dev != cur.st_dev)) {
			/* rotated: finish the old file, then read the new one from its start */
			rc = drain_fd(fd, lb);
			close(fd);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &cur))
				return -errno;
			lb->len = 0;
			continue;
		}
		nanosleep(&pause, NULL);
	}
	close(fd);
	return rc;
}

static int cmd_print(const char *log_dir, bool follow_mode)
{
	struct linebuf lb = { 0 };
	char **files = NULL;
	int n, rc = 0;

	n = audit_list_files(log_dir, &files);
	if (n <= 0) {
		fprintf(stderr, "senseonctl: no audit log in %s%s%s\n", log_dir,
			n < 0 ? ": " : "", n < 0 ? strerror(-n) : "");
		return CTL_EXIT_UNAVAILABLE;
	}
	/* --follow is for what happens next: the history may be large */
	for (int i = 0; i < n && rc == 0 && !follow_mode; i++)
		rc = print_file(files[i], &lb);
	audit_free_list(files);
	if (rc == 0 && follow_mode)
		rc = follow(log_dir, &lb);
	free(lb.buf);
	if (rc) {
		fprintf(stderr, "senseonctl: reading the audit log: %s\n", strerror(-rc));
		return CTL_EXIT_FAILURE;
	}
	return CTL_EXIT_OK;
}

/* --- verify --- */

static void report_issue(const struct audit_issue *is, void *arg)
{
	json_t *arr = arg;

	if (arr) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:s}",
			"severity", is->severity == AUDIT_BROKEN ? "broken" : "note",
			"file", is->file, "line", (json_int_t)is->line,
			"seq", (json_int_t)is->seq, "what", is->what));
		return;
	}
	if (is->seq)
		printf("%s:%lu: seq %llu: %s%s\n", is->file, is->line,
		       (unsigned long long)is->seq,
		       is->severity == AUDIT_NOTE ? "note: " : "", is->what);
	else
		printf("%s:%lu: %s%s\n", is->file, is->line,
		       is->severity == AUDIT_NOTE ? "note: " : "", is->what);
}

static int verify_report(const char *const *files, size_t n)
{
	struct audit_verify_result res;
	json_t *issues = ctl_opts.json ? json_array() : NULL;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (access(files[i], R_OK)) {
			fprintf(stderr, "senseonctl: %s: %s\n", files[i], strerror(errno));
			json_decref(issues);
			return CTL_EXIT_FAILURE;
		}
	}
	rc = audit_verify(files, n, report_issue, issues, &res);
	if (rc) {
		fprintf(stderr, "senseonctl: audit verify: %s\n", strerror(-rc));
		json_decref(issues);
		return CTL_EXIT_FAILURE;
	}
	if (issues) {
		json_t *out = json_pack("{s:b, s:I, s:I, s:I, s:s, s:o}",
			"intact", res.broken == 0, "records", (json_int_t)res.records,
			"firstSeq", (json_int_t)res.first_seq, "lastSeq", (json_int_t)res.last_seq,
			"lastHash", res.last_hash, "issues", issues);

		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	} else if (res.broken) {
		printf("TAMPERED: %lu problem(s) in %llu records across %zu file(s)\n",
		       res.broken, (unsigned long long)res.records, n);
	} else {
		printf("intact: %llu records, seq %llu..%llu, %zu file(s), last hash %s\n",
		       (unsigned long long)res.records, (unsigned long long)res.first_seq,
		       (unsigned long long)res.last_seq, n, res.last_hash);
	}
	return res.broken ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}

static int cmd_verify(const char *log_dir)
{
	char **files = NULL;
	int n, rc;

	n = audit_list_files(log_dir, &files);
	if (n <= 0) {
		fprintf(stderr, "senseonctl: no audit log in %s%s%s\n", log_dir,
			n < 0 ? ": " : "", n < 0 ? strerror(-n) : "");
		audit_free_list(files);
		return CTL_EXIT_UNAVAILABLE;
	}
	rc = verify_report((const char *const *)files, (size_t)n);
	audit_free_list(files);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sensor_config cfg;
	bool follow_mode = false, verify = false;
	int c, rc;

	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		verify = true;
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, "fjh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': follow_mode = true; break;
		case 'j': ctl_opts.json = true; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if ((verify && follow_mode) || (!verify && optind < argc)) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (verify && optind < argc)	/* named files: no configuration needed */
		return verify_report((const char *const *)argv + optind, (size_t)(argc - optind));
	if (ctl_load_config(&cfg))
		return CTL_EXIT_INVALID;
	if (verify)
		rc = cmd_verify(cfg.log_dir);
	else
		rc = cmd_print(cfg.log_dir, follow_mode);
	config_free(&cfg);
	return rc;
}
