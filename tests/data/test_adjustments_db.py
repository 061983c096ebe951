"""Corporate actions through the database: import_bars reports and stores the factor,
the stored bars stay as traded, the scanner and derived breadth read adjusted history.
Real file: the unadjusted KOSPI top 100 (086280, 2:1 split on 2024-07-12)."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from marketgate.data.adjustment_store import refresh_adjustments
from marketgate.models import AdjustmentFactor, DailyBar
from signals.scanner.params import ScanParams
from signals.scans.service import ScanRequest, load_market, run_scan

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]
TOP100 = "kospi_top100_daily_2021-04_2026-03_unadjusted.csv.gz"


@pytest.fixture
def imported(krx_data):
    out, err = StringIO(), StringIO()
    call_command("import_bars", str(krx_data / TOP100), no_progress=True, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_import_bars_reports_and_stores_the_split_and_keeps_raw_prices(imported):
    assert "corporate action(s) found" in imported
    assert "adjusted: 086280 2024-07-12: ÷2 (close 252,500 -> open 127,900)" in imported
    factor = AdjustmentFactor.objects.get(ticker="086280")
    assert (factor.ex_date, factor.factor, factor.source) == (date(2024, 7, 12), 2.0, "price_limit")
    assert DailyBar.objects.get(instrument_id="086280", date=date(2024, 7, 11)).close == 252500


def test_a_second_import_adds_nothing_and_a_manual_factor_is_kept(imported, krx_data):
    AdjustmentFactor.objects.filter(ticker="086280").update(factor=2.5, source="manual")
    again = refresh_adjustments(["086280"], date(2024, 1, 1), date(2024, 12, 31))
    assert again.empty and AdjustmentFactor.objects.get(ticker="086280").factor == 2.5


def test_the_scanner_reads_adjusted_history_and_shows_traded_prices(imported):
    bars, _ = load_market(date(2024, 10, 31), ScanParams(), strict=True)
    split = bars[bars["ticker"] == "086280"]
    split = split.set_index(split["date"].dt.date)
    assert split.loc[date(2024, 7, 11), "close"] == 126250  # 252,500 / 2
    assert split.loc[date(2024, 10, 31), "close"] == DailyBar.objects.get(
        instrument_id="086280", date=date(2024, 10, 31)).close
    outcome = run_scan(ScanRequest(as_of=date(2024, 10, 31)), dry_run=True)
    reason = outcome.result.rejections.get("086280", "")
    price_rules = ("close <=", "MA50 <=", "MA150 <=", "MA200 not rising", "52-week")
    assert not any(rule in reason for rule in price_rules), reason


def test_a_scan_before_a_later_split_uses_that_days_prices(imported):
    bars, _ = load_market(date(2024, 6, 28), ScanParams(), strict=True)
    before = bars[(bars["ticker"] == "086280")]
    assert before["close"].iloc[-1] == DailyBar.objects.get(instrument_id="086280", date=date(2024, 6, 28)).close
