"""Redis clients for the transport: one sync pool per process, one async pool per event loop."""

from __future__ import annotations

import asyncio
import threading
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

# After a Redis restart every pooled connection is dead; without retries (redis-py's
# from_url sets none) the first command on each one fails instead of reconnecting.
_RETRIES = 3


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(base=0.05, cap=1.0)

_sync_lock = threading.Lock()
_sync_client: redis.Redis | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def sync_client() -> redis.Redis:
    global _sync_client
    with _sync_lock:
        if _sync_client is None:
            _sync_client = redis.Redis.from_url(
                settings.REDIS_URL,
                max_connections=settings.REDIS_MAX_CONNECTIONS,
                socket_timeout=5,
                socket_connect_timeout=5,
                health_check_interval=30,
                retry_on_timeout=True,
                retry=Retry(_backoff(), _RETRIES),
            )
        return _sync_client


def async_client() -> aioredis.Redis:
    """A client bound to the running loop (redis.asyncio pools cannot cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            # The default cap of 100 raised MaxConnectionsError under a burst of connects.
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry=AsyncRetry(_backoff(), _RETRIES),
        )
        _async_clients[loop] = client
    return client


# Bumped by reset_clients(): holders of longer-lived connections (broadcast.py's
# publishing loop) start afresh when it changes.
generation = 0


def reset_clients() -> None:
    """Forget cached clients (tests that restart Redis, forked workers)."""
    global _sync_client, generation
    with _sync_lock:
        _sync_client = None
        generation += 1
    _async_clients.clear()
