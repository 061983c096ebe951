"""Market Gate components, one rule each (domain.md, "Market Gate")."""

from __future__ import annotations

from datetime import datetime

import pytest

from marketgate.calendar import KST
from marketgate.gate.formula import GateParams, LiveIndex, compute_gate
from tests.factories import LAST_DAY, breadth, index, steady, strong_breadth


def component(result, name, market="KOSPI"):
    return next(c for c in result.components if c["name"] == name and c["market"] == market)


def gate(closes, volumes=None, breadth_history=None, **kwargs):
    history = index(closes, volumes)
    return compute_gate(history, None, {"KOSPI": breadth_history} if breadth_history else {},
                        as_of_date=LAST_DAY, **kwargs)


def test_steady_uptrend_scores_full_trend_and_is_green():
    result = gate(steady())
    trend = component(result, "trend")
    assert (trend["points"], trend["max"]) == (30, 30)
    assert "above MA20/MA60/MA120" in trend["reason"]
    assert result.status == "GREEN" and result.level == 100


def test_close_below_ma20_only_loses_its_seven_points():
    closes = steady()
    closes[-1] = closes[-2] * 0.97  # below MA20 (about 2% under), still above MA60
    trend = component(gate(closes), "trend")
    assert trend["points"] == 23
    assert "below MA20" in trend["reason"]


def test_steady_downtrend_scores_no_trend_and_no_drawdown_points():
    result = gate(steady(daily_pct=-0.2))
    assert component(result, "trend")["points"] == 0
    assert component(result, "drawdown")["points"] == 0
    assert result.status == "RED"


@pytest.mark.parametrize(("drop_pct", "points"), [(3, 15), (7, 10), (15, 5), (25, 0)])
def test_drawdown_bands_from_the_252_session_high(drop_pct, points):
    closes = [100.0] * 300
    closes[-1] = 100.0 * (1 - drop_pct / 100)
    assert component(gate(closes), "drawdown")["points"] == points


def _flat_with_drops(drops: list[tuple[int, float, float]], n: int = 60):
    """Flat closes; drops = (sessions ago, change %, volume) days that break the flat line."""
    closes, volumes = [100.0] * n, [1000.0] * n
    for ago, pct, volume in drops:
        i = n - 1 - ago
        closes[i] = closes[i - 1] * (1 + pct / 100)
        volumes[i] = volume
        # The next day returns to the flat line on normal volume (an up day, never a DD).
    return closes, volumes


def test_down_day_of_at_least_point_two_percent_on_higher_volume_is_a_distribution_day():
    closes, volumes = _flat_with_drops([(2, -0.2, 1500), (5, -0.5, 1500), (8, -1.0, 1500)])
    distribution = component(gate(closes, volumes), "distribution")
    assert (distribution["points"], distribution["max"]) == (15, 20)
    assert "3 distribution days" in distribution["reason"]


def test_small_declines_and_low_volume_declines_are_not_distribution():
    closes, volumes = _flat_with_drops([(2, -0.1, 1500), (5, -1.0, 900)])
    assert component(gate(closes, volumes), "distribution")["reason"].startswith("KOSPI 0 distribution days")


def test_distribution_days_older_than_25_sessions_expire():
    closes, volumes = _flat_with_drops([(25, -0.5, 1500), (26, -0.5, 1500), (30, -0.5, 1500)])
    assert "0 distribution days" in component(gate(closes, volumes), "distribution")["reason"]


def test_distribution_day_expires_once_the_index_closes_five_percent_above_it():
    closes, volumes = _flat_with_drops([(10, -0.5, 1500)])
    closes[-5] = closes[-11] * 1.05
    assert "0 distribution days" in component(gate(closes, volumes), "distribution")["reason"]


@pytest.mark.parametrize(("count", "points"), [(0, 20), (2, 20), (3, 15), (4, 10), (5, 5), (6, 0), (9, 0)])
def test_distribution_points_by_count(count, points):
    closes, volumes = _flat_with_drops([(2 * k + 1, -0.5, 1500) for k in range(count)])
    assert component(gate(closes, volumes), "distribution")["points"] == points


def test_breadth_is_linear_in_pct_above_ma50_and_ad_ratio_ema():
    result = gate(steady(), breadth_history=breadth(pct_above_ma50=45.0, advances=500, declines=500))
    b = component(result, "breadth")
    assert (b["points"], b["max"]) == (12.5, 25)  # 45% -> 7.5/15, A/D 0.50 -> 5/10


