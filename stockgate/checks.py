"""System checks that warn about unsafe combinations of settings (errors in production:
`manage.py check --deploy --fail-level ERROR` fails on a weak key, `*` hosts, missing TLS
settings behind a proxy), and refuse settings that contradict each other (the WebSocket heartbeat and idle timeout, the rate limits the
dashboard page needs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from stockgate.secret_key import weakness as secret_key_weakness


def _production() -> bool:
    return settings.STOCKGATE_ENV == "production"


def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[Warning | Error]:
    issues: list[Warning | Error] = []
    production = _production()
    level = Error if production else Warning
    if settings.DEBUG and production:
        issues.append(Error("DEBUG is on in production.", hint="Unset DEBUG.", id="stockgate.E001"))
    if settings.SECRET_KEY == settings.DEFAULT_SECRET_KEY:
        issues.append(
            level(
                "SECRET_KEY is the built-in development key.",
                hint="Set SECRET_KEY to a long random value.",
                id="stockgate.E002" if production else "stockgate.W002",
            )
        )
    elif production and (weak := secret_key_weakness(settings.SECRET_KEY)):
        issues.append(Error(f"{weak}.", hint=KEY_HINT, id="stockgate.E003"))
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and production:
        issues.append(Warning("SQLite in production.", hint="Set DATABASE_URL to PostgreSQL.", id="stockgate.W004"))
    if "*" in settings.ALLOWED_HOSTS and production:
        issues.append(
            Error(
                "ALLOWED_HOSTS contains '*': any Host header is served and WebSocket origins are not checked.",
                hint="List the host names the site is served under.",
                id="stockgate.E005",
            )
        )
    if settings.CELERY_TASK_ALWAYS_EAGER and production:
        issues.append(Warning("CELERY_TASK_ALWAYS_EAGER runs tasks inside web requests.", id="stockgate.W006"))
    if production:
        issues.extend(_tls_issues())
    return issues


KEY_HINT = "Generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Below this, HSTS protects only visitors who came back within the last day.
MIN_HSTS_SECONDS = 86_400


def _served_over_https() -> bool:
    """The deployment says its pages are HTTPS: trusted origins that are all https://."""
    origins = settings.CSRF_TRUSTED_ORIGINS
    return bool(origins) and all(o.startswith("https://") for o in origins)


def _tls_issues() -> list[Warning | Error]:
    """Production behind a TLS proxy (BEHIND_TLS_PROXY): the cookies and HSTS that HTTPS needs."""
    issues: list[Warning | Error] = []
    behind_proxy = settings.SECURE_PROXY_SSL_HEADER is not None
    if not behind_proxy:
        if _served_over_https():
            issues.append(Error(
                "CSRF_TRUSTED_ORIGINS are https:// but BEHIND_TLS_PROXY is off: Django cannot tell HTTPS "
                "requests from plain ones.",
                hint="Set BEHIND_TLS_PROXY=true (the proxy must set X-Forwarded-Proto).", id="stockgate.E020",
            ))
        elif not settings.SECURE_SSL_REDIRECT:
            issues.append(Warning(
                "Production without TLS: BEHIND_TLS_PROXY and SECURE_SSL_REDIRECT are off, so sessions travel "
                "in clear text.",
                hint="Serve the site behind a TLS proxy and set BEHIND_TLS_PROXY=true.", id="stockgate.W021",
            ))
        return issues
    if not settings.SESSION_COOKIE_SECURE:
        issues.append(Error("Behind a TLS proxy, the session cookie is not marked Secure.",
                            hint="Unset SECURE_COOKIES (production defaults it to true).", id="stockgate.E022"))
    if not settings.CSRF_COOKIE_SECURE:
        issues.append(Error("Behind a TLS proxy, the CSRF cookie is not marked Secure.",
                            hint="Unset SECURE_COOKIES (production defaults it to true).", id="stockgate.E023"))
    if settings.SECURE_HSTS_SECONDS < MIN_HSTS_SECONDS:
        issues.append(Error(
            f"Behind a TLS proxy, HSTS is {settings.SECURE_HSTS_SECONDS} s (under {MIN_HSTS_SECONDS}): "
            "a first plain-HTTP request can be intercepted.",
            hint="Unset SECURE_HSTS_SECONDS (production defaults it to a year behind a TLS proxy).",
            id="stockgate.E024",
        ))
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
