/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isolate - ruleset generation, apply/remove through libnftables, the
 * state file and the digest of what was applied.
 *
 * Overview: owns the text of our nftables table, STATE_DIR/isolation.json
 * and STATE_DIR/isolation.lock.  It never touches another table: every
 * script it runs names inet senseon_isolation and nothing else.  It must
 * not own threads, timers or the audit log: the daemon (isolation.c) and
 * senseonctl decide when to call it and record what it did.  Every
 * libnftables call is serialised by one mutex because the library keeps
 * process-wide state; across processes, the flock on isolation.lock keeps
 * the state file and the kernel table changing together.
 */
#include "isolate.h"
#include "filehash.h"
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t nft_lock = PTHREAD_MUTEX_INITIALIZER;

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void clear_host_bits(struct isolate_target *t)
{
	int bytes = addr_len(t->family);

	for (int i = 0; i < bytes; i++) {
		int keep = t->prefix - i * 8;

		if (keep >= 8)
			continue;
		t->addr[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

static int parse_addr(char *s, struct isolate_target *t)
{
	char *slash = strchr(s, '/');
	char *end;
	long n;

	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, s, t->addr) == 1)
		t->family = AF_INET;
	else if (inet_pton(AF_INET6, s, t->addr) == 1)
		t->family = AF_INET6;
	else
		return -EINVAL;
	t->prefix = addr_len(t->family) * 8;
	if (!slash)
		return 0;
	errno = 0;
	n = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || n < 0 || n > t->prefix)
		return -EINVAL;
	t->prefix = (int)n;
	clear_host_bits(t);
	return 0;
}

static int parse_port(const char *s, unsigned int *port)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > 65535)
		return -EINVAL;
	*port = (unsigned int)n;
	return 0;
}

int isolate_parse_target(const char *s, struct isolate_target *t)
{
	char buf[128], *addr = buf, *port = NULL, *colon;

	memset(t, 0, sizeof(*t));
	if (!s || strlen(s) >= sizeof(buf) || !*s)
		return -EINVAL;
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		*close = '\0';
		addr = buf + 1;
		if (close[1] == ':')
			port = close + 2;
		if (parse_addr(addr, t) || t->family != AF_INET6)
			return -EINVAL;
	} else {
		colon = strchr(buf, ':');
		/* one colon: IPv4 with a port; more: a bare IPv6 address */
		if (colon && !strchr(colon + 1, ':')) {
			*colon = '\0';
			port = colon + 1;
		}
		if (parse_addr(addr, t))
			return -EINVAL;
		if (port && t->family != AF_INET)
			return -EINVAL;
	}
	return port ? parse_port(port, &t->port) : 0;
}

int isolate_parse_duration(const char *s, long *secs)
{
	long mult = 1, n;
	char *end;

	if (!s)
		return -EINVAL;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || n <= 0)
		return -EINVAL;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (n > 100L * 365 * 86400 / mult)
		return -EINVAL;
	*secs = n * mult;
	return 0;
}

void isolate_format_target(const struct isolate_target *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], pfx[8] = "";

	inet_ntop(t->family, t->addr, a, sizeof(a));
	if (t->prefix != addr_len(t->family) * 8)
		snprintf(pfx, sizeof(pfx), "/%d", t->prefix);
	if (!t->port)
		snprintf(buf, len, "%s%s", a, pfx);
	else if (t->family == AF_INET6)
		snprintf(buf, len, "[%s%s]:%u", a, pfx, t->port);
	else
		snprintf(buf, len, "%s%s:%u", a, pfx, t->port);
}

/* "ip daddr 10.0.0.0/8" or "ip6 daddr fd00::1" */
static void daddr_match(const struct isolate_target *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], pfx[8] = "";

	inet_ntop(t->family, t->addr, a, sizeof(a));
	if (t->prefix != addr_len(t->family) * 8)
		snprintf(pfx, sizeof(pfx), "/%d", t->prefix);
	snprintf(buf, len, "%s daddr %s%s", t->family == AF_INET ? "ip" : "ip6", a, pfx);
}

