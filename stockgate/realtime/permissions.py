"""Who may read a topic (WS_TOPIC_PERMISSIONS): one rule for every way its data leaves the
server, the /ws subscription, the dashboard's first paint and the JSON endpoints alike,
checked at subscribe and again later.

A rule names a topic (`signal:vcp`) or its kind (`signal`, `price`, `market-gate`,
`market`, `ops`) and is "authenticated", "staff" or a permission codename
("app.codename"). A topic without a rule is public. HTTP callers using an API token act
as the token's user, and a restricted topic also needs the token's `read` scope (a
token made for alerts or scans only reads what anonymous callers read).

A socket keeps the user its handshake resolved; when that user's session ends (logout)
or the rules stop allowing it, the topics it holds under a rule are dropped
(session_watch.py):

- a logout, in whichever process serves it, sends `session.ended` to the channel-layer
  group of that session (`session_group`), which only that session's sockets join;
- sockets holding restricted topics re-read their session and user every
  WS_PERMISSION_RECHECK_SECONDS (expired sessions, revoked permissions, a lost message).
"""

from __future__ import annotations

import hashlib
import logging
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest, HttpResponse

from stockgate.realtime.topics import topic_kind

log = logging.getLogger(__name__)

READ_SCOPE = "read"
SESSION_ENDED = "session.ended"


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


def restricted() -> bool:
    """Whether any topic needs a permission (else there is nothing to re-check)."""
    return bool(settings.WS_TOPIC_PERMISSIONS)


def session_group(session_key: str) -> str:
    """The channel-layer group of one session's sockets (a digest: keys stay out of Redis)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_user(session_key: str) -> Any:
    """The user `session_key` belongs to now (AnonymousUser once it ended), read afresh.

    Runs Django's own check (get_user): the session still exists, its user is active and its
    auth hash still matches (a password change ends other sessions)."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]


def _on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        return
    from stockgate.realtime.broadcast import send_to_group

    try:
        send_to_group(session_group(key), {"type": SESSION_ENDED})
    except Exception as exc:
        # The logout itself stands; sockets of the session notice at their next re-check.
        log.warning("could not tell the sockets of a logged-out session (%s); they re-check within %s s",
                    exc, settings.WS_PERMISSION_RECHECK_SECONDS)


def connect() -> None:
    user_logged_out.connect(_on_logged_out, dispatch_uid="stockgate.realtime.session_ended")
