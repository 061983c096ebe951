from __future__ import annotations

from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    label = "signals"
    verbose_name = "VCP Signals"

    def ready(self) -> None:
        from signals import receivers  # noqa: F401  (registers post_save/post_delete)
        from signals.broadcasts import register_snapshots

        register_snapshots()
