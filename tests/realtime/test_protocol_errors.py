"""Every error code of protocol.md, and what must survive: the connection stays usable."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from tests import factories
from tests.wsclient import close_code, connect, recv, send, subscribe

# Every test runs in-process, under the Procfile's uvicorn and under daphne (conftest.ws_target).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_target")]


async def expect_error(comm, code: str) -> dict:
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert isinstance(frame["message"], str) and frame["message"]
    return frame


async def still_usable(comm) -> None:
    await send(comm, {"type": "ping"})
    assert (await recv(comm))["type"] == "pong"


@pytest.mark.parametrize("raw", ["not json", "{", " ", "\x00"])
async def test_bad_json_gets_an_error_and_the_connection_stays_open(clean_redis, raw):
    comm, _ = await connect()
    await send(comm, raw)
    await expect_error(comm, "bad_json")
    await still_usable(comm)
    await comm.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        [1, 2],
        "\"a string\"",
        {"topic": "market-gate"},
        {"type": 7},
        {"type": "subscribe"},
        {"type": "subscribe", "topic": 5},
        {"type": "unsubscribe", "topic": None},
        {"type": "subscribe", "topic": "market-gate", "since": {"epoch": 1, "seq": "x"}},
        {"type": "subscribe", "topic": "market-gate", "since": {"epoch": "e", "seq": -1}},
    ],
)
async def test_ill_typed_frames_get_bad_frame(clean_redis, frame):
    comm, _ = await connect()
    await send(comm, frame if isinstance(frame, str) else json.dumps(frame))
    await expect_error(comm, "bad_frame")
    await still_usable(comm)
    await comm.disconnect()


async def test_binary_frames_get_bad_frame(clean_redis):
    comm, _ = await connect()
    await comm.send_to(bytes_data=b"\x01\x02")
    await expect_error(comm, "bad_frame")
    await comm.disconnect()


async def test_unknown_type(clean_redis):
    comm, _ = await connect()
    await send(comm, {"type": "hello"})
    await expect_error(comm, "unknown_type")
    await still_usable(comm)
    await comm.disconnect()


@pytest.mark.parametrize(
    "topic",
    ["nope", "price:5930", "price:005930x", "price:abcdef", "market:nasdaq", "signal:other", "market-gate ",
     "price:999990"],  # the last one has the ticker's shape but no listed instrument
)
async def test_unknown_topic_is_refused_and_nothing_is_created(clean_redis, topic):
    comm, _ = await connect()
    await send(comm, {"type": "subscribe", "topic": topic})
    await expect_error(comm, "unknown_topic")
    keys = clean_redis.keys("*")
    assert not [k for k in keys if topic.encode() in k]
    await still_usable(comm)
    await comm.disconnect()


async def test_unsubscribing_an_unknown_topic_is_refused(clean_redis):
    comm, _ = await connect()
    await send(comm, {"type": "unsubscribe", "topic": "bogus"})
    await expect_error(comm, "unknown_topic")
    await comm.disconnect()


async def test_too_many_subscriptions(clean_redis, settings):
    settings.WS_MAX_SUBSCRIPTIONS = 3
    await sync_to_async(factories.listed)("005930", "000660", "035420", "051910")
    comm, _ = await connect()
    for ticker in ("005930", "000660", "035420"):
        await subscribe(comm, f"price:{ticker}")
    await send(comm, {"type": "subscribe", "topic": "price:051910"})
    frame = await expect_error(comm, "too_many_subscriptions")
    assert frame["topic"] == "price:051910"
    # Existing subscriptions are untouched and one more is possible after an unsubscribe.
    await send(comm, {"type": "unsubscribe", "topic": "price:005930"})
    assert (await recv(comm))["type"] == "unsubscribed"
    await subscribe(comm, "price:051910")
    await comm.disconnect()


async def test_rate_limited_frames_are_dropped_with_one_error(clean_redis, settings):
    settings.WS_MAX_FRAMES_PER_SECOND = 5
    settings.WS_RATE_ABUSE_SECONDS = 100
    comm, _ = await connect()
    for _ in range(15):
        await send(comm, {"type": "ping"})
    frames = []
    while not await comm.receive_nothing(timeout=0.3):
        frames.append(await recv(comm))
    assert sum(f["type"] == "pong" for f in frames) <= 5 + 5  # at most one second's worth more
    assert [f["code"] for f in frames if f["type"] == "error"] == ["rate_limited"]
    await comm.disconnect()


async def test_sustained_flood_is_closed_with_1008(clean_redis, settings):
    settings.WS_MAX_FRAMES_PER_SECOND = 2
    settings.WS_RATE_ABUSE_SECONDS = 1
    comm, _ = await connect()
    for _ in range(10):
        await send(comm, {"type": "ping"})
    close = None
    for _ in range(20):
        out = await comm.receive_output(timeout=2)
        if out["type"] == "websocket.close":
            close = out
            break
    assert close is not None and close["code"] == close_code(1008)


async def test_too_large_frame_gets_error_then_close_1009(clean_redis, settings):
    settings.WS_MAX_FRAME_BYTES = 1024
    comm, _ = await connect()
    await send(comm, json.dumps({"type": "ping", "pad": "x" * 2000}))
    await expect_error(comm, "too_large")
    out = await comm.receive_output(timeout=2)
    assert out["type"] == "websocket.close" and out.get("code") == close_code(1009)


async def test_many_bad_frames_close_the_connection_with_1008(clean_redis, settings):
    settings.WS_MAX_BAD_FRAMES_PER_MINUTE = 3
    comm, _ = await connect()
    for _ in range(4):
        await send(comm, "garbage")
    codes = []
    while True:
        out = await comm.receive_output(timeout=2)
        if out["type"] == "websocket.close":
            assert out["code"] == close_code(1008)
            break
        codes.append(json.loads(out["text"])["code"])
    assert codes == ["bad_json"] * 4


async def test_restricted_topic_is_forbidden_to_anonymous_clients(clean_redis, settings):
    settings.WS_TOPIC_PERMISSIONS = {"signal": "authenticated"}
    comm, _ = await connect()
    await send(comm, {"type": "subscribe", "topic": "signal:vcp"})
    frame = await expect_error(comm, "forbidden")
    assert frame["topic"] == "signal:vcp"
    await subscribe(comm, "market-gate")  # other topics unaffected
    await comm.disconnect()


async def test_restricted_topic_is_allowed_to_a_logged_in_user(clean_redis, settings, client):
    settings.WS_TOPIC_PERMISSIONS = {"signal:vcp": "staff"}
    user = await sync_to_async(User.objects.create_user)("trader", password="pw-123456", is_staff=True)
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm, _ = await connect(headers=[(b"cookie", cookie), (b"origin", b"http://localhost")])
    await subscribe(comm, "signal:vcp")
    await comm.disconnect()
