/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform_proto - encode and decode the platform channel's frames.
 *
 * Overview: pure functions over buffers; owns no state.  It decides what
 * a well-formed frame is, so the daemon (src/daemon/platform.c) and the
 * fuzzer agree on it.  It must not know about sockets, the outbox or the
 * dispatcher: the caller acts on a decoded message.
 */
#include "platform_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct type_row {
	const char *name;
	enum pproto_type type;
};

static const struct type_row types[] = {
	{ "ack", PPROTO_ACK },
	{ "session.start", PPROTO_SESSION_START },
	{ "session.end", PPROTO_SESSION_END },
	{ "command", PPROTO_COMMAND },
	{ "data.end", PPROTO_DATA_END },
	{ "error", PPROTO_ERROR },
};

const char *pproto_type_name(enum pproto_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	return "?";
}

int pproto_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return 0;
	n = strlen(id);
	if (n == 0 || n > PPROTO_MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return 0;
	return 1;
}

/* A string field of 1..@max bytes, or NULL. */
static const char *str_field(const json_t *o, const char *key, size_t max)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) == 0 || json_string_length(v) > max)
		return NULL;
	/* an embedded NUL would make the C string lie about the JSON one */
	if (strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

static int decode_fields(struct pproto_msg *m)
{
	const json_t *o = m->json, *v;

	switch (m->type) {
	case PPROTO_ACK:
		v = json_object_get(o, "oid");
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -EPROTO;
		m->oid = (uint64_t)json_integer_value(v);
		return 0;
	case PPROTO_SESSION_START:
		m->analyst = str_field(o, "analyst", PPROTO_MAX_NAME);
		if (!m->analyst)
			return -EPROTO;
		/* fall through */
	case PPROTO_SESSION_END:
		m->session = str_field(o, "session", PPROTO_MAX_ID);
		return pproto_id_valid(m->session) ? 0 : -EPROTO;
	case PPROTO_COMMAND:
		m->cmd = str_field(o, "cmd", 64);
		m->session = str_field(o, "session", PPROTO_MAX_ID);
		if (!m->cmd || !pproto_id_valid(m->session))
			return -EPROTO;
		/* fall through */
	case PPROTO_DATA_END:
		m->id = str_field(o, "id", PPROTO_MAX_ID);
		return pproto_id_valid(m->id) ? 0 : -EPROTO;
	case PPROTO_ERROR:
		m->error = str_field(o, "error", 4096);
		return m->error ? 0 : -EPROTO;
	}
	return -EPROTO;
}

int pproto_decode_text(const void *buf, size_t len, struct pproto_msg *m)
{
	const char *type;
	int err;

	memset(m, 0, sizeof(*m));
	if (len > PPROTO_MAX_TEXT)
		return -EMSGSIZE;
	/* jansson rejects invalid UTF-8 and, without the flag, NUL bytes */
	m->json = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(m->json)) {
		json_decref(m->json);
		m->json = NULL;
		return -EBADMSG;
	}
	type = json_string_value(json_object_get(m->json, "type"));
	err = -EPROTO;
	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(types[i].name, type) == 0) {
			m->type = types[i].type;
			err = decode_fields(m);
			break;
		}
	}
	if (err)
		pproto_msg_free(m);
	return err;
}

void pproto_msg_free(struct pproto_msg *m)
{
	if (!m)
		return;
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

int pproto_decode_chunk(const void *buf, size_t len, struct pproto_chunk *c)
{
	const uint8_t *p = buf;
	size_t idlen, hdr;

	memset(c, 0, sizeof(*c));
	if (len < 2 || p[0] != PPROTO_CHUNK_MAGIC)
		return -EPROTO;
	idlen = p[1];
	hdr = 2 + idlen + 8;
	if (idlen == 0 || idlen > PPROTO_MAX_ID || len < hdr)
		return -EPROTO;
	if (len - hdr > PPROTO_MAX_CHUNK)
		return -EMSGSIZE;
	memcpy(c->id, p + 2, idlen);
	c->id[idlen] = '\0';
	/* every byte checked: a NUL inside would shorten the id */
	if (strlen(c->id) != idlen || !pproto_id_valid(c->id))
		return -EPROTO;
	for (int i = 0; i < 8; i++)
		c->offset = c->offset << 8 | p[2 + idlen + i];
	c->data = p + hdr;
	c->len = len - hdr;
	return 0;
}

int pproto_chunk_header(uint8_t *hdr, const char *id, uint64_t offset)
{
	size_t idlen;

	if (!pproto_id_valid(id))
		return -EINVAL;
	idlen = strlen(id);
	hdr[0] = PPROTO_CHUNK_MAGIC;
	hdr[1] = (uint8_t)idlen;
	memcpy(hdr + 2, id, idlen);
	for (int i = 0; i < 8; i++)
		hdr[2 + idlen + i] = (uint8_t)(offset >> (56 - 8 * i));
	return (int)(2 + idlen + 8);
}

uint8_t *pproto_encode_text(const json_t *msg, size_t headroom, size_t *len)
{
	uint8_t *buf;
	size_t n;

	if (!json_is_object(msg)) {
		errno = EINVAL;
		return NULL;
	}
	n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	if (n == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (n > PPROTO_MAX_TEXT) {
		errno = EMSGSIZE;
		return NULL;
	}
	buf = malloc(headroom + n + 1);
	if (!buf)
		return NULL;
	if (json_dumpb(msg, (char *)buf + headroom, n, JSON_COMPACT) != n) {
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	buf[headroom + n] = '\0';
	*len = n;
	return buf;
}
