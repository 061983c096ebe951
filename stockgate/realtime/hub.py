"""Per-process fan-out: one Redis subscription per topic per web process.

A broadcast is published once (see history.PUBLISH_LUA); each web process receives it
once and hands the same pre-serialised frame to each local subscriber's bounded send
queue. Delivery cost in Redis does not grow with the number of sockets, frames are
never re-encoded per socket, and no per-socket channel-layer queue exists.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from stockgate.realtime import history, metrics, snapshots, wsstats
from stockgate.realtime.broadcast import encode
from stockgate.realtime.history import broadcast_channel, parse_stamp
from stockgate.realtime.redis_conn import async_client
from stockgate.realtime.topics import group_for

log = logging.getLogger(__name__)


class Member(Protocol):
    def deliver(self, topic: str, seq: int, epoch: str, frame: str) -> None: ...

    def resync(self, topic: str, seq: int, epoch: str, frame: str) -> None: ...


# Resubscribe after a lost subscription: the first attempt soon, then doubling, never
# more than RESUBSCRIBE_MAX_DELAY apart (updates must resume within seconds of Redis
# coming back), with jitter so the web processes do not all come back at once.
RESUBSCRIBE_FIRST_DELAY = 0.25
RESUBSCRIBE_MAX_DELAY = 5.0
# A resubscribe that hangs (a half-open connection) is abandoned and tried again.
RESUBSCRIBE_TIMEOUT = 10.0


def resubscribe_delay(attempt: int) -> float:
    """Seconds to wait before resubscribe attempt `attempt` (1, 2, ...)."""
    ceiling = min(RESUBSCRIBE_MAX_DELAY, RESUBSCRIBE_FIRST_DELAY * 2 ** min(attempt - 1, 10))
    return ceiling * random.uniform(0.5, 1.0)


DemandHook = Callable[[str, bool], Awaitable[None]]
# Called with (topic, True) when a topic gets its first subscriber in this process and
# (topic, False) when its last one leaves: the price feed's demand tracking uses it.
_demand_hooks: list[DemandHook] = []


def on_demand_change(hook: DemandHook) -> None:
    if hook not in _demand_hooks:
        _demand_hooks.append(hook)


async def _notify_demand(topic: str, wanted: bool) -> None:
    for hook in _demand_hooks:
        try:
            await hook(topic, wanted)
        except Exception:
            log.warning("demand hook failed for %s", topic, exc_info=True)


class FanoutHub:
    def __init__(self) -> None:
        self._members: dict[str, set[Member]] = {}
        self._topic_of_channel: dict[str, str] = {}
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._wanted = asyncio.Event()  # set while there is at least one subscription
        self._confirmations: dict[str, asyncio.Event] = {}
        self._resyncs: set[asyncio.Task[None]] = set()

    def member_count(self, topic: str) -> int:
        return len(self._members.get(topic, ()))

    def topics(self) -> list[str]:
        return list(self._members)

    async def add(self, topic: str, member: Member) -> None:
        members = self._members.get(topic)
        if members is None:
            members = self._members[topic] = set()
            channel = broadcast_channel(group_for(topic))
            self._topic_of_channel[channel] = topic
            confirmed = self._confirmations[channel] = asyncio.Event()
            async with self._lock:
                await self._ensure_pubsub()
                assert self._pubsub is not None
                await self._pubsub.subscribe(channel)
            self._wanted.set()
            # Wait until Redis confirms, so a broadcast sent after this returns is
            # never missed (the caller reads the snapshot only after joining).
            try:
                await asyncio.wait_for(confirmed.wait(), timeout=5)
            except TimeoutError:
                log.warning("no subscribe confirmation for %s yet; continuing", channel)
            await _notify_demand(topic, True)
        members.add(member)

    async def discard(self, topic: str, member: Member) -> None:
        members = self._members.get(topic)
        if members is None:
            return
        members.discard(member)
        if not members:
            del self._members[topic]
            channel = broadcast_channel(group_for(topic))
            self._topic_of_channel.pop(channel, None)
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(channel)
                except (RedisError, OSError):
                    log.warning("unsubscribe from %s failed; the reader resubscribes what is needed", channel)
            await _notify_demand(topic, False)

    async def _ensure_pubsub(self) -> None:
        if self._pubsub is None:
            self._pubsub = async_client().pubsub()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    async def _read_forever(self) -> None:
        attempt = 0
        while True:
            try:
                if not self._topic_of_channel:
                    self._wanted.clear()
                    await self._wanted.wait()
                assert self._pubsub is not None
                async for message in self._pubsub.listen():
                    attempt = 0
                    kind = message["type"]
                    if kind == "message":
                        self._fan_out(message["channel"].decode(), message["data"].decode())
                    elif kind == "subscribe":
                        event = self._confirmations.pop(message["channel"].decode(), None)
                        if event is not None:
                            event.set()
                else:
                    await asyncio.sleep(0.01)  # not subscribed yet: the SUBSCRIBE is in flight
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                # Retry until the subscriptions are back: Redis may still be down at the
                # first attempt, and a pubsub without subscriptions would never fail again.
                while True:
                    attempt += 1
                    delay = resubscribe_delay(attempt)
                    log.warning("broadcast subscription lost (%s); resubscribing in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    try:
                        if await asyncio.wait_for(self._resubscribe(), RESUBSCRIBE_TIMEOUT):
                            break
                    except TimeoutError:
                        exc = TimeoutError(f"no answer within {RESUBSCRIBE_TIMEOUT}s")

    async def _resubscribe(self) -> bool:
        async with self._lock:
            old, self._pubsub = self._pubsub, async_client().pubsub()
            if old is not None:
                try:
                    await old.aclose()
                except (RedisError, OSError):
                    pass
            channels = list(self._topic_of_channel)
            try:
                if channels:
                    await self._pubsub.subscribe(*channels)
            except (RedisError, OSError):
                return False  # the reader loop retries with backoff
        # Frames published while we were away are lost to this process: every member
        # gets a fresh snapshot (its client sees seq/epoch move), read in a task so the
        # reader goes straight back to delivering live frames.
        for topic in list(self._members):
            task = asyncio.get_running_loop().create_task(self._resync(topic))
            self._resyncs.add(task)
            task.add_done_callback(self._resyncs.discard)
        return True

    async def _resync(self, topic: str) -> None:
        """One snapshot per topic per process, the same frame for every local member:
        not one database query and one Redis call per socket, all at the same moment."""
        try:
            epoch, seq = await history.current(topic)
            message = await snapshots.snapshot_for(topic)
        except Exception:
            log.warning("resync snapshot of %s failed; live frames still flow", topic, exc_info=True)
            return
        if message is None:
            return
        frame = encode({**message, "seq": seq, "epoch": epoch, "snapshot": True})
        for member in list(self._members.get(topic, ())):
            member.resync(topic, seq, epoch, frame)

    def _fan_out(self, channel: str, frame: str) -> None:
        topic = self._topic_of_channel.get(channel)
        members = self._members.get(topic) if topic else None
        if not members:
            return
        started = time.perf_counter()
        seq, epoch = parse_stamp(frame)
        for member in list(members):
            member.deliver(topic, seq, epoch, frame)  # type: ignore[arg-type]
        metrics.FANOUT_SECONDS.observe(time.perf_counter() - started)
        wsstats.log_broadcast(topic, seq, len(members))  # type: ignore[arg-type]


_hubs: dict[asyncio.AbstractEventLoop, FanoutHub] = {}


def get_hub() -> FanoutHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = FanoutHub()
    return hub
