"""Every periodic task records a heartbeat when it finishes (success or failure)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_failure, task_success

log = logging.getLogger(__name__)


def _record(task_name: str, error: str = "") -> None:
    from stockgate.models import TaskHeartbeat

    try:
        TaskHeartbeat.beat(task_name, error=error)
    except Exception:
        log.exception("could not record the heartbeat of %s", task_name)


def connect() -> None:
    """Record every task's heartbeat in this process (called once from StockgateConfig.ready)."""
    task_success.connect(_on_success, dispatch_uid="stockgate.heartbeat_success")
    task_failure.connect(_on_failure, dispatch_uid="stockgate.heartbeat_failure")


def _on_success(sender: Any = None, **kwargs: Any) -> None:
    if sender is not None:
        _record(sender.name)


def _on_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    if sender is not None:
        _record(sender.name, error=repr(exception)[:2000])
