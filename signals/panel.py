"""Long daily bars -> session x ticker matrices, the shape every scanner rule works on.

Halted and broken bars are dropped first, so a window of N rows is N *clean* sessions of
that ticker. The matrices are right-aligned: the last row is each ticker's latest clean
session, row -k its k-th latest. For a ticker that never halted this is exactly the
date x ticker pivot; for one that did, the rolling windows skip the halt instead of
averaging a hole (the same thing a per-ticker rolling window over its clean bars does).
Tickers with a shorter history are NaN-padded at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Panel:
    tickers: np.ndarray  # (T,) str
    dates: np.ndarray  # (D,) datetime64[D], every distinct session date in the input
    open: np.ndarray  # (N, T) float
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    traded_value: np.ndarray
    date_index: np.ndarray  # (N, T) int, index into `dates`; -1 where padded
    sessions: np.ndarray  # (T,) clean sessions available (capped at N)
    last_date: np.ndarray  # (T,) datetime64[D] of each ticker's latest clean bar

    @property
    def rows(self) -> int:
        return self.close.shape[0]


def clean_bar_mask(bars: pd.DataFrame) -> np.ndarray:
    """True for a bar that is a real traded price.

    Dropped: halted rows (a `halted` flag, or open == 0 — the KRX files record a halt as
    open=high=low=0, volume=0 with the previous close carried), and rows whose prices are
    missing or not positive or whose volume is missing or negative. A zero-volume row
    with real prices is kept: it is a price, it just adds nothing to traded value.
    """
    prices = bars.loc[:, list(PRICE_COLUMNS)].to_numpy(dtype=float, na_value=np.nan)
    volume = bars["volume"].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(prices).all(axis=1) & (prices > 0).all(axis=1)
    ok &= np.isfinite(volume) & (volume >= 0)
    if "halted" in bars.columns:
        ok &= ~bars["halted"].fillna(False).to_numpy(dtype=bool)
    return ok


def build_panel(bars: pd.DataFrame, *, as_of: date, rows: int) -> Panel:
    """Clean bars up to and including `as_of`, the last `rows` per ticker, as matrices."""
    cutoff = pd.Timestamp(as_of)
    dates_all = pd.to_datetime(bars["date"]).to_numpy(dtype="datetime64[ns]")
    keep = (dates_all <= cutoff.to_datetime64()) & clean_bar_mask(bars)
    kept = bars.loc[keep]
    kept_dates = dates_all[keep]

    tickers, codes = np.unique(kept["ticker"].astype(str).to_numpy(), return_inverse=True)
    order = np.lexsort((kept_dates, codes))
    codes = codes[order]
    day_values = kept_dates[order].astype("datetime64[D]")
    dates, date_codes = np.unique(day_values, return_inverse=True)

    # Position of each bar counted from its ticker's latest (0 = latest).
    counts = np.bincount(codes, minlength=len(tickers))
    ends = np.cumsum(counts)
    from_end = ends[codes] - 1 - np.arange(len(codes))
    take = from_end < rows
    row = rows - 1 - from_end[take]
    col = codes[take]

    def matrix(values: np.ndarray, fill: float = np.nan, dtype: type = float) -> np.ndarray:
        out = np.full((rows, len(tickers)), fill, dtype=dtype)
        out[row, col] = values[order][take]
        return out

    frame = {name: kept[name].to_numpy(dtype=float, na_value=np.nan) for name in (*PRICE_COLUMNS, "volume")}
    if "traded_value" in kept.columns:
        value = kept["traded_value"].to_numpy(dtype=float, na_value=np.nan)
        value = np.where(np.isfinite(value), value, frame["close"] * frame["volume"])
    else:
        value = frame["close"] * frame["volume"]

    date_index = np.full((rows, len(tickers)), -1, dtype=np.int64)
    date_index[row, col] = date_codes[take]
    last_date = dates[date_index[-1]] if len(tickers) else np.array([], dtype="datetime64[D]")
    return Panel(
        tickers=tickers,
        dates=dates,
        open=matrix(frame["open"]),
        high=matrix(frame["high"]),
        low=matrix(frame["low"]),
        close=matrix(frame["close"]),
        volume=matrix(frame["volume"]),
        traded_value=matrix(value),
        date_index=date_index,
        sessions=np.minimum(counts, rows),
        last_date=last_date,
    )
