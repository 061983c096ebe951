"""Capped exponential backoff with jitter. Pure.

Delays are "equal jitter": half the exponential step plus a random half, so a
reconnect never comes faster than base/2 and never slower than the cap, and many
feeds restarted at once do not reconnect in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    # A session that stayed up this long counts as healthy: the next failure starts over.
    reset_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        step = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return step / 2 + self.rng.uniform(0.0, step / 2)

    def session_lasted(self, seconds: float) -> None:
        if seconds >= self.reset_after:
            self.attempt = 0
