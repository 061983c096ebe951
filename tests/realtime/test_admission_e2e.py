"""Hostile clients against a real uvicorn process and the real Redis.

Made-up tickers (as frames and in `?subscribe=`) get `unknown_topic` and create no Redis
key; idle topics leave Redis and a later broadcast starts a new epoch that clients
follow; sockets are capped per client address and per process (4029), and a client
without `Origin` is let in as an anonymous script, under the same caps.

What must survive: another client's frames, all of them, in order; a bounded Redis;
room for other addresses while one address is at its cap; no traceback in the log.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from stockgate.realtime.broadcast import publish
from tests import factories
from tests.processes import Proc, web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTED = "005930"


@pytest.fixture
def servers() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[Proc], **env: str) -> Proc:
    server = web(HEALTH_REQUIRE_FEED="false", **env).start()
    servers.append(server)
    return server


async def open_ws(server: Proc, query: str = "", source: str = "127.0.0.1", **kwargs: Any) -> Any:
    return await websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws{query}", local_addr=(source, 0), compression=None, proxy=None,
        open_timeout=20, **kwargs,
    )


async def frame(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws: Any, wanted: Any, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got = await frame(ws, max(0.1, deadline - time.monotonic()))
        if wanted(got):
            return got


async def wait_for(condition: Any, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def topic_keys(client: redis.Redis) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{settings.REALTIME_PREFIX}:topic:*", count=1000))


def gate_message(level: int) -> dict[str, Any]:
    return {"type": "market_gate_update", "topic": "market-gate", "timestamp": "2026-02-06T09:42:35+09:00",
            "data": {"status": "RED", "level": level}}


async def hostile(server: Proc, index: int, per_socket: int) -> tuple[list[str], list[str]]:
    """One hostile socket: 200 made-up tickers in `?subscribe=`, then `per_socket` more as
    frames, as fast as the rate limit lets them through (19 a second, so none is dropped
    and the socket is not closed). Returns (error codes, topics acknowledged)."""
    fakes = [f"price:9{index:02d}{n:03d}" for n in range(200 + per_socket)]
    ws = await open_ws(server, "?subscribe=" + ",".join(fakes[:200]))
    codes: list[str] = []
    acked: list[str] = []
    try:
        assert (await frame(ws))["type"] == "connected"
        batches = [fakes[n : n + 19] for n in range(200, len(fakes), 19)]
        for batch in [*batches, [f"price:{LISTED}"]]:  # a real one still works
            await asyncio.sleep(1.1)  # a new second of the server's count
            for topic in batch:
                await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        await ws.send(json.dumps({"type": "ping"}))
        while True:
            got = await frame(ws, 20)
            if got["type"] == "pong":
                break
            if got["type"] == "error":
                codes.append(got["code"])
            elif got["type"] == "subscribed":
                acked.append(got["topic"])
    except websockets.ConnectionClosed:
        pass  # closed for flooding (1008): allowed, it is hostile
    finally:
        await ws.close()
    return codes, acked


async def test_made_up_tickers_create_no_redis_keys_and_others_keep_their_frames(clean_redis, servers):
    await sync_to_async(factories.listed)(LISTED)
    # The deployed reload rate on a miss: unknown tickers cost no query each.
    server = start(servers, WS_TICKERS_MISS_REFRESH_SECONDS="10")
    victim = await open_ws(server, "?subscribe=market-gate")
    assert (await frame(victim))["type"] == "connected"
    assert await frame(victim) == {"type": "subscribed", "topic": "market-gate"}
    keys_before = topic_keys(clean_redis)

    published = 0

    async def keep_publishing(stop: asyncio.Event) -> None:
        nonlocal published
        while not stop.is_set():
            published += 1
            await sync_to_async(publish)("market-gate", gate_message(published))
            await asyncio.sleep(0.1)

    stop = asyncio.Event()
    publisher = asyncio.create_task(keep_publishing(stop))
    results = await asyncio.gather(*(hostile(server, i, per_socket=57) for i in range(8)))
    stop.set()
    await publisher

    codes = [c for got, _ in results for c in got]
    acked = [t for _, topics in results for t in topics]
    assert set(codes) <= {"unknown_topic", "rate_limited"}, set(codes)
    # Each socket's first 20 `?subscribe=` topics and all its paced frames were refused by name.
    assert codes.count("unknown_topic") == 8 * (20 + 57), codes.count("unknown_topic")
    assert all(t == f"price:{LISTED}" for t in acked), acked
    # Every `?subscribe=` past the rate limit was dropped with one rate_limited error.
    assert all("rate_limited" in got for got, _ in results)

    # Nothing of theirs is in Redis: the only topic keys are the watched topics'.
    keys = topic_keys(clean_redis)
    assert not [k for k in keys if ".9" in k], keys
    assert set(keys) - set(keys_before) <= {
        f"{settings.REALTIME_PREFIX}:topic:price.{LISTED}:{part}" for part in ("epoch", "seq", "history")
    } | {f"{settings.REALTIME_PREFIX}:topic:market-gate:{part}" for part in ("epoch", "seq", "history")}

    # The victim got every frame published meanwhile, in order.
    seqs = []
    while len(seqs) < published:
        got = await frame(victim, 15)
        if got["type"] == "market_gate_update":
            seqs.append(got["seq"])
    assert seqs == list(range(seqs[0], seqs[0] + published))
    await victim.close()
    assert "Traceback" not in server.output()


async def test_idle_topics_leave_redis_and_the_next_broadcast_starts_a_new_epoch(clean_redis, servers, settings):
    settings.WS_TOPIC_TTL_SECONDS = 3  # this process publishes
    await sync_to_async(factories.listed)(LISTED)
    await sync_to_async(factories.gate)(level=40)
    server = start(servers, WS_TOPIC_TTL_SECONDS="3")
    ws = await open_ws(server, f"?subscribe=price:{LISTED},market-gate")
    await until(ws, lambda f: f == {"type": "subscribed", "topic": f"price:{LISTED}"})
    # A subscribe to a quiet price topic made its epoch key, with the expiry.
    assert 0 < clean_redis.ttl(f"{settings.REALTIME_PREFIX}:topic:price.{LISTED}:epoch") <= 3
    await until(ws, lambda f: f.get("snapshot") and f["topic"] == "market-gate")
    await sync_to_async(publish)("market-gate", gate_message(41))
    # (Saving the gate row broadcast too: this frame's seq is 1 or 2, depending on timing.)
    first = await until(ws, lambda f: f["type"] == "market_gate_update" and not f.get("snapshot"))

    async def gone() -> bool:
        return not topic_keys(clean_redis)

    await wait_for(gone, 15, "the idle topics' keys to expire")
    await sync_to_async(publish)("market-gate", gate_message(42))
    # The client follows into the new epoch (a fresh snapshot or the frame), nothing is
    # dropped as an old duplicate.
    after = await until(ws, lambda f: f["type"] == "market_gate_update" and f["epoch"] != first["epoch"])
    assert after["seq"] == 1
    assert clean_redis.ttl(f"{settings.REALTIME_PREFIX}:topic:market-gate:seq") > 0
    await ws.close()


async def refused(ws: Any) -> tuple[dict[str, Any], int]:
    error = await frame(ws)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await frame(ws)
    return error, closed.value.rcvd.code if closed.value.rcvd else 1006


async def test_sockets_are_capped_per_address_and_per_process(clean_redis, servers):
    server = start(servers, WS_MAX_CONNECTIONS_PER_ADDRESS="3", WS_MAX_CONNECTIONS="5")
    # No Origin header (a script): admitted, and counted like any other socket.
    mine = [await open_ws(server, source="127.0.0.2") for _ in range(3)]
    for ws in mine:
        assert (await frame(ws))["type"] == "connected"

    # A fourth from the same address is refused, whatever X-Forwarded-For it claims: the
    # peer is not a trusted proxy.
    extra = await open_ws(server, source="127.0.0.2", additional_headers={"X-Forwarded-For": "198.51.100.7"})
    error, code = await refused(extra)
    assert error["type"] == "error" and error["code"] == "too_many_connections" and "per client address" in error[
        "message"]
    assert code == 4029

    # Another address still gets in, up to the process's cap.
    others = [await open_ws(server, source="127.0.0.3") for _ in range(2)]
    for ws in others:
        assert (await frame(ws))["type"] == "connected"
    full = await open_ws(server, source="127.0.0.4")
    error, code = await refused(full)
    assert error["code"] == "too_many_connections" and "maximum of 5" in error["message"] and code == 4029

    # The admitted sockets are unharmed, and a closed one frees its place.
    await mine[0].send(json.dumps({"type": "ping"}))
    assert (await frame(mine[0]))["type"] == "pong"
    await mine[1].close()

    async def admitted_again() -> bool:
        ws = await open_ws(server, source="127.0.0.2")
        hello = await frame(ws)
        if hello["type"] == "connected":
            mine[1] = ws
            return True
        await ws.close()
        return False

    await wait_for(admitted_again, 15, "a freed place")
    for ws in [*mine, *others]:
        await ws.close()
    assert "Traceback" not in server.output()


async def test_a_client_without_origin_is_an_anonymous_script(clean_redis, servers):
    """Browsers always send Origin on a WebSocket handshake, so a handshake without one is
    not a page of another site riding a visitor's cookies (what the Origin check stops):
    it gets what any anonymous client gets, no more."""
    server = start(servers, WS_TOPIC_PERMISSIONS="signal=authenticated")
    ws = await open_ws(server, "?subscribe=market-gate,signal:vcp")
    assert (await frame(ws))["type"] == "connected"
    assert await frame(ws) == {"type": "subscribed", "topic": "market-gate"}
    forbidden = await frame(ws)
    assert forbidden["code"] == "forbidden" and forbidden["topic"] == "signal:vcp"
    await ws.close()
    with pytest.raises(websockets.InvalidStatus):
        await open_ws(server, origin="http://evil.example")
