"""Bulk upserts of market data: the one place that writes bars in bulk.

Used by the CSV importers and by provider ingest. On PostgreSQL daily bars go through
COPY into a temporary table and one INSERT ... ON CONFLICT DO UPDATE per batch (a
million rows in seconds); elsewhere (SQLite in the embedded run) through
bulk_create(update_conflicts=True). Either way a re-import updates rows, never
duplicates them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from django.db import IntegrityError, connections, transaction

from marketgate.models import BreadthDay, DailyBar, IndexBar, Instrument

BAR_FIELDS = ("date", "open", "high", "low", "close", "volume", "traded_value", "halted")
ORM_BATCH = 5_000


def _bar_columns() -> tuple[str, str, list[str]]:
    table = DailyBar._meta.db_table
    ticker_column = DailyBar._meta.get_field("instrument").column
    return table, ticker_column, [DailyBar._meta.get_field(f).column for f in BAR_FIELDS]


def upsert_daily_bars(frame: pd.DataFrame, *, using: str = "default", method: str | None = None) -> int:
    """Insert or update bars (columns ticker, BAR_FIELDS).

    `method` is "copy" (PostgreSQL only) or "orm"; by default COPY on PostgreSQL.
    Instruments must exist (see ensure_instruments). Returns the rows written.
    """
    if frame.empty:
        return 0
    # One statement may not touch a row twice; the last of duplicates wins.
    frame = frame.drop_duplicates(["ticker", "date"], keep="last")
    connection = connections[using]
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy":
        return _copy_upsert_bars(frame, using)
    return _orm_upsert_bars(frame, using)


def _copy_upsert_bars(frame: pd.DataFrame, using: str) -> int:
    table, ticker_column, columns = _bar_columns()
    all_columns = [ticker_column, *columns]
    data = frame[["ticker", *BAR_FIELDS]].to_csv(index=False, header=False)
    quoted = ", ".join(f'"{c}"' for c in all_columns)
    changing = [c for c in columns if c != "date"]
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in changing)
    old = ", ".join(f'"{table}"."{c}"' for c in changing)
    new = ", ".join(f'EXCLUDED."{c}"' for c in changing)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # Lives for the session, emptied at every commit; created once per connection.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_dailybar (ticker varchar(6), date date, open float8,"
            " high float8, low float8, close float8, volume bigint, traded_value bigint, halted boolean)"
            " ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE import_dailybar")
        with cursor.cursor.copy("COPY import_dailybar FROM STDIN (FORMAT csv)") as copy:
            copy.write(data)
        insert = (
            f'INSERT INTO "{table}" ({quoted}) '
            "SELECT ticker, date, open, high, low, close, volume, traded_value, halted FROM import_dailybar"
        )
        if not _any_stored(cursor, table, ticker_column, frame):
            # Nothing of this batch is stored yet (a first import): a plain INSERT skips
            # the speculative-insertion cost of ON CONFLICT (about a third faster).
            try:
                with transaction.atomic(using=using):
                    cursor.execute(insert)
                    return cursor.rowcount
            except IntegrityError:
                pass  # another writer stored some of these meanwhile: upsert below
        cursor.execute(
            f'{insert} ON CONFLICT ("{ticker_column}", "date") DO UPDATE SET {updates} '
            # An unchanged row is not rewritten: re-importing a file costs reads, not writes.
            f"WHERE ({old}) IS DISTINCT FROM ({new})"
        )
        return cursor.rowcount


def _any_stored(cursor, table: str, ticker_column: str, frame: pd.DataFrame) -> bool:  # type: ignore[no-untyped-def]
    """Whether any bar of these tickers is stored within the batch's date range."""
    first, last = (pd.Timestamp(d).date() for d in (frame["date"].min(), frame["date"].max()))
    cursor.execute(
        f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE "{ticker_column}" = ANY(%s) AND "date" BETWEEN %s AND %s)',
        [list(frame["ticker"].unique()), first, last],
    )
    return bool(cursor.fetchone()[0])


