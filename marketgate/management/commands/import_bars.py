"""manage.py import_bars FILE... — daily bars from long-format CSV (plain or gzip)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketgate.data.bar_import import CHUNK_ROWS, import_bars
from marketgate.data.csv_reader import CsvFormatError


class Command(BaseCommand):
    help = (
        "Import daily bars from CSV files: ticker,date,open,high,low,close,volume[,value] "
        "(Korean headers 종목코드,날짜,시가,고가,저가,종가,거래량,거래대금 accepted; gzip accepted). "
        "Rows that cannot be a traded session are reported as file:line: ticker date: reason and skipped; "
        "suspicious ones (off the tick grid, beyond the daily price limit) are imported and reported as flagged; "
        "the last of duplicate rows wins; "
        "open = 0 marks a halted session; unknown tickers are created as minimal instruments "
        "(fill them in with import_listing); re-importing updates in place."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--market", default="KOSPI", choices=["KOSPI", "KOSDAQ", "KONEX"],
                            help="market of instruments created for unknown tickers (default KOSPI)")
        parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
        parser.add_argument("--max-errors", type=int, default=50, help="problem lines to print per kind")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
        parser.add_argument("--json", metavar="PATH",
                            help="also write the whole report (every rejected, flagged, widened and duplicate line) "
                                 "as JSON to PATH ('-' for stdout, the text summary then goes to stderr)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            report = import_bars(
                options["files"],
                market=options["market"],
                chunksize=options["chunk_rows"],
                progress=False if options["no_progress"] else None,
            )
        except CsvFormatError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        lines = report.summary(options["max_errors"])
        for line in lines[1:]:
            self.stderr.write(line)
        rate = report.rows_written / elapsed if elapsed else 0.0
        done = self.style.SUCCESS(f"{lines[0]} in {elapsed:.1f}s ({rate:,.0f} rows/s)")
        target = options["json"]
        if target == "-":
            self.stderr.write(done)
            self.stdout.write(json.dumps(report.to_data(), ensure_ascii=False))
            return
        if target:
            Path(target).write_text(json.dumps(report.to_data(), ensure_ascii=False, indent=1), encoding="utf-8")
        self.stdout.write(done)