@pytest.mark.parametrize(("pct", "points"), [(10.0, 0), (20.0, 0), (70.0, 15), (90.0, 15)])
def test_pct_above_ma50_is_clamped_at_twenty_and_seventy_percent(pct, points):
    b = component(gate(steady(), breadth_history=breadth(pct_above_ma50=pct, advances=None, declines=None)), "breadth")
    assert (b["points"], b["max"]) == (points, 15)


def test_new_highs_lows_positive_net_plus_share_of_new_highs():
    nhnl = component(gate(steady(), breadth_history=breadth(new_highs=40, new_lows=10)), "new_highs_lows")
    assert (nhnl["points"], nhnl["max"]) == (9, 10)  # 5 + 5 x 0.8
    assert "NH-NL +300" in nhnl["reason"]


def test_new_highs_lows_balanced_gets_only_half_the_share_points():
    nhnl = component(gate(steady(), breadth_history=breadth(new_highs=20, new_lows=20)), "new_highs_lows")
    assert nhnl["points"] == 2.5


def test_every_component_has_points_max_reasons_in_english_and_korean():
    result = gate(steady(), breadth_history=strong_breadth())
    assert [c["name"] for c in result.components] == ["trend", "distribution", "breadth", "new_highs_lows", "drawdown"]
    for c in result.to_components_json():
        assert {"name", "points", "max", "reason", "reason_ko", "known", "market"} <= set(c)
        assert c["reason"].startswith("KOSPI ") and c["reason_ko"].startswith("KOSPI ")


def _falling(name: str = "KOSDAQ"):
    # Every session down on rising volume: a distribution day each day, level 0.
    return index(steady(daily_pct=-0.2), [1000.0 + i for i in range(300)], name=name)


# The falling index is in correction, whose cap applies to the combined level; these
# weighting tests switch the correction rule off to see the average alone.
NO_CORRECTION = {"correction_dd_count": 1000}


def test_indices_are_combined_fifty_fifty():
    up, down = index(steady(), name="KOSPI"), _falling()
    result = compute_gate(up, down, {}, as_of_date=LAST_DAY, params=GateParams.from_overrides(NO_CORRECTION))
    assert result.index("KOSPI").level == 100
    assert result.index("KOSDAQ").level == 0
    assert result.level == 50 and result.status == "YELLOW"


def test_index_weights_come_from_params():
    up, down = index(steady(), name="KOSPI"), _falling()
    params = GateParams.from_overrides({"weight_kospi": 0.8, "weight_kosdaq": 0.2, **NO_CORRECTION})
    assert compute_gate(up, down, {}, as_of_date=LAST_DAY, params=params).level == 80


def test_unchanged_index_reports_zero_change_not_none():
    closes = steady()
    closes[-1] = closes[-2]
    assert gate(closes).index("KOSPI").change_pct == 0.0


def test_live_value_is_the_provisional_close_of_today():
    closes = steady()[:-1]  # history ends yesterday
    live = LiveIndex(closes[-1] * 1.01, 500.0, datetime(2025, 6, 16, 11, 0, tzinfo=KST), 0.3)
    history = index(closes, end=LAST_DAY.replace(day=13))
    result = compute_gate(history, None, {}, as_of_date=LAST_DAY, live={"KOSPI": live})
    summary = result.index("KOSPI")
    assert summary.date == LAST_DAY and summary.close == pytest.approx(closes[-1] * 1.01)
    assert summary.change_pct == 1.0
    assert result.provisional and summary.provisional


def _intraday(cumulative_volume: float, elapsed: float):
    closes, volumes = [100.0] * 60, [1000.0] * 60
    live = LiveIndex(99.0, cumulative_volume, datetime(2025, 6, 16, 12, 0, tzinfo=KST), elapsed)
    return compute_gate(index(closes, volumes), None, {}, as_of_date=LAST_DAY, live={"KOSPI": live})


def test_intraday_distribution_day_compares_cumulative_volume_with_prorated_yesterday():
    distribution = component(_intraday(600.0, 0.5), "distribution")  # 600 > 1000 x 0.5
    assert "1 distribution days" in distribution["reason"]
    assert "(today provisional)" in distribution["reason"]


def test_intraday_volume_below_the_prorated_pace_is_not_distribution():
    assert "0 distribution days" in component(_intraday(400.0, 0.5), "distribution")["reason"]


def test_a_finished_session_is_not_provisional():
    assert not gate(steady()).provisional
