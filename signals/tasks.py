"""The scheduled VCP scan (beat entry "scan-vcp", after the close on trading days).

Safe to deliver twice: the signals are upserted per (ticker, type, date) and a run that
already succeeded is not run again. Acknowledged late, so a worker lost mid-scan hands
the scan to another worker. A dropped database connection is retried a bounded number
of times with backoff, on the same ScanRun; every failure is recorded on the run.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from marketgate import calendar
from signals.models import ScanRun, ScanStatus
from signals.scans.service import (
    ScanError,
    ScanRequest,
    describe_error,
    fail_abandoned_runs,
    mark_failed,
    queue_run,
    run_scan,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 3


def retry_countdown(retries: int) -> int:
    """30 s, 60 s, 120 s...: long enough for a restarted database to come back."""
    base = int(getattr(settings, "SCAN_RETRY_BACKOFF_SECONDS", 30))
    return base * (2**retries)


@shared_task(
    bind=True,
    name="signals.tasks.scan_vcp",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=getattr(settings, "SCAN_SOFT_TIME_LIMIT", 240),
    time_limit=getattr(settings, "SCAN_TIME_LIMIT", 300),
    max_retries=MAX_RETRIES,
)
def scan_vcp(
    self: Any,
    run_id: int | None = None,
    market: str = "ALL",
    top_n: int | None = None,
    min_score: float | None = None,
    date: str | None = None,
) -> dict[str, Any]:
    """Scan and broadcast. With `run_id`, run that queued ScanRun (API, admin); without,
    the scheduled scan of today's session, skipped on a day the KRX does not trade."""
    now = timezone.now()
    run: ScanRun | None = None
    try:
        fail_abandoned_runs(now)
        if run_id is None:
            if date is None and not calendar.is_session(calendar.kst_date(now)):
                log.info("scan skipped: %s is not a KRX session", calendar.kst_date(now))
                return {"skipped": True, "reason": "not a trading day", "date": calendar.kst_date(now).isoformat()}
            try:
                request = ScanRequest(
                    market=market.upper(), top_n=top_n, min_score=min_score,
                    # The scheduled scan is of today's session: its bars must be there.
                    as_of=calendar.trading_date(now) if date is None else _parse_date(date),
                    triggered_by="schedule",
                )
            except ScanError as exc:
                log.error("scan refused: %s", exc)
                return {"failed": True, "error": str(exc)}
            run = queue_run(request)
        else:
            run = ScanRun.objects.filter(pk=run_id).first()
            if run is None:
                log.warning("scan run %s does not exist", run_id)
                return {"failed": True, "error": f"scan run {run_id} does not exist"}
            if run.status == ScanStatus.SUCCEEDED:
                return {"run_id": run.pk, "skipped": True, "reason": "already succeeded"}
            try:
                request = ScanRequest.from_parameters(run.parameters, triggered_by=run.triggered_by)
            except (ScanError, ValueError, TypeError) as exc:
                mark_failed(run.pk, f"bad parameters: {exc}")
                return {"run_id": run.pk, "failed": True, "error": str(exc)}
        outcome = run_scan(request, run=run, now=now)
    except ScanError as exc:
        # Missing data or a bad request: retrying cannot help. The run says why, and the
        # task fails so the heartbeat and the monitoring see it too.
        log.error("scan run %s failed: %s", run.pk if run else run_id, exc)
        raise
    except OperationalError as exc:
        # The database went away: mid-scan (run_scan has marked the run failed if it
        # could) or before the run was even read (a retry that finds the database still
        # down). Either way the same run is tried again, a bounded number of times.
        run_id = run.pk if run is not None else run_id
        if self.request.retries >= self.max_retries:
            if run_id is not None:
                _record_failure(run_id, f"{describe_error(exc)} (gave up after {self.request.retries} retries)")
            raise
        countdown = retry_countdown(self.request.retries)
        log.warning("scan run %s: database error, retry in %ss: %s", run_id, countdown, exc)
        retry_kwargs: dict[str, Any] = {**_kwargs(market, top_n, min_score, date), "run_id": run_id}
        raise self.retry(exc=exc, countdown=countdown, kwargs=retry_kwargs) from exc
    return outcome.summary()


def _record_failure(run_id: int, error: str) -> None:
    try:
        mark_failed(run_id, error)
    except Exception:
        # The database is still down: the run stays `running` until a later scan finds
        # it past the time limit (fail_abandoned_runs).
        log.exception("could not record the failure of scan run %s", run_id)


def _kwargs(market: str, top_n: int | None, min_score: float | None, date: str | None) -> dict[str, Any]:
    return {"market": market, "top_n": top_n, "min_score": min_score, "date": date}


def _parse_date(value: str):  # type: ignore[no-untyped-def]
    from datetime import date as date_type

    try:
        return date_type.fromisoformat(value)
    except ValueError as exc:
        raise ScanError(f"bad date {value!r}: expected YYYY-MM-DD") from exc


def queue_scan(request: ScanRequest) -> ScanRun:
    """Create the queued run and hand it to a worker once the row is committed."""
    from django.db import transaction

    run = queue_run(request)
    transaction.on_commit(lambda: _send(run.pk))
    return run


def _send(run_id: int) -> None:
    try:
        scan_vcp.apply_async(kwargs={"run_id": run_id})
    except Exception as exc:  # broker down: the run must not sit "queued" forever
        log.exception("could not queue scan run %s", run_id)
        mark_failed(run_id, f"could not queue the scan: {describe_error(exc)}")


@shared_task(
    name="signals.tasks.update_signal_outcomes",
    acks_late=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=3,
)
def update_signal_outcomes() -> str:
    """After the daily ingest: resolve the open signals on the new bars, then send the
    latest list again so subscribers see its outcomes. Idempotent (a rerun changes nothing)."""
    from django.db import transaction

    from signals.models import Signal
    from signals.outcomes.service import update_outcomes
    from signals.push import broadcast_signals

    result = update_outcomes()
    latest = Signal.objects.latest_date()
    if result.changed and latest is not None:
        transaction.on_commit(lambda: broadcast_signals(latest), robust=True)
    log.info("update_signal_outcomes: %s", result.summary())
    return result.summary()
