"""With the demo provider the gate moves through a simulated session, and every
computed row reaches a subscribed client, in order, through worker + beat + web."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import pytest
import websockets
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from marketgate.models import MarketGate
from tests import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAST = {"GATE_PERIOD_SECONDS": "2", "DEMO_SESSION_MINUTES": "1.5", "DEMO_CLOCK": "accelerated",
        "MARKET_DATA_PROVIDER": "demo", "DEMO_TICKERS": "120"}


# Frames to see before the client stops listening: enough for every assertion below with
# room to spare (a 2 s period gives them in about 20 s), so the test ends when it has seen
# them rather than after a fixed time; SECONDS bounds a slow machine.
ENOUGH_FRAMES = 8
SECONDS = 120


def _enough(frames: list[dict]) -> bool:
    in_session = [f for f in frames if f["data"]["session"] == "open"]
    return (len(frames) >= ENOUGH_FRAMES and len({f["data"]["as_of"] for f in frames}) >= 5
            and len({(f["data"]["level"], f["data"]["kospi"]) for f in frames}) >= 3 and len(in_session) >= 5)


async def _collect(port: int, seconds: float) -> list[dict]:
    frames: list[dict] = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?subscribe=market-gate") as ws:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not _enough(frames):
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
            except TimeoutError:
                break
            if frame.get("type") == "market_gate_update" and not frame.get("snapshot"):
                frames.append(frame)
    return frames


def test_the_demo_gate_changes_during_a_session_and_every_change_reaches_the_client(clean_redis):
    seeded = processes.manage("seed_demo", timeout=300, **FAST)
    assert seeded.returncode == 0, seeded.stderr
    rows_before = MarketGate.objects.count()
    # The schedule lives in the database (created at migrate): point it at 2 seconds.
    gate_task = PeriodicTask.objects.get(name="update-market-gate")
    gate_task.interval, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    gate_task.expire_seconds = 2
    gate_task.save()
    web = processes.web(**FAST).start()
    worker = processes.worker(**FAST).start()
    beat = processes.beat(**FAST)
    try:
        async def scenario() -> list[dict]:
            collecting = asyncio.create_task(_collect(web.port, SECONDS))
            await asyncio.sleep(1)
            beat.start()
            return await collecting

        frames = asyncio.run(scenario())
    finally:
        beat.stop()
        worker.stop()
        web.stop()
    saved = list(MarketGate.objects.order_by("computed_at")[rows_before:])
    assert len(frames) >= 5, worker.output()[-3000:]
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # nothing missed in between
    # Every row saved while the client listened reached it (a row is updated, never
    # duplicated, when a schedule slot repeats). The client stops once it has seen enough
    # while beat and the worker still run, so rows past the last frame it read are not
    # its to see.
    heard_until = max(datetime.fromisoformat(f["data"]["as_of"]) for f in frames)
    expected = {r.to_data()["as_of"] for r in saved[1:] if r.as_of <= heard_until}
    assert {f["data"]["as_of"] for f in frames} >= expected
    as_of = [f["data"]["as_of"] for f in frames]
    assert len(set(as_of)) >= 5  # the simulated session advances
    movement = {(f["data"]["level"], f["data"]["kospi"]) for f in frames}
    assert len(movement) >= 3, movement  # the gate and the index move during the session
    # In session every row is provisional; a slow run may reach the simulated close, whose
    # final row is not.
    in_session = [f for f in frames if f["data"]["session"] == "open"]
    assert len(in_session) >= 5 and all(f["data"]["provisional"] for f in in_session)
    assert all(not f["data"]["provisional"] for f in frames if f["data"]["session"] != "open")
