"""The five Market Gate components of one index. Pure: no Django.

Each scorer takes the prepared `Series` of one index (closes up to the gate date, the
live value as today's provisional close) and returns a `Component` whose points are
None when its inputs are missing: unknown is reported, never guessed.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

import numpy as np

from marketgate.gate.inputs import BreadthHistory, IndexHistory, LiveIndex, known
from marketgate.gate.params import GateParams
from marketgate.gate.reason_text import render


class ComponentDict(TypedDict):
    name: str
    points: float | int | None
    max: float | int
    reason: str
    reason_ko: str
    reason_code: str
    reason_params: dict[str, Any]
    known: bool
    market: str


@dataclass(frozen=True)
class Component:
    """One component's points and why, the why kept as a code and its parameters (the
    stored, language-neutral form; marketgate.gate.reason_text renders it)."""

    name: str
    market: str
    points: float | None
    max: float
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.points is not None

    @property
    def reason(self) -> str:
        return render(self.code, self.params, "en")

    @property
    def reason_ko(self) -> str:
        return render(self.code, self.params, "ko")

    def to_dict(self) -> ComponentDict:
        return {
            "name": self.name,
            "points": _tidy(self.points),
            "max": _tidy(self.max),
            "reason": self.reason,
            "reason_ko": self.reason_ko,
            "reason_code": self.code,
            "reason_params": self.params,
            "known": self.known,
            "market": self.market,
        }


def _tidy(value: float | None) -> float | int | None:
    """Whole numbers as int, others to one decimal (what the dashboard shows)."""
    if value is None:
        return None
    value = round(float(value), 1)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True, eq=False)
class Series:
    """One index's closes up to the gate date; NaN volume = unknown.

    Today's volume is compared with yesterday's x volume_scale[-1], which is the elapsed
    fraction of the session while it runs (cumulative volume so far against a pro-rated
    full day) and 1.0 for finished days.
    """

    market: str
    dates: tuple[date, ...]
    close: np.ndarray
    volume: np.ndarray
    volume_scale: np.ndarray
    provisional: bool

    def __len__(self) -> int:
        return len(self.close)

    def change_pct(self) -> np.ndarray:
        out = np.full(len(self.close), np.nan)
        out[1:] = (self.close[1:] / self.close[:-1] - 1.0) * 100.0
        return out

    def higher_volume(self) -> np.ndarray:
        """1.0 / 0.0 where day i traded more than day i-1 (pro-rated intraday), NaN unknown."""
        out = np.full(len(self.close), np.nan)
        prev = self.volume[:-1] * self.volume_scale[1:]
        cur = self.volume[1:]
        ok = np.isfinite(prev) & np.isfinite(cur) & (self.volume_scale[1:] > 0)
        out[1:][ok] = (cur[ok] > prev[ok]).astype(float)
        return out


def needed_sessions(params: GateParams) -> int:
    return int(max(params.drawdown_window, params.ma_long, params.dd_window + 1,
                   params.rally_low_lookback + 1)) + 1


def prepare_series(index: IndexHistory, as_of_date: date, live: LiveIndex | None,
                   params: GateParams) -> Series | None:
    """The tail of `index` the gate needs, cleaned, with the live value as today's close."""
    end = bisect_right(index.dates, as_of_date)
    keep = needed_sessions(params)
    start = max(0, end - keep - 20)  # some slack for rows dropped below
    dates = list(index.dates[start:end])
    close = np.asarray(index.close[start:end], dtype=float)
    volume = np.asarray(index.volume[start:end], dtype=float).copy()
    # A close that is missing or not positive is not a price: drop the day.
    good = np.isfinite(close) & (close > 0)
    dates = [d for d, g in zip(dates, good) if g]
    close, volume = close[good], volume[good]
    volume[~(np.isfinite(volume) & (volume > 0))] = np.nan
    scale = np.ones(len(close))
    provisional = False
    if live is not None and known(live.value) and live.value > 0:
        live_volume = float(live.cumulative_volume) if known(live.cumulative_volume) else np.nan
        if live_volume < 0:
            live_volume = np.nan
        if dates and dates[-1] == as_of_date:
            close[-1], volume[-1] = live.value, live_volume
        else:
            dates.append(as_of_date)
            close = np.append(close, live.value)
            volume = np.append(volume, live_volume)
            scale = np.append(scale, 1.0)
        scale[-1] = live.elapsed_fraction
        provisional = live.elapsed_fraction < 1.0
    if not len(close):
        return None
    return Series(index.name, tuple(dates[-keep:]), close[-keep:], volume[-keep:], scale[-keep:], provisional)


