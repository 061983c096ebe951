from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "stockgate.alerts"
    label = "alerts"  # the app label its tables and migrations were made under
    verbose_name = "알림 (트레이더)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from stockgate import schedules
        from stockgate.alerts import receivers  # noqa: F401  (gate and scan events)

        schedules.register(
            schedules.DefaultSchedule(
                "check-price-alerts",
                "stockgate.alerts.tasks.check_price_alerts",
                every_seconds=15,
                expire_seconds=14,
                description="Compare live prices with traders' price-crossing alerts.",
            )
        )
