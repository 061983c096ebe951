from __future__ import annotations

from django.apps import AppConfig


class MarketGateConfig(AppConfig):
    name = "marketgate"
    verbose_name = "Market Gate"

    def ready(self) -> None:
        from marketgate import receivers  # noqa: F401  (registers post_save)
        from marketgate.push import register_snapshots

        register_snapshots()

        from marketgate.feeds import startup

        startup.install()  # live prices: snapshots, demand hook, intraday-bar schedule
