"""The dashboard shows signal reasons in Korean, English after the language switch (both
from the same stored row), live updates included, and says the score is out of 100."""

from __future__ import annotations

import pytest
from django.utils import timezone

from signals.models import Signal
from signals.push import broadcast_signals
from signals.scanner.reason_text import reason
from tests.dashboard_support import open_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CODES = [
    reason("trend_template", met=8, total=8, relaxed_rs=None),
    reason("contractions", count=3, depths=[22.4, 11.2, 4.0]),
    reason("stop", stop=69100, pct=8.0),
]


def _signal(ticker: str = "005930") -> Signal:
    return Signal.objects.create(
        ticker=ticker, name="삼성전자", market="KOSPI", score=88, grade="S", entry_price=75100, target_price=90200,
        stop_loss=69100, position_size=100, reasons=["Trend Template 8/8"], reason_codes=CODES,
        signal_date=timezone.localdate(),
    )


def _reasons(page, ticker: str) -> str:  # type: ignore[no-untyped-def]
    page.locator(f"tr[data-ticker='{ticker}'] button.expand").click()
    return page.locator(f"#reasons-{ticker}").inner_text()


def test_reasons_are_korean_by_default_and_english_after_the_switch(browser, server):
    _signal()
    page = open_page(browser, server).page
    assert "/100" in page.locator("th[data-key='score']").inner_text()
    text = _reasons(page, "005930")
    assert "트렌드 템플릿 8/8" in text and "수축 3회 22%->11%->4%" in text and "손절 69,100원 (-8.0%)" in text
    page.select_option("#lang-select", "en")
    page.click(".lang button[type=submit]")
    page.wait_for_selector("html[lang='en']")
    text = _reasons(page, "005930")
    assert "Trend Template 8/8" in text and "3 contractions 22%->11%->4%" in text and "Stop 69,100 (-8.0%)" in text


def test_a_live_signal_update_shows_korean_reasons(browser, server):
    watched = open_page(browser, server)
    page = watched.page
    page.wait_for_selector("#conn[data-state='connected']", timeout=10_000)
    watched.wait_subscribed("signal:vcp")
    _signal("000660")
    broadcast_signals(timezone.localdate())
    page.wait_for_selector("tr[data-ticker='000660']", timeout=5_000)
    assert "트렌드 템플릿 8/8" in _reasons(page, "000660")
