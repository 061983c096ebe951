"""In session without a live index the gate badge says "전일 종가 기준", never LIVE."""

from __future__ import annotations

import pytest

from stockgate.realtime.broadcast import publish
from tests.dashboard_support import gate_frame, open_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _previous_close(level: int) -> dict:
    frame = gate_frame(level, "YELLOW")
    frame["data"]["basis"] = "previous_close"
    return frame


def test_a_previous_close_gate_in_session_is_labelled_so(browser, server):
    watched = open_page(browser, server)
    page = watched.page
    watched.wait_subscribed("market-gate")
    publish("market-gate", _previous_close(57))
    page.wait_for_function("document.getElementById('gate-level').textContent === '57'", timeout=10_000)
    badge = page.locator("#freshness")
    assert badge.inner_text() == "전일 종가 기준" and badge.get_attribute("data-fresh") == "previous"
    # A live row afterwards is LIVE again.
    live = gate_frame(58, "YELLOW")
    live["data"]["basis"] = "live"
    publish("market-gate", live)
    page.wait_for_function("document.getElementById('freshness').textContent === 'LIVE'", timeout=10_000)


def test_english_label(browser, server):
    watched = open_page(browser, server, locale="en-US")
    watched.wait_subscribed("market-gate")
    publish("market-gate", _previous_close(61))
    watched.page.wait_for_function("document.getElementById('freshness').textContent === 'Previous close'",
                                   timeout=10_000)
