"""Handshakes do not queue on the database: who a socket belongs to (stockgate/realtime/auth.py).

What must survive: a handshake without a session cookie, and a repeated one with a
session already looked up, complete while the web process's database thread is stuck;
a logout refuses the session's cookie at once although its answer is still cached; a
cached answer expires after WS_AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from stockgate.realtime import auth
from tests import processes
from tests.wsclient import connect, recv, send, subscribe

pytestmark = [pytest.mark.django_db(transaction=True)]

RESTRICTED = "signal:vcp"


def _dsn() -> str:
    return processes.database_url().split("?", 1)[0]


class SessionTableLock:
    """Holds an exclusive lock on django_session: any session read waits behind it."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(_dsn())

    def __enter__(self) -> SessionTableLock:
        self.conn.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.rollback()
        self.conn.close()

    def someone_waits(self) -> bool:
        with psycopg.connect(_dsn(), autocommit=True) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'django_session'::regclass"
            ).fetchone()
        return bool(row and row[0])


@pytest.fixture
def web(clean_redis) -> Iterator[processes.Proc]:
    server = processes.web("uvicorn", HEALTH_REQUIRE_FEED="false", WS_TOPIC_PERMISSIONS=f"{RESTRICTED}=authenticated")
    server.start()
    yield server
    server.stop()


def _logged_in_client() -> tuple[Client, str]:
    client = Client()
    client.force_login(User.objects.create_user("trader", password="pw-123456"))
    return client, client.cookies["sessionid"].value


async def _open(port: int, cookie: str | None = None, timeout: float = 20) -> websockets.ClientConnection:
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers=headers, open_timeout=timeout)
    hello = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert hello["type"] == "connected"
    return ws


async def _subscribe_answer(ws: websockets.ClientConnection, topic: str) -> dict[str, Any]:
    """The first answer to a subscribe: `subscribed` or an error."""
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if frame["type"] in ("subscribed", "error"):
            return frame


async def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.e2e
def test_a_socket_without_a_session_cookie_does_not_wait_for_the_database(web):
    _, cookie = _logged_in_client()

    async def scenario() -> None:
        with SessionTableLock() as lock:
            # A first-time session lookup now waits on the lock, and with it the web
            # process's one database thread.
            stuck = asyncio.create_task(_open(web.port, cookie, timeout=60))
            await _until(lock.someone_waits)
            anonymous = await _open(web.port, timeout=15)
            assert not stuck.done()
        logged_in = await stuck  # the lookup goes on once the lock is gone
        assert (await _subscribe_answer(logged_in, RESTRICTED))["type"] == "subscribed"
        assert (await _subscribe_answer(anonymous, RESTRICTED))["code"] == "forbidden"
        await anonymous.close()
        await logged_in.close()

    asyncio.run(scenario())


@pytest.mark.e2e
def test_a_known_session_does_not_read_the_database_again_and_a_logout_ends_it_at_once(web):
    client, cookie = _logged_in_client()

    async def scenario() -> None:
        first = await _open(web.port, cookie)
        assert (await _subscribe_answer(first, RESTRICTED))["type"] == "subscribed"
        with SessionTableLock():
            # Within WS_AUTH_CACHE_SECONDS: the same session is known without a read.
            again = await _open(web.port, cookie, timeout=15)
            assert (await _subscribe_answer(again, RESTRICTED))["type"] == "subscribed"
        # Logged out in another process (this one): no web process may take the cookie,
        # though its answer is still cached where it was looked up.
        await asyncio.to_thread(client.logout)
        after_logout = await _open(web.port, cookie)
        answer = await _subscribe_answer(after_logout, RESTRICTED)
        assert answer["type"] == "error" and answer["code"] == "forbidden", answer
        for ws in (first, again, after_logout):
            await ws.close()

    asyncio.run(scenario())


async def test_a_cached_answer_expires(clean_redis, settings):
    """In-process: a deactivated user keeps the socket access the cache holds for
    WS_AUTH_CACHE_SECONDS, and loses it after."""
    settings.WS_TOPIC_PERMISSIONS = {RESTRICTED: "authenticated"}
    settings.WS_AUTH_CACHE_SECONDS = 1.0
    auth.forget_all()
    _, cookie = await sync_to_async(_logged_in_client)()
    headers = [(b"cookie", f"sessionid={cookie}".encode())]
    comm, _ = await connect(headers=headers)
    await subscribe(comm, RESTRICTED)
    await comm.disconnect()
    await sync_to_async(User.objects.filter(username="trader").update)(is_active=False)
    comm, _ = await connect(headers=headers)
    await subscribe(comm, RESTRICTED)  # still the cached answer
    await comm.disconnect()
    await asyncio.sleep(1.2)
    comm, _ = await connect(headers=headers)
    await send(comm, {"type": "subscribe", "topic": RESTRICTED})
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == "forbidden", frame
    await comm.disconnect()
