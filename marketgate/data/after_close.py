"""After the close: store every session missing since the last stored bar, compute each
one's final gate in order, then hand the newest session to the scan.

The schedule fires every few minutes in the afternoon; the calendar decides: a session
is due once its own close (16:30 on the exam day, 15:30 otherwise) plus
INGEST_DELAY_MINUTES has passed, so a late close is never fetched early, and a run that
was missed (worker down, provider failure) is caught up by the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max

from marketgate import calendar
from marketgate.data.ingest import IngestReport, ingest
from marketgate.data.providers.base import MarketDataProvider
from marketgate.gate.service import compute_and_save
from marketgate.models import BarFetchFailure, IndexBar, MarketGate

log = logging.getLogger(__name__)


@dataclass
class DailyReport:
    sessions: list[date] = field(default_factory=list)  # ingested
    gates: list[str] = field(default_factory=list)  # final gates computed
    ingest: IngestReport | None = None
    waiting: str = ""  # why nothing was due

    def summary(self) -> str:
        days = ", ".join(d.isoformat() for d in self.sessions) or f"none ({self.waiting or 'nothing due'})"
        text = f"sessions ingested: {days}; final gates: {'; '.join(self.gates) or 'none missing'}"
        return f"{text}; {self.ingest.summary()}" if self.ingest else text


def last_closed_session(moment: datetime) -> date | None:
    """The newest session whose close + the ingest delay is at or before `moment`."""
    delay = timedelta(minutes=settings.INGEST_DELAY_MINUTES)
    day = calendar.kst_date(moment)
    for _ in range(15):
        hours = calendar.session_hours(day)
        if hours is not None and hours[1] + delay <= moment:
            return day
        day = calendar.previous_session(day)
    return None


def sessions_between(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if calendar.is_session(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def due_sessions(moment: datetime) -> tuple[list[date], str]:
    """(sessions to ingest, oldest first; why none when empty)."""
    last = last_closed_session(moment)
    if last is None:
        return [], "no session has closed yet"
    stored = IndexBar.objects.filter(index="KOSPI").aggregate(latest=Max("date"))["latest"]
    if stored is None:
        return [last], ""
    if stored >= last:
        return [], f"{last} is stored already"
    missing = sessions_between(stored + timedelta(days=1), last)
    return missing[-settings.INGEST_CATCH_UP_SESSIONS:], ""


def sessions_without_final_gate(upto: date) -> list[date]:
    """Stored sessions (KOSPI bars) of the catch-up window that have no final gate yet."""
    window = upto - timedelta(days=2 * settings.INGEST_CATCH_UP_SESSIONS)
    stored = IndexBar.objects.filter(index="KOSPI", date__gt=window, date__lte=upto).values_list("date", flat=True)
    final = set(MarketGate.objects.final().filter(trading_date__gt=window).values_list("trading_date", flat=True))
    return sorted(d for d in stored if d not in final)


def run_daily(provider: MarketDataProvider, moment: datetime, now: datetime) -> DailyReport:
    report = DailyReport()
    due, report.waiting = due_sessions(moment)
    last = last_closed_session(moment)
    if not due and last is not None and BarFetchFailure.objects.exists():
        # Everything is stored but some tickers failed earlier: ask them again.
        retry = BarFetchFailure.objects.order_by("missing_since").values_list("missing_since", flat=True).first()
        report.ingest = ingest(provider, retry, last, per_ticker=True)
        report.waiting += f"; retried {report.ingest.bars} bars of earlier failures"
    if due:
        report.ingest = ingest(provider, due[0], due[-1], per_ticker=True)
        report.sessions = [d for d in due if IndexBar.objects.filter(index="KOSPI", date=d).exists()]
        lost = sorted(set(due) - set(report.sessions))
        if lost:
            log.warning("daily ingest: the provider has no KOSPI bar for %s yet", ", ".join(map(str, lost)))
    if last is not None:
        for day in sessions_without_final_gate(last):
            outcome = compute_and_save(now, provider=provider, on_date=day)
            report.gates.append(f"{day} {outcome.reason}")
    return report


def latest_final_session() -> date | None:
    row = MarketGate.objects.final().latest_first().values_list("trading_date", flat=True).first()
    return row
