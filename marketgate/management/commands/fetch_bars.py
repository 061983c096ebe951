"""`manage.py fetch_bars [--start D] [--end D] [--provider NAME]`: store a provider's data."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from marketgate import calendar
from marketgate.data.ingest import ingest
from marketgate.data.providers.base import ProviderError, get_provider
from marketgate.gate.service import market_now, recent_window


def _day(raw: str | None, name: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"--{name} must be YYYY-MM-DD, got {raw!r}") from exc


class Command(BaseCommand):
    help = "Fetch listings, daily bars, index bars and breadth from the market-data provider."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--start")
        parser.add_argument("--end")
        parser.add_argument("--provider", help="demo, fdr or csv (default: MARKET_DATA_PROVIDER)")
        parser.add_argument("--no-listing", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        provider = get_provider(opts["provider"])
        end = _day(opts["end"], "end") or calendar.trading_date(market_now(provider, timezone.now()))
        start = _day(opts["start"], "start") or recent_window(end)[0]
        if start > end:
            raise CommandError("--start is after --end")
        try:
            report = ingest(provider, start, end, listing=not opts["no_listing"])
        except ProviderError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{provider.name} {start}..{end}: {report.summary()}"))
