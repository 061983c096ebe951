"""Writing frames to one socket: at once while the socket keeps up, queued when it does not.

A broadcast reaches every local socket from one pass of the channel layer's reader.
Handing each frame to a per-socket writer task would cost a task wakeup per socket per
broadcast, which on a busy process is most of the fan-out time. Instead the frame is
written straight away: on the fast path (wire.py) its bytes go to the transport; else
the ASGI send of uvicorn and daphne, which does not suspend while the transport is
writable, is driven one step and completes. Only when it does suspend (the transport
is paused: the client reads slowly) does a task take over the rest of that send and
the frames queued behind it, bounded by WS_SEND_QUEUE_FRAMES frames and by
WS_SEND_QUEUE_BYTES bytes (UTF-8), whichever is reached first: a few large snapshots or
replays must not hold megabytes per socket.
"""

from __future__ import annotations

import asyncio
from collections import deque

from stockgate.realtime import metrics
from stockgate.realtime.stepping import Resume, step
from stockgate.realtime.wire import Outlet

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


def utf8_size(frame: str) -> int:
    """The frame's size on the wire (frames keep Korean text as UTF-8, not escaped)."""
    return len(frame) if frame.isascii() else len(frame.encode())


class FrameSender:
    """One socket's outbound frames: in order, never blocking the caller, bounded."""

    __slots__ = ("outlet", "limit", "limit_bytes", "outbox", "queued_bytes", "draining", "gone")

    def __init__(self, outlet: Outlet, limit: int, limit_bytes: int) -> None:
        self.outlet = outlet
        self.limit = limit
        self.limit_bytes = limit_bytes
        self.outbox: deque[str] = deque()
        self.queued_bytes = 0
        self.draining: asyncio.Task[None] | None = None
        self.gone = False  # the socket failed under a send, or was discarded
        if outlet.direct:
            metrics.DIRECT_SOCKETS.inc()

    def write(self, frame: str) -> bool:
        """Send or queue `frame`; False when the queue is full (the client is too slow)."""
        if self.gone:
            return True
        if self.draining is not None:
            size = utf8_size(frame)
            if len(self.outbox) >= self.limit or (self.outbox and self.queued_bytes + size > self.limit_bytes):
                return False  # (an empty queue takes any one frame: a big snapshot alone is not "slow")
            self.outbox.append(frame)
            self.queued_bytes += size
            return True
        try:
            if self.outlet.write_now(frame):
                _count_frame()
                return True
            rest = step(self.outlet.send({"type": "websocket.send", "text": frame}))
        except Exception:
            self._gone()  # the socket went away; disconnect() cleans up
            return True
        if rest is None:
            _count_frame()
            return True
        self.draining = asyncio.get_running_loop().create_task(self._drain(rest))
        return True

    async def _drain(self, rest: Resume) -> None:
        try:
            await rest
            _count_frame()
            while self.outbox:
                frame = self.outbox.popleft()
                self.queued_bytes -= utf8_size(frame)
                await self.outlet.send({"type": "websocket.send", "text": frame})
                _count_frame()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._gone()
        finally:
            self.draining = None

    async def flush(self) -> None:
        """Wait until every queued frame is written (or the socket failed)."""
        while self.draining is not None:
            await asyncio.wait({self.draining})

    def queued(self) -> int:
        return len(self.outbox)

    def _gone(self) -> None:
        if not self.gone and self.outlet.direct:
            metrics.DIRECT_SOCKETS.dec()
        self.gone = True

    def discard(self) -> int:
        """Drop what is queued and stop writing; returns how many frames were dropped."""
        dropped = len(self.outbox)
        self.outbox.clear()
        self.queued_bytes = 0
        self._gone()
        if self.draining is not None:
            self.draining.cancel()
        return dropped
