"""Dropping restricted topics from a socket whose session ended or lost the permission.

Mixed into the consumer (which provides subs, scope, channel_layer, channel_name,
closing, tasks, _leave, _queue and _error). See permissions.py for when it acts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from stockgate.realtime import faultlog, frames, metrics, permissions
from stockgate.realtime.delivery import TopicState

log = logging.getLogger(__name__)


class SessionWatch:
    subs: dict[str, TopicState]
    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str
    closing: bool
    tasks: list[asyncio.Task[None]]
    watched_group: str | None = None
    # TopicSubscriptions' (subscriptions.py); an annotation, not a stub, so the order of
    # the consumer's bases cannot hide it.
    _leave: Callable[[str], Awaitable[None]]

    def _queue(self, frame: str) -> None:
        raise NotImplementedError

    def _error(self, code: frames.ErrorCode, message: str, topic: str | None = None) -> None:
        raise NotImplementedError

    def _session_key(self) -> str | None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None:
            return None
        return getattr(session, "session_key", None)

    async def _watch_session(self) -> None:
        """Hear this socket's session end, and re-check it now and then (call once accepted)."""
        key = self._session_key()
        if key is None or not permissions.restricted():
            return  # anonymous sockets hold no restricted topic; no rules, nothing to drop
        group = permissions.session_group(key)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
            self.watched_group = group
        except Exception:
            log.warning("could not watch a session for logout; its periodic re-check still runs", exc_info=True)
        self.tasks.append(asyncio.get_running_loop().create_task(self._recheck_loop(key)))

    async def _unwatch_session(self) -> None:
        group, self.watched_group = self.watched_group, None
        if group is not None:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                log.debug("leaving a session group failed", exc_info=True)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """`session.ended` from the process that served the logout (permissions.py)."""
        self.scope["user"] = AnonymousUser()
        await self._drop_denied("the session ended (logged out)")

    async def _recheck_loop(self, key: str) -> None:
        period = float(settings.WS_PERMISSION_RECHECK_SECONDS)
        while not self.closing:
            # Spread over the period so sockets opened together do not re-check together.
            await asyncio.sleep(period * random.uniform(0.8, 1.2))
            if self.closing or not any(permissions.rule_for(t) for t in self.subs):
                continue
            try:
                self.scope["user"] = await database_sync_to_async(permissions.session_user)(key)
                await self._drop_denied("the session ended or no longer has the permission")
            except Exception:
                faultlog.failed("a permission re-check", "the next period tries again")

    async def _drop_denied(self, why: str) -> None:
        user = self.scope.get("user")
        for topic in [t for t in self.subs if permissions.rule_for(t) is not None]:
            if topic not in self.subs or await permissions.amay_read(user, topic):
                continue
            self.subs.pop(topic, None)
            await self._leave(topic)
            metrics.PERMISSION_DROPS.inc()
            self._error("forbidden", f"no longer allowed to receive {topic}: {why}", topic)
            self._queue(frames.control("unsubscribed", topic=topic))
