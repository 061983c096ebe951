"""Fault: a task that kills its own worker process (as an out-of-memory kill does), on a
real prefork worker. Tasks are acknowledged late and requeued when their worker is lost,
so without a cap it would be redelivered and rerun for ever. It runs TASK_MAX_DELIVERIES
times, then is dropped with an ERROR and a watchdog incident; the worker keeps serving
other tasks throughout."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable

import pytest

from stockgate.celery import app
from stockgate.models import WatchdogIncident
from stockgate.ops.redelivery_cap import SUBJECT_PREFIX
from stockgate.realtime.redis_conn import sync_client
from tests.faults.crashing_tasks import runs_key
from tests.processes import Proc, free_port, process_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CAP = 2


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def runs(marker: str) -> int:
    return int(sync_client().get(runs_key(marker)) or 0)


def test_a_task_that_kills_its_worker_runs_at_most_the_cap_and_the_worker_keeps_serving() -> None:
    """Survives: the worker (its parent process and its pool), every other task sent to
    it; the dropped task is recorded where ops look (log, watchdog incident)."""
    args = [sys.executable, "-m", "celery", "-A", "stockgate", "worker", "--loglevel", "INFO", "--pool", "prefork",
            "--concurrency", "1", "-n", f"crash{free_port()}@%h", "--without-gossip", "--without-mingle",
            "-I", "tests.faults.crashing_tasks"]
    worker = Proc("worker", args, process_env(TASK_MAX_DELIVERIES=str(CAP), WATCHDOG_IN_WORKER="false")).start()
    crash, other, later = (uuid.uuid4().hex for _ in range(3))
    try:
        sent = app.send_task("tests.crash_own_worker", kwargs={"marker": crash})
        app.send_task("tests.count_run", kwargs={"marker": other})
        wait_until(lambda: WatchdogIncident.objects.filter(subject__startswith=SUBJECT_PREFIX).exists(), 120,
                   f"the give-up to be recorded\n{worker.output()[-3000:]}")
        wait_until(lambda: runs(other) == 1, 60, "the other task to run")
        app.send_task("tests.count_run", kwargs={"marker": later})
        wait_until(lambda: runs(later) == 1, 60, "a task sent after the give-up to run")

        assert runs(crash) == CAP
        assert worker.alive()
        incident = WatchdogIncident.objects.get(subject__startswith=SUBJECT_PREFIX)
        assert incident.subject == f"{SUBJECT_PREFIX}tests.crash_own_worker[{sent.id}]"
        assert incident.closed_at is not None and f"lost on each of the {CAP} deliveries" in incident.detail
        assert f"TASK GAVE UP: tests.crash_own_worker[{sent.id}]" in worker.output()
        time.sleep(2)  # a redelivery after the give-up would have run by now
        assert runs(crash) == CAP
    finally:
        worker.stop()
        sync_client().delete(runs_key(crash), runs_key(other), runs_key(later))
