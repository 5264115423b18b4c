/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config - table-driven parser for senseond.conf (YAML, libyaml).
 *
 * Overview: owns a struct sensor_config's strings.  config_load parses
 * into a scratch copy and swaps it in only when the whole file is good,
 * so a bad edit followed by SIGHUP keeps the running configuration.
 * Adding an option is one row in config_keys[].
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

enum key_type { KEY_STRING, KEY_PATH, KEY_BOOL, KEY_LONG, KEY_LIST, KEY_ENUM };

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	long min, max;		/* KEY_LONG */
	const char *const *choices;	/* KEY_ENUM */
};

static const char *const stdout_choices[] = { "all", "alerts", "none", NULL };
static const char *const level_choices[] = {
	"error", "warning", "notice", "info", "debug", NULL
};

#define OFF(field) offsetof(struct sensor_config, field)
static const struct config_key config_keys[] = {
	{ "state_dir", KEY_PATH, OFF(state_dir) },
	{ "log_dir", KEY_PATH, OFF(log_dir) },
	{ "run_dir", KEY_PATH, OFF(run_dir) },
	{ "policy_dir", KEY_PATH, OFF(policy_dir) },
	{ "scripts_dir", KEY_PATH, OFF(scripts_dir) },
	{ "pyrunner_path", KEY_PATH, OFF(pyrunner_path) },
	{ "control_socket", KEY_PATH, OFF(control_socket) },
	{ "node_name", KEY_STRING, OFF(node_name) },
	{ "log_level", KEY_ENUM, OFF(log_level), 0, 0, level_choices },
	{ "process_source", KEY_BOOL, OFF(process_source) },
	{ "exec_source", KEY_BOOL, OFF(exec_source) },
	{ "file_source", KEY_BOOL, OFF(file_source) },
	{ "event_log", KEY_BOOL, OFF(event_log) },
	{ "stdout_events", KEY_ENUM, OFF(stdout_events), 0, 0, stdout_choices },
	{ "watch_paths", KEY_LIST, OFF(watch_paths) },
	{ "ignore_paths", KEY_LIST, OFF(ignore_paths) },
	{ "protected_programs", KEY_LIST, OFF(protected_programs) },
	{ "queue_size", KEY_LONG, OFF(queue_size), 1024, 16 * 1024 * 1024 },
	{ "proc_rcvbuf", KEY_LONG, OFF(proc_rcvbuf), 65536, 1L << 30 },
	{ "exec_gate_deadline_ms", KEY_LONG, OFF(exec_gate_deadline_ms), 1, 60000 },
	{ "exec_gate_fail_closed", KEY_BOOL, OFF(exec_gate_fail_closed) },
	{ "platform_host", KEY_STRING, OFF(platform_host) },
	{ "platform_port", KEY_LONG, OFF(platform_port), 1, 65535 },
	{ "isolation_allow", KEY_LIST, OFF(isolation_allow) },
	{ "isolation_dns", KEY_LIST, OFF(isolation_dns) },
	{ "isolation_netns", KEY_PATH, OFF(isolation_netns) },
	{ "exec_gate_paths", KEY_LIST, OFF(exec_gate_paths) },
	{ "platform_url", KEY_STRING, OFF(platform_url) },
	{ "platform_ca", KEY_PATH, OFF(platform_ca) },
	{ "platform_cert", KEY_PATH, OFF(platform_cert) },
	{ "platform_key", KEY_PATH, OFF(platform_key) },
	{ "platform_pins", KEY_LIST, OFF(platform_pins) },
	{ "active_response", KEY_BOOL, OFF(active_response) },
	{ "outbox_max_bytes", KEY_LONG, OFF(outbox_max_bytes), 65536, 1L << 40 },
	{ "outbox_flush_ms", KEY_LONG, OFF(outbox_flush_ms), 1, 60000 },
};
#undef OFF

static const char *const default_watch[] = {
	"/", "/etc", "/tmp", "/var/tmp", "/dev/shm", "/home", "/root", NULL
};
static const char *const default_protected[] = {
	"/usr/sbin/sshd", "/usr/lib/systemd/systemd", "/lib/systemd/systemd",
	"/usr/sbin/init", "/sbin/init", NULL
};

