"""Which tickers someone is watching, and who, across every web process.

Each web process keeps the (ticker, client) pairs its sockets subscribe to in one Redis
set of its own, renewed with a TTL heartbeat: a web process that dies stops renewing
and its demand expires. A client is a signed-in user, else an address (see
`stockgate.realtime.presence.client_key`); it is stored as a short hash. The feed takes
the union of the live sets, adds the system's own demand (the watchlist, and whatever
the apps register with `own_demand`, e.g. the signals' tickers) and gives the upstream's
registration slots out by the fairness rule (fairness.py).

Web side: `track(topic, client, wanted)` is the transport's demand hook (presence.on_demand_change).
Feed side: `wanted_tickers()`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from marketgate.feeds.fairness import FairnessRule, rank
from stockgate.realtime.redis_conn import async_client
from stockgate.realtime.topics import ticker_of

log = logging.getLogger(__name__)

PROCESS_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _registry_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:demand:procs"


def _process_key(process_id: str) -> str:
    return f"{settings.REALTIME_PREFIX}:feed:demand:proc:{process_id}"


def demand_member(ticker: str, client: str) -> str:
    """One (ticker, client) pair as a set member: the client only as a hash (no addresses in Redis)."""
    return f"{ticker} {hashlib.blake2s(client.encode(), digest_size=6).hexdigest()}"


class DemandTracker:
    """This web process's wanted (ticker, client) pairs, mirrored into Redis."""

    def __init__(self, process_id: str = PROCESS_ID) -> None:
        self.process_id = process_id
        self.tickers: set[str] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    async def change(self, topic: str, wanted: bool, client: str = "") -> None:
        ticker = ticker_of(topic)
        if ticker is None:
            return
        member = demand_member(ticker, client)
        if wanted:
            self.tickers.add(member)
        else:
            self.tickers.discard(member)
        self._ensure_heartbeat()
        await self._write(added=[member] if wanted else [], removed=[] if wanted else [member])

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


async def track(topic: str, client: str, wanted: bool) -> None:
    loop = asyncio.get_running_loop()
    tracker = _trackers.get(loop)
    if tracker is None:
        for old in [lp for lp in _trackers if lp.is_closed()]:
            del _trackers[old]
        suffix = "" if not _trackers else f"-{len(_trackers)}"
        tracker = _trackers[loop] = DemandTracker(PROCESS_ID + suffix)
    await tracker.change(topic, wanted, client)


async def demand_by_ticker() -> dict[str, set[str]]:
    """Ticker -> the clients that want it, over every live web process; forgets processes that died."""
    client = async_client()
    members = [m.decode() for m in await client.smembers(_registry_key())]
    if not members:
        return {}
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
        return {}
    demand: dict[str, set[str]] = {}
    for raw in await client.sunion(live):
        ticker, _, who = raw.decode().partition(" ")
        demand.setdefault(ticker, set()).add(who)
    return demand


async def demanded_tickers() -> set[str]:
    return set(await demand_by_ticker())


# --- the system's own demand and the instruments, read from the database now and then ---

OwnDemand = Callable[[], list[str]]
_own_sources: list[OwnDemand] = []
# Cached reads: (monotonic time read, value). The feed asks every second; the database
# is asked every DATABASE_READ_SECONDS.
DATABASE_READ_SECONDS = 60.0
_cache: dict[str, tuple[float, object]] = {}


def own_demand(source: OwnDemand) -> None:
    """Register a source of tickers the system itself wants live (an app's ready())."""
    if source not in _own_sources:
        _own_sources.append(source)


def _read_own() -> list[str]:
    tickers: list[str] = []
    for source in _own_sources:
        try:
            tickers += source()
        except Exception:
            log.warning("price feed: an own-demand source failed", exc_info=True)
    return tickers


def _read_known() -> frozenset[str]:
    from marketgate.models import Instrument

    return frozenset(Instrument.objects.filter(active=True).values_list("ticker", flat=True))


async def _cached(name: str, read: Callable[[], object]) -> object:
    now = time.monotonic()
    hit = _cache.get(name)
    if hit is not None and now - hit[0] < DATABASE_READ_SECONDS:
        return hit[1]
    try:
        value = await sync_to_async(read, thread_sensitive=False)()
    except Exception:
        if hit is None:
            raise
        log.warning("price feed: could not read %s; keeping the last one", name, exc_info=True)
        return hit[1]
    _cache[name] = (now, value)
    return value


def forget_cached() -> None:
    _cache.clear()


def fairness_rule() -> FairnessRule:
    return FairnessRule(
        limit=settings.PRICE_MAX_REGISTRATIONS,
        client_votes=settings.PRICE_CLIENT_MAX_TICKERS,
        min_hold_seconds=settings.PRICE_REGISTRATION_MIN_SECONDS,
        changes_per_minute=settings.PRICE_REGISTRATION_CHANGES_PER_MINUTE,
        burst=settings.PRICE_MAX_REGISTRATIONS,
    )


async def wanted_tickers(registered: Iterable[str] = ()) -> tuple[list[str], int]:
    """(every ticker that deserves a slot, best first; how many of them do not fit).

    The watchlist and the apps' own demand come first; clients' demand follows by the
    fairness rule, real instruments only."""
    demand = await demand_by_ticker()
    own = [*settings.PRICE_WATCHLIST, *await _cached("own demand", _read_own)]  # type: ignore[misc]
    known = await _cached("instruments", _read_known) if demand else frozenset()
    rule = fairness_rule()
    ranked = rank(own, demand, known, rule, registered)  # type: ignore[arg-type]
    return ranked, max(0, len(ranked) - rule.limit)
