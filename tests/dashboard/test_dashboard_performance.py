"""Outcomes and the performance panel in Debian's Chromium against the real server.

With STOCKGATE_SCREENSHOT_DIR set, the panel test also photographs the page there
(docs/screenshots/dashboard-performance.png is made that way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from signals.models import SignalOutcome
from signals.push import broadcast_signals
from tests.dashboard_support import open_page, publish_price
from tests.performance_fixtures import performance_market

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_performance_panel_shows_open_closed_grades_gate_history_and_live_r(browser, server):
    performance_market()
    watched = open_page(browser, server)
    page = watched.page
    page.wait_for_selector("#performance[data-state='ready']", timeout=15_000)

    assert page.locator("#perf-open tr[data-ticker]").count() == 2
    assert page.locator("#perf-open-count").inner_text() == "2"
    held = page.locator("#perf-open tr[data-ticker='200001']")
    assert held.locator("td").nth(3).inner_text() == "52,400원"  # the quote
    r_cell = held.locator("td").nth(4)
    assert r_cell.inner_text() == "▲ +0.80R" and r_cell.get_attribute("data-dir") == "up"
    assert page.locator("#perf-open tr[data-ticker='200002'] td").nth(4).inner_text() == "▼ -0.30R"

    closed = page.locator("#perf-closed tr[data-ticker]")
    assert [closed.nth(i).get_attribute("data-ticker") for i in range(3)] == ["200005", "200004", "200003"]
    assert "손절 (갭)" in closed.nth(1).inner_text() and "▼ -1.50R" in closed.nth(1).inner_text()
    assert "목표가 도달" in closed.nth(2).inner_text() and "▲ +3.00R" in closed.nth(2).inner_text()

    grades = page.locator("#perf-grades tr")
    assert [c.strip() for c in grades.nth(1).inner_text().split("\t")] == ["A", "2", "50%", "▲ +0.75R"]
    assert [c.strip() for c in grades.nth(2).inner_text().split("\t")] == ["B", "1", "0%", "▼ -1.00R"]

    bands = page.locator("#perf-gate svg rect[data-status]")
    assert 240 <= bands.count() <= 262  # one band per session of the last year
    assert page.locator("#perf-gate rect[data-status='RED']").count() > 0
    assert page.locator("#perf-gate polyline.perf-level").count() == 1
    assert page.locator("#perf-gate polyline.perf-kospi").count() == 1

    # A live price moves the open signal's R without a reload: (53,000 - 50,000) / 3,000.
    watched.wait_subscribed("price:200001")  # the panel asks the page's connection for it
    publish_price("200001", 53_000)
    page.wait_for_function(
        "document.querySelector(\"#perf-open tr[data-ticker='200001'] td:nth-child(6)\").textContent === '▲ +1.00R'",
        timeout=5_000,
    )
    directory = os.environ.get("STOCKGATE_SCREENSHOT_DIR")
    if directory:
        page.locator("#performance").scroll_into_view_if_needed()
        page.screenshot(path=str(Path(directory) / "dashboard-performance.png"), full_page=True)
    assert watched.script_errors() == []


def test_signal_table_shows_each_signals_outcome_and_follows_its_update(browser, server):
    performance_market()
    watched = open_page(browser, server)
    page = watched.page
    row = page.locator("#signal-rows tr[data-ticker='200007']")  # the latest date's signal
    assert row.locator("td.outcome").inner_text() == "체결 대기"
    assert row.locator("td.outcome").get_attribute("data-outcome") == "pending"
    watched.wait_subscribed("signal:vcp")

    outcome = SignalOutcome.objects.get(signal__ticker="200007")
    outcome.status, outcome.fill_price, outcome.r_multiple = "open", 50_000, 0.5
    outcome.save()
    broadcast_signals(outcome.signal.signal_date)  # what the outcome task sends after the ingest
    page.wait_for_function(
        "document.querySelector(\"#signal-rows tr[data-ticker='200007'] td.outcome\").textContent === '보유 중 ▲ +0.50R'",
        timeout=5_000,
    )
    assert row.locator("td.outcome").get_attribute("data-dir") == "up"
    assert watched.script_errors() == []


def test_performance_panel_in_english(browser, server):
    performance_market()
    context_page = open_page(browser, server, locale="en-US")
    page = context_page.page
    page.goto(page.url.split("#")[0])
    page.evaluate("document.cookie = 'django_language=en; path=/'")
    page.reload()
    page.wait_for_selector("#performance[data-state='ready']", timeout=15_000)
    assert page.locator("#perf-title").inner_text() == "Performance"
    assert "Stopped (gap)" in page.locator("#perf-closed").inner_text()
    assert page.locator("#signal-rows tr[data-ticker='200007'] td.outcome").inner_text() == "Awaiting fill"
