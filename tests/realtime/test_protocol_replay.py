"""Resubscribing with `since` repairs gaps; a lost history answers with a snapshot."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from stockgate.realtime.broadcast import publish
from tests import factories
from tests.wsclient import connect, recv, send

# Every test runs in-process, under the Procfile's uvicorn and under daphne (conftest.ws_target).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_target")]


def publish_gate(level: int) -> str:
    return publish("market-gate", {"type": "market_gate_update", "topic": "market-gate",
                                   "timestamp": "2026-02-06T09:42:35+09:00", "data": {"level": level}})


async def resubscribe(comm, epoch: str, seq: int) -> None:
    await send(comm, {"type": "subscribe", "topic": "market-gate", "since": {"epoch": epoch, "seq": seq}})
    assert await recv(comm) == {"type": "subscribed", "topic": "market-gate"}


async def test_since_replays_every_missed_frame_in_order(clean_redis):
    comm, _ = await connect()
    await send(comm, {"type": "subscribe", "topic": "market-gate"})
    await recv(comm)
    for level in (1, 2):
        await sync_to_async(publish_gate)(level)
    first = await recv(comm)
    await recv(comm)
    await comm.disconnect()
    # While the client is away three more frames go out.
    for level in (3, 4, 5):
        await sync_to_async(publish_gate)(level)
    comm, _ = await connect()
    await resubscribe(comm, first["epoch"], 2)
    replayed = [await recv(comm) for _ in range(3)]
    assert [f["seq"] for f in replayed] == [3, 4, 5]
    assert [f["data"]["level"] for f in replayed] == [3, 4, 5]
    assert all(f["replayed"] is True and f["epoch"] == first["epoch"] for f in replayed)
    # Then live frames continue, without duplicates.
    await sync_to_async(publish_gate)(6)
    live = await recv(comm)
    assert live["seq"] == 6 and "replayed" not in live
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_since_the_latest_seq_replays_nothing(clean_redis):
    frame = await sync_to_async(publish_gate)(1)
    epoch = frame.split('"epoch":"')[1].split('"')[0]
    comm, _ = await connect()
    await resubscribe(comm, epoch, 1)
    assert await comm.receive_nothing(timeout=0.4)
    await comm.disconnect()


async def test_unknown_epoch_gets_a_snapshot_marked_not_recovered(clean_redis):
    await sync_to_async(factories.gate)(level=63, status="YELLOW")
    comm, _ = await connect()
    await resubscribe(comm, "an-epoch-from-before-a-restart", 17)
    snap = await recv(comm)
    assert snap["snapshot"] is True and snap["recovered"] is False
    assert snap["data"]["level"] == 63
    await comm.disconnect()


async def test_frames_trimmed_from_history_get_a_snapshot(clean_redis, settings):
    settings.WS_HISTORY_FRAMES = 3
    await sync_to_async(factories.gate)(level=70, status="GREEN")  # seq 1
    frames = [await sync_to_async(publish_gate)(level) for level in range(2, 8)]  # seq 2..7
    epoch = frames[0].split('"epoch":"')[1].split('"')[0]
    comm, _ = await connect()
    await resubscribe(comm, epoch, 1)  # seq 2..4 are gone (only 5..7 kept)
    snap = await recv(comm)
    assert snap["snapshot"] is True and snap["recovered"] is False
    await comm.disconnect()


async def test_a_lost_history_store_starts_a_new_epoch(clean_redis):
    first = await sync_to_async(publish_gate)(1)
    for key in clean_redis.keys("*topic:market-gate*"):
        clean_redis.delete(key)  # what a Redis restart without persistence does
    second = await sync_to_async(publish_gate)(2)
    assert '"seq":1,' in second
    assert first.split('"epoch":"')[1][:20] != second.split('"epoch":"')[1][:20]


async def test_seq_is_shared_by_every_publisher(clean_redis):
    """Two publishers (e.g. a worker and the web process) never reuse a seq."""
    from stockgate.realtime.broadcast import apublish

    a = await sync_to_async(publish_gate)(1)
    b = await apublish("market-gate", {"type": "market_gate_update", "topic": "market-gate", "data": {"level": 2}})
    assert '"seq":1,' in a and '"seq":2,' in b
