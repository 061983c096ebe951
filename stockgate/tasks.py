"""The pipeline heartbeat: a periodic no-op that proves beat sends and a worker runs.

Its TaskHeartbeat row is renewed only when both work, so the watchdog calls it late
when the workers are gone even though beat itself still ticks.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from stockgate.schedules import DefaultSchedule, register

PIPELINE_HEARTBEAT = "stockgate.tasks.pipeline_heartbeat"


@shared_task(name=PIPELINE_HEARTBEAT, ignore_result=True, expires=55)
def pipeline_heartbeat() -> str:
    return "ok"


def register_schedule() -> None:
    register(
        DefaultSchedule(
            "pipeline-heartbeat",
            PIPELINE_HEARTBEAT,
            every_seconds=settings.PIPELINE_HEARTBEAT_SECONDS,
            expire_seconds=max(5, settings.PIPELINE_HEARTBEAT_SECONDS - 5),
            description="Beat -> worker round trip; late means no worker is running tasks.",
        )
    )
