"""Periodic market-data tasks. Idempotent: a redelivered or duplicated run changes nothing twice."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from celery.signals import worker_process_init
from django.db import OperationalError
from django.utils import timezone

from marketgate import calendar
from marketgate.data import intraday
from marketgate.data.after_close import run_daily
from marketgate.data.providers.base import ProviderError, get_provider
from marketgate.gate.service import compute_and_save, market_now
from marketgate.models import MarketGate

log = logging.getLogger(__name__)


@worker_process_init.connect(dispatch_uid="marketgate.calendar_warm_up")
def _warm_calendar(**kwargs: object) -> None:
    calendar.warm_up()  # seconds on a new machine: before the first task, not in it


@shared_task(
    name="marketgate.tasks.update_market_gate",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def update_market_gate() -> str:
    """In session: compute and save a gate row (its post_save broadcasts it)."""
    outcome = compute_and_save()
    log.info("update_market_gate: %s", outcome.reason)
    return outcome.reason


@shared_task(
    name="marketgate.tasks.ingest_daily_bars",
    acks_late=True,
    soft_time_limit=900,
    time_limit=1000,
    autoretry_for=(OperationalError, ProviderError),
    retry_backoff=60,
    max_retries=5,
)
def ingest_daily_bars() -> str:
    """After a session's close (by the calendar): store every session missing since the
    last stored bar, compute their final gates, then queue the scan of the newest."""
    provider = get_provider()
    now = timezone.now()
    report = run_daily(provider, market_now(provider, now), now)
    if report.sessions:
        queue_session_scan(report.sessions[-1])
    summary = report.summary()
    log.info("ingest_daily_bars: %s", summary)
    return summary


def queue_session_scan(day: date) -> None:
    """The scan of a freshly stored session, capped by that session's final gate."""
    from signals.scans.service import ScanRequest
    from signals.tasks import queue_scan

    if not MarketGate.objects.final().filter(trading_date=day).exists():
        log.warning("no final gate for %s: its scan is left to the schedule", day)
        return
    queue_scan(ScanRequest(as_of=day, triggered_by="ingest"))


# The name predates this module; beat rows in existing databases refer to it by name.
@shared_task(name="marketgate.tasks_intraday.store_intraday_bars", soft_time_limit=50, time_limit=55)
def store_intraday_bars() -> dict[str, int]:
    stored = 0
    while True:
        bars = intraday.take_pending_bars()
        try:
            stored += intraday.store_bars(bars)
        except Exception:
            intraday.requeue_bars(bars)  # for the next run rather than lost
            raise
        if len(bars) < intraday.BATCH:
            break
    daily = intraday.complete_daily_bars(timezone.localtime())
    if stored or daily:
        log.info("stored %d intraday bars, %d daily bars", stored, daily)
    return {"bars": stored, "daily": daily}