static void emit_targets(FILE *fp, const struct isolate_target *v, size_t n,
			 const char *proto, unsigned int port, const char *comment)
{
	char m[96];

	for (size_t i = 0; i < n; i++) {
		daddr_match(&v[i], m, sizeof(m));
		if (proto)
			fprintf(fp, "\t\t%s %s dport %u accept comment \"%s\"\n",
				m, proto, port, comment);
		else if (v[i].port)
			fprintf(fp, "\t\t%s meta l4proto { tcp, udp } th dport %u accept comment \"%s\"\n",
				m, v[i].port, comment);
		else
			fprintf(fp, "\t\t%s accept comment \"%s\"\n", m, comment);
	}
}

char *isolate_ruleset(const struct isolate_spec *spec)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		return NULL;
	/* add + delete + define in one transaction: the old table (if any)
	 * is replaced atomically, and no packet ever sees no table. */
	fprintf(fp, "add table " ISOLATE_FAMILY " " ISOLATE_TABLE "\n"
		"delete table " ISOLATE_FAMILY " " ISOLATE_TABLE "\n"
		"table " ISOLATE_FAMILY " " ISOLATE_TABLE " {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy drop;\n"
		"\t\toif \"lo\" accept\n"
		"\t\tct state established,related accept\n"
		/* IPv6 cannot reach even the platform without neighbour
		 * discovery, and ND is not tracked by conntrack. */
		"\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
		"mld-listener-report, mld2-listener-report } accept\n");
	emit_targets(fp, spec->platform, spec->n_platform, "tcp", spec->platform_port,
		     "platform");
	emit_targets(fp, spec->allow, spec->n_allow, NULL, 0, "allow");
	emit_targets(fp, spec->dns, spec->n_dns, "udp", 53, "dns");
	emit_targets(fp, spec->dns, spec->n_dns, "tcp", 53, "dns");
	fprintf(fp, "\t}\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy accept;\n"
		"\t}\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy drop;\n"
		"\t}\n"
		"}\n");
	if (fclose(fp)) {
		free(text);
		return NULL;
	}
	return text;
}

int isolate_digest(const char *text, char out[ISOLATE_DIGEST_HEX_LEN + 1])
{
	return filehash_buf(text, strlen(text), out);
}

static int add_target(struct isolate_target **v, size_t *n, const struct isolate_target *t)
{
	struct isolate_target *nv;

	for (size_t i = 0; i < *n; i++)
		if (memcmp(&(*v)[i], t, sizeof(*t)) == 0)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = *t;
	*v = nv;
	return 0;
}

int isolate_resolve(struct isolate_spec *spec, const char *host, unsigned int port,
		    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	int rc;

	free(spec->platform_host);
	spec->platform_host = strdup(host);
	if (!spec->platform_host)
		return -ENOMEM;
	spec->platform_port = port;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve the platform %s: %s", host,
			 gai_strerror(rc));
		return rc == EAI_AGAIN ? -EAGAIN : rc == EAI_MEMORY ? -ENOMEM : -ENOENT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct isolate_target t = { .family = ai->ai_family, .port = port };

		if (ai->ai_family == AF_INET)
			memcpy(t.addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		else if (ai->ai_family == AF_INET6)
			memcpy(t.addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		else
			continue;
		t.prefix = addr_len(t.family) * 8;
		if ((rc = add_target(&spec->platform, &spec->n_platform, &t)))
			break;
	}
	freeaddrinfo(res);
	if (!rc && !spec->n_platform) {
		snprintf(err, errlen, "the platform %s has no IPv4 or IPv6 address", host);
		rc = -ENOENT;
	}
	return rc;
}

