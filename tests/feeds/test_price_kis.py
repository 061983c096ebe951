"""The KIS realtime adapter against a local server replaying recorded frames."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from marketgate.calendar import KST
from marketgate.feeds.backoff import Backoff
from marketgate.feeds.base import CredentialsExpired, Tick
from marketgate.feeds.kis import frames as kf
from marketgate.feeds.kis.session import KisFeed
from marketgate.feeds.supervisor import FeedRunner
from tests.kis_server import KisServer, fixture, trade_frames


def make_feed(kis: KisServer, **kwargs: object) -> KisFeed:
    return KisFeed(ws_url=kis.ws_url, rest_url=kis.rest_url, app_key="app-key", app_secret="app-secret", **kwargs)  # type: ignore[arg-type]


async def take(session: object, n: int, timeout: float = 5.0) -> list[Tick]:
    out: list[Tick] = []

    async def collect() -> None:
        async for tick in session.ticks():  # type: ignore[attr-defined]
            out.append(tick)
            if len(out) >= n:
                return

    await asyncio.wait_for(collect(), timeout)
    return out


async def test_login_asks_for_an_approval_key_and_an_access_token():
    async with KisServer() as kis:
        session = await make_feed(kis).open()
        await session.close()
    assert kis.rec.approvals == [{"grant_type": "client_credentials", "appkey": "app-key", "secretkey": "app-secret"}]
    assert kis.rec.tokens == [{"grant_type": "client_credentials", "appkey": "app-key", "appsecret": "app-secret"}]


async def test_registration_sends_approval_key_custtype_and_tr_type():
    async with KisServer() as kis:
        session = await make_feed(kis).open()
        reader = asyncio.create_task(take(session, 100))  # acks arrive through the reader
        await session.register("005930")
        await session.release("005930")
        reader.cancel()
        await session.close()
    register, release = kis.rec.requests
    assert register["header"] == {
        "approval_key": "a1b2c3d4-approval-key-from-fixture-1", "custtype": "P", "tr_type": "1", "content-type": "utf-8",
    }
    assert register["body"] == {"input": {"tr_id": "H0STCNT0", "tr_key": "005930"}}
    assert release["header"]["tr_type"] == "2"


def test_trade_frames_parse_into_ticks_with_signed_change_and_kst_trade_time():
    frames = [kf.parse(line) for line in trade_frames()]
    ticks = [kf.trade_tick(record) for frame in frames for record in frame.records]  # type: ignore[union-attr]
    first = ticks[0]
    assert (first.ticker, first.price, first.change, first.change_rate) == ("005930", 71900, -100, -0.14)
    assert (first.volume, first.trade_volume, first.ask, first.bid) == (3052507, 1, 71900, 71800)
    assert (first.day_open, first.day_high, first.day_low) == (72100, 72400, 71700)
    assert first.as_of == datetime(2026, 6, 12, 9, 33, 54, tzinfo=KST)
    assert [t.ticker for t in ticks] == ["005930", "005930", "000660", "005930", "005930"]  # a 2-record frame
    assert ticks[1].change == 0 and ticks[2].change == 1000


def test_control_frames_parse_as_heartbeat_and_acks():
    assert isinstance(kf.parse(fixture("pingpong.json")), kf.Heartbeat)
    ok = kf.parse(fixture("ack_subscribe.json"))
    bad = kf.parse(fixture("ack_invalid_approval.json"))
    assert isinstance(ok, kf.Ack) and ok.ok and ok.tr_key == "005930"
    assert isinstance(bad, kf.Ack) and not bad.ok and bad.bad_credentials


async def test_pingpong_is_answered_with_a_pong_and_yields_no_tick():
    async with KisServer(pingpong_every=1) as kis:
        session = await make_feed(kis).open()
        reader = asyncio.create_task(take(session, 3))
        await session.register("005930")
        ticks = await reader
        await asyncio.sleep(0.1)
        await session.close()
    assert all(isinstance(t, Tick) for t in ticks)
    assert session.heartbeats >= 2
    assert kis.rec.pongs and kis.rec.pongs[0] == fixture("pingpong.json").encode()


async def test_reconnects_with_backoff_never_two_sessions_and_little_cpu(clean_redis):
    async def demand(registered: set[str]) -> tuple[list[str], int]:
        return ["005930"], 0

    async with KisServer(drop_after=2) as kis:
        backoff = Backoff(base=0.2, cap=0.8)
        runner = FeedRunner(
            make_feed(kis), backoff=backoff, demand=demand, publish_index=False, demand_poll_seconds=0.05,
            wall_clock=lambda: datetime(2026, 6, 12, 9, 34, tzinfo=KST),
        )
        cpu0, wall0 = time.process_time(), time.monotonic()
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(3.0)
        runner.stop.set()
        await asyncio.wait_for(task, 5)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    connects = kis.rec.connects
    assert len(connects) >= 3
    assert kis.rec.max_open == 1
    gaps = [b - a for a, b in zip(connects, connects[1:])]
    # Each reconnect waited its backoff delay, and the delays grow towards the cap.
    for gap, delay in zip(gaps, runner.delays):
        assert gap >= delay * 0.95
    assert runner.delays[0] <= 0.2 and runner.delays[1] >= 0.2 and max(runner.delays) <= 0.8
    assert cpu / wall < 0.5
    assert runner.published >= 2


async def test_an_expired_access_token_is_issued_again_before_reconnecting():
    now = [1000.0]
    async with KisServer(token_expires_in=600) as kis:
        feed = make_feed(kis, monotonic=lambda: now[0])
        await (await feed.open()).close()
        await (await feed.open()).close()
        assert len(kis.rec.tokens) == 1  # still valid: reused
        now[0] += 600
        await (await feed.open()).close()
    assert len(kis.rec.tokens) == 2
    assert len(kis.rec.approvals) == 1


async def test_a_rejected_approval_key_is_replaced_on_the_next_login():
    async with KisServer(reject_keys={"a1b2c3d4-approval-key-from-fixture-1"}) as kis:
        feed = make_feed(kis)
        session = await feed.open()
        reader = asyncio.create_task(take(session, 100))
        with pytest.raises(CredentialsExpired):
            await session.register("005930")
        reader.cancel()
        await session.close()
        session = await feed.open()
        ticks = asyncio.create_task(take(session, 1))
        await session.register("005930")
        assert (await ticks)[0].ticker == "005930"
        await session.close()
    assert [r["header"]["approval_key"][-2:] for r in kis.rec.requests] == ["-1", "-2"]
