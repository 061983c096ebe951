"""Gate rows and finished scans -> alert events, after the commit (never in the way of the save)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from marketgate.models import MarketGate
from signals.models import ScanRun, ScanStatus
from signals.outcomes.service import outcomes_exited
from stockgate.alerts.models import EventKind

log = logging.getLogger(__name__)


def _safely(work: Any, *args: Any) -> None:
    try:
        work(*args)
    except Exception:
        # An alert problem must never fail a gate update or a scan.
        log.exception("alerts: %s%r failed", work.__name__, args)


def _subscribed(kind: str) -> bool:
    # Nobody subscribed (the usual case without alerts): no work after the commit at all.
    from stockgate.alerts.events import active_rules

    return active_rules(kind).exists()


@receiver(post_save, sender=MarketGate, dispatch_uid="alerts.gate_saved")
def gate_saved(sender: type[MarketGate], instance: MarketGate, **kwargs: Any) -> None:
    from stockgate.alerts import events

    if _subscribed(EventKind.GATE_COLOUR):
        transaction.on_commit(lambda: _safely(events.gate_saved, instance.pk))


@receiver(post_save, sender=ScanRun, dispatch_uid="alerts.scan_finished")
def scan_saved(sender: type[ScanRun], instance: ScanRun, **kwargs: Any) -> None:
    from stockgate.alerts import events

    if instance.status == ScanStatus.SUCCEEDED and _subscribed(EventKind.SIGNAL_GRADE):
        transaction.on_commit(lambda: _safely(events.scan_finished, instance.pk))


@receiver(outcomes_exited, dispatch_uid="alerts.outcomes_exited")
def signal_outcomes_exited(sender: Any, signal_ids: list[int], **kwargs: Any) -> None:
    from stockgate.alerts import events

    if signal_ids and _subscribed(EventKind.SIGNAL_OUTCOME):
        transaction.on_commit(lambda: _safely(events.outcomes_exited, list(signal_ids)))
