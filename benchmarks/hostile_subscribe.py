"""Hostile subscribers: what 100,000 distinct subscribe attempts cost Redis.

Starts a private redis-server and the Procfile's web command (the instrument table
loaded from the KRX listing), keeps one victim socket subscribed to `market-gate` with
a broadcast every 0.1 s, then:

  fake    --sockets hostile sockets (one address, so at most the per-address cap) each
          put --rate made-up `price:` tickers in `?subscribe=` and then send made-up
          tickers as subscribe frames, --rate a second (under the rate limit), until
          --attempts distinct tickers were tried; then they leave;
  listed  the same sockets subscribe to every listed ticker (the most a hostile client
          can make exist), then leave.

Reports Redis used_memory and key count before, at the peak while they were connected
and after they left, the errors they got, and what the victim received. Runs on
loopback, stops by itself:

  .venv/bin/python benchmarks/hostile_subscribe.py --attempts 100000 --sockets 100
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import websockets

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
from harness import (  # noqa: E402
    LOGS,
    REPO,
    free_port,
    prepare_database,
    procfile_web,
    server_env,
    start_redis,
    stop_group,
    wait_for_port,
)

PREFIX = "hostilebench"
LISTING = REPO.parent / "shared" / "data" / "krx" / "listing.csv"


def load_listing(url: str, listing: Path) -> list[str]:
    import psycopg

    with open(listing, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["ticker"]]
    markets = {"KOSPI": "KOSPI", "KOSDAQ": "KOSDAQ", "KONEX": "KONEX"}
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO marketgate_instrument (ticker, name, name_en, market, kind, sector, active) "
            "VALUES (%s, %s, '', %s, 'common', '', true) ON CONFLICT (ticker) DO NOTHING",
            [(r["ticker"], r["name"][:100], markets.get(r["market"].split()[0], "KOSDAQ")) for r in rows],
        )
    return [r["ticker"] for r in rows]


def made_up(n: int) -> str:
    """The n-th made-up ticker: the shape of one (a digit, five of [0-9A-Z]), "9X" + base 36."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tail = ""
    for _ in range(4):
        n, d = divmod(n, 36)
        tail = digits[d] + tail
    return f"price:9X{tail}"


