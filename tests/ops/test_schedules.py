"""Default schedules exist after migrate, are created once, and admin edits reach beat live."""

from __future__ import annotations

import re
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from stockgate.schedules import ensure_default_schedules
from tests import processes

DEFAULTS = {"update-market-gate", "ingest-daily-bars", "scan-vcp", "signal-outcomes"}


@pytest.mark.django_db
def test_default_schedules_exist_after_migrate():
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert names >= DEFAULTS
    gate = PeriodicTask.objects.get(name="update-market-gate")
    assert gate.task == "marketgate.tasks.update_market_gate"
    assert gate.interval.every == 300 and gate.interval.period == IntervalSchedule.SECONDS
    assert gate.expire_seconds and gate.expire_seconds < 300  # older than its period: dropped
    scan = PeriodicTask.objects.get(name="scan-vcp")
    assert scan.crontab.day_of_week == "1-5" and scan.crontab.timezone.key == "Asia/Seoul"


@pytest.mark.django_db
def test_creating_the_defaults_again_changes_nothing_an_operator_edited():
    gate = PeriodicTask.objects.get(name="update-market-gate")
    gate.enabled = False
    gate.save()
    count = PeriodicTask.objects.count()
    assert ensure_default_schedules() == 0
    assert PeriodicTask.objects.count() == count
    assert PeriodicTask.objects.get(name="update-market-gate").enabled is False


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_changes_what_a_running_beat_sends_without_a_restart(clean_redis):
    PeriodicTask.objects.exclude(name="update-market-gate").update(enabled=False)
    beat = processes.beat().start()
    try:
        time.sleep(6)
        sent_before = _sent(beat.output())
        # What the admin form does: point the task at a 1-second interval.
        task = PeriodicTask.objects.get(name="update-market-gate")
        task.interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
        task.save()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _sent(beat.output()) < sent_before + 3:
            time.sleep(0.5)
        assert beat.alive()
        assert _sent(beat.output()) >= sent_before + 3, beat.output()[-2000:]
    finally:
        beat.stop()


def _sent(log: str) -> int:
    return len(re.findall(r"Sending due task update-market-gate", log))
