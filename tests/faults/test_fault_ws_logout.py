"""Fault: the session behind a socket ends (a logout over HTTP, or the session row gone)
while the socket holds a topic that needs a login, against a started server (the
Procfile's uvicorn, real Redis and PostgreSQL). Survives: the socket and its
unrestricted topics; the restricted one is dropped, and cannot be taken back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from stockgate.realtime.broadcast import publish
from tests.faults.server_probe import connect, expect, gate_message, still_usable
from tests.processes import Proc, web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[Proc]:  # type: ignore[no-untyped-def]
    # Re-checked every 1.5 s, so an expired session is noticed within the test's wait.
    proc = web(HEALTH_REQUIRE_FEED="false", WS_TOPIC_PERMISSIONS="signal=authenticated",
               WS_PERMISSION_RECHECK_SECONDS="1.5").start()
    try:
        yield proc
    finally:
        proc.stop()


def _logged_in_cookie() -> tuple[str, str]:
    # Staff, so the admin's logout view (the project's only one) serves it.
    user = get_user_model().objects.create_user(f"trader{time.monotonic_ns()}", password="pw-123456", is_staff=True)
    client = Client()
    client.force_login(user)  # a real session row, read by the server process
    key = client.cookies["sessionid"].value
    return key, f"sessionid={key}"


async def _hold_signal_and_gate(ws: Any) -> None:
    await expect(ws, type="connected")
    for topic in ("signal:vcp", "market-gate"):
        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        await expect(ws, type="subscribed", topic=topic)


async def _dropped_but_gate_still_flows(ws: Any) -> None:
    frame = await expect(ws, type="error", code="forbidden", topic="signal:vcp")
    assert "no longer allowed" in frame["message"]
    await expect(ws, type="unsubscribed", topic="signal:vcp")
    await sync_to_async(publish)("market-gate", gate_message(70))
    assert (await expect(ws, type="market_gate_update"))["data"]["level"] == 70
    await ws.send('{"type":"subscribe","topic":"signal:vcp"}')
    await expect(ws, type="error", code="forbidden", topic="signal:vcp")
    await still_usable(ws)


def test_logout_drops_the_topics_that_need_a_login_from_that_sessions_sockets(server, clean_redis):
    """The user logs out over HTTP (the admin's logout, served by the same server; any
    web process would do: the message goes through Redis). Survives: the socket and its
    unrestricted topic; the restricted one is dropped at once, not at the next check."""
    key, cookie = _logged_in_cookie()
    base = f"http://127.0.0.1:{server.port}"

    async def scenario() -> None:
        async with connect(server, cookie) as ws:
            await _hold_signal_and_gate(ws)
            http = requests.Session()
            http.cookies.set("sessionid", key)
            assert http.get(f"{base}/admin/login/", timeout=30).status_code in (200, 302)
            started = time.monotonic()
            out = await asyncio.to_thread(http.post, f"{base}/admin/logout/",
                                          headers={"X-CSRFToken": http.cookies["csrftoken"]}, timeout=30)
            assert out.status_code in (200, 302), out.text[:500]
            await _dropped_but_gate_still_flows(ws)
            assert time.monotonic() - started < 1.5 + 5  # the logout message, not only the periodic check

    asyncio.run(scenario())
    assert not Session.objects.filter(session_key=key).exists()


def test_an_expired_session_loses_its_restricted_topics_at_the_next_check(server, clean_redis):
    """The session row goes (expiry, `clearsessions`, an admin): no logout message; the
    periodic re-check (WS_PERMISSION_RECHECK_SECONDS, 1.5 s here) drops the topic."""
    key, cookie = _logged_in_cookie()

    async def scenario() -> None:
        async with connect(server, cookie) as ws:
            await _hold_signal_and_gate(ws)
            await sync_to_async(Session.objects.filter(session_key=key).delete)()
            await _dropped_but_gate_still_flows(ws)

    asyncio.run(scenario())
