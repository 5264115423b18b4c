/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log - the one logging module.  Library code returns errors; the caller
 * at the boundary logs once, with context, through here.  In the
 * foreground messages go to stderr, as a service to journald/syslog.
 */
#ifndef SENSEON_LOG_H
#define SENSEON_LOG_H

#include <syslog.h>

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

void log_init(const char *ident, enum log_target target, int max_level);
void log_set_level(int max_level);
int log_level_from_name(const char *name);	/* -1 if unknown */
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
