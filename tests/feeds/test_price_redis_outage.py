"""The price feed outlives a Redis outage: a tick that cannot be stored or published is
lost to live clients only (its quote stays for the table flush), the upstream session and
the process stay up, and the next tick after Redis is back is published. Before, redis-py's
own TimeoutError/ConnectionError escaped the reader and ended `stream_prices` (seen in the
compose stack: the feed container restarted with every Redis restart)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from marketgate.calendar import KST
from marketgate.feeds.base import Tick
from marketgate.feeds.supervisor import FeedRunner
from stockgate.realtime import sequence
from stockgate.realtime.redis_conn import async_client, reset_clients
from tests.services import PrivateRedis


def tick(price: int, as_of: datetime) -> Tick:
    return Tick("005930", price, 500, 0.7, 1000, 10, price - 100, price, as_of, "kis")


class NoFeed:
    source = "kis"
    max_registrations = 40


class Upstream:
    """A session whose upstream sends these ticks, then ends."""

    def __init__(self, ticks: list[Tick]) -> None:
        self._ticks = ticks

    async def ticks(self) -> AsyncIterator[Tick]:
        for item in self._ticks:
            yield item


async def test_ticks_while_redis_is_down_end_neither_the_reader_nor_the_feed(settings) -> None:  # type: ignore[no-untyped-def]
    private = PrivateRedis().start()
    settings.REDIS_URL = private.url
    reset_clients()
    now = datetime.now(KST)
    runner = FeedRunner(NoFeed(), wall_clock=lambda: datetime.now(KST), publish_index=False)  # type: ignore[arg-type]
    try:
        private.stop()
        # Both ticks fail to reach Redis; the reader carries on to the end of the upstream.
        await runner._read(Upstream([tick(72000, now), tick(72100, now)]))  # type: ignore[arg-type]
        assert runner.published == 0
        assert runner.dirty_quotes["005930"]["price"] == 72100  # kept for the table flush

        private.start()
        reset_clients()
        await runner._read(Upstream([tick(72200, datetime.now(KST))]))  # type: ignore[arg-type]
        assert runner.published == 1
        assert (await sequence.current("price:005930"))[1] == 1
    finally:
        private.stop()
        reset_clients()


async def test_a_redis_outage_that_costs_the_session_lock_does_not_end_the_feed(settings) -> None:  # type: ignore[no-untyped-def]
    """Redis gone longer than the lock's renewal interval: the lock is lost, and neither
    the session's final flush of its bars, nor releasing the lock, nor taking it again
    (Redis still away) ends the feed; once Redis is back the lock is taken again."""
    private = PrivateRedis().start()
    settings.REDIS_URL = private.url
    reset_clients()
    runner = FeedRunner(NoFeed(), wall_clock=lambda: datetime.now(KST), publish_index=False)  # type: ignore[arg-type]
    try:
        assert await runner.lock.acquire()
        runner.bars.add("005930", 72000, 10, datetime.now(KST))
        private.stop()
        await runner._flush(final=True)  # the session's end after a lost lock, Redis still down
        await runner._release_lock()
        assert not runner.lock.held
        # The outer loop with Redis down: it waits and tries again until stopped.
        runner.lock.ttl_ms = 300
        loop_task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.5)
        assert not loop_task.done(), loop_task
        runner.stop.set()
        await asyncio.wait_for(loop_task, timeout=5)
        private.start()
        reset_clients()
        runner.lock.client = async_client()
        assert await runner.lock.acquire()
    finally:
        private.stop()
        reset_clients()
