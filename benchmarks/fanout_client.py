"""Benchmark clients: many idle, subscribed WebSocket connections in one process.

Started by benchmarks/fanout.py. A minimal RFC 6455 client on raw asyncio protocols,
because on a 2-core machine the clients share the CPU with the servers under test:
a full client library (or json.loads per frame) would measure the client, not the
server. Each frame is only searched for `"sent_at":` (the publish time embedded in
the broadcast) and the latency is now - sent_at.

Protocol on stdin/stdout: prints `READY <subscribed> <failed>` once every socket has
its `subscribed` ack (or failed); on `count` prints `COUNT <frames received>`; on `stop` writes the latencies (seconds,
float64, native order) to --out and prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import sys
import time
from array import array
from pathlib import Path

SENT_AT = b'"sent_at":'
SUBSCRIBED = b'{"type":"subscribed"'
JSON_PING = b'{"type":"ping"'
PONG_TEXT = b'{"type":"pong"}'
ZERO_MASK = b"\x00\x00\x00\x00"  # a zero key is a valid mask and leaves the payload as is


def client_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + ZERO_MASK + payload


class Stats:
    def __init__(self) -> None:
        self.latencies = array("d")
        self.subscribed = 0
        self.failed = 0
        self.closed: dict[int, int] = {}
        self.other_frames = 0


class BenchClient(asyncio.Protocol):
    def __init__(self, stats: Stats, request: bytes, ready: asyncio.Future[bool]) -> None:
        self.stats = stats
        self.request = request
        self.ready = ready
        self.buf = b""
        self.open = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        self.stats.closed[-1] = self.stats.closed.get(-1, 0) + 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_result(False)
                assert self.transport is not None
                self.transport.close()
                return
            self.open = True
            buf = buf[end + 4 :]
        now = time.time()
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            self.frame(b0 & 0x0F, buf[start:end], now)
            pos = end
        self.buf = buf[pos:]

    def frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x1:
            at = payload.find(SENT_AT)
            if at >= 0:
                start = at + len(SENT_AT)
                stop = start
                while payload[stop] not in b",}":
                    stop += 1
                self.stats.latencies.append(now - float(payload[start:stop]))
            elif payload.startswith(SUBSCRIBED):
                self.stats.subscribed += 1
                if not self.ready.done():
                    self.ready.set_result(True)
            elif payload.startswith(JSON_PING):
                self.send(0x1, PONG_TEXT)
            else:
                self.stats.other_frames += 1
        elif opcode == 0x9:
            self.send(0xA, payload)
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.stats.closed[code] = self.stats.closed.get(code, 0) + 1

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))


def handshake(host: str, port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def open_one(stats: Stats, host: str, port: int, path: str, gate: asyncio.Semaphore,
                   keep: list[asyncio.BaseTransport]) -> None:
    loop = asyncio.get_running_loop()
    async with gate:
        for attempt in range(5):
            ready: asyncio.Future[bool] = loop.create_future()
            try:
                transport, _ = await loop.create_connection(
                    lambda ready=ready: BenchClient(stats, handshake(host, port, path), ready), host, port
                )
                if await asyncio.wait_for(ready, timeout=60):
                    keep.append(transport)
                    return
                transport.close()
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2 * (attempt + 1))
        stats.failed += 1


async def main(args: argparse.Namespace) -> None:
    stats = Stats()
    keep: list[asyncio.BaseTransport] = []
    gate = asyncio.Semaphore(args.concurrency)
    await asyncio.gather(*(open_one(stats, args.host, args.port, args.path, gate, keep) for _ in range(args.count)))
    print(f"READY {len(keep)} {stats.failed}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).strip()
        if not line or line == b"stop":
            break
        if line == b"count":
            print(f"COUNT {len(stats.latencies)}", flush=True)
    await asyncio.to_thread(Path(args.out).write_bytes, stats.latencies.tobytes())
    summary = {"received": len(stats.latencies), "subscribed": stats.subscribed, "failed": stats.failed,
               "open": len(keep), "closed": stats.closed, "other_frames": stats.other_frames}
    print(json.dumps(summary), flush=True)
    for transport in keep:
        transport.abort()


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.run(main(args))
    except ImportError:
        asyncio.run(main(args))


if __name__ == "__main__":
    run()
