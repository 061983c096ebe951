"""Broadcast frames into one socket: in seq order, each once, gaps repaired (protocol.md).

The consumer's handlers for channel-layer group messages live here: `realtime_frame`
(a stamped frame of a topic, from broadcast.py's group_send) and `group_resubscribed`
(the layer re-established a lost subscription). A frame whose seq is not the next one
for its topic starts a repair: the missed frames from the topic's history, or a fresh
snapshot when they are gone (repair.py), go out before it. Price topics are
latest-wins (coalesce.py): a jump in their seq is not a gap.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from stockgate.realtime import repair, wsstats
from stockgate.realtime.coalesce import PriceCoalescer
from stockgate.realtime.layer import dropped_malformed
from stockgate.realtime.topics import group_for

log = logging.getLogger(__name__)


@dataclass
class TopicState:
    epoch: str = ""
    last_seq: int = 0
    # Live frames that arrive while a snapshot, replay or repair is being sent wait
    # here, so a client always sees its topic's frames in seq order.
    pending: list[tuple[int, str, str]] | None = field(default_factory=list)


def _latest_wins(topic: str) -> bool:
    return topic.startswith("price:")


class TopicDelivery:
    """Mixed into the consumer, which provides subs, closing, coalescer, repairs and _queue."""

    subs: dict[str, TopicState]
    closing: bool
    coalescer: PriceCoalescer | None
    repairs: set[asyncio.Task[None]]

    def _queue(self, frame: str) -> None:
        raise NotImplementedError

    async def realtime_frame(self, event: dict[str, Any]) -> None:
        """A broadcast frame of a topic (group_send from broadcast.publish). Never suspends."""
        topic = event.get("topic")
        state = self.subs.get(topic) if isinstance(topic, str) else None
        if state is None or self.closing:
            return
        seq, epoch, frame = event.get("seq"), event.get("epoch"), event.get("frame")
        if not (isinstance(seq, int) and isinstance(epoch, str) and isinstance(frame, str)):
            dropped_malformed(f"topic {topic}", "a frame without an integer seq, a string epoch and frame")
            return
        wsstats.log_broadcast(topic, seq)  # type: ignore[arg-type]  (once per broadcast: the first socket logs it)
        self._on_frame(topic, state, seq, epoch, frame)  # type: ignore[arg-type]

    async def group_resubscribed(self, event: dict[str, Any]) -> None:
        """Frames may have been lost while the subscription was down: check each topic."""
        for topic, state in list(self.subs.items()):
            if group_for(topic) == event.get("group") and not _latest_wins(topic) and state.pending is None:
                self._start_repair(topic, state)

    def _on_frame(self, topic: str, state: TopicState, seq: int, epoch: str, frame: str) -> None:
        if state.pending is not None:
            state.pending.append((seq, epoch, frame))
            return
        if epoch == state.epoch and seq <= state.last_seq:
            return  # already sent (replay overlap)
        if _latest_wins(topic):
            if self.coalescer is not None:
                self.coalescer.offer(topic, seq, epoch, frame)
            else:
                self._send(state, seq, epoch, frame)
            return
        if epoch != state.epoch or seq != state.last_seq + 1:
            self._start_repair(topic, state, (seq, epoch, frame))
            return
        self._send(state, seq, epoch, frame)

    def _send(self, state: TopicState, seq: int, epoch: str, frame: str) -> None:
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
        self._send(state, seq, epoch, frame)

    def _release_pending(self, topic: str, state: TopicState) -> None:
        waiting, state.pending = state.pending or [], None
        for seq, epoch, frame in waiting:
            self._on_frame(topic, state, seq, epoch, frame)

    def _start_repair(self, topic: str, state: TopicState, first: tuple[int, str, str] | None = None) -> None:
        state.pending = [first] if first is not None else []
        task = asyncio.get_running_loop().create_task(self._repair(topic, state))
        self.repairs.add(task)
        task.add_done_callback(self.repairs.discard)

    async def _repair(self, topic: str, state: TopicState) -> None:
        try:
            caught_up = await repair.catch_up(topic, state.epoch, state.last_seq)
        except Exception:
            log.warning("repairing %s failed; sending the live frames as they are", topic, exc_info=True)
            caught_up = None
        if self.subs.get(topic) is not state or self.closing:
            return
        if caught_up is None:
            # Better live frames out of step than none: take the newest as the position.
            waiting, state.pending = state.pending or [], None
            for seq, epoch, frame in waiting:
                if not (epoch == state.epoch and seq <= state.last_seq):
                    self._send(state, seq, epoch, frame)
            return
        for seq, epoch, frame in caught_up.frames:
            if not (epoch == state.epoch and seq <= state.last_seq):
                self._send(state, seq, epoch, frame)
        if caught_up.epoch != state.epoch or caught_up.seq > state.last_seq:
            state.epoch, state.last_seq = caught_up.epoch, caught_up.seq
        # The topic's epoch is now known from Redis: a waiting frame of another epoch is
        # not this topic's (a stray publisher on a shared Redis) or already superseded.
        # Releasing it would start the same repair again, for ever.
        if state.pending and any(epoch != state.epoch for _, epoch, _ in state.pending):
            dropped_malformed(f"topic {topic}", "a frame of an epoch the topic does not have")
            state.pending = [waiting for waiting in state.pending if waiting[1] == state.epoch]
        self._release_pending(topic, state)
