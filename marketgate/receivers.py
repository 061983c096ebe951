"""post_save/post_delete -> on_commit -> broadcast. Receivers stay one line; the work is elsewhere."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from marketgate.models import MarketGate
from marketgate.push import broadcast_gate, broadcast_latest_gate
from stockgate.realtime.commit import broadcast_on_commit


@receiver(post_save, sender=MarketGate, dispatch_uid="marketgate.gate_saved")
def gate_saved(sender: type[MarketGate], instance: MarketGate, **kwargs: Any) -> None:
    broadcast_on_commit(("market_gate", instance.pk), lambda: broadcast_gate(instance))


@receiver(post_delete, sender=MarketGate, dispatch_uid="marketgate.gate_deleted")
def gate_deleted(sender: type[MarketGate], instance: MarketGate, **kwargs: Any) -> None:
    broadcast_on_commit(("market_gate", "latest"), broadcast_latest_gate)
