"""Control frames and timestamps of the protocol (protocol.md)."""

from __future__ import annotations

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


def parse_since(raw: object) -> Since | None | Literal["invalid"]:
    if raw is None:
        return None
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("epoch"), str)
        and isinstance(raw.get("seq"), int)
        and not isinstance(raw.get("seq"), bool)
        and raw["seq"] >= 0
    ):
        return {"epoch": raw["epoch"], "seq": raw["seq"]}
    return "invalid"
