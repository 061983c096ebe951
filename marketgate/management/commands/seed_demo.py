"""`manage.py seed_demo [--if-empty]`: load the demo market's history and a first gate."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from marketgate import calendar
from marketgate.data.ingest import ingest
from marketgate.data.providers.base import get_provider
from marketgate.gate.service import compute_and_save, market_now, recent_window
from marketgate.models import DailyBar


class Command(BaseCommand):
    help = "Store the demo market (listing, ~320 sessions of bars, indices, breadth) and compute a gate."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when bars are already stored")

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.MARKET_DATA_PROVIDER != "demo":
            self.stdout.write(f"MARKET_DATA_PROVIDER is {settings.MARKET_DATA_PROVIDER!r}; no demo data loaded")
            return
        if opts["if_empty"] and DailyBar.objects.exists():
            self.stdout.write("demo data already loaded")
            return
        provider = get_provider("demo")
        end = calendar.trading_date(market_now(provider, timezone.now()))
        start, _ = recent_window(end)
        self.stdout.write(f"loading the demo market {start}..{end} (simulated data, labelled demo)")
        report = ingest(provider, start, end)
        self.stdout.write(report.summary())
        outcome = compute_and_save(provider=provider)
        self.stdout.write(f"first gate: {outcome.reason}")
