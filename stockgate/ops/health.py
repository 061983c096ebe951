"""Readiness: every dependency checked for real, one report, one verdict.

`/readyz` and `manage.py check_health` share `readiness()`. Each check returns
(ok, detail); a check that raises is a failure carrying the exception text. The apps'
own checks (gate freshness, price feed) are named by dotted path in
settings.HEALTH_CHECKS, so this module imports no app.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

CheckFn = Callable[[datetime], tuple[bool, dict[str, Any]]]


class Report(TypedDict):
    status: str  # "ok" | "fail"
    failing: list[str]
    checks: dict[str, dict[str, Any]]
    version: str
    commit: str
    checked_at: str


def check_database(now: datetime) -> tuple[bool, dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, {"vendor": connection.vendor}


@lru_cache(maxsize=1)
def _probe_client() -> redis.Redis:
    # Short timeouts of its own: a health probe must answer even when Redis hangs.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def check_redis(now: datetime) -> tuple[bool, dict[str, Any]]:
    return bool(_probe_client().ping()), {}


def check_scheduler(now: datetime) -> tuple[bool, dict[str, Any]]:
    """Beat alive and no periodic task late (the watchdog's verdict)."""
    from stockgate.ops.watchdog import watchdog_state

    state = watchdog_state(now)
    detail: dict[str, Any] = {"beat": state["beat"], "late": state["late"]}
    if not state["beat"]["alive"]:
        detail["error"] = "beat has not ticked within its limit"
    elif state["late"]:
        detail["error"] = "late periodic tasks: " + ", ".join(state["late"])
    return not state["scheduler_late"], detail


async def check_channel_layer() -> tuple[bool, dict[str, Any]]:
    """A group_send through Redis back to this process, delivered the way broadcasts are:
    to a channel in a group, handed to its attached dispatch by the layer."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return False, {"error": "no channel layer configured"}
    attach = getattr(layer, "attach", None)
    started = time.perf_counter()
    channel = await layer.new_channel("health.")
    group = f"health.{uuid.uuid4().hex}"
    arrived: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def dispatch(message: dict[str, Any]) -> None:
        if not arrived.done():
            arrived.set_result(message)

    if attach is not None:
        attach(channel, dispatch)
    try:
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "health.ping", "sent": started})
        waiting = arrived if attach is not None else layer.receive(channel)
        message = await asyncio.wait_for(waiting, settings.HEALTH_TIMEOUT_SECONDS)
    finally:
        await layer.group_discard(group, channel)
        if attach is not None:
            layer.detach(channel)
        await _forget_channel(layer, channel)
    ok = message.get("sent") == started
    path = "group_send, attached dispatch" if attach is not None else "group_send, receive"
    return ok, {"round_trip_ms": round((time.perf_counter() - started) * 1000, 2), "path": path}


async def _forget_channel(layer: Any, channel: str) -> None:
    # The pub/sub layer unsubscribes a channel when a receive on it is cancelled
    # (its documented cleanup path); without this every probe would leak a subscription.
    pending = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    pending.cancel()
    try:
        await pending
    except (asyncio.CancelledError, Exception):
        pass


@lru_cache(maxsize=1)
def commit() -> str:
    """The deployed commit: STOCKGATE_COMMIT (set at image build), else read from .git."""
    if settings.STOCKGATE_COMMIT:
        return settings.STOCKGATE_COMMIT
    git = Path(settings.BASE_DIR) / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            if ref_file.exists():
                return ref_file.read_text().strip()[:12]
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:12]
            return "unknown"
        return head[:12]
    except OSError:
        return "unknown"


def _sync_checks() -> dict[str, CheckFn]:
    checks: dict[str, CheckFn] = {
        "database": check_database,
        "redis": check_redis,
        "scheduler": check_scheduler,
    }
    for name, path in settings.HEALTH_CHECKS.items():
        checks[name] = import_string(path)
    return checks


def _run(name: str, fn: CheckFn, now: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok, detail = fn(now)
    except Exception as exc:
        log.warning("health check %s failed: %s", name, exc)
        ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if name == "database" or "database" in str(type(exc)).lower():
            connection.close_if_unusable_or_obsolete()
    return {"ok": ok, **detail, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _run_sync_checks(now: datetime, only: set[str] | None) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, fn in _sync_checks().items():
        if only is None or name in only:
            results[name] = _run(name, fn, now)
    return results


async def _run_layer_check() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        ok, detail = await asyncio.wait_for(check_channel_layer(), settings.HEALTH_TIMEOUT_SECONDS + 1)
    except Exception as exc:
        ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"[:500] or "timeout"}
    return {"ok": ok, **detail, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _report(results: dict[str, dict[str, Any]], now: datetime) -> Report:
    failing = sorted(name for name, result in results.items() if not result["ok"])
    return {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": results,
        "version": settings.VERSION,
        "commit": commit(),
        "checked_at": timezone.localtime(now).isoformat(),
    }


async def areadiness(only: set[str] | None = None) -> Report:
    now = timezone.now()
    sync_part = sync_to_async(_run_sync_checks)(now, only)
    if only is None or "channel_layer" in only:
        results, layer = await asyncio.gather(sync_part, _run_layer_check())
        results["channel_layer"] = layer
    else:
        results = await sync_part
    return _report(results, now)


def readiness(only: set[str] | None = None) -> Report:
    """The same report from synchronous code (the management command)."""
    return async_to_sync(areadiness)(only)
