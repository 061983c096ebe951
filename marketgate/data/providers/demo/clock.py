"""The demo market's clock. Pure: no Django, the wall time is a parameter.

"real" maps a wall time to itself. "accelerated" maps it onto a simulated KRX session
so that a whole 09:00-15:30 session runs in `session_minutes` of wall time, looping:
at any hour of any day a demo shows prices and the gate moving. The simulated session
is the wall date's session, or the last session before it on weekends and holidays, so
every process asking at the same wall time gets the same simulated time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from marketgate.calendar import (
    KST,
    is_session,
    kst_date,
    previous_session,
    session_hours,
)

ClockMode = Literal["real", "accelerated"]


def simulated_now(
    wall_now: datetime,
    mode: ClockMode = "accelerated",
    session_minutes: float = 30.0,
) -> datetime:
    """The simulated market time (KST-aware) for `wall_now`."""
    if wall_now.tzinfo is None:
        raise ValueError("wall_now must be timezone-aware")
    if mode == "real":
        return wall_now.astimezone(KST)
    if mode != "accelerated":
        raise ValueError(f"unknown demo clock mode {mode!r}")
    if session_minutes <= 0:
        raise ValueError("session_minutes must be positive")

    wall = wall_now.astimezone(KST)
    day = kst_date(wall)
    if not is_session(day):
        day = previous_session(day)
    hours = session_hours(day)
    assert hours is not None
    opens, closes = hours

    # Position within the current loop, counted from the wall day's midnight so that
    # the mapping is the same in every process and never depends on start-up time.
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    period = timedelta(minutes=session_minutes)
    into_loop = (wall - midnight) % period
    fraction = into_loop / period
    return opens + (closes - opens) * fraction


def wall_to_sim_ratio(day_open: datetime, day_close: datetime, session_minutes: float) -> float:
    """Simulated seconds per wall second in accelerated mode (390 min / 30 min = 13)."""
    return (day_close - day_open).total_seconds() / (session_minutes * 60.0)
