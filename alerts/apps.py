from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "알림 (트레이더)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts import receivers  # noqa: F401  (gate and scan events)
        from stockgate import schedules

        schedules.register(
            schedules.DefaultSchedule(
                "check-price-alerts",
                "alerts.tasks.check_price_alerts",
                every_seconds=15,
                expire_seconds=14,
                description="Compare live prices with traders' price-crossing alerts.",
            )
        )
