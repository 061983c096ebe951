"""manage.py scan: JSON and table output, dry runs, clear errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from signals.models import ScanRun, Signal
from signals.scans import service
from tests.scan_market import vcp_market

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broadcast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "broadcast_signals", lambda d: None)


def scan(*args: str) -> str:
    out = io.StringIO()
    call_command("scan", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_json_output_lists_the_saved_signals_as_subscribers_get_them() -> None:
    vcp_market()
    data = json.loads(scan("--date", "2025-06-16", "--json"))
    assert data["signal_date"] == "2025-06-16" and data["signal_count"] == 1 and data["dry_run"] is False
    assert data["trend_template_count"] == 1 and data["universe_count"] == 4
    assert data["signals"] == [Signal.objects.get().to_message()]
    assert data["run_id"] == ScanRun.objects.get().pk


def test_the_table_shows_the_signal_its_reasons_and_the_counts() -> None:
    vcp_market()
    text = scan("--date", "2025-06-16")
    assert "universe 4  trend template 1  signals 1" in text
    assert "VCP001  한국정밀기계" in text and "47,050" in text
    assert "  - 트렌드 템플릿 8/8" in text and "  - 목표 56,500원 (+20%)" in text  # Korean by default
    english = scan("--date", "2025-06-16", "--lang", "en")
    assert "  - Trend Template 8/8" in english and "  - Target 56,500 (+20%)" in english


def test_a_dry_run_prints_but_saves_nothing() -> None:
    vcp_market()
    data = json.loads(scan("--date", "2025-06-16", "--json", "--dry-run"))
    assert [s["ticker"] for s in data["signals"]] == ["VCP001"]
    assert not Signal.objects.exists() and not ScanRun.objects.exists()


def test_market_top_n_and_min_score_are_applied() -> None:
    vcp_market(kosdaq_vcp=True)
    assert [s["ticker"] for s in json.loads(scan("--market", "kosdaq", "--json"))["signals"]] == ["VCP002"]
    assert len(json.loads(scan("--top-n", "1", "--json"))["signals"]) == 1
    assert json.loads(scan("--min-score", "99", "--json"))["signals"] == []


def test_a_day_without_setups_says_so() -> None:
    vcp_market()
    assert "no setups" in scan("--min-score", "100")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--market", "KONEX"], "--market"),
        (["--top-n", "0"], "--top-n"),
        (["--min-score", "150"], "--min-score"),
        (["--date", "2025-13-01"], "--date"),
    ],
)
def test_bad_arguments_are_refused_clearly(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        scan(*args)


def test_missing_data_is_an_error_not_an_empty_scan() -> None:
    with pytest.raises(CommandError, match="No daily bars"):
        scan("--date", "2025-06-16")


def test_a_failing_scan_exits_with_an_error_and_a_failed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    vcp_market()
    monkeypatch.setattr(service, "scan", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk on fire")))
    with pytest.raises(CommandError, match="scan failed: RuntimeError: disk on fire"):
        scan("--date", "2025-06-16")
    assert ScanRun.objects.get().status == "failed"
