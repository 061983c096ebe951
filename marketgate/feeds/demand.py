"""Which tickers someone is watching, across every web process.

Each web process keeps the set of `price:` topics its sockets subscribe to in one
Redis set of its own, renewed with a TTL heartbeat: a web process that dies stops
renewing and its demand expires. The feed takes the union of the live sets (plus the
watchlist), capped at the upstream's registration limit.

Web side: `track(topic, wanted)` is the transport's demand hook (presence.on_demand_change).
Feed side: `wanted_tickers()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterable

from django.conf import settings
from redis.exceptions import RedisError

from stockgate.realtime.redis_conn import async_client
from stockgate.realtime.topics import ticker_of

log = logging.getLogger(__name__)

PROCESS_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _registry_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:demand:procs"


def _process_key(process_id: str) -> str:
    return f"{settings.REALTIME_PREFIX}:feed:demand:proc:{process_id}"


class DemandTracker:
    """This web process's wanted tickers, mirrored into Redis."""

    def __init__(self, process_id: str = PROCESS_ID) -> None:
        self.process_id = process_id
        self.tickers: set[str] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    async def change(self, topic: str, wanted: bool) -> None:
        ticker = ticker_of(topic)
        if ticker is None:
            return
        if wanted:
            self.tickers.add(ticker)
        else:
            self.tickers.discard(ticker)
        self._ensure_heartbeat()
        await self._write(added=[ticker] if wanted else [], removed=[] if wanted else [ticker])

    async def _write(self, added: Iterable[str] = (), removed: Iterable[str] = ()) -> None:
        key = _process_key(self.process_id)
        pipe = async_client().pipeline(transaction=True)
        if added:
            pipe.sadd(key, *added)
        if removed:
            pipe.srem(key, *removed)
        pipe.expire(key, settings.PRICE_DEMAND_TTL_SECONDS)
        pipe.sadd(_registry_key(), self.process_id)
        await pipe.execute()

    async def refresh(self) -> None:
        """Rewrite the whole set: heals a Redis that lost it, renews the TTL."""
        key = _process_key(self.process_id)
        pipe = async_client().pipeline(transaction=True)
        pipe.delete(key)
        if self.tickers:
            pipe.sadd(key, *self.tickers)
            pipe.expire(key, settings.PRICE_DEMAND_TTL_SECONDS)
            pipe.sadd(_registry_key(), self.process_id)
        await pipe.execute()

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        interval = max(1.0, settings.PRICE_DEMAND_TTL_SECONDS / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except (RedisError, OSError):
                log.warning("could not renew price demand; retrying in %.0fs", interval)
            if not self.tickers:
                self._heartbeat = None
                return


# One tracker per event loop: subscriber counts are per loop too.
_trackers: dict[asyncio.AbstractEventLoop, DemandTracker] = {}


async def track(topic: str, wanted: bool) -> None:
    loop = asyncio.get_running_loop()
    tracker = _trackers.get(loop)
    if tracker is None:
        for old in [lp for lp in _trackers if lp.is_closed()]:
            del _trackers[old]
        suffix = "" if not _trackers else f"-{len(_trackers)}"
        tracker = _trackers[loop] = DemandTracker(PROCESS_ID + suffix)
    await tracker.change(topic, wanted)


async def demanded_tickers() -> set[str]:
    """Union of every live web process's wanted tickers; forgets processes that died."""
    client = async_client()
    members = [m.decode() for m in await client.smembers(_registry_key())]
    if not members:
        return set()
    keys = [_process_key(m) for m in members]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    alive = await pipe.execute()
    dead = [m for m, ok in zip(members, alive) if not ok]
    if dead:
        await client.srem(_registry_key(), *dead)
    live = [k for k, ok in zip(keys, alive) if ok]
    if not live:
        return set()
    return {t.decode() for t in await client.sunion(live)}


def choose(watchlist: list[str], demanded: set[str], limit: int) -> list[str]:
    """What to register upstream: the watchlist first, then demand, within `limit`. Pure."""
    chosen: list[str] = []
    for ticker in [*watchlist, *sorted(demanded)]:
        if ticker not in chosen:
            chosen.append(ticker)
    return chosen[: max(0, limit)]


async def wanted_tickers() -> tuple[list[str], int]:
    """(tickers to register, how many demanded tickers did not fit)."""
    demanded = await demanded_tickers()
    watch = list(settings.PRICE_WATCHLIST)
    chosen = choose(watch, demanded, settings.PRICE_MAX_REGISTRATIONS)
    unserved = len((demanded | set(watch)) - set(chosen))
    return chosen, unserved
