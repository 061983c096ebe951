"""Helpers for protocol tests: one client API over three ways of reaching the consumer.

- "in-process": Channels' WebsocketCommunicator on the ASGI application (real Redis behind it);
- "uvicorn": a real socket to the Procfile's web command, where frames take the fast path;
- "daphne": a real socket to daphne, the fallback path (frames through the ASGI send).

The protocol modules run every test on each (the `ws_target` fixture in conftest.py).
Settings a test overrides are given to the server processes as environment variables,
with one cached server per distinct set of overrides.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from channels.testing import WebsocketCommunicator
from django.conf import settings

from stockgate.asgi import application
from tests import processes

TARGETS = ("in-process", "uvicorn", "daphne")
target = "in-process"

# Settings the consumer reads, as the environment variables that set them.
_SERVER_SETTINGS = (
    "WS_MAX_FRAME_BYTES", "WS_MAX_BAD_FRAMES_PER_MINUTE", "WS_MAX_FRAMES_PER_SECOND", "WS_RATE_ABUSE_SECONDS",
    "WS_MAX_SUBSCRIPTIONS", "WS_HEARTBEAT_SECONDS", "WS_IDLE_TIMEOUT_SECONDS", "WS_SEND_QUEUE_FRAMES",
    "WS_TOPIC_PERMISSIONS", "WS_ALLOWED_ORIGINS", "PRICE_MAX_UPDATES_PER_SECOND",
)
_defaults: dict[str, Any] = {}
_servers: dict[tuple[str, tuple[tuple[str, str], ...]], processes.Proc] = {}


def remember_defaults() -> None:
    for name in _SERVER_SETTINGS:
        _defaults.setdefault(name, getattr(settings, name))


def stop_servers() -> None:
    for server in _servers.values():
        server.stop()
    _servers.clear()


def _as_env(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _server(kind: str) -> processes.Proc:
    overrides = tuple(
        (name, _as_env(getattr(settings, name))) for name in _SERVER_SETTINGS if getattr(settings, name) != _defaults[name]
    )
    key = (kind, overrides)
    server = _servers.get(key)
    if server is None or not server.alive():
        server = _servers[key] = processes.web(kind, HEALTH_REQUIRE_FEED="false", **dict(overrides)).start()
    return server


class ServerComm:
    """The WebsocketCommunicator calls the protocol tests use, over a real socket."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.buffered: list[dict[str, Any]] = []

    async def _next(self, timeout: float) -> dict[str, Any]:
        if self.buffered:
            return self.buffered.pop(0)
        try:
            text = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.exceptions.ConnectionClosed as closed:
            rcvd = closed.rcvd
            return {"type": "websocket.close", "code": rcvd.code if rcvd else 1006, "reason": None}
        return {"type": "websocket.send", "text": text}

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:
        return await self._next(timeout)

    async def receive_from(self, timeout: float = 1) -> str:
        out = await self._next(timeout)
        assert out["type"] == "websocket.send", f"expected a frame, got {out}"
        return str(out["text"])

    async def receive_nothing(self, timeout: float = 0.1, interval: float = 0.01) -> bool:
        if self.buffered:
            return False
        try:
            self.buffered.append(await self._next(timeout))
        except TimeoutError:
            return True
        return False

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.ws.send(text_data if text_data is not None else bytes_data or b"")

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.ws.close(code)

    async def wait(self, timeout: float = 1) -> None:
        await asyncio.wait_for(self.ws.wait_closed(), timeout)


Comm = WebsocketCommunicator | ServerComm


def close_code(code: int) -> int:
    """The close code a client sees for the server's `code`: daphne sends only 1000 and
    3000-4999 (protocol.md), so 1001/1008/1009 arrive as 1000 there."""
    if target == "daphne" and code != 1000 and not 3000 <= code <= 4999:
        return 1000
    return code


async def open_socket(path: str = "/ws", headers: list[tuple[bytes, bytes]] | None = None) -> Comm | None:
    """A connection to the current target; None when the handshake is refused."""
    if target == "in-process":
        comm = WebsocketCommunicator(application, path, headers=headers or [])
        ok, _ = await comm.connect(timeout=5)
        return comm if ok else None
    server = _server(target)
    extra = [(k.decode(), v.decode()) for k, v in headers or []]
    origin = next((v for k, v in extra if k.lower() == "origin"), None)
    extra = [(k, v) for k, v in extra if k.lower() != "origin"]
    try:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{server.port}{path}", additional_headers=extra, origin=origin,  # type: ignore[arg-type]
            compression=None, open_timeout=10,
        )
    except websockets.exceptions.InvalidStatus:
        return None
    return ServerComm(ws)


async def connect(path: str = "/ws", headers: list[tuple[bytes, bytes]] | None = None) -> tuple[Any, dict[str, Any]]:
    comm = await open_socket(path, headers)
    assert comm is not None, "handshake refused"
    hello = await recv(comm)
    assert hello["type"] == "connected"
    return comm, hello


async def recv(comm: Any, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout=timeout))


async def send(comm: Any, frame: Any) -> None:
    await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))


async def subscribe(comm: Any, topic: str, **extra: Any) -> dict[str, Any]:
    await send(comm, {"type": "subscribe", "topic": topic, **extra})
    ack = await recv(comm)
    assert ack == {"type": "subscribed", "topic": topic}, ack
    return ack
