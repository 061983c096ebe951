"""manage.py import_listing FILE — instruments from a KRX listing CSV."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketgate.data.csv_reader import CsvFormatError
from marketgate.data.market_import import import_listing


class Command(BaseCommand):
    help = (
        "Upsert instruments from a listing CSV: ticker,name,name_en,market,security_group,share_kind,"
        "listed_on,listed_shares (KOSDAQ GLOBAL counts as KOSDAQ; the kind — common, preferred, ETF, "
        "SPAC, REIT — comes from share_kind, security_group and the name)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--max-errors", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_listing(options["file"])
        except CsvFormatError as exc:
            raise CommandError(str(exc)) from exc
        lines = report.summary(options["max_errors"])
        for line in lines[1:]:
            self.stderr.write(line)
        self.stdout.write(self.style.SUCCESS(lines[0]))
