"""Who a /ws handshake belongs to, without the database thread for most handshakes.

Channels' AuthMiddlewareStack reads the session and then the user on the process's one
database thread (database_sync_to_async) for every handshake, even one with no session
cookie, where it can only find an empty session. When a web process restarts, every
socket it held comes back within about a second (the page's reconnect backoff), and
those reads queue behind each other on that thread. Here:

- no session cookie: the socket is anonymous at once, in the event loop;
- a session cookie: Channels' own lookup (`channels.auth.get_user`: the session, the
  user, the session's auth hash), its answer kept in this process for
  WS_AUTH_CACHE_SECONDS per session key, one lookup in flight per key;
- a logout (`user_logged_out`, in any process) forgets the key here and marks it in
  Redis until every process's cached answer for it has expired; a cached answer is used
  only while its key is unmarked, so a logged-out cookie is anonymous everywhere at once
  (when Redis cannot be asked, the session is looked up in the database instead).

What a cached answer can miss until it expires: a password change or a deactivation
(which end the user's other sessions), a permission change (the cached user keeps the
permissions Django cached on it), the session's own expiry. Sockets already open are
session_watch.py's: a logout drops their restricted topics at once, the rest within
WS_PERMISSION_RECHECK_SECONDS.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.auth import get_user
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from redis.exceptions import RedisError

from stockgate.realtime import permissions, singleflight
from stockgate.realtime.redis_conn import async_client, sync_client

log = logging.getLogger(__name__)

# Session keys remembered per process; past this the oldest answers are dropped (a
# client sending made-up cookies costs a lookup each, as it did without the cache).
MAX_SESSIONS = 20_000


@dataclass(frozen=True)
class _Answer:
    user: Any
    # Counted from when the lookup started, so an answer read just before a logout
    # expires no later than the logout's mark in Redis.
    expires: float


_answers: dict[str, _Answer] = {}


def _logout_key(session_key: str) -> str:
    # Session keys are credentials: Redis only ever holds a digest.
    return f"{settings.REALTIME_PREFIX}:ws-auth:logged-out:{permissions.session_group(session_key)}"


async def user_for(scope: dict[str, Any]) -> Any:
    """The user of a handshake's scope (which CookieMiddleware and SessionMiddleware filled)."""
    session_key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return AnonymousUser()
    ttl = float(settings.WS_AUTH_CACHE_SECONDS)
    if ttl <= 0:
        return await get_user(scope)
    answer = _answers.get(session_key)
    if answer is not None and answer.expires > time.monotonic():
        if await _still_logged_in(session_key):
            return answer.user
        _answers.pop(session_key, None)
    return await singleflight.shared(("session-user", session_key), lambda: _look_up(scope, session_key, ttl))


async def _look_up(scope: dict[str, Any], session_key: str, ttl: float) -> Any:
    started = time.monotonic()
    user = await get_user(scope)
    _answers.pop(session_key, None)
    while len(_answers) >= MAX_SESSIONS:
        _answers.pop(next(iter(_answers)))
    _answers[session_key] = _Answer(user, started + ttl)
    return user


async def _still_logged_in(session_key: str) -> bool:
    try:
        return not await async_client().exists(_logout_key(session_key))
    except (RedisError, OSError):
        log.warning("cannot check for a logout in Redis; reading the session instead", exc_info=True)
        return False


def logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """user_logged_out: the session's cached answer is void here now, and in every
    process once they see the mark."""
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if not session_key:
        return
    _answers.pop(session_key, None)
    ttl = float(settings.WS_AUTH_CACHE_SECONDS)
    if ttl <= 0:
        return
    try:
        sync_client().set(_logout_key(session_key), b"1", ex=int(ttl) + 2)
    except (RedisError, OSError):
        log.warning("could not mark a logout in Redis; other web processes may accept the session "
                    "for up to %s s", ttl, exc_info=True)


def forget_all() -> None:
    """Drop every cached answer (tests)."""
    _answers.clear()


class CachedAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] like Channels' AuthMiddleware, through user_for()."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        scope["user"] = await user_for(scope)
        return await super().__call__(scope, receive, send)


def auth_stack(inner: Any) -> Any:
    """Channels' AuthMiddlewareStack with CachedAuthMiddleware in place of AuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(CachedAuthMiddleware(inner)))
