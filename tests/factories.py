"""The tests' one factory module: rows built through the models (so post_save fires as in
production), and synthetic index and breadth histories for the pure Market Gate tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from marketgate.gate.formula import BreadthHistory, IndexHistory
from marketgate.models import Instrument, MarketGate
from signals.models import Signal


def gate(**fields: Any) -> MarketGate:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": "YELLOW",
        "level": 55,
        "kospi": 2650.12,
        "kospi_change_pct": 0.0,
        "kosdaq": 850.5,
        "kosdaq_change_pct": -0.4,
        "components": [{"name": "trend", "points": 15, "max": 30, "reason": "KOSPI above MA20"}],
        "sectors": [],
        "session": "open",
        "trading_date": timezone.localdate(now),
        "as_of": now,
        "computed_at": now,
    }
    values.update(fields)
    return MarketGate.objects.create(**values)


def listed(*tickers: str, market: str = "KOSPI") -> list[Instrument]:
    """Instruments for these tickers (their `price:` topics exist only once listed)."""
    return [
        Instrument.objects.get_or_create(ticker=t, defaults={"name": f"종목{t}", "market": market})[0] for t in tickers
    ]


def signal(ticker: str = "005930", signal_date: date | None = None, **fields: Any) -> Signal:
    values: dict[str, Any] = {
        "ticker": ticker,
        "name": "삼성전자",
        "market": "KOSPI",
        "score": 86,
        "grade": "S",
        "entry_price": 75100,
        "target_price": 90200,
        "stop_loss": 69100,
        "position_size": 1666,
        "reasons": ["Trend Template 8/8"],
        "signal_date": signal_date or date(2026, 2, 3),
        "created_at": datetime(2026, 2, 3, 15, 45, tzinfo=timezone.get_current_timezone()),
    }
    values.update(fields)
    listed(values["ticker"], market=values["market"])  # a signal is always of a listed instrument
    return Signal.objects.create(**values)


# --- synthetic index and breadth histories for the pure Market Gate tests ---

LAST_DAY = date(2025, 6, 16)  # a Monday


def weekdays(n: int, end: date = LAST_DAY) -> tuple[date, ...]:
    days: list[date] = []
    probe = end
    while len(days) < n:
        if probe.weekday() < 5:
            days.append(probe)
        probe -= timedelta(days=1)
    return tuple(reversed(days))


def index(closes: Sequence[float | None], volumes: Sequence[float | None] | None = None,
          name: str = "KOSPI", end: date = LAST_DAY) -> IndexHistory:
    if volumes is None:
        volumes = [1000.0] * len(closes)
    return IndexHistory(name, weekdays(len(closes), end), list(closes), list(volumes))


def steady(n: int = 300, start: float = 100.0, daily_pct: float = 0.2) -> list[float]:
    return [start * (1 + daily_pct / 100) ** i for i in range(n)]


def breadth(n: int = 30, *, advances: float | None = 500, declines: float | None = 500,
            new_highs: float | None = 20, new_lows: float | None = 20,
            pct_above_ma50: float | None = 45.0, end: date = LAST_DAY) -> BreadthHistory:
    return BreadthHistory(
        weekdays(n, end), advances=[advances] * n, declines=[declines] * n, new_highs=[new_highs] * n,
        new_lows=[new_lows] * n, pct_above_ma50=[pct_above_ma50] * n,
    )


def strong_breadth(n: int = 30, end: date = LAST_DAY) -> BreadthHistory:
    return breadth(n, advances=700, declines=300, new_highs=50, new_lows=0, pct_above_ma50=80.0, end=end)


def correction(flat: int = 200, pairs: int = 12) -> tuple[list[float], list[float]]:
    """A flat market, then pairs of (-0.5% on double volume, +0.1% on normal volume):
    below MA120 with a distribution day every other session, about 5% off the high."""
    closes, volumes = [100.0] * flat, [1000.0] * flat
    for _ in range(pairs):
        closes.append(closes[-1] * 0.995)
        volumes.append(2000.0)
        closes.append(closes[-1] * 1.001)
        volumes.append(1000.0)
    # End on the low so a rally attempt can start from it.
    closes.append(closes[-1] * 0.995)
    volumes.append(2000.0)
    return closes, volumes
