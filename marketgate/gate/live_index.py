"""The index values the gate may call live: what the price feed published, else the
provider's own live index, else nothing (the gate then stands on the previous close).

The feed keeps its newest `index_update` per index in Redis (feeds/quotes.py); a value
counts only when it is fresh (PRICE_FRESHNESS_SECONDS, in wall time, by its own as_of
and by when the feed received it) and belongs to the session being gated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from marketgate import calendar
from marketgate.data.providers.base import IndexName, MarketDataProvider

log = logging.getLogger(__name__)

INDICES: tuple[IndexName, ...] = ("KOSPI", "KOSDAQ")


@dataclass(frozen=True)
class LiveValue:
    index: str
    value: float
    volume: float | None
    as_of: datetime
    origin: str  # "feed" or "provider"
    source: str  # the feed's or provider's name


def from_feed(index: str, wall_now: datetime, session: date) -> LiveValue | None:
    """The feed's newest value of `index`, when fresh and of `session`; None otherwise
    (no feed, Redis down, a value from another day: never guessed)."""
    from marketgate.feeds import clock
    from marketgate.feeds.quotes import index_key
    from stockgate.realtime.redis_conn import sync_client

    try:
        raw = sync_client().hget(index_key(), index)
    except Exception:
        log.warning("gate: could not read the feed's %s value", index, exc_info=True)
        return None
    if not raw:
        return None
    try:
        message = json.loads(raw)
        data = message["data"]
        value, as_of = float(data["index"]), datetime.fromisoformat(data["as_of"])
        received = datetime.fromisoformat(message["received_at"])
        volume = None if data.get("volume") is None else float(data["volume"])
        source = str(message.get("source", ""))
    except (ValueError, KeyError, TypeError):
        log.warning("gate: the feed's %s value is malformed: %r", index, raw[:200])
        return None
    fresh = clock.is_fresh(as_of, source, wall_now) and (
        (wall_now - received).total_seconds() <= settings.PRICE_FRESHNESS_SECONDS)
    if not fresh or calendar.kst_date(as_of) != session or value <= 0:
        return None
    return LiveValue(index, value, volume, as_of, "feed", source)


def from_provider(provider: MarketDataProvider, index: IndexName, wall_now: datetime,
                  session: date) -> LiveValue | None:
    quote = provider.live_index(index, wall_now)
    if quote is None or quote.value <= 0 or calendar.kst_date(quote.as_of) != session:
        return None
    return LiveValue(index, quote.value, quote.volume, quote.as_of, "provider", provider.name)


def live_values(provider: MarketDataProvider, wall_now: datetime, session: date) -> dict[str, LiveValue]:
    """Both indices from one origin: the feed when it has both, else the provider when it
    has both, else none: a gate half live and half yesterday's would be neither."""
    feed = {name: v for name in INDICES if (v := from_feed(name, wall_now, session)) is not None}
    if len(feed) == len(INDICES):
        return feed
    own = {name: v for name in INDICES if (v := from_provider(provider, name, wall_now, session)) is not None}
    return own if len(own) == len(INDICES) else {}
