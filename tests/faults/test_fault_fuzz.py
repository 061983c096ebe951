"""Fault: the WebSocket protocol under fuzzing, against a real uvicorn process.

Random frames each get their documented reply (protocol.md), huge frames and floods
are cut off with their close codes, thousands of subscribe/unsubscribe cycles leave
memory flat, and the server stays up throughout.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from marketgate.models import Instrument
from stockgate.realtime.topics import is_valid_topic, ticker_of
from tests import factories
from tests.processes import Proc, web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ERROR_CODES = {"bad_json", "bad_frame", "unknown_type", "unknown_topic", "too_many_subscriptions", "rate_limited",
               "forbidden", "too_large", "too_many_connections"}
# Price topics exist for listed instruments only: these are listed for every test.
LISTED = ("005930", "0015N0")
LENIENT = {"WS_MAX_FRAMES_PER_SECOND": "100000", "WS_MAX_BAD_FRAMES_PER_MINUTE": "100000",
           "WS_MAX_SUBSCRIPTIONS": "100000", "HEALTH_REQUIRE_FEED": "false"}


@pytest.fixture(autouse=True)
def _listed() -> None:
    factories.listed(*LISTED)


@pytest.fixture(scope="module")
def lenient_server(django_db_blocker) -> Iterator[Proc]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        server = web(**LENIENT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_server(django_db_blocker) -> Iterator[Proc]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        server = web(HEALTH_REQUIRE_FEED="false").start()
    yield server
    server.stop()


def open_ws(server: Proc) -> ClientConnection:
    ws = connect(f"ws://127.0.0.1:{server.port}/ws", max_size=2**24, open_timeout=10)
    hello = json.loads(ws.recv(timeout=5))
    assert hello["type"] == "connected"
    return ws


def up(server: Proc) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as response:
        return server.alive() and response.status == 200


def replies_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Send a ping and collect what came before its pong: the replies to the last frame."""
    ws.send(json.dumps({"type": "ping"}))
    out = []
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame.get("type") == "pong":
            return out
        out.append(frame)


