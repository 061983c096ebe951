"""Deterministic daily history of the demo market. Pure: numpy/pandas, no Django.

Every number is a function of (seed, universe size, last session): the same arguments
give identical frames in every process. Stocks move with their market index, their
sector and their own noise; a few are built as textbook VCP setups (an advance, then
three contractions of decreasing depth on drying volume, closing just under the
pivot on the last session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import pairwise

import numpy as np
import pandas as pd

from marketgate.calendar import previous_session
from marketgate.data.providers.demo.universe import (
    SECTORS,
    DemoInstrument,
    make_universe,
    rng_for,
)
from marketgate.tick_size import tick_sizes

HISTORY_SESSIONS = 320
# Level of each index on the last session (seeded within the range) and its volume scale.
INDEX_LEVEL = {"KOSPI": (2_650.0, 2_900.0), "KOSDAQ": (820.0, 880.0)}
INDEX_VOLUME = {"KOSPI": (450e6, 10e12), "KOSDAQ": (1.0e9, 8e12)}  # shares, KRW per session


@dataclass(frozen=True)
class DemoHistory:
    sessions: tuple[date, ...]
    instruments: tuple[DemoInstrument, ...]
    bars: pd.DataFrame  # BAR_COLUMNS + halted
    indices: dict[str, pd.DataFrame]  # INDEX_COLUMNS
    index_returns: dict[str, np.ndarray]  # daily log returns, aligned with sessions
    sector_returns: dict[str, np.ndarray]


def session_dates(end: date, count: int) -> tuple[date, ...]:
    days = [end]
    while len(days) < count:
        days.append(previous_session(days[-1]))
    return tuple(reversed(days))


def to_tick(prices: np.ndarray) -> np.ndarray:
    """Nearest price on the KRX tick grid (band edges are multiples of the next tick)."""
    ticks = tick_sizes(prices)
    return np.maximum(np.round(prices / ticks) * ticks, 1.0)


def _bridge(rng: np.random.Generator, length: int, sigma: float) -> np.ndarray:
    """A Brownian bridge from 0 to 0 over `length` steps (noise between anchors)."""
    walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, sigma, length))])
    return walk - np.linspace(0.0, walk[-1], length + 1)


def _anchored_path(rng: np.random.Generator, anchors: list[tuple[int, float]], sigmas: list[float]) -> np.ndarray:
    """Log prices through (index, log price) anchors with bridge noise on each leg."""
    out = np.empty(anchors[-1][0] + 1)
    for (i0, y0), (i1, y1), sigma in zip(anchors, anchors[1:], sigmas, strict=False):
        leg = np.linspace(y0, y1, i1 - i0 + 1) + _bridge(rng, i1 - i0, sigma)
        out[i0 : i1 + 1] = leg
    return out


def _index_paths(seed: int, n: int) -> dict[str, np.ndarray]:
    """Daily log returns of both indices: an advance, a correction mid-window, a recovery.

    Anchored rather than a free walk so the indices end near (not at) their highs, in
    range of the scales in INDEX_LEVEL, whatever the seed.
    """
    rng = rng_for(seed, "index-daily")
    peak, trough = int(n * 0.45), int(n * 0.55)
    anchors = [
        (0, 0.0),
        (peak, rng.uniform(0.08, 0.14)),
        (trough, rng.uniform(-0.02, 0.03)),
        (n - 1, rng.uniform(0.10, 0.17)),
    ]
    kospi = _anchored_path(rng, anchors, [0.006, 0.007, 0.006])
    kosdaq = 0.7 * kospi + _bridge(rng, n - 1, 0.004)
    return {name: np.diff(path, prepend=path[0]) for name, path in (("KOSPI", kospi), ("KOSDAQ", kosdaq))}


def _vcp_path(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log close, intraday range, volume factor) for a textbook VCP ending at n-1."""
    base = int(rng.integers(45, 76))
    t0 = n - 1 - base
    d1, d2, d3 = rng.uniform(0.18, 0.24), rng.uniform(0.09, 0.12), rng.uniform(0.04, 0.055)
    h1 = 0.0
    l1 = h1 + np.log(1 - d1)
    h2 = h1 + np.log(rng.uniform(0.97, 0.99))
    l2 = h2 + np.log(1 - d2)
    h3 = h2 + np.log(rng.uniform(0.99, 1.0))
    l3 = h3 + np.log(1 - d3)
    last = h3 + np.log(1 - rng.uniform(0.006, 0.02))
    legs = np.array([0.22, 0.2, 0.15, 0.15, 0.1, 0.18]) * base
    marks = t0 + np.round(np.cumsum(legs)).astype(int)
    marks[-1] = n - 1
    start_rise = int(rng.integers(40, 90))
    low0 = h1 - np.log(rng.uniform(1.7, 2.2))
    anchors = [(0, low0 + np.log(rng.uniform(0.95, 1.1))), (start_rise, low0), (t0, h1)]
    anchors += list(zip(marks.tolist(), [l1, h2, l2, h3, l3, last], strict=True))
    sigmas = [0.012, 0.012, 0.008, 0.007, 0.005, 0.005, 0.003, 0.003]
    logc = _anchored_path(rng, anchors, sigmas)
    # Noise must not redraw the pattern: nothing above the first peak before it, and
    # every leg of the base stays between its own swing high and low.
    logc[:t0] = np.minimum(logc[:t0], h1 - 0.01)
    for (i0, y0), (i1, y1) in pairwise(anchors[2:]):
        logc[i0 : i1 + 1] = np.clip(logc[i0 : i1 + 1], min(y0, y1), max(y0, y1))
    ranges = np.full(n, 0.025)
    volume = np.full(n, 1.2)
    ranges[t0 : marks[1]], volume[t0 : marks[1]] = 0.024, 1.0
    ranges[marks[1] : marks[3]], volume[marks[1] : marks[3]] = 0.015, 0.7
    ranges[marks[3] :], volume[marks[3] :] = 0.009, 0.45
    volume[n - 10 :] = 0.33
    return logc, ranges, volume


