"""System checks that warn about unsafe combinations of settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


def _production() -> bool:
    return settings.STOCKGATE_ENV == "production"


@register()
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[Warning | Error]:
    issues: list[Warning | Error] = []
    level = Error if _production() else Warning
    if settings.DEBUG and _production():
        issues.append(Error("DEBUG is on in production.", hint="Unset DEBUG.", id="stockgate.E001"))
    if settings.SECRET_KEY == settings.DEFAULT_SECRET_KEY:
        issues.append(
            level(
                "SECRET_KEY is the built-in development key.",
                hint="Set SECRET_KEY to a long random value.",
                id="stockgate.E002" if _production() else "stockgate.W002",
            )
        )
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if backend.endswith("InMemoryChannelLayer"):
        issues.append(
            level(
                "The in-memory channel layer cannot deliver across processes.",
                hint="Use channels_redis with REDIS_URL; web, worker and feed are separate processes.",
                id="stockgate.E003" if _production() else "stockgate.W003",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and _production():
        issues.append(Warning("SQLite in production.", hint="Set DATABASE_URL to PostgreSQL.", id="stockgate.W004"))
    if "*" in settings.ALLOWED_HOSTS and _production():
        issues.append(
            Warning("ALLOWED_HOSTS contains '*': WebSocket origins are not checked.", id="stockgate.W005")
        )
    if settings.CELERY_TASK_ALWAYS_EAGER and _production():
        issues.append(Warning("CELERY_TASK_ALWAYS_EAGER runs tasks inside web requests.", id="stockgate.W006"))
    return issues
