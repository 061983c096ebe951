"""Default beat schedules, created idempotently after `migrate` and edited in admin.

An operator's edit is never overwritten: a schedule that exists is left as it is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None  # minute/hour/day_of_week, Asia/Seoul
    expire_seconds: int | None = None
    description: str = ""


def default_schedules() -> list[DefaultSchedule]:
    gate_period = settings.GATE_PERIOD_SECONDS
    return [
        DefaultSchedule(
            "update-market-gate",
            "marketgate.tasks.update_market_gate",
            every_seconds=gate_period,
            # A run older than its period is useless: the next one is already due.
            expire_seconds=max(5, gate_period - 5),
            description="Recompute the Market Gate during the KRX session.",
        ),
        DefaultSchedule(
            "ingest-daily-bars",
            "marketgate.tasks.ingest_daily_bars",
            # Every 5 minutes in the afternoon: the task ingests a session once the
            # calendar says it has closed (16:30 on the exam day) and catches up misses.
            crontab={"minute": "*/5", "hour": "15-19", "day_of_week": "1-5"},
            expire_seconds=600,
            description="After each session's close: store missing sessions' bars, compute their final "
                        "Market Gate, then queue the scan.",
        ),
        DefaultSchedule(
            "scan-vcp",
            "signals.tasks.scan_vcp",
            crontab={"minute": "45", "hour": "16", "day_of_week": "1-5"},
            expire_seconds=3 * 3600,
            description="After the close and the bars ingest: the VCP scan (skips non-trading days).",
        ),
    ] + list(_extra_schedules)


_extra_schedules: list[DefaultSchedule] = []


def register(schedule: DefaultSchedule) -> None:
    """Apps add their periodic tasks here (in AppConfig.ready)."""
    if all(s.name != schedule.name for s in _extra_schedules):
        _extra_schedules.append(schedule)


def ensure_default_schedules(**kwargs: Any) -> int:
    """Create the missing default schedules; returns how many were created."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = 0
    for item in default_schedules():
        if PeriodicTask.objects.filter(name=item.name).exists():
            continue
        fields: dict[str, Any] = {
            "name": item.name,
            "task": item.task,
            "description": item.description,
            "expire_seconds": item.expire_seconds,
            "kwargs": json.dumps({}),
        }
        if item.every_seconds is not None:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=item.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            cron = item.crontab or {}
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=cron.get("minute", "0"),
                hour=cron.get("hour", "*"),
                day_of_week=cron.get("day_of_week", "*"),
                day_of_month="*",
                month_of_year="*",
                timezone=settings.TIME_ZONE,
            )
        PeriodicTask.objects.create(**fields)
        created += 1
    if created:
        log.info("created %d default schedules", created)
    return created
