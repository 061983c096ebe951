"""Fault: PostgreSQL restarts while a scan runs (a private cluster: the shared one on 5432
is never touched). A real Celery worker scans a demo market big enough that the scan
takes seconds; the cluster is restarted (`pg_ctl restart -m fast`, which ends every
backend) once the ScanRun is `running`.

What must survive: the worker process; the ScanRun, which ends `succeeded` after a retry
or `failed` with the error recorded, never stuck in `running`; the signals of that day,
all of them (a succeeded run) or none (a failed one), never part of a scan; and the next
scan, which succeeds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest

from tests.processes import manage, worker
from tests.services import PrivatePostgres, pg_available

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not pg_available(), reason="needs PostgreSQL server binaries (initdb, pg_ctl) and runuser"),
]

# 1,500 demo tickers x 320 sessions: the scan spends a few seconds reading and computing.
TICKERS = os.environ.get("FAULT_PG_TICKERS", "1500")
QUEUE_SCAN = (
    "from signals.scans.service import ScanRequest; from signals.tasks import queue_scan; "
    "print(queue_scan(ScanRequest(triggered_by='api')).pk)"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().init()
    try:
        for args in (("migrate", "--noinput"), ("seed_demo",)):
            done = manage(*args, timeout=600, DATABASE_URL=pg.url(), DEMO_TICKERS=TICKERS)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield pg
    finally:
        pg.destroy()


def query(pg: PrivatePostgres, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A fresh connection per query: the cluster goes away under the test on purpose."""
    with psycopg.connect(pg.url().split("?")[0], autocommit=True, connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def run_state(pg: PrivatePostgres, run_id: int) -> tuple[str, str, date | None, int | None] | None:
    try:
        rows = query(pg, "SELECT status, error, trading_date, signal_count FROM signals_scanrun WHERE id = %s", run_id)
    except psycopg.OperationalError:
        return None  # the cluster is down right now
    return rows[0] if rows else None


def queue_scan(pg: PrivatePostgres) -> int:
    done = manage("shell", "-c", QUEUE_SCAN, timeout=120, DATABASE_URL=pg.url(), DEMO_TICKERS=TICKERS)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def wait_for_status(pg: PrivatePostgres, run_id: int, wanted: set[str], timeout: float, poll: float = 0.1) -> str:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        state = run_state(pg, run_id)
        if state is not None:
            status = state[0]
            if status in wanted:
                return status
        time.sleep(poll)
    raise AssertionError(f"scan run {run_id} still {status!r} after {timeout}s")


def wait_for_ready(proc: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.alive(), proc.output()[-3000:]
        if " ready." in proc.output():
            return
        time.sleep(0.2)
    raise AssertionError("worker not ready: " + proc.output()[-3000:])


@pytest.mark.parametrize(
    ("down_seconds", "backoff"),
    [
        pytest.param(1.0, "2", id="back-before-the-first-retry"),
        pytest.param(2.5, "1", id="still-down-at-the-first-retry"),
    ],
)
def test_postgres_restart_during_a_scan(cluster: PrivatePostgres, down_seconds: float, backoff: str) -> None:
    scan_worker = worker(
        DATABASE_URL=cluster.url(), DEMO_TICKERS=TICKERS,
        # Short retry backoffs so the test sees the retries; production waits 30 s, 60 s...
        SCAN_RETRY_BACKOFF_SECONDS=backoff,
        # The scan reads its bars from PostgreSQL, not from the bar cache file (which the
        # demo's own first scan built): the restart must land while it reads.
        BAR_CACHE_SESSIONS="0",
    ).start()
    try:
        wait_for_ready(scan_worker)
        run_id = queue_scan(cluster)
        wait_for_status(cluster, run_id, {"running"}, timeout=60, poll=0.05)
        assert run_state(cluster, run_id)[0] == "running"  # type: ignore[index]
        cluster.restart(down_seconds=down_seconds, mode="fast")  # every backend is terminated mid-scan

        final = wait_for_status(cluster, run_id, {"succeeded", "failed"}, timeout=180, poll=0.5)
        status, error, trading_date, signal_count = run_state(cluster, run_id)  # type: ignore[misc]
        log = scan_worker.output()
        assert scan_worker.alive(), log[-3000:]
        # The fault really hit this scan: the worker saw the database go away.
        assert "database error, retry" in log or final == "failed", log[-3000:]
        if final == "failed":
            assert error, "a failed run records why"
            assert query(cluster, "SELECT count(*) FROM signals_signal WHERE scan_run_id = %s", run_id)[0][0] == 0
        else:
            stored = query(cluster, "SELECT count(*) FROM signals_signal WHERE signal_date = %s", trading_date)[0][0]
            assert stored == signal_count and error == ""
        assert not query(cluster, "SELECT id FROM signals_scanrun WHERE status IN ('running', 'queued')")

        # The next scan, on the recovered cluster, succeeds and stores the whole day.
        again = queue_scan(cluster)
        assert wait_for_status(cluster, again, {"succeeded", "failed"}, timeout=180, poll=0.5) == "succeeded", (
            run_state(cluster, again), scan_worker.output()[-3000:]
        )
        _, _, day, count = run_state(cluster, again)  # type: ignore[misc]
        assert query(cluster, "SELECT count(*) FROM signals_signal WHERE signal_date = %s", day)[0][0] == count
        assert scan_worker.alive()
    finally:
        scan_worker.stop()
