"""Publishing to topics: the only code that sends to the channel layer's groups.

`publish()` is for synchronous code (on_commit callbacks of post_save/post_delete
receivers, tasks, management commands); `apublish()` for async code (the price feed).
Both serialise the message once; a Lua script stamps `seq`/`epoch` and keeps the
frame in the topic's sequence (sequence.py); then `group_send` hands the stamped frame
to the topic's group, and every subscribed consumer's `realtime_frame` handler gets it.

Synchronous publishers run group_send on one background event loop per process:
async_to_sync would make a new loop per call, and with it a new channel-layer
connection to open and close (about 10 ms a broadcast on a busy machine).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer
from redis.commands.core import AsyncScript, Script

from stockgate.realtime import metrics, redis_conn, sequence
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
        raise ValueError("seq and epoch are assigned by the sequence store")
    return encode(message)


def frame_event(topic: str, frame: str) -> dict[str, Any]:
    """The group message of a stamped frame; seq/epoch ride along so no consumer parses the frame."""
    seq, epoch = sequence.parse_stamp(frame)
    return {"type": FRAME_EVENT, "topic": topic, "seq": seq, "epoch": epoch, "frame": frame}


def _stamp(topic: str, message: dict[str, Any]) -> str:
    global _sync_script
    body = _check(topic, message)
    client = sync_client()
    if _sync_script is None or _sync_script[0] != id(client):
        _sync_script = (id(client), client.register_script(sequence.PUBLISH_LUA))
    keys, args = sequence.publish_args(topic, body)
    return _sync_script[1](keys=keys, args=args).decode()


# A group_send that takes longer than this is given up (Redis unreachable).
SYNC_SEND_TIMEOUT = 10.0


class _PublishingLoop:
    """One event loop thread per process for synchronous publishers (see the module doc)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.owner: tuple[int, int] = (0, -1)  # (pid, redis_conn.generation) it was started for

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        with self.lock:
            owner = (os.getpid(), redis_conn.generation)
            if self.loop is None or self.owner != owner or self.loop.is_closed():
                self._replace(owner)
            loop = self.loop
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(coro, loop).result(SYNC_SEND_TIMEOUT)

    def _replace(self, owner: tuple[int, int]) -> None:
        old = self.loop
        if old is not None and self.owner[0] == owner[0]:
            old.call_soon_threadsafe(old.stop)  # same process, Redis clients reset: start afresh
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="broadcast-publisher", daemon=True).start()
        self.loop, self.owner = loop, owner


_publishing_loop = _PublishingLoop()


def publish(topic: str, message: dict[str, Any]) -> str:
    """Send `message` to every subscriber of `topic` in every web process; returns the frame."""
    frame = _stamp(topic, message)
    _publishing_loop.run(get_channel_layer().group_send(group_for(topic), frame_event(topic, frame)))
    metrics.BROADCASTS.labels(kind=topic.split(":")[0]).inc()
    return frame


async def apublish(topic: str, message: dict[str, Any]) -> str:
    body = _check(topic, message)
    client = async_client()
    script = _async_scripts.get(id(client))
    if script is None:
        script = _async_scripts[id(client)] = client.register_script(sequence.PUBLISH_LUA)
    keys, args = sequence.publish_args(topic, body)
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


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """A control message (not a topic frame) to every consumer in `group`, from sync code."""
    _publishing_loop.run(get_channel_layer().group_send(group, message))
