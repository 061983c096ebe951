"""The channel layer: channels-redis's pub/sub layer, with group messages handed over in-process.

`RedisPubSubChannelLayer` already subscribes each web process once per group; what it
then does per member is what costs at thousands of sockets: it queues the raw bytes on
every member's channel, and each consumer wakes its receive task, decodes the message
and wakes its own task again to dispatch it. This subclass decodes a group message once
per process and, for channels whose consumer asked for it (`attach()`), calls the
consumer's `dispatch()` straight away, in order, without a task wakeup. Everything else
is channels-redis unchanged: `group_add`, `group_discard`, `group_send`, `send`,
`receive`, and channels that are not attached still get their messages by `receive()`.

A consumer's own channel (`new_channel()`, one per socket) costs no Redis command: the
process subscribes once to a pattern matching the names it hands out, so a handshake
does not wait on a SUBSCRIBE (and a close does not send an UNSUBSCRIBE) while a message
sent to the channel from anywhere (`send()`) still arrives.

It also keeps the process's subscriptions alive: one member that raises, or a message
that does not decode or is of a type its members do not take (a stray publisher on a
shared Redis), is counted and skipped, never the end of the reader, and logged once a
minute at most, never once per message or per member; a lost Redis
connection is re-established with capped backoff and every attached member of a
resubscribed group is told (`group.resubscribed`), so it can look for frames it missed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, create_pool
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from stockgate.realtime import metrics
from stockgate.realtime.stepping import step

log = logging.getLogger(__name__)

Dispatch = Callable[[dict[str, Any]], Awaitable[None]]

# The message attached members get after their group's subscription was re-established.
RESUBSCRIBED = "group.resubscribed"

# Resubscribe after a lost subscription: the first attempt soon, then doubling, never
# more than RESUBSCRIBE_MAX_DELAY apart (updates must resume within seconds of Redis
# coming back), with jitter so the web processes do not all come back at once.
RESUBSCRIBE_FIRST_DELAY = 0.25
RESUBSCRIBE_MAX_DELAY = 5.0
# A resubscribe that hangs (a half-open connection) is abandoned and tried again.
RESUBSCRIBE_TIMEOUT = 10.0
# How long group_add waits for Redis to confirm a new subscription.
CONFIRM_TIMEOUT = 5.0


# At most one log line a minute about malformed group messages; the metric counts each.
MALFORMED_LOG_INTERVAL = 60.0
_malformed_logged_at: float | None = None
_malformed_unlogged = 0


def dropped_malformed(where: str, reason: object) -> None:
    """Count a group message that was skipped; log the first, then one line a minute."""
    global _malformed_logged_at, _malformed_unlogged
    metrics.MALFORMED_MESSAGES.inc()
    now = time.monotonic()
    if _malformed_logged_at is not None and now - _malformed_logged_at < MALFORMED_LOG_INTERVAL:
        _malformed_unlogged += 1
        return
    more = f"; {_malformed_unlogged} more since the last report" if _malformed_unlogged else ""
    log.warning("dropped a malformed message on %s (%s)%s; counted in stockgate_layer_malformed_total",
                where, reason, more)
    _malformed_logged_at, _malformed_unlogged = now, 0


def resubscribe_delay(attempt: int) -> float:
    """Seconds to wait before resubscribe attempt `attempt` (1, 2, ...)."""
    ceiling = min(RESUBSCRIBE_MAX_DELAY, RESUBSCRIBE_FIRST_DELAY * 2 ** min(attempt - 1, 10))
    return ceiling * random.uniform(0.5, 1.0)


class InlineDispatch:
    """One attached channel: its consumer's dispatch, called at once and in order."""

    __slots__ = ("dispatch", "accepts", "backlog", "running")

    def __init__(self, dispatch: Dispatch, accepts: frozenset[str] | None = None) -> None:
        self.dispatch = dispatch
        self.accepts = accepts  # the message types this channel takes from groups (None: any)
        self.backlog: deque[dict[str, Any]] = deque()
        self.running: asyncio.Task[None] | None = None

    def deliver(self, message: dict[str, Any]) -> None:
        """Never raises: a failing consumer must not stop delivery to the others."""
        if self.running is not None:
            self.backlog.append(message)  # an earlier message is still being handled
            return
        try:
            rest = step(self.dispatch(message))
        except Exception:
            metrics.DELIVERY_FAILURES.inc()
            log.exception("a consumer failed handling %s", message.get("type"))
            return
        if rest is not None:  # the handler awaited something: finish it in a task
            self.running = asyncio.get_running_loop().create_task(self._finish(rest))

    async def _finish(self, rest: Awaitable[None]) -> None:
        try:
            await rest
        except Exception:
            metrics.DELIVERY_FAILURES.inc()
            log.exception("a consumer failed handling a group message")
        while self.backlog:
            try:
                await self.dispatch(self.backlog.popleft())
            except Exception:
                metrics.DELIVERY_FAILURES.inc()
                log.exception("a consumer failed handling a group message")
        self.running = None


