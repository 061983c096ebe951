"""Prometheus metrics of tasks and the scheduler, and the /metrics exposition.

Several processes serve /metrics behind one port (`uvicorn --workers N`), so with
PROMETHEUS_MULTIPROC_DIR set every process writes its samples there and a scrape
aggregates them all (prometheus_client multiprocess mode); workers and beat on the same
host write to the same directory and show up too. Without it, a scrape shows the
process that answered. Heartbeat ages are read from the database at scrape time, so
they are right whichever process answers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

TASK_SECONDS = Histogram(
    "stockgate_task_duration_seconds",
    "Celery task run time by task and outcome",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
_PID_FILE = re.compile(r"^[a-z_]+_live[a-z]*_(\d+)\.db$")


class SchedulerCollector(Collector):
    """Heartbeat ages and lateness, computed from the rows the watchdog reads."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from stockgate.ops.watchdog import watchdog_state

        state = watchdog_state()
        beat_age = GaugeMetricFamily(
            "stockgate_beat_heartbeat_age_seconds", "Seconds since the scheduler (beat) last ticked"
        )
        beat_age.add_metric([], state["beat"]["age_seconds"] if state["beat"]["age_seconds"] is not None else float("nan"))
        yield beat_age
        ages = GaugeMetricFamily(
            "stockgate_task_heartbeat_age_seconds", "Seconds since each periodic task last finished", labels=["task"]
        )
        late = GaugeMetricFamily("stockgate_task_late", "1 when a periodic task is late (period + grace)", labels=["task"])
        for task in state["tasks"]:
            ages.add_metric([task["name"]], task["age_seconds"] if task["age_seconds"] is not None else float("nan"))
            late.add_metric([task["name"]], 1.0 if task["stale"] else 0.0)
        yield ages
        yield late
        scheduler = GaugeMetricFamily("stockgate_scheduler_late", "1 when beat is down or any periodic task is late")
        scheduler.add_metric([], 1.0 if state["scheduler_late"] else 0.0)
        yield scheduler


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _forget_dead_processes(path: str) -> None:
    # Live gauges (connections, subscriptions) of a process that died would be summed
    # for ever; uvicorn has no child-exit hook, so the scrape reaps them.
    from prometheus_client import multiprocess

    for name in os.listdir(path):
        match = _PID_FILE.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:
            pass


def exposition(include_scheduler: bool = True) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        _forget_dead_processes(path)
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Proxy(REGISTRY))
    if include_scheduler:
        registry.register(_Safe(SchedulerCollector()))
    return generate_latest(registry)


class _Proxy(Collector):
    def __init__(self, inner: CollectorRegistry) -> None:
        self.inner = inner

    def collect(self) -> Iterator[Any]:
        return iter(self.inner.collect())


class _Safe(Collector):
    """A scrape still answers (with the transport metrics) when the database is away."""

    def __init__(self, inner: Collector) -> None:
        self.inner = inner

    def collect(self) -> Iterator[Any]:
        try:
            return iter(list(self.inner.collect()))
        except Exception:
            from django.db import connection

            connection.close_if_unusable_or_obsolete()
            return iter(())