def _orm_upsert_bars(frame: pd.DataFrame, using: str) -> int:
    frame = frame[["ticker", *BAR_FIELDS]].copy()
    if pd.api.types.is_datetime64_any_dtype(frame["date"]):
        frame["date"] = frame["date"].dt.date
    rows = frame.astype(object).where(frame.notna(), None)
    objects = [
        DailyBar(instrument_id=t, date=d, open=o, high=h, low=lo, close=c, volume=v, traded_value=tv, halted=bool(x))
        for t, d, o, h, lo, c, v, tv, x in rows.itertuples(index=False, name=None)
    ]
    with transaction.atomic(using=using):
        DailyBar.objects.using(using).bulk_create(
            objects,
            batch_size=ORM_BATCH,
            update_conflicts=True,
            unique_fields=["instrument", "date"],
            update_fields=[f for f in BAR_FIELDS if f != "date"],
        )
    return len(objects)


def ensure_instruments(tickers: Iterable[str], market: str = "KOSPI", *, using: str = "default") -> list[str]:
    """Create a minimal Instrument (name = ticker) for each unknown ticker; return those created.

    A later listing import fills in the name, market and kind.
    """
    wanted = sorted(set(tickers))
    known: set[str] = set()
    for start in range(0, len(wanted), 5_000):
        part = wanted[start : start + 5_000]
        known.update(Instrument.objects.using(using).filter(ticker__in=part).values_list("ticker", flat=True))
    missing = [t for t in wanted if t not in known]
    Instrument.objects.using(using).bulk_create(
        [Instrument(ticker=t, name=t, market=market, active=True) for t in missing], ignore_conflicts=True
    )
    return missing


def upsert_instruments(frame: pd.DataFrame, *, using: str = "default") -> tuple[int, int]:
    """Insert or update instruments from LISTING_COLUMNS; returns (created, updated)."""
    existing = set(
        Instrument.objects.using(using).filter(ticker__in=list(frame["ticker"])).values_list("ticker", flat=True)
    )
    fields = [c for c in ("name", "name_en", "market", "kind", "listed_shares") if c in frame]
    rows = frame.astype(object).where(frame.notna(), None)
    objects = [Instrument(active=True, **{k: v for k, v in row.items() if k == "ticker" or k in fields})
               for row in rows.to_dict("records")]
    Instrument.objects.using(using).bulk_create(
        objects, batch_size=ORM_BATCH, update_conflicts=True, unique_fields=["ticker"], update_fields=[*fields, "active"]
    )
    created = sum(1 for o in objects if o.ticker not in existing)
    return created, len(objects) - created


def upsert_index_bars(index: str, frame: pd.DataFrame, *, using: str = "default") -> int:
    """Rows for `index` from columns date + any of open/high/low/close/volume/traded_value.

    Only the columns present are updated, so a close+volume file does not erase the
    open/high/low an OHLC file brought.
    """
    fields = [c for c in ("open", "high", "low", "close", "volume", "traded_value") if c in frame]
    return _upsert_dated(IndexBar, {"index": index}, frame, fields, using)


def upsert_breadth(market: str, frame: pd.DataFrame, *, derived: bool = False, using: str = "default") -> int:
    fields = [c for c in ("advances", "declines", "unchanged", "new_highs", "new_lows", "pct_above_ma50") if c in frame]
    return _upsert_dated(BreadthDay, {"market": market, "derived": derived}, frame, [*fields, "derived"], using)


def _upsert_dated(model: type, fixed: dict[str, object], frame: pd.DataFrame, fields: list[str], using: str) -> int:
    key = next(iter(fixed))
    columns = [c for c in fields if c in frame]
    rows = frame[["date", *columns]].astype(object).where(frame[["date", *columns]].notna(), None)
    objects = [model(**fixed, **row) for row in rows.to_dict("records")]
    with transaction.atomic(using=using):
        model.objects.using(using).bulk_create(  # type: ignore[attr-defined]
            objects, batch_size=ORM_BATCH, update_conflicts=True, unique_fields=[key, "date"], update_fields=fields
        )
    return len(objects)