def _unknown(name: str, market: str, maximum: float, **params: Any) -> Component:
    return Component(name, market, None, maximum, f"{name}_unknown", {"market": market, **params})


def score_trend(s: Series, p: GateParams) -> Component:
    m = s.market
    if len(s) < p.ma_long:
        return _unknown("trend", m, p.trend_max, have=len(s), need=p.ma_long)
    close = s.close[-1]
    mas = [(w, float(s.close[-w:].mean())) for w in (p.ma_short, p.ma_mid, p.ma_long)]
    weights = (p.trend_points_above_short, p.trend_points_above_mid, p.trend_points_above_long)
    points = sum(pts for (_, ma), pts in zip(mas, weights) if close > ma)
    stacked = mas[0][1] > mas[1][1] > mas[2][1]
    points += p.trend_points_stacked if stacked else 0
    above = [int(w) for w, ma in mas if close > ma]
    below = [int(w) for w, ma in mas if close <= ma]
    return Component("trend", m, points, p.trend_max, "trend", {
        "market": m, "above": above, "below": below, "stacked": bool(stacked),
        "order": [int(p.ma_short), int(p.ma_mid), int(p.ma_long)],
    })


@dataclass(frozen=True)
class DistributionCount:
    count: int | None  # None = unknown
    unknown_days: int
    today: bool  # today (possibly provisional) is a distribution day
    why_unknown: str = ""  # "sessions" (too few; `have` of `need`), "no_volume", "unknown_days"
    have: int = 0
    need: int = 0


def count_distribution_days(s: Series, p: GateParams) -> DistributionCount:
    n = len(s)
    if n < p.dd_window + 1:
        return DistributionCount(None, 0, False, "sessions", have=n, need=p.dd_window + 1)
    first = n - p.dd_window
    if not np.isfinite(s.volume[first - 1:]).any():
        return DistributionCount(None, 0, False, "no_volume")
    change, higher = s.change_pct(), s.higher_volume()
    count, unknown, today = 0, 0, False
    for i in range(first, n):
        if not change[i] <= -p.dd_decline_pct:
            continue
        if math.isnan(higher[i]):
            unknown += 1
            continue
        if not higher[i]:
            continue
        later = s.close[i + 1:]
        if later.size and later.max() >= s.close[i] * (1 + p.dd_expiry_rally_pct / 100):
            continue  # the index has since rallied away from it: expired
        count += 1
        today = today or i == n - 1
    if unknown > p.dd_max_unknown_days:
        return DistributionCount(None, unknown, False, "unknown_days")
    return DistributionCount(count, unknown, today)


def score_distribution(s: Series, dd: DistributionCount, p: GateParams) -> Component:
    m = s.market
    if dd.count is None:
        return _unknown("distribution", m, p.distribution_max, why=dd.why_unknown, have=dd.have, need=dd.need,
                        unknown_days=dd.unknown_days)
    table = p.distribution_points
    points = table[min(dd.count, len(table) - 1)]
    return Component("distribution", m, points, p.distribution_max, "distribution", {
        "market": m, "count": dd.count, "window": int(p.dd_window),
        "today_provisional": bool(dd.today and s.provisional), "unknown_days": dd.unknown_days,
    })


def _linear(x: float, low: float, high: float, points: float) -> float:
    return min(max((x - low) / (high - low), 0.0), 1.0) * points


def _fresh_cutoff(s: Series, p: GateParams) -> date:
    return s.dates[max(0, len(s) - 1 - p.breadth_max_lag_sessions)]