def expected(raw: str | bytes) -> set[str]:
    """The reply kinds protocol.md documents for one frame (error codes or frame types)."""
    if isinstance(raw, bytes):
        return {"bad_frame"}
    try:
        frame = json.loads(raw)
    except ValueError:
        return {"bad_json"}
    if not isinstance(frame, dict):
        return {"bad_frame"}
    kind = frame.get("type")
    if not isinstance(kind, str):
        return {"bad_frame"}
    if kind == "ping":
        return {"pong"}
    if kind == "pong":
        return set()
    if kind in ("subscribe", "unsubscribe"):
        topic = frame.get("topic")
        if not isinstance(topic, str):
            return {"bad_frame"}
        if kind == "subscribe" and "since" in frame and frame["since"] is not None:
            since = frame["since"]
            ok = (isinstance(since, dict) and isinstance(since.get("epoch"), str) and type(since.get("seq")) is int
                  and 0 <= since["seq"] <= 2**53 and re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", since["epoch"]) is not None)
            if not ok:
                return {"bad_frame"}
        if not is_valid_topic(topic):
            return {"unknown_topic"}
        if kind == "subscribe" and ticker_of(topic) not in (None, *LISTED):
            return {"unknown_topic"}  # a ticker's shape, but no listed instrument
        return {"subscribed" if kind == "subscribe" else "unsubscribed"}
    return {"unknown_type"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
topics = st.sampled_from(["market-gate", "signal:vcp", "price:005930", "price:0015N0", "market:kospi", "ops",
                          "price:5930", "price:00593a", "nope", "", "market-gate ", "price:" + "9" * 200]) | st.text(max_size=30)
protocolish = st.fixed_dictionaries(
    {"type": st.sampled_from(["subscribe", "unsubscribe", "ping", "pong", "hello", "SUBSCRIBE"]) | json_values},
    optional={"topic": topics | json_values,
              "since": st.fixed_dictionaries({"epoch": st.text(max_size=10) | json_values,
                                               "seq": st.integers(-5, 10**12) | json_values}) | json_values},
)
frames = st.one_of(
    protocolish.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
)


@hsettings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=frames)
def test_every_random_frame_gets_its_documented_reply(lenient_server: Proc, raw: str | bytes) -> None:
    ws = _shared(lenient_server)
    if raw == json.dumps({"type": "ping"}) or (isinstance(raw, str) and expected(raw) == {"pong"}):
        ws.send(raw)
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
        return
    ws.send(raw)
    replies = replies_until_pong(ws)
    kinds = {r["code"] if r["type"] == "error" else r["type"] for r in replies if not r.get("snapshot")}
    snapshots = [r for r in replies if r.get("snapshot")]
    want = expected(raw)
    assert kinds == want, (raw, replies)
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES and isinstance(reply["message"], str)
    assert all(r.get("topic") for r in snapshots)


_connections: dict[int, ClientConnection] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_shared_connections() -> Iterator[None]:
    yield
    for ws in _connections.values():
        ws.close()
    _connections.clear()


def _shared(server: Proc) -> ClientConnection:
    ws = _connections.get(server.port)
    if ws is None:
        ws = _connections[server.port] = open_ws(server)
    return ws


def test_huge_frame_gets_too_large_then_close_1009(strict_server: Proc) -> None:
    ws = open_ws(strict_server)
    ws.send("x" * (64 * 1024 + 1))
    assert json.loads(ws.recv(timeout=10))["code"] == "too_large"
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert up(strict_server)


def test_frames_over_the_server_limit_are_refused_without_harm(strict_server: Proc) -> None:
    ws = open_ws(strict_server)
    try:
        ws.send("x" * (4 * 1024 * 1024))  # over uvicorn's --ws-max-size
        ws.recv(timeout=10)
    except ConnectionClosed:
        pass
    assert up(strict_server)


def test_a_flood_is_rate_limited_then_closed_with_1008(strict_server: Proc) -> None:
    ws = open_ws(strict_server)
    codes: list[str] = []
    close_code = None
    try:
        # Sustained: a few hundred frames a second for longer than WS_RATE_ABUSE_SECONDS.
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            for _ in range(20):
                ws.send('{"type":"ping"}')
            time.sleep(0.05)
            while True:
                try:
                    frame = json.loads(ws.recv(timeout=0))
                except TimeoutError:
                    break
                if frame["type"] == "error":
                    codes.append(frame["code"])
        ws.recv(timeout=5)
    except ConnectionClosed as exc:
        close_code = exc.rcvd.code if exc.rcvd else None
    assert "rate_limited" in codes
    assert close_code == 1008
    assert up(strict_server)


def test_thousands_of_subscribe_cycles_keep_memory_bounded(lenient_server: Proc) -> None:
    process = psutil.Process(lenient_server.pid)
    Instrument.objects.bulk_create(
        [Instrument(ticker=f"{i:06d}", name=f"종목{i}", market="KOSPI") for i in range(1000)], ignore_conflicts=True
    )
    ws = open_ws(lenient_server)

    def cycles(n: int) -> None:
        for i in range(n):
            topic = f"price:{i % 1000:06d}"
            ws.send(json.dumps({"type": "subscribe", "topic": topic}))
            ws.send(json.dumps({"type": "unsubscribe", "topic": topic}))
            if i % 100 == 99:
                replies_until_pong(ws)
        replies_until_pong(ws)

    cycles(500)  # warm up: caches, pools, allocator
    before = process.memory_info().rss
    cycles(2000)
    grown = process.memory_info().rss - before
    assert grown < 30 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB over 2000 cycles"
    ws.close()
    assert up(lenient_server)


# One of each kind of bad input, each with the error it gets (protocol.md).
HOSTILE: list[tuple[str | bytes, str]] = [
    ("{", "bad_json"),
    ("x" * 1000, "bad_json"),
    (b"\x00\xff\xfe", "bad_frame"),
    (json.dumps([1, 2]), "bad_frame"),
    (json.dumps({"type": None}), "bad_frame"),
    (json.dumps({"type": "subscribe", "topic": "market-gate", "since": {"epoch": 1, "seq": -1}}), "bad_frame"),
    (json.dumps({"type": "subscribe", "topic": "price:" + "9" * 200}), "unknown_topic"),
    (json.dumps({"type": "hello"}), "unknown_type"),
]


def test_the_server_keeps_serving_after_bad_input(lenient_server: Proc, strict_server: Proc) -> None:
    # Self-contained: its own sockets and its own bad input, whatever ran before.
    for server in (lenient_server, strict_server):
        pid = server.pid
        ws = open_ws(server)
        for raw, _ in HOSTILE:
            ws.send(raw)
        replies = replies_until_pong(ws)  # the same socket still answers
        assert [r.get("code") for r in replies] == [code for _, code in HOSTILE], replies
        ws.send(json.dumps({"type": "subscribe", "topic": "market-gate"}))
        assert "subscribed" in {r["type"] for r in replies_until_pong(ws)}
        ws.close()
        fresh = open_ws(server)  # and new clients are served
        fresh.send(json.dumps({"type": "subscribe", "topic": "signal:vcp"}))
        assert "subscribed" in {r["type"] for r in replies_until_pong(fresh)}
        fresh.close()
        assert up(server) and server.pid == pid  # the same process, never restarted
