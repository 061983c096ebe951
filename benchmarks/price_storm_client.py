"""Price-storm clients: many sockets in one process, each subscribed to its own tickers.

Started by benchmarks/price_storm.py. The frame parsing of fanout_client.BenchClient
(raw asyncio, no JSON decode), plus what a storm needs: a socket is ready once every one
of its topics is acknowledged, and each frame's topic, `seq` and `"coalesced":true`
marker are read, so frames lost beyond the documented coalescing can be counted
(docs/protocol-notes.md: a price frame that follows skipped ones says so; any other
jump in a topic's seq is a loss).

Protocol on stdin/stdout as fanout_client: `READY <ready> <failed>`, `count`, `stop`
(the summary line adds `lost`, `coalesced` and the last seq seen per topic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from fanout_client import (
    JSON_PING,
    PONG_TEXT,
    SENT_AT,
    SUBSCRIBED,
    BenchClient,
    Stats,
    answer_commands,
    handshake,
    run_clients,
)

TOPIC = b'"topic":"'
SEQ = b'"seq":'
COALESCED = b'{"coalesced":true'


class StormStats(Stats):
    def __init__(self) -> None:
        super().__init__()
        self.lost = 0
        self.coalesced = 0
        self.last_seq: dict[str, int] = {}  # per topic: the highest seq any socket saw


class StormConn:
    """What fanout_client.BenchClient reports to about its socket: the storm's sockets
    do not come back when closed (a close is counted, not retried)."""

    def __init__(self, stats: StormStats) -> None:
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.opened_at = 0.0
        self.last_stamped = b""

    def lost(self, was_open: bool) -> None:
        self.transport = None

    def subscribed(self) -> None:
        pass


class StormClient(BenchClient):
    """One socket; `topics` is how many `subscribed` acks make it ready."""

    def __init__(self, stats: StormStats, request: bytes, ready: asyncio.Future[bool], topics: int) -> None:
        super().__init__(StormConn(stats), request, None, ready)  # type: ignore[arg-type]
        self.storm = stats
        self.waiting = topics
        self.seqs: dict[bytes, int] = {}

    def frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode != 0x1:
            super().frame(opcode, payload, now)
            return
        at = payload.find(SENT_AT)
        if at < 0:
            if payload.startswith(SUBSCRIBED):
                self.storm.subscribed += 1
                self.waiting -= 1
                if self.waiting <= 0 and not self.ready.done():
                    self.ready.set_result(True)
            elif payload.startswith(JSON_PING):
                self.send(0x1, PONG_TEXT)
            else:
                self.storm.other_frames += 1
            return
        start = at + len(SENT_AT)
        stop = start
        while payload[stop] not in b",}":
            stop += 1
        self.storm.latencies.append(now - float(payload[start:stop]))
        self.count_seq(payload)

    def count_seq(self, payload: bytes) -> None:
        t = payload.find(TOPIC) + len(TOPIC)
        topic = payload[t:payload.index(b'"', t)]
        s = payload.find(SEQ) + len(SEQ)
        e = s
        while payload[e] in b"0123456789":
            e += 1
        seq = int(payload[s:e])
        before = self.seqs.get(topic)
        if before is not None and seq > before + 1:
            if payload.startswith(COALESCED):
                self.storm.coalesced += seq - before - 1  # skipped on purpose: latest-wins
            else:
                self.storm.lost += seq - before - 1
        self.seqs[topic] = seq
        name = topic.decode()
        if seq > self.storm.last_seq.get(name, 0):
            self.storm.last_seq[name] = seq

    def final_seqs(self) -> dict[bytes, int]:
        return self.seqs


async def open_one(stats: StormStats, args: argparse.Namespace, topics: list[str], gate: asyncio.Semaphore,
                   keep: list[StormClient]) -> None:
    loop = asyncio.get_running_loop()
    path = f"{args.path}?subscribe={','.join(topics)}"
    async with gate:
        for attempt in range(5):
            ready: asyncio.Future[bool] = loop.create_future()
            holder: list[StormClient] = []

            def make(ready: asyncio.Future[bool] = ready, holder: list[StormClient] = holder) -> StormClient:
                client = StormClient(stats, handshake(args.host, args.port, path), ready, len(topics))
                holder.append(client)
                return client

            try:
                transport, _ = await loop.create_connection(make, args.host, args.port)
                if await asyncio.wait_for(ready, timeout=60):
                    keep.append(holder[0])
                    return
                transport.close()
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2 * (attempt + 1))
        stats.failed += 1


def topics_of(socket_index: int, tickers: list[str], per_socket: int) -> list[str]:
    """A deterministic spread: every ticker is held by about the same number of sockets."""
    n = len(tickers)
    return [f"price:{tickers[(socket_index * per_socket + k) % n]}" for k in range(min(per_socket, n))]


def published_finals(path: str) -> dict[str, int]:
    """The publisher's last seq per topic, when it wrote them."""
    return json.loads(Path(path).read_text()) if path and Path(path).exists() else {}


async def main(args: argparse.Namespace) -> None:
    stats = StormStats()
    keep: list[StormClient] = []
    gate = asyncio.Semaphore(args.concurrency)
    if args.topic:
        plans = [[args.topic]] * args.count
    else:
        tickers = args.tickers.split(",")
        plans = [topics_of(args.first + i, tickers, args.per_socket) for i in range(args.count)]
    await asyncio.gather(*(open_one(stats, args, plan, gate, keep) for plan in plans))
    print(f"READY {len(keep)} {stats.failed}", flush=True)
    await answer_commands(lambda: len(stats.latencies))
    await asyncio.to_thread(Path(args.out).write_bytes, stats.latencies.tobytes())
    # The latest frame of every topic must reach every socket that holds it (latest-wins
    # may skip frames, never the last one): a socket whose final seq is behind lost it.
    final = await asyncio.to_thread(published_finals, args.final) or stats.last_seq
    behind = sum(1 for c in keep for topic, seq in c.final_seqs().items() if seq < final.get(topic.decode(), 0))
    summary = {"received": len(stats.latencies), "subscribed": stats.subscribed, "failed": stats.failed,
               "open": len(keep), "closed": stats.closed, "other_frames": stats.other_frames,
               "lost": stats.lost, "coalesced": stats.coalesced, "behind_at_end": behind, "at": time.time()}
    print(json.dumps(summary), flush=True)
    for client in keep:
        if client.transport is not None:
            client.transport.abort()


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--count", type=int, required=True, help="sockets in this process")
    parser.add_argument("--first", type=int, default=0, help="index of this process's first socket")
    parser.add_argument("--tickers", default="", help="comma-separated tickers the sockets spread over")
    parser.add_argument("--per-socket", type=int, default=20)
    parser.add_argument("--topic", default="", help="instead: every socket on this one topic (the baseline)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--out", required=True)
    parser.add_argument("--final", default="", help="JSON {topic: last published seq}, read at stop")
    args = parser.parse_args()
    run_clients(main(args))


if __name__ == "__main__":
    run()
