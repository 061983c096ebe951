"""Every number of the Market Gate, with its default. Pure: no Django.

`settings.GATE_PARAMS = {field: value}` overrides any of them through
`GateParams.from_overrides`; docs/market-gate.md lists what each field changes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

COMPONENT_NAMES = ("trend", "distribution", "breadth", "new_highs_lows", "drawdown")


@dataclass(frozen=True)
class GateParams:
    # Colour thresholds on the 0-100 level: GREEN >= 70, YELLOW 40-69, RED < 40.
    threshold_green: float = 70
    threshold_yellow: float = 40

    # trend (max 30): close > MA20: 7; > MA60: 8; > MA120: 8; MA20 > MA60 > MA120: 7.
    ma_short: int = 20
    ma_mid: int = 60
    ma_long: int = 120
    trend_points_above_short: float = 7
    trend_points_above_mid: float = 8
    trend_points_above_long: float = 8
    trend_points_stacked: float = 7

    # distribution (max 20): a distribution day is a close down >= 0.2% on higher
    # volume than the day before; counted over the last 25 sessions, expiring early
    # once the index closes >= 5% above that day's close.
    dd_decline_pct: float = 0.2
    dd_window: int = 25
    dd_expiry_rally_pct: float = 5.0
    # Points by count: index = number of distribution days, the last entry for more.
    # (<=2: 20, 3: 15, 4: 10, 5: 5, >=6: 0)
    distribution_points: tuple[float, ...] = (20, 20, 20, 15, 10, 5, 0)
    # Days in the window whose volume is unknown (e.g. the live feed has no volume)
    # beyond which the count is not trusted and the component is unknown.
    dd_max_unknown_days: int = 3

    # breadth (max 25): % of stocks above their 50-day MA, 20% -> 0 .. 70% -> 15,
    # linear; advance/decline ratio EMA10, 0.40 -> 0 .. 0.60 -> 10, linear.
    breadth_ma50_low_pct: float = 20.0
    breadth_ma50_high_pct: float = 70.0
    breadth_ma50_points: float = 15
    ad_ema_span: int = 10
    ad_ratio_low: float = 0.40
    ad_ratio_high: float = 0.60
    ad_points: float = 10
    # Breadth rows older than this many index sessions before the gate date are stale
    # (unknown) rather than silently describing another week's market.
    breadth_max_lag_sessions: int = 3

    # new highs - new lows (max 10): 10-session sum of NH-NL > 0: 5, plus up to 5
    # scaled by NH / (NH + NL).
    nhnl_window: int = 10
    nhnl_positive_points: float = 5
    nhnl_ratio_points: float = 5

    # drawdown (max 15) from the 252-session high: > -5%: 15; > -10%: 10; > -20%: 5; else 0.
    drawdown_window: int = 252
    drawdown_band_pcts: tuple[float, ...] = (5.0, 10.0, 20.0)
    drawdown_band_points: tuple[float, ...] = (15, 10, 5, 0)
    # Fewer sessions than this and "the high" would mean little: unknown.
    drawdown_min_sessions: int = 120

    # GREEN needs these components known for every index in the level, and at least
    # half of the (weighted) points known; otherwise the level is capped at 69.
    green_requires: tuple[str, ...] = ("trend", "drawdown")
    green_min_known_share: float = 0.5

    # Correction: close below MA120 with >= 6 distribution days caps the combined level
    # at 39 (whichever index is in correction).
    correction_dd_count: int = 6
    correction_cap: float = 39
    # Follow-through: in correction, day >= 4 of a rally attempt, index up >= 1.25% on
    # higher volume lifts the floor to 40. The rally attempt starts after the lowest
    # close following the highest close of the last `rally_low_lookback` sessions.
    ftd_min_day: int = 4
    ftd_gain_pct: float = 1.25
    ftd_floor: float = 40
    rally_low_lookback: int = 60

    # Hysteresis: the colour changes when the level is >= 3 points past a threshold,
    # or has been across it for 2 consecutive computations.
    hysteresis_points: float = 3
    hysteresis_consecutive: int = 2

    # Index weights in the combined level (renormalised when an index is missing).
    weight_kospi: float = 0.5
    weight_kosdaq: float = 0.5

    def __post_init__(self) -> None:
        unknown = set(self.green_requires) - set(COMPONENT_NAMES)
        if isinstance(self.green_requires, str) or unknown:
            raise ValueError(f"GATE_PARAMS['green_requires'] must list component names of {', '.join(COMPONENT_NAMES)}")
        if not 0 <= self.green_min_known_share <= 1:
            raise ValueError("GATE_PARAMS['green_min_known_share'] must be within 0..1")
        for f in fields(self):
            if f.name == "green_requires":
                continue
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ValueError(f"GATE_PARAMS[{f.name!r}] must be a finite number, got {value!r}")
        if not 0 <= self.threshold_yellow < self.threshold_green <= 100:
            raise ValueError("GATE_PARAMS thresholds need 0 <= threshold_yellow < threshold_green <= 100")
        if not self.ma_short < self.ma_mid < self.ma_long:
            raise ValueError("GATE_PARAMS needs ma_short < ma_mid < ma_long")
        if self.breadth_ma50_low_pct >= self.breadth_ma50_high_pct or self.ad_ratio_low >= self.ad_ratio_high:
            raise ValueError("GATE_PARAMS breadth ranges need low < high")
        if len(self.drawdown_band_points) != len(self.drawdown_band_pcts) + 1:
            raise ValueError("GATE_PARAMS drawdown_band_points needs one more entry than drawdown_band_pcts")
        if not self.distribution_points:
            raise ValueError("GATE_PARAMS distribution_points must not be empty")
        if self.weight_kospi < 0 or self.weight_kosdaq < 0 or self.weight_kospi + self.weight_kosdaq <= 0:
            raise ValueError("GATE_PARAMS index weights must be >= 0 and not both 0")
        for name in ("ma_short", "dd_window", "ad_ema_span", "nhnl_window", "drawdown_window",
                     "rally_low_lookback", "hysteresis_consecutive"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"GATE_PARAMS[{name!r}] must be a positive whole number")

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None) -> GateParams:
        """Defaults with `overrides` applied; an unknown key is a ValueError naming it."""
        if not overrides:
            return cls()
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"unknown GATE_PARAMS key(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in overrides.items():
            # Settings come from JSON/env, where a tuple arrives as a list.
            values[key] = tuple(value) if isinstance(value, list) else value
        return dataclasses.replace(cls(), **values)

    # Component maxima follow from the points, so changing points changes them too.
    @property
    def trend_max(self) -> float:
        return (self.trend_points_above_short + self.trend_points_above_mid
                + self.trend_points_above_long + self.trend_points_stacked)

    @property
    def distribution_max(self) -> float:
        return max(self.distribution_points)

    @property
    def breadth_max(self) -> float:
        return self.breadth_ma50_points + self.ad_points

    @property
    def nhnl_max(self) -> float:
        return self.nhnl_positive_points + self.nhnl_ratio_points

    @property
    def drawdown_max(self) -> float:
        return max(self.drawdown_band_points)

    def weight(self, market: str) -> float:
        return {"KOSPI": self.weight_kospi, "KOSDAQ": self.weight_kosdaq}.get(market, 0.0)


DEFAULT_PARAMS = GateParams()
