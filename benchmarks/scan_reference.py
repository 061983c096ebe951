"""A straightforward per-ticker implementation of the scanner's rules, for benchmarks only.

It loops over tickers with pandas rolling windows, the way the rules read, so that the
vectorised `signals.scanner.vcp.scan` can be timed against it and checked to agree. The
contraction step is shared (it is per-ticker in both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from signals.scanner.candidate import TickerHistory, judge_setup
from signals.scanner.params import ScanParams
from signals.scanner.results import SignalCandidate


@dataclass(frozen=True)
class ReferenceResult:
    universe: set[str]
    trend_template: set[str]
    candidates: list[SignalCandidate]


def reference_scan(
    bars: pd.DataFrame, instruments: pd.DataFrame, *, as_of: date, params: ScanParams | None = None
) -> ReferenceResult:
    params = params or ScanParams()
    info = instruments.assign(ticker=instruments["ticker"].astype(str)).drop_duplicates("ticker", keep="last")
    info = info.set_index("ticker")
    frame = bars.assign(date=pd.to_datetime(bars["date"]), ticker=bars["ticker"].astype(str))
    frame = frame[frame["date"] <= pd.Timestamp(as_of)]
    scan_date = None
    rows: dict[str, dict[str, float]] = {}
    histories: dict[str, pd.DataFrame] = {}
    needed = params.required_sessions

    for ticker, g in frame.groupby("ticker", sort=True):
        g = g.sort_values("date").drop_duplicates("date", keep="last")
        halted = g["halted"].fillna(False).astype(bool) if "halted" in g else False
        prices = g[["open", "high", "low", "close"]]
        clean = prices.notna().all(axis=1) & (prices > 0).all(axis=1)
        clean &= g["volume"].notna() & (g["volume"] >= 0) & ~halted
        g = g[clean].tail(max(params.history_sessions, needed))
        if g.empty:
            continue
        histories[ticker] = g
        scan_date = max(scan_date, g["date"].iloc[-1]) if scan_date is not None else g["date"].iloc[-1]

    universe: list[str] = []
    for ticker, g in histories.items():
        if ticker not in info.index:
            continue
        row = info.loc[ticker]
        if row["market"] not in ("KOSPI", "KOSDAQ") or row["kind"] != "common":
            continue
        if len(g) < needed or g["date"].iloc[-1] != scan_date:
            continue
        value = g["traded_value"] if "traded_value" in g else g["close"] * g["volume"]
        if not value.rolling(params.traded_value_window).mean().iloc[-1] >= params.min_avg_traded_value:
            continue
        if not g["close"].iloc[-1] >= params.min_price:
            continue
        universe.append(ticker)
        close, high, low, volume = g["close"], g["high"], g["low"], g["volume"]
        ma_slow = close.rolling(params.ma_slow).mean()
        true_range = pd.concat(
            [high - low, (high - close.shift()).abs(), (low - close.shift()).abs()], axis=1
        ).max(axis=1)
        rows[ticker] = {
            "close": close.iloc[-1],
            "ma_fast": close.rolling(params.ma_fast).mean().iloc[-1],
            "ma_mid": close.rolling(params.ma_mid).mean().iloc[-1],
            "ma_slow": ma_slow.iloc[-1],
            "ma_slow_before": ma_slow.iloc[-1 - params.ma_slow_rising_sessions],
            "high_52w": high.rolling(params.week52_sessions).max().iloc[-1],
            "low_52w": low.rolling(params.week52_sessions).min().iloc[-1],
            "rs_score": sum(w * close.pct_change(n).iloc[-1] for n, w in params.rs_weights),
            "atr": true_range.rolling(params.atr_period).mean().iloc[-1],
            "volume_ratio": volume.rolling(params.volume_fast).mean().iloc[-1]
            / volume.rolling(params.volume_slow).mean().iloc[-1],
        }

    table = pd.DataFrame.from_dict(rows, orient="index")
    if table.empty:
        return ReferenceResult(set(universe), set(), [])
    n = len(table)
    rank = table["rs_score"].rank(method="average")
    table["rs"] = np.floor(1 + 98 * (rank - 1) / (n - 1) + 0.5).astype(int) if n > 1 else 99
    c = table["close"]
    met = (
        ((c > table["ma_mid"]) & (c > table["ma_slow"])).astype(int)
        + (table["ma_mid"] > table["ma_slow"])
        + (table["ma_slow"] > table["ma_slow_before"])
        + ((table["ma_fast"] > table["ma_mid"]) & (table["ma_fast"] > table["ma_slow"]))
        + (c > table["ma_fast"])
        + (c >= params.above_low_multiple * table["low_52w"])
        + (c >= params.near_high_fraction * table["high_52w"])
        + (table["rs"] >= params.rs_min)
    )
    passed = (met == 8) | ((met == 7) & (table["rs"] >= params.rs_relaxed_min))

    candidates: list[SignalCandidate] = []
    for ticker in table.index[passed]:
        g, row = histories[ticker], table.loc[ticker]
        outcome = judge_setup(
            TickerHistory(
                high=g["high"].to_numpy(float),
                low=g["low"].to_numpy(float),
                volume=g["volume"].to_numpy(float),
                dates=g["date"].to_numpy().astype("datetime64[D]"),
            ),
            close=float(row["close"]),
            atr=float(row["atr"]),
            rs=int(row["rs"]),
            volume_ratio=float(row["volume_ratio"]),
            criteria_met=int(met[ticker]),
            market=str(info.loc[ticker, "market"]),
            params=params,
        )
        if not isinstance(outcome, str):
            inst = info.loc[ticker]
            candidates.append(SignalCandidate(ticker=ticker, name=str(inst["name"]), market=str(inst["market"]), **outcome))
    candidates.sort(key=lambda x: (-x.score, x.ticker))
    return ReferenceResult(set(universe), set(table.index[passed]), candidates)