class WatchedPubSub(PubSub):
    """A redis-py pub/sub that says when its connection was (re)established."""

    def __init__(self, pool: aioredis.ConnectionPool, on_connected: Callable[[], None]) -> None:
        super().__init__(connection_pool=pool)
        self._on_connected = on_connected

    async def on_connect(self, connection: Any) -> None:
        await super().on_connect(connection)  # resubscribes what this pub/sub had
        self._on_connected()


class BroadcastShardConnection(RedisSingleShardConnection):
    """One Redis pub/sub connection of the layer, kept subscribed through Redis restarts."""

    def __init__(self, host: dict[str, Any], channel_layer: BroadcastLoopLayer) -> None:
        super().__init__(host, channel_layer)
        self._confirmations: dict[str, asyncio.Event] = {}
        self._connected_once = False
        self._patterns: set[str] = set()

    def _ensure_redis(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis(connection_pool=create_pool(self.host))
            self._pubsub = self._new_pubsub()

    def _new_pubsub(self) -> WatchedPubSub:
        assert self._redis is not None
        return WatchedPubSub(self._redis.connection_pool, self._connected)

    def _connected(self) -> None:
        """Every (re)connection of the pub/sub, including those redis-py makes on its own."""
        if self._connected_once:
            asyncio.get_running_loop().call_soon(self.channel_layer.resubscribed, set(self._subscribed_to))
        self._connected_once = True

    async def subscribe(self, channel: str) -> None:
        await self._listen(channel, self._subscribed_to)

    async def psubscribe(self, pattern: str) -> None:
        """Like subscribe(), for every channel matching `pattern` (a Redis glob)."""
        await self._listen(pattern, self._patterns)

    async def _listen(self, name: str, wanted: set[str]) -> None:
        async with self._lock:
            if name in wanted:
                return
            # Wanted from now on, even if this SUBSCRIBE fails: the reader resubscribes it.
            wanted.add(name)
            self._ensure_redis()
            self._ensure_receiver()
            confirmed = self._confirmations[name] = asyncio.Event()
            try:
                if wanted is self._patterns:
                    await self._pubsub.psubscribe(name)
                else:
                    await self._pubsub.subscribe(name)
            except BaseException:
                self._confirmations.pop(name, None)
                raise
        # Until Redis confirms, a message sent now could be missed; the caller reads
        # the state it sends its client only after this returns.
        try:
            await asyncio.wait_for(confirmed.wait(), CONFIRM_TIMEOUT)
        except TimeoutError:
            log.warning("no subscribe confirmation for %s yet; continuing", name)
        finally:
            self._confirmations.pop(name, None)

    async def flush(self) -> None:
        await super().flush()
        self._patterns = set()

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub is not None and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._handle(message)
                else:
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                await self._reconnect(exc)
            except Exception:
                log.exception("unexpected error in the channel layer reader; it carries on")

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        if kind in ("message", "pmessage"):  # a pmessage's channel is the one it was sent to
            self._receive_message(message)
        elif kind in ("subscribe", "psubscribe"):
            event = self._confirmations.get(name)
            if event is not None:
                event.set()

    def _receive_message(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        layer = self.channel_layer
        if name in layer.groups:
            layer.deliver_group(name, message["data"])
        elif name in layer.channels:
            layer.channels[name].put_nowait(message["data"])

    async def _reconnect(self, exc: BaseException) -> None:
        """Retry until the subscriptions are back: Redis may still be down at the first
        attempt, and a pub/sub without subscriptions would never fail again."""
        attempt = 0
        while True:
            attempt += 1
            delay = resubscribe_delay(attempt)
            log.warning("channel layer subscription lost (%s); resubscribing in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(self._resubscribe(), RESUBSCRIBE_TIMEOUT)
                return
            except (RedisError, OSError) as failure:  # TimeoutError is an OSError
                exc = failure

    async def _resubscribe(self) -> None:
        async with self._lock:
            old, self._pubsub = self._pubsub, None
            if old is not None:
                try:
                    await old.aclose()
                except (RedisError, OSError):
                    pass
            assert self._redis is not None
            self._pubsub = self._new_pubsub()
            if self._subscribed_to:
                await self._pubsub.subscribe(*self._subscribed_to)
            if self._patterns:
                await self._pubsub.psubscribe(*self._patterns)


class BroadcastLoopLayer(RedisPubSubLoopLayer):
    """The layer of one event loop (channels-redis keeps one per loop)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [BroadcastShardConnection(shard.host, self) for shard in self._shards]
        self.attached: dict[str, InlineDispatch] = {}
        # The names new_channel() hands out in this process: "<prefix><kind><tag>.<uuid>",
        # one pattern subscription per kind ("specific." for consumers) on every shard
        # (send() picks a shard by the channel's name).
        self._tag = uuid.uuid4().hex[:16]
        self._own: dict[str, asyncio.Future[Any]] = {}

    async def new_channel(self, prefix: str = "specific.") -> str:
        head = f"{self.prefix}{prefix}{self._tag}."
        listening = self._own.get(head)
        if listening is None or (listening.done() and (listening.cancelled() or listening.exception())):
            pattern = re.sub(r"([\\*?\[\]])", r"\\\1", head) + "*"
            listening = self._own[head] = asyncio.ensure_future(
                asyncio.gather(*(shard.psubscribe(pattern) for shard in self._shards))
            )
        if not listening.done():
            await asyncio.shield(listening)
        listening.result()  # raises what the subscription raised (Redis away): no channel then
        channel = f"{head}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        return channel

    def attach(self, channel: str, dispatch: Dispatch, accepts: frozenset[str] | None = None) -> None:
        self.attached[channel] = InlineDispatch(dispatch, accepts)

    def detach(self, channel: str) -> None:
        self.attached.pop(channel, None)

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            self.attached.pop(channel, None)  # the consumer is gone (see the parent)
            raise

    async def flush(self) -> None:
        self.attached = {}
        self._own = {}
        await super().flush()

    def deliver_group(self, group_channel: str, data: bytes) -> None:
        """A group message from Redis: decoded once, handed to every local member."""
        members = self.groups.get(group_channel)
        if not members:
            return
        started = time.perf_counter()
        try:
            message = self.channel_layer.deserialize(data)
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise ValueError("not a message with a string 'type'")
        except Exception as exc:
            dropped_malformed(group_channel, exc)
            return
        refused = False
        for channel in list(members):
            target = self.attached.get(channel)
            if target is not None:
                if target.accepts is None or message["type"] in target.accepts:
                    target.deliver(message)
                else:
                    refused = True
            else:
                queue = self.channels.get(channel)
                if queue is not None:
                    queue.put_nowait(data)
        if refused:
            dropped_malformed(group_channel, f"a group message of type {message['type'][:80]!r}")
        metrics.FANOUT_SECONDS.observe(time.perf_counter() - started)

    def resubscribed(self, group_channels: set[str]) -> None:
        """Tell the attached members of these groups that messages may have been missed."""
        prefix = self._get_group_channel_name("")
        for group_channel in group_channels:
            members = self.groups.get(group_channel, ())
            notice = {"type": RESUBSCRIBED, "group": group_channel[len(prefix) :]}
            for channel in list(members):
                target = self.attached.get(channel)
                if target is not None:
                    target.deliver(notice)


class BroadcastChannelLayer(RedisPubSubChannelLayer):
    """The project's CHANNEL_LAYERS backend (configured like RedisPubSubChannelLayer)."""

    def _get_layer(self) -> BroadcastLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = BroadcastLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)  # as the parent does: flush the loop's layer when the loop closes
        return layer

    def attach(self, channel: str, dispatch: Dispatch, accepts: frozenset[str] | None = None) -> None:
        """Deliver group messages for `channel` by calling `dispatch(message)` directly.

        The consumer's own dispatch is called, so handlers are found as Channels finds
        them; a dispatch that suspends finishes in a task with later messages queued
        behind it. Messages sent to the channel itself still arrive through receive().
        With `accepts`, group messages of any other type are counted and dropped: a
        publisher on the group's Redis channel cannot make a consumer run, say, its
        `websocket.disconnect` handler."""
        self._get_layer().attach(channel, dispatch, accepts)

    def detach(self, channel: str) -> None:
        self._get_layer().detach(channel)
