"""The gate's recomputation period as the database has it.

Operators edit the `update-market-gate` schedule in admin; beat follows the edit at once,
so everything measured against the period must follow it too: the slot a row is saved in
(one row per run) and the age after which a gate is stale (dashboard, /readyz).
`GATE_PERIOD_SECONDS` only seeds the schedule when it is created, and stands in when the
schedule is missing, disabled or not an interval.
"""

from __future__ import annotations

import time

from django.conf import settings

SCHEDULE_NAME = "update-market-gate"
# Read at most this often per process: a slot or staleness check per request or run
# must not cost a query each, and beat itself only re-reads schedules every few seconds.
CACHE_SECONDS = 5.0

_cache: tuple[float, int] | None = None


def gate_period_seconds() -> int:
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    period = _from_schedule() or max(1, settings.GATE_PERIOD_SECONDS)
    _cache = (now, period)
    return period


def forget() -> None:
    """Drop the cached period (after an edit in this process, and between tests)."""
    global _cache
    _cache = None


def _from_schedule() -> int | None:
    from django.db import DatabaseError
    from django_celery_beat.models import PeriodicTask

    try:
        task = PeriodicTask.objects.select_related("interval").filter(name=SCHEDULE_NAME, enabled=True).first()
    except DatabaseError:  # not migrated yet, or the database is away: the setting stands in
        return None
    if task is None or task.interval is None:
        return None
    seconds = int(task.interval.schedule.run_every.total_seconds())
    return seconds if seconds >= 1 else None
