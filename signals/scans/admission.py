"""Admission of scans asked for over HTTP: a bound on the work anyone can queue.

A scan reads the whole market; each request used to queue one more, so a loop of
requests (or a retrying script) could fill the queue for hours. At most SCAN_QUEUE_MAX
runs are queued or running at once, across all callers (they share the workers); a
request identical to a run still queued joins that run instead of queueing another
(coalesced); any other request over the bound is refused (`ScanQueueFull`, answered
429 with Retry-After). The scheduled scan does not come through here and is never
refused.

A run whose worker or message was lost would hold its place for ever, so only runs
that can still be alive count: running ones started within twice SCAN_TIME_LIMIT
(after that `fail_abandoned_runs` fails them), queued ones created within the time the
whole queue takes to drain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from signals.models import ScanRun, ScanStatus
from signals.scans.service import ScanRequest

# An arbitrary constant key for the advisory lock that serialises admissions.
_LOCK_KEY = 0x5CA9_0001
DEFAULT_RETRY_AFTER = 60


class ScanQueueFull(Exception):
    def __init__(self, active: int, retry_after: int) -> None:
        super().__init__(f"{active} scans are queued or running (at most {settings.SCAN_QUEUE_MAX}); "
                         f"try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Admitted:
    run: ScanRun
    coalesced: bool  # an identical queued run was reused


def active_runs(now: datetime) -> QuerySet[ScanRun]:
    limit = int(settings.SCAN_TIME_LIMIT)
    queued_since = now - timedelta(seconds=2 * limit * max(1, int(settings.SCAN_QUEUE_MAX)))
    running_since = now - timedelta(seconds=2 * limit)
    return ScanRun.objects.filter(
        Q(status=ScanStatus.QUEUED, created_at__gte=queued_since)
        | Q(status=ScanStatus.RUNNING, started_at__gte=running_since)
    )


def retry_after_seconds() -> int:
    """About one scan's time: the median of the last successful runs, within 5 s..SCAN_TIME_LIMIT."""
    durations = sorted(ScanRun.objects.filter(status=ScanStatus.SUCCEEDED, duration_ms__isnull=False)
                       .order_by("-finished_at").values_list("duration_ms", flat=True)[:5])
    if not durations:
        return DEFAULT_RETRY_AFTER
    median = durations[len(durations) // 2] / 1000
    return int(min(max(math.ceil(median), 5), int(settings.SCAN_TIME_LIMIT)))


def admit_scan(request: ScanRequest, now: datetime) -> Admitted:
    """Queue `request` (committed with the caller's transaction), reuse an identical queued
    run, or raise ScanQueueFull."""
    from signals.tasks import queue_scan

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two requests at once must not both see room for one more.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        active = active_runs(now)
        same = active.filter(status=ScanStatus.QUEUED, parameters=request.to_parameters()).order_by("pk").first()
        if same is not None:
            return Admitted(same, coalesced=True)
        count = active.count()
        if count >= settings.SCAN_QUEUE_MAX:
            raise ScanQueueFull(count, retry_after_seconds())
        return Admitted(queue_scan(request), coalesced=False)