static int strlist_add(struct strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -ENOMEM;
	l->v[++l->n] = NULL;
	return 0;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strlist_copy(struct strlist *dst, const struct strlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (strlist_add(dst, src->v[i]))
			return -ENOMEM;
	return 0;
}

bool strlist_contains(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

int config_defaults(struct sensor_config *cfg)
{
	char host[HOST_NAME_MAX + 1] = "localhost";

	memset(cfg, 0, sizeof(*cfg));
	gethostname(host, sizeof(host) - 1);
	cfg->state_dir = strdup(SENSEON_STATEDIR);
	cfg->log_dir = strdup(SENSEON_LOGDIR);
	cfg->run_dir = strdup(SENSEON_RUNDIR);
	cfg->policy_dir = strdup(SENSEON_POLICYDIR);
	cfg->scripts_dir = strdup(SENSEON_SCRIPTSDIR);
	cfg->pyrunner_path = strdup(SENSEON_LIBEXECDIR "/senseon-pyrunner");
	cfg->control_socket = strdup(SENSEON_RUNDIR "/control.sock");
	cfg->node_name = strdup(host);
	cfg->log_level = strdup("info");
	cfg->stdout_events = strdup("all");
	cfg->process_source = true;
	cfg->exec_source = true;
	cfg->file_source = true;
	cfg->event_log = true;
	cfg->queue_size = 65536;
	cfg->proc_rcvbuf = 16 * 1024 * 1024;
	cfg->exec_gate_deadline_ms = 5;
	cfg->platform_port = 443;
	cfg->active_response = true;
	cfg->outbox_max_bytes = 64L << 20;
	cfg->outbox_flush_ms = 5;
	for (size_t i = 0; default_watch[i]; i++)
		if (strlist_add(&cfg->watch_paths, default_watch[i]))
			return -ENOMEM;
	for (size_t i = 0; default_protected[i]; i++)
		if (strlist_add(&cfg->protected_programs, default_protected[i]))
			return -ENOMEM;
	if (!cfg->state_dir || !cfg->log_dir || !cfg->run_dir || !cfg->policy_dir ||
	    !cfg->scripts_dir || !cfg->control_socket || !cfg->node_name ||
	    !cfg->pyrunner_path ||
	    !cfg->log_level || !cfg->stdout_events)
		return -ENOMEM;
	return 0;
}

void config_free(struct sensor_config *cfg)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		void *field = (char *)cfg + config_keys[i].offset;

		switch (config_keys[i].type) {
		case KEY_STRING: case KEY_PATH: case KEY_ENUM:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case KEY_LIST:
			strlist_free(field);
			break;
		default:
			break;
		}
	}
	free(cfg->source_file);
	cfg->source_file = NULL;
}

/* Deep copy, so a failed load can be thrown away without touching @src. */
static int config_copy(struct sensor_config *dst, const struct sensor_config *src)
{
	*dst = *src;
	dst->source_file = src->source_file ? strdup(src->source_file) : NULL;
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		void *d = (char *)dst + config_keys[i].offset;
		const void *s = (const char *)src + config_keys[i].offset;

		switch (config_keys[i].type) {
		case KEY_STRING: case KEY_PATH: case KEY_ENUM:
			if (*(char *const *)s && !(*(char **)d = strdup(*(char *const *)s)))
				return -ENOMEM;
			break;
		case KEY_LIST:
			memset(d, 0, sizeof(struct strlist));
			if (strlist_copy(d, s))
				return -ENOMEM;
			break;
		default:
			break;
		}
	}
	return 0;
}

struct parse_ctx {
	const char *file;
	char *err;
	size_t errlen;
	yaml_parser_t parser;
};

static int fail(struct parse_ctx *ctx, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: %s", ctx->file,
		 mark->line + 1, mark->column + 1, msg);
	return -1;
}

