"""What the marketgate app publishes, and the snapshots it answers subscribers with."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from marketgate.models import MarketGate
from stockgate.realtime import snapshots, topics
from stockgate.realtime.broadcast import publish_safely


def broadcast_gate(gate: MarketGate) -> None:
    publish_safely(topics.MARKET_GATE, gate.to_message())


def broadcast_latest_gate() -> None:
    """After a delete: the gate subscribers should show now (nothing when none is left)."""
    gate = MarketGate.latest()
    if gate is not None:
        broadcast_gate(gate)


@database_sync_to_async
def _latest_gate_message() -> dict[str, Any] | None:
    gate = MarketGate.latest()
    return gate.to_message() if gate else None


async def gate_snapshot(topic: str) -> dict[str, Any] | None:
    return await _latest_gate_message()


def register_snapshots() -> None:
    snapshots.register("market-gate", gate_snapshot)
