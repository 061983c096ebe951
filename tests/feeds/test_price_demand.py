"""Demand-driven registrations: what every web process wants, within the upstream's limit."""

from __future__ import annotations

import asyncio

from marketgate.feeds import demand
from marketgate.feeds.demand import DemandTracker, choose, demanded_tickers


def test_the_watchlist_comes_first_and_the_limit_is_never_exceeded():
    assert choose(["005930"], {"000660", "035720", "005930"}, 3) == ["005930", "000660", "035720"]
    assert choose(["005930", "000660"], {"035720"}, 2) == ["005930", "000660"]


async def test_demand_is_the_union_over_web_processes_and_follows_the_last_subscriber(clean_redis):
    one, two = DemandTracker("web-1"), DemandTracker("web-2")
    await one.change("price:005930", True)
    await two.change("price:000660", True)
    await two.change("market:kospi", True)  # not a price topic: not demand
    assert await demanded_tickers() == {"005930", "000660"}
    await two.change("price:000660", False)
    assert await demanded_tickers() == {"005930"}


async def test_a_dead_web_process_demand_expires(clean_redis, settings):
    settings.PRICE_DEMAND_TTL_SECONDS = 1
    tracker = DemandTracker("web-dead")
    await tracker.change("price:005930", True)
    tracker._heartbeat.cancel()  # the process dies: nobody renews its demand
    await asyncio.sleep(1.3)
    assert await demanded_tickers() == set()


async def test_wanted_tickers_reports_what_did_not_fit(clean_redis, settings):
    settings.PRICE_WATCHLIST = ["005930"]
    settings.PRICE_MAX_REGISTRATIONS = 2
    tracker = DemandTracker("web-3")
    for ticker in ("000660", "035720", "051910"):
        await tracker.change(f"price:{ticker}", True)
    chosen, unserved = await demand.wanted_tickers()
    assert chosen == ["005930", "000660"] and unserved == 2
