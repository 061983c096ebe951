"""Inbound limits of one connection: frame rate and bad frames (pure, clock passed in)."""

from __future__ import annotations

from collections import deque
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    LIMITED = "limited"  # drop this frame, tell the client once per second
    ABUSE = "abuse"  # over the rate for too long: close 1008


class InboundLimiter:
    def __init__(self, *, per_second: int, abuse_seconds: int, bad_per_minute: int) -> None:
        self.per_second = per_second
        self.abuse_seconds = abuse_seconds
        self.bad_per_minute = bad_per_minute
        self._second = -1
        self._count = 0
        self._over_streak = 0
        self._last_over_second = -2
        self._warned_second = -1
        self._bad: deque[float] = deque()

    def frame(self, now: float) -> Verdict:
        second = int(now)
        if second != self._second:
            self._second = second
            self._count = 0
        self._count += 1
        if self._count <= self.per_second:
            return Verdict.OK
        if self._last_over_second != second:
            # consecutive seconds spent over the limit
            self._over_streak = self._over_streak + 1 if self._last_over_second == second - 1 else 1
            self._last_over_second = second
        return Verdict.ABUSE if self._over_streak >= self.abuse_seconds else Verdict.LIMITED

    def should_warn(self, now: float) -> bool:
        """Only one `rate_limited` error a second, so the reply is not itself a flood."""
        second = int(now)
        if second == self._warned_second:
            return False
        self._warned_second = second
        return True

    def bad_frame(self, now: float) -> bool:
        """Record a bad frame; True when the client has sent too many in the last minute."""
        self._bad.append(now)
        while self._bad and self._bad[0] <= now - 60:
            self._bad.popleft()
        return len(self._bad) > self.bad_per_minute


class ReplayBudget:
    """Frames one connection may be replayed for `since`: a bucket of `per_minute` frames
    that refills evenly over a minute. A `since` beyond it is answered with a snapshot
    (one shared, cached read) instead of a long history read per subscribe frame."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self._at: float | None = None

    def available(self, now: float) -> int:
        if self._at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.capacity / 60.0)
        self._at = now
        return int(self.tokens)

    def spend(self, frames: int) -> None:
        self.tokens = max(0.0, self.tokens - frames)
