"""Every threshold of the VCP scanner, with the defaults of the domain rules.

The project overrides any of them from `settings.SCANNER_PARAMS`; an unknown key is a
configuration mistake and fails loudly rather than being ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScanParams:
    # Universe
    min_sessions: int = 260
    min_avg_traded_value: float = 5_000_000_000.0
    traded_value_window: int = 20
    min_price: float = 1_000.0
    # How many clean sessions per ticker the scan looks at (the longest window needs
    # 253 for r252 and 222 for "MA200 rising over 22 sessions").
    history_sessions: int = 300

    # Trend Template
    ma_fast: int = 50
    ma_mid: int = 150
    ma_slow: int = 200
    ma_slow_rising_sessions: int = 22
    week52_sessions: int = 252
    above_low_multiple: float = 1.30
    near_high_fraction: float = 0.75
    rs_min: int = 70
    # 7 of 8 criteria pass (as a lower grade) when RS is at least this.
    rs_relaxed_min: int = 80
    rs_weights: tuple[tuple[int, float], ...] = ((63, 0.4), (126, 0.2), (189, 0.2), (252, 0.2))

    # Base and swings
    base_lookback: int = 130
    base_min_sessions: int = 15
    base_max_sessions: int = 325
    zigzag_min_pct: float = 0.03
    zigzag_atr_multiple: float = 1.5
    atr_period: int = 14

    # Contractions
    min_contractions: int = 2
    max_contractions: int = 6
    t1_min_depth: float = 0.08
    t1_max_depth: float = 0.35
    t1_max_depth_kosdaq: float = 0.40
    contraction_ratio: float = 0.75
    # With at least this many contractions, one may break the ratio.
    ratio_exception_min_count: int = 4
    last_t_max_depth: float = 0.10

    # Volume
    volume_fast: int = 10
    volume_slow: int = 50
    volume_dry_up_max: float = 0.8
    volume_dry_up_strong: float = 0.5

    # Entry, stop, target
    buy_zone_pct: float = 0.05
    stop_floor_pct: float = 0.08
    max_stop_pct: float = 0.10
    target_r_multiple: float = 3.0
    target_min_pct: float = 0.20

    # Grades (score 0-100); below grade_c_min nothing is emitted.
    grade_s_min: int = 85
    grade_a_min: int = 75
    grade_b_min: int = 65
    grade_c_min: int = 55

    # Position sizing (fractions, not percent)
    equity: float = 100_000_000.0
    risk_fraction: float = 0.01
    max_position_fraction: float = 0.20

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None) -> ScanParams:
        """Defaults with `overrides` applied; unknown keys raise ValueError naming them."""
        overrides = dict(overrides or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"Unknown scanner parameter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            default = getattr(cls, name)
            if isinstance(default, tuple):
                values[name] = tuple(tuple(pair) for pair in value)
            elif isinstance(default, int) and not isinstance(default, bool):
                values[name] = int(value)
            else:
                values[name] = float(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (stored on the scan run)."""
        data = dataclasses.asdict(self)
        data["rs_weights"] = [list(pair) for pair in self.rs_weights]
        return data

    @property
    def required_sessions(self) -> int:
        """Clean sessions the longest look-back needs (a ticker with fewer cannot be judged)."""
        longest_return = max(n for n, _ in self.rs_weights) + 1
        return max(
            self.min_sessions,
            longest_return,
            self.ma_slow + self.ma_slow_rising_sessions,
            self.week52_sessions,
            self.volume_slow,
            self.atr_period + 1,
        )
