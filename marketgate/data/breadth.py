"""Market breadth derived from stock daily bars, when no provider publishes it.

Pure (pandas, no Django). The caller passes one market's common stocks (no preferred
shares, ETFs, SPACs...); the gate's breadth is "% of the market's common stocks".
"""

from __future__ import annotations

import pandas as pd

BREADTH_FRAME_COLUMNS = ["date", "advances", "declines", "unchanged", "new_highs", "new_lows", "pct_above_ma50"]


def derive_breadth(bars: pd.DataFrame, *, ma_window: int = 50, high_low_window: int = 252) -> pd.DataFrame:
    """Daily advances/declines/unchanged, 52-week new highs/lows and % above MA50.

    `bars` has columns ticker, date, close, volume and optionally halted (and open).
    A halted bar (halted true, or volume 0 / open 0 when there is no halted column) is
    not a price: the stock is left out that day and compared with its last traded close
    the next. New highs/lows and the MA need a full window of the stock's own sessions;
    a day on which no stock qualifies has NA there rather than 0.
    """
    frame = bars.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    if "halted" in frame:
        halted = frame["halted"].fillna(False).astype(bool)
    else:
        halted = frame["volume"].fillna(0) <= 0
        if "open" in frame:
            halted |= frame["open"].fillna(0) <= 0
    traded = frame.loc[~halted & (frame["close"] > 0)]
    close = traded.pivot_table(index="date", columns="ticker", values="close", aggfunc="last").sort_index()
    # Keep every session of the input as a row, even one on which everything halted.
    close = close.reindex(pd.Index(sorted(frame["date"].unique()), name="date"))
    traded_today = close.notna()
    # Interior fill only: a halt carries the last price, a delisting does not.
    last = close.ffill(limit_area="inside")
    previous = last.shift(1)
    comparable = traded_today & previous.notna()

    def count(mask: pd.DataFrame, eligible: pd.DataFrame) -> pd.Series:
        out = (mask & eligible).sum(axis=1).astype("Int64")
        return out.where(eligible.any(axis=1), pd.NA)

    advances = count(close > previous, comparable)
    declines = count(close < previous, comparable)
    unchanged = count(close == previous, comparable)

    # Windows run over each stock's own sessions (its halted days carry its last price).
    prior_high = last.rolling(high_low_window - 1, min_periods=high_low_window - 1).max().shift(1)
    prior_low = last.rolling(high_low_window - 1, min_periods=high_low_window - 1).min().shift(1)
    hl_ok = traded_today & prior_high.notna()
    new_highs = count(close > prior_high, hl_ok)
    new_lows = count(close < prior_low, hl_ok)

    ma = last.rolling(ma_window, min_periods=ma_window).mean()
    ma_ok = traded_today & ma.notna()
    above = (close > ma) & ma_ok
    eligible = ma_ok.sum(axis=1)
    pct = (100.0 * above.sum(axis=1) / eligible.where(eligible > 0)).astype(float)

    out = pd.DataFrame({
        "advances": advances, "declines": declines, "unchanged": unchanged,
        "new_highs": new_highs, "new_lows": new_lows, "pct_above_ma50": pct,
    })
    out.index.name = "date"
    out = out.reset_index()
    out["date"] = out["date"].dt.date
    return out[BREADTH_FRAME_COLUMNS]
