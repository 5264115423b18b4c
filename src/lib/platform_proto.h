/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform_proto - the frames of the platform channel (docs/protocol.md):
 * WebSocket text frames carrying one JSON object with a "type", and
 * binary frames carrying one chunk of a file transfer.
 *
 * A binary frame is
 *
 *	u8 'D' | u8 idlen (1..PPROTO_MAX_ID) | id | u64 offset (BE) | data
 *
 * where id is the command the chunk belongs to and offset its position
 * in the file, so a receiver can check continuity and a transfer can be
 * resumed after a reconnect.
 *
 * The decoder validates the shape of every message the platform may send
 * (types, required fields, their JSON types and lengths) so the daemon
 * never acts on a half-understood frame.  It never prints; functions
 * return 0 or a negative errno:
 *	-EMSGSIZE  larger than PPROTO_MAX_TEXT / PPROTO_MAX_CHUNK
 *	-EBADMSG   not a JSON object, or not valid UTF-8
 *	-EPROTO    unknown "type", a missing or ill-typed field
 */
#ifndef SENSEON_PLATFORM_PROTO_H
#define SENSEON_PLATFORM_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PPROTO_VERSION		1
#define PPROTO_MAX_TEXT		(1u << 20)	/* a text frame, bytes */
#define PPROTO_MAX_CHUNK	(1u << 20)	/* data bytes in a binary frame */
#define PPROTO_CHUNK		(256u * 1024)	/* what the sensor sends */
#define PPROTO_MAX_ID		128		/* command and session ids */
#define PPROTO_MAX_NAME		256		/* analyst names */
#define PPROTO_CHUNK_MAGIC	'D'
/* the largest binary header: magic, idlen, id, offset */
#define PPROTO_CHUNK_HDR_MAX	(2 + PPROTO_MAX_ID + 8)

/* What the platform sends the sensor. */
enum pproto_type {
	PPROTO_ACK = 1,		/* {"oid": N}: outbox entries <= N are stored */
	PPROTO_SESSION_START,	/* {"session", "analyst"} */
	PPROTO_SESSION_END,	/* {"session"} */
	PPROTO_COMMAND,		/* {"id", "cmd", "session", ...arguments} */
	PPROTO_DATA_END,	/* {"id", ...}: the end of a command's data */
	PPROTO_ERROR,		/* {"error"}: the platform complains */
};

/*
 * One decoded text frame.  @json is a reference owned by the message;
 * the string pointers point into it.
 */
struct pproto_msg {
	enum pproto_type type;
	json_t *json;
	uint64_t oid;		/* PPROTO_ACK */
	const char *id;		/* COMMAND, DATA_END */
	const char *cmd;	/* COMMAND */
	const char *session;	/* SESSION_*, COMMAND */
	const char *analyst;	/* SESSION_START */
	const char *error;	/* ERROR */
};

/* One decoded binary frame; @id and @data point into the frame. */
struct pproto_chunk {
	char id[PPROTO_MAX_ID + 1];
	uint64_t offset;
	const uint8_t *data;
	size_t len;
};

/*
 * pproto_decode_text - parse and validate one text frame from the
 * platform.  @buf need not be NUL-terminated.  On success @m owns a JSON
 * reference: release it with pproto_msg_free().  On error @m is empty.
 * Returns 0, -EMSGSIZE, -EBADMSG, -EPROTO or -ENOMEM.
 */
int pproto_decode_text(const void *buf, size_t len, struct pproto_msg *m);

/* pproto_msg_free - drop what @m holds and empty it (NULL is fine). */
void pproto_msg_free(struct pproto_msg *m);

/*
 * pproto_decode_chunk - parse one binary frame into @c (pointing into
 * @buf).  Returns 0, -EMSGSIZE or -EPROTO (bad magic, id length or an id
 * that is not printable ASCII, a frame shorter than its header).
 */
int pproto_decode_chunk(const void *buf, size_t len, struct pproto_chunk *c);

/*
 * pproto_chunk_header - write the binary header for @id and @offset into
 * @hdr (PPROTO_CHUNK_HDR_MAX bytes).  Returns its length, or -EINVAL for
 * an empty, too long or non-printable @id.
 */
int pproto_chunk_header(uint8_t *hdr, const char *id, uint64_t offset);

/*
 * pproto_encode_text - @msg (an object) as compact JSON text in a
 * malloc'ed buffer that has @headroom spare bytes in front of it (for the
 * WebSocket library's framing).  *@len gets the text's length.  Returns
 * the buffer (the text starts at buffer + @headroom) or NULL with errno
 * set (EINVAL, EMSGSIZE, ENOMEM).
 */
uint8_t *pproto_encode_text(const json_t *msg, size_t headroom, size_t *len);

/* pproto_id_valid - 1..PPROTO_MAX_ID printable ASCII characters. */
int pproto_id_valid(const char *id);

/* pproto_type_name - "ack", "command" ... for logs. */
const char *pproto_type_name(enum pproto_type t);

#endif
