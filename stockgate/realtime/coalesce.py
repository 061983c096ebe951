"""Latest-wins coalescing of price frames, per socket and per topic.

A busy ticker can trade dozens of times a second; a browser needs a few updates a
second. Each socket lets through at most `rate` frames a second per price topic: a
frame that arrives too soon waits as the topic's single pending frame, and a newer
one replaces it (the older one is skipped on purpose). So a socket holds at most one
waiting frame per price topic, whatever the tick rate.

A frame sent after skipped ones starts with `"coalesced":true`: prices are
latest-wins, and a jump in a `price:` topic's seq is not a gap to repair
(docs/protocol-notes.md). The frame is otherwise the shared, pre-serialised one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Release = Callable[[str, int, str, str], None]


def mark_coalesced(frame: str) -> str:
    return '{"coalesced":true,' + frame[1:]


class PriceCoalescer:
    def __init__(self, rate: float, release: Release) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.release = release
        self.next_allowed: dict[str, float] = {}
        self.pending: dict[str, tuple[int, str, str]] = {}
        self.skipped: dict[str, int] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}

    def offer(self, topic: str, seq: int, epoch: str, frame: str) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if topic not in self.pending and now >= self.next_allowed.get(topic, 0.0):
            self.next_allowed[topic] = now + self.interval
            self.release(topic, seq, epoch, frame)
            return
        if topic in self.pending:
            self.skipped[topic] = self.skipped.get(topic, 0) + 1
        self.pending[topic] = (seq, epoch, frame)
        if topic not in self.timers:
            self.timers[topic] = loop.call_at(self.next_allowed[topic], self._fire, topic)

    def _fire(self, topic: str) -> None:
        self.timers.pop(topic, None)
        item = self.pending.pop(topic, None)
        if item is None:
            return
        seq, epoch, frame = item
        if self.skipped.pop(topic, 0):
            frame = mark_coalesced(frame)
        self.next_allowed[topic] = asyncio.get_running_loop().time() + self.interval
        self.release(topic, seq, epoch, frame)

    def discard(self, topic: str) -> None:
        timer = self.timers.pop(topic, None)
        if timer is not None:
            timer.cancel()
        self.pending.pop(topic, None)
        self.skipped.pop(topic, None)
        self.next_allowed.pop(topic, None)

    def close(self) -> None:
        for topic in list(self.timers):
            self.discard(topic)
        self.next_allowed.clear()
