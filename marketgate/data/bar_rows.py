"""Validation of daily-bar CSV rows, vectorised over a chunk. Pure: no Django.

Three outcomes per row, each reported with its line, ticker and date:
- rejected (skipped) when it cannot be a traded session: a field that is not a number,
  not finite, negative, beyond a sane bound (MAX_PRICE, MAX_VOLUME, MAX_TRADED_VALUE),
  a zero close, or a high/low that contradicts the open/close by more than
  WIDEN_TOLERANCE;
- widened (kept) when its high/low miss the open/close by less than that — an artefact
  of price adjustment in real files, off by a won;
- flagged (kept) when it is possible but suspicious: a price off its date's tick grid
  (`tick_flags`), a move beyond the daily price limit (found after writing, by the same
  rule as corporate-action detection), a halted session with volume.
A halted session (open = 0; the exchange's files carry high = low = 0, close = the
previous close, volume 0) is kept and marked, never treated as a price.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from marketgate.data.csv_reader import (
    Problem,
    map_columns,
    parse_dates,
    parse_numbers,
    read_chunks,
    read_header,
)
from marketgate.tick_size import grid_ticks, off_grid

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
# Sane bounds: no KRX share has traded near 100 million won, no session near a trillion
# shares or 10 quadrillion won; a value beyond them is a broken file, not a market.
MAX_PRICE = 100_000_000
MAX_VOLUME = 10**12
MAX_TRADED_VALUE = 10**16
BOUNDS = {**dict.fromkeys(PRICE_COLUMNS, MAX_PRICE), "volume": MAX_VOLUME, "traded_value": MAX_TRADED_VALUE}
# High/low that miss the open/close by less than this (relative) are widened and kept:
# adjusted files have such one-won artefacts (at most 0.5% in the KRX files seen);
# anything further off is a contradiction and the row is rejected.
WIDEN_TOLERANCE = 0.01


@dataclass
class ValidBars:
    frame: pd.DataFrame  # ticker, date (datetime64), open, high, low, close, volume, traded_value, halted, line
    problems: list[Problem]  # rows rejected
    widened: list[int]  # lines whose high/low were widened
    flags: list[Problem] = field(default_factory=list)  # rows kept but suspicious
    rows: int = 0  # rows in the chunk (blank lines are not rows)


# (rows it applies to, their reason texts, its code)
Reason = tuple[pd.Series, Callable[[pd.Series], pd.Series], str]


def number_text(value: float) -> str:
    """75000 -> '75,000'; 9e99 -> '9e+99'; 1234.5 -> '1,234.5'."""
    if not np.isfinite(value) or abs(value) >= 1e15:
        return f"{value:g}"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _first_reason(reasons: list[Reason], index: pd.Index) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The first applicable reason and its code per row (empty strings for a good row),
    and which rows have one.

    Texts are built only for the rows they apply to: most rows are good.
    """
    out = pd.Series("", index=index, dtype=object)
    codes = pd.Series("", index=index, dtype=object)
    pending = np.ones(len(index), dtype=bool)
    for mask, text, code in reasons:
        hit = np.asarray(pd.Series(mask, index=index).fillna(False), dtype=bool) & pending
        if hit.any():
            rows = pd.Series(hit, index=index)
            out[rows] = text(rows)
            codes[rows] = code
            pending &= ~hit
    return out, codes, pd.Series(~pending, index=index)


def _problems(path: str, raw: pd.DataFrame, ticker: pd.Series, rows: pd.Series,
              why: pd.Series, codes: pd.Series) -> list[Problem]:
    days = raw.loc[rows, "date"].map(lambda v: "" if pd.isna(v) else str(v).strip())
    return [
        Problem(path, int(line), reason, ticker=str(t), day=d, code=code)
        for line, t, d, reason, code in zip(raw.loc[rows, "line"], ticker[rows], days, why[rows], codes[rows], strict=True)
    ]


def _text(values: pd.Series) -> np.ndarray:
    """A text column as an object array of str ('' where missing)."""
    return values.to_numpy(dtype=object, na_value="")


