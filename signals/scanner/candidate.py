"""From one Trend Template passer's history to a graded VCP candidate (or why not).

Shared by the vectorised scanner and the per-ticker reference: this part is sequential
by nature and runs only for the few hundred tickers that pass the Trend Template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from signals.scanner.contractions import (
    find_base,
    judge_base,
    tightening_breaks,
    volume_falling,
)
from signals.scanner.params import ScanParams
from signals.scanner.reason_text import render_all
from signals.scanner.results import ContractionFootprint, Footprint
from signals.scanner.scoring import Setup, grade_for, reason_codes, score_parts
from signals.scanner.sizing import plan_trade, position_size


@dataclass(frozen=True)
class TickerHistory:
    """One ticker's clean sessions, oldest first."""

    high: np.ndarray
    low: np.ndarray
    volume: np.ndarray
    dates: np.ndarray  # datetime64[D]


def judge_setup(
    history: TickerHistory,
    *,
    close: float,
    atr: float,
    rs: int,
    volume_ratio: float,
    criteria_met: int,
    market: str,
    params: ScanParams,
) -> dict[str, Any] | str:
    """A Trend Template passer's candidate fields, or the first reason it is not a VCP."""
    met = criteria_met
    ratio = volume_ratio
    base = find_base(history.high, history.low, history.volume, atr, close, params)
    problem = judge_base(base, market, params)
    if problem:
        return f"VCP: {problem}"
    if not ratio < params.volume_dry_up_max:
        return f"VCP: Volume 10d/50d {ratio:.2f} (no dry-up, need < {params.volume_dry_up_max:g})"
    last = base.contractions[-1]
    plan = plan_trade(last.high, last.low, params)
    if isinstance(plan, str):
        return f"VCP: {plan}"
    if close > plan.entry * (1.0 + params.buy_zone_pct):
        return f"VCP: extended {(close / plan.entry - 1) * 100:.1f}% above entry {plan.entry:,}"
    if close <= plan.stop:
        return f"VCP: close {close:,.0f} at or below stop {plan.stop:,}"

    depths = [t.depth for t in base.contractions]
    setup = Setup(
        criteria_met=met,
        rs=rs,
        base=base,
        volume_ratio=ratio,
        volume_falling=volume_falling(base),
        close=close,
        plan=plan,
        tightening_breaks=len(tightening_breaks(depths, params.contraction_ratio)),
    )
    parts = score_parts(setup, params)
    score = int(np.floor(sum(parts.values()) + 0.5))
    grade = grade_for(score, met, params)
    if grade is None:
        if score < params.grade_c_min:
            return f"Score {score} < {params.grade_c_min}"
        return f"Score {score}: Trend Template 7/8 drops it below grade C"

    dates = history.dates
    contractions: list[ContractionFootprint] = [
        {
            "start": str(dates[t.high_index]),
            "end": str(dates[t.low_index]),
            "high": round(t.high, 2),
            "low": round(t.low, 2),
            "depth_pct": round(t.depth * 100, 2),
        }
        for t in base.contractions
    ]
    codes = reason_codes(setup, params)
    footprint: Footprint = {
        "base_length": base.length,
        "base_start": str(dates[base.start_index]),
        "depths": [round(d * 100, 2) for d in depths],
        "pivot": plan.pivot,
        "contractions": contractions,
        "volume_ratio": round(ratio, 3),
        "volume_falling": setup.volume_falling,
        "rs": setup.rs,
        "trend_template": met,
        "zigzag_threshold_pct": round(base.threshold * 100, 2),
        "score_parts": {k: round(v, 2) for k, v in parts.items()},
    }
    return {
        "score": score,
        "grade": grade,
        "entry_price": plan.entry,
        "target_price": plan.target,
        "stop_loss": plan.stop,
        "position_size": position_size(plan.entry, plan.stop, params),
        "reasons": render_all(codes, "en"),
        "reason_codes": codes,
        "footprint": footprint,
    }
