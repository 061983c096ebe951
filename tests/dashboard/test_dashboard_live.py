"""The dashboard in Debian's Chromium against the real server: first paint, live frames, STALE."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from signals.push import broadcast_signals
from stockgate.realtime.broadcast import publish
from tests.dashboard_support import (
    gate_frame,
    make_gate,
    make_signals,
    open_page,
    publish_price,
    ticker,
)
from tests.processes import REPO, web

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_page_loads_with_server_state_and_no_console_errors(browser, server):
    make_gate(62, "YELLOW")
    make_signals(3)
    watched = open_page(browser, server)
    page = watched.page
    # First paint comes from the json_script state, before any frame.
    assert page.locator("#gate-level").inner_text() == "62"
    assert page.locator("#gate-status").inner_text() == "YELLOW"
    assert page.locator("#signal-rows tr[data-ticker]").count() == 3
    page.wait_for_selector("#conn[data-state='connected']", timeout=10_000)
    watched.wait_subscribed("market-gate")
    page.wait_for_timeout(500)
    assert watched.errors == []


def test_gate_card_shows_level_change_and_kst_time(browser, server):
    make_gate(62, "YELLOW", as_of=timezone.now().replace(hour=1, minute=2, second=3, microsecond=0))
    page = open_page(browser, server).page
    assert page.locator("#kospi").inner_text() == "2,650.12"
    assert page.locator("#kospi-chg").inner_text() == "▲ +0.84%"
    assert page.locator("#kospi-chg").get_attribute("data-dir") == "up"
    assert page.locator("#kosdaq-chg").inner_text() == "▼ -0.37%"
    assert page.locator("#gate-asof").inner_text().endswith("10:02:03 KST")  # 01:02:03 UTC
    assert page.locator("#components li").count() == 3
    assert "23/30" in page.locator("#components li").first.inner_text()


def test_saved_market_gate_changes_the_card_within_one_second(browser, server):
    make_gate(40, "YELLOW", as_of=timezone.now() - timedelta(minutes=5))
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("market-gate")
    started = time.monotonic()
    make_gate(83, "GREEN")  # post_save -> on_commit -> broadcast
    page.wait_for_function("document.getElementById('gate-level').textContent === '83'", timeout=1_000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert page.locator("#gate").get_attribute("data-status") == "GREEN"
    assert page.locator("#freshness").inner_text() == "LIVE"
    assert watched.errors == []


def test_scan_signals_appear_in_the_table(browser, server):
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("signal:vcp")
    rows = make_signals(5)
    broadcast_signals(rows[0].signal_date)
    page.wait_for_selector(f"#signal-rows tr[data-ticker='{ticker(4)}']", timeout=3_000)
    assert page.locator("#signal-rows tr[data-ticker]").count() == 5
    first = page.locator(f"#signal-rows tr[data-ticker='{ticker(0)}']")
    assert "종목000" in first.inner_text()
    assert "50,000원" in first.inner_text()
    assert page.locator("#signal-count").inner_text() == "5"
    assert watched.errors == []


def test_signal_table_sorts_filters_and_expands_reasons(browser, server):
    make_signals(8)
    page = open_page(browser, server).page
    page.select_option("#filter-grade", "S")
    assert page.locator("#signal-rows tr[data-ticker]").count() == 2  # i = 0, 4
    page.select_option("#filter-grade", "")
    page.select_option("#filter-market", "KOSDAQ")
    assert page.locator("#signal-rows tr[data-ticker]").count() == 4
    page.select_option("#filter-market", "")
    page.click("th[data-key='entry_price'] button")
    assert page.locator("th[data-key='entry_price']").get_attribute("aria-sort") == "descending"
    assert page.locator("#signal-rows tr[data-ticker]").first.get_attribute("data-ticker") == ticker(7)
    page.click("th[data-key='entry_price'] button")
    assert page.locator("#signal-rows tr[data-ticker]").first.get_attribute("data-ticker") == ticker(0)
    toggle = page.locator(f"tr[data-ticker='{ticker(0)}'] button.expand")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert "Trend Template 8/8" in page.locator(f"#reasons-{ticker(0)}").inner_text()


def test_price_update_flashes_its_cell_and_updates_return(browser, server):
    make_signals(1)
    code = ticker(0)
    watched = open_page(browser, server, watchlist=[code])
    page = watched.page
    watched.wait_subscribed(f"price:{code}")
    publish_price(code, 50_000)
    cell = page.locator(f"#watch-rows tr[data-ticker='{code}'] .price")
    page.wait_for_function(f"document.querySelector(\"#watch-rows tr[data-ticker='{code}'] .price\").textContent === '50,000원'",
                           timeout=3_000)
    publish_price(code, 51_000)
    page.wait_for_selector(f"#watch-rows tr[data-ticker='{code}'] .price[data-flash='up']", timeout=2_000)
    assert cell.inner_text() == "51,000원"
    signal_row = page.locator(f"#signal-rows tr[data-ticker='{code}']")
    assert signal_row.locator(".price").inner_text() == "51,000원"
    assert signal_row.locator(".ret").inner_text() == "▲ +2.00%"  # entry 50,000원
    publish_price(code, 50_500)
    page.wait_for_selector(f"#watch-rows tr[data-ticker='{code}'] .price[data-flash='down']", timeout=2_000)
    assert watched.errors == []


def test_watchlist_is_kept_in_local_storage(browser, server):
    watched = open_page(browser, server)  # a first visit: PRICE_WATCHLIST (005930, 000660)
    page = watched.page
    page.wait_for_selector("#watch-rows tr[data-ticker='000660']")
    page.click("#watch-rows tr[data-ticker='000660'] button.remove")
    page.fill("#watch-input", "035720")
    page.press("#watch-input", "Enter")
    page.wait_for_selector("#watch-rows tr[data-ticker='035720']")
    page.reload()
    page.wait_for_selector("#watch-rows tr[data-ticker='035720']")
    assert page.locator("#watch-rows tr[data-ticker='000660']").count() == 0  # the saved list, not the default
    page.click("#watch-rows tr[data-ticker='005930'] button.remove")
    page.click("#watch-rows tr[data-ticker='035720'] button.remove")
    assert page.evaluate("localStorage.getItem('stockgate.watchlist')") == "[]"


def test_gate_marked_stale_by_the_server_shows_stale(browser, server):
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("market-gate")
    publish("market-gate", gate_frame(71, "GREEN", stale=True))
    page.wait_for_function("document.getElementById('gate-level').textContent === '71'", timeout=3_000)
    assert page.locator("#freshness").inner_text() == "STALE"


def test_gate_turns_stale_as_it_ages_without_any_new_message(browser, server):
    # Fresh for a few more seconds (period + grace = 420 s by default), then stale: the
    # badge follows the data's age, not the arrival of messages.
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("market-gate")
    # A margin of 20 s keeps "still fresh" true on a loaded machine too.
    almost = timezone.now() - timedelta(seconds=420 - 20)
    publish("market-gate", gate_frame(66, "YELLOW", computed_at=almost))
    page.wait_for_function("document.getElementById('gate-level').textContent === '66'", timeout=8_000)
    assert page.locator("#freshness").inner_text() == "LIVE"
    page.wait_for_function("document.getElementById('freshness').textContent === 'STALE'", timeout=40_000)


def test_closed_session_shows_closed(browser, server):
    watched = open_page(browser, server)
    watched.wait_subscribed("market-gate")
    publish("market-gate", gate_frame(50, "YELLOW", session="closed"))
    watched.page.wait_for_function("document.getElementById('freshness').textContent === 'CLOSED'", timeout=3_000)
    assert watched.page.locator("#gate-session").inner_text() == "장 마감"
    assert watched.page.locator("#freshness").get_attribute("data-fresh") == "closed"


def test_demo_banner_and_english_labels(browser, server):
    page = open_page(browser, server).page
    assert page.locator(".demo-banner").is_visible()
    assert page.locator("#signals-title").inner_text().startswith("VCP 신호")
    page.select_option("#lang-select", "en")
    page.click(".lang button[type=submit]")
    page.wait_for_selector("html[lang='en']")
    assert page.locator("#signals-title").inner_text().startswith("VCP signals")
    assert "Demo data" in page.locator(".demo-banner").inner_text()


def test_phone_width_has_no_horizontal_page_scroll(browser, server):
    make_gate(62, "YELLOW")
    make_signals(10)
    page = open_page(browser, server, viewport={"width": 390, "height": 844}).page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_charts_draw_with_the_vendored_library(browser, server):
    if not (REPO / "var" / "vendor" / "uplot" / "uPlot.esm.js").exists():
        pytest.skip("uPlot is not vendored; run python3 scripts/vendor.py")
    make_gate(40, "YELLOW", as_of=timezone.now() - timedelta(minutes=10))
    make_gate(45, "YELLOW")
    watched = open_page(browser, server)
    watched.page.wait_for_selector("#chart-gate .uplot", timeout=5_000)
    watched.page.wait_for_selector("#chart-index .uplot", timeout=5_000)
    assert watched.errors == []


def test_charts_say_unavailable_when_the_library_is_missing(browser, clean_redis, tmp_path):
    proc = web(STOCKGATE_VAR_DIR=str(tmp_path)).start()  # an empty var/: nothing vendored
    try:
        watched = open_page(browser, proc)
        page = watched.page
        page.wait_for_selector("#chart-gate.chart-missing", timeout=5_000)
        assert "차트를 사용할 수 없습니다" in page.locator("#chart-index").inner_text()
        page.wait_for_selector("#conn[data-state='connected']", timeout=10_000)
        assert watched.errors == []
    finally:
        proc.stop()
