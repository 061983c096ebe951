from __future__ import annotations

from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    label = "signals"
    verbose_name = "VCP Signals"

    def ready(self) -> None:
        from signals import receivers  # noqa: F401  (registers post_save/post_delete)
        from signals.push import register_snapshots
        from stockgate.schedules import DefaultSchedule, register

        register_snapshots()
        from marketgate.feeds.demand import own_demand
        from signals.live_demand import signal_tickers

        own_demand(signal_tickers)  # the feed registers the signals' tickers before clients' demand
        register(DefaultSchedule(
            "signal-outcomes",
            "signals.tasks.update_signal_outcomes",
            crontab={"minute": "30", "hour": "16", "day_of_week": "1-5"},
            expire_seconds=3 * 3600,
            description="After the daily bars ingest: fill, target, stop or expiry of the open signals.",
        ))
