"""Live prices end to end: real web processes, a real stream_prices, real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import psutil
import pytest
import websockets

from marketgate.calendar import KST
from marketgate.feeds.state import feed_state
from stockgate.realtime.broadcast import apublish
from tests import factories
from tests.kis_server import KisServer
from tests.processes import Proc, process_env, web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def feed(**env: str) -> Proc:
    import sys

    return Proc("feed", [sys.executable, "manage.py", "stream_prices", "--no-index"], process_env(**env))


def wait_for(condition: Any, seconds: float, proc: Proc) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline and proc.alive(), proc.output()
        time.sleep(0.1)


async def recv_json(ws: Any, timeout: float) -> dict[str, Any] | None:
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except TimeoutError:
        return None


async def price_frames(ws: Any, seconds: float, topic: str = "price:005930") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        frame = await recv_json(ws, left)
        if frame and frame.get("type") == "price_update" and frame.get("topic") == topic:
            out.append(frame)
    return out


async def subscribe(ws: Any, topic: str) -> None:
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))


def test_demo_prices_reach_subscribers_on_two_web_processes_and_stop_after_unsubscribe(clean_redis):
    from marketgate.models import Instrument

    Instrument.objects.create(ticker="005930", name="삼성전자", market="KOSPI")  # only instruments are registered
    server1, server2 = web().start(), web().start()
    streamer = feed(PRICE_WATCHLIST="000660", PRICE_DEMO_TICK_SECONDS="0.5").start()
    try:
        wait_for(lambda: feed_state()["state"] == "connected", 90, streamer)
        async def scenario() -> None:
            async with websockets.connect(f"ws://127.0.0.1:{server1.port}/ws") as a, websockets.connect(
                f"ws://127.0.0.1:{server2.port}/ws"
            ) as b:
                await subscribe(a, "price:005930")
                await subscribe(b, "price:005930")
                # The feed registers 005930 because of these subscribers (it is not watched).
                got_a, got_b = await asyncio.gather(price_frames(a, 20), price_frames(b, 20))
                live_a = [f for f in got_a if not f.get("snapshot")]
                live_b = [f for f in got_b if not f.get("snapshot")]
                assert len(live_a) >= 3, got_a
                for frame in live_a:
                    assert frame["seq"] > 0 and frame["epoch"] and frame["data"]["as_of"]
                    assert datetime.fromisoformat(frame["data"]["as_of"]).utcoffset() is not None
                    assert frame["data"]["stale"] is False and frame["source"] == "demo"
                # Both processes deliver the same sequence of the same topic.
                seqs_a = {f["seq"]: f["data"]["price"] for f in live_a}
                seqs_b = {f["seq"]: f["data"]["price"] for f in live_b}
                common = set(seqs_a) & set(seqs_b)
                assert common and all(seqs_a[s] == seqs_b[s] for s in common)
                low, high = max(min(seqs_a), min(seqs_b)), min(max(seqs_a), max(seqs_b))
                assert [s for s in sorted(seqs_a) if low <= s <= high] == [s for s in sorted(seqs_b) if low <= s <= high]

                await a.send(json.dumps({"type": "unsubscribe", "topic": "price:005930"}))
                await price_frames(a, 0.5)  # frames already in flight
                assert await price_frames(a, 4) == []
                assert len(await price_frames(b, 4)) >= 1  # b still subscribed

        asyncio.run(scenario())
    finally:
        streamer.stop()
        server1.stop()
        server2.stop()


def test_a_second_stream_prices_opens_no_second_upstream_session(clean_redis):
    kis = KisServer().start_in_thread()
    env = {
        "PRICE_FEED": "kis", "KIS_APP_KEY": "k", "KIS_APP_SECRET": "s", "KIS_WS_URL": kis.ws_url,
        "KIS_REST_URL": kis.rest_url, "PRICE_WATCHLIST": "005930", "PRICE_LOCK_TTL_SECONDS": "3",
    }
    first, second = feed(**env), feed(**env)
    try:
        first.start()
        deadline = time.monotonic() + 30
        while not kis.rec.connects and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(kis.rec.connects) == 1, first.output()
        second.start()
        wait_for(lambda: "waiting" in second.output(), 60, second)
        time.sleep(2)
        assert len(kis.rec.connects) == 1 and kis.rec.max_open == 1
        state = feed_state()
        assert state["state"] == "connected" and state["source"] == "kis"

        first.kill()  # no clean release: the lock lapses after its TTL
        deadline = time.monotonic() + 20
        while len(kis.rec.connects) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(kis.rec.connects) == 2, second.output()
        assert kis.rec.max_open == 1
    finally:
        first.stop()
        second.stop()
        kis.stop_thread()


def test_a_client_that_stops_reading_neither_grows_memory_nor_delays_others(clean_redis):
    factories.listed("005930")
    server = web(PRICE_MAX_UPDATES_PER_SECOND="4").start()
    try:
        async def scenario() -> tuple[int, list[float], float]:
            url = f"ws://127.0.0.1:{server.port}/ws"
            slow = await websockets.connect(url, max_queue=1)
            fast = await websockets.connect(url)
            await subscribe(slow, "price:005930")
            await subscribe(fast, "price:005930")
            await price_frames(fast, 0.5)
            rss_before = psutil.Process(server.pid).memory_info().rss
            received: list[float] = []

            async def read_fast() -> None:
                while True:
                    frame = await recv_json(fast, 10)
                    if frame and frame.get("type") == "price_update":
                        sent_at = datetime.fromisoformat(frame["timestamp"]).timestamp()
                        received.append(time.time() - sent_at)

            reader = asyncio.create_task(read_fast())
            started = time.monotonic()
            for i in range(400):  # 50 updates a second for 8 seconds
                now = datetime.now(KST)
                await apublish("price:005930", {
                    "type": "price_update", "topic": "price:005930", "ticker": "005930",
                    "data": {"price": 70000 + i, "change": 0, "change_rate": 0.0, "volume": i, "bid_price": None,
                             "ask_price": None, "as_of": now.isoformat(), "stale": False},
                    "timestamp": now.isoformat(), "source": "test", "pad": "x" * 2000,
                })
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)
            elapsed = time.monotonic() - started
            reader.cancel()
            growth = psutil.Process(server.pid).memory_info().rss - rss_before
            await slow.close()
            await fast.close()
            return growth, received, elapsed

        growth, latencies, elapsed = asyncio.run(scenario())
        assert len(latencies) <= 4 * elapsed + 2  # coalesced to the configured rate
        assert len(latencies) >= 2 * elapsed
        assert sorted(latencies)[int(len(latencies) * 0.95)] < 0.5  # the busy, non-reading neighbour delays no one
        assert growth < 30 * 1024 * 1024
    finally:
        server.stop()
