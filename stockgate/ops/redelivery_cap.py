"""A cap on deliveries of one task message, so a task that kills its worker is not run forever.

Tasks are acknowledged late and rejected (requeued) when their worker process is lost,
so a task lost with a crashed worker runs again. A task that itself takes its worker
down — out of memory on every try, a segfaulting library — would come back after every
crash, for ever, and keep a worker process busy dying. Each delivery that starts running
is counted in Redis per task id and retry number (a `retry()` is a new attempt, not a
redelivery); past TASK_MAX_DELIVERIES the task is not run: the message is acknowledged,
the give-up is logged at ERROR, recorded as a (closed) watchdog incident, sent to the
alert webhook and counted in `stockgate_task_deliveries_abandoned_total`.

Counting fails open: without Redis the task runs as it would have without the cap.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task
from django.conf import settings
from django.utils import timezone
from prometheus_client import Counter

log = logging.getLogger(__name__)

ABANDONED = Counter(
    "stockgate_task_deliveries_abandoned_total",
    "Task messages given up after TASK_MAX_DELIVERIES deliveries (their worker was lost each time)",
    ["task"],
)
SUBJECT_PREFIX = "task gave up: "


def _key(task_id: str, retries: int) -> str:
    return f"{settings.REALTIME_PREFIX}:task-deliveries:{task_id}:{retries}"


def count_delivery(task_id: str, retries: int) -> int | None:
    """This delivery's number (1 for the first), or None when Redis cannot say."""
    from stockgate.realtime.redis_conn import sync_client

    key = _key(task_id, retries)
    try:
        pipe = sync_client().pipeline()
        pipe.incr(key)
        # Long enough to outlive every redelivery (each waits at most the visibility
        # timeout), short enough that the counters of finished tasks go away.
        pipe.expire(key, int(settings.TASK_DELIVERY_COUNT_TTL_SECONDS))
        number, _ = pipe.execute()
    except Exception as exc:
        log.warning("task %s: delivery not counted (Redis: %s); it runs uncapped", task_id, exc)
        return None
    return int(number)


def give_up(task: Task, task_id: str, delivery: int) -> None:
    """Say everywhere ops look that this task message is dropped."""
    cap = settings.TASK_MAX_DELIVERIES
    detail = (f"{task.name}[{task_id}] not run on delivery {delivery}: its worker was lost on each of the "
              f"{cap} deliveries before (killed, out of memory?); the message is dropped")
    log.error("TASK GAVE UP: %s", detail)
    ABANDONED.labels(task=task.name).inc()
    try:
        from stockgate.models import WatchdogIncident

        now = timezone.now()
        # Closed at once: nothing is late any more, but the row stays for the record.
        WatchdogIncident.objects.create(subject=f"{SUBJECT_PREFIX}{task.name}[{task_id}]"[:200], opened_at=now,
                                        closed_at=now, detail=detail)
    except Exception:
        log.exception("could not record the give-up of task %s", task_id)
    if settings.WATCHDOG_ALERT_WEBHOOK_URL:
        from stockgate.ops.webhook import send_alert

        threading.Thread(target=send_alert, args=(f":skull: [stockgate] {detail}",), name="task-gave-up-alert",
                         daemon=True).start()


class DeliveryCappedTask(Task):
    """The app's task class: runs a message at most TASK_MAX_DELIVERIES times."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.id and not request.is_eager and not request.called_directly:
            delivery = count_delivery(request.id, int(request.retries or 0))
            if delivery is not None and delivery > settings.TASK_MAX_DELIVERIES:
                give_up(self, request.id, delivery)
                return None
        return super().__call__(*args, **kwargs)
