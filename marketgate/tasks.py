"""Periodic market-data tasks. Idempotent: a redelivered or duplicated run changes nothing twice."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init
from django.db import OperationalError
from django.utils import timezone

from marketgate import calendar
from marketgate.gating import compute_and_save, market_now
from marketgate.ingest import ingest
from marketgate.providers.base import ProviderError, get_provider

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
    """After the close: store the session's bars, index bars and breadth."""
    provider = get_provider()
    moment = market_now(provider, timezone.now())
    day = calendar.kst_date(moment)
    if not calendar.is_session(day):
        return f"{day} is not a KRX session; nothing to ingest"
    if calendar.session_state(moment) != "closed":
        return f"{day}: the session has not closed yet; nothing to ingest"
    report = ingest(provider, day, day, listing=True)
    return f"{day}: {report.summary()}"


# Tasks living in other modules of this app, registered with the worker here
# (Celery's autodiscovery imports only `tasks`).
from marketgate import tasks_intraday  # noqa: E402,F401
