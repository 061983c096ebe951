"""Missing inputs are unknown, never guessed: components rescale, no data gives no gate."""

from __future__ import annotations

import math
from datetime import datetime

from marketgate.calendar import KST
from marketgate.gate.formula import IndexHistory, LiveIndex, compute_gate
from tests.factories import LAST_DAY, breadth, index, steady, weekdays


def component(result, name, market="KOSPI"):
    return next(c for c in result.components if c["name"] == name and c["market"] == market)


def test_no_index_data_at_all_gives_no_gate():
    assert compute_gate(None, None, {}, as_of_date=LAST_DAY) is None


def test_empty_or_all_nan_histories_give_no_gate():
    empty = IndexHistory("KOSPI", (), [], [])
    nans = index([math.nan] * 300)
    assert compute_gate(empty, nans, {}, as_of_date=LAST_DAY) is None


def test_a_single_bar_is_not_enough_for_any_component():
    assert compute_gate(index([2650.0]), None, {}, as_of_date=LAST_DAY) is None


def test_missing_breadth_is_unknown_and_the_level_rescales_over_the_rest():
    result = compute_gate(index(steady()), None, {}, as_of_date=LAST_DAY)
    for name in ("breadth", "new_highs_lows"):
        c = component(result, name)
        assert c["points"] is None and c["known"] is False and "unknown" in c["reason"]
    assert result.level == 100  # 65 of 65 known points


def test_a_short_history_leaves_trend_and_drawdown_unknown():
    result = compute_gate(index(steady(60)), None, {}, as_of_date=LAST_DAY)
    assert component(result, "trend")["known"] is False
    assert component(result, "drawdown")["known"] is False
    assert component(result, "distribution")["known"] is True


def test_no_volume_leaves_distribution_unknown_and_no_correction_is_guessed():
    history = index(steady(daily_pct=-0.2), [None] * 300)
    result = compute_gate(history, None, {}, as_of_date=LAST_DAY)
    distribution = component(result, "distribution")
    assert distribution["points"] is None and "no volume" in distribution["reason"]
    assert not result.correction


def test_nan_closes_are_skipped_and_never_reach_a_number():
    closes = steady()
    closes[100] = closes[250] = math.nan
    result = compute_gate(index(closes), None, {}, as_of_date=LAST_DAY)
    assert result.level == 100
    assert all(c["points"] is None or math.isfinite(c["points"]) for c in result.components)


def test_nan_breadth_values_are_unknown_parts():
    b = breadth(pct_above_ma50=math.nan, advances=700, declines=300)
    c = component(compute_gate(index(steady()), None, {"KOSPI": b}, as_of_date=LAST_DAY), "breadth")
    assert (c["points"], c["max"]) == (10, 10)  # A/D only; % above MA50 unknown
    assert "% above MA50 unknown" in c["reason"]


def test_stale_breadth_is_unknown():
    old = breadth(end=weekdays(10)[0])  # ends nine sessions before the gate date
    result = compute_gate(index(steady()), None, {"KOSPI": old}, as_of_date=LAST_DAY)
    assert component(result, "breadth")["known"] is False
    assert component(result, "new_highs_lows")["known"] is False


def test_a_missing_index_renormalises_the_weights():
    result = compute_gate(None, index(steady(), name="KOSDAQ"), {}, as_of_date=LAST_DAY)
    assert result.level == 100 and set(result.indices) == {"KOSDAQ"}


def test_live_without_volume_keeps_the_distribution_count_known():
    closes = [100.0] * 60
    live = LiveIndex(99.0, None, datetime(2025, 6, 16, 10, 0, tzinfo=KST), 0.2)
    result = compute_gate(index(closes), None, {}, as_of_date=LAST_DAY, live={"KOSPI": live})
    distribution = component(result, "distribution")
    assert distribution["known"] and "1 down days without volume" in distribution["reason"]


def test_bars_after_the_gate_date_are_ignored():
    closes = steady()
    later = compute_gate(index(closes), None, {}, as_of_date=weekdays(3)[0])
    assert later.index("KOSPI").close == closes[-3]

