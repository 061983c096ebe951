"""Server-side gap repair: what a consumer needs when it missed frames of a topic.

A consumer notices a gap when a frame's seq is not the next one for its topic (frames
lost while Redis restarted, a subscription re-established) or when the channel layer
says its group was resubscribed. It then sends its client the missed frames from the
topic's sequence, or a fresh snapshot when they are gone: the client needs no `since`.

Consumers of one process at the same position share one sequence read (and one
snapshot query): after a Redis restart hundreds of sockets ask at the same moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from stockgate.realtime import metrics, sequence, snapshots
from stockgate.realtime.broadcast import encode

T = TypeVar("T")


@dataclass(frozen=True)
class CatchUp:
    """Frames to send, oldest first, as (seq, epoch, text), and the position they lead to."""

    frames: tuple[tuple[int, str, str], ...]
    epoch: str
    seq: int


_inflight: dict[asyncio.AbstractEventLoop, dict[tuple[Any, ...], asyncio.Future[Any]]] = {}


async def _shared(key: tuple[Any, ...], make: Callable[[], Awaitable[T]]) -> T:
    loop = asyncio.get_running_loop()
    inflight = _inflight.get(loop)
    if inflight is None:
        for old in [lp for lp in _inflight if lp.is_closed()]:
            del _inflight[old]
        inflight = _inflight[loop] = {}
    future = inflight.get(key)
    if future is None:
        future = inflight[key] = asyncio.ensure_future(make())
        future.add_done_callback(lambda _: inflight.pop(key, None))
    # One waiter going away (its socket closed) must not cancel the read for the others.
    return await asyncio.shield(future)


async def catch_up(topic: str, epoch: str, seq: int) -> CatchUp:
    """Everything after (epoch, seq): the history's frames, or a snapshot when they are gone."""
    return await _shared(("after", topic, epoch, seq), lambda: _catch_up(topic, epoch, seq))


async def _catch_up(topic: str, epoch: str, seq: int) -> CatchUp:
    if epoch:
        frames = await sequence.replay(topic, epoch, seq)
        if frames is not None:
            if frames:
                metrics.GAP_REPAIRS.labels(how="replay").inc()
            stamped = []
            for frame in frames:
                frame_seq, frame_epoch = sequence.parse_stamp(frame)
                stamped.append((frame_seq, frame_epoch, sequence.mark_replayed(frame)))
            return CatchUp(tuple(stamped), epoch, seq + len(stamped))
    return await _shared(("snapshot", topic), lambda: _snapshot(topic))


async def _snapshot(topic: str) -> CatchUp:
    epoch, seq = await sequence.current(topic)
    message = await snapshots.snapshot_for(topic)
    metrics.GAP_REPAIRS.labels(how="snapshot").inc()
    if message is None:
        return CatchUp((), epoch, seq)
    return CatchUp(((seq, epoch, encode({**message, "seq": seq, "epoch": epoch, "snapshot": True})),), epoch, seq)
