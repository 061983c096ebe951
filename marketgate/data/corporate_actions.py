"""Corporate-action adjustment of daily bars (splits, reverse splits, bonus issues). Pure.

KRX bars as traded are "raw": on a 2:1 split's ex-date the price halves, which reads
as a -50% day, a broken moving average and a false 52-week low. Indicators need the
history re-expressed in today's shares; fills and display need the prices as traded.

A KRX stock cannot move more than the daily price limit (±30% since 2015-06-15, ±15%
before) from its base price; a session that opens or closes beyond that from the
previous close is a corporate action (its base price was reset). Its factor is the
ratio previous close / open snapped to a share ratio (2:1 -> 2.0, 1:10 reverse split
-> 0.1, a 50% bonus issue -> 1.5) when one is close; otherwise the exact ratio.

Public API (used by the scanner, derived breadth and backtests)::

    from marketgate.data.corporate_actions import detect_adjustments, adjust_bars
    factors = detect_adjustments(raw)            # ticker, ex_date, factor, source, ...
    adjusted = adjust_bars(raw, factors)         # same rows, prices in today's shares

`raw` is a DataFrame with columns ticker, date, open, high, low, close[, volume];
`adjusted` has the same rows and columns plus `adj_factor` (what the row's prices were
divided by; 1.0 from the last ex-date on). Prices before an ex-date are divided by
the product of every later factor, volumes multiplied by it; rows on or after the
last ex-date are unchanged, so the latest close stays the traded price.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

FACTOR_COLUMNS = ["ticker", "ex_date", "factor", "source", "prev_close", "open"]
# The price limit widened from ±15% to ±30% on this date.
LIMIT_WIDENED = date(2015, 6, 15)
LIMIT_PCT_BEFORE = 15.0
LIMIT_PCT = 30.0
# Margin over the limit: tick rounding and the base-price rules let a limit move
# exceed the nominal percentage by a little.
LIMIT_SLACK_PCT = 2.0
# Share ratios a split, reverse split or bonus issue produces.
_RATIOS = sorted({float(n) for n in range(2, 51)} | {1.5, 2.5, 3.5, 4.5, 1.2, 1.25, 1.3, 1.4, 1.6, 1.8}
                 | {100.0, 1.0 / 0.3})
SNAP_CANDIDATES: tuple[float, ...] = tuple(sorted(_RATIOS + [1.0 / r for r in _RATIOS]))
# Snap when the ratio is within this of a share ratio (a split on a quiet day opens
# near its adjusted base; a spin-off or relisting does not, and keeps its exact ratio).
SNAP_TOLERANCE = 0.03


def price_limit_pct(day: date) -> float:
    return LIMIT_PCT if day >= LIMIT_WIDENED else LIMIT_PCT_BEFORE


def snap_ratio(ratio: float, tolerance: float = SNAP_TOLERANCE) -> float:
    """The share ratio nearest `ratio` (by log distance) when within `tolerance`, else ratio."""
    candidates = np.asarray(SNAP_CANDIDATES)
    best = float(candidates[np.argmin(np.abs(np.log(candidates / ratio)))])
    return best if abs(ratio / best - 1.0) <= tolerance else float(ratio)


BREACH_COLUMNS = ["ticker", "date", "prev_close", "open", "close", "move_pct", "limit_pct"]


def limit_breaches(bars: pd.DataFrame) -> pd.DataFrame:
    """Traded sessions whose open or close is beyond the day's price limit (plus
    LIMIT_SLACK_PCT) from the last traded close before it (BREACH_COLUMNS; `move_pct`
    is the larger of the two moves, signed).

    The one rule for "impossible as traded": corporate-action detection reads these as
    ex-dates, and the bar import flags them per line. Halted sessions (open or close
    <= 0) are skipped.
    """
    missing = {"ticker", "date", "open", "close"} - set(bars.columns)
    if missing:
        raise ValueError(f"bars need columns ticker, date, open, close; missing {', '.join(sorted(missing))}")
    if bars.empty:
        return pd.DataFrame(columns=BREACH_COLUMNS)
    # On arrays (a whole-market import checks a million rows): tickers as sorted codes,
    # rows ordered by ticker then date (stable, like a merge sort of the frame).
    codes, names = pd.factorize(bars["ticker"], sort=True)
    days = pd.to_datetime(bars["date"]).to_numpy().astype("datetime64[D]")
    order = np.lexsort((days, codes))
    opens = bars["open"].to_numpy(dtype=float)[order]
    closes = bars["close"].to_numpy(dtype=float)[order]
    traded = order[(opens > 0) & (closes > 0)]
    if not traded.size:
        return pd.DataFrame(columns=BREACH_COLUMNS)
    code = codes[traded]
    close = bars["close"].to_numpy(dtype=float)[traded]
    open_ = bars["open"].to_numpy(dtype=float)[traded]
    has_prev = np.r_[False, code[1:] == code[:-1]]  # the last traded close of the same ticker
    prev_close = np.r_[np.nan, close[:-1]][has_prev]
    rows = traded[has_prev]
    open_, close, day = open_[has_prev], close[has_prev], days[rows]
    limits = np.where(day >= np.datetime64(LIMIT_WIDENED, "D"), LIMIT_PCT, LIMIT_PCT_BEFORE)
    open_move = (open_ / prev_close - 1.0) * 100.0
    close_move = (close / prev_close - 1.0) * 100.0
    beyond = (np.abs(open_move) > limits + LIMIT_SLACK_PCT) | (np.abs(close_move) > limits + LIMIT_SLACK_PCT)
    move = np.where(np.abs(close_move) >= np.abs(open_move), close_move, open_move)
    return pd.DataFrame({
        "ticker": np.asarray(names, dtype=object)[codes[rows[beyond]]],
        "date": [d.item() for d in day[beyond]],
        "prev_close": prev_close[beyond],
        "open": open_[beyond],
        "close": close[beyond],
        "move_pct": move[beyond],
        "limit_pct": limits[beyond],
    }, columns=BREACH_COLUMNS)


def factors_of(breaches: pd.DataFrame) -> pd.DataFrame:
    """The corporate-action factor (FACTOR_COLUMNS) each limit breach implies."""
    out = [
        {
            "ticker": r.ticker, "ex_date": r.date, "factor": snap_ratio(float(r.prev_close) / float(r.open)),
            "source": "price_limit", "prev_close": float(r.prev_close), "open": float(r.open),
        }
        for r in breaches.itertuples(index=False)
    ]
    return pd.DataFrame(out, columns=FACTOR_COLUMNS)


def detect_adjustments(bars: pd.DataFrame) -> pd.DataFrame:
    """Factors (FACTOR_COLUMNS) found in raw `bars`: one row per ticker and ex-date,
    wherever a session moved beyond the price limit (`limit_breaches`)."""
    return factors_of(limit_breaches(bars))


def cumulative_factors(bars: pd.DataFrame, factors: pd.DataFrame | None) -> np.ndarray:
    """Per row of `bars` (in its order): the product of the factors of later ex-dates."""
    result = np.ones(len(bars))
    if factors is None or factors.empty or bars.empty:
        return result
    tickers = bars["ticker"].astype(str)
    affected = np.flatnonzero(tickers.isin(set(factors["ticker"].astype(str))).to_numpy())
    if not affected.size:
        return result
    days = pd.to_datetime(bars["date"]).to_numpy()[affected].astype("datetime64[D]")
    f = factors.assign(ticker=factors["ticker"].astype(str),
                       ex_date=pd.to_datetime(factors["ex_date"]).to_numpy().astype("datetime64[D]"))
    by_ticker = pd.Series(affected).groupby(tickers.to_numpy()[affected]).indices
    for ticker, group in f.groupby("ticker"):
        rows = by_ticker.get(ticker)
        if rows is None:
            continue
        group = group.sort_values("ex_date")
        # Suffix products: a row before the k-th ex-date carries factors k..end.
        suffix = np.append(np.cumprod(group["factor"].to_numpy(dtype=float)[::-1])[::-1], 1.0)
        position = np.searchsorted(group["ex_date"].to_numpy(), days[rows], side="right")
        result[affected[rows]] = suffix[position]
    return result


def adjust_bars(bars: pd.DataFrame, factors: pd.DataFrame | None = None) -> pd.DataFrame:
    """`bars` with prices (and volumes) re-expressed in today's shares.

    `factors` defaults to detect_adjustments(bars). The input is not modified; row order
    and index are kept. Halted rows (price 0) stay 0.
    """
    if factors is None:
        factors = detect_adjustments(bars)
    out = bars.copy()
    factor = cumulative_factors(out, factors)
    out["adj_factor"] = factor
    if (factor == 1.0).all():
        return out
    for column in ("open", "high", "low", "close"):
        if column in out:
            out[column] = out[column].astype(float) / factor
    if "volume" in out:
        out["volume"] = (out["volume"].astype(float) * factor).round()
    return out
