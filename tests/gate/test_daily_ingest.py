"""The daily ingest by calendar hours on real KRX files (csv provider): the exam day
(2025-11-13, close 16:30) is not fetched before its close and not lost; a missed day is
caught up; each session gets its final gate, and the session's scan is capped by it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine

from marketgate.calendar import KST
from marketgate.data.ingest import ingest
from marketgate.data.providers.csvfiles import CsvProvider
from marketgate.models import DailyBar, IndexBar, MarketGate
from marketgate.tasks import ingest_daily_bars
from signals.models import ScanRun
from signals.scans import service
from signals.tasks import scan_vcp

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]

EXAM_DAY = date(2025, 11, 13)
FILES = ("listing.csv", "kospi_index_2023-2026.csv", "kospi_close_volume_2022-2026.csv",
         "kosdaq_index_2023-2026.csv", "kospi_breadth.csv", "kosdaq_breadth.csv",
         "kospi_new_highs_lows.csv", "kosdaq_new_highs_lows.csv")


@pytest.fixture
def market(krx_data: Path, tmp_path: Path, settings, monkeypatch):
    """A csv directory of the real files, and the database as it stood after 2025-11-12."""
    for name in FILES:
        (tmp_path / name).symlink_to(krx_data / name)
    (tmp_path / "bars").mkdir()
    (tmp_path / "bars" / "top100.csv.gz").symlink_to(krx_data / "kospi_top100_daily_2021-04_2026-03_unadjusted.csv.gz")
    settings.MARKET_DATA_PROVIDER = "csv"
    settings.MARKET_DATA_CSV_DIR = tmp_path
    settings.INGEST_DELAY_MINUTES = 5
    monkeypatch.setattr(service, "broadcast_signals", lambda d: None)
    ingest(CsvProvider(tmp_path), date(2024, 6, 1), date(2025, 11, 12))
    return tmp_path


def _at(moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        return ingest_daily_bars()


def test_the_exam_day_is_ingested_after_its_own_close_then_gated_and_scanned(market, django_capture_on_commit_callbacks):
    early = _at(datetime(2025, 11, 13, 16, 5, tzinfo=KST))  # the old fixed 16:05 run
    assert "2025-11-12 is stored already" in early
    assert not DailyBar.objects.filter(date=EXAM_DAY).exists()

    with django_capture_on_commit_callbacks(execute=False):
        summary = _at(datetime(2025, 11, 13, 16, 35, tzinfo=KST))
    assert "sessions ingested: 2025-11-13" in summary
    assert IndexBar.objects.get(index="KOSPI", date=EXAM_DAY).close == 4170.63
    assert DailyBar.objects.filter(date=EXAM_DAY).count() >= 95
    final = MarketGate.objects.final().get(trading_date=EXAM_DAY)
    assert final.kospi == 4170.63 and not final.provisional and final.basis == "close"
    assert final.as_of == datetime(2025, 11, 13, 16, 30, tzinfo=KST)

    run = ScanRun.objects.get(triggered_by="ingest")
    assert run.parameters["date"] == "2025-11-13"
    result = scan_vcp.apply(kwargs={"run_id": run.pk}).get()
    run.refresh_from_db()
    assert result["signal_date"] == "2025-11-13" and run.status == "succeeded"
    assert run.parameters["gate_status"] == final.status, "the scan is capped by the session's final gate"


def test_a_missed_day_is_caught_up_with_both_final_gates_in_order(market, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        summary = _at(datetime(2025, 11, 14, 15, 40, tzinfo=KST))  # nothing ran on the exam day
    assert "sessions ingested: 2025-11-13, 2025-11-14" in summary
    closes = dict(IndexBar.objects.filter(index="KOSPI", date__gte=EXAM_DAY).values_list("date", "close"))
    assert closes == {EXAM_DAY: 4170.63, date(2025, 11, 14): 4011.57}
    finals = MarketGate.objects.final().filter(trading_date__gte=EXAM_DAY).order_by("trading_date")
    assert [g.trading_date for g in finals] == [EXAM_DAY, date(2025, 11, 14)]
    assert ScanRun.objects.get(triggered_by="ingest").parameters["date"] == "2025-11-14"


def test_in_session_nothing_is_due_and_a_weekend_run_catches_up(market, django_capture_on_commit_callbacks):
    assert "none (2025-11-12 is stored already)" in _at(datetime(2025, 11, 13, 11, 0, tzinfo=KST))
    assert not IndexBar.objects.filter(date__gt=date(2025, 11, 12)).exists()
    with django_capture_on_commit_callbacks(execute=False):
        summary = _at(datetime(2025, 11, 15, 17, 0, tzinfo=KST))  # Saturday
    assert "sessions ingested: 2025-11-13, 2025-11-14" in summary
    again = _at(datetime(2025, 11, 15, 17, 5, tzinfo=KST))
    assert "none (2025-11-14 is stored already)" in again and "final gates: none missing" in again
