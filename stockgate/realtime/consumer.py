"""The /ws consumer: the connection (admission, heartbeats, close), inbound frames and
their limits (protocol.md); subscriptions, snapshots and replay are in subscriptions.py.

Broadcast frames reach it as channel-layer group messages (`realtime.frame`, sent by
broadcast.py with group_send) and are handled in `realtime_frame` (delivery.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from stockgate.realtime import (
    admission,
    faultlog,
    frames,
    inbound,
    metrics,
    permissions,
    presence,
    wsstats,
)
from stockgate.realtime.broadcast import FRAME_EVENT
from stockgate.realtime.coalesce import PriceCoalescer
from stockgate.realtime.delivery import TopicDelivery, TopicState
from stockgate.realtime.layer import RESUBSCRIBED
from stockgate.realtime.limits import InboundLimiter, ReplayBudget, Verdict
from stockgate.realtime.sender import FrameSender
from stockgate.realtime.session_watch import SessionWatch
from stockgate.realtime.subscriptions import TopicSubscriptions
from stockgate.realtime.topics import KNOWN_TOPIC_PATTERNS
from stockgate.realtime.wire import outlet

log = logging.getLogger(__name__)

CLOSE_TOO_LARGE = 1009
CLOSE_POLICY = 1008
CLOSE_IDLE = 1001
CLOSE_SLOW = 4008
# Over WS_MAX_CONNECTIONS or WS_MAX_CONNECTIONS_PER_ADDRESS (like HTTP 429); 4xxx so that
# daphne sends it too.
CLOSE_TOO_MANY = 4029
# The transport's own group messages.
_LAYER_EVENTS = frozenset({FRAME_EVENT, RESUBSCRIBED})
# Every message type a socket takes from its groups; anything else published on a group's
# Redis channel is counted and dropped by the layer, never dispatched (a forged
# `websocket.disconnect` must not run the consumer's own handler).
_GROUP_EVENTS = _LAYER_EVENTS | {permissions.SESSION_ENDED}


# TopicSubscriptions (joining and leaving topics), SessionWatch (dropping restricted
# topics when the session ends) and TopicDelivery (broadcast frames in seq order) hold
# the consumer's halves by concern; this class holds the connection and inbound frames.
class RealtimeConsumer(TopicSubscriptions, SessionWatch, TopicDelivery, AsyncWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subs: dict[str, TopicState] = {}
        self.demand_client = ""  # who this socket is for the feed's fairness rule; set on connect
        # Set once the socket is accepted; frames are written through it (sender.py).
        self.sender: FrameSender | None = None
        self.closing = False
        self.counted = False  # the connections gauge counts this socket
        self.released = False  # _release() ran
        # Counted in the process's sockets (admission.py) until disconnect().
        self.admitted = False
        self.address: str | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.repairs: set[asyncio.Task[None]] = set()
        self.limiter = InboundLimiter(
            per_second=settings.WS_MAX_FRAMES_PER_SECOND,
            abuse_seconds=settings.WS_RATE_ABUSE_SECONDS,
            bad_per_minute=settings.WS_MAX_BAD_FRAMES_PER_MINUTE,
        )
        self.replay_budget = ReplayBudget(settings.WS_REPLAY_FRAMES_PER_MINUTE)
        # Price topics are latest-wins, at most N frames a second per ticker (coalesce.py).
        rate = settings.PRICE_MAX_UPDATES_PER_SECOND
        self.coalescer = PriceCoalescer(rate, self._release_price) if rate > 0 else None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first closes stale database connections on the process's one
        # database thread: a thread hop for every handshake, inbound frame (pongs too) and
        # broadcast, queued behind any query. Nothing here touches the database but
        # through database_sync_to_async, which closes stale connections itself around
        # each call, so every message goes straight to the handler its type names
        # (Channels' own naming).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # Channels' version also takes the database thread hop (see dispatch()); this
        # consumer keeps no groups in self.groups (it leaves its topics in disconnect()).
        await self.disconnect(message["code"])
        raise StopConsumer()

    # --- connection lifecycle ---

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Whatever ends the consumer (a handler's exception, cancellation, a close before
        # Channels delivers websocket.disconnect), its bookkeeping is undone.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.address = admission.address_key(self.scope)
        refused = admission.local_sockets().admit(self.address)
        if refused is not None:
            await self._refuse(refused)
            return
        self.admitted = True
        self.client_id = str(uuid.uuid4())
        self.demand_client = presence.client_key(self.scope, self.client_id)
        self.last_heard = loop.time()
        await self.accept()
        metrics.CONNECTIONS.inc()
        wsstats.opened()
        self.counted = True
        self.sender = FrameSender(outlet(self.base_send), settings.WS_SEND_QUEUE_FRAMES, settings.WS_SEND_QUEUE_BYTES)
        # Group messages are handed to dispatch() as they arrive, without a task wakeup
        # per socket (layer.py); any other Channels layer delivers them through receive().
        attach = getattr(self.channel_layer, "attach", None)
        if attach is not None:
            attach(self.channel_name, self.dispatch, _GROUP_EVENTS)
        self.tasks = [loop.create_task(self._heartbeat_loop())]
        await self._watch_session()
        self._queue(
            frames.control(
                "connected",
                client_id=self.client_id,
                server_time=frames.now_iso(),
                topics=list(KNOWN_TOPIC_PATTERNS),
            )
        )
        await self._subscribe_from_url()

    async def _refuse(self, reason: str) -> None:
        """Over a connection cap: accepted only to say why, then closed (4029)."""
        self.closing = True
        metrics.CONNECTIONS_REFUSED.inc()
        await self.accept()
        await self.send(text_data=frames.error("too_many_connections", reason))
        await self.close(code=CLOSE_TOO_MANY, reason="too many connections")

    async def _subscribe_from_url(self) -> None:
        """`?subscribe=a,b`: each topic counts as one inbound frame (the rate limit) and one
        subscription (the cap), as if sent as subscribe frames; the rest past the rate
        limit is dropped with one `rate_limited` error."""
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        wanted = [t for raw in query.get("subscribe", []) for t in (t.strip() for t in raw.split(",")) if t]
        now = asyncio.get_running_loop().time()
        for index, topic in enumerate(wanted):
            if self.closing:
                return
            if self.limiter.frame(now) is not Verdict.OK:
                dropped = len(wanted) - index
                self.limiter.should_warn(now)
                self._error(
                    "rate_limited",
                    f"?subscribe= counts against {settings.WS_MAX_FRAMES_PER_SECOND} frames a second: "
                    f"{dropped} topic(s) from {topic[:120]!r} on dropped; subscribe to them with frames",
                )
                return
            await self._subscribe(topic, None)

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Undo everything the socket holds, once: gauges, groups, presence (price demand)."""
        if self.released:
            return
        self.released = self.closing = True
        if self.admitted:  # a refused socket (over a cap) was never counted in
            self.admitted = False
            admission.local_sockets().release(self.address)
        detach = getattr(self.channel_layer, "detach", None)
        if detach is not None:
            detach(self.channel_name)
        for task in [*self.tasks, *self.repairs]:
            task.cancel()
        if self.sender is not None:
            self.sender.discard()
        if self.counted:
            self.counted = False
            metrics.CONNECTIONS.dec()
            wsstats.closed()
        # Shielded: a cancelled consumer still gives back every topic's demand.
        await asyncio.shield(self._leave_all())

    async def _leave_all(self) -> None:
        topics = list(self.subs)
        self.subs.clear()
        for topic in topics:
            self._forget(topic)
        # At once rather than one after another: with Redis slow or away, 200 topics
        # must not take 200 timeouts to give back.
        await asyncio.gather(*(self._unlink(t) for t in topics), self._unwatch_session(), return_exceptions=True)

    async def _close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        await self._leave_all()
        try:
            await self.close(code=code)
        except Exception:
            # daphne (autobahn) sends no server close code but 1000 and 3000-4999; the
            # error frame already sent says why.
            await self.close()

    # --- inbound ---

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self._receive(text_data, bytes_data)
        except Exception:
            # Redis or the database away, or a bug: the client hears so, the socket stays,
            # and the log gets one traceback a minute, not one per frame (faultlog.py).
            faultlog.failed("handling an inbound frame", "answered with a server_error frame")
            self._error("server_error", "the server could not handle this frame now; try again later")

    async def _receive(self, text_data: str | None, bytes_data: bytes | None) -> None:
        now = asyncio.get_running_loop().time()
        self.last_heard = now
        if self.closing:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.WS_MAX_FRAME_BYTES:
            self._error("too_large", f"frame of {size} bytes exceeds {settings.WS_MAX_FRAME_BYTES}")
            await self._flush_then_close(CLOSE_TOO_LARGE)
            return
        verdict = self.limiter.frame(now)
        if verdict is Verdict.ABUSE:
            self._error("rate_limited", "sustained flood; closing")
            await self._flush_then_close(CLOSE_POLICY)
            return
        if verdict is Verdict.LIMITED:
            if self.limiter.should_warn(now):
                self._error("rate_limited", f"more than {settings.WS_MAX_FRAMES_PER_SECOND} frames a second; dropped")
            return
        if text_data is None:
            await self._bad("bad_frame", "binary frames are not supported; send JSON text", now)
            return
        frame = inbound.parse_frame(text_data)
        if isinstance(frame, inbound.Refusal):
            await self._bad(frame.code, frame.message, now)
            return
        await self._dispatch_frame(frame, now)

    async def _dispatch_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if not isinstance(kind, str):
            await self._bad("bad_frame", "missing or non-string 'type'", now)
        elif kind == "ping":
            self._queue(frames.control("pong", timestamp=frames.now_iso()))
        elif kind == "pong":
            pass
        elif kind in ("subscribe", "unsubscribe"):
            topic = frame.get("topic")
            if not isinstance(topic, str):
                await self._bad("bad_frame", f"'{kind}' needs a string 'topic'", now)
                return
            if kind == "unsubscribe":
                await self._unsubscribe(topic)
                return
            since = frames.parse_since(frame.get("since"))
            if since == "invalid":
                await self._bad("bad_frame", "'since' must be {\"epoch\": string of [A-Za-z0-9._:-] (1-64), \"seq\": integer >= 0}", now)
                return
            await self._subscribe(topic, since)
        else:
            await self._bad("unknown_type", f"unknown frame type {kind!r}", now)

    async def _bad(self, code: frames.ErrorCode, message: str, now: float) -> None:
        self._error(code, message)
        if self.limiter.bad_frame(now):
            await self._flush_then_close(CLOSE_POLICY)

    # --- outbound ---

    def _error(self, code: frames.ErrorCode, message: str, topic: str | None = None) -> None:
        metrics.ERRORS_SENT.labels(code=code).inc()
        self._queue(frames.error(code, message, topic))

    def _queue(self, frame: str) -> None:
        sender = self.sender
        if self.closing or sender is None:
            return
        if sender.write(frame):
            if sender.gone:
                self.closing = True  # the socket went away under a send; disconnect() cleans up
            return
        # The client is not reading fast enough: drop it rather than buffer without
        # bound or slow anyone else down. It reconnects and resubscribes with `since`.
        metrics.SLOW_DISCONNECTS.inc()
        metrics.FRAMES_DROPPED.inc(sender.discard())
        asyncio.get_running_loop().create_task(self._close_slow())
        self.closing = True

    async def _close_slow(self) -> None:
        for task in [*self.tasks, *self.repairs]:
            task.cancel()
        await self._leave_all()
        await self.close(code=CLOSE_SLOW)

    async def _flush_then_close(self, code: int) -> None:
        if self.sender is not None:
            await self.sender.flush()
        await self._close(code)

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = settings.WS_HEARTBEAT_SECONDS
        idle_limit = settings.WS_IDLE_TIMEOUT_SECONDS
        next_ping = loop.time() + interval
        while not self.closing:
            wake_at = min(next_ping, self.last_heard + idle_limit)
            await asyncio.sleep(max(0.05, wake_at - loop.time()))
            now = loop.time()
            if now - self.last_heard >= idle_limit:
                await self._close(CLOSE_IDLE)
                return
            if now >= next_ping:
                self._queue(frames.control("ping", timestamp=frames.now_iso()))
                next_ping = now + interval
