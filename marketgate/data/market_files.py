"""Listing, index-bar and breadth CSV files, read and checked (small files, read whole). Pure.

Same rules as the bar files: a missing required column is refused, an empty file is an
error, bad rows are reported as `file:line: reason` and skipped, the last of two rows
for the same key wins. Used by the import commands and by the CSV provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from marketgate.data.bar_rows import TICKER_PATTERN
from marketgate.data.csv_reader import (
    CsvFormatError,
    Problem,
    blank_rows,
    map_columns,
    parse_dates,
    parse_numbers,
    read_chunks,
    read_header,
)
from marketgate.data.kinds import classify_kind, normalise_market

LISTING_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("code", "symbol", "종목코드", "단축코드"),
    "name": ("종목명", "회사명", "한글종목약명", "종목약명"),
    "name_en": ("영문명", "영문종목명", "englishname"),
    "market": ("시장", "시장구분"),
    "security_group": ("증권구분", "secugroup"),
    "share_kind": ("주식종류", "kind"),
    "listed_shares": ("상장주식수", "stocks", "shares"),
}


INDEX_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("날짜", "일자"),
    "open": ("시가",),
    "high": ("고가",),
    "low": ("저가",),
    "close": ("종가", "지수"),
    "volume": ("거래량",),
    "volume_thousand_shares": ("거래량천주",),
    "traded_value": ("value", "amount", "거래대금"),
    "value_million_krw": ("거래대금백만원",),
}


BREADTH_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("날짜", "일자"),
    "advances": ("상승", "상승종목수"),
    "declines": ("하락", "하락종목수"),
    "unchanged": ("보합", "보합종목수"),
    "new_highs": ("신고가",),
    "new_lows": ("신저가",),
}


BREADTH_VALUES = ("advances", "declines", "unchanged", "new_highs", "new_lows")


@dataclass
class TableReport:
    rows_read: int = 0
    rows_written: int = 0
    created: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicates: list[Problem] = field(default_factory=list)
    dropped: int = 0  # rows left out on purpose (holiday placeholders)

    def summary(self, max_lines: int = 50) -> list[str]:
        out = [
            f"{self.rows_read:,} rows read, {self.rows_written:,} written"
            + (f" ({self.created:,} new, {self.updated:,} updated)" if self.created or self.updated else "")
            + f", {len(self.problems):,} bad rows skipped, {len(self.duplicates):,} duplicates (last wins)"
            + (f", {self.dropped:,} holiday placeholders dropped" if self.dropped else "")
        ]
        for title, items in (("skipped", self.problems), ("duplicate", self.duplicates)):
            out += [f"{title}: {p}" for p in items[:max_lines]]
            if len(items) > max_lines:
                out.append(f"{title}: ... and {len(items) - max_lines:,} more")
        return out


def _read_whole(path: Path, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> tuple[pd.DataFrame, list[Problem]]:
    if not path.is_file():
        raise CsvFormatError(f"{path}: no such file")
    mapping = map_columns(path, read_header(path), aliases, required)
    frames, problems = [], []
    for chunk in read_chunks(path, mapping, chunksize=1_000_000):
        frames.append(chunk.frame)
        problems += chunk.problems
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*mapping.values(), "line"])
    frame = frame[~blank_rows(frame.drop(columns="line"))]
    if frame.empty:
        raise CsvFormatError(f"{path}: empty file (a header but no data rows)")
    return frame, problems


def _keep_last(frame: pd.DataFrame, key: str, path: Path, report: TableReport) -> pd.DataFrame:
    earlier = frame.duplicated(key, keep="last")
    last_line = frame.drop_duplicates(key, keep="last").set_index(key)["line"]
    report.duplicates += [
        Problem(str(path), int(line), f"duplicate of line {int(last_line[k])}; the last one wins")
        for line, k in zip(frame.loc[earlier, "line"], frame.loc[earlier, key], strict=True)
    ]
    return frame[~earlier]


def _reject(frame: pd.DataFrame, bad: pd.Series, reason: pd.Series | str, path: Path, report: TableReport) -> pd.DataFrame:
    reasons = reason[bad] if isinstance(reason, pd.Series) else [reason] * int(bad.sum())
    report.problems += [Problem(str(path), int(line), r) for line, r in zip(frame.loc[bad, "line"], reasons, strict=True)]
    return frame[~bad]


def parse_listing(path: str | Path) -> tuple[pd.DataFrame, TableReport]:
    """LISTING_COLUMNS from a listing file, and what was wrong with it."""
    path = Path(path)
    raw, problems = _read_whole(path, LISTING_ALIASES, ("ticker", "name", "market"))
    report = TableReport(rows_read=len(raw) + len(problems), problems=problems)
    raw = raw.assign(ticker=raw["ticker"].str.strip().str.upper(), name=raw["name"].str.strip())
    raw = _reject(raw, ~raw["ticker"].str.fullmatch(TICKER_PATTERN), "bad ticker " + raw["ticker"].map(repr), path, report)
    raw = _reject(raw, raw["name"] == "", "empty name", path, report)
    market = raw["market"].map(normalise_market)
    raw = _reject(raw, market.isna(), "unknown market " + raw["market"].map(repr), path, report).assign(market=market)
    shares = parse_numbers(raw["listed_shares"]) if "listed_shares" in raw else None
    if shares is not None:
        raw = _reject(raw, shares.isna() & (raw["listed_shares"].str.strip() != ""),
                      "bad number in listed_shares: " + raw["listed_shares"].map(repr), path, report)
    raw = _keep_last(raw, "ticker", path, report)
    frame = pd.DataFrame({"ticker": raw["ticker"], "name": raw["name"], "market": raw["market"]})
    if "name_en" in raw:
        frame["name_en"] = raw["name_en"].str.strip()
    frame["kind"] = [
        classify_kind(name, group, share)
        for name, group, share in zip(
            raw["name"], raw.get("security_group", pd.Series("", index=raw.index)),
            raw.get("share_kind", pd.Series("", index=raw.index)), strict=True
        )
    ]
    if shares is not None:
        frame["listed_shares"] = shares[raw.index].round().astype("Int64")
    return frame.reset_index(drop=True), report


def parse_index(path: str | Path) -> tuple[pd.DataFrame, TableReport]:
    """date + the index columns the file has (volume in shares, value in won)."""
    path = Path(path)
    raw, problems = _read_whole(path, INDEX_ALIASES, ("date", "close"))
    report = TableReport(rows_read=len(raw) + len(problems), problems=problems)
    dates = parse_dates(raw["date"])
    raw = _reject(raw, dates.isna(), "bad date " + raw["date"].map(repr), path, report).assign(date=dates)
    values = {}
    for column in [c for c in INDEX_ALIASES if c in raw and c != "date"]:
        number = parse_numbers(raw[column])
        blank = raw[column].str.strip() == ""
        must = column == "close"
        raw = _reject(raw, number.isna() & (~blank | must), f"bad number in {column}: " + raw[column].map(repr), path, report)
        values[column] = number
    raw = _keep_last(raw, "date", path, report)
    frame = pd.DataFrame({"date": raw["date"].dt.date})
    for column, number in values.items():
        number = number[raw.index]
        if column == "volume_thousand_shares":
            frame["volume"] = number * 1_000
        elif column == "value_million_krw":
            frame["traded_value"] = number * 1_000_000
        else:
            frame[column] = number
    return frame.reset_index(drop=True), report


def parse_breadth(paths: list[str | Path]) -> tuple[pd.DataFrame, TableReport]:
    """date + the breadth columns the files have, merged by date."""
    report = TableReport()
    merged: pd.DataFrame | None = None
    for path in map(Path, paths):
        raw, problems = _read_whole(path, BREADTH_ALIASES, ("date",))
        present = [c for c in BREADTH_VALUES if c in raw]
        if not present:
            raise CsvFormatError(f"{path}: none of the breadth columns {', '.join(BREADTH_VALUES)}")
        report.rows_read += len(raw) + len(problems)
        report.problems += problems
        dates = parse_dates(raw["date"])
        raw = _reject(raw, dates.isna(), "bad date " + raw["date"].map(repr), path, report).assign(date=dates)
        numbers = {}
        for column in present:
            number = parse_numbers(raw[column])
            bad = number.isna() | (number < 0) | (number != number.round())
            raw = _reject(raw, bad, f"bad count in {column}: " + raw[column].map(repr), path, report)
            numbers[column] = number
        raw = _keep_last(raw, "date", path, report)
        frame = pd.DataFrame({"date": raw["date"].dt.date, **{c: numbers[c][raw.index].astype("Int64") for c in present}})
        if {"advances", "declines"} <= set(present):
            placeholder = (frame["advances"] + frame["declines"]) == 0  # holidays in the source
            report.dropped += int(placeholder.sum())
            frame = frame[~placeholder]
        merged = frame if merged is None else merged.merge(frame, on="date", how="outer", suffixes=("", "_new"))
        if merged is not frame:
            for column in present:
                if f"{column}_new" in merged:
                    merged[column] = merged[f"{column}_new"].combine_first(merged[column])
                    merged = merged.drop(columns=f"{column}_new")
    assert merged is not None
    return merged.sort_values("date").reset_index(drop=True), report
