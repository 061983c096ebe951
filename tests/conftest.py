"""Fixtures shared by the suite: real Redis and PostgreSQL, and real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
KRX_DATA = Path(os.environ.get("KRX_DATA_DIR", REPO.parent / "shared" / "data" / "krx"))


@pytest.fixture(scope="session")
def redis_server() -> redis.Redis:
    """The real Redis the suite runs against; the suite fails loudly if it is down."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.ping()
    return client


@pytest.fixture
def clean_redis(redis_server: redis.Redis) -> Iterator[redis.Redis]:
    """An empty test database in Redis (history, seq and epochs start afresh)."""
    from stockgate.realtime.redis_conn import reset_clients

    redis_server.flushdb()
    reset_clients()
    yield redis_server
    reset_clients()


@pytest.fixture
def krx_data() -> Path:
    if not KRX_DATA.is_dir():
        pytest.skip(f"real KRX data not found at {KRX_DATA} (set KRX_DATA_DIR); skipping")
    return KRX_DATA
