"""post_save -> on_commit -> broadcast. Receivers stay one line; the work is elsewhere."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from marketgate.broadcasts import broadcast_gate
from marketgate.models import MarketGate


@receiver(post_save, sender=MarketGate, dispatch_uid="marketgate.gate_saved")
def gate_saved(sender: type[MarketGate], instance: MarketGate, **kwargs: Any) -> None:
    transaction.on_commit(lambda: broadcast_gate(instance), robust=True)
