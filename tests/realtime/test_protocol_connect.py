"""On accept the server says `connected`; ping/pong; `?subscribe=` on connect."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from tests.wsclient import connect, open_socket, recv, send

# Every test runs in-process, under the Procfile's uvicorn and under daphne (conftest.ws_target).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_target")]


async def test_connected_frame_has_client_id_server_time_and_topics(clean_redis):
    comm, hello = await connect()
    uuid.UUID(hello["client_id"])
    assert datetime.fromisoformat(hello["server_time"]).utcoffset().total_seconds() == 9 * 3600
    assert set(hello["topics"]) == {"market-gate", "signal:vcp", "price:{ticker}", "market:kospi", "market:kosdaq"}
    await comm.disconnect()


async def test_path_with_trailing_slash_is_the_same_endpoint(clean_redis):
    comm, hello = await connect("/ws/")
    assert hello["type"] == "connected"
    await comm.disconnect()


async def test_ping_gets_pong_with_offset_timestamp(clean_redis):
    comm, _ = await connect()
    await send(comm, {"type": "ping"})
    pong = await recv(comm)
    assert pong["type"] == "pong"
    assert datetime.fromisoformat(pong["timestamp"]).utcoffset() is not None
    await comm.disconnect()


async def test_client_pong_gets_no_reply(clean_redis):
    comm, _ = await connect()
    await send(comm, {"type": "pong"})
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_query_string_subscribes_on_connect(clean_redis):
    comm, _ = await connect("/ws?subscribe=market-gate,signal:vcp")
    assert await recv(comm) == {"type": "subscribed", "topic": "market-gate"}
    assert await recv(comm) == {"type": "subscribed", "topic": "signal:vcp"}
    await comm.disconnect()


async def test_server_heartbeat_pings_and_idle_client_is_closed(clean_redis, settings):
    settings.WS_HEARTBEAT_SECONDS = 0.2
    settings.WS_IDLE_TIMEOUT_SECONDS = 0.7
    comm, _ = await connect()
    ping = await recv(comm, timeout=2)
    assert ping["type"] == "ping" and "timestamp" in ping
    # The client never answers: it is closed once the idle limit passes.
    while True:
        out = await comm.receive_output(timeout=3)
        if out["type"] == "websocket.close":
            break
    await comm.wait()


async def test_answering_pongs_keeps_the_connection_open(clean_redis, settings):
    settings.WS_HEARTBEAT_SECONDS = 0.2
    settings.WS_IDLE_TIMEOUT_SECONDS = 0.7
    comm, _ = await connect()
    for _ in range(6):
        frame = await recv(comm, timeout=2)
        assert frame["type"] == "ping"
        await send(comm, {"type": "pong"})
    await comm.disconnect()


async def test_foreign_origin_is_refused(clean_redis):
    assert await open_socket("/ws", headers=[(b"origin", b"http://evil.example")]) is None


async def test_own_origin_is_accepted(clean_redis):
    comm, hello = await connect(headers=[(b"origin", b"http://127.0.0.1:8000")])
    assert hello["type"] == "connected"
    await comm.disconnect()
