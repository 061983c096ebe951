"""From what happened (a gate row, a finished scan, a price) to deliveries.

Each event has a key; a destination gets at most one delivery per key (a unique
constraint), so an event noticed twice is still sent once. Deliveries are queued for
the Celery task after the transaction that created them commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from stockgate.alerts.messages import render
from stockgate.alerts.models import AlertDelivery, AlertDestination, AlertRule, DeliveryStatus, EventKind

log = logging.getLogger(__name__)

GRADE_RANK = {"S": 4, "A": 3, "B": 2, "C": 1}


@dataclass(frozen=True)
class Event:
    kind: str
    key: str
    data: dict[str, Any]


def active_rules(kind: str) -> Any:
    return AlertRule.objects.filter(event=kind, active=True, destination__active=True).select_related("destination")


def record(event: Event, rules: Iterable[AlertRule]) -> list[int]:
    """One delivery per destination for the event; returns the ids created now."""
    created_ids: list[int] = []
    for rule in rules:
        created_ids += _record_one(event, rule.destination, rule)
    _queue_on_commit(created_ids)
    return created_ids


def record_test(destination: AlertDestination) -> int:
    event = Event(EventKind.TEST, f"test:{timezone.now().isoformat()}", {"name": destination.name})
    ids = _record_one(event, destination, None)
    _queue_on_commit(ids)
    return ids[0]


def _record_one(event: Event, destination: AlertDestination, rule: AlertRule | None) -> list[int]:
    delivery, created = AlertDelivery.objects.get_or_create(
        destination=destination, event_key=event.key[:200],
        defaults={"rule": rule, "event": event.kind, "payload": event.data,
                  "text": render(event.kind, destination.language, event.data)},
    )
    return [delivery.pk] if created else []


def _queue_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: queue(ids), robust=True)


def queue(ids: list[int]) -> None:
    from stockgate.alerts.tasks import deliver

    for delivery_id in ids:
        try:
            deliver.apply_async(args=[delivery_id])
        except Exception as exc:  # broker down: the row says so instead of waiting forever
            log.exception("could not queue alert delivery %s", delivery_id)
            AlertDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.FAILED, last_error=f"could not queue: {exc}"[:2000]
            )


# --- the events ---


def gate_saved(gate_id: int) -> list[int]:
    """A colour change against the gate row before it."""
    from marketgate.models import MarketGate

    rules = list(active_rules(EventKind.GATE_COLOUR))
    gate = MarketGate.objects.filter(pk=gate_id).first()
    if not rules or gate is None:
        return []
    previous = (
        MarketGate.objects.exclude(pk=gate.pk).filter(computed_at__lte=gate.computed_at)
        .order_by("-computed_at", "-id").first()
    )
    if previous is None or previous.status == gate.status:
        return []
    data = {"previous": previous.status, "status": gate.status, "level": gate.level,
            "as_of": timezone.localtime(gate.as_of).strftime("%Y-%m-%d %H:%M KST"), "gate_id": gate.pk}
    return record(Event(EventKind.GATE_COLOUR, f"gate:{gate.pk}:{gate.status}", data), rules)


def scan_finished(run_id: int) -> list[int]:
    """Every signal the run kept, to each rule whose minimum grade it meets."""
    from signals.models import Signal

    rules = list(active_rules(EventKind.SIGNAL_GRADE))
    if not rules:
        return []
    created: list[int] = []
    for signal in Signal.objects.filter(scan_run_id=run_id):
        data = {k: v for k, v in signal.to_message().items() if k != "reasons"}
        matching = [r for r in rules if GRADE_RANK.get(signal.grade, 0) >= GRADE_RANK.get(r.params.get("min_grade", "S"), 4)]
        key = f"signal:{signal.signal_type}:{signal.ticker}:{signal.signal_date.isoformat()}"
        created += record(Event(EventKind.SIGNAL_GRADE, key, data), matching)
    return created


def outcomes_exited(signal_ids: list[int]) -> list[int]:
    """Signals whose outcome just became target or stop, to each rule that asks for that
    outcome at the signal's grade; one delivery per signal and outcome, ever."""
    from signals.models import Signal

    rules = list(active_rules(EventKind.SIGNAL_OUTCOME))
    if not rules or not signal_ids:
        return []
    created: list[int] = []
    for signal in Signal.objects.filter(pk__in=signal_ids).select_related("outcome"):
        outcome = getattr(signal, "outcome", None)
        if outcome is None or outcome.status not in ("target", "stop"):
            continue
        data = {"ticker": signal.ticker, "name": signal.name, "grade": signal.grade,
                "signal_date": signal.signal_date.isoformat(), "status": outcome.status,
                "exit_date": outcome.exit_date.isoformat() if outcome.exit_date else None,
                "exit_price": outcome.exit_price, "gap": outcome.gap, "r_multiple": outcome.r_multiple,
                "entry_price": signal.entry_price, "target_price": signal.target_price, "stop_loss": signal.stop_loss}
        matching = [r for r in rules if outcome.status in r.params.get("outcomes", ("target", "stop"))
                    and GRADE_RANK.get(signal.grade, 0) >= GRADE_RANK.get(r.params.get("min_grade", "C"), 1)]
        key = f"outcome:{signal.pk}:{outcome.status}"
        created += record(Event(EventKind.SIGNAL_OUTCOME, key, data), matching)
    return created
