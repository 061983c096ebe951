"""The fast frame path: the one place that touches uvicorn's and Channels' private objects.

Under uvicorn's `websockets-sansio` protocol (the Procfile's server) a writable socket
without compression gets a frame's wire bytes written straight to its transport: an
unmasked server frame is the same bytes for every socket, so it is built once per
broadcast, not once per socket. Frames also skip Channels' session middleware wrapper,
which only acts on HTTP responses but reads the lazy session twice per frame.

Everything else (daphne, uvicorn's other protocols, compression, a paused transport)
takes the ASGI send. Entry point: `outlet(send)`; `Outlet.direct` says which path a
socket is on (the `stockgate_ws_direct_sockets` gauge counts them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from channels.sessions import InstanceSessionWrapper
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # uvicorn without websockets: the ASGI send only
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Outlet:
    """Where one socket's frames go: its server's ASGI send, and the transport when allowed."""

    __slots__ = ("send", "_proto")

    def __init__(self, send: Send, proto: Any) -> None:
        self.send = send
        self._proto = proto

    @property
    def direct(self) -> bool:
        return self._proto is not None

    def write_now(self, frame: str) -> bool:
        """Write `frame` to the transport at once; False when the ASGI send must take it."""
        proto = self._proto
        if (
            proto is None
            or not proto.writable.is_set()  # paused: what uvicorn's send would wait for
            or proto.close_sent
            or proto.disconnected
            or proto.conn.state is not State.OPEN
        ):
            return False
        proto.transport.write(wire_text(frame))
        return True


def outlet(send: Send) -> Outlet:
    """The outlet of a consumer's `base_send` (call once the socket is accepted)."""
    send = _below_session_wrapper(send)
    return Outlet(send, _sansio_protocol(send))


def _below_session_wrapper(send: Send) -> Send:
    owner = getattr(send, "__self__", None)
    while isinstance(owner, InstanceSessionWrapper):
        send = owner.real_send
        owner = getattr(send, "__self__", None)
    return send


def _sansio_protocol(send: Send) -> Any:
    proto = getattr(send, "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(proto, WebSocketsSansIOProtocol):
        return None
    conn = getattr(proto, "conn", None)
    if conn is None or conn.extensions or not getattr(proto, "handshake_complete", False):
        return None  # compression (per-socket bytes) or not yet open: the ASGI send
    return proto


_last_text: str | None = None
_last_wire = b""


def wire_text(frame: str) -> bytes:
    """The unmasked WebSocket text frame of `frame` (RFC 6455 5.2).

    A broadcast hands the same str object to every socket, so the last one is kept and
    reused by identity: one encoding per broadcast, whatever the number of sockets.
    """
    global _last_text, _last_wire
    if frame is _last_text:
        return _last_wire
    payload = frame.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = b"\x81\x7e" + n.to_bytes(2, "big")
    else:
        header = b"\x81\x7f" + n.to_bytes(8, "big")
    _last_text, _last_wire = frame, header + payload
    return _last_wire
