"""Last quotes and index values: kept in Redis by the feed, read back by snapshots.

The feed writes every tick's quote to one Redis hash (cheap, shared by every web
process) and, every few seconds, the changed ones to the Quote table (bulk upsert),
which outlives Redis. Snapshots read Redis first, then the table, and always
re-judge freshness: a quote is stale once older than PRICE_FRESHNESS_SECONDS, by
its market time or by when the feed received it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from marketgate.feeds import clock
from marketgate.feeds.messages import INDEX_TOPICS, price_message
from stockgate.realtime.redis_conn import async_client
from stockgate.realtime.topics import ticker_of


def quotes_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:quotes"


def index_key() -> str:
    return f"{settings.REALTIME_PREFIX}:feed:index"


def record_is_stale(record: dict[str, Any], wall_now: datetime) -> bool:
    as_of = datetime.fromisoformat(record["as_of"])
    if not clock.is_fresh(as_of, record.get("source", ""), wall_now):
        return True
    received = record.get("received_at")
    if received is None:
        return False
    return (wall_now - datetime.fromisoformat(received)).total_seconds() > settings.PRICE_FRESHNESS_SECONDS


async def store_quotes(records: list[dict[str, Any]]) -> None:
    if records:
        mapping = {r["ticker"]: json.dumps(r, ensure_ascii=False) for r in records}
        await async_client().hset(quotes_key(), mapping=mapping)  # type: ignore[arg-type]


async def last_quote(ticker: str) -> dict[str, Any] | None:
    raw = await async_client().hget(quotes_key(), ticker)
    if raw:
        return json.loads(raw)
    return await _quote_from_table(ticker)


@database_sync_to_async
def _quote_from_table(ticker: str) -> dict[str, Any] | None:
    from marketgate.models import Quote

    row = Quote.objects.filter(ticker=ticker).first()
    if row is None:
        return None
    return {
        "ticker": row.ticker, "price": row.price, "change": row.change, "change_rate": row.change_rate,
        "volume": row.volume, "bid_price": row.bid_price, "ask_price": row.ask_price,
        "as_of": timezone.localtime(row.as_of).isoformat(), "source": row.source,
        "received_at": timezone.localtime(row.updated_at).isoformat(),
    }


@database_sync_to_async
def save_quotes_to_table(records: list[dict[str, Any]]) -> int:
    """Bulk upsert of the last quotes (one statement)."""
    from marketgate.models import Quote

    rows = [
        Quote(
            ticker=r["ticker"], price=r["price"], change=r["change"], change_rate=r["change_rate"],
            volume=r["volume"], bid_price=r["bid_price"], ask_price=r["ask_price"],
            as_of=datetime.fromisoformat(r["as_of"]), source=r["source"][:16],
        )
        for r in records
    ]
    if not rows:
        return 0
    now = timezone.now()
    for row in rows:
        row.updated_at = now  # bulk_create skips auto_now
    Quote.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["ticker"],
        update_fields=["price", "change", "change_rate", "volume", "bid_price", "ask_price", "as_of", "source", "updated_at"],
    )
    return len(rows)


async def price_snapshot(topic: str) -> dict[str, Any] | None:
    ticker = ticker_of(topic)
    if ticker is None:
        return None
    record = await last_quote(ticker)
    if record is None:
        return None
    now = timezone.localtime()
    return price_message(record, stale=record_is_stale(record, now), timestamp=now)


async def store_index(index: str, message: dict[str, Any], received_at: datetime) -> None:
    await async_client().hset(index_key(), index, json.dumps({**message, "received_at": received_at.isoformat()}, ensure_ascii=False))


async def index_snapshot(topic: str) -> dict[str, Any] | None:
    index = next((name for name, t in INDEX_TOPICS.items() if t == topic), None)
    if index is None:
        return None
    raw = await async_client().hget(index_key(), index)
    if not raw:
        return None
    message: dict[str, Any] = json.loads(raw)
    received = datetime.fromisoformat(message.pop("received_at"))
    now = timezone.localtime()
    as_of = datetime.fromisoformat(message["data"]["as_of"])
    stale = (now - received) > timedelta(seconds=settings.PRICE_FRESHNESS_SECONDS) or not clock.is_fresh(
        as_of, message.get("source", ""), now
    )
    message["data"]["stale"] = stale
    message["timestamp"] = now.isoformat(timespec="milliseconds")
    return message
