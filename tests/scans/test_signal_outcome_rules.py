"""Each outcome rule on hand-built bars, with exact numbers.

The plan used throughout: entry 10,000, stop 9,500 (risk 500 a share = 1R), target 11,500.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from signals.outcomes.rules import bars_from_rows, outcome_bars, resolve, share_multiplier

ENTRY, STOP, TARGET = 10_000, 9_500, 11_500
DAY0 = date(2025, 3, 3)


def bars(*ohlc: tuple[float, float, float, float]):
    return bars_from_rows([(DAY0 + timedelta(days=i + 1), *row) for i, row in enumerate(ohlc)])


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def test_fill_through_the_entry_then_target_at_the_target():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_800, 9_900, 9_700, 9_850),    # below the entry: no fill
        (9_900, 10_200, 9_850, 10_100),  # trades through 10,000: filled at the entry
        (10_100, 10_900, 9_900, 10_800),
        (10_800, 11_600, 10_700, 11_400),  # high 11,600 >= target: exit 11,500
        (11_400, 12_000, 11_300, 11_900),  # after the exit: ignored
    ))
    assert out.status == "target"
    assert (out.fill_date, out.fill_price) == (day(2), 10_000)
    assert (out.exit_date, out.exit_price, out.gap) == (day(4), 11_500, False)
    assert out.r_multiple == pytest.approx(3.0)
    assert out.mfe_r == pytest.approx(3.0)  # the exit bar counts only its exit price
    assert out.mae_r == pytest.approx(-0.3)  # low 9,850 on the fill bar: -150 / 500
    assert out.days_held == 2
    assert (out.last_date, out.last_close, out.sessions_seen) == (day(5), 11_900, 5)


def test_a_gap_up_through_the_entry_fills_at_the_open():
    out = resolve(ENTRY, STOP, TARGET, bars((10_300, 10_400, 10_250, 10_350)))
    assert out.status == "open"
    assert out.fill_price == 10_300
    assert out.r_multiple == pytest.approx((10_350 - 10_300) / 500)  # 0.1R marked to market
    assert out.mfe_r == pytest.approx(0.2) and out.mae_r == pytest.approx(-0.1)
    assert out.days_held == 0


def test_stop_exits_at_the_stop():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_950, 10_050, 9_900, 10_000),  # filled at 10,000
        (10_000, 10_100, 9_400, 9_450),  # low 9,400 <= 9,500: out at 9,500
    ))
    assert out.status == "stop"
    assert (out.exit_date, out.exit_price, out.gap) == (day(2), 9_500, False)
    assert out.r_multiple == pytest.approx(-1.0)
    assert out.mfe_r == pytest.approx(0.1)  # high 10,050 while held
    assert out.mae_r == pytest.approx(-1.0)
    assert out.days_held == 1


def test_a_gap_below_the_stop_fills_at_the_open_not_the_stop():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_950, 10_100, 9_900, 10_050),
        (9_200, 9_300, 9_000, 9_100),  # opens at 9,200, under the stop
    ))
    assert out.status == "stop"
    assert (out.exit_price, out.gap) == (9_200, True)
    assert out.r_multiple == pytest.approx(-1.6)
    assert out.mae_r == pytest.approx(-1.6)


def test_a_bar_holding_both_stop_and_target_resolves_to_the_stop():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_950, 10_100, 9_900, 10_050),
        (10_050, 11_700, 9_400, 10_000),  # both 9,500 and 11,500 inside the range
    ))
    assert out.status == "stop"
    assert out.exit_price == 9_500 and out.r_multiple == pytest.approx(-1.0)
    assert out.mfe_r == pytest.approx(0.2)  # the tie bar's high is not counted


def test_the_fill_bar_itself_can_stop_out():
    out = resolve(ENTRY, STOP, TARGET, bars((9_600, 10_100, 9_450, 9_500)))
    assert out.status == "stop" and out.exit_price == 9_500 and not out.gap
    assert out.r_multiple == pytest.approx(-1.0) and out.days_held == 0


def test_a_gap_up_through_the_target_exits_at_the_open():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_950, 10_100, 9_900, 10_050),
        (12_000, 12_500, 11_900, 12_300),
    ))
    assert out.status == "target" and out.gap
    assert out.exit_price == 12_000 and out.r_multiple == pytest.approx(4.0)


def test_unfilled_after_the_buy_window_expires_and_is_pending_before():
    quiet = [(9_800, 9_900, 9_700, 9_850)] * 5
    assert resolve(ENTRY, STOP, TARGET, bars(*quiet[:4]), buy_window=5).status == "pending"
    expired = resolve(ENTRY, STOP, TARGET, bars(*quiet, (9_900, 10_500, 9_900, 10_400)), buy_window=5)
    assert expired.status == "expired"  # the 6th session's rally is after the window
    assert expired.fill_date is None and expired.r_multiple is None and expired.sessions_seen == 6
    filled_last_day = resolve(ENTRY, STOP, TARGET, bars(*quiet[:4], (9_900, 10_000, 9_900, 9_950)), buy_window=5)
    assert filled_last_day.status == "open" and filled_last_day.fill_date == day(5)
    assert filled_last_day.r_multiple == pytest.approx(-0.1)


def test_no_bars_yet_is_pending_with_nothing_known():
    out = resolve(ENTRY, STOP, TARGET, bars())
    assert out.status == "pending" and out.sessions_seen == 0 and out.last_date is None


def test_open_position_is_marked_to_market_with_its_excursions():
    out = resolve(ENTRY, STOP, TARGET, bars(
        (9_950, 10_100, 9_900, 10_050),
        (10_050, 10_800, 9_700, 10_600),
        (10_600, 10_700, 10_200, 10_250),
    ))
    assert out.status == "open" and out.exit_date is None
    assert out.r_multiple == pytest.approx(0.5)
    assert out.mfe_r == pytest.approx(1.6) and out.mae_r == pytest.approx(-0.6)
    assert out.days_held == 2


@pytest.mark.parametrize(("entry", "stop", "target"), [(10_000, 10_000, 11_000), (10_000, 9_000, 9_500)])
def test_a_plan_without_room_is_refused_by_name(entry, stop, target):
    with pytest.raises(ValueError, match="stop < entry < target"):
        resolve(entry, stop, target, bars())


def test_a_split_while_held_is_read_in_the_signal_days_shares_not_as_a_stop():
    """A 2:1 split two sessions after the fill halves the raw prices: raw, the ex-date's open
    5,100 is a gap through the 9,500 stop; in the signal day's shares it is 10,200."""
    raw = bars(
        (9_900, 10_100, 9_800, 10_050),  # filled at the entry
        (10_050, 10_300, 9_900, 10_200),
        (5_100, 5_200, 5_000, 5_150),  # ex-date: x2 = 10,200 / 10,400 / 10,000 / 10,300
        (5_300, 5_800, 5_250, 5_700),  # x2 high 11,600 >= target
    )
    split = (np.array([day(3)], dtype="datetime64[D]"), np.array([2.0]))

    naive = resolve(ENTRY, STOP, TARGET, raw)
    assert (naive.status, naive.exit_price, naive.gap) == ("stop", 5_100, True)  # what the adjustment prevents

    out = resolve(ENTRY, STOP, TARGET, outcome_bars(raw, DAY0, split))
    assert out.status == "target"
    assert (out.fill_date, out.fill_price, out.exit_date, out.exit_price) == (day(1), 10_000, day(4), 11_500)
    assert out.r_multiple == pytest.approx(3.0)
    assert out.mae_r == pytest.approx(-0.4)  # the fill bar's 9,800; the ex-date's low is 10,000
    # A split on or before the signal day is already in the day's prices: nothing to re-express.
    assert outcome_bars(raw, day(3), split).close.tolist() == [5_700]
    assert share_multiplier(raw.dates[3:], day(3), split).tolist() == [1.0]


def test_several_actions_compound_and_only_those_after_the_signal_day_count():
    dates = np.array([day(1), day(2), day(3), day(4)], dtype="datetime64[D]")
    actions = (np.array([DAY0, day(2), day(4)], dtype="datetime64[D]"), np.array([5.0, 2.0, 0.1]))
    # DAY0's 5:1 is already in the signal day's prices; 2:1 on day 2, a 1:10 reverse split on day 4.
    assert share_multiplier(dates, DAY0, actions).tolist() == pytest.approx([1.0, 2.0, 2.0, 0.2])
    assert share_multiplier(dates, DAY0, None).tolist() == [1.0] * 4
