"""One computation in flight per key per event loop; concurrent callers await the same one.

After a Redis restart hundreds of sockets ask for the same catch-up at the same moment
(repair.py), and many sockets subscribe to the same topic at once (snapshots.py): one
read or query serves them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_inflight: dict[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Future[Any]]] = {}


def _local() -> dict[Hashable, asyncio.Future[Any]]:
    loop = asyncio.get_running_loop()
    inflight = _inflight.get(loop)
    if inflight is None:
        for old in [lp for lp in _inflight if lp.is_closed()]:
            del _inflight[old]
        inflight = _inflight[loop] = {}
    return inflight


def in_flight(key: Hashable) -> bool:
    return key in _local()


async def shared(key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
    inflight = _local()
    future = inflight.get(key)
    if future is None:
        future = inflight[key] = asyncio.ensure_future(make())
        future.add_done_callback(lambda _: inflight.pop(key, None))
    # One waiter going away (its socket closed) must not cancel the work for the others.
    return await asyncio.shield(future)
