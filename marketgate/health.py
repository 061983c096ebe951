"""Health checks of market data, wired into /readyz by settings.HEALTH_CHECKS.

stockgate's health module names these by dotted path in settings, so the project
package never imports the market app (dependencies point marketgate -> stockgate).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from marketgate import calendar
from marketgate.gate.freshness import gate_session, max_age


def check_gate(now: datetime) -> tuple[bool, dict[str, Any]]:
    """The latest gate is fresh while a session is in progress; after the close the
    last row stands, so outside a session any gate (or none yet) is fine."""
    from marketgate.models import MarketGate

    session = gate_session(None, now)  # type: ignore[arg-type]
    gate = MarketGate.latest()
    detail: dict[str, Any] = {"session": session, "max_age_seconds": max_age().total_seconds()}
    if gate is None:
        detail.update(computed_at=None, stale=session == "open")
        if session == "open":
            detail["error"] = "no gate has been computed"
        return session != "open", detail
    stale = gate.is_stale(now)
    detail.update(
        computed_at=timezone.localtime(gate.computed_at).isoformat(),
        age_seconds=round((now - gate.computed_at).total_seconds(), 1),
        status=gate.status,
        stale=stale,
    )
    if stale:
        detail["error"] = "the gate is older than its period plus grace during the session"
    return not stale, detail


def check_feed(now: datetime) -> tuple[bool, dict[str, Any]]:
    """"connected" and "reconnecting" (backing off by itself) are up; "down" is not."""
    try:
        from marketgate.feeds.state import feed_state
    except ImportError:
        return True, {"state": "not installed"}
    state = feed_state()
    ok = state.get("state") in ("connected", "reconnecting") or not settings.HEALTH_REQUIRE_FEED
    if state.get("state") == "down" and settings.HEALTH_REQUIRE_FEED:
        state = {**state, "error": "no price feed process is publishing its state"}
    return ok, dict(state)


def session_open(now: datetime) -> datetime | None:
    """The open of the KRX session in progress, or None outside a session.

    With the accelerated demo clock the simulated session does not map onto wall-clock
    hours, so a session in progress reports `now`'s day start instead of a precise open
    (the watchdog only uses it as the earliest moment lateness can count from)."""
    if gate_session(None, now) != "open":  # type: ignore[arg-type]
        return None
    hours = calendar.session_hours(calendar.kst_date(now))
    if hours is not None and hours[0] <= now:
        return hours[0]
    return now.astimezone(calendar.KST).replace(hour=0, minute=0, second=0, microsecond=0)
