"""Snapshot providers: the current state of a topic, sent right after `subscribed`.

Apps register a provider per topic kind in their AppConfig.ready(), so the transport
does not import the apps (dependencies point signals -> marketgate -> stockgate).
A provider returns the message without seq/epoch, or None when there is no state yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from stockgate.realtime.topics import topic_kind

SnapshotProvider = Callable[[str], Awaitable[dict[str, Any] | None]]
_providers: dict[str, SnapshotProvider] = {}


def register(kind: str, provider: SnapshotProvider) -> None:
    _providers[kind] = provider


async def snapshot_for(topic: str) -> dict[str, Any] | None:
    provider = _providers.get(topic_kind(topic))
    if provider is None:
        return None
    return await provider(topic)
