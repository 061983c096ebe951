"""Load the gate's inputs from the database and the live index, compute, save a row.

Orchestration only: the formula is marketgate.gate.formula (pure). The tasks, `compute_gate`
and `seed_demo` all call compute_and_save(); the daily ingest calls final_row() through
it (`on_date`) once a session's bars are stored.

Rows are ordered by trading date then slot (models.MarketGate). Three kinds exist:
`live` (in session, provisional, the feed's index values and their as_of), `close`
(the final gate of a session: the hysteresis chain) and `previous_close` (in session
without a live index: the last close's gate, dated with that session).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketgate import calendar
from marketgate.data.providers.base import MarketDataProvider, get_provider
from marketgate.gate.formula import GateResult, compute_gate
from marketgate.gate.inputs import BreadthHistory, IndexHistory, LiveIndex, PreviousGate
from marketgate.gate.live_index import LiveValue, live_values
from marketgate.gate.params import GateParams
from marketgate.gate.period import gate_period_seconds
from marketgate.gate.replay import breadth_history_from_frame
from marketgate.models import BreadthDay, GateBasis, IndexBar, MarketGate

log = logging.getLogger(__name__)

# 252 sessions for the drawdown high plus room for MA120 and distribution windows.
HISTORY_SESSIONS = 300
SECTOR_SIGNAL_PCT = 1.0
# An index whose last bar is older than this before a gate date is not covered then
# (takes no part) rather than missing that session.
STALE_INDEX_DAYS = 30


@dataclass(frozen=True)
class GateOutcome:
    saved: MarketGate | None
    row: MarketGate | None  # the unsaved row on --dry-run
    reason: str


def market_now(provider: MarketDataProvider, now: datetime) -> datetime:
    """Market time: the demo's simulated clock, or the wall clock."""
    simulated = getattr(provider, "simulated_now", None)
    return simulated(now) if callable(simulated) else now


def params() -> GateParams:
    return GateParams.from_overrides(settings.GATE_PARAMS) if settings.GATE_PARAMS else GateParams()


def index_history(name: str, until: date, *, include_until: bool) -> IndexHistory | None:
    rows = IndexBar.objects.filter(index=name, date__lte=until)
    if not include_until:
        rows = rows.filter(date__lt=until)
    data = list(rows.order_by("-date").values_list("date", "close", "volume")[:HISTORY_SESSIONS])
    if not data:
        return None
    data.reverse()
    dates, closes, volumes = zip(*data, strict=True)
    return IndexHistory(name, dates, np.array(closes, dtype=float),
                        np.array([np.nan if v is None else v for v in volumes], dtype=float))


def breadth_history(market: str, until: date) -> BreadthHistory | None:
    rows = BreadthDay.objects.filter(market=market, date__lte=until).order_by("-date").values(
        "date", "advances", "declines", "new_highs", "new_lows", "pct_above_ma50"
    )[:60]
    frame = pd.DataFrame.from_records(list(rows))
    if frame.empty:
        return None
    return breadth_history_from_frame(frame)


def previous_gate(day: date) -> PreviousGate | None:
    """Hysteresis' previous for `day`: the newest final row of an earlier session, so a
    colour moves by sessions, never by five-minute runs, and a backfill never sees a
    later day (no look-ahead)."""
    last = MarketGate.objects.final_before(day)
    if last is None:
        return None
    return PreviousGate(last.status, last.level, last.pending_status or None,  # type: ignore[arg-type]
                        last.pending_count)


def slot_for(moment: datetime) -> datetime:
    period = gate_period_seconds()  # the schedule as edited in admin: one row per run
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, tz=moment.tzinfo)


def sectors(provider: MarketDataProvider, market_time: datetime) -> list[dict[str, object]]:
    quotes = provider.sectors(market_time) or []
    return [
        {**q, "signal": "bullish" if q["change_pct"] > SECTOR_SIGNAL_PCT
         else "bearish" if q["change_pct"] < -SECTOR_SIGNAL_PCT else "neutral"}
        for q in quotes
    ]


def compute_and_save(
    now: datetime | None = None,
    *,
    provider: MarketDataProvider | None = None,
    on_date: date | None = None,
    dry_run: bool = False,
    require_session: bool = True,
) -> GateOutcome:
    """The gate now, or the final gate of the session `on_date`.

    In session: from the live index values (the feed's, else the provider's), marked
    provisional with their own as_of; without them, a row labelled previous-close that
    carries the last close's date and as_of. Outside the session (task mode) nothing is
    saved; with require_session=False the last session's final gate is computed. With no
    index data at all there is no row (never a default).
    """
    now = now or timezone.now()
    provider = provider or get_provider()
    if on_date is not None:
        return _save(final_row(on_date, provider, now), dry_run)
    market_time = market_now(provider, now)
    state = calendar.session_state(market_time)
    if state != "open":
        if require_session:
            return GateOutcome(None, None, f"market is {state}; nothing computed")
        return _save(final_row(calendar.trading_date(market_time), provider, now), dry_run)
    today = calendar.trading_date(market_time)
    live = live_values(provider, now, today)
    if live:
        return _save(_live_row(today, live, provider, now, market_time), dry_run)
    return _previous_close(today, provider, now, dry_run)


@dataclass(frozen=True)
class _Planned:
    row: MarketGate | None
    reason: str


