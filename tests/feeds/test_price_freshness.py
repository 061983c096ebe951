"""A quote older than its freshness limit is never sent as live; snapshots flag it stale."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from marketgate.calendar import KST
from marketgate.feeds import quotes
from marketgate.feeds.base import Tick
from marketgate.feeds.messages import quote_record
from marketgate.feeds.supervisor import FeedRunner
from stockgate.realtime import sequence

NOW = datetime(2026, 6, 12, 10, 0, tzinfo=KST)


def tick(as_of: datetime) -> Tick:
    return Tick("005930", 72000, 500, 0.7, 1000, 10, 71900, 72000, as_of, "kis")


class NoFeed:
    source = "kis"
    max_registrations = 40


async def test_a_tick_older_than_the_limit_is_stored_but_not_published(clean_redis, settings):
    settings.PRICE_FRESHNESS_SECONDS = 60
    runner = FeedRunner(NoFeed(), wall_clock=lambda: NOW, publish_index=False)  # type: ignore[arg-type]
    await runner.on_tick(tick(NOW - timedelta(days=365)))
    assert runner.published == 0 and runner.dropped_stale == 1
    assert (await sequence.current("price:005930"))[1] == 0
    await runner.on_tick(tick(NOW - timedelta(seconds=2)))
    assert runner.published == 1


async def test_the_snapshot_sends_the_last_price_with_its_as_of_and_a_stale_flag(clean_redis, settings):
    settings.PRICE_FRESHNESS_SECONDS = 60
    old = NOW - timedelta(days=365)
    await quotes.store_quotes([quote_record(tick(old), received_at=old)])
    message = await quotes.price_snapshot("price:005930")
    assert message is not None
    assert message["data"]["price"] == 72000
    assert message["data"]["as_of"] == old.isoformat()
    assert message["data"]["stale"] is True


async def test_a_fresh_quote_is_not_stale(clean_redis):
    now = datetime.now(KST)
    await quotes.store_quotes([quote_record(tick(now), received_at=now)])
    message = await quotes.price_snapshot("price:005930")
    assert message is not None and message["data"]["stale"] is False
    await asyncio.sleep(0)
