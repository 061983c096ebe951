"""How many sockets a web process holds, in all and per client address (protocol.md).

The address is the ASGI scope's client: the peer, or under uvicorn the X-Forwarded-For
address when the peer is a trusted proxy (FORWARDED_ALLOW_IPS, 127.0.0.1 by default),
so a client cannot pick its own address. An IPv6 client counts by its /64 (one host is
usually handed a whole /64). A socket without a client address (a Unix socket) counts
toward the process's cap only. Counts are per web process: with W processes behind one
port an address may hold up to W times its cap.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings


def address_key(scope: dict[str, Any]) -> str | None:
    """What the per-address cap counts by, or None when the socket has no client address."""
    client = scope.get("client")
    if not client or not client[0]:
        return None
    host = str(client[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class Sockets:
    total: int = 0
    by_address: dict[str, int] = field(default_factory=dict)

    def admit(self, address: str | None) -> str | None:
        """Count a new socket in; the reason it is refused, or None when admitted."""
        if self.total >= settings.WS_MAX_CONNECTIONS:
            return f"this server holds its maximum of {settings.WS_MAX_CONNECTIONS} connections; retry later"
        if address is not None:
            held = self.by_address.get(address, 0)
            if held >= settings.WS_MAX_CONNECTIONS_PER_ADDRESS:
                return f"at most {settings.WS_MAX_CONNECTIONS_PER_ADDRESS} connections per client address"
            self.by_address[address] = held + 1
        self.total += 1
        return None

    def release(self, address: str | None) -> None:
        self.total = max(0, self.total - 1)
        if address is None:
            return
        held = self.by_address.get(address, 0) - 1
        if held > 0:
            self.by_address[address] = held
        else:
            self.by_address.pop(address, None)


# Per event loop: tests run several loops in one process, each with its own sockets.
_sockets: dict[asyncio.AbstractEventLoop, Sockets] = {}


def local_sockets() -> Sockets:
    loop = asyncio.get_running_loop()
    sockets = _sockets.get(loop)
    if sockets is None:
        for old in [lp for lp in _sockets if lp.is_closed()]:
            del _sockets[old]
        sockets = _sockets[loop] = Sockets()
    return sockets
