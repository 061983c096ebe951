"""Fixtures shared by the suite: real Redis and PostgreSQL, and real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

# Tests marked `alongside` run in a process of their own (tests/alongside.py); the
# database reset after transactional tests (tests/dbreset.py).
from tests.alongside import pytest_collection_modifyitems, pytest_runtest_logreport, pytest_unconfigure  # noqa: F401
from tests.dbreset import _fast_flush  # noqa: F401

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

    _delete_prefixed(redis_server)
    reset_clients()
    yield redis_server
    reset_clients()


def _delete_prefixed(client: redis.Redis) -> None:
    # Only this run's keys: other runs may share the Redis database.
    for pattern in (f"{settings.REALTIME_PREFIX}*", f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def krx_data() -> Path:
    if not KRX_DATA.is_dir():
        pytest.skip(f"real KRX data not found at {KRX_DATA} (set KRX_DATA_DIR); skipping")
    return KRX_DATA


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database connections opened by async consumers' worker threads would keep the
    test database from being dropped; end them before pytest-django drops it."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    if connection.settings_dict["NAME"] != connection.settings_dict["TEST"].get("NAME"):
        return  # no test used the database: pytest-django never created the test one
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session")
def _ws_servers(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Server processes the protocol tests start, stopped before the test database goes."""
    from tests import wsclient

    wsclient.remember_defaults()
    yield
    wsclient.stop_servers()


@pytest.fixture(params=["in-process", pytest.param("uvicorn", marks=pytest.mark.e2e), pytest.param("daphne", marks=pytest.mark.e2e)])
def ws_target(request: pytest.FixtureRequest, _ws_servers: None) -> Iterator[str]:
    """Run a protocol test in-process, under the Procfile's uvicorn and under daphne."""
    from tests import wsclient

    wsclient.target = request.param
    yield request.param
    wsclient.target = "in-process"


@pytest.fixture(autouse=True)
def _fresh_gate_period() -> Iterator[None]:
    """The gate period is cached per process for a few seconds; each test reads its own
    database's schedule."""
    from marketgate.gate.period import forget

    forget()
    yield
    forget()
