"""An operator edits the gate schedule in admin (the database) while web, worker and beat
run, and everything measured against the period follows the edit, not
GATE_PERIOD_SECONDS: at 60 s every run saves its own row (no two runs share a slot); at
600 s a gate older than the setting's period plus grace is neither STALE on the dashboard
nor a 503 on /readyz, because the schedule says the next run is not due yet.

About five real minutes, mostly waiting on beat: in a run of the whole suite it runs
alongside the rest, in a pytest process of its own (tests/alongside.py)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from marketgate.models import MarketGate
from tests import processes
from tests.faults.test_fault_beat import readyz, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.alongside, pytest.mark.django_db(transaction=True)]

SETTING_PERIOD, GRACE = 120, 10  # the setting's stale limit: 130 s
ENV = {
    "GATE_PERIOD_SECONDS": str(SETTING_PERIOD),
    "GATE_STALE_GRACE_SECONDS": str(GRACE),
    "MARKET_DATA_PROVIDER": "demo",
    "DEMO_CLOCK": "accelerated",
    "DEMO_SESSION_MINUTES": "600",  # the simulated session stays open through the test
    "DEMO_TICKERS": "40",
    "HEALTH_REQUIRE_FEED": "false",
    "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
}
RUN_DONE = re.compile(r"Task marketgate\.tasks\.update_market_gate\[[0-9a-f-]+\] succeeded")


def set_gate_period(seconds: int) -> None:
    task = PeriodicTask.objects.get(name="update-market-gate")
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    task.expire_seconds = None
    task.save()  # bumps PeriodicTasks.changed: beat re-reads its schedule


def page_state(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        html = response.read().decode()
    found = re.search(r'<script id="dashboard-state" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries its initial state"
    return json.loads(found.group(1))


@pytest.mark.timeout(1200)  # three 60 s runs, then past the setting's 130 s limit
def test_gate_schedule_edits_change_slots_and_staleness_while_running(clean_redis) -> None:  # type: ignore[no-untyped-def]
    seeded = processes.manage("seed_demo", timeout=600, **ENV)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    set_gate_period(60)
    web = processes.web(**ENV).start()
    worker = processes.worker(**ENV).start()
    beat = processes.beat(**ENV).start()
    try:
        started = timezone.now()
        wait_until(lambda: len(RUN_DONE.findall(worker.output())) >= 3, 300, "three runs at 60 s")
        runs = len(RUN_DONE.findall(worker.output()))
        # Live rows only: the daily ingest task may also save final gates of past sessions meanwhile.
        rows = MarketGate.objects.filter(computed_at__gte=started, provisional=True).count()
        # Slots of the setting's 120 s would fold two 60 s runs into one row.
        assert rows == runs, f"{runs} runs saved {rows} rows\n{worker.output()[-2000:]}"

        set_gate_period(600)
        last = MarketGate.latest()
        assert last is not None
        limit = SETTING_PERIOD + GRACE
        wait_until(lambda: (timezone.now() - last.computed_at).total_seconds() > limit + 5, limit + 60,
                   "the last gate older than the setting's period plus grace")
        assert MarketGate.latest().pk == last.pk, "no run before the 600 s are up"
        status, body = readyz(web.port)
        assert status == 200, body
        state = page_state(web.port)
        assert state["gate_max_age_seconds"] == 600 + GRACE
        assert state["gate"]["data"]["stale"] is False
        assert state["gate"]["data"]["session"] == "open"
    finally:
        beat.stop()
        worker.stop()
        web.stop()
