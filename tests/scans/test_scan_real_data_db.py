"""The real market of 2025-06-16 through the database: import_listing + import_bars,
then manage.py scan (docs/scan.md records the figures). Skipped without ../shared."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command

from signals.models import ScanRun, Signal
from signals.scans import service

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]

BARS = "stocks_daily_2023-12_2025-06.csv.gz"


def test_the_real_2025_06_16_scan_through_the_database(krx_data, monkeypatch):
    monkeypatch.setattr(service, "broadcast_signals", lambda d: None)  # the wire is tested end to end elsewhere
    started = time.perf_counter()
    quiet = io.StringIO()
    call_command("import_listing", str(krx_data / "listing.csv"), stdout=quiet, stderr=quiet)
    call_command("import_bars", str(krx_data / BARS), "--no-progress", stdout=quiet, stderr=quiet)
    imported = time.perf_counter() - started

    out = io.StringIO()
    call_command("scan", "--date", "2025-06-16", "--json", "--no-progress", stdout=out)
    data = json.loads(out.getvalue())
    print(f"\nimport {imported:.1f}s; scan {json.dumps({k: v for k, v in data.items() if k != 'signals'})}")
    for s in data["signals"]:
        print(s["ticker"], s["name"], s["grade"], s["score"], *s["reasons"], sep="\n  ")

    # The file-based scan of the same day (docs/scan-2025-06-16.md) finds 425 / 109 / one
    # signal; the imported listing also counts a few names the file reader leaves out
    # (docs/scan.md says which), so the DB path is a little wider, never narrower.
    assert 425 <= data["universe_count"] <= 440
    assert 109 <= data["trend_template_count"] <= 115
    assert "008970" in [s["ticker"] for s in data["signals"]]
    for s in data["signals"]:
        assert s["reasons_en"][0].startswith("Trend Template") and any("contractions" in r for r in s["reasons_en"])
        assert s["reasons"][0].startswith("트렌드 템플릿") and any("수축" in r for r in s["reasons"])
        assert s["entry_price"] > s["stop_loss"] > 0 and s["target_price"] > s["entry_price"]
    run = ScanRun.objects.get()
    assert run.status == "succeeded" and run.trend_template_count == data["trend_template_count"]
    assert Signal.objects.filter(signal_date="2025-06-16").count() == data["signal_count"]
    assert data["timings"]["compute"] < 10  # 1-2 s on an idle 2-core machine; generous under a loaded CI
