"""post_save/post_delete of a Signal -> one signal_update per signal date per transaction."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from signals.models import Signal
from signals.push import signals_changed


@receiver(post_save, sender=Signal, dispatch_uid="signals.signal_saved")
def signal_saved(sender: type[Signal], instance: Signal, **kwargs: Any) -> None:
    signals_changed(instance.signal_date, instance.signal_type)


@receiver(post_delete, sender=Signal, dispatch_uid="signals.signal_deleted")
def signal_deleted(sender: type[Signal], instance: Signal, **kwargs: Any) -> None:
    signals_changed(instance.signal_date, instance.signal_type)
