/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config - senseond.conf: a flat YAML mapping of options, parsed through
 * a keyword table (one row per option).  Every path the sensor touches is
 * an option, so a development run can live entirely in a private prefix.
 */
#ifndef SENSEON_CONFIG_H
#define SENSEON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **v;
	size_t n;
};

struct sensor_config {
	char *source_file;	/* where it was read from, or NULL: defaults */
	char *state_dir;
	char *log_dir;
	char *run_dir;
	char *policy_dir;
	char *scripts_dir;
	char *pyrunner_path;	/* the script worker (senseon-pyrunner) */
	char *control_socket;
	char *node_name;	/* default: the host name */
	char *log_level;
	bool process_source;
	bool exec_source;
	bool file_source;
	bool event_log;		/* every event to LOG_DIR/events.jsonl */
	char *stdout_events;	/* foreground: "all", "alerts" or "none" */
	struct strlist watch_paths;
	struct strlist ignore_paths;	/* file events below these are dropped */
	struct strlist protected_programs;
	long queue_size;
	long proc_rcvbuf;	/* bytes, SO_RCVBUFFORCE */
	long exec_gate_deadline_ms;
	bool exec_gate_fail_closed;
	char *platform_host;	/* the analysis platform: name or address */
	long platform_port;	/* its TCP port (default 443) */
	struct strlist isolation_allow;	/* ADDR[/LEN][:PORT] reachable while isolated */
	struct strlist isolation_dns;	/* resolvers reachable while isolated */
	char *isolation_netns;	/* if set, isolate only inside this netns (tests) */
	struct strlist exec_gate_paths;	/* filesystems the gate marks; empty: watch_paths */
	/* the platform channel (docs/protocol.md) */
	char *platform_url;	/* wss://HOST[:PORT]/PATH; unset: no channel */
	char *platform_ca;	/* PEM: the CA(s) of the platform's certificate */
	char *platform_cert;	/* PEM: our client certificate */
	char *platform_key;	/* PEM: its private key */
	struct strlist platform_pins;	/* "sha256//BASE64" SPKI pins, optional */
	bool active_response;	/* run analyst commands from the platform */
	long outbox_max_bytes;	/* disk budget of STATE_DIR/spool */
	long outbox_flush_ms;	/* longest an alert waits for its group flush */
	/* platform_host/port were derived from platform_url, not set */
	bool platform_addr_from_url;
};

/* Fill @cfg with built-in defaults. Returns 0 or -ENOMEM. */
int config_defaults(struct sensor_config *cfg);
/*
 * Read @path over the defaults already in @cfg.  On error returns -1 and
 * writes "FILE:LINE:COL: message" into @err.  @cfg is unchanged on error.
 */
int config_load(struct sensor_config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct sensor_config *cfg);
bool strlist_contains(const struct strlist *l, const char *s);

/*
 * config_parse_platform_url - split "wss://HOST[:PORT][/PATH]" (HOST may
 * be a [bracketed] IPv6 address; PORT defaults to 443; PATH to "/").
 * Returns 0 or -EINVAL (not wss://, empty host, bad port, too long).
 */
int config_parse_platform_url(const char *url, char *host, size_t hostlen, long *port,
			      char *path, size_t pathlen);

#endif
