"""The feed process's state, for health checks: a Redis key with a TTL.

Only the lock holder writes it. A feed that dies stops renewing the key and
`feed_state()` reports "down" once it has expired.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, TypedDict

from django.conf import settings

State = Literal["connected", "reconnecting", "down"]
STATE_TTL_SECONDS = 20


class FeedStateDict(TypedDict, total=False):
    state: State
    source: str
    since: str | None  # when the state began
    last_tick_at: str | None  # wall time of the last tick received
    last_tick_as_of: str | None  # market time of that tick
    registered: int
    unserved: int  # tickers the fairness rule ranks that do not fit the registration limit
    attempt: int  # reconnect attempt, 0 while connected
    holder: str
    updated_at: str


def state_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:state"


def encode_state(state: FeedStateDict) -> str:
    return json.dumps(state, ensure_ascii=False)


def decode_state(raw: bytes | str | None) -> FeedStateDict:
    if not raw:
        return {"state": "down", "since": None, "last_tick_at": None}
    data: dict[str, Any] = json.loads(raw)
    return data  # type: ignore[return-value]


def feed_state() -> dict[str, Any]:
    """The price feed's state as the feed last published it; "down" when nothing
    publishes it. For /readyz and ops; synchronous (a single GET)."""
    from stockgate.realtime.redis_conn import sync_client

    try:
        raw = sync_client().get(state_key())
    except Exception as exc:
        return {"state": "down", "since": None, "last_tick_at": None, "error": f"redis: {exc}"}
    return dict(decode_state(raw))


async def afeed_state() -> dict[str, Any]:
    from stockgate.realtime.redis_conn import async_client

    return dict(decode_state(await async_client().get(state_key())))


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
