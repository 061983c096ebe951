"""Walk-forward backtest: the production `scan()` as of every session, outcomes on later bars.

Pure (pandas/numpy; no Django), so the benchmark runs it on a synthetic market and the
command on the database's bars (backtest_data.py). For each session in the range:

* the bars are cut to exactly what `manage.py scan --date` of that session reads: the
  last 320 distinct bar dates up to it (scanning.load_market), nothing after; the
  panel of those bars is cut from one built for the whole range (panel_history.py,
  equal to build_panel's), and the scan's rules (`scan_panel`, the body of `scan()`)
  run on it: the universe is whoever has a clean bar that day and enough
  history, i.e. the listing as of that date (a ticker delisted later still trades here;
  one listed later has no bars yet);
* the gate as of that session caps grades and sizes exactly as a live scan's does
  (gate_cap.py); the uncapped list is kept beside it, so the gate's worth is a number;
* every signal is then resolved on the bars after its session (outcome_rules.py).

A ticker signalled again while its earlier trade is still waiting or held is marked a
repeat: the live list shows it every day, but a trader holds one position.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from marketgate.data.corporate_actions import adjust_bars
from signals.backtest.day_panels import PanelHistory
from signals.outcomes.rules import (
    DEFAULT_BUY_WINDOW,
    Actions,
    Bars,
    Outcome,
    actions_by_ticker,
    after,
    bars_by_ticker,
    outcome_bars,
    resolve,
    share_multiplier,
)
from signals.scanner.gate_filter import apply_gate_cap
from signals.scanner.params import ScanParams
from signals.scanner.results import SignalCandidate
from signals.scanner.vcp import panel_rows, scan_panel

# As scanning.load_market: the scanner's look-back plus room for halts.
EXTRA_SESSIONS = 20
FORWARD_SESSIONS = 20
UNKNOWN = "UNKNOWN"

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GateDay:
    status: str | None  # GREEN / YELLOW / RED; None: no gate for that day
    level: int | None = None
    source: str = "none"  # stored, recomputed, none


GateLookup = Callable[[date], GateDay]
Adjust = Callable[[pd.DataFrame, date], pd.DataFrame]


@dataclass(frozen=True)
class BacktestTrade:
    session: date
    ticker: str
    name: str
    market: str
    score: int
    grade: str  # after the gate cap
    raw_grade: str  # the scanner's, before the cap
    size: int  # shares after the cap (0: watch only)
    raw_size: int
    entry: int
    stop: int
    target: int
    gate: str  # colour at the signal's session; UNKNOWN when there was none
    gate_level: int | None
    outcome: Outcome
    repeat: bool


@dataclass(frozen=True)
class ForwardReturn:
    """A Trend Template name's close-to-close return over the next sessions."""

    session: date
    ticker: str
    gate: str
    ret: float


@dataclass
class BacktestRun:
    start: date
    end: date
    market: str
    sessions: list[date]
    data_end: date | None
    buy_window: int
    forward_sessions: int
    trades: list[BacktestTrade] = field(default_factory=list)
    forward: list[ForwardReturn] = field(default_factory=list)
    days: list[dict[str, object]] = field(default_factory=list)  # per session: gate, universe, TT, signals
    timings: dict[str, float] = field(default_factory=dict)

    def signals_on(self, day: date) -> list[BacktestTrade]:
        return [t for t in self.trades if t.session == day]


def window_sessions(params: ScanParams) -> int:
    return max(params.history_sessions, params.required_sessions) + EXTRA_SESSIONS