def _distinct(values: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """(code per row, the distinct values): text checks run once per distinct value (a
    few thousand tickers and a few hundred dates among a million rows)."""
    codes, uniques = pd.factorize(values)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _normal_tickers(raw: pd.Series) -> pd.Series:
    """Tickers as written, cleaned: stripped, upper case, a spreadsheet's eaten leading zeros back."""
    ticker = raw.astype(str).str.strip().str.upper()
    short_numeric = ticker.str.fullmatch(r"\d{1,5}")  # leading zeros eaten by a spreadsheet
    if short_numeric.any():
        ticker = ticker.mask(short_numeric, ticker.str.zfill(6))
    return ticker


def _blank(raw: pd.DataFrame, empty: dict[str, np.ndarray]) -> np.ndarray:
    """Rows with nothing in any column (blank lines); `empty`: columns already known."""
    blank = np.ones(len(raw), dtype=bool)
    for column in raw.columns:
        if column == "line":
            continue
        if column in empty:
            blank &= empty[column]
        elif pd.api.types.is_numeric_dtype(raw[column]):
            blank &= raw[column].isna().to_numpy()
        else:
            blank &= _text(raw[column]) == ""
    return blank


def validate_bars(raw: pd.DataFrame, path: str) -> ValidBars:
    """Check one chunk of rows (see the module docstring): numbers on arrays, text
    once per distinct value."""
    tickers = _distinct(_text(raw["ticker"]))
    days = _distinct(_text(raw["date"]))
    blank = _blank(raw, {"ticker": (tickers[1] == "").to_numpy()[tickers[0]],
                         "date": (days[1] == "").to_numpy()[days[0]]})
    if blank.any():  # blank lines: not rows at all
        raw = raw[~blank]
        tickers = (tickers[0][~blank], tickers[1])
        days = (days[0][~blank], days[1])
    names = _normal_tickers(tickers[1])
    # Categorical: every later step (duplicates, tick grid, COPY encoding, detection)
    # groups by ticker, and codes make that free.
    name_codes, categories = pd.factorize(names.to_numpy(dtype=object))
    ticker_codes = name_codes[tickers[0]]
    ticker = pd.Series(np.asarray(categories, dtype=object)[ticker_codes], index=raw.index, dtype=object)
    good_ticker = pd.Series(names.str.fullmatch(TICKER_PATTERN).fillna(False).to_numpy(dtype=bool)[tickers[0]],
                            index=raw.index)
    dates = pd.Series(parse_dates(days[1]).to_numpy()[days[0]], index=raw.index)
    numbers = {column: parse_numbers(raw[column]) for column in (*PRICE_COLUMNS, "volume")}
    has_value = "traded_value" in raw
    value = parse_numbers(raw["traded_value"]) if has_value else pd.Series(np.nan, index=raw.index)
    if has_value:
        numbers["traded_value"] = value

    def quoted(column: str) -> Callable[[pd.Series], pd.Series]:
        return lambda hit: raw.loc[hit, column].map(lambda v: repr("" if pd.isna(v) else str(v).strip()))

    def fixed(text: str) -> Callable[[pd.Series], str]:
        return lambda hit: text

    def shown(column: str) -> Callable[[pd.Series], pd.Series]:
        return lambda hit: numbers[column][hit].map(number_text)

    halted = numbers["open"] == 0
    traded = ~halted
    checked = list(numbers)
    reasons: list[Reason] = [
        (~good_ticker, lambda hit: "bad ticker " + quoted("ticker")(hit), "bad_ticker"),
        (dates.isna(), lambda hit: "bad date " + quoted("date")(hit), "bad_date"),
    ]
    for column in (*PRICE_COLUMNS, "volume"):
        reasons.append((numbers[column].isna(), lambda hit, c=column: f"bad number in {c}: " + quoted(c)(hit),
                        "bad_number"))
    if has_value:
        given = raw["traded_value"].notna()
        if not pd.api.types.is_numeric_dtype(raw["traded_value"]):
            given &= raw["traded_value"].astype(str).str.strip() != ""
        reasons.append((given & value.isna(), lambda hit: "bad number in traded_value: " + quoted("traded_value")(hit),
                        "bad_number"))
    for column in checked:
        reasons.append((np.isinf(numbers[column]), lambda hit, c=column: f"{c} is not a finite number: " + quoted(c)(hit),
                        "not_finite"))
    for column in checked:
        reasons.append((numbers[column] < 0, fixed(f"negative {column}"), "negative"))
    for column in checked:
        bound = BOUNDS[column]
        reasons.append((numbers[column] > bound,
                        lambda hit, c=column, b=bound: f"{c} " + shown(c)(hit) + f" is beyond the sane bound {b:,}",
                        "too_large"))
    reasons.append((numbers["close"] == 0, fixed("close is zero"), "zero_close"))
    high, low = numbers["high"], numbers["low"]
    reasons.append((traded & ((high == 0) | (low == 0)), fixed("zero high/low on a traded day"), "zero_high_low"))
    top = np.maximum(numbers["open"], numbers["close"])
    bottom = np.minimum(numbers["open"], numbers["close"])
    slack = 1.0 - WIDEN_TOLERANCE
    reasons += [
        (traded & (high < low * slack),
         lambda hit: "high " + shown("high")(hit) + " below low " + shown("low")(hit), "high_below_low"),
        (traded & (high < top * slack),
         lambda hit: "high " + shown("high")(hit) + " below open/close " + top[hit].map(number_text),
         "high_below_open_close"),
        (traded & (low * slack > bottom),
         lambda hit: "low " + shown("low")(hit) + " above open/close " + bottom[hit].map(number_text),
         "low_above_open_close"),
    ]
    why, codes, bad = _first_reason(reasons, raw.index)

    problems = _problems(path, raw, ticker, bad, why, codes)
    good = ~bad
    halted_volume = good & halted & (numbers["volume"] > 0)
    flags: list[Problem] = []
    if halted_volume.any():
        flag_text = pd.Series("", index=raw.index, dtype=object)
        flag_text[halted_volume] = "open 0 with volume " + numbers["volume"][halted_volume].map(number_text) + ": kept as halted"
        flags = _problems(path, raw, ticker, halted_volume, flag_text,
                          pd.Series("halted_with_volume", index=raw.index, dtype=object))
    keep = good.to_numpy()
    prices = {column: numbers[column].to_numpy(dtype=float)[keep] for column in PRICE_COLUMNS}
    is_halted = halted.to_numpy(dtype=bool)[keep]
    lines = raw["line"].to_numpy(dtype="int64")[keep]
    top = np.maximum(prices["open"], prices["close"])
    bottom = np.minimum(prices["open"], prices["close"])
    high, low = prices["high"], prices["low"]
    widen = ~is_halted & ((high < top) | (low > bottom) | (high < low))
    prices["high"] = np.where(widen, np.maximum(high, top), high)
    prices["low"] = np.where(widen, np.minimum(low, bottom), low)
    frame = pd.DataFrame(
        {
            "ticker": pd.Categorical.from_codes(ticker_codes[keep], categories=categories),
            "date": dates.to_numpy()[keep],
            **prices,
            "volume": numbers["volume"].to_numpy(dtype=float)[keep].round().astype("int64"),
            "traded_value": value[good].round().astype("Int64").reset_index(drop=True),
            "halted": is_halted,
            "line": lines,
        }
    )
    return ValidBars(frame, problems, lines[widen].tolist(), flags, rows=len(raw))


def tick_flags(frame: pd.DataFrame, instruments: pd.DataFrame, path: str) -> list[Problem]:
    """Rows of a validated `frame` with a price off its date's tick grid (kept: adjusted
    files are full of them, but a raw file should have none).

    `instruments`: index ticker, columns market, kind (unknown tickers: KOSDAQ's finer
    pre-2023 grid, not an ETF).
    """
    traded = frame.loc[~frame["halted"].to_numpy(dtype=bool)]
    if traded.empty:
        return []
    # Per ticker, not per row: a few thousand tickers among a million rows.
    codes, names = pd.factorize(traded["ticker"])
    if len(instruments):
        known = instruments.reindex(pd.Index(names, dtype=object))
        markets = known["market"].fillna("").astype(object).to_numpy()
        etfs = (known["kind"] == "etf").to_numpy(dtype=bool)
    else:
        markets, etfs = np.full(len(names), "", dtype=object), np.zeros(len(names), dtype=bool)
    market = pd.Series(markets[codes], index=traded.index, dtype=object)
    etf = pd.Series(etfs[codes], index=traded.index)
    days = traded["date"]
    # All four prices at once: one (rows, 4) grid lookup.
    prices = traded[list(PRICE_COLUMNS)].to_numpy(dtype=float)
    ticks = grid_ticks(prices, days, market, etf)
    miss = off_grid(prices, ticks)
    where = np.flatnonzero(miss.any(axis=1))
    column = miss[where].argmax(axis=1)  # the first price off its grid names the row
    lines = traded["line"].to_numpy()[where]
    tickers = traded["ticker"].to_numpy()[where]
    dates = pd.DatetimeIndex(traded["date"].to_numpy()[where]).strftime("%Y-%m-%d")
    return [
        Problem(path, int(line), f"{PRICE_COLUMNS[c]} {number_text(prices[i, c])} is off the tick grid"
                f" (tick {ticks[i, c]:,.0f}): kept", ticker=str(t), day=d, code="off_tick_grid")
        for i, c, line, t, d in zip(where, column, lines, tickers, dates, strict=True)
    ]


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
    for chunk in read_chunks(path, mapping, numeric=NUMERIC, text=object):
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
    bars = pd.concat(frames, ignore_index=True)
    bars["ticker"] = bars["ticker"].astype("str")
    bars = bars.drop_duplicates(["ticker", "date"], keep="last")
    if sessions is not None:
        days = np.unique(bars["date"].to_numpy())
        if len(days) > sessions:
            bars = bars.loc[bars["date"] >= days[-sessions]]
    return bars.sort_values(["ticker", "date"]).reset_index(drop=True)