def final_row(day: date, provider: MarketDataProvider, now: datetime) -> _Planned:
    """The final (non-provisional) gate of session `day` from its stored closing bars."""
    histories = {name: index_history(name, day, include_until=True) for name in ("KOSPI", "KOSDAQ")}
    missing = [name for name, h in histories.items() if h is not None and _misses(h, day)]
    if missing:
        return _Planned(None, f"no {'/'.join(missing)} bar for {day} (ingest the session first); no gate row")
    hours = calendar.session_hours(day)
    as_of = hours[1] if hours else datetime.combine(day, calendar.REGULAR_CLOSE, calendar.KST)
    result = compute_gate(histories["KOSPI"], histories["KOSDAQ"], _breadth(day), as_of_date=day,
                          previous=previous_gate(day), params=params())
    if result is None:
        return _Planned(None, f"no index data up to {day}; no gate row")
    row = _row(result, basis=GateBasis.CLOSE, session="closed", as_of=as_of, now=now,
               source=provider.name, slot=as_of, sectors=[])
    return _Planned(row, "")


def _misses(history: IndexHistory, day: date) -> bool:
    """True when an index that was trading around `day` has no bar for it; an index
    whose data ends long before (not covered then) simply takes no part."""
    last = history.dates[-1]
    return last < day and (day - last).days <= STALE_INDEX_DAYS


def _live_row(today: date, live: dict[str, LiveValue], provider: MarketDataProvider, now: datetime,
              market_time: datetime) -> _Planned:
    fraction = calendar.elapsed_fraction(market_time)
    inputs = {name: LiveIndex(v.value, v.volume, v.as_of, fraction) for name, v in live.items()}
    histories = {name: index_history(name, today, include_until=False) for name in ("KOSPI", "KOSDAQ")}
    result = compute_gate(histories["KOSPI"], histories["KOSDAQ"], _breadth(today), as_of_date=today,
                          live=inputs, previous=previous_gate(today), params=params())
    if result is None:
        return _Planned(None, f"no index data up to {today}; no gate row")
    as_of = min(v.as_of for v in live.values())  # the older of the two: never fresher than the data
    source = next(iter(live.values())).source or provider.name
    row = _row(result, basis=GateBasis.LIVE, session="open", as_of=as_of, now=now, source=source,
               slot=slot_for(now), sectors=sectors(provider, market_time))
    return _Planned(row, "")


def _previous_close(today: date, provider: MarketDataProvider, now: datetime, dry_run: bool) -> GateOutcome:
    """In session without a live index: the last close's gate, labelled as such, dated
    with that session (never today), its final row computed first when missing."""
    last = IndexBar.objects.filter(date__lt=today).order_by("-date").values_list("date", flat=True).first()
    if last is None:
        return GateOutcome(None, None, f"no live index and no close before {today}; no gate row")
    final = MarketGate.objects.final().filter(trading_date=last).latest_first().first()
    if final is None:
        planned = final_row(last, provider, now)
        if planned.row is None:
            return GateOutcome(None, None, planned.reason)
        final = planned.row if dry_run else _save(planned, False).saved
    assert final is not None
    row = MarketGate(**{f.name: getattr(final, f.name) for f in MarketGate._meta.concrete_fields if f.name != "id"})
    row.basis, row.session, row.provisional = GateBasis.PREVIOUS_CLOSE, "open", False
    row.computed_at, row.slot = now, slot_for(now)
    outcome = _save(_Planned(row, ""), dry_run)
    return GateOutcome(outcome.saved, outcome.row, f"no live index: previous close of {last}; {outcome.reason}")


def _breadth(day: date) -> dict[str, BreadthHistory]:
    return {m: b for m in ("KOSPI", "KOSDAQ") if (b := breadth_history(m, day)) is not None}


def _row(result: GateResult, *, basis: str, session: str, as_of: datetime, now: datetime, source: str,
         slot: datetime, sectors: list[dict[str, object]]) -> MarketGate:
    kospi, kosdaq = result.index("KOSPI"), result.index("KOSDAQ")
    return MarketGate(
        status=result.status, level=result.level,
        kospi=_round(kospi.close if kospi else None), kospi_change_pct=_round(kospi.change_pct if kospi else None),
        kosdaq=_round(kosdaq.close if kosdaq else None),
        kosdaq_change_pct=_round(kosdaq.change_pct if kosdaq else None),
        sectors=sectors, components=list(result.to_components_json()), session=session,
        provisional=result.provisional, trading_date=result.as_of_date, as_of=as_of, computed_at=now,
        source=source[:16], slot=slot, basis=basis, pending_status=result.pending_status or "",
        pending_count=result.pending_count,
    )


def _save(planned: _Planned, dry_run: bool) -> GateOutcome:
    row = planned.row
    if row is None:
        return GateOutcome(None, None, planned.reason)
    if dry_run:
        return GateOutcome(None, row, "dry run: not saved")
    with transaction.atomic():
        fields = {f.name: getattr(row, f.name) for f in MarketGate._meta.concrete_fields if f.name not in ("id", "slot")}
        saved, _ = MarketGate.objects.update_or_create(slot=row.slot, defaults=fields)
    return GateOutcome(saved, saved, f"saved {saved.status} {saved.level} ({saved.basis}, {saved.trading_date})")


def _round(value: float | None, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), digits)


def recent_window(end: date, sessions: int = 330) -> tuple[date, date]:
    """(start, end) covering `sessions` KRX sessions up to `end` (calendar days, generous)."""
    return end - timedelta(days=int(sessions * 1.5) + 10), end
