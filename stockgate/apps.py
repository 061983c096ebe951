from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StockgateConfig(AppConfig):
    name = "stockgate"
    verbose_name = "stockgate"

    def ready(self) -> None:
        from stockgate import checks
        from stockgate.ops import heartbeats, hooks

        checks.register_checks()
        heartbeats.connect()
        hooks.connect()

        post_migrate.connect(_create_schedules, dispatch_uid="stockgate.default_schedules")


def _create_schedules(sender: AppConfig, **kwargs: Any) -> None:
    # Once per migrate, after django_celery_beat's tables exist.
    if sender.name == "stockgate":
        from stockgate.schedules import ensure_default_schedules

        ensure_default_schedules()
