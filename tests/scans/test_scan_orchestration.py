"""A scan through the database: load -> compute -> gate cap -> save -> one broadcast."""

from __future__ import annotations

from datetime import date, datetime
from unittest import mock

import pytest

from marketgate.calendar import KST
from signals.models import ScanRun, Signal
from signals.push import signal_update_message
from signals.scans import service
from signals.scans.service import ScanError, ScanRequest, run_scan
from tests import factories
from tests.scan_market import AS_OF, vcp_market

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcasts(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    sent: list[date] = []
    monkeypatch.setattr(service, "broadcast_signals", lambda d: sent.append(d))
    return sent


def _scan(request: ScanRequest | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return run_scan(request or ScanRequest(as_of=AS_OF), **kwargs)


def test_a_scan_saves_the_textbook_vcp_and_a_succeeded_run(django_capture_on_commit_callbacks, broadcasts):
    vcp_market()
    factories.gate(status="GREEN", level=80, trading_date=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = _scan()
    row = Signal.objects.get()
    assert (row.ticker, row.name, row.grade, row.score, row.signal_date) == ("VCP001", "한국정밀기계", "S", 91, AS_OF)
    assert (row.entry_price, row.stop_loss, row.target_price, row.position_size) == (47_050, 45_050, 56_500, 425)
    assert row.reasons[0] == "Trend Template 8/8" and row.footprint["pivot"] == 47_000
    run = ScanRun.objects.get()
    assert row.scan_run == run and outcome.run_id == run.pk
    assert (run.status, run.trading_date, run.signal_count, run.trend_template_count, run.universe_count) == (
        "succeeded", AS_OF, 1, 1, 4)
    assert run.parameters["market"] == "ALL" and run.parameters["scanner"]["rs_min"] == 70
    assert run.started_at and run.finished_at and run.duration_ms is not None


def test_one_signal_update_is_sent_after_the_commit(django_capture_on_commit_callbacks, broadcasts):
    vcp_market(kosdaq_vcp=True)
    with django_capture_on_commit_callbacks() as callbacks:
        _scan()
        assert broadcasts == []  # nothing leaves before the rows are committed
    assert len(callbacks) == 1
    callbacks[0]()
    assert broadcasts == [AS_OF]
    message = signal_update_message(AS_OF)
    assert [s["ticker"] for s in message["data"]["signals"]] == ["VCP001", "VCP002"]
    assert message["data"]["count"] == 2


def test_an_unknown_gate_caps_at_b_and_half_size(broadcasts):
    vcp_market()
    _scan()
    row = Signal.objects.get()
    assert (row.grade, row.position_size) == ("B", 212)
    assert row.reasons[-1] == "Gate unknown: treated as YELLOW, capped at B, half size"


def test_a_yellow_gate_caps_at_b_and_half_size(broadcasts):
    vcp_market()
    factories.gate(status="YELLOW", trading_date=AS_OF)
    _scan()
    assert Signal.objects.values_list("grade", "position_size").get() == ("B", 212)


def test_a_red_gate_makes_signals_watch_only(broadcasts):
    vcp_market()
    factories.gate(status="RED", level=20, trading_date=AS_OF)
    _scan()
    row = Signal.objects.get()
    assert row.position_size == 0 and row.reasons[-1] == "Gate RED: watch only"


def test_the_gate_of_another_day_does_not_apply(broadcasts):
    vcp_market()
    factories.gate(status="GREEN", level=80, trading_date=date(2025, 6, 13))
    _scan()
    assert Signal.objects.get().grade == "B"


def test_a_rescan_the_same_day_keeps_one_row_per_ticker(broadcasts):
    vcp_market()
    _scan()
    first = Signal.objects.get()
    factories.gate(status="GREEN", level=80, trading_date=AS_OF)
    _scan()
    row = Signal.objects.get()
    assert row.pk == first.pk and row.grade == "S" and row.created_at == first.created_at
    assert row.scan_run == ScanRun.objects.latest("id")


def test_a_rescan_deletes_the_days_signals_it_no_longer_finds(broadcasts):
    vcp_market()
    factories.signal("000001", signal_date=AS_OF, name="지난 신호")
    factories.signal("000002", signal_date=date(2025, 6, 13), name="전날 신호")
    outcome = _scan()
    assert outcome.removed == 1
    assert set(Signal.objects.values_list("ticker", "signal_date")) == {
        ("VCP001", AS_OF), ("000002", date(2025, 6, 13))}


def test_a_one_market_scan_leaves_the_other_markets_signals(broadcasts):
    vcp_market(kosdaq_vcp=True)
    factories.signal("000003", signal_date=AS_OF, market="KOSPI")
    outcome = _scan(ScanRequest(as_of=AS_OF, market="KOSDAQ"))
    assert [c.ticker for c in outcome.signals] == ["VCP002"]
    assert set(Signal.objects.values_list("ticker", flat=True)) == {"VCP002", "000003"}


def test_top_n_and_min_score_trim_the_list(broadcasts):
    vcp_market(kosdaq_vcp=True)
    assert len(_scan(ScanRequest(as_of=AS_OF, top_n=1)).signals) == 1
    assert Signal.objects.count() == 1
    assert _scan(ScanRequest(as_of=AS_OF, min_score=95)).signals == []
    assert Signal.objects.count() == 0


def test_a_dry_run_saves_and_sends_nothing(broadcasts):
    vcp_market()
    outcome = _scan(dry_run=True)
    assert [c.ticker for c in outcome.signals] == ["VCP001"] and outcome.run_id is None
    assert not Signal.objects.exists() and not ScanRun.objects.exists() and broadcasts == []


def test_a_date_without_bars_is_refused_and_the_run_says_why(broadcasts):
    vcp_market()
    with pytest.raises(ScanError, match="No daily bars for 2025-06-17"):
        _scan(ScanRequest(as_of=date(2025, 6, 17)))
    run = ScanRun.objects.get()
    assert run.status == "failed" and "2025-06-17" in run.error


def test_an_empty_database_is_refused_clearly(broadcasts):
    with pytest.raises(ScanError, match="import_bars"):
        _scan(ScanRequest())


def test_without_a_date_the_latest_bars_up_to_the_trading_date_are_scanned(broadcasts):
    vcp_market()
    outcome = _scan(ScanRequest(), now=datetime(2025, 6, 18, 10, tzinfo=KST))
    assert outcome.signal_date == AS_OF


def test_a_failure_marks_the_run_failed_with_the_error(broadcasts):
    vcp_market()
    with mock.patch.object(service, "scan", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        _scan()
    run = ScanRun.objects.get()
    assert run.status == "failed" and "RuntimeError: boom" in run.error and run.finished_at
    assert not Signal.objects.exists()


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ScanError):
        ScanRequest(market="KONEX")
    with pytest.raises(ScanError):
        ScanRequest(top_n=0)
    with pytest.raises(ScanError):
        ScanRequest(min_score=101)
