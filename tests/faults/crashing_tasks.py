"""Test-only Celery tasks, loaded into a test worker with `-I tests.faults.crashing_tasks`."""

from __future__ import annotations

import os
import signal

from celery import shared_task
from django.conf import settings


def runs_key(marker: str) -> str:
    return f"{settings.REALTIME_PREFIX}:test-task-runs:{marker}"


@shared_task(name="tests.crash_own_worker")
def crash_own_worker(marker: str) -> None:
    """Counts its run, then dies the way an out-of-memory kill does."""
    from stockgate.realtime.redis_conn import sync_client

    sync_client().incr(runs_key(marker))
    os.kill(os.getpid(), signal.SIGKILL)


@shared_task(name="tests.count_run")
def count_run(marker: str) -> None:
    from stockgate.realtime.redis_conn import sync_client

    sync_client().incr(runs_key(marker))
