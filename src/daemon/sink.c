/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sink - JSON line writers.
 *
 * Overview: owns the stdout stream policy and the two log files.  Only
 * the main loop thread writes here.  Output is block-buffered and flushed
 * when the pipeline runs out of queued events, so a storm costs one
 * write(2) per batch rather than one per event, while an idle sensor
 * shows each event at once.  Lines are dumped by jansson into one reused
 * buffer (json_dumpb), so there is no malloc per line.
 */
#include "sink.h"
#include "control.h"
#include "platform.h"
#include "sensor.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *events_fp, *alerts_fp;
static bool stdout_events, stdout_alerts;
/* The main loop's one line buffer, reused line after line. */
static struct {
	char *data;
	size_t len, cap;
} line;

static FILE *open_log(const char *dir, const char *name)
{
	char path[4096];
	int fd;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	fp = fdopen(fd, "a");
	if (!fp) {
		close(fd);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 16);
	return fp;
}

int sink_open(struct sensor *s)
{
	if (mkdir(s->cfg.log_dir, 0750) && errno != EEXIST) {
		log_err("cannot create log directory %s: %s", s->cfg.log_dir, strerror(errno));
		return -errno;
	}
	if (s->cfg.event_log && !(events_fp = open_log(s->cfg.log_dir, "events.jsonl")))
		return -EIO;
	alerts_fp = open_log(s->cfg.log_dir, "alerts.jsonl");
	if (!alerts_fp)
		return -EIO;
	stdout_events = s->foreground && strcmp(s->cfg.stdout_events, "all") == 0;
	stdout_alerts = s->foreground && strcmp(s->cfg.stdout_events, "none") != 0;
	if (stdout_events || stdout_alerts)
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	return 0;
}

void sink_close(void)
{
	sink_flush();
	if (events_fp)
		fclose(events_fp);
	if (alerts_fp)
		fclose(alerts_fp);
	events_fp = alerts_fp = NULL;
	free(line.data);
	line.data = NULL;
	line.len = line.cap = 0;
}

int sink_reopen(struct sensor *s)
{
	sink_close();
	return sink_open(s);
}

static void write_line(FILE *fp, const char *data, size_t len)
{
	fwrite_unlocked(data, 1, len, fp);
	fputc_unlocked('\n', fp);
}

static int grow_line(size_t cap)
{
	char *p = realloc(line.data, cap);

	if (!p)
		return -ENOMEM;
	line.data = p;
	line.cap = cap;
	return 0;
}

/*
 * @js as one compact, NUL-terminated line in the line buffer; steals the
 * reference.  json_dumpb() says how much it needs when the buffer is too
 * small: grow once and dump again.
 */
static int dump_line(json_t *js)
{
	size_t need;
	int rc = -ENOMEM;

	if (!js)
		return rc;
	need = json_dumpb(js, line.data, line.cap, JSON_COMPACT);
	if (need && need >= line.cap && grow_line(need + 1) == 0)
		need = json_dumpb(js, line.data, line.cap, JSON_COMPACT);
	if (need && need < line.cap) {
		line.data[need] = '\0';
		line.len = need;
		rc = 0;
	}
	json_decref(js);
	return rc;
}

void sink_event(json_t *ev)
{
	if (!events_fp && !stdout_events) {
		json_decref(ev);
		return;
	}
	if (dump_line(ev))
		return;
	if (events_fp)
		write_line(events_fp, line.data, line.len);
	if (stdout_events)
		write_line(stdout, line.data, line.len);
}

void sink_alert(json_t *alert)
{
	if (dump_line(alert))
		return;
	if (alerts_fp) {
		write_line(alerts_fp, line.data, line.len);
		/* alerts are rare and precious: do not sit on them */
		fflush(alerts_fp);
	}
	if (stdout_alerts) {
		write_line(stdout, line.data, line.len);
		fflush(stdout);
	}
	control_publish_alert(line.data);	/* senseonctl alerts --follow */
	platform_publish_alert(line.data);	/* durable: the platform outbox */
}

void sink_flush(void)
{
	if (events_fp)
		fflush(events_fp);
	if (stdout_events || stdout_alerts)
		fflush(stdout);
	platform_flush();	/* one fdatasync for the batch's alerts */
}
