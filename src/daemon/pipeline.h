/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pipeline - the main loop's straight line: queue -> enrich (process
 * table) -> policy -> alert -> response, and the event sink beside it.
 */
#ifndef SENSEON_PIPELINE_H
#define SENSEON_PIPELINE_H

struct sensor;

int pipeline_init(struct sensor *s);		/* load policies: 0 or -errno */
void pipeline_fini(struct sensor *s);
void pipeline_seed(struct sensor *s);		/* first /proc scan */
void pipeline_drain(struct sensor *s);		/* process every queued event */
void pipeline_resync(struct sensor *s);		/* after lost events */
void pipeline_reload(struct sensor *s);		/* SIGHUP */
int pipeline_check_policy(const char *path);	/* --check-policy */

#endif
