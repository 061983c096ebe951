"""The bar cache's contents as columns: every cached bar sorted by ticker then date
(CachedBars), built from a bar frame, merged with the dates re-read from the database,
and read back as a frame, raw or split-adjusted (bar_cache.py keeps them in step with
the database; bar_cache_file.py stores them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from marketgate.data.adjustment_store import stored_factors
from marketgate.data.bar_reads import BAR_COLUMNS

VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "traded_value")
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class CachedBars:
    identity: dict[str, Any]  # which database and table the rows came from
    snapshot: str  # pg_current_snapshot() taken before the rows were read
    from_date: date  # every stored bar dated on or after this is here
    tickers: np.ndarray  # (T,) object, sorted
    codes: np.ndarray  # (N,) int32 index into tickers; rows sorted by (code, day)
    days: np.ndarray  # (N,) int32 days since 1970-01-01
    values: np.ndarray  # (6, N) float64: VALUE_COLUMNS (traded_value NaN where unknown)
    halted: np.ndarray  # (N,) bool

    @property
    def rows(self) -> int:
        return len(self.codes)


def from_frame(frame: pd.DataFrame, *, identity: dict[str, Any], snapshot: str, from_date: date) -> CachedBars:
    """Columns of a raw bar frame (BAR_COLUMNS), sorted by ticker then date."""
    codes, tickers = pd.factorize(frame["ticker"].to_numpy(dtype=object), sort=True)
    days = (frame["date"].to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int32)
    order = np.lexsort((days, codes))
    values = np.vstack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan)[order] for c in VALUE_COLUMNS])
    return CachedBars(identity=identity, snapshot=snapshot, from_date=from_date,
                      tickers=np.asarray(tickers, dtype=object), codes=codes.astype(np.int32)[order],
                      days=days[order], values=values, halted=frame["halted"].to_numpy(dtype=bool)[order])


def with_dates_replaced(
    old: CachedBars, fresh: pd.DataFrame, dirty: set[date], *, snapshot: str, sessions: int
) -> CachedBars:
    """`old` with the rows of `dirty` dates replaced by `fresh`, trimmed to the last `sessions` dates."""
    dirty_days = np.array([day_number(d) for d in dirty], dtype=np.int32)
    keep = ~np.isin(old.days, dirty_days)
    kept = pd.DataFrame({
        "ticker": old.tickers[old.codes[keep]], "date": (old.days[keep] + EPOCH).astype("datetime64[us]"),
        **{c: old.values[i][keep] for i, c in enumerate(VALUE_COLUMNS)}, "halted": old.halted[keep],
    })
    fresh = fresh[fresh["date"] >= pd.Timestamp(old.from_date)]
    both = pd.concat([kept, fresh[BAR_COLUMNS]], ignore_index=True) if len(fresh) else kept
    merged = from_frame(both, identity=old.identity, snapshot=snapshot, from_date=old.from_date)
    distinct = np.unique(merged.days)
    if len(distinct) > sessions:
        first = distinct[-sessions]
        inside = merged.days >= first
        used = np.unique(merged.codes[inside])
        remap = np.full(len(merged.tickers), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        merged = replace(merged, from_date=(EPOCH + int(first)).item(), tickers=merged.tickers[used],
                         codes=remap[merged.codes[inside]], days=merged.days[inside],
                         values=np.ascontiguousarray(merged.values[:, inside]), halted=merged.halted[inside])
    return merged


def day_number(value: date) -> np.int32:
    """`value` as the cache stores dates: days since 1970-01-01."""
    return np.int32((np.datetime64(value, "D") - EPOCH).astype(np.int64))


def _frame(bars: CachedBars, inside: np.ndarray, block: np.ndarray, adj_factor: np.ndarray | None) -> pd.DataFrame:
    # The six value columns go in as one block that pandas keeps as it is (no
    # consolidation copy); the other columns are added beside it.
    frame = pd.DataFrame(block.T, columns=list(VALUE_COLUMNS), copy=False)
    frame.insert(0, "ticker", pd.Series(bars.tickers[bars.codes[inside]], dtype=str))
    frame.insert(1, "date", (bars.days[inside] + EPOCH).astype("datetime64[us]"))
    frame["halted"] = bars.halted[inside]
    if adj_factor is not None:
        frame["adj_factor"] = adj_factor
    return frame


def to_frame(bars: CachedBars, start: date, end: date) -> pd.DataFrame:
    """Raw bars start <= date <= end (BAR_COLUMNS), sorted by ticker then date."""
    inside = (bars.days >= day_number(start)) & (bars.days <= day_number(end))
    return _frame(bars, inside, bars.values[:, inside], None)


def adjusted_frame(bars: CachedBars, start: date, end: date) -> pd.DataFrame:
    """to_frame() with the stored factors (ex_date <= end) applied: the same frame
    `adjustment_store.adjusted(raw, until=end)` gives, computed on the sorted columns."""
    factors = stored_factors(end)
    inside = (bars.days >= day_number(start)) & (bars.days <= day_number(end))
    block = bars.values[:, inside]  # a copy: adjusted in place below
    if factors.empty:
        return _frame(bars, inside, block, None)
    codes = bars.codes[inside]  # still sorted: each ticker's rows are one run
    days = (bars.days[inside] + EPOCH)
    factor = np.ones(len(codes))
    where = {t: i for i, t in enumerate(bars.tickers)}
    f = factors.assign(ticker=factors["ticker"].astype(str),
                       ex_date=pd.to_datetime(factors["ex_date"]).to_numpy().astype("datetime64[D]"))
    for ticker, group in f.groupby("ticker"):
        code = where.get(ticker)
        if code is None:
            continue
        lo, hi = np.searchsorted(codes, np.int32(code), side="left"), np.searchsorted(codes, np.int32(code), side="right")
        if lo == hi:
            continue
        # The arithmetic of corporate_actions.cumulative_factors / adjust_bars, step for
        # step, so the result is bit-identical to the database path's.
        group = group.sort_values("ex_date")
        suffix = np.append(np.cumprod(group["factor"].to_numpy(dtype=float)[::-1])[::-1], 1.0)
        factor[lo:hi] = suffix[np.searchsorted(group["ex_date"].to_numpy(), days[lo:hi], side="right")]
    if not (factor == 1.0).all():
        block[:4] /= factor
        block[4] = np.round(block[4] * factor)
    return _frame(bars, inside, block, factor)