static int next_event(struct parse_ctx *ctx, yaml_event_t *ev)
{
	const yaml_parser_t *p = &ctx->parser;

	if (yaml_parser_parse(&ctx->parser, ev))
		return 0;
	/* libyaml marks where it gave up (often end of file); the context
	 * says where the broken construct began, which is what to fix. */
	if (p->context)
		snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: %s %s at line %zu column %zu",
			 ctx->file, p->problem_mark.line + 1, p->problem_mark.column + 1,
			 p->problem ? p->problem : "YAML syntax error", p->context,
			 p->context_mark.line + 1, p->context_mark.column + 1);
	else
		snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: %s", ctx->file,
			 p->problem_mark.line + 1, p->problem_mark.column + 1,
			 p->problem ? p->problem : "YAML syntax error");
	return -1;
}

static int set_scalar(struct parse_ctx *ctx, const struct config_key *key,
		      void *field, const yaml_event_t *val)
{
	const char *s = (const char *)val->data.scalar.value;
	char *end;
	long n;

	switch (key->type) {
	case KEY_PATH:
		if (s[0] != '/')
			return fail(ctx, &val->start_mark,
				    "%s: expected an absolute path, got \"%s\"", key->name, s);
		/* fall through */
	case KEY_STRING:
		free(*(char **)field);
		*(char **)field = strdup(s);
		return *(char **)field ? 0 : fail(ctx, &val->start_mark, "out of memory");
	case KEY_ENUM:
		for (size_t i = 0; key->choices[i]; i++) {
			if (strcmp(key->choices[i], s) == 0) {
				free(*(char **)field);
				*(char **)field = strdup(s);
				return 0;
			}
		}
		return fail(ctx, &val->start_mark, "%s: \"%s\" is not one of the allowed values",
			    key->name, s);
	case KEY_BOOL:
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
			*(bool *)field = true;
			return 0;
		}
		if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
			*(bool *)field = false;
			return 0;
		}
		return fail(ctx, &val->start_mark, "%s: expected true or false, got \"%s\"",
			    key->name, s);
	case KEY_LONG:
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno || end == s || *end || n < key->min || n > key->max)
			return fail(ctx, &val->start_mark,
				    "%s: expected a whole number from %ld to %ld, got \"%s\"",
				    key->name, key->min, key->max, s);
		*(long *)field = n;
		return 0;
	case KEY_LIST:
		break;
	}
	return fail(ctx, &val->start_mark, "%s: expected a list", key->name);
}

static int parse_list(struct parse_ctx *ctx, const struct config_key *key, struct strlist *l)
{
	yaml_event_t ev;

	strlist_free(l);
	for (;;) {
		if (next_event(ctx, &ev))
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			fail(ctx, &ev.start_mark, "%s: expected a list of strings", key->name);
			yaml_event_delete(&ev);
			return -1;
		}
		if (strlist_add(l, (const char *)ev.data.scalar.value)) {
			yaml_event_delete(&ev);
			return fail(ctx, &ev.start_mark, "out of memory");
		}
		yaml_event_delete(&ev);
	}
}

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static int parse_mapping(struct parse_ctx *ctx, struct sensor_config *cfg)
{
	yaml_event_t kev, vev;
	int rc = -1;

	for (;;) {
		const struct config_key *key;
		void *field;

		if (next_event(ctx, &kev))
			return -1;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			fail(ctx, &kev.start_mark, "expected an option name");
			goto out_key;
		}
		key = find_key((const char *)kev.data.scalar.value);
		if (!key) {
			fail(ctx, &kev.start_mark, "unknown option \"%s\"",
			     (const char *)kev.data.scalar.value);
			goto out_key;
		}
		field = (char *)cfg + key->offset;
		if (next_event(ctx, &vev))
			goto out_key;
		if (key->type == KEY_LIST && vev.type == YAML_SEQUENCE_START_EVENT)
			rc = parse_list(ctx, key, field);
		else if (vev.type == YAML_SCALAR_EVENT)
			rc = set_scalar(ctx, key, field, &vev);
		else
			rc = fail(ctx, &vev.start_mark, "%s: expected %s", key->name,
				  key->type == KEY_LIST ? "a list" : "a single value");
		yaml_event_delete(&vev);
		yaml_event_delete(&kev);
		if (rc)
			return rc;
		continue;
out_key:
		yaml_event_delete(&kev);
		return -1;
	}
}

