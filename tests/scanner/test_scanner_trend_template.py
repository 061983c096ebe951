"""Trend Template: every criterion can reject, and the rejection names it."""

from __future__ import annotations

import pytest

from signals.scanner import trend_template as tt
from signals.scanner.vcp import scan
from tests import scanner_fixtures as fx

NAMED = {
    "close_above_ma150_ma200": "close <= MA150",
    "ma150_above_ma200": "MA150 <= MA200",
    "ma200_rising": "MA200 not rising over 22 sessions",
    "ma50_above_ma150_ma200": "MA50 <= MA150",
    "close_above_ma50": "close <= MA50",
    "above_52w_low": "close < 1.30 x 52-week low",
    "near_52w_high": "close < 0.75 x 52-week high",
    "rs": "RS 50 < 70",
}


@pytest.mark.parametrize("criterion", tt.CRITERIA)
def test_a_stock_failing_a_criterion_is_rejected_naming_it(criterion: str) -> None:
    bars, instruments = fx.failing_universe(criterion)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["FAIL01"].startswith("Trend Template: " + NAMED[criterion])


@pytest.mark.parametrize("criterion", [c for c in tt.CRITERIA if c not in ("close_above_ma150_ma200", "rs")])
def test_seven_of_eight_with_rs_80_or_more_passes_as_lower_grade(criterion: str) -> None:
    bars, instruments = fx.failing_universe(criterion, rs_80_plus=True)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert not result.rejections["FAIL01"].startswith("Trend Template")
    assert result.stats["trend_template_count"] - result.stats["trend_template_8_of_8"] == 1


def test_seven_of_eight_below_rs_80_says_why_it_did_not_pass() -> None:
    bars, instruments = fx.failing_universe("close_above_ma50")
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["FAIL01"].endswith("(7/8 passes only with RS >= 80)")


def test_flat_and_falling_stocks_fail_the_trend_template() -> None:
    bars, instruments = fx.universe(fx.flat_stock(), fx.downtrend_stock())
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.rejections["FLAT01"].startswith("Trend Template: ")
    assert result.rejections["DOWN01"].startswith("Trend Template: ")


def test_a_steady_leader_passes_all_eight() -> None:
    bars, instruments = fx.universe(fx.frame("LEAD01", fx.geometric(10_000, 30_000)), weak=3, strong=0)
    result = scan(bars, instruments, as_of=fx.AS_OF)
    assert result.trend_template_count == 1
    assert result.stats["trend_template_8_of_8"] == 1
    assert not result.rejections["LEAD01"].startswith("Trend Template")


def test_rs_is_a_1_to_99_percentile_across_the_universe() -> None:
    import numpy as np

    ranks = tt.percentile_rank(np.array([0.5, -0.2, 0.1, 3.0, 0.1]))
    assert ranks.tolist() == [75, 1, 38, 99, 38]
