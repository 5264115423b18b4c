#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Reference analysis platform for tests (docs/protocol.md).

Debian's python3-websockets and ssl only.  Listens on --host (127.0.0.1) with TLS,
requires a client certificate from --ca, and for each sensor connection:

  * records every text frame it receives, one JSON line each, in
    DIR/received.jsonl (with "_conn": the connection number, "_t": the
    time it arrived), and every
    binary chunk's bytes in DIR/data/<command id> (at the chunk's offset);
  * acknowledges durable entries (those with an "oid") cumulatively,
    unless --no-ack;
  * sends, after the hello, the actions queued in --actions (a file of
    JSON lines: platform frames such as session.start and command; a
    command with "_push": PATH (or a list of paths, one file each) is
    followed by PATH's bytes as data chunks and a data.end, from the
    command's "offset"; an action with "_after": ID is sent only once the
    result of command ID arrived, so it is handled after that command
    finished, however long that takes; "_sleep": S waits S seconds after
    sending, for tests that want the sensor busy, never for ordering).
    Actions are
    resent on every connection until their result arrived: the platform
    queues actions for offline sensors;
  * --malformed TEXT: send TEXT as a text frame after the hello;
  * --exit-after-bytes N: exit (as if the platform crashed) once N bytes
    of data chunks were received; --exit-after-push N: once N bytes were
    pushed;
  * a command with "_resume": OLD_ID resumes that interrupted transfer
    (see Platform.resume).

Prints "listening PORT" on stdout once it accepts connections.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

import websockets

CHUNK = 256 * 1024


def chunk_frame(cid, offset, data):
    b = cid.encode()
    return b"D" + bytes([len(b)]) + b + offset.to_bytes(8, "big") + data


class Platform:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.rec = open(os.path.join(self.dir, "received.jsonl"), "a", buffering=1)
        self.actions = []
        if args.actions:
            with open(args.actions) as f:
                self.actions = [json.loads(l) for l in f if l.strip()]
        self.done_ids = set()
        self.results = {}
        self.result_seen = asyncio.Event()
        self.pushed = 0
        self.conn = 0
        self.data_bytes = 0

    def record(self, obj):
        obj["_conn"] = self.conn
        obj["_t"] = time.time()
        self.rec.write(json.dumps(obj, sort_keys=True) + "\n")

    async def push(self, ws, action):
        paths, cid = action["_push"], action["id"]
        if isinstance(paths, str):
            paths = [paths]
        off = action.get("offset", 0)
        for path in paths:
            with open(path, "rb") as f:
                f.seek(off)
                while True:
                    data = f.read(CHUNK)
                    if not data:
                        break
                    await ws.send(chunk_frame(cid, off, data))
                    off += len(data)
                    self.pushed += len(data)
                    if self.args.exit_after_push and self.pushed >= self.args.exit_after_push:
                        await self.flushed(ws)
                        os._exit(3)
                    if self.args.push_delay:
                        await asyncio.sleep(self.args.push_delay)
            await ws.send(json.dumps({"type": "data.end", "id": cid}))
            off = 0

    async def flushed(self, ws):
        """Until what was sent left our buffers for the kernel's (it then
        reaches the sensor even after we exit), or 60 s."""
        transport = getattr(ws, "transport", None)
        for _ in range(6000):
            if transport is None or transport.get_write_buffer_size() == 0:
                return
            await asyncio.sleep(0.01)

    async def result_of(self, cid):
        """Until the result of command CID arrived."""
        while cid not in self.results:
            self.result_seen.clear()
            await self.result_seen.wait()

    async def resume(self, a):
        """Where a new attempt of an interrupted transfer starts: for a
        download, the "have" of the failed attempt's result (waited for);
        for an upload, what this platform kept of the old attempt (copied
        under the new id, so the new id's file is the whole file)."""
        old = a["_resume"]
        if a["cmd"] == "file.download":
            await self.result_of(old)
            return self.results[old]["result"]["have"]
        src = os.path.join(self.dir, "data", old)
        dst = os.path.join(self.dir, "data", a["id"])
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        return os.path.getsize(dst)

    async def send_actions(self, ws):
        for a in self.actions:
            if a.get("type") == "command" and a["id"] in self.done_ids:
                continue
            if "_after" in a:
                await self.result_of(a["_after"])
            if "_resume" in a:
                a["offset"] = await self.resume(a)
            frame = {k: v for k, v in a.items() if not k.startswith("_")}
            await ws.send(json.dumps(frame))
            if "_push" in a:
                await self.push(ws, a)
            if "_sleep" in a:
                await asyncio.sleep(a["_sleep"])

    def on_chunk(self, msg):
        n = msg[1]
        cid = msg[2:2 + n].decode()
        off = int.from_bytes(msg[2 + n:10 + n], "big")
        data = msg[10 + n:]
        path = os.path.join(self.dir, "data", cid)
        with open(path, "r+b" if os.path.exists(path) else "wb") as f:
            f.seek(off)
            f.write(data)
        self.data_bytes += len(data)
        if self.args.exit_after_bytes and self.data_bytes >= self.args.exit_after_bytes:
            os._exit(3)

    async def handler(self, ws, path=None):
        self.conn += 1
        hello = json.loads(await ws.recv())
        self.record(hello)
        if self.args.malformed is not None:
            await ws.send(self.args.malformed)
        sender = asyncio.ensure_future(self.send_actions(ws))
        try:
            async for msg in ws:
                if isinstance(msg, bytes):
                    self.on_chunk(msg)
                    continue
                obj = json.loads(msg)
                self.record(obj)
                if obj.get("type") == "result":
                    self.done_ids.add(obj.get("id"))
                    self.results[obj.get("id")] = obj
                    self.result_seen.set()
                if "oid" in obj and not self.args.no_ack:
                    await ws.send(json.dumps({"type": "ack", "oid": obj["oid"]}))
        finally:
            sender.cancel()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--actions")
    p.add_argument("--no-ack", action="store_true")
    p.add_argument("--malformed")
    p.add_argument("--exit-after-bytes", type=int, default=0)
    p.add_argument("--exit-after-push", type=int, default=0)
    p.add_argument("--push-delay", type=float, default=0,
                   help="seconds to wait after each pushed chunk")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    plat = Platform(args)
    async with websockets.serve(plat.handler, args.host, args.port, ssl=ctx,
                                subprotocols=["senseon.v1"], max_size=4 << 20,
                                ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print("listening", port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
