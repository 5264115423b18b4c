/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_platform - libFuzzer target for the platform channel's frame
 * decoder (src/lib/platform_proto.c).  The first input byte says which
 * kind of WebSocket frame the rest is (even: text, odd: binary), as the
 * daemon would receive it.  A decoded text message is re-encoded and
 * decoded again and must give the same message; a decoded chunk's header
 * is rebuilt and must match the input byte for byte.  Built by
 * t/fuzz/run.sh.
 */
#include "platform_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void text(const uint8_t *data, size_t size)
{
	struct pproto_msg m, again;
	uint8_t *buf;
	size_t len;

	if (pproto_decode_text(data, size, &m))
		return;
	if (!m.json || !json_is_object(m.json))
		abort();
	buf = pproto_encode_text(m.json, 0, &len);
	if (buf) {
		if (pproto_decode_text(buf, len, &again) || again.type != m.type ||
		    !json_equal(again.json, m.json) || again.oid != m.oid)
			abort();
		pproto_msg_free(&again);
		free(buf);
	}
	pproto_msg_free(&m);
}

static void binary(const uint8_t *data, size_t size)
{
	uint8_t hdr[PPROTO_CHUNK_HDR_MAX];
	struct pproto_chunk c;
	int h;

	if (pproto_decode_chunk(data, size, &c))
		return;
	if (c.data < data || c.data + c.len != data + size)
		abort();
	h = pproto_chunk_header(hdr, c.id, c.offset);
	if (h < 0 || (size_t)h != size - c.len || memcmp(hdr, data, (size_t)h))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		binary(data + 1, size - 1);
	else
		text(data + 1, size - 1);
	return 0;
}
