"""manage.py import_index FILE --index KOSPI|KOSDAQ — index bars from CSV."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketgate.data.csv_reader import CsvFormatError
from marketgate.data.market_import import import_index


class Command(BaseCommand):
    help = (
        "Upsert index bars from CSV: date,close plus any of open,high,low,volume,value "
        "(or volume_thousand_shares, value_million_krw). Only the columns in the file are "
        "updated, so an OHLC file and a close+volume file for the same days complete each other."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--index", required=True, choices=["KOSPI", "KOSDAQ"])
        parser.add_argument("--max-errors", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_index(options["file"], options["index"])
        except CsvFormatError as exc:
            raise CommandError(str(exc)) from exc
        lines = report.summary(options["max_errors"])
        for line in lines[1:]:
            self.stderr.write(line)
        self.stdout.write(self.style.SUCCESS(f"{options['index']}: {lines[0]}"))
