"""The walk-forward backtest through the database and `manage.py backtest`.

No look-ahead: for every session of the range, the backtest's signals equal what
`manage.py scan --date <session>` finds on a database holding only the bars up to it,
although the backtest ran with the later bars (a breakout, then the target) loaded.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from marketgate.data.adjustment_store import refresh_adjustments
from marketgate.models import DailyBar
from signals.backtest.data import run_backtest
from signals.models import Signal
from tests import factories
from tests.scan_market import AS_OF, vcp_market

pytestmark = pytest.mark.django_db

FUTURE = list(pd.bdate_range(AS_OF + timedelta(days=1), periods=6).date)
# VCP001 after the scan date: through the 47,050 entry, then up to the 56,500 target.
VCP_AFTER = [(46_500, 47_500, 46_400, 47_300), (47_300, 49_000, 47_000, 48_800), (48_800, 52_000, 48_500, 51_500),
             (51_500, 54_000, 51_000, 53_800), (53_800, 57_000, 53_500, 56_800), (56_800, 57_500, 56_000, 57_000)]


def market_with_a_future() -> list[date]:
    """The textbook VCP market plus six later sessions; returns the sessions backtested."""
    vcp_market(kosdaq_vcp=True)
    last = {t: c for t, c in DailyBar.objects.filter(date=AS_OF).values_list("instrument_id", "close")}
    rows = []
    for i, day in enumerate(FUTURE):
        for ticker, close in last.items():
            o, h, lo, c = VCP_AFTER[i] if ticker == "VCP001" else (close, close, close, close)
            rows.append(DailyBar(instrument_id=ticker, date=day, open=o, high=h, low=lo, close=c, volume=900_000))
    DailyBar.objects.bulk_create(rows)
    sessions = sorted(DailyBar.objects.filter(date__lte=FUTURE[1]).values_list("date", flat=True).distinct())
    return sessions[-5:]  # three sessions up to the scan date, two after it


def scan_json(day: date) -> dict:
    out = io.StringIO()
    call_command("scan", "--date", day.isoformat(), "--json", "--dry-run", "--no-progress", stdout=out,
                 stderr=io.StringIO())
    return json.loads(out.getvalue())


def key(row: dict) -> tuple:
    return (row["ticker"], row["grade"], row["score"], row["entry_price"], row["stop_loss"], row["target_price"],
            row["position_size"])


def test_backtest_signals_equal_a_scan_of_each_session_on_only_the_bars_up_to_it():
    sessions = market_with_a_future()
    factories.gate(status="GREEN", level=80, trading_date=AS_OF)
    factories.gate(status="RED", level=20, trading_date=sessions[1])
    run = run_backtest(sessions[0], sessions[-1], buy_window=5)
    assert run.sessions == sessions

    emitted = 0
    for day in reversed(sessions):
        DailyBar.objects.filter(date__gt=day).delete()  # the database as it stood that evening
        expected = [key(s) for s in scan_json(day)["signals"]]
        got = [(t.ticker, t.grade, t.score, t.entry, t.stop, t.target, t.size) for t in run.signals_on(day)]
        assert got == expected, day
        emitted += len(got)
    assert emitted >= 2  # not vacuous: the VCPs are found, so the comparison compared something

    (on_day,) = [t for t in run.signals_on(AS_OF) if t.ticker == "VCP001"]
    assert (on_day.gate, on_day.grade, on_day.size) == ("GREEN", "S", 425)
    # ...and resolved on the later bars it could not see when it was found.
    o = on_day.outcome
    assert (o.status, o.fill_date, o.fill_price, o.exit_date, o.exit_price) == ("target", FUTURE[0], 47_050,
                                                                                FUTURE[4], 56_500)
    assert o.r_multiple == pytest.approx((56_500 - 47_050) / (47_050 - 45_050))


def test_the_red_gate_makes_a_signal_watch_only_and_the_gate_off_run_keeps_it():
    sessions = market_with_a_future()
    factories.gate(status="RED", level=20, trading_date=AS_OF)
    run = run_backtest(AS_OF, AS_OF)
    (vcp,) = [t for t in run.trades if t.ticker == "VCP001"]
    assert (vcp.gate, vcp.size, vcp.raw_size, vcp.raw_grade) == ("RED", 0, 425, "S")
    assert sessions[-1] > AS_OF and run.data_end == FUTURE[-1]


def test_the_command_prints_tables_or_json_and_saves_nothing(tmp_path):
    sessions = market_with_a_future()
    out = io.StringIO()
    call_command("backtest", "--from", sessions[0].isoformat(), "--to", sessions[-1].isoformat(), "--json",
                 "--charts", str(tmp_path), "--name", "t", stdout=out, stderr=io.StringIO())
    data = json.loads(out.getvalue())
    assert data["sessions"] == 5 and data["signals_emitted"] >= 2
    assert data["gate_sources"] == {"stored": 0, "recomputed": 0, "none": 5}  # no gate: treated as YELLOW
    first = [t for t in data["trades"] if not t["repeat"] and t["ticker"] == "VCP001"][0]
    assert first["status"] == "target" and first["grade"] == "B"  # capped: unknown gate
    assert data["gate_off"]["all"]["win_rate"] is not None
    assert (tmp_path / "t-equity.png").stat().st_size > 5_000 and (tmp_path / "t-r.png").stat().st_size > 5_000
    assert not Signal.objects.exists()

    text = io.StringIO()
    call_command("backtest", "--from", sessions[0].isoformat(), "--to", sessions[-1].isoformat(), stdout=text)
    assert "| gate on |" in text.getvalue() and "By gate colour at the signal" in text.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2025-06-20", "--to", "2025-06-01"], "is before --from"),
    (["--from", "1999-01-01", "--to", "1999-02-01"], "No daily bars between 1999-01-01 and 1999-02-01"),
])
def test_bad_ranges_fail_with_a_clear_message(args, message):
    market_with_a_future()
    with pytest.raises(CommandError, match=message):
        call_command("backtest", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert DailyBar.objects.filter(date=AS_OF).exists()  # nothing touched


def test_bad_arguments_are_refused_by_the_parser():
    with pytest.raises(CommandError, match="--to"):
        call_command("backtest", "--from", "2025-06-01", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="date"):
        call_command("backtest", "--from", "June", "--to", "2025-06-01", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_on_a_terminal_the_command_draws_a_progress_bar_and_prints_the_tables():
    import os
    import pty
    import subprocess
    import sys

    from tests.processes import REPO, process_env

    sessions = market_with_a_future()
    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "backtest", "--from", sessions[0].isoformat(), "--to",
             sessions[-1].isoformat()],
            cwd=REPO, env=process_env(), stdout=subprocess.PIPE, stderr=slave, timeout=240, text=True,
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    text = drawn.decode("utf-8", "replace")
    assert "\rbacktest [" in text and "100%" in text and sessions[-1].isoformat() in text
    assert "| gate off |" in done.stdout


def test_a_split_after_the_signal_is_adjusted_per_session_and_not_read_as_a_stop():
    """VCP001 splits 2:1 on FUTURE[2], while the trade is held. Each session's signals still
    equal a scan of that session on the bars up to it (the scans after the ex-date read the
    split-adjusted history, those before it do not), and the outcome is resolved in the
    signal day's shares: the same target exit as without the split."""
    sessions = market_with_a_future()
    split_day = FUTURE[2]
    halved = DailyBar.objects.filter(instrument_id="VCP001", date__gte=split_day)
    for bar in halved:
        bar.open, bar.high, bar.low, bar.close = bar.open / 2, bar.high / 2, bar.low / 2, bar.close / 2
        bar.volume *= 2
    DailyBar.objects.bulk_update(halved, ["open", "high", "low", "close", "volume"])
    stored = refresh_adjustments(["VCP001"], FUTURE[0], FUTURE[-1])
    assert stored[["ex_date", "factor"]].values.tolist() == [[split_day, 2.0]]
    factories.gate(status="GREEN", level=80, trading_date=AS_OF)
    sessions = [*sessions, FUTURE[2], FUTURE[3]]
    run = run_backtest(sessions[0], sessions[-1], buy_window=5)

    (on_day,) = [t for t in run.signals_on(AS_OF) if t.ticker == "VCP001"]
    o = on_day.outcome
    assert (o.status, o.fill_date, o.fill_price, o.exit_date, o.exit_price) == ("target", FUTURE[0], 47_050,
                                                                                FUTURE[4], 56_500)
    for day in reversed(sessions):
        DailyBar.objects.filter(date__gt=day).delete()
        expected = [key(s) for s in scan_json(day)["signals"]]
        got = [(t.ticker, t.grade, t.score, t.entry, t.stop, t.target, t.size) for t in run.signals_on(day)]
        assert got == expected, day
