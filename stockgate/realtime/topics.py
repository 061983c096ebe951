"""Topics of the WebSocket protocol and the one mapping from topic to group name.

Channels group names allow only [A-Za-z0-9._-] and fewer than 100 characters, so a
topic (which contains ':') is never used as a group name directly.
"""

from __future__ import annotations

import re
from typing import Final

MARKET_GATE: Final = "market-gate"
SIGNAL_VCP: Final = "signal:vcp"
MARKET_KOSPI: Final = "market:kospi"
MARKET_KOSDAQ: Final = "market:kosdaq"
# Operations state (the scheduler watchdog): `ops_update` frames for the dashboard banner.
OPS: Final = "ops"

_FIXED_TOPICS: Final = frozenset({MARKET_GATE, SIGNAL_VCP, MARKET_KOSPI, MARKET_KOSDAQ, OPS})
_PRICE = re.compile(r"price:(?P<ticker>[0-9][0-9A-Z]{5})")
_GROUP_OK = re.compile(r"[A-Za-z0-9._-]{1,99}")

# What `connected` advertises: the patterns a client may subscribe to.
KNOWN_TOPIC_PATTERNS: Final = (MARKET_GATE, SIGNAL_VCP, "price:{ticker}", MARKET_KOSPI, MARKET_KOSDAQ)


def is_valid_topic(topic: object) -> bool:
    if not isinstance(topic, str):
        return False
    return topic in _FIXED_TOPICS or _PRICE.fullmatch(topic) is not None


def price_topic(ticker: str) -> str:
    topic = f"price:{ticker}"
    if not is_valid_topic(topic):
        raise ValueError(f"not a KRX ticker: {ticker!r}")
    return topic


def ticker_of(topic: str) -> str | None:
    match = _PRICE.fullmatch(topic)
    return match.group("ticker") if match else None


def topic_kind(topic: str) -> str:
    """'market-gate', 'signal', 'price' or 'market' — the key snapshot providers register under."""
    if topic == MARKET_GATE:
        return "market-gate"
    return topic.split(":", 1)[0]


def group_for(topic: str) -> str:
    """The channel-layer group name of a topic: `price:005930` -> `price.005930`."""
    if not is_valid_topic(topic):
        raise ValueError(f"unknown topic: {topic!r}")
    group = topic.replace(":", ".")
    assert _GROUP_OK.fullmatch(group), group
    return group
