"""CSV import of the listing, index bars and breadth into the database.

The files are read and checked by marketgate.data.market_files; a re-import updates in
place, and only the columns a file has are updated, so files with different columns
for the same days (an OHLC file and a close+volume file) complete each other.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from marketgate.data.csv_reader import CsvFormatError
from marketgate.data.market_files import TableReport, parse_breadth, parse_index, parse_listing
from marketgate.data.market_upserts import upsert_breadth, upsert_index_bars, upsert_instruments


def import_listing(path: str | Path, *, using: str = "default") -> TableReport:
    """Upsert instruments from a KRX listing file (listing.csv format)."""
    frame, report = parse_listing(path)
    with transaction.atomic(using=using):
        report.created, report.updated = upsert_instruments(frame, using=using)
    report.rows_written = report.created + report.updated
    return report


def import_index(path: str | Path, index: str, *, using: str = "default") -> TableReport:
    """Upsert IndexBar rows of `index` (KOSPI/KOSDAQ) from a date,open,high,low,close[,...] file."""
    if index not in ("KOSPI", "KOSDAQ"):
        raise CsvFormatError(f"unknown index {index!r}; expected KOSPI or KOSDAQ")
    frame, report = parse_index(path)
    report.rows_written = upsert_index_bars(index, frame, using=using)
    return report


def import_breadth(paths: list[str | Path], market: str, *, using: str = "default") -> TableReport:
    """Upsert BreadthDay rows from advances/declines files and/or new-highs/lows files."""
    if market not in ("KOSPI", "KOSDAQ"):
        raise CsvFormatError(f"unknown market {market!r}; expected KOSPI or KOSDAQ")
    merged, report = parse_breadth(paths)
    report.rows_written = upsert_breadth(market, merged, using=using)
    return report
