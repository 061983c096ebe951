"""CSV import of daily bars, used by `manage.py import_bars` (and by anyone with files).

Decisions (also in the command's help):
- a file whose header lacks a required column is refused before anything is written;
- an empty file (no header, or no data rows) is an error;
- a row that cannot be a traded session (see bar_rows) is reported as
  `file:line: ticker date: reason` and skipped; the rest is imported;
- a suspicious row (off its date's tick grid, beyond the daily price limit from the
  previous close, halted with volume) is imported and reported the same way as flagged;
- a (ticker, date) seen twice: the last row wins, and the earlier lines are reported;
- a halted session (open = 0) is stored with halted=True;
- an unknown ticker gets a minimal Instrument (name = ticker, market from --market,
  KOSPI by default), listed in the report; `import_listing` later fills it in;
- importing again updates rows in place (upsert), never duplicates them;
- corporate actions (moves beyond the daily price limit: `limit_breaches`, the same rule
  that flags those lines) in the imported range are stored as adjustment factors and
  listed in the report; the bars stay as traded;
- each file is one transaction: a failure part-way leaves nothing of that file.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import TypeVar

import numpy as np
import pandas as pd
from django.db import connections, transaction
from pandas.api.types import union_categoricals

from marketgate.data import bar_cache
from marketgate.data.adjustment_store import LOOKBACK_DAYS, refresh_adjustments_and_breaches
from marketgate.data.bar_import_report import ImportReport
from marketgate.data.bar_rows import BAR_ALIASES, BAR_REQUIRED, NUMERIC, number_text, tick_flags, validate_bars
from marketgate.data.bulk import BulkLoad, upsert_daily_bars
from marketgate.data.corporate_actions import snap_ratio
from marketgate.data.csv_reader import (
    CsvFormatError,
    Problem,
    map_columns,
    read_chunks,
    read_header,
)
from marketgate.data.market_upserts import ensure_instruments
from marketgate.models import DailyBar, Instrument, InstrumentKind

# Rows of a file parsed and written at a time (one COPY each; `import_bars --chunk-rows`).
CHUNK_ROWS = 200_000
T = TypeVar("T")


class _Duplicates:
    """Finds (ticker, date) seen more than once across all chunks of a file."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.keys: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []

    def add(self, frame: pd.DataFrame) -> np.ndarray:
        """Note the chunk's rows; returns their keys (ticker id * 1e6 + day number)."""
        codes, names = pd.factorize(frame["ticker"])
        ids = np.array([self.ids.setdefault(name, len(self.ids)) for name in names], dtype="int64")
        days = frame["date"].to_numpy().astype("datetime64[D]").astype("int64")
        keys = ids[codes] * 1_000_000 + days
        self.keys.append(keys)
        self.lines.append(frame["line"].to_numpy())
        return keys

    def key(self, ticker: str, day: date) -> int | None:
        ticker_id = self.ids.get(ticker)
        if ticker_id is None:
            return None
        return ticker_id * 1_000_000 + int(np.datetime64(day, "D").astype("int64"))

    def last_lines(self) -> pd.Series:
        """The line stored for each key (the last of duplicates)."""
        if not self.keys:
            return pd.Series(dtype="int64")
        lines = pd.Series(np.concatenate(self.lines), index=np.concatenate(self.keys))
        return lines.groupby(level=0).last()

    def report(self, path: str) -> list[Problem]:
        if not self.keys:
            return []
        keys = pd.Series(np.concatenate(self.keys))
        lines = np.concatenate(self.lines)
        earlier = keys.duplicated(keep="last").to_numpy()
        last_line = pd.Series(lines, index=keys.to_numpy()).groupby(level=0).last()
        return [
            Problem(path, int(line), f"duplicate of line {int(last_line[key])}; the last one wins")
            for line, key in zip(lines[earlier], keys.to_numpy()[earlier], strict=True)
        ]


