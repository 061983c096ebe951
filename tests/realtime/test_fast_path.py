"""The fast frame path (stockgate/realtime/wire.py) is what the shipped server command
runs, and daphne (the fallback) gets the same frames through the ASGI send."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async

from stockgate.realtime.broadcast import publish
from tests import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def direct_sockets(port: int) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    match = re.search(r"^stockgate_ws_direct_sockets(?:\{[^}]*\})? (\S+)$", body, re.MULTILINE)
    assert match, "no stockgate_ws_direct_sockets in /metrics"
    return float(match.group(1))


async def subscribed_frame(port: int) -> tuple[float, dict]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?subscribe=market-gate", compression=None) as ws:
        while json.loads(await ws.recv()).get("type") != "subscribed":
            pass
        during = await asyncio.to_thread(direct_sockets, port)
        await sync_to_async(publish)("market-gate", {"type": "market_gate_update", "topic": "market-gate",
                                                     "data": {"level": 55, "status": "YELLOW"}})
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame.get("type") == "market_gate_update" and not frame.get("snapshot"):
                return during, frame


@pytest.mark.parametrize("server,direct", [("uvicorn", 1.0), ("daphne", 0.0)])
def test_the_procfile_server_writes_frames_on_the_fast_path(clean_redis, server: str, direct: float) -> None:
    """Fails if the Procfile's command stops giving sockets the direct wire path (a
    uvicorn upgrade renaming its protocol class, a flag change, compression on)."""
    web = processes.web(server, HEALTH_REQUIRE_FEED="false").start()
    try:
        during, frame = asyncio.run(subscribed_frame(web.port))
        after = direct_sockets(web.port)
    finally:
        web.stop()
    assert during == direct, f"{server}: {during} sockets on the fast path, expected {direct}"
    assert after == 0.0  # a closed socket leaves the count
    assert frame["data"] == {"level": 55, "status": "YELLOW"} and frame["seq"] >= 1
