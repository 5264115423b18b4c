/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alert - build alerts and their notifications.
 *
 * Overview: stateless.  An alert is a jansson object that the caller owns
 * from alert_new() on; response.c appends notifications to it and the
 * sinks write it.  This file must not decide what to do about an alert
 * (response.c) nor where it goes (the daemon's sinks).  Hostile bytes in
 * paths and details go through jsonbytes so every alert stays one valid
 * JSON line.
 */
#include "alert.h"
#include "event.h"
#include "event_json.h"
#include "jsonbytes.h"
#include "policy.h"

#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <uuid/uuid.h>

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_lossy_string(s, strlen(s)));
}

static void set_now(json_t *o, const char *key)
{
	struct timespec now;
	char when[48];

	clock_gettime(CLOCK_REALTIME, &now);
	format_rfc3339(&now, when, sizeof(when));
	json_object_set_new(o, key, json_string(when));
}

static json_t *file_object(const struct event *ev)
{
	json_t *f = json_object();

	if (!f)
		return NULL;
	json_set_bytes(f, "path", ev->path.data, ev->path.len);
	if (ev->type == EVENT_FILE_RENAME && ev->path2.data)
		json_set_bytes(f, "newPath", ev->path2.data, ev->path2.len);
	if (ev->ino)
		json_object_set_new(f, "inode", json_integer((json_int_t)ev->ino));
	if (ev->dev)
		json_object_set_new(f, "device", json_integer((json_int_t)ev->dev));
	if (ev->flags & EVENT_F_IS_DIR)
		json_object_set_new(f, "isDir", json_true());
	return f;
}

static json_t *process_object(const struct event *ev)
{
	if (ev->proc)
		return proc_info_to_json(ev->proc);
	/* The process left before enrichment: the pid is all we know. */
	return json_pack("{s:i}", "pid", (int)ev->pid);
}

static json_t *detection_notification(const struct policy *p, const struct event *ev)
{
	json_t *n = json_object();
	json_t *mf = json_object();

	if (!n || !mf) {
		json_decref(n);
		json_decref(mf);
		return NULL;
	}
	set_now(n, "timestamp");
	json_object_set_new(n, "type", json_string("detection"));
	set_str(n, "message", p->alert_message ? p->alert_message : p->name);
	set_str(mf, "policy_name", p->name);
	json_object_set_new(mf, "policy_type", json_string(policy_type_name(p->type)));
	set_str(mf, "priority", p->priority);
	json_object_set_new(mf, "event_type", json_string(event_type_name(ev->type)));
	json_object_set_new(mf, "dry_run", json_boolean(p->dry_run));
	json_object_set_new(n, "message_fields", mf);
	return n;
}

static json_t *location_object(const char *node_name, const char *sensor_id)
{
	json_t *l = json_object();

	if (!l)
		return NULL;
	set_str(l, "nodeName", node_name);
	set_str(l, "sensorId", sensor_id);
	return l;
}

static void set_uuid(json_t *o)
{
	uuid_t u;
	char s[37];

	uuid_generate_random(u);
	uuid_unparse_lower(u, s);
	json_object_set_new(o, "uuid", json_string(s));
}

json_t *alert_new(const struct policy *p, const struct event *ev,
		  const char *node_name, const char *sensor_id)
{
	json_t *a = json_object();
	json_t *notes = json_array();
	char when[48];

	if (!a || !notes)
		goto fail;
	set_uuid(a);
	format_rfc3339(&ev->ts, when, sizeof(when));
	json_object_set_new(a, "timestamp", json_string(when));
	set_str(a, "name", p->name);
	json_object_set_new(a, "policyType", json_string(policy_type_name(p->type)));
	set_str(a, "priority", p->priority);
	set_str(a, "message", p->name);
	set_str(a, "alertMessage", p->alert_message);
	set_str(a, "comments", p->comments);
	json_object_set_new(a, "eventType", json_string(event_type_name(ev->type)));
	if (ev->proc || ev->pid)
		json_object_set_new(a, "process", process_object(ev));
	if (ev->path.data && (event_is_file(ev) || p->type == POLICY_FILE))
		json_object_set_new(a, "file", file_object(ev));
	json_object_set_new(a, "location", location_object(node_name, sensor_id));
	if (ev->flags & EVENT_F_LOSS_WINDOW)
		json_object_set_new(a, "lossWindow", json_true());
	if (json_array_append_new(notes, detection_notification(p, ev)))
		goto fail;
	json_object_set_new(a, "notifications", notes);
	return a;
fail:
	json_decref(notes);
	json_decref(a);
	return NULL;
}

static void action_message(char *buf, size_t size, const char *action, const char *result)
{
	if (strcmp(result, ALERT_RESULT_DRY_RUN) == 0)
		snprintf(buf, size, "Would have taken responseAction: %s", action);
	else if (strcmp(result, ALERT_RESULT_SUCCESS) == 0)
		snprintf(buf, size, "Took responseAction: %s", action);
	else
		snprintf(buf, size, "Failed to take responseAction: %s", action);
}

void alert_add_notification(json_t *alert, const char *action_type,
			    const char *target_type, const char *result,
			    const char *details)
{
	json_t *notes = json_object_get(alert, "notifications");
	json_t *n, *mf;
	char msg[128];

	if (!json_is_array(notes))
		return;
	n = json_object();
	mf = json_object();
	if (!n || !mf) {
		json_decref(n);
		json_decref(mf);
		return;
	}
	action_message(msg, sizeof(msg), action_type, result);
	set_now(n, "timestamp");
	json_object_set_new(n, "type", json_string("response"));
	set_str(n, "message", msg);
	set_str(mf, "action_type", action_type);
	set_str(mf, "action_target_type", target_type);
	set_str(mf, "action_result", result);
	set_str(mf, "action_result_details", details ? details : "");
	json_object_set_new(n, "message_fields", mf);
	json_array_append_new(notes, n);
}

const char *alert_uuid(const json_t *alert)
{
	return json_string_value(json_object_get(alert, "uuid"));
}

int alert_syslog_priority(const char *priority)
{
	static const struct {
		const char *name;
		int level;
	} map[] = {
		{ "low", LOG_NOTICE },
		{ "medium", LOG_WARNING },
		{ "high", LOG_ERR },
		{ "critical", LOG_CRIT },
	};

	if (!priority)
		return LOG_INFO;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(priority, map[i].name) == 0)
			return map[i].level;
	return LOG_INFO;
}
