"""WS_TOPIC_PERMISSIONS holds over HTTP as over /ws, and the operations endpoints tell
anonymous callers nothing but up/down. Against the Procfile's real server in production
mode, with `signal` and `market-gate` for logged-in users and prices for staff.

What must hold: an anonymous caller gets neither the gate nor the signals (their
footprints included) from the page's first paint, /api/signals, /api/performance or
/api/market-gate, and /ws refuses it the same topics; a logged-in user and a `read`
token get them; a token without `read` does not; /readyz says only "ok"/"fail" to
anonymous callers (no check names, errors or commit) and everything to staff and `read`
tokens; /metrics refuses anonymous scrapes in production.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from django.contrib.auth import get_user_model
from django.test import Client

from stockgate.apitokens.models import ApiToken
from tests import factories
from tests.dashboard_support import make_gate, make_signals
from tests.processes import Proc, web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RULES = "signal=authenticated,market-gate=authenticated,price=staff"


@pytest.fixture(scope="module")
def server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Proc]:
    proc = web(STOCKGATE_ENV="production", WS_TOPIC_PERMISSIONS=RULES, METRICS_TOKEN="", DEBUG="",
               HEALTH_REQUIRE_FEED="false")
    proc.start(wait=90)
    yield proc
    proc.stop()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def page_state(html: str) -> dict[str, Any]:
    marker = '<script id="dashboard-state" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)])


def session_cookie(user: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def bearer(user: Any, scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ApiToken.issue(user, 'test', scopes)[1]}"}


async def ws_verdicts(port: int, topics: list[str], headers: dict[str, str]) -> dict[str, str]:
    """topic -> "subscribed" or the error code the socket answered with."""
    verdicts: dict[str, str] = {}
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", origin="http://127.0.0.1",
                                  additional_headers=headers) as ws:
        for topic in topics:
            await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        while len(verdicts) < len(topics):
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if frame.get("type") == "subscribed":
                verdicts[frame["topic"]] = "subscribed"
            elif frame.get("type") == "error" and frame.get("topic") in topics:
                verdicts[frame["topic"]] = frame["code"]
    return verdicts


def test_restricted_topics_are_restricted_on_every_http_path_as_on_the_socket(server: Proc) -> None:
    make_gate(72, "GREEN")
    make_signals(3)
    factories.listed("005930")  # a listed ticker: its price topic exists, and is for staff
    users = get_user_model().objects
    trader = users.create_user("trader", password="pw-for-the-test-only")
    port = server.port
    restricted = ("/api/signals", "/api/performance", "/api/market-gate")

    status, html = get(port, "/")
    anonymous = page_state(html)
    assert status == 200
    assert anonymous["gate"] is None and anonymous["gate_history"] == []
    assert anonymous["signals"] is None and anonymous["quotes"] == {} and anonymous["last_scan"] is None
    assert "footprint" not in html and "종목000" not in html  # no signal leaks into the page at all
    assert set(anonymous["restricted"]) == {"market-gate", "signal:vcp"}
    for path in restricted:
        status, body = get(port, path)
        assert status == 401 and json.loads(body)["error"] == "unauthenticated", (path, body)
    sockets = asyncio.run(ws_verdicts(port, ["signal:vcp", "market-gate", "market:kospi"], {}))
    assert sockets == {"signal:vcp": "forbidden", "market-gate": "forbidden", "market:kospi": "subscribed"}

    # The same rule lets the logged-in trader through, on every path.
    cookie = session_cookie(trader)
    state = page_state(get(port, "/", cookie)[1])
    assert state["gate"]["data"]["level"] == 72 and state["signals"]["data"]["count"] == 3
    assert state["restricted"] == [] and state["quotes"] == {}  # price=staff: no quotes for a trader
    status, body = get(port, "/api/signals", cookie)
    assert status == 200 and len(json.loads(body)["signals"]) == 3 and "footprint" in json.loads(body)["signals"][0]
    for path in restricted:
        assert get(port, path, cookie)[0] == 200, path
    sockets = asyncio.run(ws_verdicts(port, ["signal:vcp", "market-gate", "price:005930"], cookie))
    assert sockets == {"signal:vcp": "subscribed", "market-gate": "subscribed", "price:005930": "forbidden"}

    # A token acts as its user, and reads restricted topics only with the `read` scope.
    for path in restricted:
        assert get(port, path, bearer(trader, "read"))[0] == 200, path
        status, body = get(port, path, bearer(trader, "alerts"))
        assert status == 403 and json.loads(body)["error"] == "insufficient_scope", (path, body)
        status, body = get(port, path, {"Authorization": "Bearer sg_not-a-token"})
        assert status == 401 and json.loads(body)["error"] == "invalid_token", (path, body)


def test_readyz_tells_anonymous_callers_only_up_or_down_and_metrics_refuse_them(server: Proc) -> None:
    users = get_user_model().objects
    staff = users.create_user("ops", password="pw-for-the-test-only", is_staff=True)
    trader = users.create_user("trader", password="pw-for-the-test-only")
    port = server.port

    status, body = get(port, "/readyz")
    assert status in (200, 503)
    assert json.loads(body) == {"status": "ok" if status == 200 else "fail"}  # no checks, errors or commit
    for caller in (session_cookie(staff), bearer(trader, "read")):
        detailed_status, detailed = get(port, "/readyz", caller)
        report = json.loads(detailed)
        assert detailed_status in (200, 503) and {"checks", "failing", "commit", "version"} <= set(report)
        assert "database" in report["checks"]
    for caller in ({}, session_cookie(trader), bearer(trader, "alerts")):
        assert set(json.loads(get(port, "/readyz", caller)[1])) == {"status"}

    status, body = get(port, "/metrics")
    assert status == 401 and "stockgate_ws_connections" not in body
    assert get(port, "/metrics", session_cookie(trader))[0] == 401
    for caller in (bearer(trader, "read"), session_cookie(staff)):
        status, body = get(port, "/metrics", caller)
        assert status == 200 and "stockgate_ws_connections" in body
