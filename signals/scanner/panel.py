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
    high: np.ndarray  # (N, T) float
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

    # factorize hashes instead of sorting strings: the biggest saving of the whole scan.
    codes, tickers = pd.factorize(kept["ticker"].astype(str).to_numpy(), sort=True)
    date_codes, dates = pd.factorize(kept_dates.astype("datetime64[D]"), sort=True)
    tickers = np.asarray(tickers, dtype=object)
    dates = np.asarray(dates, dtype="datetime64[D]")
    key = codes.astype(np.int64) * max(len(dates), 1) + date_codes
    # Files usually arrive sorted by ticker then date; only sort when they are not.
    order = np.arange(len(key)) if bool(np.all(key[1:] >= key[:-1])) else np.argsort(key, kind="stable")
    # A repeated (ticker, date) keeps its last row, as a re-import would.
    sorted_key = key[order]
    order = order[np.append(sorted_key[1:] != sorted_key[:-1], True)[: len(order)]]
    codes = codes[order]

    # Position of each bar counted from its ticker's latest (0 = latest).
    counts = np.bincount(codes, minlength=len(tickers))
    ends = np.cumsum(counts)
    from_end = ends[codes] - 1 - np.arange(len(codes))
    take = from_end < rows
    row = rows - 1 - from_end[take]
    col = codes[take]
    source = order[take]

    def matrix(values: np.ndarray) -> np.ndarray:
        out = np.full((rows, len(tickers)), np.nan)
        out[row, col] = values[source]
        return out

    frame = {name: kept[name].to_numpy(dtype=float, na_value=np.nan) for name in ("close", "high", "low", "volume")}
    if "traded_value" in kept.columns:
        value = kept["traded_value"].to_numpy(dtype=float, na_value=np.nan)
        value = np.where(np.isfinite(value), value, frame["close"] * frame["volume"])
    else:
        value = frame["close"] * frame["volume"]

    date_index = np.full((rows, len(tickers)), -1, dtype=np.int64)
    date_index[row, col] = date_codes[source]
    last_date = dates[date_index[-1]] if len(tickers) else np.array([], dtype="datetime64[D]")
    return Panel(
        tickers=tickers,
        dates=dates,
        high=matrix(frame["high"]),
        low=matrix(frame["low"]),
        close=matrix(frame["close"]),
        volume=matrix(frame["volume"]),
        traded_value=matrix(value),
        date_index=date_index,
        sessions=np.minimum(counts, rows),
        last_date=last_date,
    )
