"""Writing frames to one socket: at once while the socket keeps up, queued when it does not.

A broadcast reaches every local socket from one loop in the hub. Handing each frame to
a per-socket writer task would cost a task wakeup per socket per broadcast, which on a
busy process is most of the fan-out time. Instead the frame is written straight away:
the ASGI send of uvicorn and daphne does not suspend while the transport is writable,
so driving the send coroutine one step completes it. Only when it does suspend (the
transport is paused: the client reads slowly) does a task take over the rest of that
send and the frames queued behind it, bounded by WS_SEND_QUEUE_FRAMES.

Under uvicorn's websockets-sansio protocol (the production server) a writable socket
without compression gets the frame's wire bytes directly: an unmasked server frame is
the same bytes for every socket, so it is built once per broadcast, not once per socket.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from channels.sessions import InstanceSessionWrapper
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # uvicorn without websockets: the generic path only
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

from stockgate.realtime import metrics

Send = Callable[[dict[str, Any]], Awaitable[None]]

_unreported_frames = 0


def _report_frames() -> None:
    # One counter update per loop iteration rather than one per socket per broadcast:
    # in multiprocess mode every update is a write to a shared memory map.
    global _unreported_frames
    metrics.FRAMES_SENT.inc(_unreported_frames)
    _unreported_frames = 0


def _count_frame() -> None:
    global _unreported_frames
    if _unreported_frames == 0:
        asyncio.get_running_loop().call_soon(_report_frames)
    _unreported_frames += 1


def unwrap_send(send: Send) -> Send:
    """The server's own send under Channels' session middleware.

    The session wrapper only acts on HTTP response messages; on a WebSocket frame it
    just reads the lazy session twice, which costs more than writing the frame.
    """
    owner = getattr(send, "__self__", None)
    while isinstance(owner, InstanceSessionWrapper):
        send = owner.real_send
        owner = getattr(send, "__self__", None)
    return send


_last_text: str | None = None
_last_wire = b""


def wire_text(frame: str) -> bytes:
    """The unmasked WebSocket text frame of `frame` (RFC 6455 5.2).

    The hub hands the same str object to every socket, so the last one is kept and
    reused by identity: one encoding per broadcast, whatever the number of sockets.
    """
    global _last_text, _last_wire
    if frame is _last_text:
        return _last_wire
    payload = frame.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = b"\x81\x7e" + n.to_bytes(2, "big")
    else:
        header = b"\x81\x7f" + n.to_bytes(8, "big")
    _last_text, _last_wire = frame, header + payload
    return _last_wire


def direct_protocol(send: Send) -> Any:
    """uvicorn's sansio protocol behind `send` when frames may bypass it, else None."""
    proto = getattr(send, "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(proto, WebSocketsSansIOProtocol):
        return None
    conn = getattr(proto, "conn", None)
    if conn is None or conn.extensions or not getattr(proto, "handshake_complete", False):
        return None  # compression (per-socket bytes) or not yet open: the ASGI send
    return proto


class _Resume:
    """Await the rest of a coroutine that was already driven to its first suspension."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.first
        while True:
            try:
                value = yield pending  # the future the coroutine waits on goes to the task
            except BaseException as exc:  # cancellation reaches the coroutine as it would
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(value)
                except StopIteration as stop:
                    return stop.value


class FrameSender:
    """One socket's outbound frames: in order, never blocking the caller, bounded."""

    __slots__ = ("send", "proto", "limit", "outbox", "draining", "gone")

    def __init__(self, send: Send, limit: int) -> None:
        self.send = send
        self.proto = direct_protocol(send)
        self.limit = limit
        self.outbox: deque[str] = deque()
        self.draining: asyncio.Task[None] | None = None
        self.gone = False  # the socket failed under a send

    def write(self, frame: str) -> bool:
        """Send or queue `frame`; False when the queue is full (the client is too slow)."""
        if self.gone:
            return True
        if self.draining is not None:
            if len(self.outbox) >= self.limit:
                return False
            self.outbox.append(frame)
            return True
        proto = self.proto
        if (
            proto is not None
            and proto.writable.is_set()  # not paused: what uvicorn's send waits for
            and not proto.close_sent
            and not proto.disconnected
            and proto.conn.state is State.OPEN
        ):
            proto.transport.write(wire_text(frame))
            _count_frame()
            return True
        coro = self.send({"type": "websocket.send", "text": frame})
        try:
            pending = coro.send(None)
        except StopIteration:
            _count_frame()
            return True
        except Exception:
            self.gone = True  # the socket went away; disconnect() cleans up
            return True
        self.draining = asyncio.get_running_loop().create_task(self._drain(coro, pending))
        return True

    async def _drain(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        try:
            await _Resume(coro, pending)
            _count_frame()
            while self.outbox:
                await self.send({"type": "websocket.send", "text": self.outbox.popleft()})
                _count_frame()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.gone = True
        finally:
            self.draining = None

    async def flush(self) -> None:
        """Wait until every queued frame is written (or the socket failed)."""
        while self.draining is not None:
            await asyncio.wait({self.draining})

    def queued(self) -> int:
        return len(self.outbox)

    def discard(self) -> int:
        """Drop what is queued and stop writing; returns how many frames were dropped."""
        dropped = len(self.outbox)
        self.outbox.clear()
        self.gone = True
        if self.draining is not None:
            self.draining.cancel()
        return dropped
