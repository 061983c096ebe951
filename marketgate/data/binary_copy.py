"""Bar rows in PostgreSQL's binary COPY format, built with NumPy (no per-row Python):
what the bulk bar writes (bulk.py) send when every value fits the fixed layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The fields of a bar row after its ticker, in the order of the table's columns and of
# the binary layout below.
BAR_FIELDS = ("date", "open", "high", "low", "close", "volume", "traded_value", "halted")

# PostgreSQL's binary COPY: a header, then per row a field count and (length, bytes) per
# field, big-endian; dates are days since 2000-01-01.
_PG_EPOCH = np.datetime64("2000-01-01", "D")
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_COPY_TRAILER = b"\xff\xff"


def binary_copy_rows(rows: pd.DataFrame) -> bytes | None:
    """`rows` (ticker, BAR_FIELDS) as one binary COPY stream, built with NumPy (no
    per-row Python); None when a value does not fit the fixed layout (tickers of
    different lengths, missing or fractional integers): the caller sends CSV instead,
    whose errors name the row."""
    # Tickers repeat (a few thousand among a million rows): encode each once.
    codes, names = pd.factorize(rows["ticker"], use_na_sentinel=True)
    if (codes < 0).any():
        return None
    try:
        unique = [str(name).encode("ascii") for name in names]
    except UnicodeEncodeError:
        return None
    width = len(unique[0]) if unique else 0
    if not width or any(len(u) != width for u in unique):
        return None
    encoded = np.array(unique, dtype=f"S{width}")[codes]
    volume = rows["volume"].to_numpy(dtype=np.float64, na_value=np.nan)
    value = rows["traded_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    halted = rows["halted"]
    if halted.isna().any() or not np.isfinite(volume).all() or (volume != np.round(volume)).any():
        return None
    has_value = ~np.isnan(value)
    if (value[has_value] != np.round(value[has_value])).any():
        return None
    days = pd.to_datetime(rows["date"]).to_numpy().astype("datetime64[D]")
    parts = [_COPY_HEADER]
    for with_value in (True, False):
        pick = has_value if with_value else ~has_value
        if not pick.any():
            continue
        layout = [("n", ">i2"), ("l_ticker", ">i4"), ("ticker", f"S{width}"), ("l_date", ">i4"), ("date", ">i4")]
        for name in ("open", "high", "low", "close"):
            layout += [(f"l_{name}", ">i4"), (name, ">f8")]
        layout += [("l_volume", ">i4"), ("volume", ">i8"), ("l_traded_value", ">i4")]
        if with_value:
            layout.append(("traded_value", ">i8"))
        layout += [("l_halted", ">i4"), ("halted", "u1")]
        out = np.empty(int(pick.sum()), dtype=np.dtype(layout))
        out["n"] = len(BAR_FIELDS) + 1
        out["l_ticker"], out["l_date"], out["l_volume"], out["l_halted"] = width, 4, 8, 1
        out["l_traded_value"] = 8 if with_value else -1  # -1: NULL
        for name in ("open", "high", "low", "close"):
            out[f"l_{name}"] = 8
            out[name] = rows[name].to_numpy(dtype=np.float64)[pick]
        out["ticker"] = encoded[pick]
        out["date"] = (days[pick] - _PG_EPOCH).astype(np.int32)
        out["volume"] = volume[pick].astype(np.int64)
        if with_value:
            out["traded_value"] = value[pick].astype(np.int64)
        out["halted"] = halted.to_numpy(dtype=bool)[pick]
        parts.append(out.tobytes())
    parts.append(_COPY_TRAILER)
    return b"".join(parts)
