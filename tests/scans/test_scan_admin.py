"""Admin: signals filtered and searched with readable reasons; scan runs; "scan now"."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from signals import tasks
from signals.models import ScanRun
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(tasks.scan_vcp, "apply_async", lambda kwargs=None, **kw: sent.append(kwargs))
    return sent


@pytest.fixture
def two_signals() -> None:
    factories.signal("005930", date(2026, 2, 3), grade="S", reasons=["Trend Template 8/8", "RS 94", "3 contractions 22%->11%->4%", "Stop 54,900 (-6.0%)"])
    factories.signal("247540", date(2026, 2, 2), name="에코프로비엠", market="KOSDAQ", grade="B")


def test_signals_are_filtered_by_grade_market_and_date(admin_client_, two_signals):
    for query in ("grade__exact=S", "market=KOSPI", "signal_date=2026-02-03"):
        page = admin_client_.get(f"/admin/signals/signal/?{query}").content.decode()
        assert "005930" in page and "247540" not in page, query


def test_signals_are_searchable_by_ticker_or_name(admin_client_, two_signals):
    assert "247540" in admin_client_.get("/admin/signals/signal/?q=에코프로").content.decode()
    page = admin_client_.get("/admin/signals/signal/?q=005930").content.decode()
    assert "005930" in page and "247540" not in page


def test_reasons_are_readable_in_the_list_and_the_detail(admin_client_, two_signals):
    from signals.models import Signal

    page = admin_client_.get("/admin/signals/signal/").content.decode()
    assert "Trend Template 8/8 · RS 94 · 3 contractions 22%-&gt;11%-&gt;4% …" in page
    row = Signal.objects.get(ticker="005930")
    detail = admin_client_.get(f"/admin/signals/signal/{row.pk}/change/").content.decode()
    assert "<li>Stop 54,900 (-6.0%)</li>" in detail


def test_the_scan_runs_page_has_a_scan_now_button_that_queues_a_scan(admin_client_, queued, django_capture_on_commit_callbacks):
    page = admin_client_.get("/admin/signals/scanrun/").content.decode()
    assert "/admin/signals/scanrun/scan-now/" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post("/admin/signals/scanrun/scan-now/", follow=True)
    run = ScanRun.objects.get()
    assert run.status == "queued" and run.triggered_by == "admin:root"
    assert queued == [{"run_id": run.pk}]
    assert f"Scan #{run.pk} queued" in response.content.decode()


def test_scan_again_requeues_the_selected_runs_parameters(admin_client_, queued, django_capture_on_commit_callbacks):
    old = ScanRun.objects.create(status="failed", parameters={"market": "KOSDAQ", "top_n": 3, "min_score": None, "date": "2025-06-16", "scanner": {}})
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post("/admin/signals/scanrun/", {"action": "scan_again", "_selected_action": [old.pk]})
    new = ScanRun.objects.exclude(pk=old.pk).get()
    assert new.parameters == {"market": "KOSDAQ", "top_n": 3, "min_score": None, "date": "2025-06-16"}
    assert queued == [{"run_id": new.pk}]


def test_scan_now_refuses_get(admin_client_, queued):
    assert admin_client_.get("/admin/signals/scanrun/scan-now/").status_code == 405
    assert not ScanRun.objects.exists()
