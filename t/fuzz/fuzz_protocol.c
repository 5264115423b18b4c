/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_protocol - libFuzzer target for the control socket's frame parser
 * (src/lib/protocol.c): decode every frame in the input as the daemon
 * would, then re-encode each JSON frame and decode it again, which must
 * give the same object.  Built by t/fuzz/run.sh.
 */
#include "protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const json_t *obj)
{
	struct proto_frame f;
	uint8_t *buf;
	size_t len, used;

	if (proto_encode_json(obj, &buf, &len))
		return;		/* too large once re-encoded: fine */
	if (proto_decode(buf, len, &f, &used) || used != len || !json_equal(obj, f.json))
		abort();
	proto_frame_free(&f);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_frame f;
	size_t used;

	while (size) {
		if (proto_decode(data, size, &f, &used))
			break;	/* malformed or incomplete: the daemon hangs up */
		if (used < PROTO_HDR_LEN || used > size || f.len != used - PROTO_HDR_LEN)
			abort();
		if (f.kind == PROTO_JSON && !json_is_object(f.json))
			abort();
		if (f.json)
			round_trip(f.json);
		proto_frame_free(&f);
		data += used;
		size -= used;
	}
	return 0;
}
