"""The demo market during a session. Pure: numpy, no Django, times are parameters.

A session's minute-by-minute paths (both indices, every ticker) are a function of
(seed, universe size, session date) only, so every process that asks for the same
simulated time gets the same price without sharing any state. Values between minute
points are interpolated and put back on the tick grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np

from marketgate.calendar import (
    KST,
    is_session,
    kst_date,
    previous_session,
    session_hours,
)
from marketgate.data.providers.base import LiveIndexQuote, LiveQuote
from marketgate.data.providers.demo.history import INDEX_VOLUME, build_history, to_tick
from marketgate.data.providers.demo.universe import SECTORS, rng_for
from marketgate.tick_size import tick_down


@dataclass(frozen=True)
class DemoSession:
    day: date
    opens: datetime
    closes: datetime
    minutes: int
    index_of: dict[str, int]
    prev_close: np.ndarray  # (tickers,), on the tick grid
    prices: np.ndarray  # (tickers, minutes + 1), raw (not yet on the grid)
    volumes: np.ndarray  # (tickers, minutes + 1), cumulative
    index_prev: dict[str, float]
    index_values: dict[str, np.ndarray]  # (minutes + 1,)
    index_volumes: dict[str, np.ndarray]
    index_traded: dict[str, np.ndarray]


def live_date(sim_now: datetime) -> date:
    """The session a simulated time belongs to: today's, or the last one on a closed day."""
    day = kst_date(sim_now)
    return day if is_session(day) else previous_session(day)


def _volume_curve(minutes: int) -> np.ndarray:
    """Cumulative share of the day's volume: busy open, quiet lunch, busy close."""
    u = np.linspace(0.0, 1.0, minutes + 1)
    intensity = 1.0 + 4.0 * (1.0 - u) ** 8 + 2.5 * u**12
    cumulative = np.concatenate([[0.0], np.cumsum(intensity[1:])])
    return cumulative / cumulative[-1]


def _index_path(rng: np.random.Generator, minutes: int) -> np.ndarray:
    """Log return against the previous close; wanders a percent or two in a session."""
    u = np.linspace(0.0, 1.0, minutes + 1)
    gap = rng.normal(0.0, 0.003)
    target = float(np.clip(rng.normal(0.0005, 0.011), -0.03, 0.03))
    swing = rng.uniform(0.008, 0.015) * np.sin(2 * np.pi * rng.uniform(0.75, 1.75) * u + rng.uniform(0, 2 * np.pi))
    walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.0004, minutes))])
    walk -= walk[-1] * u
    return gap + (target - gap) * u + swing * np.sin(np.pi * u) + walk


@lru_cache(maxsize=4)
def build_session(seed: int, n_tickers: int, day: date) -> DemoSession:
    hours = session_hours(day)
    if hours is None:
        raise ValueError(f"{day} is not a KRX session")
    opens, closes = hours
    minutes = int((closes - opens).total_seconds() // 60)
    history = build_history(seed, n_tickers, previous_session(day))
    last = history.bars[history.bars["date"] == history.sessions[-1]].set_index("ticker")
    curve = _volume_curve(minutes)

    rng = rng_for(seed, "intraday-index", day.isoformat())
    kospi = _index_path(rng, minutes)
    kosdaq = 1.15 * kospi + np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 0.0003, minutes))])
    paths = {"KOSPI": kospi, "KOSDAQ": kosdaq}
    sector_paths = {
        s: np.concatenate([[0.0], np.cumsum(rng_for(seed, "intraday-sector", day.isoformat(), s).normal(0.0, 0.00035, minutes))])
        for s in SECTORS
    }
    sector_paths[""] = np.zeros(minutes + 1)

    index_prev, index_values, index_volumes, index_traded = {}, {}, {}, {}
    for name, path in paths.items():
        frame = history.indices[name]
        prev = float(frame["close"].iloc[-1])
        shares, value = INDEX_VOLUME[name]
        day_factor = float(np.exp(rng.normal(0.0, 0.15))) * (1.0 + 10.0 * max(-float(path[-1]), 0.0))
        index_prev[name] = prev
        index_values[name] = prev * np.exp(path)
        index_volumes[name] = shares * day_factor * curve
        index_traded[name] = value * day_factor * curve

    tickers = [inst.ticker for inst in history.instruments]
    prev_close = last.loc[tickers, "close"].to_numpy(dtype=float)
    prices = np.empty((len(tickers), minutes + 1))
    volumes = np.empty((len(tickers), minutes + 1))
    for row, inst in enumerate(history.instruments):
        r = rng_for(seed, "intraday", day.isoformat(), inst.ticker)
        idio = np.concatenate([[r.normal(0.0, inst.vol * 0.3)], r.normal(0.0, inst.vol / np.sqrt(minutes), minutes)])
        weight = 0.0 if inst.kind in {"spac", "reit"} else 0.8
        log_path = inst.beta * paths[inst.market] + weight * sector_paths[inst.sector] + np.cumsum(idio)
        if inst.kind in {"spac", "reit"}:
            log_path *= 0.2
        # Never outside the +-30% daily price limit.
        prices[row] = prev_close[row] * np.exp(np.clip(log_path, np.log(0.705), np.log(1.295)))
        typical = inst.turnover / prev_close[row]
        volumes[row] = typical * np.exp(r.normal(0.0, 0.2)) * (1.0 + 5.0 * abs(float(log_path[-1]))) * curve
    return DemoSession(
        day, opens, closes, minutes, {t: i for i, t in enumerate(tickers)}, to_tick(prev_close), prices, volumes,
        index_prev, index_values, index_volumes, index_traded,
    )


