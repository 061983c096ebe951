"""Which topics this web process has subscribers for, and the hooks that care.

The price feed registers tickers upstream only while someone watches them: it hooks
`on_demand_change` and hears (topic, True) when a topic gets its first subscriber in
this process and (topic, False) when its last one leaves (marketgate/feeds/demand.py
mirrors that into Redis for every web process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from stockgate.realtime import faultlog

log = logging.getLogger(__name__)

DemandHook = Callable[[str, bool], Awaitable[None]]
_demand_hooks: list[DemandHook] = []
# Subscribers per topic, per event loop (tests run several loops in one process).
_counts: dict[asyncio.AbstractEventLoop, dict[str, int]] = {}


def on_demand_change(hook: DemandHook) -> None:
    if hook not in _demand_hooks:
        _demand_hooks.append(hook)


def _local_counts() -> dict[str, int]:
    loop = asyncio.get_running_loop()
    counts = _counts.get(loop)
    if counts is None:
        for old in [lp for lp in _counts if lp.is_closed()]:
            del _counts[old]
        counts = _counts[loop] = {}
    return counts


def subscribers(topic: str) -> int:
    return _local_counts().get(topic, 0)


async def joined(topic: str) -> None:
    counts = _local_counts()
    counts[topic] = counts.get(topic, 0) + 1
    if counts[topic] == 1:
        await _notify(topic, True)


async def left(topic: str) -> None:
    counts = _local_counts()
    remaining = counts.get(topic, 0) - 1
    if remaining > 0:
        counts[topic] = remaining
        return
    counts.pop(topic, None)
    await _notify(topic, False)


async def _notify(topic: str, wanted: bool) -> None:
    for hook in _demand_hooks:
        try:
            await hook(topic, wanted)
        except Exception:
            # Redis away: one traceback a minute, not one per subscribe (faultlog.py).
            faultlog.failed("a demand hook", "the demand set is rewritten at its next renewal", level=logging.WARNING)
