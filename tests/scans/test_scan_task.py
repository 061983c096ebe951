"""The scheduled scan task: trading days only, idempotent, failures recorded, bounded retries."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
import time_machine
from django.db import OperationalError, connection

from marketgate.calendar import KST
from signals import tasks
from signals.models import ScanRun, Signal
from signals.scans import service
from signals.scans.service import ScanRequest, queue_run
from tests.scan_market import AS_OF, vcp_market


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(service, "broadcast_signals", lambda d: None)
    settings.SCAN_RETRY_BACKOFF_SECONDS = 0


def _failing_first(times: int, exc: Exception):  # type: ignore[no-untyped-def]
    real, calls = service.scan, []

    def fake(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= times:
            raise exc
        return real(*args, **kwargs)

    return fake, calls


@pytest.mark.django_db
def test_the_scheduled_scan_skips_a_day_the_krx_does_not_trade() -> None:
    vcp_market()
    with time_machine.travel(datetime(2025, 6, 14, 16, 45, tzinfo=KST)):  # a Saturday
        result = tasks.scan_vcp.apply().get()
    assert result["skipped"] is True and result["date"] == "2025-06-14"
    assert not ScanRun.objects.exists()


@pytest.mark.django_db
def test_the_scheduled_scan_on_a_trading_day_scans_that_session_in_kst() -> None:
    vcp_market()
    # 07:45 UTC on Monday 16 June is 16:45 KST the same day (the session is over).
    with time_machine.travel(datetime(2025, 6, 16, 7, 45, tzinfo=UTC)):
        result = tasks.scan_vcp.apply().get()
    assert result["signal_date"] == "2025-06-16" and result["signal_count"] == 1
    run = ScanRun.objects.get()
    assert run.triggered_by == "schedule" and run.status == "succeeded"


@pytest.mark.django_db
def test_a_scheduled_scan_without_the_days_bars_fails_and_says_why() -> None:
    vcp_market()
    with time_machine.travel(datetime(2025, 6, 17, 16, 45, tzinfo=KST)):
        outcome = tasks.scan_vcp.apply()
    assert outcome.failed()
    run = ScanRun.objects.get()
    assert run.status == "failed" and "No daily bars for 2025-06-17" in run.error


@pytest.mark.django_db
def test_a_queued_run_is_run_and_a_redelivered_one_is_not_run_twice() -> None:
    vcp_market()
    run = queue_run(ScanRequest(market="KOSPI", as_of=AS_OF, triggered_by="api:boss"))
    first = tasks.scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    assert first["run_id"] == run.pk and first["signal_count"] == 1
    again = tasks.scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    assert again == {"run_id": run.pk, "skipped": True, "reason": "already succeeded"}
    run.refresh_from_db()
    assert run.status == "succeeded" and run.parameters["market"] == "KOSPI"
    assert Signal.objects.count() == 1


@pytest.mark.django_db
def test_a_database_error_is_retried_on_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    vcp_market()
    fake, calls = _failing_first(2, OperationalError("server closed the connection unexpectedly"))
    monkeypatch.setattr(service, "scan", fake)
    run = queue_run(ScanRequest(as_of=AS_OF))
    result = tasks.scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    assert len(calls) == 3 and result["signal_count"] == 1
    assert ScanRun.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_retries_are_bounded_and_the_run_keeps_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    vcp_market()
    fake, calls = _failing_first(99, OperationalError("could not connect to server"))
    monkeypatch.setattr(service, "scan", fake)
    run = queue_run(ScanRequest(as_of=AS_OF))
    outcome = tasks.scan_vcp.apply(kwargs={"run_id": run.pk})
    assert outcome.failed() and len(calls) == tasks.MAX_RETRIES + 1
    run.refresh_from_db()
    assert run.status == "failed" and "could not connect to server" in run.error and "gave up" in run.error


def test_the_backoff_doubles(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SCAN_RETRY_BACKOFF_SECONDS = 30
    assert [tasks.retry_countdown(n) for n in range(3)] == [30, 60, 120]


def test_the_task_is_acknowledged_late_and_has_time_limits() -> None:
    assert tasks.scan_vcp.acks_late is True and tasks.scan_vcp.reject_on_worker_lost is True
    assert 0 < tasks.scan_vcp.soft_time_limit < tasks.scan_vcp.time_limit
    assert tasks.scan_vcp.name == "signals.tasks.scan_vcp"


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_scan_marks_the_run_failed_then_the_retry_succeeds(monkeypatch) -> None:
    vcp_market()
    real, calls = service.scan, []

    def drop_connection_then_scan(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            # Another session kills this one's backend, as a database restart would.
            pid = connection.connection.info.backend_pid
            db = connection.settings_dict
            with psycopg.connect(host=db["HOST"] or "localhost", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                                 dbname=db["NAME"], autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "scan", drop_connection_then_scan)
    failures: list[str] = []
    real_mark_failed = service.mark_failed
    monkeypatch.setattr(service, "mark_failed", lambda run_id, error: (failures.append(error), real_mark_failed(run_id, error)))
    run = queue_run(ScanRequest(as_of=AS_OF))
    result = tasks.scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    assert len(failures) == 1 and "OperationalError" in failures[0]  # recorded on a fresh connection
    assert len(calls) == 2 and result["signal_count"] == 1
    assert ScanRun.objects.get().status == "succeeded" and Signal.objects.count() == 1


@pytest.mark.django_db
def test_a_retry_that_finds_the_database_still_down_retries_again(monkeypatch: pytest.MonkeyPatch) -> None:
    vcp_market()
    run = queue_run(ScanRequest(as_of=AS_OF))
    real_fail_abandoned, calls = service.fail_abandoned_runs, []

    def down_twice(now):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= 2:  # the first queries of the task, before the run is even read
            raise OperationalError("connection refused")
        return real_fail_abandoned(now)

    monkeypatch.setattr(tasks, "fail_abandoned_runs", down_twice)
    result = tasks.scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    assert len(calls) == 3 and result["signal_count"] == 1
    assert ScanRun.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_a_run_left_running_past_twice_the_time_limit_is_failed_by_the_next_scan(settings) -> None:  # type: ignore[no-untyped-def]
    vcp_market()
    settings.SCAN_TIME_LIMIT = 300
    now = datetime(2025, 6, 16, 7, 0, tzinfo=UTC)
    old = ScanRun.objects.create(status="running", started_at=datetime(2025, 6, 16, 6, 49, tzinfo=UTC))
    recent = ScanRun.objects.create(status="running", started_at=datetime(2025, 6, 16, 6, 55, tzinfo=UTC))
    assert service.fail_abandoned_runs(now) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "failed" and "abandoned" in old.error and old.finished_at == now
    assert recent.status == "running"


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_during_the_bulk_read_is_a_database_error_the_task_retries() -> None:
    vcp_market()
    pid = connection.cursor().connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "localhost", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                         dbname=db["NAME"], autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):  # Django's, as from every other query
        service.loading.load_bars(AS_OF, AS_OF)
    connection.close()
