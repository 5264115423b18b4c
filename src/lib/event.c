/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * event - construction and destruction of pipeline events.
 *
 * Overview: an event owns its byte strings and one reference to its
 * proc_info snapshot.  Whoever holds the event frees it with event_free();
 * a stage that keeps the snapshot past the event takes its own reference.
 */
#include "event.h"
#include "policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[EVENT_TYPE_MAX] = {
	[EVENT_NONE] = "none",
	[EVENT_PROC_FORK] = "fork",
	[EVENT_PROC_EXEC] = "exec",
	[EVENT_PROC_EXIT] = "exit",
	[EVENT_PROC_UID] = "uid_change",
	[EVENT_PROC_GID] = "gid_change",
	[EVENT_PROC_RESYNC] = "resync",
	[EVENT_EXEC_OPEN] = "exec_open",
	[EVENT_FILE_CREATE] = "create",
	[EVENT_FILE_DELETE] = "delete",
	[EVENT_FILE_RENAME] = "rename",
	[EVENT_FILE_WRITE] = "modify",
	[EVENT_FILE_ATTRIB] = "attrib",
	[EVENT_LOSS] = "loss",
	[EVENT_EXEC_DENIED] = "exec_denied",
	[EVENT_SCRIPT_ALERT] = "script_alert",
};

struct event *event_new(enum event_type type)
{
	struct event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->type = type;
	clock_gettime(CLOCK_REALTIME, &ev->ts);
	return ev;
}

void event_free(struct event *ev)
{
	if (!ev)
		return;
	bytes_clear(&ev->path);
	bytes_clear(&ev->path2);
	proc_info_put(ev->proc);
	policy_set_put(ev->gate_set);
	json_decref(ev->alert);
	free(ev);
}

int bytes_set(struct bytes *b, const void *data, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	free(b->data);
	b->data = copy;
	b->len = len;
	return 0;
}

void bytes_clear(struct bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

const char *event_type_name(enum event_type type)
{
	if (type < 0 || type >= EVENT_TYPE_MAX || !type_names[type])
		return "unknown";
	return type_names[type];
}

enum event_type event_type_from_name(const char *name)
{
	for (int i = 1; i < EVENT_TYPE_MAX; i++)
		if (type_names[i] && strcmp(type_names[i], name) == 0)
			return i;
	return EVENT_NONE;
}

bool event_is_file(const struct event *ev)
{
	return ev->type >= EVENT_FILE_CREATE && ev->type <= EVENT_FILE_ATTRIB;
}

bool event_is_proc(const struct event *ev)
{
	return ev->type >= EVENT_PROC_FORK && ev->type <= EVENT_PROC_RESYNC;
}

struct proc_info *proc_info_new(void)
{
	struct proc_info *pi = calloc(1, sizeof(*pi));

	if (pi)
		pi->refcount = 1;
	return pi;
}

struct proc_info *proc_info_get(struct proc_info *pi)
{
	if (pi)
		__atomic_add_fetch(&pi->refcount, 1, __ATOMIC_RELAXED);
	return pi;
}

void proc_info_put(struct proc_info *pi)
{
	while (pi && __atomic_sub_fetch(&pi->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
		struct proc_info *parent = pi->parent;

		bytes_clear(&pi->exe);
		bytes_clear(&pi->cmdline);
		bytes_clear(&pi->cwd);
		free(pi->comm);
		free(pi->user);
		free(pi->cgroup);
		free(pi->container_id);
		free(pi->container_runtime);
		free(pi);
		pi = parent;
	}
}
