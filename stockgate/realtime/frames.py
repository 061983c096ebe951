"""Control frames and timestamps of the protocol (protocol.md)."""

from __future__ import annotations

import re
from typing import Any, Literal, TypedDict

from django.utils import timezone

from stockgate.realtime.broadcast import encode

ErrorCode = Literal[
    "bad_json",
    "bad_frame",
    "unknown_type",
    "unknown_topic",
    "too_many_subscriptions",
    "rate_limited",
    "forbidden",
    "too_large",
    "server_error",
    "too_many_connections",
]


class ErrorFrame(TypedDict, total=False):
    type: Literal["error"]
    code: ErrorCode
    message: str
    topic: str


class Since(TypedDict):
    epoch: str
    seq: int


def now_iso() -> str:
    """Server time in Asia/Seoul with its offset."""
    return timezone.localtime().isoformat()


def error(code: ErrorCode, message: str, topic: str | None = None) -> str:
    frame: ErrorFrame = {"type": "error", "code": code, "message": message}
    if topic is not None:
        frame["topic"] = topic
    return encode(dict(frame))


def control(kind: str, **fields: Any) -> str:
    return encode({"type": kind, **fields})


# An epoch as the server makes them ("1767225600-1a2b3c4d"), with room for older forms;
# anything else (a lone surrogate, control characters, a megabyte) cannot name one.
_EPOCH = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Redis and Lua hold seq as a 64-bit integer.
MAX_SEQ = 2**53


def parse_since(raw: object) -> Since | None | Literal["invalid"]:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return "invalid"
    epoch, seq = raw.get("epoch"), raw.get("seq")
    if (
        isinstance(epoch, str)
        and _EPOCH.fullmatch(epoch)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and 0 <= seq <= MAX_SEQ
    ):
        return {"epoch": epoch, "seq": seq}
    return "invalid"
