"""Load the gate's inputs from the database and the live provider, compute, save a row.

Orchestration only: the formula is marketgate.gate (pure). The task, `compute_gate`
and `seed_demo` all call compute_and_save().
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
from marketgate.gate import compute_gate
from marketgate.gate_inputs import BreadthHistory, IndexHistory, LiveIndex, PreviousGate
from marketgate.gate_params import GateParams
from marketgate.history import breadth_history_from_frame
from marketgate.models import BreadthDay, IndexBar, MarketGate
from marketgate.providers.base import MarketDataProvider, get_provider

log = logging.getLogger(__name__)

# 252 sessions for the drawdown high plus room for MA120 and distribution windows.
HISTORY_SESSIONS = 300
SECTOR_SIGNAL_PCT = 1.0


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


def previous_gate() -> PreviousGate | None:
    last = MarketGate.latest()
    return PreviousGate(last.status, last.level) if last else None  # type: ignore[arg-type]


def slot_for(moment: datetime) -> datetime:
    period = max(1, settings.GATE_PERIOD_SECONDS)
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
    """The gate now (live index as the provisional close) or after the close of `on_date`.

    In session, or for an explicit date, it computes; outside the session (task mode)
    it saves nothing new and the last row reads as closed. With no index data at all
    there is no row (never a default).
    """
    now = now or timezone.now()
    provider = provider or get_provider()
    market_time = market_now(provider, now)
    state = calendar.session_state(market_time)
    live: dict[str, LiveIndex] = {}
    if on_date is None:
        if require_session and state != "open":
            return GateOutcome(None, None, f"market is {state}; nothing computed")
        gate_date = calendar.trading_date(market_time)
        if state == "open":
            fraction = calendar.elapsed_fraction(market_time)
            for name in ("KOSPI", "KOSDAQ"):
                quote = provider.live_index(name, now)  # type: ignore[arg-type]
                if quote is not None:
                    live[name] = LiveIndex(quote.value, quote.volume, quote.as_of, fraction)
        as_of = market_time
    else:
        gate_date = on_date
        hours = calendar.session_hours(on_date)
        as_of = hours[1] if hours else datetime.combine(on_date, datetime.min.time(), calendar.KST)
    include_today = not live
    histories = {name: index_history(name, gate_date, include_until=include_today) for name in ("KOSPI", "KOSDAQ")}
    breadth = {m: b for m in ("KOSPI", "KOSDAQ") if (b := breadth_history(m, gate_date)) is not None}
    result = compute_gate(histories["KOSPI"], histories["KOSDAQ"], breadth, as_of_date=gate_date,
                          live=live or None, previous=previous_gate(), params=params())
    if result is None:
        return GateOutcome(None, None, f"no index data up to {gate_date}; no gate row")
    kospi, kosdaq = result.index("KOSPI"), result.index("KOSDAQ")
    row = MarketGate(
        status=result.status, level=result.level,
        kospi=_round(kospi.close if kospi else None), kospi_change_pct=_round(kospi.change_pct if kospi else None),
        kosdaq=_round(kosdaq.close if kosdaq else None),
        kosdaq_change_pct=_round(kosdaq.change_pct if kosdaq else None),
        sectors=sectors(provider, market_time) if live else [],
        components=list(result.to_components_json()),
        session=state if on_date is None else "closed",
        provisional=result.provisional, trading_date=gate_date, as_of=as_of, computed_at=now,
        source=provider.name, slot=slot_for(now) if on_date is None else as_of,
    )
    if dry_run:
        return GateOutcome(None, row, "dry run: not saved")
    with transaction.atomic():
        fields = {f.name: getattr(row, f.name) for f in MarketGate._meta.concrete_fields if f.name not in ("id", "slot")}
        saved, _ = MarketGate.objects.update_or_create(slot=row.slot, defaults=fields)
    return GateOutcome(saved, saved, f"saved {saved.status} {saved.level}")


def _round(value: float | None, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(float(value), digits)


def recent_window(end: date, sessions: int = 330) -> tuple[date, date]:
    """(start, end) covering `sessions` KRX sessions up to `end` (calendar days, generous)."""
    return end - timedelta(days=int(sessions * 1.5) + 10), end
