"""The /ws consumer: subscriptions, snapshots, replay, heartbeats and limits (protocol.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from stockgate.realtime import frames, history, metrics, snapshots, wsstats
from stockgate.realtime.broadcast import encode
from stockgate.realtime.coalesce import PriceCoalescer
from stockgate.realtime.hub import get_hub
from stockgate.realtime.limits import InboundLimiter, Verdict
from stockgate.realtime.sender import FrameSender, unwrap_send
from stockgate.realtime.topics import KNOWN_TOPIC_PATTERNS, group_for, is_valid_topic, topic_kind

log = logging.getLogger(__name__)

CLOSE_TOO_LARGE = 1009
CLOSE_POLICY = 1008
CLOSE_IDLE = 1001
CLOSE_SLOW = 4008


@dataclass
class TopicState:
    epoch: str = ""
    last_seq: int = 0
    # Live frames that arrive while the snapshot or replay is being sent wait here,
    # so a client always sees its topic's frames in seq order.
    pending: list[tuple[int, str, str]] | None = field(default_factory=list)


class RealtimeConsumer(AsyncWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.REALTIME_FANOUT == "hub":
            # Hub sockets hold no channel-layer channel (no Redis subscription per socket);
            # an alias with no configured layer makes Channels skip creating one.
            self.channel_layer_alias = "realtime-hub-no-layer"
        self.subs: dict[str, TopicState] = {}
        # Set once the socket is accepted; frames are written through it (sender.py).
        self.sender: FrameSender | None = None
        self.closing = False
        self.tasks: list[asyncio.Task[None]] = []
        self.limiter = InboundLimiter(
            per_second=settings.WS_MAX_FRAMES_PER_SECOND,
            abuse_seconds=settings.WS_RATE_ABUSE_SECONDS,
            bad_per_minute=settings.WS_MAX_BAD_FRAMES_PER_MINUTE,
        )
        # Price topics are latest-wins, at most N frames a second per ticker (coalesce.py).
        rate = settings.PRICE_MAX_UPDATES_PER_SECOND
        self.coalescer = PriceCoalescer(rate, self._release_price) if rate > 0 else None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a thread hop
        # each (every client pong); this consumer reaches the database only through
        # database_sync_to_async, which already does so around each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # --- connection lifecycle ---

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.client_id = str(uuid.uuid4())
        self.last_heard = loop.time()
        await self.accept()
        metrics.CONNECTIONS.inc()
        wsstats.opened()
        self.sender = FrameSender(unwrap_send(self.base_send), settings.WS_SEND_QUEUE_FRAMES)
        self.tasks = [loop.create_task(self._heartbeat_loop())]
        self._queue(
            frames.control(
                "connected",
                client_id=self.client_id,
                server_time=frames.now_iso(),
                topics=list(KNOWN_TOPIC_PATTERNS),
            )
        )
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        for raw in query.get("subscribe", []):
            for topic in filter(None, (t.strip() for t in raw.split(","))):
                await self._subscribe(topic, None)

    async def disconnect(self, code: int) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        if self.sender is not None:
            self.sender.discard()
        for topic in list(self.subs):
            await self._leave(topic)
        self.subs.clear()
        metrics.CONNECTIONS.dec()
        wsstats.closed()

    async def _close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        for topic in list(self.subs):
            await self._leave(topic)
        await self.close(code=code)

    # --- inbound ---

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
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
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self._bad("bad_json", "frame is not valid JSON", now)
            return
        if not isinstance(frame, dict):
            await self._bad("bad_frame", "frame must be a JSON object", now)
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
                await self._bad("bad_frame", "'since' must be {\"epoch\": string, \"seq\": integer >= 0}", now)
                return
            await self._subscribe(topic, since)
        else:
            await self._bad("unknown_type", f"unknown frame type {kind!r}", now)

    async def _bad(self, code: frames.ErrorCode, message: str, now: float) -> None:
        self._error(code, message)
        if self.limiter.bad_frame(now):
            await self._flush_then_close(CLOSE_POLICY)

    # --- subscriptions ---

    async def _subscribe(self, topic: str, since: frames.Since | None) -> None:
        if not is_valid_topic(topic):
            self._error("unknown_topic", f"unknown topic {topic[:120]!r}")
            return
        state = self.subs.get(topic)
        if state is None and len(self.subs) >= settings.WS_MAX_SUBSCRIPTIONS:
            self._error("too_many_subscriptions", f"at most {settings.WS_MAX_SUBSCRIPTIONS} subscriptions", topic)
            return
        if not await self._allowed(topic):
            self._error("forbidden", f"not allowed to subscribe to {topic}", topic)
            return
        if state is None:
            state = self.subs[topic] = TopicState()
            await self._join(topic)
        else:
            state.pending = []
        # The ack goes out only once the topic's position is known, so anything
        # published after a client sees `subscribed` reaches it.
        initial: list[str] = []
        try:
            state.epoch, state.last_seq, initial = await self._initial_frames(topic, since)
        except Exception:
            log.exception("snapshot for %s failed; live frames still flow", topic)
        self._queue(frames.control("subscribed", topic=topic))
        for frame in initial:
            self._queue(frame)
        waiting, state.pending = state.pending or [], None
        for seq, epoch, frame in waiting:
            self.deliver(topic, seq, epoch, frame)

    async def _initial_frames(self, topic: str, since: frames.Since | None) -> tuple[str, int, list[str]]:
        if since is not None:
            replayed = await history.replay(topic, since["epoch"], since["seq"])
            if replayed is not None:
                last = since["seq"] + len(replayed)
                return since["epoch"], last, [history.mark_replayed(f) for f in replayed]
        epoch, seq = await history.current(topic)
        message = await snapshots.snapshot_for(topic)
        if message is None:
            return epoch, seq, []
        extra: dict[str, Any] = {"snapshot": True}
        if since is not None:
            extra["recovered"] = False
        return epoch, seq, [encode({**message, "seq": seq, "epoch": epoch, **extra})]

    async def _unsubscribe(self, topic: str) -> None:
        if not is_valid_topic(topic):
            self._error("unknown_topic", f"unknown topic {topic[:120]!r}")
            return
        if self.subs.pop(topic, None) is not None:
            await self._leave(topic)
        self._queue(frames.control("unsubscribed", topic=topic))

    async def _join(self, topic: str) -> None:
        metrics.SUBSCRIPTIONS.labels(kind=topic_kind(topic)).inc()
        wsstats.joined(topic)
        if settings.REALTIME_FANOUT == "hub":
            await get_hub().add(topic, self)
        else:
            await self.channel_layer.group_add(group_for(topic), self.channel_name)

    async def _leave(self, topic: str) -> None:
        metrics.SUBSCRIPTIONS.labels(kind=topic_kind(topic)).dec()
        wsstats.left(topic)
        if self.coalescer is not None:
            self.coalescer.discard(topic)
        try:
            if settings.REALTIME_FANOUT == "hub":
                await get_hub().discard(topic, self)
            else:
                await self.channel_layer.group_discard(group_for(topic), self.channel_name)
        except Exception:
            log.warning("leaving %s failed", topic, exc_info=True)

    async def _allowed(self, topic: str) -> bool:
        rule = _permission_rule(topic)
        if rule is None:
            return True
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        if rule == "authenticated":
            return True
        if rule == "staff":
            return bool(user.is_staff)
        return bool(await database_sync_to_async(user.has_perm)(rule))

    # --- outbound ---

    def deliver(self, topic: str, seq: int, epoch: str, frame: str) -> None:
        """Called by the fan-out for every broadcast frame of a subscribed topic. Never blocks."""
        state = self.subs.get(topic)
        if state is None or self.closing:
            return
        if state.pending is not None:
            state.pending.append((seq, epoch, frame))
            return
        if epoch == state.epoch and seq <= state.last_seq:
            return  # already sent (replay overlap)
        if self.coalescer is not None and topic.startswith("price:"):
            self.coalescer.offer(topic, seq, epoch, frame)
            return
        state.epoch, state.last_seq = epoch, seq
        self._queue(frame)

    def _release_price(self, topic: str, seq: int, epoch: str, frame: str) -> None:
        """A price frame the coalescer lets through (now or after its interval)."""
        state = self.subs.get(topic)
        if state is None or self.closing:
            return
        if state.pending is not None:  # a snapshot is being sent: wait behind it
            state.pending.append((seq, epoch, frame))
            return
        if epoch == state.epoch and seq <= state.last_seq:
            return  # older than the snapshot sent meanwhile
        state.epoch, state.last_seq = epoch, seq
        self._queue(frame)

    def resync(self, topic: str, seq: int, epoch: str, frame: str) -> None:
        """The fan-out lost frames (Redis went away): send the topic's fresh snapshot,
        built once by the hub for every socket of this process."""
        state = self.subs.get(topic)
        if state is None or self.closing or state.pending is not None:
            return  # not subscribed, or a snapshot of its own is on its way
        if epoch == state.epoch and seq <= state.last_seq:
            return  # live frames newer than the snapshot already went out
        state.epoch, state.last_seq = epoch, seq
        self._queue(frame)

    async def broadcast_frame(self, event: dict[str, Any]) -> None:
        """Frames arriving through channel-layer groups (REALTIME_FANOUT=layer)."""
        frame: str = event["frame"]
        seq, epoch = history.parse_stamp(frame)
        wsstats.log_broadcast(event["topic"], seq)  # once per process: the first socket logs it
        self.deliver(event["topic"], seq, epoch, frame)

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
        for task in self.tasks:
            task.cancel()
        for topic in list(self.subs):
            await self._leave(topic)
        self.subs.clear()
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


def _permission_rule(topic: str) -> str | None:
    rules: dict[str, str] = settings.WS_TOPIC_PERMISSIONS
    for key in (topic, topic_kind(topic)):
        if key in rules:
            return rules[key]
    return None
