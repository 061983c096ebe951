"""The VCP scanner: daily bars of the whole market in, graded trade setups out.

Pure: pandas/numpy only, the scan date is a parameter. The universe filters, moving
averages, 52-week range, relative strength and the Trend Template are matrix operations
over every ticker at once (panel.py, universe.py, trend_template.py); only the tickers
that pass the Trend Template get the sequential zigzag (contractions.py).
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd

from signals import trend_template as tt
from signals.contractions import find_base, judge_base, tightening_breaks, volume_falling
from signals.gate_cap import apply_gate_cap
from signals.panel import Panel, build_panel
from signals.results import ContractionFootprint, Footprint, ScanResult, SignalCandidate
from signals.scan_params import ScanParams
from signals.scoring import Setup, grade_for, reasons, score_parts
from signals.sizing import plan_trade, position_size
from signals.universe import instrument_problem, normalise_instruments, select_universe

__all__ = ["ScanParams", "ScanResult", "SignalCandidate", "apply_gate_cap", "scan"]


def scan(
    bars: pd.DataFrame,
    instruments: pd.DataFrame,
    *,
    as_of: date,
    params: ScanParams = ScanParams(),
) -> ScanResult:
    """Scan the market as it stood at the close of `as_of` (later bars are ignored).

    `bars`: long frame with ticker, date, open, high, low, close, volume (optional
    traded_value, halted). `instruments`: ticker, name, market, kind.
    """
    started = time.perf_counter()
    info = normalise_instruments(instruments)
    rows = max(params.history_sessions, params.required_sessions)
    panel = build_panel(bars, as_of=as_of, rows=rows)
    stats: dict[str, object] = {"as_of": as_of.isoformat(), "tickers_with_bars": len(panel.tickers)}
    rejections = _no_bar_rejections(info, panel, as_of)
    if len(panel.dates) == 0:
        stats.update(scan_date=None, compute_ms=_ms(started))
        return ScanResult([], 0, 0, rejections, stats)

    scan_date = panel.dates.max()
    universe = select_universe(panel, info, params, scan_date)
    rejections.update(universe.rejections)
    cols = universe.columns
    needed = params.required_sessions
    ind = tt.indicators(
        panel.high[-needed:, cols],
        panel.low[-needed:, cols],
        panel.close[-needed:, cols],
        panel.volume[-needed:, cols],
        params,
    )
    criteria = tt.criteria_matrix(ind, params)
    met = criteria.sum(axis=1)
    passed = tt.passes(criteria, ind.rs, params)
    for j in np.flatnonzero(~passed):
        first = tt.CRITERIA[int(np.argmin(criteria[j]))]
        text = tt.failure_reason(first, ind, j, params)
        if met[j] == len(tt.CRITERIA) - 1:
            text += f" (7/8 passes only with RS >= {params.rs_relaxed_min})"
        rejections[str(panel.tickers[cols[j]])] = text

    candidates: list[SignalCandidate] = []
    for j in np.flatnonzero(passed):
        col = int(cols[j])
        outcome = _judge_ticker(panel, col, j, ind, int(met[j]), str(universe.markets[col]), params)
        ticker = str(panel.tickers[col])
        if isinstance(outcome, str):
            rejections[ticker] = outcome
        else:
            candidates.append(
                SignalCandidate(ticker=ticker, name=str(universe.names[col]), market=str(universe.markets[col]), **outcome)
            )
    candidates.sort(key=lambda c: (-c.score, c.ticker))
    stats.update(
        scan_date=str(scan_date),
        universe_count=len(cols),
        trend_template_count=int(passed.sum()),
        trend_template_8_of_8=int((met == len(tt.CRITERIA)).sum()),
        candidate_count=len(candidates),
        compute_ms=_ms(started),
    )
    return ScanResult(
        candidates=candidates,
        universe_count=len(cols),
        trend_template_count=int(passed.sum()),
        rejections=rejections,
        stats=stats,
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)


def _no_bar_rejections(info: pd.DataFrame, panel: Panel, as_of: date) -> dict[str, str]:
    missing = info.index.difference(pd.Index(panel.tickers, dtype=object))
    out: dict[str, str] = {}
    for ticker in missing:
        row = info.loc[ticker]
        out[str(ticker)] = instrument_problem(row["market"], row["kind"]) or f"No clean bars up to {as_of.isoformat()}"
    return out


def _judge_ticker(
    panel: Panel, col: int, j: int, ind: tt.Indicators, met: int, market: str, params: ScanParams
) -> dict[str, object] | str:
    """The candidate's fields for a Trend Template passer, or why it is not a VCP."""
    n = int(panel.sessions[col])
    high = panel.high[-n:, col]
    low = panel.low[-n:, col]
    volume = panel.volume[-n:, col]
    close = float(ind.close[j])
    base = find_base(high, low, volume, float(ind.atr[j]), close, params)
    problem = judge_base(base, market, params)
    if problem:
        return f"VCP: {problem}"
    ratio = float(ind.volume_ratio[j])
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
        rs=int(ind.rs[j]),
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

    dates = panel.dates[panel.date_index[-n:, col]]
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
        "reasons": reasons(setup, params),
        "footprint": footprint,
    }
