"""Corporate-action factors read from a provider's adjusted series. Pure (no Django).

A provider whose daily series is adjusted (FinanceDataReader's Naver chart: every
earlier price re-expressed in the shares of the day it is fetched) says, compared with
the bars stored as traded, where each action was and its exact ratio. That includes
actions too small to move the price beyond the daily limit (a 5% bonus issue, the
ex-rights adjustment of a rights issue), which `corporate_actions.limit_breaches`
cannot see.

For each ticker, ratio(d) = stored close(d) / adjusted close(d) is constant between
two actions (the product of the later actions' factors) and steps at each ex-date; the
factor of an ex-date is the ratio the session before / the ratio on the ex-date. The
adjusted prices are rounded (to the won, or to the tick grid), so a step counts only
when it exceeds MIN_STEP plus both sessions' rounding; a step within that rounding of a
share ratio (2, 5, 1/10 ...) is snapped to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketgate.data.corporate_actions import FACTOR_COLUMNS, snap_ratio
from marketgate.tick_size import tick_sizes

ADJUSTED_COLUMNS = ["ticker", "date", "close"]
SOURCE = "provider"
# Smallest step read as an action beyond rounding: 0.2%. Measured on the real files
# (the KOSPI top 100 as traded against the adjusted whole-market file, 32,745 common
# sessions of 90 tickers, 2023-12 .. 2025-06): sessions without an action stepped at
# most 0.0034%, the smallest action (a rights issue) 1.6%.
MIN_STEP = 0.002


def _rounding(prices: np.ndarray) -> np.ndarray:
    """The relative error of a price rounded to half a tick (at least half a won)."""
    return np.maximum(tick_sizes(prices) / 2.0, 0.5) / prices


def factors_from_adjusted(stored: pd.DataFrame, adjusted: pd.DataFrame) -> pd.DataFrame:
    """Factors (FACTOR_COLUMNS, source "provider") of every step between the stored bars
    (ticker, date, open, close; as traded) and the provider's adjusted closes
    (ADJUSTED_COLUMNS), on the sessions both have. Halted sessions (open or close <= 0)
    are skipped: a halt carries the last close, not a price of the day."""
    if stored.empty or adjusted.empty:
        return pd.DataFrame(columns=FACTOR_COLUMNS)
    left = stored[["ticker", "date", "open", "close"]].assign(ticker=stored["ticker"].astype(str))
    right = adjusted[ADJUSTED_COLUMNS].rename(columns={"close": "adjusted"})
    right = right.assign(ticker=right["ticker"].astype(str))
    both = left.merge(right, on=["ticker", "date"], how="inner")
    both = both[(both["open"] > 0) & (both["close"] > 0) & (both["adjusted"] > 0)]
    if both.empty:
        return pd.DataFrame(columns=FACTOR_COLUMNS)
    both = both.sort_values(["ticker", "date"], kind="mergesort").reset_index(drop=True)
    close = both["close"].to_numpy(dtype=float)
    adj = both["adjusted"].to_numpy(dtype=float)
    ratio = close / adj
    same = np.r_[False, both["ticker"].to_numpy()[1:] == both["ticker"].to_numpy()[:-1]]
    prev_ratio = np.r_[np.nan, ratio[:-1]]
    rounding = _rounding(adj) + np.r_[np.nan, _rounding(adj)[:-1]]
    step = np.abs(np.log(prev_ratio / ratio))
    at = np.flatnonzero(same & (step > MIN_STEP + rounding))
    prev_close = np.r_[np.nan, close[:-1]]
    rows = [
        {
            "ticker": both.at[i, "ticker"], "ex_date": both.at[i, "date"],
            "factor": snap_ratio(float(prev_ratio[i] / ratio[i]), tolerance=float(rounding[i])),
            "source": SOURCE, "prev_close": float(prev_close[i]), "open": float(both.at[i, "open"]),
        }
        for i in at
    ]
    return pd.DataFrame(rows, columns=FACTOR_COLUMNS)