/* A UDP connect() asks the routing table only: no packet is sent. */
static bool routable(const struct isolate_target *t)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	bool ok;
	int fd = socket(t->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)t->port);
		memcpy(&sin->sin_addr, t->addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)t->port);
		memcpy(&sin6->sin6_addr, t->addr, 16);
		sl = sizeof(*sin6);
	}
	ok = connect(fd, (struct sockaddr *)&ss, sl) == 0;
	close(fd);
	return ok;
}

int isolate_check_path(const struct isolate_spec *spec)
{
	for (size_t i = 0; i < spec->n_platform; i++)
		if (routable(&spec->platform[i]))
			return 0;
	return -ENETUNREACH;
}

int isolate_netns_guard(const char *path)
{
	struct stat want, have;

	if (!path || !*path)
		return 0;
	if (stat(path, &want) || stat("/proc/self/ns/net", &have))
		return -EPERM;
	return want.st_dev == have.st_dev && want.st_ino == have.st_ino ? 0 : -EPERM;
}

/* Run @cmd; the output (for list commands) goes to *@out when not NULL. */
static int nft_run(const char *cmd, char **out, char *err, size_t errlen)
{
	struct nft_ctx *nft;
	int rc = 0;

	pthread_mutex_lock(&nft_lock);
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		rc = -ENOMEM;
		goto out;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, cmd)) {
		const char *e = nft_ctx_get_error_buffer(nft);

		rc = e && strstr(e, "No such file or directory") ? -ENOENT : -EIO;
		if (err)
			snprintf(err, errlen, "nftables: %s", e && *e ? e : "command failed");
		goto out_free;
	}
	if (out && !(*out = strdup(nft_ctx_get_output_buffer(nft))))
		rc = -ENOMEM;
out_free:
	nft_ctx_free(nft);
out:
	pthread_mutex_unlock(&nft_lock);
	return rc;
}

int isolate_kernel_listing(char **out)
{
	*out = NULL;
	return nft_run("list table " ISOLATE_FAMILY " " ISOLATE_TABLE, out, NULL, 0);
}

static int nft_remove_table(char *err, size_t errlen)
{
	return nft_run("add table " ISOLATE_FAMILY " " ISOLATE_TABLE "\n"
		       "delete table " ISOLATE_FAMILY " " ISOLATE_TABLE "\n", NULL, err, errlen);
}

/* Apply @spec and fill @st's listing and digest from what the kernel has. */
static int apply_spec(struct isolate_state *st, char *err, size_t errlen)
{
	char *text = isolate_ruleset(&st->spec);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = nft_run(text, NULL, err, errlen);
	free(text);
	if (rc)
		return rc;
	free(st->listing);
	st->listing = NULL;
	rc = isolate_kernel_listing(&st->listing);
	if (rc) {
		snprintf(err, errlen, "our table is not listed after applying it (%s)",
			 strerror(-rc));
		return rc;
	}
	return isolate_digest(st->listing, st->digest);
}

/* --- state file --- */

void isolate_spec_free(struct isolate_spec *spec)
{
	free(spec->platform_host);
	free(spec->platform);
	free(spec->allow);
	free(spec->dns);
	memset(spec, 0, sizeof(*spec));
}

void isolate_state_free(struct isolate_state *st)
{
	isolate_spec_free(&st->spec);
	free(st->by);
	free(st->listing);
	memset(st, 0, sizeof(*st));
}

