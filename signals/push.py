"""The one `signal_update` per finished scan or edit, and the signal snapshot for new subscribers."""

from __future__ import annotations

from datetime import date
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from signals.models import ScanRun, ScanStatus, Signal
from stockgate.realtime import snapshots, topics
from stockgate.realtime.broadcast import publish_safely
from stockgate.realtime.commit import broadcast_on_commit


def signal_update_message(signal_date: date | None, signal_type: str = "VCP") -> dict[str, Any]:
    """The full current list for a date (a rescan replaces, never appends)."""
    rows = list(Signal.objects.for_date(signal_date, signal_type)) if signal_date else []
    signals = [row.to_message() for row in rows]
    return {
        "type": "signal_update",
        "topic": topics.SIGNAL_VCP,
        "data": {
            "signal_type": signal_type,
            "signals": signals,
            "count": len(signals),
            "signal_date": signal_date.isoformat() if signal_date else None,
            "coverage": scan_coverage(signal_date) if signal_date else None,
            "timestamp": timezone.localtime().isoformat(),
        },
    }


def scan_coverage(signal_date: date) -> dict[str, Any] | None:
    """How complete the data behind the date's last finished scan was, so the page can say
    when a scan ran with part of the market missing (None: no finished scan of that date)."""
    run = (ScanRun.objects.filter(trading_date=signal_date, status=ScanStatus.SUCCEEDED)
           .order_by("-finished_at", "-id").values_list("parameters", flat=True).first())
    if run is None or "missing_share" not in run:
        return None
    share = float(run["missing_share"])
    limit = float(run.get("missing_limit", 0.05))
    return {
        "missing_tickers": int(run.get("missing_tickers", 0)),
        "traded_before": run.get("traded_before"),
        "missing_share": share,
        "missing_limit": limit,
        "incomplete": bool(run.get("warning")) or share > limit,
    }


def broadcast_signals(signal_date: date, signal_type: str = "VCP") -> str | None:
    """Called once by the code that finished a scan, after its transaction commits."""
    return publish_safely(topics.SIGNAL_VCP, signal_update_message(signal_date, signal_type))


def update_key(signal_date: date, signal_type: str = "VCP") -> tuple[str, date, str]:
    """What coalesces signal_update broadcasts: one per signal date per transaction."""
    return ("signal_update", signal_date, signal_type)


def signals_changed(signal_date: date, signal_type: str) -> None:
    """A Signal row was saved or deleted (admin, shell, tasks): once the transaction
    commits, subscribers get the corrected list, if it is the list they are showing."""
    if signal_type == "VCP":
        broadcast_on_commit(update_key(signal_date, signal_type), lambda: _broadcast_if_current(signal_date))


def _broadcast_if_current(signal_date: date) -> str | None:
    # Dashboards show the latest date's list (the snapshot's): an edit of an older day
    # is not news to them, and deleting the latest day's last signal makes the day
    # before the latest one again.
    latest = Signal.objects.latest_date()
    if latest is not None and signal_date < latest:
        return None
    return publish_safely(topics.SIGNAL_VCP, signal_update_message(latest))


@database_sync_to_async
def _latest_signals_message() -> dict[str, Any] | None:
    latest = Signal.objects.latest_date()
    if latest is None:
        return None
    return signal_update_message(latest)


async def signals_snapshot(topic: str) -> dict[str, Any] | None:
    return await _latest_signals_message()


def register_snapshots() -> None:
    snapshots.register("signal", signals_snapshot)
