"""Fault: beat is killed. /readyz turns 503 and the dashboard's `ops` topic says the
scheduler is late within its limit plus grace; a new beat brings everything back by
itself, alerts are sent once per incident, and no gate row is duplicated."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from django.utils.timezone import now as django_now
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from stockgate.models import WatchdogIncident
from tests.processes import Proc, beat, free_port, manage, process_env, web
from tests.services import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BEAT_MAX_AGE = 6.0
GRACE = 4.0  # beat's silence limit plus this is when the dashboard must show it
TASK_GRACE = 30.0  # a first gate run loads the exchange calendar; slow, not late
FAST = {
    "BEAT_HEARTBEAT_SECONDS": "1",
    "WATCHDOG_BEAT_MAX_AGE_SECONDS": str(BEAT_MAX_AGE),
    "WATCHDOG_GRACE_SECONDS": str(TASK_GRACE),
    "WATCHDOG_INTERVAL_SECONDS": "1",
    "WATCHDOG_SESSION_TASKS": "none",
    "CELERY_BEAT_MAX_LOOP_INTERVAL": "1",
    "HEALTH_REQUIRE_FEED": "false",
    "GATE_PERIOD_SECONDS": "5",
    "GATE_STALE_GRACE_SECONDS": "4",
}
GATE_TASK_EXISTS = importlib.util.find_spec("marketgate.tasks") is not None


def fast_schedules() -> None:
    PeriodicTask.objects.all().delete()
    every2 = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="pipeline-heartbeat", task="stockgate.tasks.pipeline_heartbeat", interval=every2)
    if GATE_TASK_EXISTS:
        every5 = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="update-market-gate", task="marketgate.tasks.update_market_gate", interval=every5)


def worker(**env: str) -> Proc:
    """A prefork worker, so a slow task does not hold up the short periodic ones."""
    import sys

    args = [sys.executable, "-m", "celery", "-A", "stockgate", "worker", "--loglevel", "INFO", "--concurrency", "3",
            "-n", f"fault{free_port()}@%h", "--without-gossip", "--without-mingle"]
    return Proc("worker", args, process_env(**env))


_MONITOR_TOKEN: list[str] = []


def monitoring_token() -> str:
    """A `read` API token (the detailed /readyz is for monitoring callers); made again after
    a transactional test's flush took the last one away."""
    from django.contrib.auth import get_user_model

    from stockgate.apitokens.models import ApiToken, digest

    if not _MONITOR_TOKEN or not ApiToken.objects.filter(key_hash=digest(_MONITOR_TOKEN[0])).exists():
        user = get_user_model().objects.get_or_create(username="monitor")[0]
        _MONITOR_TOKEN[:] = [ApiToken.issue(user, "readyz", "read")[1]]
    return _MONITOR_TOKEN[0]


def readyz(port: int) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz",
                                     headers={"Authorization": f"Bearer {monitoring_token()}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout}s: {what}")


class OpsWatcher:
    """A dashboard-like client: the latest `ops_update` it received on the `ops` topic."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latest: dict[str, Any] | None = None
        self.frames = 0

    async def run(self, seconds: float, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{self.port}/ws") as ws:
            await ws.send(json.dumps({"type": "subscribe", "topic": "ops"}))
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    break
                if frame.get("type") == "ops_update":
                    self.latest, self.frames = frame, self.frames + 1
                    if until(frame["data"]):
                        return frame
        raise AssertionError(f"no matching ops_update within {seconds}s; last: {self.latest}")


def gate_rows_unique() -> bool:
    from django.db.models import Count

    from marketgate.models import MarketGate

    return not MarketGate.objects.values("as_of").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_killed_beat_is_noticed_shown_alerted_and_recovers_by_itself(clean_redis) -> None:  # type: ignore[no-untyped-def]
    fast_schedules()
    if GATE_TASK_EXISTS:
        seeded = manage("seed_demo", DEMO_TICKERS="30", timeout=300)
        assert seeded.returncode == 0, seeded.stderr[-2000:]
    hook = WebhookReceiver()
    env = {**FAST, "WATCHDOG_ALERT_WEBHOOK_URL": hook.url}
    server = web(**env).start()
    work = worker(**env).start()
    scheduler: Proc = beat(**env).start()
    procs = [server, work, scheduler]
    try:
        wait_until(lambda: "scheduler" not in readyz(server.port)[1]["failing"], 40, "scheduler healthy at start")
        watcher = OpsWatcher(server.port)
        first = asyncio.run(watcher.run(10, lambda d: True))  # the snapshot on subscribe
        assert first["data"]["scheduler_late"] is False, first

        scheduler.kill()
        killed_at = time.monotonic()
        asyncio.run(watcher.run(BEAT_MAX_AGE + GRACE + 5, lambda d: d["scheduler_late"] and not d["beat"]["alive"]))
        noticed = time.monotonic() - killed_at
        assert noticed <= BEAT_MAX_AGE + GRACE + 5
        wait_until(lambda: readyz(server.port)[0] == 503, 10, "/readyz 503 with beat dead")
        status, body = readyz(server.port)
        assert "scheduler" in body["failing"] and body["checks"]["scheduler"]["beat"]["alive"] is False
        assert any("scheduler (celery beat) is late" in t for t in hook.wait_for(1))
        assert work.alive() and server.alive()

        scheduler = beat(**env).start()
        procs.append(scheduler)
        asyncio.run(watcher.run(30, lambda d: not d["scheduler_late"]))
        wait_until(lambda: "scheduler" not in readyz(server.port)[1]["failing"], 20, "/readyz scheduler ok again")
        texts = hook.wait_for(2)
        time.sleep(2)  # a second alert for the same incident would arrive by now
        assert len(hook.texts()) == 2, hook.texts()
        assert "recovered" in texts[1]
        incidents = list(WatchdogIncident.objects.filter(subject="beat"))
        assert len(incidents) == 1 and incidents[0].closed_at is not None
        if GATE_TASK_EXISTS:
            from marketgate.gate.freshness import gate_session
            from marketgate.models import MarketGate

            if gate_session(None, django_now()) == "open":  # type: ignore[arg-type]
                before = MarketGate.objects.count()
                wait_until(lambda: MarketGate.objects.count() > before, 40, "new gate rows after beat's restart")
        assert gate_rows_unique()
    finally:
        for proc in procs:
            proc.stop()
        hook.close()
