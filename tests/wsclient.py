"""Helpers for protocol tests with Channels' WebsocketCommunicator (real Redis behind it)."""

from __future__ import annotations

import json
from typing import Any

from channels.testing import WebsocketCommunicator

from stockgate.asgi import application


async def connect(path: str = "/ws", headers: list[tuple[bytes, bytes]] | None = None) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = WebsocketCommunicator(application, path, headers=headers or [])
    ok, _ = await comm.connect(timeout=5)
    assert ok, "handshake refused"
    hello = await recv(comm)
    assert hello["type"] == "connected"
    return comm, hello


async def recv(comm: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout=timeout))


async def send(comm: WebsocketCommunicator, frame: Any) -> None:
    await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))


async def subscribe(comm: WebsocketCommunicator, topic: str, **extra: Any) -> dict[str, Any]:
    await send(comm, {"type": "subscribe", "topic": topic, **extra})
    ack = await recv(comm)
    assert ack == {"type": "subscribed", "topic": topic}, ack
    return ack
