"""`PRICE_FEED=kiwoom manage.py stream_prices` against a local Kiwoom stand-in (frames in
Kiwoom's documented format, not captures): a subscribed browser-like client receives
price_update and index_update frames, and keeps receiving them after the server drops
the connection (the feed reconnects with its backoff, one session at a time)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import websockets

from marketgate.feeds.state import feed_state
from tests import factories
from tests.feeds.test_price_stream_e2e import feed, recv_json, subscribe, wait_for
from tests.kiwoom_server import KiwoomServer
from tests.processes import web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def frames_of(ws: Any, seconds: float, kinds: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        frame = await recv_json(ws, left)
        if frame and frame.get("type") in kinds:
            out.append(frame)
    return out


def test_kiwoom_prices_reach_a_subscriber_and_survive_a_dropped_connection(clean_redis):
    factories.listed("005930")
    kiwoom = KiwoomServer(drop_after=15, repeat=True, frame_interval=0.05).start_in_thread()
    server = web().start()
    streamer = feed(
        PRICE_FEED="kiwoom", KIWOOM_APP_KEY="k", KIWOOM_SECRET_KEY="s", KIWOOM_WS_URL=kiwoom.ws_url,
        KIWOOM_REST_URL=kiwoom.rest_url, PRICE_WATCHLIST="005930", PRICE_BACKOFF_BASE_SECONDS="0.5",
        PRICE_BACKOFF_CAP_SECONDS="2",
    )
    streamer.args = [a for a in streamer.args if a != "--no-index"]  # Kiwoom streams the indices itself
    streamer.start()
    try:
        wait_for(lambda: feed_state()["state"] == "connected", 60, streamer)

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
                await subscribe(ws, "price:005930")
                await subscribe(ws, "market:kospi")
                before = await frames_of(ws, 6, {"price_update", "index_update"})
                # The stand-in drops every session after 15 frames: read on past two reconnects.
                connects = len(kiwoom.rec.connects)
                after: list[dict[str, Any]] = []
                deadline = time.monotonic() + 30
                while len(kiwoom.rec.connects) < connects + 2 and time.monotonic() < deadline:
                    await frames_of(ws, 0.5, set())
                after = await frames_of(ws, 6, {"price_update"})
                return before, after

        before, after = asyncio.run(scenario())
        survived = streamer.alive()
    finally:
        streamer.stop()
        server.stop()
        kiwoom.stop_thread()
    prices = [f for f in before if f["type"] == "price_update" and not f.get("snapshot")]
    assert prices, streamer.output()[-3000:]
    first = prices[0]
    assert first["topic"] == "price:005930" and first["source"] == "kiwoom" and first["data"]["stale"] is False
    assert first["data"]["price"] in (75000, 75100, 75200) and first["data"]["change"] > 0
    # The index the feed streamed (live, or the snapshot when it came before the subscription).
    assert any(f["type"] == "index_update" and f["data"]["index"] == 2612.37 for f in before), before
    assert not [f for f in after if f.get("snapshot")]
    assert len(kiwoom.rec.connects) >= 3 and kiwoom.rec.max_open == 1
    assert after, streamer.output()[-3000:]
    assert survived
