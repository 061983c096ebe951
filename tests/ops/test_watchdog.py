"""The scheduler watchdog: late beat or tasks are reported, alerted once, and recover."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from stockgate.models import TaskHeartbeat, WatchdogIncident
from stockgate.ops import watchdog
from stockgate.realtime.sequence import keys_for
from tests.services import WebhookReceiver

GATE_TASK = "marketgate.tasks.update_market_gate"


@pytest.fixture
def schedules(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WATCHDOG_SESSION_TASKS = []
    settings.WATCHDOG_GRACE_SECONDS = 30
    settings.WATCHDOG_BEAT_MAX_AGE_SECONDS = 60
    PeriodicTask.objects.all().delete()
    every = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="update-market-gate", task=GATE_TASK, interval=every)


@pytest.fixture
def hook(settings) -> Iterator[WebhookReceiver]:  # type: ignore[no-untyped-def]
    receiver = WebhookReceiver()
    settings.WATCHDOG_ALERT_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.close()


def beat_ticked(seconds_ago: float, started_ago: float = 3600) -> None:
    now = timezone.now()
    TaskHeartbeat.objects.update_or_create(task=watchdog.BEAT_TICK, defaults={"last_finished": now - timedelta(seconds=seconds_ago)})
    TaskHeartbeat.objects.update_or_create(
        task=watchdog.BEAT_STARTED, defaults={"last_finished": now - timedelta(seconds=started_ago)}
    )


def task_finished(task: str, seconds_ago: float) -> None:
    TaskHeartbeat.objects.update_or_create(task=task, defaults={"last_finished": timezone.now() - timedelta(seconds=seconds_ago)})


def test_fresh_beat_and_tasks_are_not_late(schedules: None) -> None:
    beat_ticked(5)
    task_finished(GATE_TASK, 100)
    state = watchdog.watchdog_state()
    assert state["scheduler_late"] is False
    assert state["beat"]["alive"] is True
    assert [t["state"] for t in state["tasks"]] == ["ok"]


def test_silent_beat_makes_the_scheduler_late(schedules: None) -> None:
    beat_ticked(90)
    task_finished(GATE_TASK, 100)
    state = watchdog.watchdog_state()
    assert state["scheduler_late"] is True
    assert state["beat"]["alive"] is False


def test_task_past_period_plus_grace_is_stale(schedules: None) -> None:
    beat_ticked(5)
    task_finished(GATE_TASK, 331)
    state = watchdog.watchdog_state()
    assert state["late"] == ["update-market-gate"]
    assert state["tasks"][0]["stale"] is True
    assert state["scheduler_late"] is True


def test_state_is_json_with_offsets(schedules: None) -> None:
    beat_ticked(5)
    task_finished(GATE_TASK, 10)
    state = json.loads(json.dumps(watchdog.watchdog_state()))
    assert state["beat"]["last_tick"].endswith("+09:00")
    assert state["tasks"][0]["last_finished"].endswith("+09:00")


def test_an_incident_is_alerted_once_however_many_passes(schedules: None, hook: WebhookReceiver, clean_redis) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(90)
    for _ in range(3):
        watchdog.check_and_act()
    texts = hook.wait_for(1)
    time.sleep(0.3)
    assert len(hook.texts()) == 1
    assert "scheduler (celery beat) is late" in texts[0]
    assert WatchdogIncident.objects.filter(subject="beat", closed_at__isnull=True).count() == 1


def test_recovery_closes_the_incident_and_says_so_once(schedules: None, hook: WebhookReceiver, clean_redis) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(90)
    watchdog.check_and_act()
    beat_ticked(1, started_ago=1)
    watchdog.check_and_act()
    watchdog.check_and_act()
    texts = hook.wait_for(2)
    time.sleep(0.3)
    assert len(hook.texts()) == 2
    assert "recovered" in texts[1]
    assert not WatchdogIncident.objects.filter(closed_at__isnull=True).exists()
    assert WatchdogIncident.objects.get(subject="beat").closed_at is not None


def test_a_dead_beat_is_one_incident_not_one_per_task(schedules: None, hook: WebhookReceiver, clean_redis) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(90)
    task_finished(GATE_TASK, 1000)
    watchdog.check_and_act()
    assert list(WatchdogIncident.objects.values_list("subject", flat=True)) == ["beat"]


def test_a_late_task_alone_is_its_own_incident(schedules: None, hook: WebhookReceiver, clean_redis) -> None:  # type: ignore[no-untyped-def]
    beat_ticked(1)
    task_finished(GATE_TASK, 1000)
    watchdog.check_and_act()
    assert list(WatchdogIncident.objects.values_list("subject", flat=True)) == ["update-market-gate"]
    assert "update-market-gate is late" in hook.wait_for(1)[0]


def test_transitions_are_broadcast_on_the_ops_topic(schedules: None, clean_redis, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WATCHDOG_ALERT_WEBHOOK_URL = ""
    beat_ticked(90)
    watchdog.check_and_act()
    frames = [json.loads(f) for f in clean_redis.lrange(keys_for("ops").history, 0, -1)]
    assert frames[-1]["type"] == "ops_update"
    assert frames[-1]["data"]["scheduler_late"] is True


def test_without_a_webhook_the_incident_is_still_logged(schedules: None, clean_redis, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.WATCHDOG_ALERT_WEBHOOK_URL = ""
    beat_ticked(90)
    with caplog.at_level("ERROR", logger="stockgate.ops.watchdog"):
        watchdog.check_and_act()
    assert any("WATCHDOG" in r.getMessage() for r in caplog.records)
