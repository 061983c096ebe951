"""Publishing to topics: the only code that sends to the channel layer's groups.

`publish()` is for synchronous code (on_commit callbacks of post_save/post_delete
receivers, tasks, management commands); `apublish()` for async code (the price feed).
Both serialise the message once; a Lua script stamps `seq`/`epoch` and keeps the
frame in the topic's history (history.py); then `group_send` hands the stamped frame
to the topic's group, and every subscribed consumer's `realtime_frame` handler gets it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.commands.core import AsyncScript, Script

from stockgate.realtime import history, metrics
from stockgate.realtime.redis_conn import async_client, sync_client
from stockgate.realtime.topics import group_for

log = logging.getLogger(__name__)

# The message type of a broadcast frame; consumers handle it in `realtime_frame`.
FRAME_EVENT = "realtime.frame"

_sync_script: tuple[int, Script] | None = None
_async_scripts: dict[int, AsyncScript] = {}


def encode(message: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 text (Korean names stay readable on the wire)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _check(topic: str, message: dict[str, Any]) -> str:
    if message.get("topic") != topic:
        raise ValueError(f"message topic {message.get('topic')!r} does not match {topic!r}")
    if "seq" in message or "epoch" in message:
        raise ValueError("seq and epoch are assigned by the history store")
    return encode(message)


def frame_event(topic: str, frame: str) -> dict[str, Any]:
    """The group message of a stamped frame; seq/epoch ride along so no consumer parses the frame."""
    seq, epoch = history.parse_stamp(frame)
    return {"type": FRAME_EVENT, "topic": topic, "seq": seq, "epoch": epoch, "frame": frame}


def _stamp(topic: str, message: dict[str, Any]) -> str:
    global _sync_script
    body = _check(topic, message)
    client = sync_client()
    if _sync_script is None or _sync_script[0] != id(client):
        _sync_script = (id(client), client.register_script(history.PUBLISH_LUA))
    keys, args = history.publish_args(topic, body)
    return _sync_script[1](keys=keys, args=args).decode()


def publish(topic: str, message: dict[str, Any]) -> str:
    """Send `message` to every subscriber of `topic` in every web process; returns the frame."""
    frame = _stamp(topic, message)
    async_to_sync(get_channel_layer().group_send)(group_for(topic), frame_event(topic, frame))
    metrics.BROADCASTS.labels(kind=topic.split(":")[0]).inc()
    return frame


async def apublish(topic: str, message: dict[str, Any]) -> str:
    body = _check(topic, message)
    client = async_client()
    script = _async_scripts.get(id(client))
    if script is None:
        script = _async_scripts[id(client)] = client.register_script(history.PUBLISH_LUA)
    keys, args = history.publish_args(topic, body)
    frame = (await script(keys=keys, args=args)).decode()
    await get_channel_layer().group_send(group_for(topic), frame_event(topic, frame))
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
