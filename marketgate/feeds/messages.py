"""price_update and index_update messages (protocol.md, fixed shapes). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from marketgate.feeds.base import Tick

INDEX_CODES = {"KOSPI": "001", "KOSDAQ": "201"}
INDEX_TOPICS = {"KOSPI": "market:kospi", "KOSDAQ": "market:kosdaq"}


class PriceData(TypedDict):
    price: int
    change: int
    change_rate: float
    volume: int
    bid_price: int | None
    ask_price: int | None
    as_of: str
    stale: bool


def quote_record(tick: Tick, received_at: datetime) -> dict[str, Any]:
    """What the feed keeps as a ticker's last quote (Redis, then the Quote table)."""
    return {
        "ticker": tick.ticker,
        "price": tick.price,
        "change": tick.change,
        "change_rate": float(tick.change_rate),
        "volume": tick.volume,
        "bid_price": tick.bid,
        "ask_price": tick.ask,
        "as_of": tick.as_of.isoformat(),
        "source": tick.source,
        "received_at": received_at.isoformat(),
        "day_open": tick.day_open,
        "day_high": tick.day_high,
        "day_low": tick.day_low,
    }


def price_message(record: dict[str, Any], *, stale: bool, timestamp: datetime) -> dict[str, Any]:
    ticker = record["ticker"]
    data: PriceData = {
        "price": int(record["price"]),
        "change": int(record["change"]),
        "change_rate": float(record["change_rate"]),
        "volume": int(record["volume"]),
        "bid_price": record.get("bid_price"),
        "ask_price": record.get("ask_price"),
        "as_of": record["as_of"],
        "stale": stale,
    }
    return {
        "type": "price_update",
        "topic": f"price:{ticker}",
        "ticker": ticker,
        "data": dict(data),
        "timestamp": timestamp.isoformat(timespec="milliseconds"),
        "source": record.get("source", ""),
    }


def index_message(
    index: str, value: float, change: float, change_rate: float, volume: float | None, as_of: datetime,
    *, stale: bool, timestamp: datetime, source: str,
) -> dict[str, Any]:
    return {
        "type": "index_update",
        "topic": INDEX_TOPICS[index],
        "code": INDEX_CODES[index],
        "name": index,
        "data": {
            "index": float(value),
            "change": float(change),
            "change_rate": float(change_rate),
            "volume": None if volume is None else round(volume),
            "as_of": as_of.isoformat(),
            "stale": stale,
        },
        "timestamp": timestamp.isoformat(timespec="milliseconds"),
        "source": source,
    }
