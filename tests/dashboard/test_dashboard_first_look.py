"""What a new user sees on the demo-shaped page, in Debian's Chromium against the real
server: the card's indices follow index frames, the gate chart has distinct KST times and
one loop of the demo day, a held colour is explained, the watchlist has names (and says
when a code is not listed), English mode has no 원 and no raw keys, and a phone shows
each signal as a card with entry, target and stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from marketgate.feeds.messages import index_message
from marketgate.models import Instrument
from stockgate.realtime.broadcast import publish
from tests import dashboard_support
from tests.dashboard_support import PHONE, gate_frame, make_gate, make_signals, open_page, ticker

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OVERRIDE = {"name": "override", "points": 0, "max": 0, "known": True, "market": "KOSDAQ",
            "reason": "KOSDAQ correction: level capped", "reason_ko": "KOSDAQ 조정 국면: 레벨 상한"}
# Override rows as the gate stores them now: codes, rendered in the page's language.
CODED_OVERRIDES = [
    {"name": "override", "points": 0, "max": 0, "known": True, "market": "KOSPI",
     "reason": "", "reason_ko": "", "reason_code": "correction",
     "reason_params": {"market": "KOSPI", "ma": 120, "distribution_days": 6, "cap": 39}},
    {"name": "override", "points": 0, "max": 0, "known": True, "market": "",
     "reason": "", "reason_ko": "", "reason_code": "green_cap_unknown",
     "reason_params": {"missing": [["KOSDAQ", "trend"]], "ceiling": 69}},
]


def index_frame(name: str, value: float, change_rate: float, minutes_ago: float = 0) -> dict:
    as_of = timezone.localtime() - timedelta(minutes=minutes_ago)
    return index_message(name, value, value * change_rate / 100, change_rate, 1_000_000, as_of,
                         stale=False, timestamp=timezone.localtime(), source="demo")


def test_the_cards_indices_follow_index_frames_not_only_the_gate(browser, server):
    make_gate(62, "YELLOW", as_of=timezone.now() - timedelta(minutes=3))
    watched = open_page(browser, server)
    page = watched.page
    assert page.locator("#kospi").inner_text() == "2,650.12"  # the gate row's copy first
    watched.wait_subscribed("market:kospi")
    watched.wait_subscribed("market:kosdaq")
    publish("market:kospi", index_frame("KOSPI", 2758.8, 0.71))
    publish("market:kosdaq", index_frame("KOSDAQ", 860.25, -1.05))
    page.wait_for_function("document.getElementById('kospi').textContent === '2,758.80'", timeout=5_000)
    assert page.locator("#kospi-chg").inner_text() == "▲ +0.71%"
    page.wait_for_function("document.getElementById('kosdaq').textContent === '860.25'", timeout=5_000)
    assert page.locator("#kosdaq-chg").get_attribute("data-dir") == "down"
    # An older gate computation does not put the index back to its stale copy.
    publish("market-gate", gate_frame(63, "YELLOW", computed_at=timezone.now() - timedelta(minutes=1)))
    page.wait_for_function("document.getElementById('gate-level').textContent === '63'", timeout=5_000)
    assert page.locator("#kospi").inner_text() == "2,758.80"
    assert watched.script_errors() == []


def _axis_labels(page) -> list[str]:
    """The x-axis labels uPlot drew on its canvas (the chart records them on its box)."""
    page.wait_for_selector("#chart-gate[data-time-labels]", timeout=15_000)
    page.wait_for_timeout(1_300)  # charts redraw at most once a second
    return page.locator("#chart-gate").get_attribute("data-time-labels").split()


def test_gate_chart_axis_has_distinct_kst_times_and_one_loop_of_the_demo_day(browser, server):
    now = timezone.now().replace(microsecond=0)
    make_gate(55, "YELLOW", as_of=now, computed_at=now)  # one point only
    watched = open_page(browser, server)
    page = watched.page
    labels = _axis_labels(page)
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    kst = timezone.localtime(now).strftime("%H")
    assert any(label.startswith(kst) for label in labels), (labels, kst)  # Asia/Seoul, not UTC
    # The demo's day starts over: a gate an hour "earlier" on the same date starts the chart afresh.
    watched.wait_subscribed("market-gate")
    for minutes in (60, 55):
        frame = gate_frame(50, "YELLOW", computed_at=now - timedelta(minutes=minutes))
        publish("market-gate", frame)
    labels = _axis_labels(page)
    assert len(set(labels)) == len(labels), labels
    # Only the new loop is drawn: every label is about an hour back, none near the first point.
    loop_start = timezone.localtime(now - timedelta(minutes=60))
    for label in labels:
        hours, minutes = (int(part) for part in label.split(":")[:2])
        behind = (loop_start.hour * 60 + loop_start.minute - hours * 60 - minutes) % 1440
        assert behind <= 30 or behind >= 1440 - 30, (labels, loop_start)
    assert watched.script_errors() == []


def test_a_colour_held_by_hysteresis_says_so(browser, server):
    make_gate(72, "YELLOW")
    page = open_page(browser, server).page
    hold = page.locator("#gate-hold")
    assert hold.is_visible()
    assert "GREEN 확인 대기" in hold.inner_text() and "72" in hold.inner_text()
    make_gate(75, "GREEN", computed_at=timezone.now() + timedelta(seconds=1))
    page.reload()
    assert not page.locator("#gate-hold").is_visible()


def test_watchlist_rows_have_names_and_an_unlisted_code_says_so(browser, server):
    Instrument.objects.create(ticker="005930", name="삼성전자", name_en="Samsung Electronics", market="KOSPI")
    Instrument.objects.create(ticker="000660", name="SK하이닉스", name_en="SK hynix", market="KOSPI")
    watched = open_page(browser, server)  # a first visit: PRICE_WATCHLIST, named by the server
    page = watched.page
    row = page.locator("#watch-rows tr[data-ticker='005930']")
    assert row.locator(".name").inner_text() == "삼성전자"
    assert row.locator(".ticker").inner_text() == "005930"
    page.fill("#watch-input", "035720")
    page.press("#watch-input", "Enter")
    page.wait_for_function("""document.querySelector("#watch-rows tr[data-ticker='035720'] .name")
        ?.textContent === '상장 종목이 아닙니다'""", timeout=5_000)
    assert watched.script_errors() == []


def test_english_mode_prices_and_components_without_won_or_raw_keys(browser, server):
    make_gate(40, "YELLOW", components=[*dashboard_support.COMPONENTS, OVERRIDE, *CODED_OVERRIDES])
    make_signals(2)
    watched = open_page(browser, server, locale="en-US")
    page = watched.page
    page.select_option("#lang-select", "en")
    with page.expect_navigation():
        page.click(".lang button[type=submit]")
    entry = page.locator(f"#signal-rows tr[data-ticker='{ticker(0)}'] [data-col='entry']").inner_text()
    assert entry == "₩50,000", entry
    assert "원" not in page.locator("#signal-rows").inner_text()
    components = page.locator("#components").inner_text()
    assert "\noverride" not in f"\n{components}" and "0/0" not in components, components  # no raw key
    assert "Market override · KOSDAQ" in components
    assert "KOSPI in correction (below MA120, 6 distribution days): level capped at 39" in components
    assert "GREEN needs KOSDAQ trend known: level capped at 69" in components
    assert "레벨" not in components and "조정" not in components, components
    empty_filter = page.locator("#filter-grade")
    empty_filter.select_option("S")
    empty_filter.select_option("C")
    page.select_option("#filter-market", "KOSDAQ")
    assert watched.script_errors() == []


def test_coded_override_rows_read_in_korean(browser, server):
    make_gate(40, "YELLOW", components=[*dashboard_support.COMPONENTS, *CODED_OVERRIDES])
    watched = open_page(browser, server)
    page = watched.page
    page.wait_for_function("document.querySelectorAll('#components li').length === 5", timeout=5_000)
    components = page.locator("#components").inner_text()
    assert "시장 국면 보정 · KOSPI" in components
    assert "KOSPI 조정장 (120일선 아래, 분산일 6일): 레벨 상한 39" in components
    assert "GREEN 불가 (KOSDAQ 추세 알 수 없음): 레벨 상한 69" in components
    assert "0/0" not in components and "capped" not in components, components
    assert watched.script_errors() == []


def test_signals_explain_an_empty_list(browser, server):
    page = open_page(browser, server).page
    text = page.locator("#signal-rows").inner_text()
    assert "16:45" in text and "필터" not in text, text  # no scan yet, not a filter problem


def test_phone_shows_each_signal_as_a_card_with_entry_target_stop(browser, server):
    make_signals(3)
    page = open_page(browser, server, viewport=PHONE).page
    row = page.locator(f"#signal-rows tr[data-ticker='{ticker(0)}']")
    for col, value in (("entry", "50,000원"), ("target", "55,000원"), ("stop", "47,000원")):
        cell = row.locator(f"[data-col='{col}']")
        assert cell.inner_text().endswith(value), cell.inner_text()
        label = cell.evaluate("(el) => getComputedStyle(el, '::before').content")
        assert label.strip('"') == {"entry": "진입가", "target": "목표가", "stop": "손절가"}[col], label
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (col, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row.locator("button.expand").click()
    reasons = page.locator(f"#reasons-{ticker(0)}")
    box = reasons.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert "Trend Template 8/8" in reasons.inner_text()