def score_breadth(s: Series, b: BreadthHistory | None, as_of_date: date, p: GateParams) -> Component:
    m = s.market
    if b is None:
        return _unknown("breadth", m, p.breadth_max, no_data=True)
    end = bisect_right(b.dates, as_of_date)
    cutoff = _fresh_cutoff(s, p)
    dates = np.array(b.dates[:end], dtype=object)
    points, maximum = 0.0, 0.0
    ma50: dict[str, Any] | None = None
    ad: dict[str, Any] | None = None

    pct = np.asarray(b.pct_above_ma50[:end])
    pct_ok = np.flatnonzero(np.isfinite(pct))
    if pct_ok.size and dates[pct_ok[-1]] >= cutoff:
        value = float(pct[pct_ok[-1]])
        got = _linear(value, p.breadth_ma50_low_pct, p.breadth_ma50_high_pct, p.breadth_ma50_points)
        points, maximum = points + got, maximum + p.breadth_ma50_points
        ma50 = {"pct": value, "got": _tidy(got), "max": _tidy(p.breadth_ma50_points)}

    adv, dec = np.asarray(b.advances[:end]), np.asarray(b.declines[:end])
    total = adv + dec
    ad_ok = np.flatnonzero(np.isfinite(total) & (total > 0))
    if ad_ok.size >= p.ad_ema_span and dates[ad_ok[-1]] >= cutoff:
        # The seed's weight after 100 steps is negligible, so older rows are skipped.
        ratios = (adv[ad_ok] / total[ad_ok])[-100:]
        alpha = 2.0 / (p.ad_ema_span + 1)
        ema = float(ratios[0])
        for r in ratios[1:]:
            ema = alpha * float(r) + (1 - alpha) * ema
        got = _linear(ema, p.ad_ratio_low, p.ad_ratio_high, p.ad_points)
        points, maximum = points + got, maximum + p.ad_points
        ad = {"span": int(p.ad_ema_span), "ema": ema, "got": _tidy(got), "max": _tidy(p.ad_points)}

    if not maximum:
        return _unknown("breadth", m, p.breadth_max, ma50=ma50, ad=ad)
    # Only the known part counts towards the maximum (the level is rescaled on it).
    return Component("breadth", m, points, maximum, "breadth", {"market": m, "ma50": ma50, "ad": ad})


def score_new_highs_lows(s: Series, b: BreadthHistory | None, as_of_date: date, p: GateParams) -> Component:
    m = s.market
    name = "new_highs_lows"
    if b is None:
        return _unknown(name, m, p.nhnl_max, why="no_data")
    end = bisect_right(b.dates, as_of_date)
    nh, nl = np.asarray(b.new_highs[:end]), np.asarray(b.new_lows[:end])
    ok = np.flatnonzero(np.isfinite(nh) & np.isfinite(nl))[-p.nhnl_window:]
    if ok.size < p.nhnl_window or b.dates[ok[-1]] < _fresh_cutoff(s, p):
        return _unknown(name, m, p.nhnl_max, why="short", window=int(p.nhnl_window))
    highs, lows = float(nh[ok].sum()), float(nl[ok].sum())
    net = highs - lows
    share = highs / (highs + lows) if highs + lows > 0 else 0.5  # none either way: neutral
    points = (p.nhnl_positive_points if net > 0 else 0) + p.nhnl_ratio_points * share
    return Component(name, m, points, p.nhnl_max, name, {
        "market": m, "window": int(p.nhnl_window), "net": net, "highs": highs, "lows": lows,
    })


def score_drawdown(s: Series, p: GateParams) -> Component:
    m = s.market
    if len(s) < p.drawdown_min_sessions:
        return _unknown("drawdown", m, p.drawdown_max, have=len(s), need=int(p.drawdown_min_sessions))
    window = s.close[-p.drawdown_window:]
    high = float(window.max())
    drawdown = (float(s.close[-1]) / high - 1.0) * 100.0
    points = p.drawdown_band_points[-1]
    for band, band_points in zip(p.drawdown_band_pcts, p.drawdown_band_points):
        if drawdown > -band:
            points = band_points
            break
    return Component("drawdown", m, points, p.drawdown_max, "drawdown", {
        "market": m, "pct": drawdown, "sessions": len(window), "high": high,
    })
