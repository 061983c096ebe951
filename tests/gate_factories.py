"""Synthetic index and breadth histories for the pure Market Gate tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from marketgate.gate import BreadthHistory, IndexHistory

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