static json_t *targets_json(const struct isolate_target *v, size_t n)
{
	json_t *a = json_array();
	char buf[96];

	for (size_t i = 0; a && i < n; i++) {
		isolate_format_target(&v[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

json_t *isolate_state_json(const struct isolate_state *st)
{
	return json_pack("{s:b, s:I, s:I, s:b, s:s?, s:s?, s:I, s:o, s:o, s:o, s:s, s:s?}",
			 "isolated", st->isolated,
			 "since", (json_int_t)st->since,
			 "expires", (json_int_t)st->expires,
			 "forced", st->forced,
			 "by", st->by,
			 "platform_host", st->spec.platform_host,
			 "platform_port", (json_int_t)st->spec.platform_port,
			 "platform", targets_json(st->spec.platform, st->spec.n_platform),
			 "allow", targets_json(st->spec.allow, st->spec.n_allow),
			 "dns", targets_json(st->spec.dns, st->spec.n_dns),
			 "digest", st->digest,
			 "listing", st->listing);
}

static int targets_from_json(json_t *a, struct isolate_target **v, size_t *n)
{
	struct isolate_target t;
	size_t i;
	json_t *e;

	if (!a)
		return 0;
	if (!json_is_array(a))
		return -EBADMSG;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || isolate_parse_target(json_string_value(e), &t))
			return -EBADMSG;
		if (add_target(v, n, &t))
			return -ENOMEM;
	}
	return 0;
}

static int dupstr(char **dst, json_t *v)
{
	if (!json_is_string(v))
		return 0;
	*dst = strdup(json_string_value(v));
	return *dst ? 0 : -ENOMEM;
}

static int state_from_json(json_t *o, struct isolate_state *st)
{
	const char *digest = json_string_value(json_object_get(o, "digest"));
	int rc;

	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "isolated")))
		return -EBADMSG;
	st->isolated = json_is_true(json_object_get(o, "isolated"));
	st->since = (time_t)json_integer_value(json_object_get(o, "since"));
	st->expires = (time_t)json_integer_value(json_object_get(o, "expires"));
	st->forced = json_is_true(json_object_get(o, "forced"));
	st->spec.platform_port = (unsigned int)json_integer_value(json_object_get(o, "platform_port"));
	if (digest && strlen(digest) == ISOLATE_DIGEST_HEX_LEN)
		strcpy(st->digest, digest);
	if ((rc = dupstr(&st->by, json_object_get(o, "by"))) ||
	    (rc = dupstr(&st->listing, json_object_get(o, "listing"))) ||
	    (rc = dupstr(&st->spec.platform_host, json_object_get(o, "platform_host"))))
		return rc;
	if ((rc = targets_from_json(json_object_get(o, "platform"), &st->spec.platform,
				    &st->spec.n_platform)) ||
	    (rc = targets_from_json(json_object_get(o, "allow"), &st->spec.allow,
				    &st->spec.n_allow)) ||
	    (rc = targets_from_json(json_object_get(o, "dns"), &st->spec.dns,
				    &st->spec.n_dns)))
		return rc;
	/* the platform rules take their port from the state, not the entries */
	for (size_t i = 0; i < st->spec.n_platform; i++)
		st->spec.platform[i].port = st->spec.platform_port;
	return 0;
}

/*
 * isolate_state_load - read STATE_DIR/isolation.json into @st.  A missing
 * file is "not isolated" (0).  Returns 0, -EBADMSG or -errno.
 */
int isolate_state_load(const char *state_dir, struct isolate_state *st)
{
	char path[4096];
	json_error_t jerr;
	json_t *o;
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/" ISOLATE_STATE_FILE, state_dir);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return -EBADMSG;
	rc = state_from_json(o, st);
	json_decref(o);
	if (rc)
		isolate_state_free(st);
	return rc;
}

/*
 * isolate_state_save - write @st to STATE_DIR/isolation.json: a temporary
 * file, fsync, rename, so a crash leaves the old or the new state.
 * Returns 0 or -errno.
 */
int isolate_state_save(const char *state_dir, const struct isolate_state *st)
{
	char path[4096], tmp[4096];
	json_t *o = isolate_state_json(st);
	int fd, rc = 0;

	if (!o)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" ISOLATE_STATE_FILE, state_dir);
	snprintf(tmp, sizeof(tmp), "%s/" ISOLATE_STATE_FILE ".tmp", state_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (json_dumpfd(o, fd, JSON_INDENT(2) | JSON_SORT_KEYS) || write(fd, "\n", 1) != 1 ||
	    fsync(fd))
		rc = errno ? -errno : -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
out:
	json_decref(o);
	return rc;
}

/* --- operations --- */

static int lock_state(const char *state_dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/isolation.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			int rc = -errno;

			close(fd);
			return rc;
		}
	}
	return fd;
}

