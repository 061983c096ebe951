"""Stop, target and position size: risk a fixed fraction of equity, never more than the cap."""

from __future__ import annotations

from signals.scanner.params import ScanParams
from signals.scanner.sizing import TradePlan, plan_trade, position_size

PARAMS = ScanParams()


def _plan(pivot_high: float, last_low: float, params: ScanParams = PARAMS) -> TradePlan:
    plan = plan_trade(pivot_high, last_low, params)
    assert isinstance(plan, TradePlan)
    return plan


def test_size_risks_one_percent_of_equity_to_the_stop() -> None:
    # 1,000,000 risk / (10,000 - 9,200) = 1,250 shares; the 20% cap would allow 2,000.
    assert position_size(10_000, 9_200, PARAMS) == 1_250


def test_size_is_capped_at_twenty_percent_of_equity() -> None:
    # risk allows 1,000,000 / 2,000 = 500; the cap 20,000,000 / 47,050 = 425.07.
    assert position_size(47_050, 45_050, PARAMS) == 425


def test_size_follows_equity_and_risk_settings() -> None:
    params = ScanParams.from_overrides({"equity": 50_000_000, "risk_fraction": 0.005})
    # 250,000 / 800 = 312.5
    assert position_size(10_000, 9_200, params) == 312


def test_no_risk_means_no_position() -> None:
    assert position_size(10_000, 10_000, PARAMS) == 0


def test_entry_is_one_tick_above_the_pivot() -> None:
    plan = _plan(58_400, 55_000)
    assert (plan.pivot, plan.entry) == (58_400, 58_500)


def test_stop_is_one_tick_under_the_last_contraction_low() -> None:
    # 55,000 - 100 = 54,900 is above the 8% floor (58,500 x 0.92 = 53,820).
    assert _plan(58_400, 55_000).stop == 54_900


def test_stop_is_never_wider_than_eight_percent() -> None:
    # The last low (51,000) is too far: the stop is entry x 0.92 = 53,820, on the grid 53,900.
    assert _plan(58_400, 51_000).stop == 53_900


def test_target_is_three_r_when_that_beats_twenty_percent() -> None:
    # entry 58,500, stop 53,900: R = 4,600 -> 58,500 + 13,800 = 72,300 > 70,200.
    plan = _plan(58_400, 51_000)
    assert (plan.target, plan.target_basis) == (72_300, "+3R")


def test_target_is_twenty_percent_when_three_r_is_less() -> None:
    # R = 3,600 -> 69,300 < 58,500 x 1.2 = 70,200.
    plan = _plan(58_400, 55_000)
    assert (plan.target, plan.target_basis) == (70_200, "+20%")


def test_a_stop_wider_than_the_limit_rejects_the_trade() -> None:
    # With a 15% floor the stop is the last low's 50,900: 13% under the 58,500 entry.
    params = ScanParams.from_overrides({"stop_floor_pct": 0.15})
    assert plan_trade(58_400, 51_000, params) == "Stop 50,900 wider than 10%"
