"""A scan on a day whose bars are missing for more than SCAN_MAX_MISSING_SHARE of the
market says so in its run and its summary; a complete day says nothing."""

from __future__ import annotations

import pytest

from marketgate.models import DailyBar
from signals.models import ScanRun
from signals.push import signal_update_message
from signals.scans import service
from signals.scans.service import ScanRequest, run_scan
from tests.scan_market import AS_OF, vcp_market

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setattr(service, "broadcast_signals", lambda d: None)


def test_a_complete_day_has_no_warning():
    vcp_market()
    outcome = run_scan(ScanRequest(as_of=AS_OF))
    assert outcome.summary()["missing_tickers"] == 0 and "warning" not in outcome.summary()
    coverage = signal_update_message(AS_OF)["data"]["coverage"]
    assert coverage["incomplete"] is False and coverage["missing_tickers"] == 0


def test_a_day_missing_a_third_of_the_market_says_so(settings):
    vcp_market()
    settings.SCAN_MAX_MISSING_SHARE = 0.05
    tickers = sorted(DailyBar.objects.filter(date=AS_OF).values_list("instrument_id", flat=True))
    gone = tickers[1: 1 + len(tickers) // 3]
    DailyBar.objects.filter(date=AS_OF, instrument_id__in=gone).delete()
    outcome = run_scan(ScanRequest(as_of=AS_OF))
    summary = outcome.summary()
    assert summary["missing_tickers"] == len(gone)
    assert summary["warning"].startswith(f"incomplete: {len(gone)} of {len(tickers)} tickers")
    run = ScanRun.objects.get()
    assert run.status == "succeeded" and run.parameters["warning"] == summary["warning"]
    # The page hears it too: the signal_update (broadcast and first paint) carries the
    # numbers the warning above the table is written from.
    coverage = signal_update_message(AS_OF)["data"]["coverage"]
    assert coverage == {"missing_tickers": len(gone), "traded_before": len(tickers),
                        "missing_share": round(len(gone) / len(tickers), 4), "missing_limit": 0.05,
                        "incomplete": True}


def test_a_date_without_a_finished_scan_has_no_coverage():
    assert signal_update_message(AS_OF)["data"]["coverage"] is None