static int add_parsed(struct isolate_target **v, size_t *n, const char *s, bool dns,
		      char *err, size_t errlen)
{
	struct isolate_target t;

	if (isolate_parse_target(s, &t) || (dns && t.port)) {
		snprintf(err, errlen, "invalid %s entry \"%s\" (expected ADDR[/LEN]%s)",
			 dns ? "isolation_dns" : "allow", s, dns ? "" : "[:PORT]");
		return -EINVAL;
	}
	return add_target(v, n, &t);
}

/* The spec from the configuration and the request; resolves the platform. */
static int build_spec(const struct sensor_config *cfg, const struct isolate_request *req,
		      struct isolate_spec *spec, char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < cfg->isolation_allow.n; i++)
		if ((rc = add_parsed(&spec->allow, &spec->n_allow, cfg->isolation_allow.v[i],
				     false, err, errlen)))
			return rc;
	for (size_t i = 0; i < req->n_allow; i++)
		if ((rc = add_parsed(&spec->allow, &spec->n_allow, req->allow[i],
				     false, err, errlen)))
			return rc;
	for (size_t i = 0; i < cfg->isolation_dns.n; i++)
		if ((rc = add_parsed(&spec->dns, &spec->n_dns, cfg->isolation_dns.v[i],
				     true, err, errlen)))
			return rc;
	spec->platform_port = (unsigned int)cfg->platform_port;
	if (!cfg->platform_host || !*cfg->platform_host) {
		snprintf(err, errlen, "no platform_host is configured: isolating would cut "
			 "the host off from the platform (use --force to isolate anyway)");
		return req->force ? 0 : -EHOSTUNREACH;
	}
	rc = isolate_resolve(spec, cfg->platform_host, (unsigned int)cfg->platform_port,
			     err, errlen);
	if (rc == -ENOMEM || (rc && !req->force))
		return rc;
	if (!rc && isolate_check_path(spec) && !req->force) {
		snprintf(err, errlen, "no route to the platform %s on port %ld: isolating "
			 "would cut the host off from it (use --force to isolate anyway)",
			 cfg->platform_host, cfg->platform_port);
		return -ENETUNREACH;
	}
	return 0;
}

static int set_by(struct isolate_state *st, const char *by)
{
	free(st->by);
	st->by = strdup(by ? by : "unknown");
	return st->by ? 0 : -ENOMEM;
}

int isolate_enable(const struct sensor_config *cfg, const struct isolate_request *req,
		   struct isolate_state *st, char *err, size_t errlen)
{
	int rc, lock;

	memset(st, 0, sizeof(*st));
	if (isolate_netns_guard(cfg->isolation_netns)) {
		snprintf(err, errlen, "not in the network namespace %s: refusing to isolate",
			 cfg->isolation_netns);
		return -EPERM;
	}
	if (req->duration < 0) {
		snprintf(err, errlen, "invalid duration");
		return -EINVAL;
	}
	rc = build_spec(cfg, req, &st->spec, err, errlen);
	if (rc)
		goto fail;
	st->isolated = true;
	st->forced = req->force;
	st->since = time(NULL);
	st->expires = req->duration ? st->since + req->duration : 0;
	if ((rc = set_by(st, req->by)))
		goto fail;
	lock = lock_state(cfg->state_dir);
	if (lock < 0) {
		rc = lock;
		snprintf(err, errlen, "cannot lock %s/isolation.lock: %s", cfg->state_dir,
			 strerror(-rc));
		goto fail;
	}
	rc = apply_spec(st, err, errlen);
	if (!rc && (rc = isolate_state_save(cfg->state_dir, st))) {
		/* Unpersisted isolation would vanish at the next restart
		 * without anyone noticing: do not leave it half done. */
		snprintf(err, errlen, "cannot save %s/" ISOLATE_STATE_FILE ": %s",
			 cfg->state_dir, strerror(-rc));
		nft_remove_table(NULL, 0);
	}
	close(lock);
	if (!rc)
		return 0;
fail:
	isolate_state_free(st);
	return rc;
}

