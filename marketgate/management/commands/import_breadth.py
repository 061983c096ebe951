"""manage.py import_breadth FILE --market KOSPI|KOSDAQ [--highs-lows FILE] — market breadth."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketgate.data.csv_reader import CsvFormatError
from marketgate.data.market_import import import_breadth


class Command(BaseCommand):
    help = (
        "Upsert daily breadth from CSV: date,advances,declines,unchanged (rows with "
        "advances + declines = 0 are holiday placeholders and dropped) and/or "
        "date,new_highs,new_lows (--highs-lows)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--market", required=True, choices=["KOSPI", "KOSDAQ"])
        parser.add_argument("--highs-lows", metavar="FILE", help="a date,new_highs,new_lows file")
        parser.add_argument("--max-errors", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        files = [options["file"]] + ([options["highs_lows"]] if options["highs_lows"] else [])
        try:
            report = import_breadth(files, options["market"])
        except CsvFormatError as exc:
            raise CommandError(str(exc)) from exc
        lines = report.summary(options["max_errors"])
        for line in lines[1:]:
            self.stderr.write(line)
        self.stdout.write(self.style.SUCCESS(f"{options['market']}: {lines[0]}"))
