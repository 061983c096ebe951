"""Publishing to topics: the only code that sends to the channel layer.

`publish()` is for synchronous code (post_save receivers, tasks, management commands);
`apublish()` for async code (the price feed). Both serialise the message once; a Lua
script stamps `seq`/`epoch`, stores the frame in the topic's history and publishes it
to every web process in one Redis operation.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from redis.commands.core import AsyncScript, Script

from stockgate.realtime import history, metrics
from stockgate.realtime.redis_conn import async_client, sync_client
from stockgate.realtime.topics import group_for

log = logging.getLogger(__name__)

# The handler name consumers implement for frames coming through channel-layer groups.
LAYER_EVENT_TYPE = "broadcast.frame"

_sync_script: tuple[int, Script] | None = None
_async_scripts: dict[int, AsyncScript] = {}


def encode(message: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 text (Korean names stay readable on the wire)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _uses_layer() -> bool:
    return settings.REALTIME_FANOUT == "layer"


def _check(topic: str, message: dict[str, Any]) -> str:
    if message.get("topic") != topic:
        raise ValueError(f"message topic {message.get('topic')!r} does not match {topic!r}")
    if "seq" in message or "epoch" in message:
        raise ValueError("seq and epoch are assigned by the history store")
    return encode(message)


def publish(topic: str, message: dict[str, Any]) -> str:
    """Send `message` to every subscriber of `topic` in every web process; returns the frame."""
    global _sync_script
    body = _check(topic, message)
    client = sync_client()
    if _sync_script is None or _sync_script[0] != id(client):
        _sync_script = (id(client), client.register_script(history.PUBLISH_LUA))
    keys, args = history.publish_args(topic, body, fan_out=not _uses_layer())
    frame = _sync_script[1](keys=keys, args=args).decode()
    if _uses_layer():
        async_to_sync(get_channel_layer().group_send)(group_for(topic), {"type": LAYER_EVENT_TYPE, "topic": topic, "frame": frame})
    metrics.BROADCASTS.labels(kind=topic.split(":")[0]).inc()
    return frame


async def apublish(topic: str, message: dict[str, Any]) -> str:
    body = _check(topic, message)
    client = async_client()
    script = _async_scripts.get(id(client))
    if script is None:
        script = _async_scripts[id(client)] = client.register_script(history.PUBLISH_LUA)
    keys, args = history.publish_args(topic, body, fan_out=not _uses_layer())
    frame = (await script(keys=keys, args=args)).decode()
    if _uses_layer():
        await get_channel_layer().group_send(group_for(topic), {"type": LAYER_EVENT_TYPE, "topic": topic, "frame": frame})
    metrics.BROADCASTS.labels(kind=topic.split(":")[0]).inc()
    return frame


def publish_safely(topic: str, message: dict[str, Any]) -> str | None:
    """publish() for on_commit callbacks: the row is already committed, so a failed
    broadcast is logged and the next subscriber still gets the state in its snapshot."""
    try:
        return publish(topic, message)
    except Exception as exc:
        log.error("broadcast to %s failed (%s); the saved state reaches clients in their next snapshot", topic, exc)
        metrics.BROADCAST_FAILURES.labels(kind=topic.split(":")[0]).inc()
        return None