int isolate_disable(const struct sensor_config *cfg, const char *by,
		    struct isolate_state *prev, char *err, size_t errlen)
{
	struct isolate_state now = { 0 };
	int rc, lock;

	memset(prev, 0, sizeof(*prev));
	if (isolate_netns_guard(cfg->isolation_netns)) {
		snprintf(err, errlen, "not in the network namespace %s: refusing to touch nftables",
			 cfg->isolation_netns);
		return -EPERM;
	}
	lock = lock_state(cfg->state_dir);
	/* Break-glass: without the lock or a readable state, still remove
	 * the table; the host's reachability comes first. */
	if (isolate_state_load(cfg->state_dir, prev))
		memset(prev, 0, sizeof(*prev));
	if (!prev->isolated) {
		char *listing = NULL;

		if (isolate_kernel_listing(&listing) == 0)
			isolate_digest(listing, prev->digest);
		free(listing);
	}
	now.since = time(NULL);
	rc = set_by(&now, by);
	if (!rc && (rc = isolate_state_save(cfg->state_dir, &now)))
		snprintf(err, errlen, "cannot save %s/" ISOLATE_STATE_FILE ": %s",
			 cfg->state_dir, strerror(-rc));
	isolate_state_free(&now);
	/* the table goes even if the state could not be written */
	if (nft_remove_table(err, errlen))
		rc = -EIO;
	if (lock >= 0)
		close(lock);
	return rc;
}

static int sync_locked(const struct sensor_config *cfg, enum isolate_action *action,
		       struct isolate_state *st, char *err, size_t errlen)
{
	char *listing = NULL;
	int rc;

	rc = isolate_state_load(cfg->state_dir, st);
	if (rc) {
		snprintf(err, errlen, "cannot read %s/" ISOLATE_STATE_FILE ": %s",
			 cfg->state_dir, strerror(-rc));
		return rc;
	}
	if (!st->isolated)
		return 0;
	if (st->expires && time(NULL) >= st->expires) {
		*action = ISOLATE_EXPIRED;
		return 0;	/* the caller unisolates, outside our lock */
	}
	rc = isolate_kernel_listing(&listing);
	if (rc == 0 && st->listing && strcmp(listing, st->listing) == 0) {
		free(listing);
		return 0;
	}
	free(listing);
	if (rc && rc != -ENOENT)
		return rc;
	*action = ISOLATE_RESTORED;
	rc = apply_spec(st, err, errlen);
	return rc ? rc : isolate_state_save(cfg->state_dir, st);
}

int isolate_sync(const struct sensor_config *cfg, enum isolate_action *action,
		 struct isolate_state *st, char *err, size_t errlen)
{
	struct isolate_state prev;
	int rc, lock;

	*action = ISOLATE_NONE;
	memset(st, 0, sizeof(*st));
	if (isolate_netns_guard(cfg->isolation_netns)) {
		snprintf(err, errlen, "not in the network namespace %s: refusing to touch nftables",
			 cfg->isolation_netns);
		return -EPERM;
	}
	lock = lock_state(cfg->state_dir);
	if (lock < 0) {
		snprintf(err, errlen, "cannot lock %s/isolation.lock: %s", cfg->state_dir,
			 strerror(-lock));
		return lock;
	}
	rc = sync_locked(cfg, action, st, err, errlen);
	close(lock);
	if (rc || *action != ISOLATE_EXPIRED)
		return rc;
	isolate_state_free(st);
	rc = isolate_disable(cfg, "expiry", &prev, err, errlen);
	*st = prev;		/* what was removed, for the caller's audit */
	st->isolated = false;
	return rc;
}
