"""Bulk upserts of the market data around the bars: instruments (from a listing, or
minimal ones for tickers a bar file names first), index bars and breadth days. Rows are
updated in place, never duplicated. The bars themselves: bulk.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from django.db import transaction

from marketgate.data.bulk import ORM_BATCH
from marketgate.models import BreadthDay, IndexBar, Instrument


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
