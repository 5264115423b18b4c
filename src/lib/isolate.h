/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isolate - host network isolation: an nftables table of our own
 * (inet senseon_isolation) that drops every new outbound flow except to
 * loopback, the analysis platform, the configured allow-list and DNS
 * resolvers, keeps inbound open and drops forwarding.  Applied and
 * removed atomically through libnftables; the desired state lives in
 * STATE_DIR/isolation.json so that a restart, a reboot or another tool
 * flushing the ruleset cannot silently release the host.
 *
 * The daemon (src/daemon/isolation.c) and senseonctl (the break-glass
 * path, src/cli/cmd_isolate.c) both change isolation through the
 * isolate_enable / isolate_disable / isolate_sync operations, which
 * serialise on STATE_DIR/isolation.lock.  Nothing here prints or audits:
 * the callers do, with the digest these functions return.
 */
#ifndef SENSEON_ISOLATE_H
#define SENSEON_ISOLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ISOLATE_FAMILY		"inet"
#define ISOLATE_TABLE		"senseon_isolation"
#define ISOLATE_STATE_FILE	"isolation.json"
#define ISOLATE_DIGEST_HEX_LEN	64

struct sensor_config;

/* One destination: an address or prefix, and optionally a port. */
struct isolate_target {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;			/* bits; the full length for a host */
	unsigned int port;		/* 0: every protocol and port */
};

/* What the table allows; everything the ruleset is generated from. */
struct isolate_spec {
	char *platform_host;		/* as configured, NULL if none */
	unsigned int platform_port;
	struct isolate_target *platform; /* resolved addresses (TCP to the port) */
	size_t n_platform;
	struct isolate_target *allow;	/* configured + requested entries */
	size_t n_allow;
	struct isolate_target *dns;	/* resolvers (UDP and TCP port 53) */
	size_t n_dns;
};

/* STATE_DIR/isolation.json */
struct isolate_state {
	bool isolated;
	time_t since;			/* when the last change happened */
	time_t expires;			/* 0: no expiry */
	bool forced;
	char *by;			/* who made the last change */
	char *listing;			/* our table as the kernel lists it */
	char digest[ISOLATE_DIGEST_HEX_LEN + 1]; /* sha256 of @listing */
	struct isolate_spec spec;
};

/* A request to isolate (from the control socket or the command line). */
struct isolate_request {
	const char *const *allow;	/* extra ADDR[/LEN][:PORT] entries */
	size_t n_allow;
	long duration;			/* seconds until automatic unisolate, 0: none */
	bool force;			/* isolate even without a platform path */
	const char *by;			/* "uid:0", an analyst's identity ... */
};

/* What isolate_sync() did. */
enum isolate_action {
	ISOLATE_NONE,		/* nothing to do: state and kernel agree */
	ISOLATE_RESTORED,	/* our table was missing or altered: re-applied */
	ISOLATE_EXPIRED,	/* the expiry passed: unisolated */
};

/*
 * isolate_parse_target - parse "ADDR", "ADDR/LEN", "ADDR:PORT",
 * "[ADDR6]:PORT" or "[ADDR6/LEN]:PORT" into @t (host bits of a prefix are
 * cleared).  Returns 0 or -EINVAL.
 */
int isolate_parse_target(const char *s, struct isolate_target *t);

/*
 * isolate_parse_duration - "90", "90s", "15m", "2h" or "1d" into seconds.
 * Returns 0 or -EINVAL (zero, negative, unknown unit, overflow).
 */
int isolate_parse_duration(const char *s, long *secs);

/* isolate_format_target - the canonical text of @t (parses back to @t). */
void isolate_format_target(const struct isolate_target *t, char *buf, size_t len);

/*
 * isolate_ruleset - the nftables script that atomically replaces our
 * table with one enforcing @spec.  Returns a malloc'd string or NULL.
 */
char *isolate_ruleset(const struct isolate_spec *spec);

/* isolate_digest - sha256 hex of @text into @out.  Returns 0 or -EIO. */
int isolate_digest(const char *text, char out[ISOLATE_DIGEST_HEX_LEN + 1]);

/*
 * isolate_resolve - resolve @host (name or address) into @spec's platform
 * addresses, IPv4 and IPv6, for @port.  Returns 0, -ENOENT (no such
 * name or no addresses), -EAGAIN (resolver unreachable) or -ENOMEM;
 * @err gets the resolver's reason.
 */
int isolate_resolve(struct isolate_spec *spec, const char *host, unsigned int port,
		    char *err, size_t errlen);

/*
 * isolate_check_path - whether the host has a route to at least one of
 * the platform's addresses.  Returns 0 or -ENETUNREACH.
 */
int isolate_check_path(const struct isolate_spec *spec);

/*
 * isolate_netns_guard - refuse to touch nftables outside the network
 * namespace bound at @path (config isolation_netns; tests set it to the
 * namespace they created).  NULL: no guard.  Returns 0 or -EPERM.
 */
int isolate_netns_guard(const char *path);

/*
 * isolate_kernel_listing - our table as the kernel lists it (no handles,
 * no counters), malloc'd into *@out.  Returns 0, -ENOENT (no table) or
 * -EIO.
 */
int isolate_kernel_listing(char **out);

/* --- state file --- */
int isolate_state_load(const char *state_dir, struct isolate_state *st);
int isolate_state_save(const char *state_dir, const struct isolate_state *st);
void isolate_state_free(struct isolate_state *st);
void isolate_spec_free(struct isolate_spec *spec);
/* isolate_state_json - @st as a JSON object (status replies); NULL on ENOMEM. */
json_t *isolate_state_json(const struct isolate_state *st);

/* --- operations: each takes STATE_DIR/isolation.lock --- */

/*
 * isolate_enable - resolve the platform, build and apply the table, save
 * the state.  Refuses (-EHOSTUNREACH, -ENOENT, -ENETUNREACH) when the
 * platform cannot be resolved or reached, unless @req->force.  @st gets
 * the new state (with the digest) on success.  @err explains a failure.
 * Returns 0 or -errno.
 */
int isolate_enable(const struct sensor_config *cfg, const struct isolate_request *req,
		   struct isolate_state *st, char *err, size_t errlen);

/*
 * isolate_disable - record "not isolated" first (so nothing restores the
 * table), then delete exactly our table.  Works when the state file is
 * missing or unreadable (break-glass).  @prev gets the state before, if
 * it could be read.  Returns 0 or -errno.
 */
int isolate_disable(const struct sensor_config *cfg, const char *by,
		    struct isolate_state *prev, char *err, size_t errlen);

/*
 * isolate_sync - make the kernel match the state file: unisolate when the
 * expiry passed, re-apply when our table is missing or differs from what
 * was applied.  *@action says what was done; @st gets the resulting state.
 * Returns 0 or -errno.
 */
int isolate_sync(const struct sensor_config *cfg, enum isolate_action *action,
		 struct isolate_state *st, char *err, size_t errlen);

#endif
