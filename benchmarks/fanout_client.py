"""Benchmark clients: many idle, subscribed WebSocket connections in one process.

Started by benchmarks/fanout.py. A minimal RFC 6455 client on raw asyncio protocols,
because on a 2-core machine the clients share the CPU with the servers under test:
a full client library (or json.loads per frame) would measure the client, not the
server. Each frame is only searched for `"sent_at":` (the publish time embedded in
the broadcast) and the latency is now - sent_at.

With --reconnect, a socket the server drops comes back the way the dashboard's client
does (static/stockgate/dashboard/realtime.js): after max(0.25 s, random() x min(30 s,
1 s x 2^(failures - 1))), `failures` counting consecutive closed connections (reset by
one that stayed open for 60 s), a 10 s limit on each attempt, and the topic resubscribed
with `since` (the epoch and seq of the last frame it got) or, when it has seen none, in
the URL.

Protocol on stdin/stdout: prints `READY <subscribed> <failed>` once every socket has
its `subscribed` ack (or failed); on `count` prints `COUNT <frames received>`; on
`status` prints a JSON line (sockets dropped by the server, back and subscribed again,
failed attempts); on `stop` writes the latencies (seconds, float64, native order) to
--out and prints a JSON summary line (with each dropped socket's time to be subscribed
again).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import resource
import sys
import time
from array import array
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

SENT_AT = b'"sent_at":'
SUBSCRIBED = b'{"type":"subscribed"'
JSON_PING = b'{"type":"ping"'
PONG_TEXT = b'{"type":"pong"}'
ZERO_MASK = b"\x00\x00\x00\x00"  # a zero key is a valid mask and leaves the payload as is
SINCE = re.compile(rb'"seq":(\d+).*?"epoch":"([^"]+)"|"epoch":"([^"]+)".*?"seq":(\d+)')
# The dashboard's reconnect backoff (realtime.js BACKOFF, CONNECT_TIMEOUT_MS).
BACKOFF_BASE_S, BACKOFF_CAP_S, BACKOFF_FLOOR_S, STABLE_S = 1.0, 30.0, 0.25, 60.0
CONNECT_TIMEOUT_S = 10.0


def backoff_delay(failures: int) -> float:
    """realtime.js backoffDelay(): full jitter, capped, never a tight loop."""
    cap = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, failures - 1))
    return max(BACKOFF_FLOOR_S, random.random() * cap)


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
        self.dropped = 0  # connections the server closed or lost (not by this process)
        self.back = 0  # of those, sockets subscribed again
        self.failed_attempts = 0  # reconnect attempts that did not get to `subscribed`
        self.back_seconds = array("d")  # per dropped socket: drop -> subscribed again


class Conn:
    """One client: a socket and, with --reconnect, the sockets that replace it."""

    def __init__(self, stats: Stats, args: argparse.Namespace) -> None:
        self.stats = stats
        self.args = args
        self.transport: asyncio.Transport | None = None
        self.failures = 0
        self.opened_at = 0.0
        self.dropped_at = 0.0  # while coming back after a drop
        self.last_stamped = b""  # the last frame carrying seq/epoch: `since` on reconnect
        self.subscribed_once = False

    def since(self) -> tuple[str, int] | None:
        match = SINCE.search(self.last_stamped) if self.last_stamped else None
        if match is None:
            return None
        if match.group(1) is not None:
            return match.group(2).decode(), int(match.group(1))
        return match.group(3).decode(), int(match.group(4))

    def request(self) -> tuple[bytes, bytes | None]:
        """The handshake, and the subscribe frame to send once open (realtime.js connect())."""
        args = self.args
        since = self.since() if self.subscribed_once else None
        if since is None:
            return handshake(args.host, args.port, args.path), None
        base = args.path.split("?", 1)[0]
        frame = json.dumps({"type": "subscribe", "topic": args.topic,
                            "since": {"epoch": since[0], "seq": since[1]}}).encode()
        return handshake(args.host, args.port, base), frame

    def lost(self, was_open: bool) -> None:
        """The socket closed without this process asking: come back like the dashboard."""
        self.transport = None
        if not self.args.reconnect or STOPPING or not self.subscribed_once:
            return
        now = time.monotonic()
        if self.dropped_at == 0.0:
            self.dropped_at = now
            self.stats.dropped += 1
        else:
            self.stats.failed_attempts += 1
        if was_open and self.opened_at and now - self.opened_at >= STABLE_S:
            self.failures = 0
        self.opened_at = 0.0
        self.failures += 1
        asyncio.get_running_loop().call_later(backoff_delay(self.failures), self.reconnect)

    def reconnect(self) -> None:
        if not STOPPING:
            asyncio.get_running_loop().create_task(self._attempt())

    async def _attempt(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[bool] = loop.create_future()
        request, subscribe = self.request()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: BenchClient(self, request, subscribe, ready), self.args.host,
                                       self.args.port),
                timeout=CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError):
            self.lost(was_open=False)
            return
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            if not protocol.open:  # realtime.js: give up on a socket still CONNECTING
                transport.abort()

    def subscribed(self) -> None:
        self.subscribed_once = True
        if self.dropped_at:
            self.stats.back += 1
            self.stats.back_seconds.append(time.monotonic() - self.dropped_at)
            self.dropped_at = 0.0


class BenchClient(asyncio.Protocol):
    def __init__(self, conn: Conn, request: bytes, subscribe: bytes | None, ready: asyncio.Future[bool]) -> None:
        self.conn = conn
        self.stats = conn.stats
        self.request = request
        self.subscribe = subscribe
        self.ready = ready
        self.buf = b""
        self.open = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.transport = self.transport
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        self.stats.closed[-1] = self.stats.closed.get(-1, 0) + 1
        if self.conn.transport is self.transport:
            self.conn.lost(self.open)

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
            self.conn.opened_at = time.monotonic()
            if self.subscribe is not None:
                self.send(0x1, self.subscribe)
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
                self.conn.last_stamped = payload
            elif payload.startswith(SUBSCRIBED):
                self.stats.subscribed += 1
                self.conn.subscribed()
                if not self.ready.done():
                    self.ready.set_result(True)
            elif payload.startswith(JSON_PING):
                self.send(0x1, PONG_TEXT)
            else:
                if b'"epoch":' in payload:  # a snapshot or a replayed frame
                    self.conn.last_stamped = payload
                self.stats.other_frames += 1
        elif opcode == 0x9:
            self.send(0xA, payload)
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.stats.closed[code] = self.stats.closed.get(code, 0) + 1

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))


STOPPING = False


def handshake(host: str, port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def open_one(conn: Conn, gate: asyncio.Semaphore, keep: list[Conn]) -> None:
    """The first connection (not the dashboard's backoff: the benchmark's own paced ramp)."""
    loop = asyncio.get_running_loop()
    args = conn.args
    async with gate:
        for attempt in range(5):
            ready: asyncio.Future[bool] = loop.create_future()
            try:
                transport, _ = await loop.create_connection(
                    lambda ready=ready: BenchClient(conn, handshake(args.host, args.port, args.path), None, ready),
                    args.host, args.port,
                )
                if await asyncio.wait_for(ready, timeout=60):
                    keep.append(conn)
                    return
                conn.transport = None
                transport.close()
            except (OSError, TimeoutError):
                conn.transport = None
            await asyncio.sleep(0.2 * (attempt + 1))
        conn.stats.failed += 1


async def answer_commands(received: Callable[[], int], status: Callable[[], dict[str, int]] | None = None) -> None:
    """Answer the benchmark's commands on stdin until `stop` (or its end): `count` with
    `COUNT <frames received>`, `status` with a JSON line where the client keeps one."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).strip()
        if not line or line == b"stop":
            return
        if line == b"count":
            print(f"COUNT {received()}", flush=True)
        elif line == b"status" and status is not None:
            print(json.dumps(status()), flush=True)


