"""The Kiwoom realtime adapter against a local server replaying frames written in
Kiwoom's documented format (tests/fixtures/kiwoom, not captures)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketgate.calendar import KST
from marketgate.feeds import registry
from marketgate.feeds.backoff import Backoff
from marketgate.feeds.base import CredentialsExpired, FeedError, IndexTick, Tick
from marketgate.feeds.kiwoom import frames as kf
from marketgate.feeds.kiwoom.session import KiwoomFeed
from marketgate.feeds.quotes import index_key
from marketgate.feeds.supervisor import FeedRunner
from tests.kiwoom_server import KiwoomServer, fixture, real_frames

NOW = datetime(2026, 6, 12, 9, 0, 30, tzinfo=KST)


def make_feed(server: KiwoomServer, **kwargs: object) -> KiwoomFeed:
    return KiwoomFeed(ws_url=server.ws_url, rest_url=server.rest_url, app_key="app-key", secret_key="secret",
                      **kwargs)  # type: ignore[arg-type]


async def take(session: object, n: int, timeout: float = 5.0) -> list[Tick | IndexTick]:
    out: list[Tick | IndexTick] = []

    async def collect() -> None:
        async for tick in session.ticks():  # type: ignore[attr-defined]
            out.append(tick)
            if len(out) >= n:
                return

    await asyncio.wait_for(collect(), timeout)
    return out


def test_trades_parse_with_the_sign_of_the_move_and_todays_kst_time():
    entries = [e for frame in real_frames() for e in frame["data"]]
    up = kf.trade_tick(entries[0], NOW)
    assert (up.ticker, up.price, up.change, up.change_rate) == ("005930", 75000, 500, 0.67)
    assert (up.volume, up.trade_volume, up.ask, up.bid) == (1520, 120, 75100, 75000)
    assert (up.day_open, up.day_high, up.day_low) == (74800, 75200, 74400)
    assert up.as_of == datetime(2026, 6, 12, 9, 0, 1, tzinfo=KST) and up.source == "kiwoom"
    down = kf.trade_tick(entries[1], NOW)
    assert (down.ticker, down.price, down.change, down.change_rate, down.trade_volume) == ("000660", 198000, -2000, -1.0, 35)
    nxt = next(e for e in entries if e["item"] == "005930_AL")
    assert kf.trade_tick(nxt, NOW).ticker == "005930"


def test_index_values_parse_for_kospi_and_kosdaq():
    frame = real_frames()[2]
    kospi, kosdaq = (kf.index_tick(e, NOW) for e in frame["data"])
    assert (kospi.index, kospi.value, kospi.change, kospi.change_rate) == ("KOSPI", 2612.37, 12.05, 0.46)
    assert (kosdaq.index, kosdaq.value, kosdaq.change, kosdaq.change_rate) == ("KOSDAQ", 742.18, -3.4, -0.46)


def test_a_time_ahead_of_the_clock_is_yesterdays_session():
    late = datetime(2026, 6, 12, 0, 5, tzinfo=KST)
    assert kf.market_time("235959", late) == datetime(2026, 6, 11, 23, 59, 59, tzinfo=KST)


@pytest.mark.parametrize(
    "text", ["", "not json", "[]", '{"no": "trnm"}', '{"trnm": "REAL", "data": 5}', '{"trnm": "REG", "return_code": "x"}'],
)
def test_malformed_frames_raise_frame_error(text):
    with pytest.raises(kf.FrameError):
        kf.parse(text)


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "0B", "item": "005930"},
        {"type": "0B", "item": "005930", "values": {"20": "090000", "10": ""}},
        {"type": "0B", "item": "005930", "values": {"20": "99", "10": "+100"}},
        {"type": "0B", "item": "", "values": {"20": "090000", "10": "+100"}},
    ],
)
def test_bad_trade_entries_raise_frame_error(entry):
    with pytest.raises(kf.FrameError):
        kf.trade_tick(entry, NOW)


def test_control_frames_parse():
    assert isinstance(kf.parse(fixture("ping.json")), kf.Heartbeat)
    assert kf.parse(fixture("login_ok.json")) == kf.Control("LOGIN", 0, "")
    assert not kf.parse(fixture("login_refused.json")).ok  # type: ignore[union-attr]


async def test_login_is_a_token_call_then_a_login_frame_then_the_index_registration():
    async with KiwoomServer() as server:
        session = await make_feed(server).open()
        await session.close()
    assert server.rec.tokens == [{"grant_type": "client_credentials", "appkey": "app-key", "secretkey": "secret",
                                  "api-id": "au10001"}]
    assert server.logins == [server.issued[0]]
    assert server.rec.requests == [{"trnm": "REG", "grp_no": "2", "refresh": "1",
                                    "data": [{"item": ["001", "101"], "type": ["0J"]}]}]


async def test_register_and_release_send_reg_and_remove_for_trades_in_group_1():
    async with KiwoomServer() as server:
        session = await make_feed(server).open()
        reader = asyncio.create_task(take(session, 100))
        await session.register("005930")
        await session.release("005930")
        reader.cancel()
        await session.close()
    reg, remove = server.rec.requests[1:]
    assert reg == {"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": ["005930"], "type": ["0B"]}]}
    assert remove["trnm"] == "REMOVE" and remove["data"] == [{"item": ["005930"], "type": ["0B"]}]


async def test_a_session_yields_trades_of_registered_stocks_and_index_values_and_echoes_ping():
    async with KiwoomServer(pingpong_every=1, repeat=True) as server:
        session = await make_feed(server).open()
        reader = asyncio.create_task(take(session, 6))
        await session.register("005930")
        got = await reader
        await asyncio.sleep(0.1)
        await session.close()
    trades = [t for t in got if isinstance(t, Tick)]
    indices = {t.index for t in got if isinstance(t, IndexTick)}
    assert trades and {t.ticker for t in trades} == {"005930"}
    assert indices == {"KOSPI", "KOSDAQ"}
    assert session.heartbeats >= 2 and json.loads(server.rec.pongs[0]) == json.loads(fixture("ping.json"))


async def test_the_token_is_reused_until_it_expires_and_a_refused_login_gets_a_new_one():
    async with KiwoomServer(refuse_logins=1) as server:
        feed = make_feed(server)
        with pytest.raises(CredentialsExpired):
            await feed.open()
        await (await feed.open()).close()
        await (await feed.open()).close()
    assert len(server.issued) == 2  # the refused one was dropped; the second reused
    assert server.logins == [server.issued[0], server.issued[1], server.issued[1]]


def test_missing_keys_are_a_clear_error():
    with pytest.raises(FeedError, match="KIWOOM_APP_KEY"):
        KiwoomFeed(ws_url="ws://x", rest_url="http://x", app_key="", secret_key="")


async def test_reconnects_with_backoff_publish_prices_and_indices_one_session_at_a_time(clean_redis):
    async def demand(registered: set[str]) -> tuple[list[str], int]:
        return ["005930", "000660"], 0

    async with KiwoomServer(drop_after=3, repeat=True) as server:
        runner = FeedRunner(make_feed(server), backoff=Backoff(base=0.2, cap=0.8), demand=demand,
                            demand_poll_seconds=0.05)
        cpu0, wall0 = time.process_time(), time.monotonic()
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(3.0)
        runner.stop.set()
        await asyncio.wait_for(task, 5)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    connects = server.rec.connects
    assert len(connects) >= 3 and server.rec.max_open == 1
    for gap, delay in zip([b - a for a, b in zip(connects, connects[1:])], runner.delays):
        assert gap >= delay * 0.95
    assert cpu / wall < 0.5
    assert runner.published >= 2
    stored = await clean_redis_hgetall(index_key())
    assert set(stored) >= {"KOSPI"}


async def clean_redis_hgetall(key: str) -> dict[str, str]:
    from stockgate.realtime.redis_conn import async_client

    raw = await async_client().hgetall(key)
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def test_feeds_are_registered_by_name_and_plugins_can_add_one():
    assert {"demo", "kis", "kiwoom"} <= set(registry.feed_names())
    with pytest.raises(FeedError, match="KIWOOM_APP_KEY"):  # the Kiwoom feed, built from settings (no keys here)
        registry.create_feed("kiwoom")

    class Plugged:
        source = "plugged"
        max_registrations = 1

    registry.register_feed("plugged", Plugged)
    try:
        assert isinstance(registry.create_feed("PLUGGED"), Plugged)
    finally:
        registry.unregister_feed("plugged")
    with pytest.raises(ImproperlyConfigured, match="registered feeds: .*kiwoom"):
        registry.create_feed("nope")
