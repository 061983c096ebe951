"""Gate rows in the database: ordered by trading date then slot, hysteresis advanced by
final rows only, in session either the feed's live index or an honest previous close.

Real PostgreSQL and Redis; the feed's index values are written where the feed writes
them (its Redis hash), the csv provider has no live index of its own."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
import time_machine
from django.core.management import call_command

from marketgate import calendar
from marketgate.calendar import KST
from marketgate.feeds.quotes import index_key
from marketgate.gate.service import compute_and_save, previous_gate
from marketgate.models import IndexBar, MarketGate
from stockgate.realtime.redis_conn import sync_client
from tests.gate.test_gate_real_history_db import imported  # noqa: F401  (fixture)

TODAY = date(2025, 6, 16)
YESTERDAY = date(2025, 6, 13)
IN_SESSION = datetime(2025, 6, 16, 11, 0, tzinfo=KST)


@pytest.fixture(autouse=True)
def csv_provider(settings, tmp_path, clean_redis):
    settings.MARKET_DATA_PROVIDER = "csv"  # no live index of its own
    settings.MARKET_DATA_CSV_DIR = tmp_path
    settings.GATE_PERIOD_SECONDS = 300
    settings.GATE_PARAMS = {}


@pytest.fixture
def history(db):
    days, day = [], YESTERDAY
    while len(days) < 300:
        if calendar.is_session(day):
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    rng = np.random.default_rng(3)
    for name, start in (("KOSPI", 2500.0), ("KOSDAQ", 800.0)):
        closes = start * np.cumprod(1 + rng.normal(0.0008, 0.008, len(days)))
        IndexBar.objects.bulk_create(
            IndexBar(index=name, date=d, close=float(c), volume=4e8) for d, c in zip(days, closes, strict=True))
    return days


def publish(values: dict[str, float], as_of: datetime, received: datetime | None = None) -> None:
    """What the price feed's index loop stores (feeds/runner.py -> quotes.store_index)."""
    for name, value in values.items():
        message = {"type": "index_update", "data": {"index": value, "change": 0.0, "change_rate": 0.0,
                                                   "volume": 3e8, "as_of": as_of.isoformat(), "stale": False},
                   "source": "kis", "received_at": (received or as_of).isoformat()}
        sync_client().hset(index_key(), name, json.dumps(message))


def run_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return compute_and_save()


@pytest.mark.django_db
def test_in_session_the_gate_uses_the_feeds_values_and_their_as_of(history):
    as_of = IN_SESSION - timedelta(seconds=20)
    publish({"KOSPI": 2711.5, "KOSDAQ": 801.25}, as_of, received=IN_SESSION - timedelta(seconds=5))
    row = run_at(IN_SESSION).saved
    assert row.basis == "live" and row.provisional and row.trading_date == TODAY
    assert (row.kospi, row.kosdaq, row.as_of) == (2711.5, 801.25, as_of)
    assert row.source == "kis" and row.to_data(IN_SESSION)["basis"] == "live"


@pytest.mark.django_db
@pytest.mark.parametrize("feed", ["none", "yesterday", "old", "one index"])
def test_without_a_live_index_the_row_is_the_previous_close_labelled_so(history, feed):
    if feed == "yesterday":
        publish({"KOSPI": 2700.0, "KOSDAQ": 800.0}, datetime(2025, 6, 13, 15, 29, tzinfo=KST), IN_SESSION)
    elif feed == "old":  # the feed stopped 10 minutes ago
        publish({"KOSPI": 2700.0, "KOSDAQ": 800.0}, IN_SESSION - timedelta(minutes=10))
    elif feed == "one index":
        publish({"KOSPI": 2700.0}, IN_SESSION)
    outcome = run_at(IN_SESSION)
    row = outcome.saved
    last = IndexBar.objects.get(index="KOSPI", date=YESTERDAY)
    assert row.basis == "previous_close" and not row.provisional
    assert row.trading_date == YESTERDAY, "never a row dated today holding yesterday's data"
    assert row.as_of == datetime(2025, 6, 13, 15, 30, tzinfo=KST)
    assert row.kospi == round(last.close, 2)
    assert row.to_data(IN_SESSION)["basis"] == "previous_close" and not row.to_data(IN_SESSION)["stale"]
    # The final row of the previous session was computed on the way (it was missing).
    final = MarketGate.objects.final().get(trading_date=YESTERDAY)
    assert (final.status, final.level, final.kospi) == (row.status, row.level, row.kospi)
    assert not MarketGate.objects.filter(trading_date=TODAY).exists()


