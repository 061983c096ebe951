"""Intraday bars: store the feed's completed 1-minute bars; complete the daily bar at the close.

The periodic task that runs this is marketgate.tasks.store_intraday_bars.

The price feed folds ticks into 1-minute bars (marketgate.feeds.bars) and queues each
completed bar in Redis; this task takes the queue in one atomic step and upserts the
bars in one statement. A bar is complete when written, so a re-delivered bar (the
demo's looping session, a retried task) replaces the row rather than adding to it.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Min

from marketgate import calendar
from marketgate.data import bulk
from marketgate.feeds import clock
from marketgate.feeds.bars import MinuteBar
from marketgate.feeds.quotes import quotes_key
from marketgate.feeds.supervisor import bars_key
from marketgate.models import DailyBar, Instrument, IntradayBar
from stockgate.realtime.redis_conn import sync_client

log = logging.getLogger(__name__)

BATCH = 50_000


def take_pending_bars(limit: int = BATCH) -> list[MinuteBar]:
    pipe = sync_client().pipeline(transaction=True)
    pipe.lrange(bars_key(), 0, limit - 1)
    pipe.ltrim(bars_key(), limit, -1)
    raw, _ = pipe.execute()
    return [MinuteBar.from_json(json.loads(item)) for item in raw]


def store_bars(bars: list[MinuteBar]) -> int:
    """Upsert bars (one statement); the last bar of a (ticker, minute) wins."""
    latest: dict[tuple[str, datetime], MinuteBar] = {}
    for bar in bars:
        latest[(bar.ticker, bar.minute)] = bar
    rows = [
        IntradayBar(
            ticker=b.ticker, minute=b.minute, session_date=b.session_date, open=b.open, high=b.high,
            low=b.low, close=b.close, volume=b.volume, ticks=b.ticks,
        )
        for b in latest.values()
    ]
    if rows:
        IntradayBar.objects.bulk_create(
            rows, batch_size=5_000, update_conflicts=True, unique_fields=["ticker", "minute"],
            update_fields=["session_date", "open", "high", "low", "close", "volume", "ticks"],
        )
    return len(rows)


def _closed_sessions(records: list[dict[str, Any]], wall_now: datetime) -> dict[date, list[dict[str, Any]]]:
    """Last quotes grouped by session date, for sessions that have closed."""
    out: dict[date, list[dict[str, Any]]] = {}
    for record in records:
        source = record.get("source", "")
        if source == "demo" and settings.DEMO_CLOCK == "accelerated":
            continue  # the simulated session loops and never closes: the demo provider owns its bars
        as_of = datetime.fromisoformat(record["as_of"])
        day = calendar.kst_date(as_of)
        hours = calendar.session_hours(day)
        if hours is None or clock.market_now(wall_now, source) < hours[1]:
            continue
        out.setdefault(day, []).append(record)
    return out


def complete_daily_bars(wall_now: datetime) -> int:
    """After the close, the day's bar of every fed ticker (once per session).

    Open/high/low come from the feed's day fields when it has them, else from the
    stored minute bars; close and volume from the last quote. An existing bar (the
    official ingest) is left alone.
    """
    client = sync_client()
    records = [json.loads(v) for v in client.hvals(quotes_key())]
    written = 0
    for day, day_records in _closed_sessions(records, wall_now).items():
        done_key = f"{settings.REALTIME_PREFIX}:feed:daily-done:{day.isoformat()}"
        if client.exists(done_key):
            continue
        known = set(Instrument.objects.filter(ticker__in=[r["ticker"] for r in day_records]).values_list("ticker", flat=True))
        minute_stats = {
            row["ticker"]: row
            for row in IntradayBar.objects.filter(session_date=day, ticker__in=known)
            .values("ticker")
            .annotate(high=Max("high"), low=Min("low"), first=Min("minute"))
        }
        rows = []
        for r in day_records:
            if r["ticker"] not in known:
                continue
            stats = minute_stats.get(r["ticker"])
            first_open = None
            if stats is not None:
                first_open = IntradayBar.objects.filter(ticker=r["ticker"], minute=stats["first"]).values_list("open", flat=True).first()
            price = float(r["price"])
            opens = r.get("day_open") or first_open or price
            high = max(x for x in (r.get("day_high"), stats and stats["high"], price) if x)
            low = min(x for x in (r.get("day_low"), stats and stats["low"], price) if x)
            rows.append(DailyBar(instrument_id=r["ticker"], date=day, open=opens, high=high, low=low, close=price, volume=int(r["volume"])))
        with bulk.bar_dates([day]):
            DailyBar.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
        client.set(done_key, "1", ex=int(timedelta(days=3).total_seconds()))
    return written


def requeue_bars(bars: list[MinuteBar]) -> None:
    """Put bars back at the head of the queue, in order, for the next run."""
    if bars:
        sync_client().lpush(bars_key(), *[json.dumps(b.to_json()) for b in reversed(bars)])
