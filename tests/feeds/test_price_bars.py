"""1-minute bars from ticks: the builder, and the rows the intraday-bar task stores."""

from __future__ import annotations

import asyncio
import random
from datetime import date, datetime, timedelta

import pytest

from marketgate.calendar import KST
from marketgate.feeds.bars import BarBuilder, bars_from_ticks
from marketgate.feeds.supervisor import push_bars
from marketgate.models import IntradayBar
from marketgate.tasks import store_intraday_bars

OPEN = datetime(2026, 6, 12, 9, 0, tzinfo=KST)


def random_ticks(n: int = 400, seed: int = 3) -> list[tuple[str, int, int, datetime]]:
    rng = random.Random(seed)
    prices = {"005930": 72000, "000660": 189000}
    moment = OPEN
    out = []
    for _ in range(n):
        moment += timedelta(seconds=rng.uniform(0.1, 4.0))
        ticker = rng.choice(list(prices))
        prices[ticker] += rng.choice((-100, 0, 100))
        out.append((ticker, prices[ticker], rng.randint(1, 500), moment))
    return out


def expected_bars(ticks: list[tuple[str, int, int, datetime]]) -> dict[tuple[str, datetime], tuple[int, int, int, int, int, int]]:
    groups: dict[tuple[str, datetime], list[tuple[int, int]]] = {}
    for ticker, price, volume, at in ticks:
        groups.setdefault((ticker, at.replace(second=0, microsecond=0)), []).append((price, volume))
    return {
        key: (p[0][0], max(x for x, _ in p), min(x for x, _ in p), p[-1][0], sum(v for _, v in p), len(p))
        for key, p in groups.items()
    }


def test_bars_from_ticks_are_the_ohlcv_of_each_minute():
    ticks = random_ticks()
    bars = {(b.ticker, b.minute): (b.open, b.high, b.low, b.close, b.volume, b.ticks) for b in bars_from_ticks(ticks)}
    assert bars == expected_bars(ticks)


def test_a_bar_is_handed_over_once_its_minute_is_over():
    builder = BarBuilder()
    assert builder.add("005930", 72000, 5, OPEN + timedelta(seconds=10)) == []
    assert builder.due(OPEN + timedelta(seconds=59)) == []
    (bar,) = builder.due(OPEN + timedelta(seconds=60))
    assert (bar.minute, bar.session_date, bar.volume) == (OPEN, date(2026, 6, 12), 5)


@pytest.mark.django_db
def test_stored_minute_bars_match_the_ticks_that_produced_them(clean_redis):
    ticks = random_ticks()
    asyncio.run(push_bars(bars_from_ticks(ticks)))
    result = store_intraday_bars()
    rows = list(IntradayBar.objects.all())
    stored = {(r.ticker, r.minute): (r.open, r.high, r.low, r.close, r.volume, r.ticks) for r in rows}
    assert stored == expected_bars(ticks)
    assert result["bars"] == len(stored)
    assert {r.session_date for r in rows} == {date(2026, 6, 12)}


@pytest.mark.django_db
def test_a_bar_delivered_twice_is_stored_once(clean_redis):
    bars = bars_from_ticks(random_ticks(50))
    asyncio.run(push_bars(bars))
    asyncio.run(push_bars(bars))
    store_intraday_bars()
    assert IntradayBar.objects.count() == len(bars)
