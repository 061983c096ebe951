"""Who may read a topic (WS_TOPIC_PERMISSIONS): one rule for every way its data leaves the
server, the /ws subscription, the dashboard's first paint and the JSON endpoints alike.

A rule names a topic (`signal:vcp`) or its kind (`signal`, `price`, `market-gate`,
`market`, `ops`) and is "authenticated", "staff" or a permission codename
("app.codename"). A topic without a rule is public. HTTP callers using an API token act
as the token's user, and a restricted topic also needs the token's `read` scope (a
token made for alerts or scans only reads what anonymous callers read).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from stockgate.realtime.topics import topic_kind

READ_SCOPE = "read"


def rule_for(topic: str) -> str | None:
    """The rule that applies to `topic`: its own, else its kind's; None when public."""
    rules: dict[str, str] = settings.WS_TOPIC_PERMISSIONS
    for key in (topic, topic_kind(topic)):
        if key in rules:
            return rules[key]
    return None


def _rule_allows(rule: str, user: Any) -> bool | None:
    """The verdict that needs no database; None when the permission itself must be read."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if rule == "authenticated":
        return True
    if rule == "staff":
        return bool(user.is_staff)
    return None


def may_read(user: Any, topic: str) -> bool:
    """Whether `user` (anonymous, a session's or a token's) may read `topic`. May query the database."""
    rule = rule_for(topic)
    if rule is None:
        return True
    verdict = _rule_allows(rule, user)
    return bool(user.has_perm(rule)) if verdict is None else verdict


async def amay_read(user: Any, topic: str) -> bool:
    """may_read for the consumer: the permission lookup runs off the event loop."""
    rule = rule_for(topic)
    if rule is None:
        return True
    verdict = _rule_allows(rule, user)
    if verdict is None:
        return bool(await database_sync_to_async(user.has_perm)(rule))
    return verdict


def request_may_read(request: HttpRequest, topic: str) -> bool:
    """may_read for an HTTP request; a token caller also needs the `read` scope for a restricted topic."""
    if rule_for(topic) is None:
        return True
    token = getattr(request, "api_token", None)
    if token is not None and not token.allows(READ_SCOPE):
        return False
    return may_read(request.user, topic)


def http_refusal(request: HttpRequest, topic: str) -> HttpResponse | None:
    """None when the caller may read `topic`; else the JSON 401 (who are you?) or 403 (not you)."""
    from stockgate.jsonapi import json_error

    if rule_for(topic) is None:
        return None
    if getattr(request, "bearer_error", ""):
        response = json_error(401, "invalid_token", request.bearer_error)  # type: ignore[attr-defined]
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    if request_may_read(request, topic):
        return None
    if not request.user.is_authenticated:
        response = json_error(401, "unauthenticated",
                              f"{topic} is restricted: log in (/admin/login/) or send Authorization: Bearer <API token>")
        response["WWW-Authenticate"] = "Bearer"
        return response
    token = getattr(request, "api_token", None)
    if token is not None and not token.allows(READ_SCOPE):
        return json_error(403, "insufficient_scope", f"this API token needs the scope {READ_SCOPE}",
                          scopes=token.scopes)
    return json_error(403, "forbidden", f"not allowed to read {topic}")