async def main(args: argparse.Namespace) -> None:
    global STOPPING
    stats = Stats()
    keep: list[Conn] = []
    gate = asyncio.Semaphore(args.concurrency)
    await asyncio.gather(*(open_one(Conn(stats, args), gate, keep) for _ in range(args.count)))
    print(f"READY {len(keep)} {stats.failed}", flush=True)
    await answer_commands(lambda: len(stats.latencies), lambda: {
        "dropped": stats.dropped, "back": stats.back, "failed_attempts": stats.failed_attempts,
        "open": sum(1 for c in keep if c.transport is not None)})
    STOPPING = True
    await asyncio.to_thread(Path(args.out).write_bytes, stats.latencies.tobytes())
    summary = {"received": len(stats.latencies), "subscribed": stats.subscribed, "failed": stats.failed,
               "open": sum(1 for c in keep if c.transport is not None), "closed": stats.closed,
               "other_frames": stats.other_frames, "dropped": stats.dropped, "back": stats.back,
               "failed_attempts": stats.failed_attempts, "back_seconds": list(stats.back_seconds)}
    print(json.dumps(summary), flush=True)
    for conn in keep:
        if conn.transport is not None:
            conn.transport.abort()


def run_clients(coro: Coroutine[Any, Any, None]) -> None:
    """Many sockets need many file descriptors; uvloop when it is installed."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--topic", default="market-gate", help="resubscribed with `since` after a reconnect")
    parser.add_argument("--reconnect", action="store_true", help="come back after a drop, as the dashboard does")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    run_clients(main(args))


if __name__ == "__main__":
    run()
