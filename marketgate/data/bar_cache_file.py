"""The bar cache file: CachedBars in one binary file, written atomically and read back
only when every check passes (magic, format, header and data checksums, length).

Layout: MAGIC, the header's length and CRC32 (little-endian uint32 each), the JSON
header (format, identity, snapshot, from_date, rows, tickers, data CRC32), zero padding
to a 64-byte boundary, then the columns back to back: codes (int32), days (int32),
values (6 x float64, one column after another), halted (bool). The columns are read
in place (np.frombuffer), without a copy.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from datetime import date
from pathlib import Path

import numpy as np

from marketgate.data.bar_columns import VALUE_COLUMNS, CachedBars

FORMAT = 1
MAGIC = b"SGBARS\x00\x01"
_ALIGN = 64


class CacheUnusable(Exception):
    """The file cannot be used (missing, damaged, of another database or format); the text says why."""


def _data_parts(bars: CachedBars) -> list[np.ndarray]:
    return [np.ascontiguousarray(bars.codes, dtype="<i4"), np.ascontiguousarray(bars.days, dtype="<i4"),
            np.ascontiguousarray(bars.values, dtype="<f8"), np.ascontiguousarray(bars.halted, dtype=np.bool_)]


def write_file(path: Path, bars: CachedBars) -> None:
    """Write `bars` to `path` atomically (a reader sees the old file or the new one)."""
    parts = _data_parts(bars)
    crc = 0
    for part in parts:
        crc = zlib.crc32(memoryview(part).cast("B"), crc)
    header = json.dumps({
        "format": FORMAT, "identity": bars.identity, "snapshot": bars.snapshot,
        "from_date": bars.from_date.isoformat(), "rows": bars.rows, "tickers": [str(t) for t in bars.tickers],
        "data_crc": crc,
    }).encode()
    lead = MAGIC + struct.pack("<II", len(header), zlib.crc32(header)) + header
    lead += b"\0" * (-len(lead) % _ALIGN)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(lead)
            for part in parts:
                handle.write(memoryview(part).cast("B"))
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def read_file(path: Path) -> CachedBars:
    """The file's contents, checked: CacheUnusable when anything about it is off."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise CacheUnusable("no cache file yet") from exc
    except OSError as exc:
        raise CacheUnusable(f"cannot read it ({exc})") from exc
    lead = len(MAGIC) + 8
    if len(blob) < lead or blob[: len(MAGIC)] != MAGIC:
        raise CacheUnusable("not a bar cache file (wrong magic)")
    size, header_crc = struct.unpack_from("<II", blob, len(MAGIC))
    raw_header = blob[lead : lead + size]
    if len(raw_header) != size or zlib.crc32(raw_header) != header_crc:
        raise CacheUnusable("damaged header")
    try:
        header = json.loads(raw_header)
    except ValueError as exc:
        raise CacheUnusable("unreadable header") from exc
    if header.get("format") != FORMAT:
        raise CacheUnusable(f"format {header.get('format')}, not {FORMAT}")
    start = lead + size + (-(lead + size) % _ALIGN)
    rows = int(header["rows"])
    expected = start + rows * (4 + 4 + 8 * len(VALUE_COLUMNS) + 1)
    if len(blob) != expected:
        raise CacheUnusable(f"truncated or padded: {len(blob):,} bytes, expected {expected:,}")
    data = memoryview(blob)[start:]
    if zlib.crc32(data) != header["data_crc"]:
        raise CacheUnusable("checksum mismatch (damaged data)")
    offset = 0

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal offset
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += array.nbytes
        return array

    codes = take("<i4", rows)
    days = take("<i4", rows)
    values = take("<f8", rows * len(VALUE_COLUMNS)).reshape(len(VALUE_COLUMNS), rows)
    halted = take("|b1", rows)
    return CachedBars(identity=header["identity"], snapshot=header["snapshot"],
                      from_date=date.fromisoformat(header["from_date"]),
                      tickers=np.asarray(header["tickers"], dtype=object),
                      codes=codes, days=days, values=values, halted=halted)
