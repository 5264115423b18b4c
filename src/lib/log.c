/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log - route messages to stderr (foreground) or syslog/journald (service).
 *
 * Overview: owns the target and the level; nothing else.  Repeated
 * identical messages are rate-limited so a storm of one failure cannot
 * flood the journal.  Threads that answer permission events must not log
 * here (journald may itself be waiting on an exec we have to answer).
 */
#include "log.h"
#include "textesc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_target target = LOG_TARGET_STDERR;
static int level_max = LOG_INFO;
static const char *log_ident = "senseon";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Rate limit: the same text more than 10 times a second is counted, not printed. */
static char last_text[256];
static time_t last_second;
static unsigned int last_repeats, last_suppressed;

static const struct {
	const char *name;
	int level;
} level_names[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

void log_init(const char *ident, enum log_target t, int max_level)
{
	log_ident = ident;
	target = t;
	level_max = max_level;
	if (target == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int max_level)
{
	level_max = max_level;
}

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(level_names[i].name, name) == 0)
			return level_names[i].level;
	return -1;
}

static const char *level_label(int level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i].level == level)
			return level_names[i].name;
	return "log";
}

static void emit(int level, const char *raw)
{
	/* messages carry names and strings from outside: one escaped line */
	char text[4096];

	text_escape_into(text, sizeof(text), raw, strlen(raw));
	if (target == LOG_TARGET_SYSLOG)
		syslog(level, "%s", text);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_label(level), text);
}

void log_msg(int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	time_t now;

	if (level > level_max)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	now = time(NULL);
	pthread_mutex_lock(&log_lock);
	if (strncmp(text, last_text, sizeof(last_text) - 1) == 0 && now == last_second) {
		if (++last_repeats > 10) {
			last_suppressed++;
			pthread_mutex_unlock(&log_lock);
			return;
		}
	} else {
		if (last_suppressed) {
			char note[64];

			snprintf(note, sizeof(note), "last message repeated %u more times",
				 last_suppressed);
			emit(LOG_NOTICE, note);
		}
		memcpy(last_text, text, sizeof(last_text) - 1);
		last_text[sizeof(last_text) - 1] = '\0';
		last_second = now;
		last_repeats = 1;
		last_suppressed = 0;
	}
	emit(level, text);
	pthread_mutex_unlock(&log_lock);
}
