"""Factors read from a provider's adjusted series against bars stored as traded (pure):
a split and a bonus issue under the price limit are found with their ratios, the
adjusted series' rounding is not an action, halted sessions are skipped."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketgate.data.adjusted_series import factors_from_adjusted
from marketgate.data.corporate_actions import detect_adjustments
from marketgate.tick_size import round_to_tick

DAYS = [date(2025, 6, d) for d in (2, 4, 5, 9, 10, 11, 12, 13, 16, 17)]


def traded(ticker: str, closes: list[float], opens: list[float] | None = None) -> pd.DataFrame:
    opens = opens or closes
    return pd.DataFrame({"ticker": ticker, "date": DAYS[:len(closes)], "open": opens, "close": closes,
                         "high": closes, "low": closes})


def adjusted_by(bars: pd.DataFrame, factors: dict[date, float]) -> pd.DataFrame:
    """The series a provider adjusts today: each close before an ex-date divided by the
    later factors and rounded to the tick grid, as Naver's chart is."""
    def adjust(row) -> float:
        product = 1.0
        for ex_date, factor in factors.items():
            if row.date < ex_date:
                product *= factor
        return round_to_tick(row.close / product) if product != 1.0 else row.close
    return bars.assign(close=[adjust(r) for r in bars.itertuples()])[["ticker", "date", "close"]]


def test_a_bonus_issue_under_the_price_limit_and_a_split_are_read_with_their_ratios():
    bonus = traded("000010", [10500, 10600, 10700, 10650, 10800, 9050, 9100, 9080, 9150, 9200],
                   opens=[10400, 10500, 10600, 10700, 10650, 9000, 9050, 9100, 9080, 9150])
    split = traded("000020", [50200, 50800, 51000, 50600, 50400, 25300, 25500, 25450, 25600, 25700])
    stored = pd.concat([bonus, split], ignore_index=True)
    adjusted = pd.concat([adjusted_by(bonus, {DAYS[5]: 1.2}), adjusted_by(split, {DAYS[5]: 2.0})])
    found = factors_from_adjusted(stored, adjusted).set_index("ticker")
    assert found.loc["000010", "factor"] == pytest.approx(1.2) and found.loc["000010", "ex_date"] == DAYS[5]
    assert found.loc["000020", "factor"] == 2.0  # snapped: within the rounding of 2:1
    assert (found.loc["000010", "prev_close"], found.loc["000010", "open"]) == (10800, 9000)
    assert set(found["source"]) == {"provider"}
    # The price-limit rule sees only the split: -16% is within the ±30% limit.
    assert detect_adjustments(stored)["ticker"].tolist() == ["000020"]


def test_the_adjusted_series_rounding_is_not_an_action():
    # A low price rounded to the tick: up to 0.5 won in 1,000 between two sessions.
    bars = traded("000030", [1003, 1001, 1007, 999, 1005, 1002, 1000, 1004, 1006, 1001])
    adjusted = adjusted_by(bars, {DAYS[-1] + pd.Timedelta(days=1): 1.0003})
    assert factors_from_adjusted(bars, adjusted).empty
    assert factors_from_adjusted(bars, bars[["ticker", "date", "close"]]).empty


def test_halted_sessions_and_sessions_only_one_side_has_are_skipped():
    bars = traded("000040", [20000, 20100, 20050, 20050, 20200, 20300])
    bars.loc[3, "open"] = 0  # halted: carries the last close
    adjusted = adjusted_by(bars, {DAYS[4]: 1.5})
    adjusted.loc[3, "close"] = 1  # whatever the provider has for a halt
    found = factors_from_adjusted(bars, adjusted.drop(index=[0]))
    assert found["ex_date"].tolist() == [DAYS[4]] and found["factor"].tolist() == [1.5]
    assert factors_from_adjusted(bars, adjusted.assign(ticker="999999")).empty
