"""Breadth derived from stock daily bars (advances/declines, new highs/lows, % above MA)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from marketgate.data.breadth import BREADTH_FRAME_COLUMNS, derive_breadth

DAYS = [date(2025, 6, d) for d in (2, 4, 5, 9, 10)]


def bars(rows):
    return pd.DataFrame(rows, columns=["ticker", "date", "close", "volume"])


def by_date(frame):
    return frame.set_index("date")


def test_counts_advances_declines_and_unchanged_per_day():
    frame = bars([
        ("A", DAYS[0], 100, 10), ("A", DAYS[1], 101, 10),
        ("B", DAYS[0], 100, 10), ("B", DAYS[1], 99, 10),
        ("C", DAYS[0], 100, 10), ("C", DAYS[1], 100, 10),
    ])
    out = by_date(derive_breadth(frame))
    assert list(derive_breadth(frame).columns) == BREADTH_FRAME_COLUMNS
    assert (out.loc[DAYS[1], "advances"], out.loc[DAYS[1], "declines"], out.loc[DAYS[1], "unchanged"]) == (1, 1, 1)


def test_the_first_day_has_nothing_to_compare_with():
    out = derive_breadth(bars([("A", DAYS[0], 100, 10)]))
    assert pd.isna(out.loc[0, "advances"])


def test_halted_rows_are_left_out_and_the_next_day_compares_with_the_last_trade():
    frame = bars([
        ("A", DAYS[0], 100, 10), ("A", DAYS[1], 100, 0), ("A", DAYS[2], 105, 10),  # volume 0: halted
        ("B", DAYS[0], 50, 10), ("B", DAYS[1], 49, 10), ("B", DAYS[2], 48, 10),
    ])
    out = by_date(derive_breadth(frame))
    assert (out.loc[DAYS[1], "advances"], out.loc[DAYS[1], "unchanged"], out.loc[DAYS[1], "declines"]) == (0, 0, 1)
    assert out.loc[DAYS[2], "advances"] == 1  # A: 105 against 100, its last traded close


def test_an_explicit_halted_column_wins():
    frame = bars([("A", DAYS[0], 100, 10), ("A", DAYS[1], 90, 10), ("A", DAYS[2], 95, 10)])
    frame["halted"] = [False, True, False]
    out = by_date(derive_breadth(frame))
    assert pd.isna(out.loc[DAYS[1], "declines"])
    assert out.loc[DAYS[2], "declines"] == 1  # 95 < 100


def test_pct_above_ma_counts_stocks_with_a_full_window():
    frame = bars([
        *[("A", d, c, 10) for d, c in zip(DAYS, (10, 10, 10, 10, 20))],   # above its MA3
        *[("B", d, c, 10) for d, c in zip(DAYS, (10, 10, 10, 10, 5))],    # below
        *[("C", d, c, 10) for d, c in zip(DAYS[3:], (10, 30))],           # too new
    ])
    out = by_date(derive_breadth(frame, ma_window=3))
    assert out.loc[DAYS[4], "pct_above_ma50"] == 50.0
    assert pd.isna(out.loc[DAYS[0], "pct_above_ma50"])


def test_new_highs_and_lows_over_the_window():
    frame = bars([
        *[("A", d, c, 10) for d, c in zip(DAYS, (10, 11, 12, 13, 14))],
        *[("B", d, c, 10) for d, c in zip(DAYS, (10, 9, 8, 7, 6))],
        *[("C", d, c, 10) for d, c in zip(DAYS, (10, 11, 10, 11, 10))],
    ])
    out = by_date(derive_breadth(frame, high_low_window=3))
    assert (out.loc[DAYS[4], "new_highs"], out.loc[DAYS[4], "new_lows"]) == (1, 1)
    assert pd.isna(out.loc[DAYS[0], "new_highs"])


def test_a_delisted_stock_is_not_carried_forward():
    frame = bars([
        ("A", DAYS[0], 100, 10), ("A", DAYS[1], 101, 10),
        ("B", DAYS[0], 100, 10), ("B", DAYS[1], 101, 10), ("B", DAYS[2], 102, 10),
    ])
    out = by_date(derive_breadth(frame))
    assert out.loc[DAYS[2], "advances"] + out.loc[DAYS[2], "declines"] + out.loc[DAYS[2], "unchanged"] == 1
