"""WebSocket counts per web process, for GET /ws/stats and the broadcast log line.

Each web process counts its own open sockets and subscriptions per topic (the consumer
reports joins and leaves here) and writes them to one Redis hash, field = process, a
moment after they change and every WS_STATS_REPORT_SECONDS. /ws/stats reads the hash:
every live process and the total. A process that stops reporting drops out after three
periods (its field is deleted by the next reader).

`log_broadcast()` writes the INFO line the old gateway's operators grep for, once per
broadcast and process with the local subscriber count; price and index topics tick many
times a second, so for them at most one line per topic per WS_BROADCAST_LOG_SECONDS,
saying how many broadcasts it stands for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections import Counter
from datetime import datetime
from typing import Any

from django.conf import settings

from marketgate.calendar import KST
from stockgate.realtime.redis_conn import async_client, sync_client

log = logging.getLogger("stockgate.realtime.broadcast")

PROCESS = f"{socket.gethostname()}:{os.getpid()}"
RATE_LIMITED_PREFIXES = ("price:", "market:")

_connections = 0
_topics: Counter[str] = Counter()
_changed: asyncio.Event | None = None
_reporter: asyncio.Task[None] | None = None
_last_logged: dict[str, float] = {}
_last_seq: dict[str, int] = {}
_unlogged: Counter[str] = Counter()


def stats_key() -> str:
    return f"{settings.REALTIME_PREFIX}:wsstats"


def report_seconds() -> float:
    return float(getattr(settings, "WS_STATS_REPORT_SECONDS", 5.0))


# --- counting (called by the consumer, on the event loop) ---


def opened() -> None:
    global _connections
    _connections += 1
    _touch()


def closed() -> None:
    global _connections
    _connections = max(0, _connections - 1)
    _touch()


def joined(topic: str) -> None:
    _topics[topic] += 1
    _touch()


def left(topic: str) -> None:
    _topics[topic] -= 1
    if _topics[topic] <= 0:
        del _topics[topic]
    _touch()


def local_subscribers(topic: str) -> int:
    return _topics.get(topic, 0)


def local_stats() -> dict[str, Any]:
    return {
        "process": PROCESS,
        "connections": _connections,
        "subscriptions": sum(_topics.values()),
        "topics": dict(sorted(_topics.items())),
        "updated_at": datetime.now(KST).isoformat(timespec="milliseconds"),
    }


def _touch() -> None:
    global _changed, _reporter
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _reporter is None or _reporter.done() or _reporter.get_loop() is not loop:
        _changed = asyncio.Event()
        _reporter = loop.create_task(_report_loop(_changed))
    assert _changed is not None
    _changed.set()


async def _report_loop(changed: asyncio.Event) -> None:
    while True:
        try:
            await asyncio.wait_for(changed.wait(), timeout=report_seconds())
            await asyncio.sleep(0.1)  # one write for a burst of joins
        except TimeoutError:
            pass
        changed.clear()
        try:
            await async_client().hset(stats_key(), PROCESS, json.dumps(local_stats()))
        except Exception:
            log.debug("could not write the WebSocket stats", exc_info=True)


# --- reading (GET /ws/stats) ---


def cluster_stats(now: float | None = None) -> dict[str, Any]:
    """Every live web process's counts and their total."""
    client = sync_client()
    raw = client.hgetall(stats_key())
    now = now if now is not None else time.time()
    processes, dead = [], []
    for field, value in raw.items():
        entry = json.loads(value)
        age = now - datetime.fromisoformat(entry["updated_at"]).timestamp()
        if age > 3 * report_seconds() + 1:
            dead.append(field)
            continue
        processes.append(entry)
    if dead:
        client.hdel(stats_key(), *dead)
    processes.sort(key=lambda e: e["process"])
    topics: Counter[str] = Counter()
    for entry in processes:
        topics.update(entry["topics"])
    return {
        "processes": processes,
        "total": {
            "processes": len(processes),
            "connections": sum(e["connections"] for e in processes),
            "subscriptions": sum(topics.values()),
            "topics": dict(sorted(topics.items())),
        },
        "generated_at": datetime.now(KST).isoformat(timespec="milliseconds"),
    }


# --- the broadcast log line ---


def log_broadcast(topic: str, seq: int, subscribers: int | None = None, *, now: float | None = None) -> bool:
    """One INFO line for a broadcast this process fans out; False when rate-limited away
    (or already logged: whichever local socket reports a frame first logs it)."""
    if _last_seq.get(topic) == seq:
        return False
    _last_seq[topic] = seq
    count = local_subscribers(topic) if subscribers is None else subscribers
    if topic.startswith(RATE_LIMITED_PREFIXES):
        now = now if now is not None else time.monotonic()
        if now - _last_logged.get(topic, float("-inf")) < float(getattr(settings, "WS_BROADCAST_LOG_SECONDS", 10.0)):
            _unlogged[topic] += 1
            return False
        _last_logged[topic] = now
        skipped = _unlogged.pop(topic, 0)
        if skipped:
            log.info("broadcast topic=%s seq=%s subscribers=%d (+%d more since the last line)", topic, seq, count, skipped)
            return True
    log.info("broadcast topic=%s seq=%s subscribers=%d", topic, seq, count)
    return True
