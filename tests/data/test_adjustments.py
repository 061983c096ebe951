"""Corporate-action adjustment: splits found from moves beyond the price limit and
applied to history, on the real unadjusted top-100 file and on hostile inputs."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketgate.data.corporate_actions import adjust_bars, cumulative_factors, detect_adjustments, snap_ratio
from signals.outcomes.rules import actions_by_ticker, bars_by_ticker, outcome_bars, resolve
from signals.scanner.params import ScanParams
from signals.scanner.trend_template import criteria_matrix, indicators

TOP100 = "kospi_top100_daily_2021-04_2026-03_unadjusted.csv.gz"


def _bars(ticker: str, closes: list[float], start: str = "2024-07-01") -> pd.DataFrame:
    days = pd.bdate_range(start, periods=len(closes)).date
    return pd.DataFrame({"ticker": ticker, "date": days, "open": closes, "high": closes, "low": closes,
                         "close": closes, "volume": 1000})


def _price_criteria(bars: pd.DataFrame, day: str) -> list[bool]:
    """The 7 price criteria of the Trend Template (RS needs a universe) for one ticker."""
    x = bars[pd.to_datetime(bars["date"]) <= pd.Timestamp(day)]

    def column(name: str) -> np.ndarray:
        return x[name].to_numpy(dtype=float)[:, None]

    ind = indicators(column("high"), column("low"), column("close"), column("volume"), ScanParams())
    return criteria_matrix(ind, ScanParams())[0][:7].tolist()


@lru_cache(maxsize=1)
def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"ticker": str})


@pytest.fixture
def top100(krx_data) -> pd.DataFrame:
    return _read(krx_data / TOP100).copy()


def test_086280_split_is_found_and_adjusted_through(top100):
    factors = detect_adjustments(top100)
    split = factors[factors["ticker"] == "086280"]
    assert split[["ex_date", "factor"]].values.tolist() == [[date(2024, 7, 12), 2.0]]
    raw = top100[top100["ticker"] == "086280"].reset_index(drop=True)
    adjusted = adjust_bars(raw, factors)
    before = adjusted[adjusted["date"] == "2024-07-11"].iloc[0]
    assert before["close"] == 252500 / 2 and before["volume"] == 403833 * 2
    # From the ex-date on the prices are the traded ones (display and fills).
    after = adjusted[adjusted["date"] >= "2024-07-12"]
    assert (after["close"].to_numpy() == raw.loc[after.index, "close"].to_numpy()).all()
    # Raw prices read the split as a collapse; adjusted, 086280 meets all 7 price criteria.
    assert _price_criteria(raw, "2024-10-31") == [False, False, False, False, True, False, False]
    assert _price_criteria(adjusted, "2024-10-31") == [True] * 7
    assert raw.equals(top100[top100["ticker"] == "086280"].reset_index(drop=True)), "input untouched"


def test_every_factor_in_the_file_is_a_move_beyond_the_limit(top100):
    factors = detect_adjustments(top100)
    assert set(factors["ticker"]) >= {"086280", "042700", "278470"}
    assert (factors["prev_close"] / factors["open"]).sub(1).abs().min() > 0.3
    adjusted = adjust_bars(top100, factors)
    moves = adjusted.groupby("ticker")["close"].pct_change().abs()
    assert moves.max() < 0.35, "no split day is left in the adjusted history"


def test_moves_within_the_limit_are_not_actions():
    bars = _bars("000001", [100, 129, 100, 80, 100])  # ±29%: limit moves, not splits
    assert detect_adjustments(bars).empty
    assert (adjust_bars(bars)["adj_factor"] == 1.0).all()


def test_before_2015_the_limit_was_15_percent():
    bars = _bars("000002", [100, 80, 80], start="2010-01-04")
    assert detect_adjustments(bars)["factor"].tolist() == [1.25]


def test_reverse_split_and_two_actions_compound():
    bars = _bars("000003", [100, 100, 1000, 1000, 500, 500])  # 1:10 reverse, then 2:1
    factors = detect_adjustments(bars)
    assert factors["factor"].tolist() == [0.1, 2.0]
    adjusted = adjust_bars(bars, factors)
    assert adjusted["close"].tolist() == [500, 500, 500, 500, 500, 500]
    assert adjusted["adj_factor"].tolist() == [0.2, 0.2, 2.0, 2.0, 1.0, 1.0]


def test_halted_days_are_skipped_and_stay_zero():
    bars = _bars("000004", [100, 100, 100, 50, 50])
    bars.loc[2, ["open", "high", "low", "volume"]] = 0  # a halt before the split
    adjusted = adjust_bars(bars)
    assert detect_adjustments(bars)["ex_date"].tolist() == [bars.loc[3, "date"]]
    assert adjusted.loc[2, "open"] == 0 and adjusted.loc[1, "close"] == 50


def test_an_odd_ratio_keeps_its_exact_value():
    assert snap_ratio(1.974) == 2.0
    assert snap_ratio(5.796) == pytest.approx(5.796)  # a split with a spin-off


def test_other_tickers_and_missing_columns():
    bars = pd.concat([_bars("000005", [100, 50]), _bars("000006", [100, 100])])
    factors = detect_adjustments(bars)
    assert cumulative_factors(bars, factors).tolist() == [2.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="missing close"):
        detect_adjustments(bars.drop(columns=["close"]))


def test_a_split_is_not_a_52_week_low_in_derived_breadth(top100):
    from marketgate.data.breadth import derive_breadth

    def on(frame: pd.DataFrame, day: str) -> tuple[int, float]:
        row = frame[frame["date"].astype(str) == day].iloc[0]
        return int(row["new_lows"]), round(float(row["pct_above_ma50"]), 2)

    raw = derive_breadth(top100)
    adjusted = derive_breadth(adjust_bars(top100).drop(columns="adj_factor"))
    # 2024-07-12: raw, 086280's halved price is the day's one new low and below its MA50.
    assert on(raw, "2024-07-12") == (1, 75.0)
    assert on(adjusted, "2024-07-12") == (0, 76.04)


def test_a_trade_held_through_the_real_086280_split_is_stopped_by_price_not_by_the_split(top100):
    """A plan made on 2024-07-10 (entry 250,000, stop 235,000, target 295,000), filled on
    07-11, held through the 2:1 split of 07-12. Raw, the ex-date's 127,900 open is a gap
    through the stop at -8.1R; in the plan's shares it opens at 255,800 and the trade is
    stopped a week later, when the price really fell to the stop."""
    raw = top100[top100["ticker"] == "086280"]
    actions = actions_by_ticker(detect_adjustments(raw))["086280"]
    signal_day, plan = date(2024, 7, 10), (250_000, 235_000, 295_000)
    later = bars_by_ticker(raw.assign(date=pd.to_datetime(raw["date"]), halted=False))["086280"]

    naive = resolve(*plan, outcome_bars(later, signal_day))
    assert (naive.status, naive.exit_date, naive.exit_price) == ("stop", date(2024, 7, 12), 127_900)
    assert naive.r_multiple == pytest.approx(-122_100 / 15_000)

    out = resolve(*plan, outcome_bars(later, signal_day, actions))
    assert (out.status, out.fill_date, out.fill_price) == ("stop", date(2024, 7, 11), 250_000)
    assert (out.exit_date, out.exit_price, out.gap, out.r_multiple) == (date(2024, 7, 19), 235_000, False, -1.0)
    assert out.mfe_r == pytest.approx((259_000 - 250_000) / 15_000)  # 07-15's high 129,500 x 2
