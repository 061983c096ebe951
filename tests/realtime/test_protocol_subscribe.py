"""subscribe/unsubscribe with acks, snapshots, and broadcast frames with topic/seq/epoch."""

from __future__ import annotations

from datetime import datetime

import pytest
from asgiref.sync import sync_to_async

from stockgate.realtime.broadcast import publish
from tests import factories
from tests.wsclient import connect, recv, send, subscribe

# Every test runs in-process, under the Procfile's uvicorn and under daphne (conftest.ws_target).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_target")]


def gate_message(level: int) -> dict:
    return {"type": "market_gate_update", "topic": "market-gate", "timestamp": "2026-02-06T09:42:35+09:00",
            "data": {"status": "RED", "level": level}}


async def test_subscribe_is_acknowledged_and_broadcasts_arrive_with_topic_seq_epoch(clean_redis):
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    await sync_to_async(publish)("market-gate", gate_message(10))
    await sync_to_async(publish)("market-gate", gate_message(11))
    first, second = await recv(comm), await recv(comm)
    assert first["type"] == "market_gate_update" and first["topic"] == "market-gate"
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["epoch"] == second["epoch"] and isinstance(first["epoch"], str)
    assert second["data"]["level"] == 11
    await comm.disconnect()


async def test_unsubscribe_is_acknowledged_and_stops_delivery(clean_redis):
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    await send(comm, {"type": "unsubscribe", "topic": "market-gate"})
    assert await recv(comm) == {"type": "unsubscribed", "topic": "market-gate"}
    await sync_to_async(publish)("market-gate", gate_message(5))
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_topics_are_independent(clean_redis):
    await sync_to_async(factories.listed)("005930")
    comm, _ = await connect()
    await subscribe(comm, "price:005930")
    await sync_to_async(publish)("price:000660", {"type": "price_update", "topic": "price:000660", "ticker": "000660",
                                                  "data": {"price": 1}})
    assert await comm.receive_nothing(timeout=0.4)
    await comm.disconnect()


async def test_snapshot_follows_subscribed_with_the_latest_gate(clean_redis):
    await sync_to_async(factories.gate)(level=42, status="YELLOW", kospi_change_pct=0.0)
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    snap = await recv(comm)
    assert snap["type"] == "market_gate_update" and snap["snapshot"] is True
    assert snap["topic"] == "market-gate" and isinstance(snap["seq"], int) and snap["epoch"]
    data = snap["data"]
    assert data["level"] == 42 and data["status"] == "YELLOW"
    assert data["kospi_change_pct"] == 0.0  # a zero change is 0.0, never null
    assert datetime.fromisoformat(data["as_of"]).utcoffset().total_seconds() == 9 * 3600
    assert datetime.fromisoformat(snap["timestamp"]).utcoffset() is not None
    assert set(data) >= {"status", "level", "kospi", "kospi_change_pct", "kosdaq", "kosdaq_change_pct",
                         "sectors", "components", "as_of", "stale", "session"}
    await comm.disconnect()


async def test_topic_without_state_sends_no_snapshot(clean_redis):
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    assert await comm.receive_nothing(timeout=0.4)
    await comm.disconnect()


async def test_signal_snapshot_is_the_last_scans_full_list(clean_redis):
    await sync_to_async(factories.signal)("005930")
    await sync_to_async(factories.signal)("000660", name="SK하이닉스", score=77, grade="A")
    comm, _ = await connect()
    await subscribe(comm, "signal:vcp")
    snap = await recv(comm)
    assert snap["type"] == "signal_update" and snap["snapshot"] is True
    assert snap["data"]["count"] == 2
    assert [s["ticker"] for s in snap["data"]["signals"]] == ["005930", "000660"]
    first = snap["data"]["signals"][0]
    assert first["entry_price"] == 75100 and isinstance(first["entry_price"], int)
    assert datetime.fromisoformat(first["created_at"]).utcoffset().total_seconds() == 9 * 3600
    await comm.disconnect()


async def test_snapshot_seq_lets_the_client_detect_the_next_frame_in_order(clean_redis):
    await sync_to_async(factories.gate)(level=40)  # its on_commit broadcast is seq 1
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    snap = await recv(comm)
    await sync_to_async(factories.gate)(level=41, as_of=factories.timezone.now())
    live = await recv(comm)
    assert live["seq"] == snap["seq"] + 1 and live["epoch"] == snap["epoch"]
    assert live["data"]["level"] == 41
    await comm.disconnect()


async def test_resubscribing_is_acknowledged_again_without_duplicate_delivery(clean_redis):
    comm, _ = await connect()
    await subscribe(comm, "market-gate")
    await subscribe(comm, "market-gate")
    await sync_to_async(publish)("market-gate", gate_message(3))
    assert (await recv(comm))["seq"] == 1
    assert await comm.receive_nothing(timeout=0.4)
    await comm.disconnect()
