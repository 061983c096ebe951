"""A gate older than its period plus grace is stale during a session, never after it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async

from marketgate.calendar import KST
from marketgate.gate.freshness import gate_is_stale
from tests import factories
from tests.wsclient import connect, recv, subscribe

IN_SESSION = datetime(2025, 6, 16, 11, 0, tzinfo=KST)  # a Monday, 11:00 KST
AFTER_CLOSE = datetime(2025, 6, 16, 17, 0, tzinfo=KST)
HOLIDAY = datetime(2025, 6, 3, 11, 0, tzinfo=KST)  # election day: no session
# The period is the update-market-gate schedule in the database (gate_period.py).
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def real_clock(settings):
    settings.DEMO_CLOCK = "real"
    settings.GATE_PERIOD_SECONDS = 300
    settings.GATE_STALE_GRACE_SECONDS = 120


class Row:
    def __init__(self, computed_at: datetime) -> None:
        self.computed_at = computed_at
        self.trading_date = computed_at.date()


def test_fresh_within_period_plus_grace():
    assert not gate_is_stale(Row(IN_SESSION - timedelta(seconds=419)), IN_SESSION)


def test_stale_past_period_plus_grace_in_session():
    assert gate_is_stale(Row(IN_SESSION - timedelta(seconds=421)), IN_SESSION)


def test_the_last_row_after_the_close_is_not_stale_but_closed():
    assert not gate_is_stale(Row(AFTER_CLOSE.replace(hour=15, minute=25)), AFTER_CLOSE)


def test_a_holiday_never_makes_a_gate_stale():
    assert not gate_is_stale(Row(HOLIDAY - timedelta(days=3)), HOLIDAY)


@pytest.mark.django_db(transaction=True)
async def test_stale_and_session_are_on_the_wire_in_the_snapshot(clean_redis):
    with time_machine.travel(IN_SESSION, tick=True):
        await sync_to_async(factories.gate)(computed_at=IN_SESSION - timedelta(minutes=10),
                                            as_of=IN_SESSION - timedelta(minutes=10))
        comm, _ = await connect()
        await subscribe(comm, "market-gate")
        snap = await recv(comm)
        await comm.disconnect()
    assert snap["data"]["stale"] is True and snap["data"]["session"] == "open"


@pytest.mark.django_db(transaction=True)
async def test_after_the_close_the_snapshot_reads_closed_and_not_stale(clean_redis):
    with time_machine.travel(AFTER_CLOSE, tick=True):
        await sync_to_async(factories.gate)(computed_at=AFTER_CLOSE.replace(hour=15, minute=25),
                                            as_of=AFTER_CLOSE.replace(hour=15, minute=25))
        comm, _ = await connect()
        await subscribe(comm, "market-gate")
        snap = await recv(comm)
        await comm.disconnect()
    assert snap["data"]["stale"] is False and snap["data"]["session"] == "closed"
