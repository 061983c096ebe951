"""The channel layer (stockgate/realtime/layer.py) on the real Redis: group messages reach
attached consumers once per process, in order, and nothing one member or one message
does stops delivery to the others."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from stockgate.realtime.layer import BroadcastChannelLayer

GROUP = "layer-test"


def group_channel() -> str:
    return f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}__group__{GROUP}"


class Member:
    def __init__(self, layer: Any, *, fails: bool = False) -> None:
        self.layer = layer
        self.fails = fails
        self.got: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def join(self) -> str:
        self.channel = await self.layer.new_channel()
        self.layer.attach(self.channel, self.dispatch)
        await self.layer.group_add(GROUP, self.channel)
        return self.channel

    async def dispatch(self, message: dict[str, Any]) -> None:
        if self.fails:
            raise RuntimeError("this socket is broken")
        self.got.append(message)
        self.arrived.set()


async def wait_for(members: list[Member], count: int, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    for member in members:
        while len(member.got) < count:
            member.arrived.clear()
            await asyncio.wait_for(member.arrived.wait(), max(0.01, deadline - asyncio.get_running_loop().time()))


@pytest.fixture
async def layer(clean_redis) -> Any:  # type: ignore[no-untyped-def]
    layer = get_channel_layer()
    assert isinstance(layer, BroadcastChannelLayer)
    yield layer
    await layer.flush()


async def test_the_configured_layer_is_a_channels_redis_pubsub_layer(layer: Any) -> None:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    assert isinstance(layer, RedisPubSubChannelLayer)


async def test_a_member_that_raises_does_not_stop_delivery_to_the_others(layer: Any, redis_server: Any) -> None:
    before = Member(layer)
    broken = Member(layer, fails=True)
    after = Member(layer)
    for member in (before, broken, after):
        await member.join()
    await layer.group_send(GROUP, {"type": "realtime.frame", "n": 1})
    await layer.group_send(GROUP, {"type": "realtime.frame", "n": 2})
    await wait_for([before, after], 2)
    assert [m["n"] for m in before.got] == [1, 2] and [m["n"] for m in after.got] == [1, 2]


async def test_a_malformed_message_on_a_group_channel_does_not_kill_the_reader(layer: Any, redis_server: Any) -> None:
    member = Member(layer)
    await member.join()
    # What a stray publisher could put on the group's Redis channel: not msgpack, a
    # msgpack list, a message without a type.
    for garbage in (b"\xc1\xff not msgpack", b"\x93\x01\x02\x03", b"\x81\xa1x\x01"):
        assert redis_server.publish(group_channel(), garbage) == 1
    await layer.group_send(GROUP, {"type": "realtime.frame", "n": 3})
    await wait_for([member], 1)
    assert member.got == [{"type": "realtime.frame", "n": 3}]  # only the good message, and it arrived


async def test_a_handler_that_suspends_keeps_the_order_of_later_messages(layer: Any) -> None:
    seen: list[int] = []
    release = asyncio.Event()

    async def dispatch(message: dict[str, Any]) -> None:
        if message["n"] == 1:
            await release.wait()  # the first handler waits; the next messages must queue behind it
        seen.append(message["n"])

    channel = await layer.new_channel()
    layer.attach(channel, dispatch)
    await layer.group_add(GROUP, channel)
    for n in (1, 2, 3):
        await layer.group_send(GROUP, {"type": "realtime.frame", "n": n})
    await asyncio.sleep(0.3)
    assert seen == []
    release.set()
    for _ in range(100):
        if len(seen) == 3:
            break
        await asyncio.sleep(0.02)
    assert seen == [1, 2, 3]


async def test_channels_that_are_not_attached_still_receive_through_receive(layer: Any) -> None:
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    await layer.group_send(GROUP, {"type": "realtime.frame", "n": 4})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "realtime.frame", "n": 4}


async def test_a_consumers_own_channel_costs_no_redis_subscription_and_still_gets_what_is_sent_to_it(
    layer: Any, redis_server: Any
) -> None:
    """Sockets' own channels share one pattern subscription per process: a handshake sends
    no SUBSCRIBE, and a message sent to the channel from another process still arrives."""
    channels = [await layer.new_channel() for _ in range(50)]
    assert all(n == 0 for _, n in redis_server.pubsub_numsub(*channels))
    # One subscriber in Redis gets a message published to any of them: this process's pattern.
    assert redis_server.publish(channels[3], layer.serialize({"type": "direct.note", "n": 3})) == 1
    assert await asyncio.wait_for(layer.receive(channels[3]), 5) == {"type": "direct.note", "n": 3}
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    elsewhere = BroadcastChannelLayer(**config)  # another process's layer
    try:
        await elsewhere.send(channels[7], {"type": "direct.note", "n": 7})
        assert await asyncio.wait_for(layer.receive(channels[7]), 5) == {"type": "direct.note", "n": 7}
    finally:
        await elsewhere.flush()
