"""When is a periodic task late? Pure rules: no Django, `now` is always a parameter.

A task is late when its heartbeat is older than its period plus a grace (interval
schedules), or when a crontab fire time passed more than the grace ago without a
heartbeat after it. Tasks that only matter during the KRX session are measured from
the later of their last heartbeat and the session open, and never late outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

State = Literal["ok", "late", "pending", "idle"]


@dataclass(frozen=True)
class CronSpec:
    """Expanded crontab fields; days_of_week uses cron numbering (0 = Sunday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_week: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    tz: tzinfo


@dataclass(frozen=True)
class TaskSchedule:
    name: str
    task: str
    every_seconds: float | None
    cron: CronSpec | None
    grace_seconds: float
    session_only: bool = False


@dataclass(frozen=True)
class Assessment:
    name: str
    task: str
    state: State
    last_finished: datetime | None
    due_by: datetime | None  # late once `now` passes this
    age_seconds: float | None

    @property
    def late(self) -> bool:
        return self.state == "late"


def next_fire_after(spec: CronSpec, after: datetime) -> datetime:
    """The first crontab fire time strictly after `after` (searched minute by minute
    over whole hours, so at most a few thousand steps for a weekly schedule)."""
    t = after.astimezone(spec.tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = t + timedelta(days=400)
    while t < limit:
        day_ok = (
            t.month in spec.months
            and t.day in spec.days_of_month
            and (t.weekday() + 1) % 7 in spec.days_of_week
        )
        if not day_ok:
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if t.hour not in spec.hours:
            t = (t + timedelta(hours=1)).replace(minute=0)
            continue
        if t.minute in spec.minutes:
            return t
        t += timedelta(minutes=1)
    raise ValueError("crontab never fires")


def assess(
    schedule: TaskSchedule,
    last_finished: datetime | None,
    now: datetime,
    *,
    known_since: datetime,
    session_open: datetime | None = None,
) -> Assessment:
    """Judge one task.

    `known_since` is when the schedule started to be expected (its creation or the
    last edit): a task that never ran is measured from there, not from the epoch.
    `session_open` is the open of the session in progress, None outside a session.
    """
    grace = timedelta(seconds=schedule.grace_seconds)
    age = (now - last_finished).total_seconds() if last_finished else None
    reference = max(filter(None, (last_finished, known_since)))
    if schedule.session_only:
        if session_open is None:
            return Assessment(schedule.name, schedule.task, "idle", last_finished, None, age)
        reference = max(reference, session_open)
    if schedule.every_seconds is not None:
        due = reference + timedelta(seconds=schedule.every_seconds) + grace
    elif schedule.cron is not None:
        due = next_fire_after(schedule.cron, reference) + grace
    else:
        return Assessment(schedule.name, schedule.task, "idle", last_finished, None, age)
    if now > due:
        state: State = "late"
    else:
        state = "ok" if last_finished else "pending"
    return Assessment(schedule.name, schedule.task, state, last_finished, due, age)


def beat_is_late(last_tick: datetime | None, now: datetime, max_age_seconds: float, *, known_since: datetime) -> bool:
    """The scheduler process records a tick every few seconds; silence past the limit is death."""
    reference = last_tick or known_since
    return (now - reference).total_seconds() > max_age_seconds
