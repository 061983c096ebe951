"""The five Market Gate components of one index. Pure: no Django.

Each scorer takes the prepared `Series` of one index (closes up to the gate date, the
live value as today's provisional close) and returns a `Component` whose points are
None when its inputs are missing: unknown is reported, never guessed.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from typing import TypedDict

import numpy as np

from marketgate.gate.inputs import BreadthHistory, IndexHistory, LiveIndex, known
from marketgate.gate.params import GateParams


class ComponentDict(TypedDict):
    name: str
    points: float | int | None
    max: float | int
    reason: str
    reason_ko: str
    known: bool
    market: str


@dataclass(frozen=True)
class Component:
    name: str
    market: str
    points: float | None
    max: float
    reason: str
    reason_ko: str

    @property
    def known(self) -> bool:
        return self.points is not None

    def to_dict(self) -> ComponentDict:
        return {
            "name": self.name,
            "points": _tidy(self.points),
            "max": _tidy(self.max),
            "reason": self.reason,
            "reason_ko": self.reason_ko,
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


def _fmt(value: float) -> str:
    return f"{value:,.2f}"


def _unknown(name: str, market: str, maximum: float, reason: str, reason_ko: str) -> Component:
    return Component(name, market, None, maximum, reason, reason_ko)


def score_trend(s: Series, p: GateParams) -> Component:
    m = s.market
    if len(s) < p.ma_long:
        return _unknown("trend", m, p.trend_max, f"{m} trend unknown: {len(s)} of {p.ma_long} sessions",
                        f"{m} 추세 알 수 없음: {len(s)}/{p.ma_long}거래일")
    close = s.close[-1]
    mas = [(w, float(s.close[-w:].mean())) for w in (p.ma_short, p.ma_mid, p.ma_long)]
    weights = (p.trend_points_above_short, p.trend_points_above_mid, p.trend_points_above_long)
    points = sum(pts for (_, ma), pts in zip(mas, weights) if close > ma)
    stacked = mas[0][1] > mas[1][1] > mas[2][1]
    points += p.trend_points_stacked if stacked else 0
    above = [w for w, ma in mas if close > ma]
    below = [w for w, ma in mas if close <= ma]
    parts, parts_ko = [], []
    if above:
        parts.append("above " + "/".join(f"MA{w}" for w in above))
        parts_ko.append("·".join(str(w) for w in above) + "일선 위")
    if below:
        parts.append("below " + "/".join(f"MA{w}" for w in below))
        parts_ko.append("·".join(str(w) for w in below) + "일선 아래")
    order = f"MA{p.ma_short}>MA{p.ma_mid}>MA{p.ma_long}"
    parts.append(order if stacked else f"not {order}")
    parts_ko.append("정배열" if stacked else "정배열 아님")
    return Component("trend", m, points, p.trend_max, f"{m} " + ", ".join(parts), f"{m} " + ", ".join(parts_ko))


@dataclass(frozen=True)
class DistributionCount:
    count: int | None  # None = unknown
    unknown_days: int
    today: bool  # today (possibly provisional) is a distribution day
    why_unknown: str = ""


def count_distribution_days(s: Series, p: GateParams) -> DistributionCount:
    n = len(s)
    if n < p.dd_window + 1:
        return DistributionCount(None, 0, False, f"{n} of {p.dd_window + 1} sessions")
    first = n - p.dd_window
    if not np.isfinite(s.volume[first - 1:]).any():
        return DistributionCount(None, 0, False, "no volume data")
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
        return DistributionCount(None, unknown, False, f"{unknown} down days without volume")
    return DistributionCount(count, unknown, today)


def score_distribution(s: Series, dd: DistributionCount, p: GateParams) -> Component:
    m = s.market
    if dd.count is None:
        return _unknown("distribution", m, p.distribution_max, f"{m} distribution days unknown: {dd.why_unknown}",
                        f"{m} 분산일 알 수 없음: " + ("거래량 없음" if dd.why_unknown == "no volume data"
                                                    else dd.why_unknown))
    table = p.distribution_points
    points = table[min(dd.count, len(table) - 1)]
    reason = f"{m} {dd.count} distribution days in {p.dd_window} sessions"
    reason_ko = f"{m} 최근 {p.dd_window}거래일 분산일 {dd.count}일"
    if dd.today and s.provisional:
        reason += " (today provisional)"
        reason_ko += " (오늘 잠정)"
    if dd.unknown_days:
        reason += f"; {dd.unknown_days} down days without volume"
        reason_ko += f"; 거래량 없는 하락일 {dd.unknown_days}일"
    return Component("distribution", m, points, p.distribution_max, reason, reason_ko)


def _linear(x: float, low: float, high: float, points: float) -> float:
    return min(max((x - low) / (high - low), 0.0), 1.0) * points


def _fresh_cutoff(s: Series, p: GateParams) -> date:
    return s.dates[max(0, len(s) - 1 - p.breadth_max_lag_sessions)]


def score_breadth(s: Series, b: BreadthHistory | None, as_of_date: date, p: GateParams) -> Component:
    m = s.market
    if b is None:
        return _unknown("breadth", m, p.breadth_max, f"{m} breadth unknown: no data", f"{m} 시장폭 알 수 없음: 데이터 없음")
    end = bisect_right(b.dates, as_of_date)
    cutoff = _fresh_cutoff(s, p)
    dates = np.array(b.dates[:end], dtype=object)
    points, maximum, parts, parts_ko = 0.0, 0.0, [], []

    pct = np.asarray(b.pct_above_ma50[:end])
    pct_ok = np.flatnonzero(np.isfinite(pct))
    if pct_ok.size and dates[pct_ok[-1]] >= cutoff:
        value = float(pct[pct_ok[-1]])
        got = _linear(value, p.breadth_ma50_low_pct, p.breadth_ma50_high_pct, p.breadth_ma50_points)
        points, maximum = points + got, maximum + p.breadth_ma50_points
        parts.append(f"{value:.0f}% of stocks above MA50 ({_tidy(got)}/{_tidy(p.breadth_ma50_points)})")
        parts_ko.append(f"50일선 위 종목 {value:.0f}% ({_tidy(got)}/{_tidy(p.breadth_ma50_points)})")
    else:
        parts.append("% above MA50 unknown")
        parts_ko.append("50일선 위 종목 비율 알 수 없음")

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
        parts.append(f"A/D EMA{p.ad_ema_span} {ema:.2f} ({_tidy(got)}/{_tidy(p.ad_points)})")
        parts_ko.append(f"상승비율 EMA{p.ad_ema_span} {ema:.2f} ({_tidy(got)}/{_tidy(p.ad_points)})")
    else:
        parts.append("A/D unknown")
        parts_ko.append("상승/하락 비율 알 수 없음")

    if not maximum:
        return _unknown("breadth", m, p.breadth_max, f"{m} breadth unknown: " + ", ".join(parts),
                        f"{m} 시장폭 알 수 없음: " + ", ".join(parts_ko))
    # Only the known part counts towards the maximum (the level is rescaled on it).
    return Component("breadth", m, points, maximum, f"{m} " + ", ".join(parts), f"{m} " + ", ".join(parts_ko))


def score_new_highs_lows(s: Series, b: BreadthHistory | None, as_of_date: date, p: GateParams) -> Component:
    m = s.market
    name = "new_highs_lows"
    if b is None:
        return _unknown(name, m, p.nhnl_max, f"{m} new highs/lows unknown: no data",
                        f"{m} 신고가/신저가 알 수 없음: 데이터 없음")
    end = bisect_right(b.dates, as_of_date)
    nh, nl = np.asarray(b.new_highs[:end]), np.asarray(b.new_lows[:end])
    ok = np.flatnonzero(np.isfinite(nh) & np.isfinite(nl))[-p.nhnl_window:]
    if ok.size < p.nhnl_window or b.dates[ok[-1]] < _fresh_cutoff(s, p):
        return _unknown(name, m, p.nhnl_max, f"{m} new highs/lows unknown: fewer than {p.nhnl_window} recent sessions",
                        f"{m} 신고가/신저가 알 수 없음: 최근 {p.nhnl_window}거래일 미만")
    highs, lows = float(nh[ok].sum()), float(nl[ok].sum())
    net = highs - lows
    share = highs / (highs + lows) if highs + lows > 0 else 0.5  # none either way: neutral
    points = (p.nhnl_positive_points if net > 0 else 0) + p.nhnl_ratio_points * share
    w = p.nhnl_window
    return Component(
        name, m, points, p.nhnl_max,
        f"{m} {w}-session NH-NL {net:+,.0f} (NH {highs:,.0f}, NL {lows:,.0f})",
        f"{m} {w}일 신고가-신저가 {net:+,.0f} (신고가 {highs:,.0f}, 신저가 {lows:,.0f})",
    )


def score_drawdown(s: Series, p: GateParams) -> Component:
    m = s.market
    if len(s) < p.drawdown_min_sessions:
        return _unknown("drawdown", m, p.drawdown_max, f"{m} drawdown unknown: {len(s)} of {p.drawdown_min_sessions} sessions",
                        f"{m} 고점 대비 하락률 알 수 없음: {len(s)}/{p.drawdown_min_sessions}거래일")
    window = s.close[-p.drawdown_window:]
    high = float(window.max())
    drawdown = (float(s.close[-1]) / high - 1.0) * 100.0
    points = p.drawdown_band_points[-1]
    for band, band_points in zip(p.drawdown_band_pcts, p.drawdown_band_points):
        if drawdown > -band:
            points = band_points
            break
    sessions = len(window)
    return Component(
        "drawdown", m, points, p.drawdown_max,
        f"{m} {drawdown:+.1f}% from the {sessions}-session high {_fmt(high)}",
        f"{m} {sessions}거래일 고점 {_fmt(high)} 대비 {drawdown:+.1f}%",
    )
