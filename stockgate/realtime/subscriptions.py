"""A socket's topics: subscribe (checked, joined, answered with a snapshot or a replay
of what it missed since `since`) and unsubscribe (left, its demand given back).

Mixed into the consumer (consumer.py), which provides subs, scope, channel_layer,
channel_name, demand_client, coalescer, replay_budget, _queue and _error;
_release_pending comes from TopicDelivery (delivery.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from stockgate.realtime import catalog, faultlog, frames, metrics, permissions, presence, sequence, snapshots, wsstats
from stockgate.realtime.coalesce import PriceCoalescer
from stockgate.realtime.delivery import TopicState
from stockgate.realtime.limits import ReplayBudget
from stockgate.realtime.topics import group_for, is_valid_topic, ticker_of, topic_kind


class TopicSubscriptions:
    subs: dict[str, TopicState]
    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str
    demand_client: str
    coalescer: PriceCoalescer | None
    replay_budget: ReplayBudget
    # Annotations, not stubs: a stub would shadow TopicDelivery's method in the MRO.
    _release_pending: Callable[[str, TopicState], None]
    _queue: Callable[[str], None]
    _error: Callable[..., None]

    async def _subscribe(self, topic: str, since: frames.Since | None) -> None:
        if not await catalog.exists(topic):
            # Nothing is created for it: no Redis key, no group, no feed demand.
            self._error("unknown_topic", _unknown_topic_message(topic))
            return
        state = self.subs.get(topic)
        if state is not None:
            # Already held: its frames keep flowing in order; no snapshot or replay again
            # (a subscribe loop would otherwise be a database query per frame).
            self._queue(frames.control("subscribed", topic=topic))
            return
        if len(self.subs) >= settings.WS_MAX_SUBSCRIPTIONS:
            self._error("too_many_subscriptions", f"at most {settings.WS_MAX_SUBSCRIPTIONS} subscriptions", topic)
            return
        if not await self._allowed(topic):
            self._error("forbidden", f"not allowed to subscribe to {topic}", topic)
            return
        state = self.subs[topic] = TopicState()
        # The ack goes out only once the topic's position is known, so anything
        # published after a client sees `subscribed` reaches it.
        initial: list[str] = []
        try:
            await self._join(topic)
            state.epoch, state.last_seq, initial = await self._initial_frames(topic, since)
        except Exception:
            faultlog.failed(f"the snapshot of a {topic_kind(topic)} topic", "live frames still flow")
        finally:
            if self.subs.get(topic) is state and state.pending is not None:
                self._queue(frames.control("subscribed", topic=topic))
                for frame in initial:
                    self._queue(frame)
                self._release_pending(topic, state)

    async def _initial_frames(self, topic: str, since: frames.Since | None) -> tuple[str, int, list[str]]:
        if since is not None:
            # Bounded per `since` and per socket per minute (limits.ReplayBudget); beyond
            # either the client gets the topic's (shared, cached) snapshot instead.
            budget = self.replay_budget.available(asyncio.get_running_loop().time())
            limit = min(settings.WS_REPLAY_MAX_FRAMES, budget)
            replayed = await sequence.replay(topic, since["epoch"], since["seq"], limit) if limit > 0 else None
            if replayed is not None:
                self.replay_budget.spend(len(replayed))
                metrics.REPLAYED_FRAMES.inc(len(replayed))
                last = since["seq"] + len(replayed)
                return since["epoch"], last, [sequence.mark_replayed(f) for f in replayed]
        snapshot = await snapshots.current(topic)
        if snapshot.frame is None:
            return snapshot.epoch, snapshot.seq, []
        frame = snapshot.frame if since is None else snapshots.not_recovered(snapshot.frame)
        return snapshot.epoch, snapshot.seq, [frame]

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
        try:
            await self.channel_layer.group_add(group_for(topic), self.channel_name)
        except Exception:
            # Redis is away: the layer keeps the group wanted and resubscribes it.
            faultlog.failed("joining a topic's group", "the layer resubscribes when Redis is back", level=logging.WARNING)
        await presence.joined(topic, self.demand_client)

    async def _leave(self, topic: str) -> None:
        self._forget(topic)
        await self._unlink(topic)

    def _forget(self, topic: str) -> None:
        """The process-local half of leaving a topic (never suspends)."""
        metrics.SUBSCRIPTIONS.labels(kind=topic_kind(topic)).dec()
        wsstats.left(topic)
        if self.coalescer is not None:
            self.coalescer.discard(topic)

    async def _unlink(self, topic: str) -> None:
        """The half that talks to Redis: the group, and the price demand (presence.py)."""
        try:
            await self.channel_layer.group_discard(group_for(topic), self.channel_name)
        except Exception:
            faultlog.failed("leaving a topic's group", "the layer drops it with the connection", level=logging.WARNING)
        await presence.left(topic, self.demand_client)

    async def _allowed(self, topic: str) -> bool:
        return await permissions.amay_read(self.scope.get("user"), topic)


def _unknown_topic_message(topic: str) -> str:
    ticker = ticker_of(topic) if is_valid_topic(topic) else None
    if ticker is not None:
        return f"unknown topic {topic!r}: no listed instrument {ticker}"
    return f"unknown topic {topic[:120]!r}"

