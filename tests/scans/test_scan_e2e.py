"""manage.py scan with a subscribed browser-like client: one signal_update, the same
signals the command printed. Real web process, real socket, real subprocess."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets

from tests.processes import manage, web
from tests.scan_market import vcp_market

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def _frames(ws: Any, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return out


def test_a_subscriber_receives_exactly_one_signal_update_with_the_printed_signals(clean_redis):
    day = vcp_market(kosdaq_vcp=True)
    server = web().start()
    try:
        async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
                await ws.send(json.dumps({"type": "subscribe", "topic": "signal:vcp"}))
                ready = await _frames(ws, 1.5)
                assert any(f.get("type") == "subscribed" for f in ready), ready
                done = await asyncio.to_thread(manage, "scan", "--json", "--date", day.isoformat(), "--no-progress")
                assert done.returncode == 0, done.stderr
                # Long enough for a duplicate to show up, if the code sent one.
                return json.loads(done.stdout), await _frames(ws, 5)

        printed, frames = asyncio.run(scenario())
    finally:
        server.stop()
    updates = [f for f in frames if f.get("type") == "signal_update" and not f.get("snapshot")]
    assert len(updates) == 1, frames
    data = updates[0]["data"]
    assert updates[0]["topic"] == "signal:vcp" and updates[0]["seq"] >= 1
    assert data["signals"] == printed["signals"]
    assert [s["ticker"] for s in data["signals"]] == ["VCP001", "VCP002"] and data["count"] == 2
    assert data["signal_date"] == day.isoformat()


def test_a_bad_argument_exits_non_zero_with_a_message():
    done = manage("scan", "--market", "NYSE")
    assert done.returncode != 0 and "--market" in done.stderr


def test_missing_data_exits_non_zero_with_a_message():
    done = manage("scan", "--date", "2025-06-16")
    assert done.returncode != 0 and "No daily bars" in done.stderr
