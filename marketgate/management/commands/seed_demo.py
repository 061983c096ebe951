"""`manage.py seed_demo [--if-empty]`: load the demo market's history, its last closed
session's final gate and scan, and a first live gate.

A first look at the dashboard should show what the product does: the scan of the last
closed session (capped by that session's own final gate, so never "gate unknown") and a
gate, not an empty page waiting for the 16:45 scan.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Max
from django.utils import timezone

from marketgate import calendar
from marketgate.data.ingest import ingest
from marketgate.data.providers.base import get_provider
from marketgate.gate.service import compute_and_save, market_now, recent_window
from marketgate.models import DailyBar


class Command(BaseCommand):
    help = (
        "Store the demo market (listing, ~320 sessions of bars, indices, breadth), the last closed "
        "session's final gate and VCP scan, and a first live gate."
    )

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
        closed = DailyBar.objects.aggregate(day=Max("date"))["day"]
        if closed is not None:
            final = compute_and_save(provider=provider, on_date=closed)
            self.stdout.write(f"final gate of {closed}: {final.reason}")
            self._scan(closed)
        outcome = compute_and_save(provider=provider)
        self.stdout.write(f"first gate: {outcome.reason}")

    def _scan(self, day: Any) -> None:
        from signals.scans.service import ScanError, ScanRequest, run_scan

        try:
            outcome = run_scan(ScanRequest(as_of=day, triggered_by="seed_demo"))
        except (ScanError, ValueError) as exc:  # a tiny demo universe may have too little to scan
            self.stderr.write(f"demo scan of {day} failed: {exc}; the 16:45 scan will run as scheduled")
            return
        self.stdout.write(f"scan of {day}: {len(outcome.signals)} signals (gate {outcome.gate_status})")