def session_position(session: DemoSession, sim_now: datetime) -> tuple[float, datetime]:
    """(fractional minute into the session, clamped; the as_of time to report)."""
    if sim_now <= session.opens:
        return 0.0, sim_now.astimezone(KST)
    if sim_now >= session.closes:
        return float(session.minutes), session.closes
    return (sim_now - session.opens).total_seconds() / 60.0, sim_now.astimezone(KST)


def _at(series: np.ndarray, minute: float) -> np.ndarray | float:
    grid = np.arange(series.shape[-1])
    if series.ndim == 1:
        return float(np.interp(minute, grid, series))
    lo = int(min(np.floor(minute), series.shape[-1] - 1))
    hi = min(lo + 1, series.shape[-1] - 1)
    frac = minute - lo
    return series[:, lo] * (1.0 - frac) + series[:, hi] * frac


def index_quote(session: DemoSession, name: str, sim_now: datetime) -> LiveIndexQuote:
    minute, as_of = session_position(session, sim_now)
    prev = session.index_prev[name]
    value = round(_at(session.index_values[name], minute), 2) if minute > 0 else prev
    change = round(value - prev, 2)
    return LiveIndexQuote(
        index=name,
        value=value,
        change=change,
        change_rate=round(change / prev * 100.0, 2),
        volume=round(_at(session.index_volumes[name], minute)),
        traded_value=round(_at(session.index_traded[name], minute), -6),
        as_of=as_of,
        prev_close=prev,
    )


def stock_quotes(session: DemoSession, tickers: list[str], sim_now: datetime) -> dict[str, LiveQuote]:
    minute, as_of = session_position(session, sim_now)
    wanted = [t for t in tickers if t in session.index_of]
    rows = [session.index_of[t] for t in wanted]
    if not rows:
        return {}
    prev = session.prev_close[rows]
    if minute > 0:
        price = to_tick(_at(session.prices[rows], minute))
        volume = np.round(_at(session.volumes[rows], minute))
    else:
        price, volume = prev, np.zeros(len(rows))
    out: dict[str, LiveQuote] = {}
    for i, ticker in enumerate(wanted):
        p, pc = int(price[i]), int(prev[i])
        out[ticker] = LiveQuote(
            ticker=ticker,
            price=p,
            change=p - pc,
            change_rate=round((p - pc) / pc * 100.0, 2),
            volume=int(volume[i]),
            bid=tick_down(p) if p > 1 else None,
            ask=p,
            as_of=as_of,
        )
    return out


def closing_bars(session: DemoSession) -> dict[str, tuple[float, float, float, float, int]]:
    """(open, high, low, close, volume) per ticker for the whole session, on the grid."""
    prices = to_tick(session.prices)
    return {
        ticker: (prices[i, 0], prices[i].max(), prices[i].min(), prices[i, -1], int(session.volumes[i, -1]))
        for ticker, i in session.index_of.items()
    }
