"""Keep every signal's outcome current: after each daily ingest, read the new bars.

Only signals whose fate is still open (no outcome yet, pending or open) are read again;
expired, target and stop are final. The bars come from the database in one query per
run; halted and broken bars are skipped exactly as the scanner skips them. Bars after a
stored corporate action (a split's ex-date) are re-expressed in the signal day's shares,
the prices its entry, stop and target are in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
from django import dispatch
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketgate.data.adjustment_store import stored_factors
from marketgate.models import DailyBar
from signals.models import OutcomeStatus, Signal, SignalOutcome
from signals.outcomes.rules import Actions, Bars, Outcome, actions_by_ticker, bars_by_ticker, outcome_bars, resolve

log = logging.getLogger(__name__)

# Sent (with `signal_ids`) inside the transaction that stored them, for the signals whose
# outcome became target or stop in this run: bulk writes fire no post_save, and alerts
# listen here instead.
outcomes_exited = dispatch.Signal()
FINAL_EXITS = (OutcomeStatus.TARGET, OutcomeStatus.STOP)

OUTCOME_FIELDS = [
    "status", "sessions_seen", "fill_date", "fill_price", "exit_date", "exit_price", "gap", "last_date",
    "last_close", "r_multiple", "mfe_r", "mae_r", "days_held",
]


@dataclass(frozen=True)
class OutcomeRun:
    checked: int
    changed: int
    by_status: dict[str, int]

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        return f"{self.checked} signals checked, {self.changed} changed ({counts})"


def buy_window() -> int:
    return max(1, int(getattr(settings, "SIGNAL_BUY_WINDOW_SESSIONS", 5)))


def _load_bars(tickers: Iterable[str], start: date, until: date | None) -> dict[str, Bars]:
    rows = DailyBar.objects.filter(instrument_id__in=set(tickers), date__gt=start)
    if until is not None:
        rows = rows.filter(date__lte=until)
    values = rows.values_list("instrument_id", "date", "open", "high", "low", "close", "volume", "halted")
    frame = pd.DataFrame.from_records(
        list(values), columns=["ticker", "date", "open", "high", "low", "close", "volume", "halted"]
    )
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return bars_by_ticker(frame)


def _load_actions(tickers: Iterable[str], start: date) -> dict[str, Actions]:
    factors = stored_factors(tickers=tickers)
    return actions_by_ticker(factors[factors["ex_date"] > start])


def apply(outcome: Outcome, row: SignalOutcome) -> bool:
    """Copy `outcome` onto `row`; True when anything changed."""
    changed = False
    for name in OUTCOME_FIELDS:
        value = getattr(outcome, name)
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def update_outcomes(until: date | None = None, *, window: int | None = None) -> OutcomeRun:
    """Resolve every signal whose outcome is not final on the bars up to `until` (all)."""
    window = window or buy_window()
    open_statuses = [OutcomeStatus.PENDING, OutcomeStatus.OPEN]
    signals = list(
        Signal.objects.filter(Q(outcome__isnull=True) | Q(outcome__status__in=open_statuses))
        .select_related("outcome").order_by("signal_date", "ticker")
    )
    if not signals:
        return OutcomeRun(0, 0, {})
    tickers, first = {s.ticker for s in signals}, min(s.signal_date for s in signals)
    bars = _load_bars(tickers, first, until)
    actions = _load_actions(tickers, first)
    created: list[SignalOutcome] = []
    updated: list[SignalOutcome] = []
    by_status: dict[str, int] = {}
    exited: list[int] = []
    for signal in signals:
        try:
            result = resolve(signal.entry_price, signal.stop_loss, signal.target_price,
                             outcome_bars(bars.get(signal.ticker), signal.signal_date, actions.get(signal.ticker), until),
                             buy_window=window)
        except ValueError as exc:  # an edited row with stop >= entry: say so, keep going
            log.warning("signal %s has no outcome: %s", signal.pk, exc)
            continue
        existing = getattr(signal, "outcome", None)  # the reverse accessor raises an AttributeError subclass
        row = existing or SignalOutcome(signal=signal)
        before = existing.status if existing else None
        if apply(result, row) or existing is None:
            if row.status in FINAL_EXITS and row.status != before:
                exited.append(signal.pk)
            (updated if existing else created).append(row)
            by_status[result.status] = by_status.get(result.status, 0) + 1
    now = timezone.now()
    for row in updated:
        row.updated_at = now  # bulk_update skips auto_now
    with transaction.atomic():
        SignalOutcome.objects.bulk_create(created, batch_size=500)
        if updated:
            SignalOutcome.objects.bulk_update(updated, [*OUTCOME_FIELDS, "updated_at"], batch_size=500)
        if exited:
            outcomes_exited.send(sender=SignalOutcome, signal_ids=exited)
    return OutcomeRun(len(signals), len(created) + len(updated), by_status)