def _stock_paths(inst: DemoInstrument, seed: int, market: np.ndarray, sector: np.ndarray) -> tuple[np.ndarray, ...]:
    n = len(market)
    rng = rng_for(seed, "stock", inst.ticker)
    if inst.style == "vcp":
        logc, ranges, volume = _vcp_path(rng, n)
    else:
        drift = {"leader": 0.9, "laggard": -0.45, "random": 0.05, "illiquid": -0.1}.get(inst.style, 0.0) / 252
        idio = rng.normal(drift, inst.vol, n)
        sector_weight = 0.0 if inst.kind in {"spac", "reit"} else (1.0 if inst.kind == "etf" else 0.7)
        returns = np.clip(inst.beta * market + sector_weight * sector + idio, -0.25, 0.25)
        returns[0] = 0.0
        logc = np.cumsum(returns)
        ranges = np.full(n, max(inst.vol, 0.004) * 1.6)
        volume = 1.0 + 6.0 * np.abs(returns)
    volume = volume * np.exp(rng.normal(0.0, 0.25, n))
    gaps = rng.normal(0.0, 0.3, n) * ranges
    up = np.abs(rng.normal(0.0, 0.5, n)) * ranges
    down = np.abs(rng.normal(0.0, 0.5, n)) * ranges
    return logc, gaps, up, down, volume


def _ohlc(logc: np.ndarray, last_price: float, gaps: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    close = to_tick(last_price * np.exp(logc - logc[-1]))
    prev = np.concatenate([[close[0]], close[:-1]])
    # Keep every bar inside the +-30% daily limit of the previous close.
    opened = to_tick(np.clip(prev * np.exp(gaps), prev * 0.71, prev * 1.29))
    high = to_tick(np.minimum(np.maximum(opened, close) * np.exp(up), prev * 1.3))
    low = to_tick(np.maximum(np.minimum(opened, close) * np.exp(-down), prev * 0.7))
    high = np.maximum(high, np.maximum(opened, close))
    low = np.minimum(low, np.minimum(opened, close))
    return np.vstack([opened, high, low, close])


def _index_frame(name: str, seed: int, sessions: tuple[date, ...], returns: np.ndarray) -> pd.DataFrame:
    rng = rng_for(seed, "index-bars", name)
    lo, hi = INDEX_LEVEL[name]
    logc = np.cumsum(returns)
    close = rng.uniform(lo, hi) * np.exp(logc - logc[-1])
    prev = np.concatenate([[close[0]], close[:-1]])
    opened = prev * np.exp(rng.normal(0.0, 0.003, len(close)))
    high = np.maximum(opened, close) * np.exp(np.abs(rng.normal(0.0, 0.004, len(close))))
    low = np.minimum(opened, close) * np.exp(-np.abs(rng.normal(0.0, 0.004, len(close))))
    shares, value = INDEX_VOLUME[name]
    # Heavier volume on down days, so distribution days happen as they do in real markets.
    weight = np.exp(rng.normal(0.0, 0.18, len(close))) * (1.0 + 12.0 * np.maximum(-returns, 0.0))
    return pd.DataFrame(
        {
            "date": list(sessions),
            "open": opened.round(2),
            "high": high.round(2),
            "low": low.round(2),
            "close": close.round(2),
            "volume": (shares * weight).round(),
            "traded_value": (value * weight).round(-6),
        }
    )


@lru_cache(maxsize=8)
def build_history(seed: int, n_tickers: int, end: date, n_sessions: int = HISTORY_SESSIONS) -> DemoHistory:
    """`n_sessions` KRX sessions of the demo market ending at the session `end`."""
    sessions = session_dates(end, n_sessions)
    instruments = make_universe(seed, n_tickers)
    index_returns = _index_paths(seed, n_sessions)
    sector_returns = {s: rng_for(seed, "sector", s).normal(0.0, 0.007, n_sessions) for s in SECTORS}
    sector_returns[""] = np.zeros(n_sessions)
    halted_ticker = next((i.ticker for i in instruments if i.style == "illiquid"), None)

    frames = []
    for inst in instruments:
        logc, gaps, up, down, vfactor = _stock_paths(
            inst, seed, index_returns[inst.market], sector_returns[inst.sector]
        )
        opened, high, low, close = _ohlc(logc, inst.price, gaps, up, down)
        volume = np.maximum(np.round(inst.turnover * vfactor / close), 1)
        traded = np.round(volume * (high + low + 2 * close) / 4)
        halted = np.zeros(n_sessions, dtype=bool)
        if inst.ticker == halted_ticker:
            # Two halted sessions exercise the "halted bars are not prices" rule downstream.
            k = n_sessions // 3
            halted[k : k + 2] = True
            opened, high, low = (np.where(halted, 0.0, a) for a in (opened, high, low))
            close = np.where(halted, close[k - 1], close)
            volume, traded = np.where(halted, 0, volume), np.where(halted, 0, traded)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": inst.ticker,
                    "date": sessions,
                    "open": opened,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume.astype("int64"),
                    "traded_value": traded.astype("int64"),
                    "halted": halted,
                }
            )
        )
    bars = pd.concat(frames, ignore_index=True)
    indices = {name: _index_frame(name, seed, sessions, r) for name, r in index_returns.items()}
    return DemoHistory(sessions, instruments, bars, indices, index_returns, sector_returns)
