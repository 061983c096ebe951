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

from signals.scanner import trend_template as tt
from signals.scanner.candidate import TickerHistory, judge_setup
from signals.scanner.gate_filter import apply_gate_cap
from signals.scanner.panel import Panel, build_panel
from signals.scanner.params import ScanParams
from signals.scanner.results import ScanResult, SignalCandidate
from signals.scanner.universe import instrument_problem, normalise_instruments, select_universe

__all__ = ["ScanParams", "ScanResult", "SignalCandidate", "apply_gate_cap", "panel_rows", "scan", "scan_panel"]

DEFAULT_PARAMS = ScanParams()  # frozen, so one shared default is safe


def scan(
    bars: pd.DataFrame,
    instruments: pd.DataFrame,
    *,
    as_of: date,
    params: ScanParams = DEFAULT_PARAMS,
) -> ScanResult:
    """Scan the market as it stood at the close of `as_of` (later bars are ignored).

    `bars`: long frame with ticker, date, open, high, low, close, volume (optional
    traded_value, halted). `instruments`: ticker, name, market, kind.
    """
    started = time.perf_counter()
    panel = build_panel(bars, as_of=as_of, rows=panel_rows(params))
    return scan_panel(panel, instruments, as_of=as_of, params=params, started=started)


def panel_rows(params: ScanParams) -> int:
    """Clean sessions per ticker the scan looks at."""
    return max(params.history_sessions, params.required_sessions)


def scan_panel(
    panel: Panel,
    instruments: pd.DataFrame,
    *,
    as_of: date,
    params: ScanParams = DEFAULT_PARAMS,
    started: float | None = None,
) -> ScanResult:
    """The scan's rules on a built panel (`scan()` after build_panel). The backtest calls
    it with panels cut from one built for the whole range (panel_history.py), equal to
    the ones build_panel makes from the same bars."""
    started = time.perf_counter() if started is None else started
    info = normalise_instruments(instruments)
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
    # RS is a percentile across every name listed on the scan date (universe + peers).
    ranked = np.concatenate([cols, universe.peers])
    ind = tt.select(tt.indicators(
        panel.high[-needed:, ranked],
        panel.low[-needed:, ranked],
        panel.close[-needed:, ranked],
        panel.volume[-needed:, ranked],
        params,
    ), slice(0, len(cols)))
    criteria = tt.criteria_matrix(ind, params)
    met = criteria.sum(axis=1)
    passed = tt.passes(criteria, ind.rs, params)
    for j in np.flatnonzero(~passed):
        first = tt.CRITERIA[int(np.argmin(criteria[j]))]
        text = tt.failure_reason(first, ind, j, params)
        if met[j] == len(tt.CRITERIA) - 1 and first != "rs":
            text += f" (7/8 passes only with RS >= {params.rs_relaxed_min})"
        rejections[str(panel.tickers[cols[j]])] = text

    candidates: list[SignalCandidate] = []
    for j in np.flatnonzero(passed):
        col = int(cols[j])
        n = int(panel.sessions[col])
        outcome = judge_setup(
            TickerHistory(
                high=panel.high[-n:, col],
                low=panel.low[-n:, col],
                volume=panel.volume[-n:, col],
                dates=panel.dates[panel.date_index[-n:, col]],
            ),
            close=float(ind.close[j]),
            atr=float(ind.atr[j]),
            rs=int(ind.rs[j]),
            volume_ratio=float(ind.volume_ratio[j]),
            criteria_met=int(met[j]),
            market=str(universe.markets[col]),
            params=params,
        )
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
        rs_peers_not_listed=len(universe.peers),
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
        trend_template_tickers=tuple(str(panel.tickers[cols[j]]) for j in np.flatnonzero(passed)),
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
