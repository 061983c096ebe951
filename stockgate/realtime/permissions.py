"""Who may hold a topic (WS_TOPIC_PERMISSIONS), checked at subscribe and again later.

A rule names a topic or a topic kind: "authenticated", "staff" or a permission
codename ("app.codename"). A socket keeps the user its handshake resolved; when that
user's session ends (logout) or the rules stop allowing it, the topics it holds under
a rule are dropped (session_watch.py):

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

from stockgate.realtime.topics import topic_kind

log = logging.getLogger(__name__)

SESSION_ENDED = "session.ended"


def rule_for(topic: str) -> str | None:
    rules: dict[str, str] = settings.WS_TOPIC_PERMISSIONS
    for key in (topic, topic_kind(topic)):
        if key in rules:
            return rules[key]
    return None


def restricted() -> bool:
    """Whether any topic needs a permission (else there is nothing to re-check)."""
    return bool(settings.WS_TOPIC_PERMISSIONS)


def _may(user: Any, rule: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if rule == "authenticated":
        return True
    if rule == "staff":
        return bool(user.is_staff)
    return bool(user.has_perm(rule))


async def allowed(user: Any, topic: str) -> bool:
    rule = rule_for(topic)
    if rule is None:
        return True
    if rule in ("authenticated", "staff") or user is None or not user.is_authenticated:
        return _may(user, rule)  # no database read
    return bool(await database_sync_to_async(_may)(user, rule))


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
