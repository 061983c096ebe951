"""The base, its swings and its contractions — one ticker at a time.

This is the sequential part of the scan (a zigzag is a walk), so it runs only for the
tickers that passed the Trend Template, on plain Python floats taken from the numpy
columns (indexing numpy scalars in a loop is several times slower).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from signals.scanner.params import ScanParams


@dataclass(frozen=True)
class Contraction:
    high_index: int  # row in the ticker's arrays
    low_index: int
    high: float
    low: float
    avg_volume: float

    @property
    def depth(self) -> float:
        return (self.high - self.low) / self.high


@dataclass(frozen=True)
class Base:
    start_index: int  # the base's highest high
    length: int  # sessions after that high, up to and including today
    contractions: tuple[Contraction, ...]
    threshold: float  # the zigzag reversal threshold used


@dataclass(frozen=True)
class BaseVerdict:
    base: Base | None
    problem: str | None  # first rule the base breaks, None when it is a valid VCP base


def zigzag_threshold(atr: float, close: float, params: ScanParams) -> float:
    return max(params.zigzag_min_pct, params.zigzag_atr_multiple * atr / close)


def swing_contractions(high: list[float], low: list[float], start: int, threshold: float) -> list[tuple[int, int]]:
    """(swing high index, following swing low index) pairs, walking from `start` (a high).

    A classic zigzag on highs and lows: a leg's extreme is confirmed as a swing once
    price moves `threshold` against it, and a more extreme bar moves it until then. The
    last leg down counts even before a bounce confirms its low: it is the contraction in
    progress. A leg up still in progress is not a contraction.
    """
    pairs: list[tuple[int, int]] = []
    going_down = True
    hi_i = lo_i = start
    hi, lo = high[start], low[start]
    for i in range(start + 1, len(high)):
        if going_down:
            if low[i] < lo:
                lo_i, lo = i, low[i]
            elif lo_i != hi_i and high[i] >= lo * (1.0 + threshold):
                pairs.append((hi_i, lo_i))
                going_down = False
                hi_i, hi = i, high[i]
        elif high[i] > hi:
            hi_i, hi = i, high[i]
        elif low[i] <= hi * (1.0 - threshold):
            going_down = True
            lo_i, lo = i, low[i]
    if going_down and lo_i != hi_i:
        pairs.append((hi_i, lo_i))
    return pairs


def find_base(
    high: np.ndarray, low: np.ndarray, volume: np.ndarray, atr: float, close: float, params: ScanParams
) -> Base:
    n = len(high)
    window = min(params.base_lookback, n)
    start = n - window + int(np.argmax(high[n - window :]))
    threshold = zigzag_threshold(atr, close, params)
    h, lo = high.tolist(), low.tolist()
    cumulative = np.concatenate([[0.0], np.cumsum(volume)])
    contractions = tuple(
        Contraction(
            high_index=a,
            low_index=b,
            high=h[a],
            low=lo[b],
            avg_volume=float(cumulative[b + 1] - cumulative[a]) / (b - a + 1),
        )
        for a, b in swing_contractions(h, lo, start, threshold)
    )
    return Base(start_index=start, length=n - 1 - start, contractions=contractions, threshold=threshold)


def judge_base(base: Base, market: str, params: ScanParams) -> str | None:
    """The first VCP rule the base breaks, or None."""
    if not params.base_min_sessions <= base.length <= params.base_max_sessions:
        return f"Base {base.length} sessions (need {params.base_min_sessions}-{params.base_max_sessions})"
    ts = base.contractions
    depths = [t.depth for t in ts]
    if not params.min_contractions <= len(ts) <= params.max_contractions:
        return f"{len(ts)} contractions (need {params.min_contractions}-{params.max_contractions})"
    t1_max = params.t1_max_depth_kosdaq if market == "KOSDAQ" else params.t1_max_depth
    if not params.t1_min_depth <= depths[0] <= t1_max:
        return f"T1 {depths[0]:.1%} outside {params.t1_min_depth:.0%}-{t1_max:.0%}"
    breaks = tightening_breaks(depths, params.contraction_ratio)
    allowed = 1 if len(ts) >= params.ratio_exception_min_count else 0
    if len(breaks) > allowed:
        i = breaks[allowed]
        return f"Contractions not tightening: {depths[i - 1]:.1%}->{depths[i]:.1%}"
    if depths[-1] > params.last_t_max_depth:
        return f"Last contraction {depths[-1]:.1%} > {params.last_t_max_depth:.0%}"
    return None


def tightening_breaks(depths: list[float], ratio: float) -> list[int]:
    """Indexes of contractions deeper than `ratio` x the one before."""
    return [i for i in range(1, len(depths)) if depths[i] > ratio * depths[i - 1]]


def volume_falling(base: Base) -> bool:
    """Average volume of each contraction below the one before."""
    vols = [t.avg_volume for t in base.contractions]
    return all(b < a for a, b in itertools.pairwise(vols))
