"""Reading market-data CSV files: headers, encodings, gzip, chunks. Pure: no Django.

Files come from spreadsheets, brokers' exports and scripts, so the reader accepts
English or Korean headers, UTF-8 (with or without BOM) or CP949, plain or gzip (told
by its magic bytes, not its name), and reports every row it cannot use as
`file:line: reason` instead of giving up on the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

GZIP_MAGIC = b"\x1f\x8b"
_SKIPPED_LINE = re.compile(r"Skipping line (\d+)")


class CsvFormatError(ValueError):
    """The file cannot be imported at all (empty, unreadable, wrong columns)."""


@dataclass(frozen=True)
class Problem:
    """One line of a file that was skipped, changed or flagged, and why.

    `ticker` and `day` are the row's as written (when the file has such columns);
    `code` names the reason for machines (`bad_number`, `off_tick_grid`, ...).
    """

    path: str
    line: int
    reason: str
    ticker: str = ""
    day: str = ""
    code: str = ""

    def __str__(self) -> str:
        if self.ticker or self.day:
            return f"{self.path}:{self.line}: {self.ticker or '-'} {self.day or '-'}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"

    def to_data(self) -> dict[str, object]:
        return {"file": self.path, "line": self.line, "ticker": self.ticker, "date": self.day,
                "code": self.code, "reason": self.reason}


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-()]+", "", str(name).strip().strip('"').lstrip("\ufeff").lower())


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as raw:
        return raw.read(2) == GZIP_MAGIC


def _open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(the raw file, for progress by position; the decompressed stream)."""
    raw = open(path, "rb")
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return raw, gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    raw.seek(0)
    return raw, raw


def sniff_encoding(path: Path) -> str:
    """utf-8-sig when the start of the file decodes as UTF-8, else cp949 (Korean Excel)."""
    raw, stream = _open_binary(path)
    with raw:
        try:
            head = stream.read(256 * 1024)
        except (OSError, EOFError) as exc:
            raise CsvFormatError(f"{path}: cannot read the file ({exc})") from exc
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp949"


@contextmanager
def open_text(path: Path) -> Iterator[tuple[IO[str], IO[bytes]]]:
    """(text stream, raw file) for pandas; the raw file's position measures progress."""
    encoding = sniff_encoding(path)
    raw, stream = _open_binary(path)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[arg-type]
    try:
        yield text, raw
    finally:
        text.close()
        raw.close()


def read_header(path: Path) -> list[str]:
    with open_text(path) as (text, _):
        first = text.readline()
    if not first.strip():
        raise CsvFormatError(f"{path}: empty file (no header row)")
    return list(pd.read_csv(io.StringIO(first), nrows=0, dtype=str).columns)


def map_columns(
    path: Path, header: list[str], aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> dict[str, str]:
    """{column in the file: canonical name}; a missing required column is fatal."""
    lookup = {normalise(alias): canonical for canonical, names in aliases.items() for alias in (canonical, *names)}
    mapping: dict[str, str] = {}
    for column in header:
        canonical = lookup.get(normalise(column))
        if canonical is None:
            continue
        if canonical in mapping.values():
            raise CsvFormatError(f"{path}: more than one column means {canonical!r}")
        mapping[column] = canonical
    missing = [name for name in required if name not in mapping.values()]
    if missing:
        found = ", ".join(header) or "nothing"
        raise CsvFormatError(f"{path}: missing column(s): {', '.join(missing)} (found: {found})")
    return mapping


@dataclass
class Chunk:
    frame: pd.DataFrame  # canonical column names, all str, plus `line` (1-based file line)
    bytes_read: int  # position in the raw file after this chunk
    problems: list[Problem]  # lines the CSV parser could not split


def read_chunks(
    path: Path, mapping: dict[str, str], chunksize: int = 200_000, numeric: tuple[str, ...] = (),
    text: type = str,
) -> Iterator[Chunk]:
    """The file in chunks, with the file line of every row.

    Every column is text except the canonical columns in `numeric`, which the CSV
    parser may read as numbers (fast); a column with anything else in it stays text.
    `text`: the dtype of text columns (`object`: plain str objects, no string array built).
    """
    text_columns = {column: text for column, canonical in mapping.items() if canonical not in numeric}
    skipped: list[int] = []
    first_problems: list[Problem] = []
    with open_text(path) as (text, _):
        head = list(csv.reader([text.readline(), text.readline()]))
    # pandas quietly cuts a too-long *first* data line to the header's width (later
    # ones it skips with a warning), so that line is checked here.
    if len(head) == 2 and len(head[1]) > len(head[0]):
        skipped.append(2)
        first_problems.append(Problem(str(path), 2, "wrong number of fields", code="wrong_fields"))
    encoding = sniff_encoding(path)
    raw, stream = _open_binary(path)
    # The parser reads bytes and decodes them itself: a text stream would be decoded here
    # and encoded back to UTF-8 for it.
    with raw, stream, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = pd.read_csv(
            stream,
            encoding=encoding,
            index_col=False,
            skiprows=[1] if first_problems else None,
            dtype=text_columns,
            keep_default_na=False,
            na_values={column: [""] for column, canonical in mapping.items() if canonical in numeric},
            skip_blank_lines=False,
            chunksize=chunksize,
            on_bad_lines="warn",
        )
        for frame in reader:
            problems, first_problems = first_problems, []
            for warning in caught:
                for match in _SKIPPED_LINE.finditer(str(warning.message)):
                    line = int(match.group(1))
                    skipped.append(line)
                    problems.append(Problem(str(path), line, "wrong number of fields", code="wrong_fields"))
            caught.clear()
            lines = (frame.index.to_numpy() + 2).copy()
            # Rows after a line the parser skipped sit one line further down the file.
            for line in sorted(skipped):
                lines[lines >= line] += 1
            # All columns are read (no usecols) so that a line with extra fields is
            # refused rather than silently cut to the first ones.
            frame = frame[list(mapping)].rename(columns=mapping)
            frame["line"] = lines
            yield Chunk(frame, raw.tell(), problems)


def blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows with nothing in any column (blank lines)."""
    blank = pd.Series(True, index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            blank &= values.isna()
        else:
            blank &= values.isna() | (values.astype(str) == "")
    return blank


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO dates, or 20240102 / 2024/01/02 / 2024.01.02; NaT where none fits."""
    text = values.str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%Y%m%d", "%Y/%m/%d", "%Y.%m.%d"):
        missing = parsed.isna() & (text != "")
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    return parsed


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers, with thousands separators allowed; NaN where the text is not a number."""
    if pd.api.types.is_numeric_dtype(values):
        return values  # the CSV parser already read every value as a number
    text = values.astype(str).str.strip()
    if text.str.contains(",", regex=False).any():
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce")
