"""Outcomes through the database: the task after the ingest resolves the open signals,
leaves final ones alone, and the `signal_update` rows carry `outcome` on the wire."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.conf import settings

from marketgate.data.adjustment_store import refresh_adjustments
from marketgate.models import DailyBar, Instrument
from signals.models import SignalOutcome
from signals.outcomes.service import update_outcomes
from signals.push import signal_update_message
from signals.tasks import update_signal_outcomes
from tests import factories

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 2, 3)


def store(ticker: str, *ohlc: tuple[float, float, float, float], halted_at: int | None = None) -> None:
    Instrument.objects.get_or_create(ticker=ticker, defaults={"name": ticker, "market": "KOSPI"})
    rows = []
    for i, (o, h, lo, c) in enumerate(ohlc):
        halted = i == halted_at
        rows.append(DailyBar(instrument_id=ticker, date=DAY0 + timedelta(days=i + 1), open=0 if halted else o,
                             high=0 if halted else h, low=0 if halted else lo, close=c, volume=0 if halted else 1000,
                             halted=halted))
    DailyBar.objects.bulk_create(rows)


def plan(ticker: str, **fields):  # type: ignore[no-untyped-def]
    return factories.signal(ticker, DAY0, entry_price=10_000, stop_loss=9_500, target_price=11_500, **fields)


def test_the_task_resolves_each_signal_and_the_wire_rows_carry_it(clean_redis, django_capture_on_commit_callbacks):
    winner, loser, waiting = plan("000010"), plan("000020"), plan("000030")
    # A halted session (open 0) in the middle is skipped, not read as a crash to zero.
    store("000010", (9_900, 10_100, 9_800, 10_050), (0, 0, 0, 10_050), (10_100, 11_600, 10_000, 11_400),
          halted_at=1)
    store("000020", (9_900, 10_100, 9_800, 10_050), (9_000, 9_100, 8_900, 9_000))
    store("000030", (9_800, 9_900, 9_700, 9_850))
    with django_capture_on_commit_callbacks(execute=True):
        summary = update_signal_outcomes()
    assert "3 signals checked, 3 changed" in summary

    won = SignalOutcome.objects.get(signal=winner)
    assert (won.status, won.fill_price, won.exit_price, won.r_multiple, won.days_held) == ("target", 10_000, 11_500,
                                                                                          3.0, 1)
    lost = SignalOutcome.objects.get(signal=loser)
    assert (lost.status, lost.exit_price, lost.gap, lost.r_multiple) == ("stop", 9_000, True, -2.0)
    assert SignalOutcome.objects.get(signal=waiting).status == "pending"

    rows = {r["ticker"]: r for r in signal_update_message(DAY0)["data"]["signals"]}
    assert rows["000010"]["outcome"]["status"] == "target" and rows["000010"]["outcome"]["r_multiple"] == 3.0
    assert rows["000020"]["outcome"]["gap"] is True
    # The task sent the updated list: the frame on the real Redis carries the outcomes.
    frames = clean_redis.lrange(f"{settings.REALTIME_PREFIX}:topic:signal.vcp:history", 0, -1)
    sent = json.loads(frames[-1])
    assert {r["ticker"]: r["outcome"]["status"] for r in sent["data"]["signals"]} == {
        "000010": "target", "000020": "stop", "000030": "pending"}


def test_final_outcomes_are_not_rewritten_and_a_rerun_changes_nothing():
    plan("000010")
    store("000010", (9_900, 10_100, 9_800, 10_050), (9_000, 9_100, 8_900, 9_000))
    assert update_outcomes().changed == 1
    stopped = SignalOutcome.objects.get()
    # A later bar (say, a correction of the data) cannot reopen a closed trade.
    DailyBar.objects.create(instrument_id="000010", date=DAY0 + timedelta(days=10), open=20_000, high=20_000,
                            low=20_000, close=20_000, volume=1)
    again = update_outcomes()
    assert (again.checked, again.changed) == (0, 0)
    assert SignalOutcome.objects.get().updated_at == stopped.updated_at


def test_pending_becomes_expired_after_the_window_and_open_follows_the_mark(settings):
    settings.SIGNAL_BUY_WINDOW_SESSIONS = 2
    plan("000030")
    plan("000040")
    store("000030", (9_800, 9_900, 9_700, 9_850))
    store("000040", (9_900, 10_100, 9_800, 10_050))
    update_outcomes()
    assert SignalOutcome.objects.get(signal__ticker="000030").status == "pending"
    held = SignalOutcome.objects.get(signal__ticker="000040")
    assert (held.status, held.r_multiple) == ("open", 0.1)
    DailyBar.objects.create(instrument_id="000030", date=DAY0 + timedelta(days=2), open=9_800, high=9_900,
                            low=9_700, close=9_850, volume=1)
    DailyBar.objects.create(instrument_id="000040", date=DAY0 + timedelta(days=2), open=10_050, high=10_600,
                            low=10_000, close=10_500, volume=1)
    update_outcomes()
    assert SignalOutcome.objects.get(signal__ticker="000030").status == "expired"
    held.refresh_from_db()
    assert (held.status, held.r_multiple, held.mfe_r, held.last_close) == ("open", 1.0, 1.2, 10_500)


def test_an_edited_signal_without_room_is_skipped_and_the_others_still_resolve():
    plan("000010")
    factories.signal("000050", DAY0, entry_price=10_000, stop_loss=10_000, target_price=11_000)
    store("000010", (9_900, 10_100, 9_800, 10_050))
    result = update_outcomes()
    assert result.changed == 1
    assert list(SignalOutcome.objects.values_list("signal__ticker", flat=True)) == ["000010"]


def test_a_signal_with_no_bars_yet_has_no_outcome_on_the_wire_until_resolved():
    plan("000060")
    (row,) = signal_update_message(DAY0)["data"]["signals"]
    assert row["outcome"] is None
    update_outcomes()
    (row,) = signal_update_message(DAY0)["data"]["signals"]
    assert row["outcome"]["status"] == "pending" and row["outcome"]["fill_date"] is None


def test_a_split_while_held_is_resolved_in_the_signal_days_shares():
    """A 2:1 split after the fill, detected and stored as the ingest does: the halved raw
    bars are not a stop; the target is reached in the signal day's shares."""
    split = plan("000050")
    store("000050", (9_900, 10_100, 9_800, 10_050), (5_000, 5_200, 4_950, 5_100), (5_300, 5_800, 5_250, 5_700))
    found = refresh_adjustments(["000050"], DAY0, DAY0 + timedelta(days=3))
    assert found[["ex_date", "factor"]].values.tolist() == [[DAY0 + timedelta(days=2), 2.0]]

    update_outcomes()
    out = SignalOutcome.objects.get(signal=split)
    assert (out.status, out.fill_price, out.exit_date, out.exit_price, out.r_multiple) == (
        "target", 10_000, DAY0 + timedelta(days=3), 11_500, 3.0)
    assert out.mae_r == pytest.approx(-0.4)  # the fill bar's 9,800; the ex-date's low is 9,900 in those shares
