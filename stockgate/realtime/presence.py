"""Which topics this web process has subscribers for, and the hooks that care.

The price feed registers tickers upstream only while someone watches them, and shares
its few registrations fairly between clients: it hooks `on_demand_change` and hears
(topic, client, True) when a client's first socket in this process subscribes to a topic
and (topic, client, False) when its last one leaves (marketgate/feeds/demand.py mirrors
that into Redis for every web process). A client is `client_key(scope)`: the signed-in
user, else the address, so opening more sockets never makes one client more.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from stockgate.realtime import faultlog

log = logging.getLogger(__name__)

DemandHook = Callable[[str, str, bool], Awaitable[None]]
_demand_hooks: list[DemandHook] = []
# Subscribers per topic and per (topic, client), per event loop (tests run several loops in one process).
_counts: dict[asyncio.AbstractEventLoop, dict[str, int]] = {}
_client_counts: dict[asyncio.AbstractEventLoop, dict[tuple[str, str], int]] = {}


def client_key(scope: Mapping[str, Any], fallback: str) -> str:
    """Who a socket belongs to, for fairness: the signed-in user, else its address (behind
    a proxy, the one uvicorn takes from X-Forwarded-For of a trusted proxy), else `fallback`."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    client = scope.get("client")
    if client and client[0]:
        return f"addr:{_network(client[0])}"
    return f"socket:{fallback}"


def _network(host: str) -> str:
    """An IPv4 address as is; an IPv6 address as its /64, which one subscriber usually
    holds whole (counting each of its addresses would make one client many)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a unix socket path or a name: as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def on_demand_change(hook: DemandHook) -> None:
    if hook not in _demand_hooks:
        _demand_hooks.append(hook)


def _local_counts() -> dict[str, int]:
    loop = asyncio.get_running_loop()
    counts = _counts.get(loop)
    if counts is None:
        for old in [lp for lp in _counts if lp.is_closed()]:
            del _counts[old]
            _client_counts.pop(old, None)
        counts = _counts[loop] = {}
    return counts


def _local_client_counts() -> dict[tuple[str, str], int]:
    return _client_counts.setdefault(asyncio.get_running_loop(), {})


def subscribers(topic: str) -> int:
    return _local_counts().get(topic, 0)


async def joined(topic: str, client: str = "") -> None:
    counts = _local_counts()
    counts[topic] = counts.get(topic, 0) + 1
    by_client = _local_client_counts()
    key = (topic, client)
    by_client[key] = by_client.get(key, 0) + 1
    if by_client[key] == 1:
        await _notify(topic, client, True)


async def left(topic: str, client: str = "") -> None:
    counts = _local_counts()
    remaining = counts.get(topic, 0) - 1
    if remaining > 0:
        counts[topic] = remaining
    else:
        counts.pop(topic, None)
    by_client = _local_client_counts()
    key = (topic, client)
    remaining = by_client.get(key, 0) - 1
    if remaining > 0:
        by_client[key] = remaining
        return
    by_client.pop(key, None)
    await _notify(topic, client, False)


async def _notify(topic: str, client: str, wanted: bool) -> None:
    for hook in _demand_hooks:
        try:
            await hook(topic, client, wanted)
        except Exception:
            # Redis away: one traceback a minute, not one per subscribe (faultlog.py).
            faultlog.failed("a demand hook", "the demand set is rewritten at its next renewal", level=logging.WARNING)
