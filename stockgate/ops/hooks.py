"""Process hooks of operations: beat's heartbeat, the watchdog in workers, task timings,
and the `ops` topic's snapshot. Connected once from StockgateConfig.ready()."""

from __future__ import annotations

import time
from typing import Any

from celery.signals import beat_init, task_postrun, task_prerun, worker_ready, worker_shutdown
from django.conf import settings

_started: dict[str, float] = {}


@beat_init.connect(dispatch_uid="stockgate.beat_heartbeat")
def _on_beat_init(sender: Any = None, **kwargs: Any) -> None:
    from stockgate.ops.watchdog import install_beat_heartbeat

    if sender is not None:
        install_beat_heartbeat(sender)


@worker_ready.connect(dispatch_uid="stockgate.watchdog_in_worker")
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    if settings.WATCHDOG_IN_WORKER:
        from stockgate.ops.watchdog import start_thread

        start_thread()


@worker_shutdown.connect(dispatch_uid="stockgate.watchdog_stop")
def _on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    from stockgate.ops.watchdog import stop_thread

    stop_thread()


@task_prerun.connect(dispatch_uid="stockgate.task_timer_start")
def _on_task_start(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect(dispatch_uid="stockgate.task_timer_stop")
def _on_task_end(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    from stockgate.ops.metrics import TASK_SECONDS

    started = _started.pop(task_id or "", None)
    if started is not None and task is not None:
        TASK_SECONDS.labels(task=task.name, outcome=(state or "unknown").lower()).observe(time.perf_counter() - started)


async def ops_snapshot(topic: str) -> dict[str, Any] | None:
    from channels.db import database_sync_to_async

    from stockgate.ops.watchdog import ops_message, watchdog_state

    return ops_message(await database_sync_to_async(watchdog_state)())


def connect() -> None:
    from stockgate.realtime import snapshots
    from stockgate.tasks import register_schedule

    snapshots.register("ops", ops_snapshot)
    register_schedule()
