/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ledger - at-most-once execution of platform commands.
 *
 * Overview: owns STATE_DIR/ledger.jsonl and its in-memory index (a JSON
 * object id -> {"cmd", "state", "result"} plus the ids in arrival order
 * for eviction).  Journal lines are
 *
 *	{"id": ID, "cmd": CMD, "state": "started"}
 *	{"id": ID, "state": "done", "result": {...}}
 *
 * each written with one write(2) and fdatasync'ed.  At load, an id that
 * started but never finished becomes "interrupted".  It must not run
 * anything or know the transport: src/daemon/platform.c asks it before
 * dispatching a command and tells it the result after.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX	10000

struct ledger {
	pthread_mutex_t lock;
	char *path;
	int fd;
	size_t max;
	size_t lines;		/* in the journal, to know when to compact */
	json_t *map;		/* id -> entry */
	json_t *order;		/* ids, oldest first */
};

static int journal_write(int fd, const json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT);
	size_t n;
	ssize_t w;
	int err = 0;

	if (!line)
		return -ENOMEM;
	n = strlen(line);
	line[n] = '\n';	/* overwrites the NUL: written with its length */
	w = write(fd, line, n + 1);
	if (w != (ssize_t)(n + 1))
		err = w < 0 ? -errno : -ENOSPC;
	free(line);
	if (!err && fdatasync(fd))
		err = -errno;
	return err;
}

/* Apply one journal record to the index (at load and when recording). */
static void index_apply(struct ledger *l, json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *state = json_string_value(json_object_get(rec, "state"));
	json_t *e;

	if (!id || !state)
		return;
	e = json_object_get(l->map, id);
	if (strcmp(state, "started") == 0 && !e) {
		e = json_pack("{s:s, s:O?}", "state", "started", "cmd",
			      json_object_get(rec, "cmd"));
		if (e && json_object_set_new(l->map, id, e) == 0)
			json_array_append_new(l->order, json_string(id));
	} else if (strcmp(state, "done") == 0 && e) {
		json_object_set_new(e, "state", json_string("done"));
		json_object_set(e, "result", json_object_get(rec, "result"));
	}
}

/* Forget the oldest ids beyond the limit. */
static void index_trim(struct ledger *l)
{
	while (json_array_size(l->order) > l->max) {
		json_object_del(l->map, json_string_value(json_array_get(l->order, 0)));
		json_array_remove(l->order, 0);
	}
}

static int load(struct ledger *l)
{
	FILE *fp = fopen(l->path, "re");
	char *line = NULL;
	size_t cap = 0;
	const char *k;
	json_t *v;

	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, fp) > 0) {
		json_t *rec = json_loads(line, 0, NULL);

		/* a torn last line: its command never started */
		if (rec)
			index_apply(l, rec);
		json_decref(rec);
		l->lines++;
	}
	free(line);
	fclose(fp);
	json_object_foreach(l->map, k, v)
		if (strcmp(json_string_value(json_object_get(v, "state")), "started") == 0)
			json_object_set_new(v, "state", json_string("interrupted"));
	index_trim(l);
	return 0;
}

/* Rewrite the journal with what the index holds, atomically. */
static int compact(struct ledger *l)
{
	char tmp[4096];
	size_t i;
	json_t *idv;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", l->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	json_array_foreach(l->order, i, idv) {
		const char *id = json_string_value(idv);
		json_t *e = json_object_get(l->map, id);
		const char *st = json_string_value(json_object_get(e, "state"));
		json_t *rec = json_pack("{s:s, s:O?, s:s}", "id", id, "cmd",
					json_object_get(e, "cmd"), "state", "started");

		/* interrupted stays interrupted: "started" with no "done" */
		if (!err && rec)
			err = journal_write(fd, rec);
		json_decref(rec);
		if (!err && strcmp(st, "done") == 0) {
			rec = json_pack("{s:s, s:s, s:O}", "id", id, "state", "done",
					"result", json_object_get(e, "result"));
			err = rec ? journal_write(fd, rec) : -ENOMEM;
			json_decref(rec);
		}
	}
	if (!err && rename(tmp, l->path))
		err = -errno;
	if (err) {
		close(fd);
		unlink(tmp);
		return err;
	}
	close(l->fd);
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (l->fd < 0)
		return -errno;
	l->lines = json_array_size(l->order) * 2;
	return 0;
}

int ledger_open(const char *path, size_t max_entries, struct ledger **out)
{
	struct ledger *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->max = max_entries ? max_entries : DEFAULT_MAX;
	l->path = strdup(path);
	l->map = json_object();
	l->order = json_array();
	l->fd = -1;
	if (!l->path || !l->map || !l->order) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = load(l)))
		goto fail;
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		err = -errno;
		goto fail;
	}
	*out = l;
	return 0;
fail:
	ledger_close(l);
	return err;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	json_decref(l->map);
	json_decref(l->order);
	free(l->path);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static enum ledger_state state_of(const json_t *e)
{
	const char *st = json_string_value(json_object_get(e, "state"));

	if (strcmp(st, "done") == 0)
		return LEDGER_DONE;
	if (strcmp(st, "interrupted") == 0)
		return LEDGER_INTERRUPTED;
	return LEDGER_RUNNING;
}

int ledger_begin(struct ledger *l, const char *id, const char *cmd,
		 enum ledger_state *state, json_t **result)
{
	json_t *e, *rec;
	int err = 0;

	*result = NULL;
	pthread_mutex_lock(&l->lock);
	e = json_object_get(l->map, id);
	if (e) {
		*state = state_of(e);
		if (*state == LEDGER_DONE)
			*result = json_incref(json_object_get(e, "result"));
		goto out;
	}
	rec = json_pack("{s:s, s:s?, s:s}", "id", id, "cmd", cmd, "state", "started");
	err = rec ? journal_write(l->fd, rec) : -ENOMEM;
	if (!err) {
		index_apply(l, rec);
		l->lines++;
		*state = LEDGER_NEW;
	}
	json_decref(rec);
out:
	pthread_mutex_unlock(&l->lock);
	return err;
}

/* A result too large to keep is stored as what the platform most needs. */
static json_t *result_to_store(const json_t *result)
{
	size_t n = json_dumpb(result, NULL, 0, JSON_COMPACT);

	if (n <= LEDGER_MAX_RESULT)
		return json_deep_copy(result);
	return json_pack("{s:O?, s:O?, s:b}", "ok", json_object_get(result, "ok"),
			 "error", json_object_get(result, "error"), "truncated", 1);
}

int ledger_finish(struct ledger *l, const char *id, const json_t *result)
{
	json_t *rec, *stored;
	int err;

	pthread_mutex_lock(&l->lock);
	if (!json_object_get(l->map, id)) {
		err = -ENOENT;
		goto out;
	}
	stored = result_to_store(result);
	rec = stored ? json_pack("{s:s, s:s, s:o}", "id", id, "state", "done",
				 "result", stored) : NULL;
	err = rec ? journal_write(l->fd, rec) : -ENOMEM;
	if (!err) {
		index_apply(l, rec);
		l->lines++;
		index_trim(l);
		if (l->lines > 2 * l->max + 16)
			err = compact(l);
	}
	json_decref(rec);
out:
	pthread_mutex_unlock(&l->lock);
	return err;
}

size_t ledger_count(struct ledger *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = json_array_size(l->order);
	pthread_mutex_unlock(&l->lock);
	return n;
}
