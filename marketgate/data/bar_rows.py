"""Validation of daily-bar CSV rows, vectorised over a chunk. Pure: no Django.

A row is rejected (and reported with its line) when a field cannot be read; a row
whose high/low do not quite contain its open/close — an artefact of price adjustment
in real files, off by a won — is kept with the range widened, and counted.
A halted session (open = 0) is kept and marked, never treated as a price.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from marketgate.data.csv_reader import (
    Problem,
    blank_rows,
    map_columns,
    parse_dates,
    parse_numbers,
    read_chunks,
    read_header,
)

BAR_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("code", "symbol", "종목코드", "티커", "단축코드", "종목"),
    "date": ("날짜", "일자", "거래일", "일시"),
    "open": ("시가",),
    "high": ("고가",),
    "low": ("저가",),
    "close": ("종가", "현재가"),
    "volume": ("거래량",),
    "traded_value": ("value", "amount", "거래대금"),
}
NUMERIC = ("open", "high", "low", "close", "volume", "traded_value")
BAR_REQUIRED = ("ticker", "date", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
TICKER_PATTERN = r"[0-9A-Z]{6}"


@dataclass
class ValidBars:
    frame: pd.DataFrame  # ticker, date (datetime64), open, high, low, close, volume, traded_value, halted, line
    problems: list[Problem]
    widened: list[int]  # lines whose high/low were widened


Reason = tuple[pd.Series, Callable[[pd.Series], pd.Series]]


def _first_reason(reasons: list[Reason], index: pd.Index) -> pd.Series:
    """The first applicable reason per row (empty string for a good row).

    Texts are built only for the rows they apply to: most rows are good.
    """
    out = pd.Series("", index=index, dtype=object)
    pending = pd.Series(True, index=index)
    for mask, text in reasons:
        hit = mask.fillna(False).astype(bool) & pending
        if hit.any():
            out[hit] = text(hit)
            pending &= ~hit
    return out


def validate_bars(raw: pd.DataFrame, path: str) -> ValidBars:
    raw = raw[~blank_rows(raw.drop(columns="line"))]  # blank lines: not rows at all
    ticker = raw["ticker"].astype(str).str.strip().str.upper()
    short_numeric = ticker.str.fullmatch(r"\d{1,5}")  # leading zeros eaten by a spreadsheet
    if short_numeric.any():
        ticker = ticker.mask(short_numeric, ticker.str.zfill(6))
    dates = parse_dates(raw["date"].astype(str))
    numbers = {column: parse_numbers(raw[column]) for column in (*PRICE_COLUMNS, "volume")}
    has_value = "traded_value" in raw
    value = parse_numbers(raw["traded_value"]) if has_value else pd.Series(np.nan, index=raw.index)

    def quoted(column: str) -> Callable[[pd.Series], pd.Series]:
        return lambda hit: raw.loc[hit, column].map(lambda v: repr("" if pd.isna(v) else v))

    def fixed(text: str) -> Callable[[pd.Series], str]:
        return lambda hit: text

    halted = numbers["open"] == 0
    reasons: list[Reason] = [
        (~ticker.str.fullmatch(TICKER_PATTERN), lambda hit: "bad ticker " + quoted("ticker")(hit)),
        (dates.isna(), lambda hit: "bad date " + quoted("date")(hit)),
    ]
    for column in (*PRICE_COLUMNS, "volume"):
        reasons.append((numbers[column].isna(), lambda hit, c=column: f"bad number in {c}: " + quoted(c)(hit)))
    for column in (*PRICE_COLUMNS, "volume"):
        reasons.append((numbers[column] < 0, fixed(f"negative {column}")))
    if has_value:
        given = raw["traded_value"].notna() & (raw["traded_value"].astype(str).str.strip() != "")
        reasons.append((given & value.isna(), lambda hit: "bad number in traded_value: " + quoted("traded_value")(hit)))
    reasons.append((numbers["close"] == 0, fixed("close is zero")))
    traded_zero = ~halted & ((numbers["high"] == 0) | (numbers["low"] == 0))
    reasons.append((traded_zero, fixed("zero high/low on a traded day")))
    why = _first_reason(reasons, raw.index)
    bad = why != ""

    problems = [Problem(path, int(line), reason) for line, reason in zip(raw["line"][bad], why[bad], strict=True)]
    good = ~bad
    frame = pd.DataFrame(
        {
            "ticker": ticker[good],
            "date": dates[good],
            **{column: numbers[column][good].astype(float) for column in PRICE_COLUMNS},
            "volume": numbers["volume"][good].round().astype("int64"),
            "traded_value": value[good].round().astype("Int64"),
            "halted": halted[good],
            "line": raw["line"][good].astype("int64"),
        }
    )
    traded = ~frame["halted"]
    top = frame[["open", "close"]].max(axis=1)
    bottom = frame[["open", "close"]].min(axis=1)
    widen = traded & ((frame["high"] < top) | (frame["low"] > bottom) | (frame["high"] < frame["low"]))
    frame.loc[widen, "high"] = np.maximum(frame.loc[widen, "high"], top[widen])
    frame.loc[widen, "low"] = np.minimum(frame.loc[widen, "low"], bottom[widen])
    return ValidBars(frame.reset_index(drop=True), problems, frame.loc[widen, "line"].tolist())


def read_bar_file(
    path: str | Path,
    *,
    start: date | None = None,
    end: date | None = None,
    tickers: Collection[str] | None = None,
    sessions: int | None = None,
) -> pd.DataFrame:
    """The valid daily bars of one file, read and checked exactly as `import_bars` does.

    ticker, date (datetime64), open, high, low, close, volume, traded_value, halted —
    the shape the scanner reads from the database. Bad rows are left out (the import
    command reports them with their lines); a duplicated (ticker, date) keeps the last.
    `sessions` keeps only the last that many distinct dates up to `end`.
    """
    path = Path(path)
    mapping = map_columns(path, read_header(path), BAR_ALIASES, BAR_REQUIRED)
    wanted = set(tickers) if tickers is not None else None
    frames = []
    for chunk in read_chunks(path, mapping, numeric=NUMERIC):
        bars = validate_bars(chunk.frame, str(path)).frame
        keep = np.ones(len(bars), dtype=bool)
        if start is not None:
            keep &= (bars["date"] >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            keep &= (bars["date"] <= pd.Timestamp(end)).to_numpy()
        if wanted is not None:
            keep &= bars["ticker"].isin(wanted).to_numpy()
        frames.append(bars.loc[keep].drop(columns="line"))
    if not frames:
        return pd.DataFrame(columns=[*BAR_REQUIRED, "traded_value", "halted"])
    bars = pd.concat(frames, ignore_index=True).drop_duplicates(["ticker", "date"], keep="last")
    if sessions is not None:
        days = np.unique(bars["date"].to_numpy())
        if len(days) > sessions:
            bars = bars.loc[bars["date"] >= days[-sessions]]
    return bars.sort_values(["ticker", "date"]).reset_index(drop=True)