class _Written:
    """The bars an import wrote (ticker, date, open, close), for corporate-action
    detection without reading them back."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.whole_table = True  # every file so far went into a table locked and empty before it

    def add(self, frame: pd.DataFrame) -> None:
        self.parts.append(frame[["ticker", "date", "open", "close"]])

    def bars(self) -> pd.DataFrame:
        """One row per (ticker, date): the last written."""
        if not self.parts:
            return pd.DataFrame(columns=["ticker", "date", "open", "close"])
        bars = pd.concat(self.parts, ignore_index=True)
        # One categorical over all chunks (their categories differ), not a million strings.
        bars["ticker"] = union_categoricals([pd.Categorical(part["ticker"]) for part in self.parts])
        codes, _ = pd.factorize(bars["ticker"])
        keys = codes.astype("int64") * 1_000_000 + bars["date"].to_numpy().astype("datetime64[D]").astype("int64")
        later = pd.Series(keys).duplicated(keep="last").to_numpy()
        return bars.loc[~later].reset_index(drop=True) if later.any() else bars


def _prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Produce `items` in a thread, so parsing the next chunk overlaps writing this one."""
    queue: Queue[tuple[str, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(("item", item))
            queue.put(("done", None))
        except BaseException as exc:
            queue.put(("error", exc))

    worker = threading.Thread(target=produce, name="csv-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)


def _progress(path: Path, enabled: bool | None):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=not show, file=sys.stderr)


def check_bar_files(paths: Iterable[Path]) -> dict[Path, dict[str, str]]:
    """Column mapping of every file, refusing any that cannot be imported (before writing)."""
    mappings = {}
    for path in paths:
        if not path.is_file():
            raise CsvFormatError(f"{path}: no such file")
        mappings[path] = map_columns(path, read_header(path), BAR_ALIASES, BAR_REQUIRED)
    return mappings


def import_bars(
    paths: Iterable[str | Path],
    *,
    market: str = "KOSPI",
    chunksize: int = CHUNK_ROWS,
    progress: bool | None = None,
    using: str = "default",
    method: str | None = None,
) -> ImportReport:
    """Import long-format daily bar CSV files (see the module docstring for the rules)."""
    mappings = check_bar_files([Path(p) for p in paths])
    report = ImportReport()
    rows_by_file: dict[str, _Duplicates] = {}
    written = _Written()
    for path, mapping in mappings.items():
        with transaction.atomic(using=using):
            rows_by_file[str(path)] = _import_bar_file(
                path, mapping, report, market, chunksize, progress, using, method, written)
        report.files.append(str(path))
    _refresh_statistics(using)
    if report.first_date is not None and report.last_date is not None and using == "default":
        report.adjustments, breaches = refresh_adjustments_and_breaches(
            report.tickers, report.first_date, report.last_date,
            known=_stored_as_written(written, report.first_date, report.last_date, using))
        report.flagged.extend(_breach_flags(breaches, rows_by_file))
    bar_cache.refresh(rebuild=False)
    return report


def _breach_flags(breaches: pd.DataFrame, rows_by_file: dict[str, _Duplicates]) -> list[Problem]:
    """A flag for each imported line whose session moved beyond the daily price limit
    (the line of the file that wrote it last; a breach among bars stored before is not
    this import's)."""
    flags: list[Problem] = []
    lines = {path: rows.last_lines() for path, rows in rows_by_file.items()}
    for r in breaches.itertuples(index=False):
        found = None
        for path, rows in rows_by_file.items():
            key = rows.key(r.ticker, r.date)
            if key is not None and key in lines[path].index:
                found = (path, int(lines[path][key]))  # a later file wins, as it did in the table
        if found is None:
            continue
        factor = snap_ratio(float(r.prev_close) / float(r.open))
        reason = (f"open {number_text(r.open)} / close {number_text(r.close)} moved {r.move_pct:+.1f}% from the"
                  f" previous close {number_text(r.prev_close)}, beyond the ±{r.limit_pct:g}% daily limit:"
                  f" kept, read as a corporate action (÷{factor:g})")
        flags.append(Problem(found[0], found[1], reason, ticker=r.ticker, day=r.date.isoformat(),
                             code="beyond_price_limit"))
    return sorted(flags, key=lambda p: (p.path, p.line))


def _stored_as_written(written: _Written, first: date, last: date, using: str) -> pd.DataFrame:
    """The written bars of the tickers whose stored bars in the detection window are
    exactly the ones written (all of them after a first load into an empty table;
    otherwise those whose stored count in the window equals the written count): their
    detection needs no read back. Other tickers are read from the table."""
    bars = written.bars()
    if written.whole_table or bars.empty:
        return bars
    counts = bars.groupby("ticker", sort=False).size()
    table = DailyBar._meta.db_table
    ticker_column = DailyBar._meta.get_field("instrument").column
    with connections[using].cursor() as cursor:
        cursor.execute(
            f'SELECT "{ticker_column}", count(*) FROM "{table}" WHERE "{ticker_column}" = ANY(%s)'
            f' AND "date" BETWEEN %s AND %s GROUP BY "{ticker_column}"',
            [list(counts.index), first - timedelta(days=LOOKBACK_DAYS), last])
        stored = dict(cursor.fetchall())
    exact = [ticker for ticker, count in counts.items() if stored.get(ticker) == count]
    return bars.loc[bars["ticker"].isin(exact)].reset_index(drop=True)


def _note_range(report: ImportReport, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    report.tickers.update(frame["ticker"].unique())
    days = pd.to_datetime(frame["date"])
    first, last = days.min().date(), days.max().date()
    report.first_date = first if report.first_date is None else min(report.first_date, first)
    report.last_date = last if report.last_date is None else max(report.last_date, last)


def _refresh_statistics(using: str) -> None:
    """After a bulk load the planner's row estimates are far off until ANALYZE runs."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{DailyBar._meta.db_table}"')


def _import_bar_file(
    path: Path,
    mapping: dict[str, str],
    report: ImportReport,
    market: str,
    chunksize: int,
    progress: bool | None,
    using: str,
    method: str | None,
    written: _Written,
) -> _Duplicates:
    # Every instrument's grid up front, and unknown tickers created once at the end of
    # the file: a query between chunks would wait for the COPY in flight.
    instruments = _instrument_grid(using)
    unknown: list[str] = []
    duplicates = _Duplicates()
    load = BulkLoad(using)
    rows_in_file = 0
    try:
        with _progress(path, progress) as bar:
            parsed = ((chunk, validate_bars(chunk.frame, str(path))) for chunk in read_chunks(path, mapping, chunksize, numeric=NUMERIC, text=object))
            for chunk, valid in _prefetch(parsed):
                rows_in_file += valid.rows + len(chunk.problems)
                report.problems.extend(chunk.problems + valid.problems)
                frame = valid.frame
                report.widened.extend(_widened(frame, valid.widened, str(path)))
                keys = duplicates.add(frame)
                later = pd.Series(keys).duplicated(keep="last").to_numpy()
                if later.any():
                    frame, keys = frame.loc[~later].reset_index(drop=True), keys[~later]
                new = sorted(set(frame["ticker"].unique()) - set(instruments.index))
                if new:  # created below as minimal instruments of `market` (see ensure_instruments)
                    unknown.extend(new)
                    instruments = pd.concat([instruments, pd.DataFrame(
                        {"market": market, "kind": InstrumentKind.COMMON.value}, index=pd.Index(new, name="ticker"))])
                report.flagged.extend(sorted(valid.flags + tick_flags(frame, instruments, str(path)), key=lambda p: p.line))
                report.rows_written += upsert_daily_bars(frame, using=using, method=method, load=load, keys=keys)
                written.add(frame)
                _note_range(report, frame)
                report.halted += int(frame["halted"].sum())
                bar.update(chunk.bytes_read - bar.n)
        # No database-level key from bars to instruments: creating them after the bars
        # (in the same transaction) is as good as before.
        report.created.extend(ensure_instruments(unknown, market, using=using))
    except BaseException as exc:
        # The COPY in flight ends first. When it failed, later statements only saw an
        # aborted transaction: its error is the one that explains.
        copy_error = load.close()
        if copy_error is not None:
            raise copy_error from exc
        raise
    copy_error = load.close()
    if copy_error is not None:
        raise copy_error
    written.whole_table &= load.first_load
    load.finish()
    if rows_in_file == 0:
        raise CsvFormatError(f"{path}: empty file (a header but no data rows)")
    report.rows_read += rows_in_file
    report.duplicates.extend(duplicates.report(str(path)))
    return duplicates


def _widened(frame: pd.DataFrame, lines: list[int], path: str) -> list[Problem]:
    rows = frame.loc[frame["line"].isin(lines)]
    return [Problem(path, int(line), "high/low widened to contain open/close", ticker=t,
                    day=pd.Timestamp(d).date().isoformat(), code="widened")
            for line, t, d in zip(rows["line"], rows["ticker"], rows["date"], strict=True)]


def _instrument_grid(using: str) -> pd.DataFrame:
    """market and kind of every instrument (index ticker): which tick grid its prices are on."""
    rows = Instrument.objects.using(using).values_list("ticker", "market", "kind")
    return pd.DataFrame.from_records(list(rows), columns=["ticker", "market", "kind"]).set_index("ticker")
