/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * protocol - the frames of the local control socket, shared by senseond
 * (src/daemon/control.c) and senseonctl (src/cli/ctl_client.c).
 *
 * A frame is a 5-byte header followed by its payload:
 *
 *	u32 length (big-endian, payload bytes only) | u8 kind | payload
 *
 * kind 'j' (PROTO_JSON): the payload is one UTF-8 JSON object
 * kind 'd' (PROTO_DATA): the payload is a chunk of binary data
 * kind 'e' (PROTO_END):  the end of a data stream; payload may be empty
 *                        or a JSON object (e.g. {"size":..,"sha256":..})
 *
 * A payload longer than PROTO_MAX_PAYLOAD, an unknown kind, or a 'j'
 * payload that is not a JSON object is malformed: the reader reports it
 * and the connection is closed (the stream cannot be resynchronised).
 * The requests and replies carried in 'j' frames are documented in
 * docs/protocol-local.md.
 *
 * The codec never prints; every function returns 0 or a negative errno:
 *	-EAGAIN    proto_decode: not a whole frame yet, read more
 *	-EMSGSIZE  the announced payload is larger than PROTO_MAX_PAYLOAD
 *	-EPROTO    unknown kind, or EOF inside a frame (truncated)
 *	-EBADMSG   a 'j' payload is not a JSON object
 *	-ENODATA   proto_read_frame: clean EOF before the first header byte
 *	other      the errno of a failed read/write (-EPIPE: peer went away)
 */
#ifndef SENSEON_PROTOCOL_H
#define SENSEON_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_HDR_LEN		5
#define PROTO_MAX_PAYLOAD	(1u << 20)	/* 1 MiB */
/* Data chunks are sent this large: big enough to amortise a syscall. */
#define PROTO_DATA_CHUNK	(256u * 1024)

enum proto_kind {
	PROTO_JSON = 'j',
	PROTO_DATA = 'd',
	PROTO_END = 'e',
};

/*
 * One decoded frame.  @payload is owned by the frame (NUL-terminated one
 * byte past @len, so JSON text can be used as a string); @json is the
 * parsed object of a PROTO_JSON frame (a reference owned by the frame),
 * or of a PROTO_END frame whose payload is a JSON object, else NULL.
 */
struct proto_frame {
	uint8_t kind;
	uint32_t len;
	uint8_t *payload;
	json_t *json;
};

/* proto_kind_valid - true for 'j', 'd' and 'e'. */
int proto_kind_valid(uint8_t kind);

/*
 * proto_encode_header - fill @hdr for a frame of @kind with @len bytes.
 * Returns 0, -EMSGSIZE if @len is too large, -EPROTO for a bad @kind.
 */
int proto_encode_header(uint8_t hdr[PROTO_HDR_LEN], uint8_t kind, size_t len);

/*
 * proto_decode_header - check a header and return its @kind and @len.
 * Returns 0, -EMSGSIZE or -EPROTO.
 */
int proto_decode_header(const uint8_t hdr[PROTO_HDR_LEN], uint8_t *kind,
			uint32_t *len);

/*
 * proto_decode - decode the first frame of @buf (@n bytes) into @f and
 * set *@used to the bytes it took.  For stream parsers and the fuzzer.
 * Returns 0, -EAGAIN (incomplete: nothing consumed), -EMSGSIZE, -EPROTO,
 * -EBADMSG or -ENOMEM.  On error @f is left empty.
 */
int proto_decode(const void *buf, size_t n, struct proto_frame *f,
		 size_t *used);

/*
 * proto_encode_json - @obj as a complete 'j' frame in a malloc'ed buffer
 * (*@out, *@outlen).  Returns 0, -EINVAL (not an object), -EMSGSIZE or
 * -ENOMEM.
 */
int proto_encode_json(const json_t *obj, uint8_t **out, size_t *outlen);

/*
 * proto_read_frame - read exactly one frame from @fd (blocking; partial
 * reads and EINTR are handled).  Returns 0, -ENODATA on EOF at a frame
 * boundary, -EPROTO on EOF inside a frame, -EMSGSIZE, -EBADMSG, or the
 * read's -errno (-EAGAIN on an SO_RCVTIMEO timeout).  Free with
 * proto_frame_free().
 */
int proto_read_frame(int fd, struct proto_frame *f);

/*
 * proto_write_frame - write one frame (header and payload) to @fd,
 * completely; never raises SIGPIPE on a socket.  Returns 0 or -errno.
 */
int proto_write_frame(int fd, uint8_t kind, const void *buf, size_t len);

/* proto_write_json - @obj (an object) as one 'j' frame.  0 or -errno. */
int proto_write_json(int fd, const json_t *obj);

/* proto_frame_free - release what @f owns and empty it (NULL is fine). */
void proto_frame_free(struct proto_frame *f);

#endif
