"""The database side of a backtest: sessions, bars, corporate actions, instruments and the
gate of each day.

The gate of a session is, in order:

1. **stored**: the latest MarketGate row of that trading date (what a live scan that
   day used, scanning.gate_status_for);
2. **recomputed**: the gate after that close from the stored index bars and breadth,
   with the daily hysteresis carried from day to day (marketgate.gate.replay.gate_series,
   the formula the live gate runs), for days the system was not running;
3. **none**: no index data either; the cap treats it as YELLOW, as a live scan would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from marketgate.data.adjustment_store import stored_factors
from marketgate.gate.replay import gate_series
from marketgate.gate.service import params as gate_params
from marketgate.models import BreadthDay, DailyBar, IndexBar, MarketGate
from signals.backtest.walk_forward import BacktestRun, GateDay, walk_forward, window_sessions
from signals.outcomes.rules import DEFAULT_BUY_WINDOW
from signals.scanner.params import ScanParams
from signals.scans import loading
from signals.scans.service import gate_status_for

# Sessions of index history before the range over which the hysteresis settles.
GATE_WARM_UP_DAYS = 120


class BacktestError(Exception):
    """A backtest that cannot run as asked; the message says why."""


@dataclass(frozen=True)
class GateTimeline:
    days: dict[date, GateDay]

    def __call__(self, day: date) -> GateDay:
        return self.days.get(day, GateDay(None))


def sessions_between(start: date, end: date) -> list[date]:
    return list(DailyBar.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True)
                .distinct().order_by("date"))


def gate_timeline(sessions: list[date]) -> GateTimeline:
    if not sessions:
        return GateTimeline({})
    days: dict[date, GateDay] = {}
    stored = (MarketGate.objects.filter(trading_date__gte=sessions[0], trading_date__lte=sessions[-1])
              .order_by("trading_date", "computed_at", "id").values_list("trading_date", "level"))
    levels = dict(stored)  # the day's last level, for display
    for day in sessions:
        if day in levels:
            # The very status a live scan of that day caps with.
            days[day] = GateDay(gate_status_for(day), levels[day], "stored")
    missing = [d for d in sessions if d not in days]
    if missing:
        for day, gate in recomputed_gates(missing[0], missing[-1]).items():
            if day in missing:
                days[day] = gate
    return GateTimeline(days)


def recomputed_gates(start: date, end: date) -> dict[date, GateDay]:
    """The gate after each close from the stored index bars and breadth (empty without them)."""
    frames = {}
    for name in ("KOSPI", "KOSDAQ"):
        rows = IndexBar.objects.filter(index=name, date__lte=end).values("date", "close", "volume")
        frame = pd.DataFrame.from_records(list(rows), columns=["date", "close", "volume"])
        frames[name] = frame if not frame.empty else None
    if frames["KOSPI"] is None and frames["KOSDAQ"] is None:
        return {}
    breadth = {}
    for market in ("KOSPI", "KOSDAQ"):
        rows = BreadthDay.objects.filter(market=market, date__lte=end).values(
            "date", "advances", "declines", "new_highs", "new_lows", "pct_above_ma50")
        frame = pd.DataFrame.from_records(list(rows))
        if not frame.empty:
            breadth[market] = frame
    base = frames["KOSPI"] if frames["KOSPI"] is not None else frames["KOSDAQ"]
    assert base is not None
    index_days = sorted(d for d in base["date"] if start - timedelta(days=GATE_WARM_UP_DAYS) <= d <= end)
    table = gate_series(frames["KOSPI"], frames["KOSDAQ"], breadth, dates=sorted(set(index_days) | {start, end}),
                        params=gate_params())
    if table.empty:
        return {}
    return {
        pd.Timestamp(row.date).date(): GateDay(str(row.status), int(row.level), "recomputed")
        for row in table.itertuples(index=False)
    }


def run_backtest(
    start: date,
    end: date,
    *,
    market: str = "ALL",
    params: ScanParams | None = None,
    buy_window: int = DEFAULT_BUY_WINDOW,
    forward_sessions: int = 20,
    progress: Callable[[str, float], None] | None = None,
) -> BacktestRun:
    """Load what the range needs from the database (the bars before it for the scans,
    every bar after it for the outcomes) and walk forward."""
    if end < start:
        raise BacktestError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    sessions = sessions_between(start, end)
    if not sessions:
        raise BacktestError(
            f"No daily bars between {start.isoformat()} and {end.isoformat()}: import them first (manage.py import_bars)"
        )
    params = params or ScanParams()
    first = loading.bar_window_start(sessions[0], window_sessions(params))
    last = loading.latest_bar_date(date.max)
    assert first is not None and last is not None
    if progress:
        progress("load", 0.0)
    bars = loading.load_bars(first, last)
    instruments = loading.load_instruments()
    gates = gate_timeline(sessions)
    # Corporate actions inside the loaded bars, as import_bars / the ingest stored them: each
    # session's scan reads history adjusted only for those up to it (as a live scan of that
    # date does, scanning.py), and outcomes read later bars in the signal day's shares.
    factors = stored_factors()
    factors = factors[(factors["ex_date"] > first) & (factors["ex_date"] <= last)]
    return walk_forward(bars, instruments, sessions, gates, market=market, params=params, buy_window=buy_window,
                        forward_sessions=forward_sessions, progress=progress, factors=factors)