int config_parse_platform_url(const char *url, char *host, size_t hostlen, long *port,
			      char *path, size_t pathlen)
{
	const char *h, *end, *p;
	char *e;
	size_t n;

	if (!url || strncasecmp(url, "wss://", 6) != 0)
		return -EINVAL;
	h = url + 6;
	p = h + strcspn(h, "/");
	if (*h == '[') {
		end = memchr(h, ']', (size_t)(p - h));
		if (!end)
			return -EINVAL;
		h++;
		n = (size_t)(end - h);
		end++;
	} else {
		end = memchr(h, ':', (size_t)(p - h));
		if (!end)
			end = p;
		n = (size_t)(end - h);
	}
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = 443;
	if (*end == ':') {
		errno = 0;
		*port = strtol(end + 1, &e, 10);
		if (errno || e != p || *port < 1 || *port > 65535)
			return -EINVAL;
	} else if (end != p) {
		return -EINVAL;
	}
	if (snprintf(path, pathlen, "%s", *p ? p : "/") >= (int)pathlen)
		return -EINVAL;
	return 0;
}

/*
 * Isolation keeps platform_host:platform_port reachable, so they must
 * name what platform_url connects to: derived from it unless set, and
 * refused if set to something else.
 */
static int platform_addr_check(struct sensor_config *cfg, const char *file, char *err,
			       size_t errlen)
{
	char host[256], path[1024];
	long port;

	if (!cfg->platform_url)
		return 0;
	if (config_parse_platform_url(cfg->platform_url, host, sizeof(host), &port, path,
				      sizeof(path))) {
		snprintf(err, errlen, "%s: platform_url: expected wss://HOST[:PORT]/PATH, got \"%s\"",
			 file, cfg->platform_url);
		return -1;
	}
	if (cfg->platform_host && !cfg->platform_addr_from_url) {
		if (strcasecmp(cfg->platform_host, host) || cfg->platform_port != port) {
			snprintf(err, errlen, "%s: platform_host/platform_port (%s:%ld) disagree "
				 "with platform_url (%s:%ld): set only platform_url", file,
				 cfg->platform_host, cfg->platform_port, host, port);
			return -1;
		}
		return 0;
	}
	free(cfg->platform_host);
	cfg->platform_host = strdup(host);
	cfg->platform_port = port;
	cfg->platform_addr_from_url = true;
	if (!cfg->platform_host) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

int config_load(struct sensor_config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse_ctx ctx = { .file = path, .err = err, .errlen = errlen };
	struct sensor_config tmp;
	yaml_event_t ev;
	FILE *fp;
	int rc = -1, depth = 0;

	fp = fopen(path, "re");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (config_copy(&tmp, cfg)) {
		snprintf(err, errlen, "%s: out of memory", path);
		config_free(&tmp);
		fclose(fp);
		return -1;
	}
	/* derived values are derived again from what this file says */
	if (tmp.platform_addr_from_url) {
		free(tmp.platform_host);
		tmp.platform_host = NULL;
		tmp.platform_port = 443;
		tmp.platform_addr_from_url = false;
	}
	yaml_parser_initialize(&ctx.parser);
	yaml_parser_set_input_file(&ctx.parser, fp);
	for (;;) {
		if (next_event(&ctx, &ev))
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_MAPPING_START_EVENT && depth == 0) {
			yaml_event_delete(&ev);
			depth++;
			if (parse_mapping(&ctx, &tmp))
				goto out;
			continue;
		}
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT) {
			fail(&ctx, &ev.start_mark, "expected a mapping of option: value");
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (platform_addr_check(&tmp, path, err, errlen))
		goto out;
	free(tmp.source_file);
	tmp.source_file = strdup(path);
	config_free(cfg);
	*cfg = tmp;
	rc = 0;
out:
	if (rc)
		config_free(&tmp);
	yaml_parser_delete(&ctx.parser);
	fclose(fp);
	return rc;
}
