/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overview: the frame codec of the local control socket (see protocol.h
 * for the wire format).  It owns no state: every function works on the
 * caller's buffer or fd, and a decoded frame's payload and JSON belong to
 * the struct proto_frame the caller passed in until proto_frame_free().
 * It must not own connections, timeouts or the meaning of requests: those
 * are control.c's (daemon) and ctl_client.c's (senseonctl).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "protocol.h"

int proto_kind_valid(uint8_t kind)
{
	return kind == PROTO_JSON || kind == PROTO_DATA || kind == PROTO_END;
}

int proto_encode_header(uint8_t hdr[PROTO_HDR_LEN], uint8_t kind, size_t len)
{
	if (!proto_kind_valid(kind))
		return -EPROTO;
	if (len > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	hdr[4] = kind;
	return 0;
}

int proto_decode_header(const uint8_t hdr[PROTO_HDR_LEN], uint8_t *kind,
			uint32_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];

	if (n > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!proto_kind_valid(hdr[4]))
		return -EPROTO;
	*kind = hdr[4];
	*len = n;
	return 0;
}

void proto_frame_free(struct proto_frame *f)
{
	if (!f)
		return;
	free(f->payload);
	json_decref(f->json);
	memset(f, 0, sizeof(*f));
}

/*
 * A 'j' payload must be an object; an 'e' payload may be one (transfer
 * summaries) or empty.  Parsing here means no caller ever sees a frame
 * whose JSON it still has to validate.
 */
static int frame_parse(struct proto_frame *f)
{
	json_error_t jerr;

	if (f->kind == PROTO_DATA || (f->kind == PROTO_END && f->len == 0))
		return 0;
	f->json = json_loadb((const char *)f->payload, f->len,
			     JSON_REJECT_DUPLICATES, &jerr);
	if (!f->json || !json_is_object(f->json))
		return -EBADMSG;
	return 0;
}

/* Take ownership of @payload (len + 1 bytes, NUL-terminated) into @f. */
static int frame_fill(struct proto_frame *f, uint8_t kind, uint8_t *payload,
		      uint32_t len)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->len = len;
	f->payload = payload;
	err = frame_parse(f);
	if (err)
		proto_frame_free(f);
	return err;
}

int proto_decode(const void *buf, size_t n, struct proto_frame *f,
		 size_t *used)
{
	const uint8_t *p = buf;
	uint8_t kind, *payload;
	uint32_t len;
	int err;

	memset(f, 0, sizeof(*f));
	if (n < PROTO_HDR_LEN)
		return -EAGAIN;
	err = proto_decode_header(p, &kind, &len);
	if (err)
		return err;
	if (n - PROTO_HDR_LEN < len)
		return -EAGAIN;
	payload = malloc((size_t)len + 1);
	if (!payload)
		return -ENOMEM;
	memcpy(payload, p + PROTO_HDR_LEN, len);
	payload[len] = '\0';
	err = frame_fill(f, kind, payload, len);
	if (err)
		return err;
	*used = PROTO_HDR_LEN + (size_t)len;
	return 0;
}

int proto_encode_json(const json_t *obj, uint8_t **out, size_t *outlen)
{
	char *text;
	size_t len;
	uint8_t *buf;
	int err;

	if (!json_is_object(obj))
		return -EINVAL;
	text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	buf = malloc(PROTO_HDR_LEN + len);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	err = proto_encode_header(buf, PROTO_JSON, len);
	if (err) {
		free(buf);
		goto out;
	}
	memcpy(buf + PROTO_HDR_LEN, text, len);
	*out = buf;
	*outlen = PROTO_HDR_LEN + len;
out:
	free(text);
	return err;
}

/*
 * Read exactly @n bytes.  Returns the bytes read before EOF (< @n only
 * at EOF) or -errno.
 */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int proto_read_frame(int fd, struct proto_frame *f)
{
	uint8_t hdr[PROTO_HDR_LEN], kind, *payload;
	uint32_t len;
	ssize_t r;
	int err;

	memset(f, 0, sizeof(*f));
	r = read_full(fd, hdr, sizeof(hdr));
	if (r < 0)
		return (int)r;
	if (r == 0)
		return -ENODATA;
	if (r < (ssize_t)sizeof(hdr))
		return -EPROTO;
	err = proto_decode_header(hdr, &kind, &len);
	if (err)
		return err;
	payload = malloc((size_t)len + 1);
	if (!payload)
		return -ENOMEM;
	r = read_full(fd, payload, len);
	if (r != (ssize_t)len) {
		free(payload);
		return r < 0 ? (int)r : -EPROTO;
	}
	payload[len] = '\0';
	return frame_fill(f, kind, payload, len);
}

/*
 * sendmsg with MSG_NOSIGNAL so a client that went away is -EPIPE, not a
 * dead daemon; plain writev for pipes and files (ENOTSOCK).
 */
static ssize_t send_iov(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);

	if (r < 0 && errno == ENOTSOCK)
		r = writev(fd, iov, iovcnt);
	return r;
}

int proto_write_frame(int fd, uint8_t kind, const void *buf, size_t len)
{
	uint8_t hdr[PROTO_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)buf, .iov_len = len },
	};
	struct iovec *v = iov;
	int cnt = len ? 2 : 1;
	int err;

	err = proto_encode_header(hdr, kind, len);
	if (err)
		return err;
	while (cnt > 0) {
		ssize_t r = send_iov(fd, v, cnt);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		while (cnt > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	return 0;
}

int proto_write_json(int fd, const json_t *obj)
{
	char *text;
	int err;

	if (!json_is_object(obj))
		return -EINVAL;
	text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	err = proto_write_frame(fd, PROTO_JSON, text, strlen(text));
	free(text);
	return err;
}