def walk_forward(
    bars: pd.DataFrame,
    instruments: pd.DataFrame,
    sessions: Sequence[date],
    gate_for: GateLookup,
    *,
    market: str = "ALL",
    params: ScanParams | None = None,
    buy_window: int = DEFAULT_BUY_WINDOW,
    forward_sessions: int = FORWARD_SESSIONS,
    progress: Progress | None = None,
    adjust: Adjust | None = None,
    ex_dates: Sequence[date] = (),
    factors: pd.DataFrame | None = None,
) -> BacktestRun:
    """Scan every session of `sessions` (dates present in `bars`) on the bars up to it.

    `adjust(bars, day)`, when given, is how a scan of `day` reads history (corporate
    actions with ex-dates up to `day` applied, none later); the panel is rebuilt each time
    a session passes one of `ex_dates`, so every session sees its own adjustment.
    `factors` (marketgate.data.corporate_actions.FACTOR_COLUMNS) are the corporate actions of the
    raw `bars`: when given, they are both that adjustment (when `adjust` is not) and how
    the bars after a signal are re-expressed in the shares of its session, so a split
    during a holding period is not read as a stop."""
    params = params or ScanParams()
    actions = actions_by_ticker(factors)
    if factors is not None and not factors.empty and adjust is None:
        adjust, ex_dates = _adjust_with(factors), list(pd.to_datetime(factors["ex_date"]).dt.date)
    report = progress or (lambda stage, fraction: None)
    markets = ("KOSPI", "KOSDAQ") if market == "ALL" else (market,)
    started = time.perf_counter()
    frame = bars.reset_index(drop=True)
    # Every date with any bar (halted ones too): the window is counted in these, as
    # scan_loading.bar_window_start counts the database's distinct dates.
    all_dates = np.unique(pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"))
    by_ticker = bars_by_ticker(frame)
    epochs = sorted(set(ex_dates))
    history, epoch = None, -1
    run = BacktestRun(
        start=min(sessions) if sessions else date.min, end=max(sessions) if sessions else date.min, market=market,
        sessions=list(sessions), data_end=all_dates[-1].item() if len(all_dates) else None,
        buy_window=buy_window, forward_sessions=forward_sessions,
    )
    run.timings["prepare"] = time.perf_counter() - started
    busy_until: dict[str, date] = {}
    # Trend Template names of the asked market (the scan ranks RS over both, as live).
    allowed = None if market == "ALL" else set(instruments.loc[instruments["market"] == market, "ticker"].astype(str))
    lookback = window_sessions(params)
    scan_seconds = 0.0
    for n, day in enumerate(sessions):
        report(day.isoformat(), n / max(1, len(sessions)))
        i = int(np.searchsorted(all_dates, np.datetime64(day, "D")))
        if i >= len(all_dates) or all_dates[i] != np.datetime64(day, "D"):
            raise ValueError(f"no bars on {day.isoformat()}: not a session of this data")
        mark = time.perf_counter()
        if history is None or (adjust is not None and bisect_right(epochs, day) != epoch):
            epoch = bisect_right(epochs, day)
            history = PanelHistory(adjust(frame, day) if adjust else frame, panel_rows(params))
        panel = history.at(day, all_dates[max(0, i - lookback + 1)].item())
        result = scan_panel(panel, instruments, as_of=day, params=params)
        scan_seconds += time.perf_counter() - mark
        gate = gate_for(day)
        colour = gate.status or UNKNOWN
        raw = _kept(result.candidates, "GREEN", markets)
        capped = {c.ticker: c for c in _kept(result.candidates, gate.status, markets)}
        for candidate in raw:
            outcome = resolve(candidate.entry_price, candidate.stop_loss, candidate.target_price,
                              outcome_bars(by_ticker.get(candidate.ticker), day, actions.get(candidate.ticker)),
                              buy_window=buy_window)
            repeat = candidate.ticker in busy_until and day < busy_until[candidate.ticker]
            if not repeat:
                busy_until[candidate.ticker] = _busy_until(outcome, by_ticker.get(candidate.ticker), day, buy_window)
            gated = capped[candidate.ticker]
            run.trades.append(BacktestTrade(
                session=day, ticker=candidate.ticker, name=candidate.name, market=candidate.market,
                score=candidate.score, grade=gated.grade, raw_grade=candidate.grade, size=gated.position_size,
                raw_size=candidate.position_size, entry=candidate.entry_price, stop=candidate.stop_loss,
                target=candidate.target_price, gate=colour, gate_level=gate.level, outcome=outcome, repeat=repeat,
            ))
        tt = [t for t in result.trend_template_tickers if allowed is None or t in allowed]
        run.forward.extend(_forward_returns(tt, by_ticker, actions, day, colour, forward_sessions))
        run.days.append({
            "date": day.isoformat(), "gate": colour, "gate_level": gate.level, "gate_source": gate.source,
            "universe": result.universe_count, "trend_template": len(tt), "signals": len(raw),
        })
    report("done", 1.0)
    run.timings["scan"] = scan_seconds
    run.timings["total"] = time.perf_counter() - started
    return run


def _kept(candidates: list[SignalCandidate], status: str | None, markets: tuple[str, ...]) -> list[SignalCandidate]:
    kept = [c for c in apply_gate_cap(candidates, status) if c.market in markets]
    kept.sort(key=lambda c: (-c.score, c.ticker))
    return kept


def _busy_until(outcome: Outcome, bars: Bars | None, day: date, buy_window: int) -> date:
    """The session the trade stops occupying its ticker (date.max: still waiting or held)."""
    if outcome.exit_date is not None:
        return outcome.exit_date
    if outcome.status == "expired" and bars is not None:
        later = after(bars, day)
        return later.dates[buy_window - 1].item()
    return date.max


def _adjust_with(factors: pd.DataFrame) -> Adjust:
    """History as a scan of `day` reads it: only the actions with ex-dates up to `day`."""
    ex = pd.to_datetime(factors["ex_date"]).dt.date

    def adjust(bars: pd.DataFrame, day: date) -> pd.DataFrame:
        known = factors[(ex <= day).to_numpy()]
        return adjust_bars(bars, known).drop(columns="adj_factor") if not known.empty else bars

    return adjust


def _forward_returns(tickers: list[str], by_ticker: dict[str, Bars], actions: dict[str, Actions], day: date,
                     gate: str, horizon: int) -> list[ForwardReturn]:
    out = []
    target = np.datetime64(day, "D")
    for ticker in tickers:
        bars = by_ticker.get(ticker)
        if bars is None:
            continue
        i = int(np.searchsorted(bars.dates, target))
        if i >= len(bars) or bars.dates[i] != target or i + horizon >= len(bars):
            continue  # no close that day, or not enough later sessions yet
        # The later close in the session's shares: a split in between is not a loss.
        later = float(bars.close[i + horizon] * share_multiplier(bars.dates[i + horizon:i + horizon + 1], day,
                                                                   actions.get(ticker))[0])
        out.append(ForwardReturn(day, ticker, gate, later / float(bars.close[i]) - 1.0))
    return out
