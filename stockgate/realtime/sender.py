"""Writing frames to one socket: at once while the socket keeps up, queued when it does not.

A broadcast reaches every local socket from one loop in the hub. Handing each frame to
a per-socket writer task would cost a task wakeup per socket per broadcast, which on a
busy process is most of the fan-out time. Instead the frame is written straight away:
the ASGI send of uvicorn and daphne does not suspend while the transport is writable,
so driving the send coroutine one step completes it. Only when it does suspend (the
transport is paused: the client reads slowly) does a task take over the rest of that
send and the frames queued behind it, bounded by WS_SEND_QUEUE_FRAMES.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from channels.sessions import InstanceSessionWrapper

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

    __slots__ = ("send", "limit", "outbox", "draining", "gone")

    def __init__(self, send: Send, limit: int) -> None:
        self.send = send
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
