from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StockgateConfig(AppConfig):
    name = "stockgate"
    verbose_name = "stockgate"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from stockgate import checks
        from stockgate.ops import heartbeats, hooks
        from stockgate.realtime import auth, permissions

        checks.register_checks()
        permissions.connect()
        user_logged_out.connect(auth.logged_out, dispatch_uid="stockgate.realtime.auth.logged_out")
        heartbeats.connect()
        hooks.connect()
        _create_folders()

        post_migrate.connect(_create_schedules, dispatch_uid="stockgate.default_schedules")


def _create_folders() -> None:
    """Folders the settings name and the process writes to, made at start-up, not at import."""
    from django.conf import settings

    folders = [Path(settings.STATIC_ROOT), *(Path(d[1] if isinstance(d, tuple) else d) for d in settings.STATICFILES_DIRS)]
    if settings.PROMETHEUS_MULTIPROC_DIR:
        folders.append(Path(settings.PROMETHEUS_MULTIPROC_DIR))
    # var/ keeps secrets and, by default, the SQLite database: made for its owner only.
    Path(settings.VAR_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)


def _create_schedules(sender: AppConfig, **kwargs: Any) -> None:
    # Once per migrate, after django_celery_beat's tables exist.
    if sender.name == "stockgate":
        from stockgate.schedules import ensure_default_schedules

        ensure_default_schedules()