class Sampler:
    """Redis used_memory and key count, sampled while the attack runs."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.peak_memory = 0
        self.peak_keys = 0

    def now(self) -> tuple[int, int]:
        used = int(self.client.info("memory")["used_memory"])
        keys = int(self.client.dbsize())
        self.peak_memory, self.peak_keys = max(self.peak_memory, used), max(self.peak_keys, keys)
        return used, keys

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.now)
            await asyncio.sleep(0.5)


async def hostile_socket(url: str, topics: list[str], state: dict[str, Any], hold: asyncio.Event, rate: int) -> int:
    """Subscribe to `topics` (`rate` in the URL, the rest as frames, `rate` a second);
    read every reply (a pong after the last); stay until `hold` is set. Returns the
    topics acknowledged."""
    try:
        return await _hostile_socket(url, topics, state, hold, rate)
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else 1006
        codes = state["codes"]
        codes[f"closed {code}"] = codes.get(f"closed {code}", 0) + 1
        finished(state)
        return 0


def finished(state: dict[str, Any]) -> None:
    state["finished"] += 1
    if state["finished"] == state["of"]:
        state["all"].set()


async def _hostile_socket(url: str, topics: list[str], state: dict[str, Any], hold: asyncio.Event, rate: int) -> int:
    codes: dict[str, int] = state["codes"]
    in_url, rest = topics[:rate], topics[rate:]
    acked = 0
    async with websockets.connect(f"{url}?subscribe={','.join(in_url)}", compression=None, proxy=None,
                                  open_timeout=60, max_queue=None, ping_interval=None) as ws:
        answered = asyncio.Event()

        async def read() -> None:
            nonlocal acked
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "error":
                    codes[frame["code"]] = codes.get(frame["code"], 0) + 1
                elif frame["type"] == "subscribed":
                    acked += 1
                elif frame["type"] == "ping":
                    await ws.send('{"type":"pong"}')
                elif frame["type"] == "pong":
                    answered.set()  # replies come in order: every subscribe before it is answered
                    return

        reader = asyncio.create_task(read())
        for n in range(0, len(rest), rate):
            await asyncio.sleep(1.05)  # a new second of the server's per-socket count
            for topic in rest[n : n + rate]:
                await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        while not answered.is_set():  # a ping that lands in a busy second is dropped: ask again
            await asyncio.sleep(1.1)
            await ws.send('{"type":"ping"}')
            try:
                await asyncio.wait_for(asyncio.shield(answered.wait()), 5)
            except TimeoutError:
                pass
        await reader
        finished(state)
        await hold.wait()
    return acked


async def victim(url: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    async with websockets.connect(f"{url}?subscribe=market-gate", compression=None, proxy=None) as ws:
        last = None
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            if frame.get("type") == "ping":
                await ws.send('{"type":"pong"}')
            if frame.get("type") == "market_gate_update" and not frame.get("snapshot"):
                counts["received"] += 1
                if last is not None and frame["seq"] != last + 1:
                    counts["out_of_order"] += 1
                last = frame["seq"]


async def publisher(stop: asyncio.Event, counts: dict[str, int]) -> None:
    from stockgate.realtime.broadcast import apublish

    while not stop.is_set():
        counts["published"] += 1
        await apublish("market-gate", {"type": "market_gate_update", "topic": "market-gate",
                                       "data": {"level": counts["published"]}})
        await asyncio.sleep(0.1)


async def phase(url: str, sampler: Sampler, groups: list[list[str]], rate: int) -> dict[str, Any]:
    state: dict[str, Any] = {"codes": {}, "finished": 0, "of": len(groups), "all": asyncio.Event()}
    hold = asyncio.Event()
    stop = asyncio.Event()
    before = sampler.now()
    sampling = asyncio.create_task(sampler.run(stop))
    sampler.peak_memory, sampler.peak_keys = before
    started = time.monotonic()
    tasks = [asyncio.create_task(hostile_socket(url, topics, state, hold, rate)) for topics in groups]
    await state["all"].wait()
    connected = sampler.now()
    hold.set()
    acked = sum(await asyncio.gather(*tasks))
    seconds = time.monotonic() - started
    await asyncio.sleep(2.0)  # the server's disconnects
    stop.set()
    await sampling
    after = sampler.now()
    return {
        "attempts": sum(len(g) for g in groups), "sockets": len(groups), "seconds": round(seconds, 1),
        "acknowledged": acked, "errors": state["codes"],
        "dropped_by_rate_limit": sum(len(g) for g in groups) - acked - sum(
            state["codes"].get(code, 0) for code in ("unknown_topic", "too_many_subscriptions", "forbidden")),
        "used_memory_before": before[0], "used_memory_connected": connected[0], "used_memory_peak": sampler.peak_memory,
        "used_memory_after": after[0], "keys_before": before[1], "keys_peak": sampler.peak_keys, "keys_after": after[1],
    }


async def run(args: argparse.Namespace, url: str, redis_url: str, listed: list[str]) -> dict[str, Any]:
    os.environ.update({"REDIS_URL": redis_url, "REALTIME_PREFIX": PREFIX, "CHANNEL_PREFIX": f"{PREFIX}-layer",
                       "DJANGO_SETTINGS_MODULE": "stockgate.settings", "DATABASE_URL": args.database_url})
    import django

    django.setup()
    client = redis.Redis.from_url(redis_url)
    sampler = Sampler(client)
    counts = {"published": 0, "received": 0, "out_of_order": 0}
    stop = asyncio.Event()
    background = [asyncio.create_task(victim(url, stop, counts)), asyncio.create_task(publisher(stop, counts))]
    await asyncio.sleep(2.0)
    per_socket = -(-args.attempts // args.sockets)
    fakes = [topic for topic in map(made_up, range(args.attempts + len(listed))) if topic[6:] not in listed]
    fakes = fakes[: args.attempts]
    fake = await phase(url, sampler, [fakes[i * per_socket : (i + 1) * per_socket] for i in range(args.sockets)],
                       args.rate)
    share = -(-len(listed) // args.sockets)
    real = await phase(url, sampler, [[f"price:{t}" for t in listed[i * share : (i + 1) * share]]
                                      for i in range(args.sockets) if listed[i * share : (i + 1) * share]],
                       args.listed_rate)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*background)
    topic_keys = [k.decode() for k in client.scan_iter(match=f"{PREFIX}:topic:*", count=1000)]
    ttls = [client.ttl(k) for k in topic_keys]
    return {"fake": fake, "listed": {**real, "listed_tickers": len(listed)}, "victim": counts,
            "topic_keys_after": len(topic_keys), "topic_keys_without_ttl": sum(1 for t in ttls if t < 0),
            "topic_key_ttl_max": max(ttls, default=None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=100_000, help="distinct made-up tickers tried")
    parser.add_argument("--sockets", type=int, default=100, help="hostile sockets at once (one address)")
    parser.add_argument("--rate", type=int, default=10, help="made-up subscribes a second per socket (limit: 20)")
    parser.add_argument("--listed-rate", type=int, default=2,
                        help="listed-ticker subscribes a second per socket (each one reads a snapshot)")
    parser.add_argument("--database-url", default="postgres://postgres@localhost:5432/stockgate_hostilebench")
    parser.add_argument("--listing", type=Path, default=LISTING)
    args = parser.parse_args()

    prepare_database(args.database_url)
    listed = load_listing(args.database_url, args.listing)
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, redis_url = start_redis(Path(tmp))
        port = free_port()
        LOGS.mkdir(parents=True, exist_ok=True)
        env = server_env(redis_url, args.database_url, PREFIX, HEALTH_REQUIRE_FEED="false")
        log = open(LOGS / "server-hostile.log", "wb")
        server = subprocess.Popen(procfile_web(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            wait_for_port(port, server)
            result = asyncio.run(run(args, f"ws://127.0.0.1:{port}/ws", redis_url, listed))
        finally:
            stop_group(server)
            redis_proc.terminate()
            redis_proc.wait(timeout=15)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
