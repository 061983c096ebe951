"""Market time and freshness of quotes.

A quote's `as_of` is in market time: the wall clock for a real feed, the simulated
session for the demo's accelerated clock (13 market seconds per wall second by
default). Ages are measured in wall seconds either way, so PRICE_FRESHNESS_SECONDS
means the same thing whatever the feed.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from marketgate.calendar import KST


def _accelerated(source: str) -> bool:
    return source == "demo" and settings.DEMO_CLOCK == "accelerated"


def market_now(wall_now: datetime, source: str) -> datetime:
    if _accelerated(source):
        from marketgate.data.providers.demo.clock import simulated_now

        return simulated_now(wall_now, "accelerated", settings.DEMO_SESSION_MINUTES)
    return wall_now.astimezone(KST)


def speed(source: str) -> float:
    """Market seconds per wall second."""
    if _accelerated(source):
        return 390.0 / settings.DEMO_SESSION_MINUTES  # 09:00-15:30 squeezed into the loop
    return 1.0


def age_seconds(as_of: datetime, market_now: datetime, market_speed: float) -> float:
    """Wall seconds since `as_of`. Pure. A time slightly ahead (clock skew, the demo
    loop starting over) counts as age 0, not as negative."""
    return max(0.0, (market_now - as_of).total_seconds() / market_speed)


def is_fresh(as_of: datetime, source: str, wall_now: datetime) -> bool:
    age = age_seconds(as_of, market_now(wall_now, source), speed(source))
    return age <= settings.PRICE_FRESHNESS_SECONDS
