"""Snapshot providers: the current state of a topic, sent right after `subscribed`.

Apps register a provider per topic kind in their AppConfig.ready(), so the transport
does not import the apps (dependencies point signals -> marketgate -> stockgate).
A provider returns the message without seq/epoch, or None when there is no state yet.

Providers mostly query the database, on the process's one database thread, which the
handshakes of new sockets need too. So `current()` runs at most one provider call per
topic and position at a time in a process (concurrent subscribers await the same
result) and keeps the result for WS_SNAPSHOT_CACHE_SECONDS while the topic's position
(epoch, seq) stays the same: a snapshot at an unchanged position is the same state,
so subscribing and unsubscribing in a loop costs a Redis read, not a query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from stockgate.realtime import metrics, sequence, singleflight
from stockgate.realtime.broadcast import encode
from stockgate.realtime.topics import topic_kind

SnapshotProvider = Callable[[str], Awaitable[dict[str, Any] | None]]
_providers: dict[str, SnapshotProvider] = {}


@dataclass(frozen=True)
class Snapshot:
    """A topic's position and its state there: the frame (`"snapshot": true`), or None
    when the topic has no state yet."""

    epoch: str
    seq: int
    frame: str | None
    taken_at: float = 0.0


def register(kind: str, provider: SnapshotProvider) -> None:
    _providers[kind] = provider


async def snapshot_for(topic: str) -> dict[str, Any] | None:
    provider = _providers.get(topic_kind(topic))
    if provider is None:
        return None
    return await provider(topic)


# Per event loop (tests run several loops in one process): topic -> the last snapshot.
_cache: dict[asyncio.AbstractEventLoop, dict[str, Snapshot]] = {}


def _local_cache() -> dict[str, Snapshot]:
    loop = asyncio.get_running_loop()
    cache = _cache.get(loop)
    if cache is None:
        for old in [lp for lp in _cache if lp.is_closed()]:
            del _cache[old]
        cache = _cache[loop] = {}
    return cache


async def current(topic: str) -> Snapshot:
    """The topic's position and snapshot: cached, shared with a query in flight, or queried."""
    epoch, seq = await sequence.current(topic)
    cache = _local_cache()
    now = asyncio.get_running_loop().time()
    held = cache.get(topic)
    if held is not None and held.epoch == epoch and held.seq == seq and now - held.taken_at < settings.WS_SNAPSHOT_CACHE_SECONDS:
        metrics.SNAPSHOT_LOADS.labels(source="cache").inc()
        return held
    key = ("snapshot", topic, epoch, seq)
    if singleflight.in_flight(key):
        metrics.SNAPSHOT_LOADS.labels(source="shared").inc()
    return await singleflight.shared(key, lambda: _query(topic, epoch, seq))


async def _query(topic: str, epoch: str, seq: int) -> Snapshot:
    metrics.SNAPSHOT_LOADS.labels(source="query").inc()
    message = await snapshot_for(topic)
    frame = None if message is None else encode({**message, "seq": seq, "epoch": epoch, "snapshot": True})
    snapshot = Snapshot(epoch, seq, frame, asyncio.get_running_loop().time())
    cache = _local_cache()
    if len(cache) >= _CACHE_TOPICS:
        cache.clear()  # bounded: a process holds a few hundred topics at most in practice
    cache[topic] = snapshot
    return snapshot


# At most this many topics' snapshots are cached per process.
_CACHE_TOPICS = 4096


def not_recovered(frame: str) -> str:
    """The snapshot frame sent instead of a `since` replay that could not be served."""
    return '{"recovered":false,' + frame[1:]
