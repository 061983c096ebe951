"""Correction cap and follow-through floor of one index. Pure: no Django.

Correction: the index closes below its MA120 with >= 6 live distribution days; its level
is capped at 39 (RED). Follow-through: a session on day 4 or later of a rally attempt
that closes up >= 1.25% on higher volume than the day before, the index having been in
correction the session before; it replaces the cap with a floor of 40 for as long as
the rally attempt holds.

A rally attempt starts on the first up close after the correction's low: the lowest
close since the highest close of the last `rally_low_lookback` sessions. Undercutting
that low makes a new low, so the attempt (and any follow-through in it) starts over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from marketgate.gate.components import (
    DistributionCount,
    Series,
    count_distribution_days,
)
from marketgate.gate.params import GateParams
from marketgate.gate.reason_text import render


@dataclass(frozen=True)
class Override:
    correction: bool = False
    follow_through: bool = False
    follow_through_date: date | None = None
    provisional: bool = False  # decided by today's unfinished session
    # Why, language-neutral (reason_text renders it): "" when nothing is overridden.
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return render(self.code, self.params, "en") if self.code else ""

    @property
    def reason_ko(self) -> str:
        return render(self.code, self.params, "ko") if self.code else ""

    def apply(self, level: float, params: GateParams) -> float:
        if self.follow_through:
            return max(level, params.ftd_floor)
        if self.correction:
            return min(level, params.correction_cap)
        return level


def follow_through_days(s: Series, p: GateParams) -> list[int]:
    """Indices into `s` of the follow-through days of the current rally attempt, oldest first."""
    n = len(s)
    start = max(0, n - p.rally_low_lookback)
    # The decline runs from the highest close of the lookback to the lowest close after
    # it (its latest occurrence): a rally from an older low is not this correction's.
    high = start + int(np.argmax(s.close[start:]))
    after = s.close[high:]
    low = high + (len(after) - 1 - int(np.argmin(after[::-1])))
    change, higher = s.change_pct(), s.higher_volume()
    day1 = next((i for i in range(low + 1, n) if s.close[i] > s.close[i - 1]), None)
    if day1 is None:
        return []
    return [
        i for i in range(day1 + p.ftd_min_day - 1, n)
        if change[i] >= p.ftd_gain_pct and not math.isnan(higher[i]) and higher[i]
    ]


def _until(s: Series, i: int) -> Series:
    """`s` as it stood after session i (a finished session: not provisional)."""
    end = i + 1
    scale = s.volume_scale[:end].copy()
    provisional = s.provisional and end == len(s)
    return Series(s.market, s.dates[:end], s.close[:end], s.volume[:end], scale, provisional)


def in_correction(s: Series, dd: DistributionCount, p: GateParams) -> bool | None:
    """Below MA120 with >= 6 distribution days; None when that cannot be told."""
    if len(s) < p.ma_long or dd.count is None:
        return None
    return bool(s.close[-1] < s.close[-p.ma_long:].mean() and dd.count >= p.correction_dd_count)


def evaluate_overrides(s: Series, dd: DistributionCount, p: GateParams) -> Override:
    m = s.market
    correction = in_correction(s, dd, p)
    if correction is None:
        return Override()  # cannot tell: no override rather than a guessed one
    # A follow-through counts when the index was in correction just before it; its floor
    # then holds while the rally attempt does, even once the correction rule has lapsed
    # (otherwise the level would fall back as old distribution days expire mid-rally).
    ftd = None
    for i in reversed(follow_through_days(s, p)):
        before = _until(s, i - 1)
        if correction or in_correction(before, count_distribution_days(before, p), p):
            ftd = i
            break
    today_dd = dd.today and s.provisional
    why = {"market": m, "ma": p.ma_long, "distribution_days": dd.count}
    if ftd is None:
        if not correction:
            return Override()
        return Override(correction=True, provisional=today_dd,
                        code="correction", params={**why, "cap": p.correction_cap})
    ftd_today = ftd == len(s) - 1 and s.provisional
    day = s.dates[ftd]
    return Override(
        correction=correction, follow_through=True, follow_through_date=day,
        provisional=(today_dd and correction) or ftd_today,
        code="follow_through",
        params={**why, "correction": correction, "date": day.isoformat(), "provisional": ftd_today,
                "floor": p.ftd_floor},
    )
