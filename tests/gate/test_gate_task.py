"""update_market_gate: in session one row per schedule slot; outside it, nothing new."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
import time_machine

from marketgate import calendar
from marketgate.calendar import KST
from marketgate.models import IndexBar, MarketGate
from marketgate.tasks import update_market_gate

pytestmark = pytest.mark.django_db

IN_SESSION = datetime(2025, 6, 16, 11, 0, tzinfo=KST)
AFTER_CLOSE = datetime(2025, 6, 16, 17, 0, tzinfo=KST)


@pytest.fixture(autouse=True)
def real_clock_demo(settings):
    settings.MARKET_DATA_PROVIDER = "demo"
    settings.DEMO_CLOCK = "real"
    settings.GATE_PERIOD_SECONDS = 300


@pytest.fixture
def index_history():
    days, day = [], date(2025, 6, 13)
    while len(days) < 300:
        if calendar.is_session(day):
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    rng = np.random.default_rng(1)
    for name, start in (("KOSPI", 2500.0), ("KOSDAQ", 800.0)):
        closes = start * np.cumprod(1 + rng.normal(0.0005, 0.01, len(days)))
        IndexBar.objects.bulk_create(
            IndexBar(index=name, date=d, close=float(c), volume=4e8) for d, c in zip(days, closes, strict=True)
        )


def test_in_session_it_saves_a_provisional_row(index_history):
    with time_machine.travel(IN_SESSION, tick=False):
        update_market_gate()
    row = MarketGate.objects.get()
    assert row.session == "open" and row.provisional
    assert row.trading_date == date(2025, 6, 16)
    assert row.as_of == IN_SESSION
    assert row.status in ("GREEN", "YELLOW", "RED") and 0 <= row.level <= 100
    assert row.components and all("reason" in c for c in row.components)


def test_a_duplicated_run_in_the_same_slot_adds_no_row(index_history):
    with time_machine.travel(IN_SESSION, tick=False):
        update_market_gate()
    with time_machine.travel(IN_SESSION + timedelta(seconds=40), tick=False):
        update_market_gate()  # beat restarted and sent it again within the period
    assert MarketGate.objects.count() == 1
    with time_machine.travel(IN_SESSION + timedelta(minutes=5), tick=False):
        update_market_gate()
    assert MarketGate.objects.count() == 2


def test_after_the_close_it_saves_nothing_and_the_last_row_reads_closed(index_history):
    with time_machine.travel(IN_SESSION, tick=False):
        update_market_gate()
    with time_machine.travel(AFTER_CLOSE, tick=False):
        reason = update_market_gate()
        assert MarketGate.objects.count() == 1
        data = MarketGate.latest().to_data()
    assert "closed" in reason
    assert data["session"] == "closed" and data["stale"] is False


def test_with_no_index_data_there_is_no_row_never_a_default():
    with time_machine.travel(IN_SESSION, tick=False):
        reason = update_market_gate()
    assert not MarketGate.objects.exists()
    assert "no index data" in reason
