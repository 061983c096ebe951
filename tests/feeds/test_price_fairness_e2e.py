"""The feed's fairness rule end to end: a real web process, a real stream_prices on a fake
KIS server, sockets from three addresses. One hostile client cannot take the upstream's
registrations from the others, never gets a non-instrument registered, and rotating its
subscriptions does not churn the broker session."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets

from marketgate.models import Instrument
from tests.feeds.test_price_stream_e2e import feed
from tests.kis_server import KisServer
from tests.processes import web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEGIT = ["000101", "000102"]
HOSTILE_REAL = [[f"{n:06d}" for n in range(start, start + 10)] for start in (110, 120, 130)]
FAKES = [f"{n:06d}" for n in range(38)]  # sort before every real one: the old rule took them first


def upstream(kis: KisServer) -> tuple[set[str], int, int]:
    """(registered now, registrations sent, releases sent) as the broker saw them."""
    now: set[str] = set()
    registers = releases = 0
    for request in list(kis.rec.requests):
        ticker = request["body"]["input"]["tr_key"]
        if request["header"]["tr_type"] == "1":
            now.add(ticker)
            registers += 1
        else:
            now.discard(ticker)
            releases += 1
    return now, registers, releases


async def open_socket(port: int, address: str) -> Any:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", local_addr=(address, 0), open_timeout=20)
    assert json.loads(await ws.recv())["type"] == "connected"
    asyncio.get_running_loop().create_task(drain(ws))
    return ws


async def drain(ws: Any) -> None:
    try:
        async for raw in ws:
            if '"type":"ping"' in raw.replace(" ", ""):
                await ws.send('{"type":"pong"}')
    except websockets.exceptions.WebSocketException:
        pass


async def send_paced(ws: Any, kind: str, topics: list[str]) -> None:
    for topic in topics:  # under the per-connection rate limit (20 frames a second)
        await ws.send(json.dumps({"type": kind, "topic": topic}))
        await asyncio.sleep(0.07)


async def until(condition: Any, seconds: float, why: Any) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, why()
        await asyncio.sleep(0.2)


def test_one_hostile_client_cannot_starve_others_or_churn_the_broker_session(clean_redis):
    for ticker in [*LEGIT, *sum(HOSTILE_REAL, [])]:
        Instrument.objects.create(ticker=ticker, name=ticker, market="KOSPI")
    kis = KisServer().start_in_thread()
    server = web().start()
    streamer = feed(
        PRICE_FEED="kis", KIS_APP_KEY="k", KIS_APP_SECRET="s", KIS_WS_URL=kis.ws_url, KIS_REST_URL=kis.rest_url,
        PRICE_WATCHLIST="005930", PRICE_MAX_REGISTRATIONS="10",
    ).start()
    try:
        async def scenario() -> None:
            hostile = await open_socket(server.port, "127.0.0.1")
            b = await open_socket(server.port, "127.0.0.2")
            c = await open_socket(server.port, "127.0.0.3")
            await send_paced(hostile, "subscribe", [f"price:{t}" for t in FAKES + HOSTILE_REAL[0]])
            await send_paced(b, "subscribe", [f"price:{t}" for t in LEGIT])
            await send_paced(c, "subscribe", [f"price:{LEGIT[0]}"])
            # The watchlist, both legitimate tickers, and the hostile client's share (4).
            expected = {"005930", *LEGIT, *HOSTILE_REAL[0][:4]}
            await until(lambda: upstream(kis)[0] == expected, 40,
                        lambda: (upstream(kis), streamer.output()[-3000:]))
            # Rotation: the hostile client swaps its tickers twice. Free slots take three of
            # the new ones; nothing registered is released within its 60 s hold.
            for batch in HOSTILE_REAL[1:]:
                previous = HOSTILE_REAL[HOSTILE_REAL.index(batch) - 1]
                await send_paced(hostile, "unsubscribe", [f"price:{t}" for t in previous])
                await send_paced(hostile, "subscribe", [f"price:{t}" for t in batch])
            await asyncio.sleep(4)
            for ws in (hostile, b, c):
                await ws.close()

        asyncio.run(scenario())
        now, registers, releases = upstream(kis)
    finally:
        streamer.stop()
        server.stop()
        kis.stop_thread()
    assert not now & set(FAKES) and registers <= 10, (now, registers)  # never a fake; never over the limit
    assert {"005930", *LEGIT} <= now  # what others watch survived the attack
    assert releases == 0, "a registration was released within its minimum hold"
    assert len(now & set(sum(HOSTILE_REAL, []))) <= 7  # its share, plus the free slots it rotated into
