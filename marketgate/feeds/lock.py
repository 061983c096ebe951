"""The single-upstream-session lock: a Redis key held while renewed.

Only the holder opens an upstream session. A second `stream_prices` waits for the
key; a holder that dies stops renewing and its lock lapses after the TTL. A holder
that fails to renew (Redis away, paused process) must drop its session at once:
another process may take over after the TTL.
"""

from __future__ import annotations

import os
import socket
import uuid

from django.conf import settings
from redis.asyncio import Redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lock_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:lock"


class SessionLock:
    def __init__(self, client: Redis, ttl_seconds: float | None = None, key: str | None = None) -> None:
        self.client = client
        self.key = key or lock_key()
        self.ttl_ms = int(1000 * (ttl_seconds or settings.PRICE_LOCK_TTL_SECONDS))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    async def acquire(self) -> bool:
        self.held = bool(await self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    async def renew(self) -> bool:
        self.held = bool(await self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    async def release(self) -> None:
        if self.held:
            await self.client.eval(_RELEASE, 1, self.key, self.token)
        self.held = False

    async def holder(self) -> str | None:
        value = await self.client.get(self.key)
        return value.decode() if value else None
