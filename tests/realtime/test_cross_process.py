"""A row saved in one process reaches sockets held by other processes (through Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAVE_GATE = (
    "from tests.factories import gate; "
    "gate(level=77, status='GREEN', kospi_change_pct=1.25)"
)


async def _subscribe(port: int) -> websockets.ClientConnection:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws")
    assert json.loads(await ws.recv())["type"] == "connected"
    await ws.send(json.dumps({"type": "subscribe", "topic": "market-gate"}))
    assert json.loads(await ws.recv()) == {"type": "subscribed", "topic": "market-gate"}
    return ws


async def _next_update(ws: websockets.ClientConnection) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
        if frame["type"] == "market_gate_update":
            return frame


def test_gate_saved_by_a_management_command_reaches_clients_of_two_servers(clean_redis):
    uvicorn_server = processes.web("uvicorn").start()
    daphne_server = processes.web("daphne").start()
    try:
        async def scenario() -> tuple[dict, dict]:
            a = await _subscribe(uvicorn_server.port)
            b = await _subscribe(daphne_server.port)
            result = await asyncio.to_thread(processes.manage, "shell", "-c", SAVE_GATE)
            assert result.returncode == 0, result.stderr
            got = await asyncio.gather(_next_update(a), _next_update(b))
            await a.close()
            await b.close()
            return got

        via_uvicorn, via_daphne = asyncio.run(scenario())
    finally:
        uvicorn_server.stop()
        daphne_server.stop()
    assert via_uvicorn == via_daphne  # same frame, same seq and epoch, on both servers
    assert via_uvicorn["topic"] == "market-gate" and via_uvicorn["seq"] >= 1 and via_uvicorn["epoch"]
    assert via_uvicorn["data"]["level"] == 77 and via_uvicorn["data"]["kospi_change_pct"] == 1.25
