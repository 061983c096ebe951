"""Runs a PriceFeed: the single-session lock, reconnects, demand, publishing.

One runner per `stream_prices` process. It holds the upstream session only while it
holds the Redis lock (a second process waits), reconnects with capped exponential
backoff, registers exactly the tickers someone wants, publishes fresh ticks as
`price_update`s and index values as `index_update`s, and keeps its state in Redis
for health checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

from marketgate.calendar import KST
from marketgate.feeds import clock, quotes
from marketgate.feeds.backoff import Backoff
from marketgate.feeds.bars import BarBuilder, MinuteBar
from marketgate.feeds.base import FeedError, FeedSession, IndexTick, PriceFeed, Tick
from marketgate.feeds.demand import fairness_rule, wanted_tickers
from marketgate.feeds.fairness import Registrations
from marketgate.feeds.lock import SessionLock
from marketgate.feeds.messages import index_message, price_message, quote_record
from marketgate.feeds.state import (
    STATE_TTL_SECONDS,
    FeedStateDict,
    State,
    encode_state,
    iso,
    state_key,
)
from stockgate.realtime.broadcast import apublish
from stockgate.realtime.redis_conn import async_client
from stockgate.realtime.topics import price_topic

log = logging.getLogger(__name__)

MAX_PENDING_BARS = 200_000


def bars_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:bars"


async def push_bars(bars: list[MinuteBar]) -> None:
    """Completed bars wait in Redis for the intraday-bar task (bounded list)."""
    if not bars:
        return
    pipe = async_client().pipeline(transaction=True)
    pipe.rpush(bars_key(), *[json.dumps(b.to_json()) for b in bars])
    pipe.ltrim(bars_key(), -MAX_PENDING_BARS, -1)
    await pipe.execute()


# (tickers that deserve a slot, best first; how many do not fit), given what is registered.
DemandSource = Callable[[set[str]], Awaitable[tuple[list[str], int]]]


class FeedRunner:
    def __init__(
        self,
        feed: PriceFeed,
        *,
        stop: asyncio.Event | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(KST),
        backoff: Backoff | None = None,
        demand: DemandSource = wanted_tickers,
        publish_index: bool = True,
        demand_poll_seconds: float = 1.0,
    ) -> None:
        self.feed = feed
        self.stop = stop or asyncio.Event()
        self.wall_clock = wall_clock
        self.backoff = backoff or Backoff(settings.PRICE_BACKOFF_BASE_SECONDS, settings.PRICE_BACKOFF_CAP_SECONDS)
        self.demand = demand
        self.publish_index = publish_index
        self.demand_poll_seconds = demand_poll_seconds
        self.lock = SessionLock(async_client())
        self.lost_lock = asyncio.Event()
        self.bars = BarBuilder()
        self.registered: set[str] = set()
        self.plan = Registrations(fairness_rule())  # hold times and change budget of this session
        self.unserved = 0
        self.dirty_quotes: dict[str, dict[str, Any]] = {}
        self.state: State = "down"
        self.state_since = wall_clock()
        self.last_tick_at: datetime | None = None
        self.last_tick_as_of: datetime | None = None
        self.sessions_opened = 0
        self.delays: list[float] = []  # reconnect delays actually waited (observable in tests)
        self.published = 0
        self.dropped_stale = 0
        self.last_index: dict[str, float] = {}

    # --- outer loop: the lock ---

    async def run(self) -> None:
        waiting_logged = False
        while not self.stop.is_set():
            try:
                acquired = await self.lock.acquire()
                holder = None if acquired else await self.lock.holder()
            except RedisError as exc:
                # Redis unreachable (restarting): the lock can be neither taken nor read;
                # try again, as when another process holds it.
                log.warning("price feed: Redis unavailable, session lock not taken: %s", exc)
                await self._sleep(self.lock.ttl_ms / 3000)
                continue
            if acquired:
                log.info("price feed: holding the upstream session lock (%s)", self.lock.token)
                waiting_logged = False
                try:
                    await self._hold()
                finally:
                    await self._set_state("down")
                    await self._release_lock()
            else:
                if not waiting_logged:
                    log.info("price feed: another stream_prices holds the session (%s); waiting", holder)
                    waiting_logged = True
                await self._sleep(self.lock.ttl_ms / 3000)

    async def _release_lock(self) -> None:
        try:
            await self.lock.release()
        except RedisError as exc:
            # Redis is away (the lock was lost to that outage): the key expires by its TTL.
            # Before, this error ended stream_prices after every Redis outage longer than
            # the lock's renewal interval.
            log.warning("price feed: Redis unavailable, session lock left to expire: %s", exc)
            self.lock.held = False

    async def _hold(self) -> None:
        self.lost_lock.clear()
        helpers = [
            asyncio.create_task(self._renew_lock()),
            asyncio.create_task(self._housekeeping()),
        ]
        if self.publish_index and not getattr(self.feed, "streams_index", False):
            helpers.append(asyncio.create_task(self._index_loop()))
        try:
            await self._sessions()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._flush(final=True)

    async def _renew_lock(self) -> None:
        interval = self.lock.ttl_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                ok = await self.lock.renew()
            except Exception:
                log.warning("price feed: could not renew the session lock", exc_info=True)
                ok = False
            if not ok:
                # Another process may take over after the TTL: drop our session now.
                log.error("price feed: session lock lost; closing the upstream session")
                self.lost_lock.set()
                return

    # --- sessions and reconnects ---

    async def _sessions(self) -> None:
        while not self.stop.is_set() and not self.lost_lock.is_set():
            started = time.monotonic()
            session: FeedSession | None = None
            try:
                session = await self.feed.open()
                self.sessions_opened += 1
                await self._set_state("connected")
                await self._serve(session)
            except FeedError as exc:
                log.warning("price feed: upstream session ended: %s", exc)
            except (TimeoutError, OSError) as exc:
                log.warning("price feed: upstream unreachable: %r", exc)
            finally:
                self.registered.clear()
                self.plan = Registrations(fairness_rule())
                if session is not None:
                    try:
                        await session.close()
                    except Exception:
                        log.debug("closing the upstream session failed", exc_info=True)
            if self.stop.is_set() or self.lost_lock.is_set():
                return
            self.backoff.session_lasted(time.monotonic() - started)
            delay = self.backoff.next_delay()
            self.delays.append(delay)
            await self._set_state("reconnecting")
            log.info("price feed: reconnecting in %.1fs (attempt %d)", delay, self.backoff.attempt)
            await self._sleep(delay)

    async def _serve(self, session: FeedSession) -> None:
        reader = asyncio.create_task(self._read(session))
        stopped = asyncio.create_task(self.stop.wait())
        lost = asyncio.create_task(self.lost_lock.wait())
        try:
            while not reader.done() and not stopped.done() and not lost.done():
                await self._sync_registrations(session)
                await asyncio.wait(
                    [reader, stopped, lost], timeout=self.demand_poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
            if reader.done():
                reader.result()  # raises FeedDisconnected
        finally:
            for task in (reader, stopped, lost):
                task.cancel()
            await asyncio.gather(reader, stopped, lost, return_exceptions=True)

    async def _sync_registrations(self, session: FeedSession) -> None:
        try:
            ranked, self.unserved = await self.demand(set(self.registered))
        except Exception:
            log.warning("price feed: could not read demand; keeping registrations", exc_info=True)
            return
        # The fairness rule's hold time and change budget decide what changes now;
        # releases go first, so the upstream's registration limit is never exceeded.
        released, added = self.plan.plan(ranked, time.monotonic())
        for ticker in released:
            await session.release(ticker)
            self.registered.discard(ticker)
        for ticker in added:
            await session.register(ticker)
            self.registered.add(ticker)
        if added or released:
            log.info("price feed: registered %s, released %s (%d upstream, %d over the limit)",
                     added, released, len(self.registered), self.unserved)

    async def _read(self, session: FeedSession) -> None:
        async for tick in session.ticks():
            try:
                if isinstance(tick, IndexTick):
                    if self.publish_index:
                        await self.on_index(tick)
                else:
                    await self.on_tick(tick)
            except RedisError as exc:
                # Redis unreachable (restarting, failing over): this tick reaches no client
                # live, but its quote is kept for the next table flush, and the upstream
                # session, its registrations and this process stay up. Clients repair the
                # gap from snapshots once Redis is back. (redis-py's TimeoutError is not
                # the builtin one: uncaught, it ended the process.)
                log.warning("price feed: Redis unavailable, %s not published: %s", getattr(tick, "ticker", "index"), exc)

    # --- ticks ---

    async def on_tick(self, tick: Tick) -> None:
        now = self.wall_clock()
        record = quote_record(tick, now)
        self.last_tick_at, self.last_tick_as_of = now, tick.as_of
        self.dirty_quotes[tick.ticker] = record
        await quotes.store_quotes([record])
        await push_bars(self.bars.add(tick.ticker, tick.price, tick.trade_volume, tick.as_of))
        if clock.is_fresh(tick.as_of, tick.source, now):
            await apublish(price_topic(tick.ticker), price_message(record, stale=False, timestamp=now))
            self.published += 1
        else:
            # Never shown as live: the snapshot still has it, flagged stale.
            self.dropped_stale += 1

    # --- periodic work ---

    async def _housekeeping(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(1.0)
            ticks += 1
            try:
                await self._flush(final=False, write_table=ticks % 5 == 0)
                if ticks % 5 == 0:
                    await self._write_state()
            except Exception:
                log.warning("price feed: housekeeping failed", exc_info=True)

    async def _flush(self, final: bool, write_table: bool = True) -> None:
        now = self.wall_clock()
        source = getattr(self.feed, "source", "")
        done = self.bars.drain() if final else self.bars.due(clock.market_now(now, source))
        try:
            await push_bars(done)
        except RedisError as exc:
            # Redis is away: these bars miss the intraday-bar task, the quotes below still
            # reach the table. (Raised from the final flush, it ended stream_prices.)
            log.warning("price feed: Redis unavailable, %d completed bars not queued: %s", len(done), exc)
        if write_table and self.dirty_quotes:
            records, self.dirty_quotes = list(self.dirty_quotes.values()), {}
            try:
                await quotes.save_quotes_to_table(records)
            except Exception:
                log.warning("price feed: could not save quotes to the table", exc_info=True)

    async def on_index(self, tick: IndexTick) -> None:
        """An index value the feed streams itself (instead of the provider's polling):
        stored for snapshots, published when fresh and changed."""
        now = self.wall_clock()
        fresh = clock.is_fresh(tick.as_of, tick.source, now)
        message = index_message(
            tick.index, tick.value, tick.change, tick.change_rate, tick.volume, tick.as_of,
            stale=not fresh, timestamp=now, source=tick.source,
        )
        await quotes.store_index(tick.index, message, now)
        if fresh and self.last_index.get(tick.index) != tick.value:
            await apublish(message["topic"], message)
            self.last_index[tick.index] = tick.value

    async def _index_loop(self) -> None:
        from marketgate.data.providers.base import get_provider

        provider = await asyncio.to_thread(get_provider)
        last: dict[str, float] = {}
        while True:
            for index in ("KOSPI", "KOSDAQ"):
                try:
                    now = self.wall_clock()
                    quote = await asyncio.to_thread(provider.live_index, index, now)
                    if quote is None:
                        continue
                    fresh = clock.is_fresh(quote.as_of, provider.name, now)
                    message = index_message(
                        index, quote.value, quote.change, quote.change_rate, quote.volume, quote.as_of,
                        stale=not fresh, timestamp=now, source=provider.name,
                    )
                    await quotes.store_index(index, message, now)
                    if fresh and last.get(index) != quote.value:
                        await apublish(message["topic"], message)
                        last[index] = quote.value
                except Exception:
                    log.warning("price feed: index %s update failed", index, exc_info=True)
            await asyncio.sleep(settings.PRICE_INDEX_SECONDS)

    # --- state ---

    async def _set_state(self, state: State) -> None:
        if state != self.state:
            self.state, self.state_since = state, self.wall_clock()
        await self._write_state()

    def state_dict(self) -> FeedStateDict:
        return {
            "state": self.state,
            "source": getattr(self.feed, "source", ""),
            "since": iso(self.state_since),
            "last_tick_at": iso(self.last_tick_at),
            "last_tick_as_of": iso(self.last_tick_as_of),
            "registered": len(self.registered),
            "unserved": self.unserved,
            "attempt": self.backoff.attempt if self.state != "connected" else 0,
            "holder": self.lock.token,
            "updated_at": self.wall_clock().isoformat(),
        }

    async def _write_state(self) -> None:
        try:
            await async_client().set(state_key(), encode_state(self.state_dict()), ex=STATE_TTL_SECONDS)
        except Exception:
            log.warning("price feed: could not publish its state", exc_info=True)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            pass
