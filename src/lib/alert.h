/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alert - the JSON alert raised when a policy matches an event.
 *
 * The shape is the public alert format (DESIGN.md "Alert shape"): uuid,
 * timestamp, name, policyType, priority, message, alertMessage, comments,
 * process{}, file{} when relevant, location{}, lossWindow, and
 * notifications[]: one for the detection, then one per response action.
 */
#ifndef SENSEON_ALERT_H
#define SENSEON_ALERT_H

#include <jansson.h>

struct event;
struct policy;

/* Values of a notification's action_result. */
#define ALERT_RESULT_SUCCESS	"success"
#define ALERT_RESULT_FAILED	"failed"
#define ALERT_RESULT_DRY_RUN	"dry run"

/**
 * alert_new - build the alert for policy @p matching event @ev.
 * @p: the matching policy
 * @ev: the event, enriched (ev->proc may be NULL)
 * @node_name: host name for location.nodeName, or NULL
 * @sensor_id: this sensor's id for location.sensorId, or NULL
 *
 * Returns a new JSON object holding the detection notification, or NULL
 * on ENOMEM.
 */
json_t *alert_new(const struct policy *p, const struct event *ev,
		  const char *node_name, const char *sensor_id);

/**
 * alert_add_notification - append one response-action notification.
 * @alert: an alert from alert_new()
 * @action_type: "kill", "quarantine" ...
 * @target_type: "process", "process tree", "container", "file"
 * @result: ALERT_RESULT_SUCCESS, ALERT_RESULT_FAILED or ALERT_RESULT_DRY_RUN
 * @details: free text (may hold hostile bytes: kept valid UTF-8), or NULL
 */
void alert_add_notification(json_t *alert, const char *action_type,
			    const char *target_type, const char *result,
			    const char *details);

/* alert_uuid - the alert's uuid string (owned by @alert), or NULL. */
const char *alert_uuid(const json_t *alert);

/**
 * alert_syslog_priority - the syslog level for a policy priority.
 * @priority: Low, Medium, High, Critical (any case) or anything else
 *
 * Returns LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT, or LOG_INFO for an
 * unknown or missing priority.
 */
int alert_syslog_priority(const char *priority);

#endif
