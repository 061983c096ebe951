"""A started web server seen from outside, for the WebSocket fault tests: its /metrics,
the tracebacks in its log, and sockets with the frames they are sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import requests
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import Proc

# The METRICS_TOKEN the fault tests start their servers with.
TOKEN = "fault-ws-frames"


def metric(server: Proc, sample: str, **labels: str) -> float:
    """The sum of `sample`'s values on the server's /metrics whose labels include `labels`."""
    body = requests.get(f"http://127.0.0.1:{server.port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=30)
    body.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(body.text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def tracebacks(server: Proc) -> int:
    return server.output().count("Traceback")


def connect(server: Proc, cookie: str | None = None) -> Any:
    headers = [("Cookie", cookie)] if cookie else None
    return websockets.connect(f"ws://127.0.0.1:{server.port}/ws", additional_headers=headers, open_timeout=20,
                              compression=None)


async def next_frame(ws: Any, timeout: float = 10.0, skip: tuple[str, ...] = ("ping",)) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame.get("type") not in skip:
            return frame


async def expect(ws: Any, **fields: Any) -> dict[str, Any]:
    frame = await next_frame(ws)
    assert all(frame.get(k) == v for k, v in fields.items()), (fields, frame)
    return frame


async def still_usable(ws: Any) -> None:
    await ws.send('{"type":"ping"}')
    await expect(ws, type="pong")


def gate_message(level: int, pad: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"level": level}
    if pad:
        data["pad"] = pad
    return {"type": "market_gate_update", "topic": "market-gate", "timestamp": "2026-02-06T09:42:35+09:00",
            "data": data}
