"""System checks that warn about unsafe combinations of settings, and refuse settings
that contradict each other (the WebSocket heartbeat and idle timeout, the rate limits the
dashboard page needs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


def _production() -> bool:
    return settings.STOCKGATE_ENV == "production"


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
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and _production():
        issues.append(Warning("SQLite in production.", hint="Set DATABASE_URL to PostgreSQL.", id="stockgate.W004"))
    if "*" in settings.ALLOWED_HOSTS and _production():
        issues.append(
            Warning("ALLOWED_HOSTS contains '*': WebSocket origins are not checked.", id="stockgate.W005")
        )
    if settings.CELERY_TASK_ALWAYS_EAGER and _production():
        issues.append(Warning("CELERY_TASK_ALWAYS_EAGER runs tasks inside web requests.", id="stockgate.W006"))
    return issues


# The server's ping and the client's pong cross the network: less room than this between
# the heartbeat and the idle timeout closes healthy sockets on a slow link.
HEARTBEAT_MARGIN_SECONDS = 5.0


def check_realtime(app_configs: Any = None, **kwargs: Any) -> list[Warning | Error]:
    """Settings of the WebSocket server that must agree with each other and with the page."""
    issues: list[Warning | Error] = []
    heartbeat = settings.WS_HEARTBEAT_SECONDS
    idle = settings.WS_IDLE_TIMEOUT_SECONDS
    if heartbeat <= 0:
        issues.append(Error(f"WS_HEARTBEAT_SECONDS is {heartbeat}; it must be positive.", id="stockgate.E010"))
    elif idle <= heartbeat:
        issues.append(
            Error(
                f"WS_IDLE_TIMEOUT_SECONDS ({idle}) is not longer than WS_HEARTBEAT_SECONDS ({heartbeat}).",
                hint="Clients only answer the server's pings, so every socket would be closed as idle "
                "before the next ping. Make the idle timeout longer than the heartbeat.",
                id="stockgate.E011",
            )
        )
    elif idle < heartbeat + HEARTBEAT_MARGIN_SECONDS:
        issues.append(
            Warning(
                f"WS_IDLE_TIMEOUT_SECONDS ({idle}) leaves less than {HEARTBEAT_MARGIN_SECONDS:g} s after "
                f"WS_HEARTBEAT_SECONDS ({heartbeat}) for the client's pong.",
                hint="A slow link closes healthy sockets; keep the idle timeout well above the heartbeat.",
                id="stockgate.W012",
            )
        )
    if settings.WS_MAX_FRAMES_PER_SECOND < 2:
        issues.append(
            Error(
                f"WS_MAX_FRAMES_PER_SECOND is {settings.WS_MAX_FRAMES_PER_SECOND}; clients need at least 2 "
                "(a pong and a subscription in the same second).",
                id="stockgate.E013",
            )
        )
    from stockgate.dashboard import FIXED_TOPICS  # the page's own topics, before any price

    if len(FIXED_TOPICS) > settings.WS_MAX_SUBSCRIPTIONS:
        issues.append(
            Error(
                f"WS_MAX_SUBSCRIPTIONS is {settings.WS_MAX_SUBSCRIPTIONS}; the dashboard needs "
                f"{len(FIXED_TOPICS)} topics before any price.",
                id="stockgate.E014",
            )
        )
    return issues


def register_checks() -> None:
    """Add the checks to `manage.py check` (called once from StockgateConfig.ready)."""
    register(check_deployment)
    register(check_realtime)
