"""Score (0-100), grade and the human reasons of a VCP candidate.

Score = 25 trend template + 25 contraction quality + 20 volume + 15 pivot proximity +
15 RS. How each part is earned is spelled out below, so a reader can check a score by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from signals.scanner.contractions import Base
from signals.scanner.params import ScanParams
from signals.scanner.reason_text import Reason, reason, render, render_all
from signals.scanner.sizing import TradePlan

GRADES = ("S", "A", "B", "C")
N_CRITERIA = 8


@dataclass(frozen=True)
class Setup:
    """Everything a score and its reasons are made from."""

    criteria_met: int
    rs: int
    base: Base
    volume_ratio: float
    volume_falling: bool
    close: float
    plan: TradePlan
    tightening_breaks: int


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def score_parts(s: Setup, params: ScanParams) -> dict[str, float]:
    depths = [t.depth for t in s.base.contractions]
    n = len(depths)
    # Contraction quality: a tight last T (10 at the zigzag floor, 0 at the limit),
    # clean tightening (8, or 4 with the one allowed exception), and a count in the
    # textbook 3-4 range (7; 5 for 5-6 Ts, 4 for two).
    tight = 10.0 * _clip01(
        (params.last_t_max_depth - depths[-1]) / (params.last_t_max_depth - params.zigzag_min_pct)
    )
    tightening = 8.0 if s.tightening_breaks == 0 else 4.0
    count = 7.0 if 3 <= n <= 4 else (5.0 if n > 4 else 4.0)
    # Volume: dry-up from the limit (0) to strong (14), plus 6 if each T traded less.
    dry = 14.0 * _clip01(
        (params.volume_dry_up_max - s.volume_ratio) / (params.volume_dry_up_max - params.volume_dry_up_strong)
    )
    falling = 6.0 if s.volume_falling else 0.0
    # Pivot proximity: 15 at the pivot, 0 a full last-T limit below it; above the pivot
    # (breaking out) it fades to half at the top of the buy zone.
    distance = (s.close - s.plan.pivot) / s.plan.pivot
    if distance <= 0:
        proximity = 15.0 * _clip01(1.0 + distance / params.last_t_max_depth)
    else:
        proximity = 15.0 * (1.0 - 0.5 * _clip01(distance / params.buy_zone_pct))
    return {
        "trend_template": 25.0 * s.criteria_met / N_CRITERIA,
        "contractions": tight + tightening + count,
        "volume": dry + falling,
        "pivot": proximity,
        "rs": 15.0 * s.rs / 99.0,
    }


def grade_for(score: int, criteria_met: int, params: ScanParams) -> str | None:
    """S/A/B/C by score; None below C. Passing on 7 of 8 criteria costs one grade."""
    bounds = (params.grade_s_min, params.grade_a_min, params.grade_b_min, params.grade_c_min)
    level = next((i for i, b in enumerate(bounds) if score >= b), None)
    if level is None:
        return None
    if criteria_met < N_CRITERIA:
        level += 1
    return GRADES[level] if level < len(GRADES) else None


def pivot_reason(close: float, pivot: int) -> str:
    return render(pivot_code(close, pivot), "en")


def pivot_code(close: float, pivot: int) -> Reason:
    return reason("pivot", pivot=int(pivot), distance_pct=float((close - pivot) / pivot * 100.0))


def reason_codes(s: Setup, params: ScanParams) -> list[Reason]:
    """The reasons as codes with parameters (stored; rendered in Korean or English)."""
    depths = [float(t.depth * 100) for t in s.base.contractions]
    relaxed = params.rs_relaxed_min if s.criteria_met < N_CRITERIA else None
    plan = s.plan
    out = [
        reason("trend_template", met=int(s.criteria_met), total=N_CRITERIA, relaxed_rs=relaxed),
        reason("rs", rs=int(s.rs)),
        reason("contractions", count=len(depths), depths=depths),
        reason("volume_dry_up", ratio=float(s.volume_ratio)),
    ]
    if s.volume_falling:
        out.append(reason("volume_falling"))
    out += [
        pivot_code(s.close, plan.pivot),
        reason("stop", stop=int(plan.stop), pct=float(plan.stop_pct * 100)),
        reason("target", target=int(plan.target), basis=str(plan.target_basis)),
    ]
    return out


def reasons(s: Setup, params: ScanParams) -> list[str]:
    """The reasons in English (the scanner's own output; the codes are what is stored)."""
    return render_all(reason_codes(s, params), "en")