@pytest.mark.django_db
def test_hysteresis_counts_sessions_not_five_minute_runs(history, settings):
    publish({"KOSPI": 2711.5, "KOSDAQ": 801.25}, IN_SESSION, IN_SESSION)
    level = run_at(IN_SESSION).saved.level
    MarketGate.objects.all().delete()
    # The raw colour is GREEN by 1 point (inside the 3-point band) after a final YELLOW.
    settings.GATE_PARAMS = {"threshold_green": level - 1}
    MarketGate.objects.create(status="YELLOW", level=level - 10, trading_date=YESTERDAY, basis="close",
                              as_of=datetime(2025, 6, 13, 15, 30, tzinfo=KST), provisional=False,
                              computed_at=datetime(2025, 6, 13, 16, 10, tzinfo=KST))
    statuses = []
    for minutes in (0, 5, 10, 15):
        moment = IN_SESSION + timedelta(minutes=minutes)
        publish({"KOSPI": 2711.5, "KOSDAQ": 801.25}, moment, moment)
        row = run_at(moment).saved
        statuses.append((row.status, row.pending_status, row.pending_count))
    assert statuses == [("YELLOW", "GREEN", 1)] * 4, "runs within a session never advance the count"


@pytest.mark.django_db
def test_final_rows_chain_by_session_and_backfills_see_no_later_day(history, settings):
    days = history[-3:]
    for day in days:
        compute_and_save(datetime(2025, 6, 16, 16, 0, tzinfo=KST), on_date=day)
    rows = list(MarketGate.objects.latest_first())
    assert [r.trading_date for r in rows] == list(reversed(days))
    # A backfill of an older day: previous is the newest final row before it, not the latest row.
    older = history[-30]
    assert previous_gate(older) is None
    outcome = compute_and_save(datetime(2025, 6, 16, 16, 5, tzinfo=KST), on_date=older)
    assert MarketGate.latest().trading_date == days[-1]
    assert previous_gate(days[0]).status == outcome.saved.status


@pytest.mark.realdata
@pytest.mark.django_db
def test_a_2020_backfill_into_a_database_with_a_2026_row_leaves_the_api_on_2026(imported, client):  # noqa: F811
    call_command("compute_gate", date="2026-03-17", stdout=StringIO())
    current = client.get("/api/market-gate").json()["data"]
    for day in ("2020-03-18", "2020-03-19", "2020-03-20"):
        call_command("compute_gate", date=day, stdout=StringIO())
    after = client.get("/api/market-gate").json()["data"]
    assert current["trading_date"] == after["trading_date"] == "2026-03-17"
    assert after == current | {"stale": after["stale"], "session": after["session"]}
    # The 2020 rows' hysteresis was seeded from 2020, not from the 2026 row.
    alone = MarketGate.objects.get(trading_date=date(2020, 3, 19))
    assert MarketGate.objects.final_before(date(2020, 3, 19)).trading_date == date(2020, 3, 18)
    assert alone.status == "RED"


@pytest.mark.realdata
@pytest.mark.django_db
def test_pinned_crash_and_recovery_dates_keep_their_colours(imported):  # noqa: F811
    for day, colour in (("2008-10-24", "RED"), ("2009-04-30", "GREEN")):
        out = StringIO()
        call_command("compute_gate", date=day, dry_run=True, json=True, stdout=out)
        assert json.loads(out.getvalue())["status"] == colour, day
    assert not MarketGate.objects.exists()
