"""The outcome task in a real Celery worker: it resolves the stored signals and a
subscriber on a real socket receives the list again with each row's `outcome`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets

from signals.models import SignalOutcome
from signals.tasks import update_signal_outcomes
from tests.processes import web, worker
from tests.scans.test_signal_outcomes_db import DAY0, plan, store

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_ready(proc: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.alive(), proc.output()[-3000:]
        if " ready." in proc.output():
            return
        time.sleep(0.2)
    raise AssertionError("worker not ready: " + proc.output()[-3000:])


def test_the_worker_resolves_outcomes_and_subscribers_receive_them(clean_redis):
    plan("000010")
    plan("000020")
    store("000010", (9_900, 10_100, 9_800, 10_050), (10_100, 11_600, 10_000, 11_400))  # fill, then target
    store("000020", (9_900, 10_100, 9_800, 10_050), (9_000, 9_100, 8_900, 9_000))  # fill, then a gap stop
    server, work = web().start(), worker().start()
    try:
        wait_ready(work)

        async def scenario() -> list[dict[str, Any]]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
                await ws.send(json.dumps({"type": "subscribe", "topic": "signal:vcp"}))
                frames: list[dict[str, Any]] = []
                deadline = time.monotonic() + 60
                sent = False
                while time.monotonic() < deadline:
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                    except TimeoutError:
                        continue
                    frames.append(frame)
                    if frame.get("type") == "subscribed" and not sent:
                        update_signal_outcomes.apply_async()  # to the worker, through the broker
                        sent = True
                    if frame.get("type") == "signal_update" and not frame.get("snapshot"):
                        return frames
                return frames

        frames = asyncio.run(scenario())
    finally:
        work.stop()
        server.stop()
    updates = [f for f in frames if f.get("type") == "signal_update" and not f.get("snapshot")]
    assert updates, frames
    rows = {r["ticker"]: r["outcome"] for r in updates[-1]["data"]["signals"]}
    assert updates[-1]["data"]["signal_date"] == DAY0.isoformat()
    assert (rows["000010"]["status"], rows["000010"]["r_multiple"]) == ("target", 3.0)
    assert (rows["000020"]["status"], rows["000020"]["gap"], rows["000020"]["r_multiple"]) == ("stop", True, -2.0)
    assert SignalOutcome.objects.count() == 2
