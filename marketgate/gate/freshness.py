"""Is a gate row still current? Stale during a session once older than period + grace."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings

from marketgate import calendar
from marketgate.gate.period import gate_period_seconds


class GateLike(Protocol):
    computed_at: datetime
    trading_date: object


def max_age() -> timedelta:
    return timedelta(seconds=gate_period_seconds() + settings.GATE_STALE_GRACE_SECONDS)


def gate_is_stale(gate: GateLike, now: datetime) -> bool:
    """Only a session in progress makes a gate stale: after the close the last row stands."""
    if _market_session(now) != "open":
        return False
    return now - gate.computed_at > max_age()


def gate_session(gate: GateLike, now: datetime) -> str:
    return _market_session(now)


def _market_session(now: datetime) -> str:
    if settings.MARKET_DATA_PROVIDER == "demo" and settings.DEMO_CLOCK == "accelerated":
        from marketgate.data.providers.demo.clock import simulated_now

        now = simulated_now(now)
    return calendar.session_state(now)
