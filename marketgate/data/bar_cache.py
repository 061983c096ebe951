"""The bar cache: the last sessions of daily bars in one binary file, kept in step with
the database, so a scan reads its window in a fraction of a database read.

What is cached: every stored bar (raw, as in marketgate_dailybar) dated on or after
`from_date`, the oldest of the last BAR_CACHE_SESSIONS distinct dates, sorted by ticker
then date, as columns (ticker codes, days, open..traded_value, halted). Corporate-action
factors are not baked in: they are applied on each read from the (small)
marketgate_adjustmentfactor table exactly as `adjustment_store.adjusted` does, so a
split stored or corrected by hand is in the next read without touching the file.

How it stays right: every statement that writes bars logs the dates it touched with
its transaction id (marketgate_barchange, filled by triggers; migration 0005). The
file records the snapshot it was built at (`pg_current_snapshot()`, taken before any
row is read). Before a read, the dates logged by transactions that snapshot did not
see are re-read from the database, merged in, and the file is rewritten with a new
snapshot: the daily ingest costs one date's read, a correction one date's, a TRUNCATE
(a log row with no date) a full rebuild. A file from another database, another table,
an older format, or with a bad checksum or length is never used: it is rebuilt.

A transaction that has written anything itself reads through the cache (its own writes
are in the log it sees, so those dates come from the database) but never saves a file:
its writes may still roll back.

PostgreSQL only, and only where the log's triggers are installed and enabled;
elsewhere `cached_bars` returns None and the caller reads the database.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
import threading
import zlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from marketgate.data.adjustment_store import stored_factors
from marketgate.data.bar_reads import BAR_COLUMNS, bar_window_start, select_bars
from marketgate.models import DailyBar

log = logging.getLogger(__name__)

FORMAT = 1
MAGIC = b"SGBARS\x00\x01"
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "traded_value")
TRIGGERS = ("marketgate_dailybar_inserted", "marketgate_dailybar_updated", "marketgate_dailybar_deleted",
            "marketgate_dailybar_truncated")
EPOCH = np.datetime64("1970-01-01", "D")
_ALIGN = 64


class CacheUnusable(Exception):
    """The file cannot be used (missing, damaged, of another database or format); the text says why."""


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


# --- the file -------------------------------------------------------------------------

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


# --- frames <-> columns ---------------------------------------------------------------

def from_frame(frame: pd.DataFrame, *, identity: dict[str, Any], snapshot: str, from_date: date) -> CachedBars:
    """Columns of a raw bar frame (BAR_COLUMNS), sorted by ticker then date."""
    codes, tickers = pd.factorize(frame["ticker"].to_numpy(dtype=object), sort=True)
    days = (frame["date"].to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int32)
    order = np.lexsort((days, codes))
    values = np.vstack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan)[order] for c in VALUE_COLUMNS])
    return CachedBars(identity=identity, snapshot=snapshot, from_date=from_date,
                      tickers=np.asarray(tickers, dtype=object), codes=codes.astype(np.int32)[order],
                      days=days[order], values=values, halted=frame["halted"].to_numpy(dtype=bool)[order])


def _merged(old: CachedBars, fresh: pd.DataFrame, dirty: set[date], *, snapshot: str, sessions: int) -> CachedBars:
    """`old` with the rows of `dirty` dates replaced by `fresh`, trimmed to the last `sessions` dates."""
    dirty_days = np.array([_day(d) for d in dirty], dtype=np.int32)
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


def _day(value: date) -> np.int32:
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
    inside = (bars.days >= _day(start)) & (bars.days <= _day(end))
    return _frame(bars, inside, bars.values[:, inside], None)


def adjusted_frame(bars: CachedBars, start: date, end: date) -> pd.DataFrame:
    """to_frame() with the stored factors (ex_date <= end) applied: the same frame
    `adjustment_store.adjusted(raw, until=end)` gives, computed on the sorted columns."""
    factors = stored_factors(end)
    inside = (bars.days >= _day(start)) & (bars.days <= _day(end))
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


# --- the database side ----------------------------------------------------------------

@dataclass(frozen=True)
class DatabaseState:
    identity: dict[str, Any]
    snapshot: str
    own_writes: bool  # this transaction has written something (maybe bars): never save
    logged: bool  # the change log and its triggers are in place and enabled


def database_state() -> DatabaseState:
    table = DailyBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned() IS NOT NULL,"
            " (SELECT oid FROM pg_database WHERE datname = current_database()), to_regclass(%s)::oid,"
            " CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')"
            "      THEN (SELECT system_identifier FROM pg_control_system())::text END,"
            " to_regclass('marketgate_barchange') IS NOT NULL,"
            " (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = ANY(%s)"
            "  AND tgenabled IN ('O', 'A'))",
            [table, table, list(TRIGGERS)],
        )
        snapshot, own, database, table_oid, system, has_log, triggers = cursor.fetchone()
    db = connection.settings_dict
    # The configured window is part of it: a file of fewer sessions than now asked for
    # would turn every scan away.
    identity = {"system": system, "database": int(database), "table": int(table_oid or 0), "name": db["NAME"],
                "host": db.get("HOST") or "", "port": str(db.get("PORT") or ""),
                "sessions": int(settings.BAR_CACHE_SESSIONS)}
    return DatabaseState(identity, snapshot, bool(own), bool(has_log) and triggers == len(TRIGGERS))


def changed_dates(since: str) -> tuple[set[date], bool]:
    """(dates whose bars changed in transactions `since` did not see, whether some change
    named no date — a TRUNCATE — so that everything must be re-read)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT date FROM marketgate_barchange"
            " WHERE xid >= pg_snapshot_xmin(%s::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot)",
            [since, since],
        )
        rows = [r[0] for r in cursor.fetchall()]
    return {d for d in rows if d is not None}, any(d is None for d in rows)


# --- the cache ------------------------------------------------------------------------

_memo_lock = threading.Lock()
_memo: dict[str, tuple[tuple[int, int, int], CachedBars]] = {}


def cache_path() -> Path:
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(connection.settings_dict["NAME"]))
    return Path(settings.BAR_CACHE_DIR) / f"bars-{name}.bin"


def enabled() -> bool:
    return connection.vendor == "postgresql" and int(getattr(settings, "BAR_CACHE_SESSIONS", 0)) > 0


def _load(path: Path) -> CachedBars:
    """The file, from memory when this process read (or wrote) exactly this file already."""
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise CacheUnusable("no cache file yet") from exc
    key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _memo_lock:
        hit = _memo.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    bars = read_file(path)
    with _memo_lock:
        _memo[str(path)] = (key, bars)
    return bars


def _save(path: Path, bars: CachedBars) -> None:
    try:
        write_file(path, bars)
        stat = path.stat()
    except OSError as exc:
        log.warning("bar cache: cannot write %s (%s); scans read the database", path, exc)
        return
    with _memo_lock:
        _memo[str(path)] = ((stat.st_ino, stat.st_mtime_ns, stat.st_size), bars)


def _build(state: DatabaseState, sessions: int) -> CachedBars | None:
    """A fresh cache of the last `sessions` dates (None: no bars stored)."""
    latest = DailyBar.objects.order_by("-date").values_list("date", flat=True).first()
    if latest is None:
        return None
    first = bar_window_start(latest, sessions)
    assert first is not None
    frame = select_bars("date >= %s", [first])
    return from_frame(frame, identity=state.identity, snapshot=state.snapshot, from_date=first)


def current(*, save: bool = True, rebuild: bool = True) -> CachedBars | None:
    """The cache brought up to date with the database (None: disabled, unavailable, or
    no bars). Saves the result when it changed, unless this transaction wrote anything.
    `rebuild=False`: only an incremental update; when the file would have to be built
    from scratch, leave that to the next reader (None)."""
    if not enabled():
        return None
    sessions = int(settings.BAR_CACHE_SESSIONS)
    # The snapshot is taken before any row is read: rows read later may be newer, never
    # older, and whatever is newer than the snapshot is re-read next time.
    state = database_state()
    if not state.logged:
        log.warning("bar cache: the bar change log (migration 0005) is missing or disabled; scans read the database")
        return None
    save = save and not state.own_writes
    path = cache_path()
    try:
        bars = _load(path)
        if bars.identity != state.identity:
            raise CacheUnusable("written for another database, table or window")
    except CacheUnusable as exc:
        if str(exc) != "no cache file yet":
            log.warning("bar cache %s not used: %s; rebuilding from the database", path, exc)
        if not rebuild:
            return None
        bars = _build(state, sessions)
        if bars is not None and save:
            _save(path, bars)
        return bars
    dirty, everything = changed_dates(bars.snapshot)
    if everything:
        if not rebuild:
            return None
        bars = _build(state, sessions)
        if bars is not None and save:
            _save(path, bars)
        return bars
    if not dirty:
        return bars
    fresh = select_bars("date = ANY(%s) AND date >= %s", [sorted(dirty), bars.from_date])
    bars = _merged(bars, fresh, dirty, snapshot=state.snapshot, sessions=sessions)
    if save:
        _save(path, bars)
    return bars


def cached_bars(start: date, end: date) -> pd.DataFrame | None:
    """Split-adjusted bars start..end, equal to `adjusted(load_bars(start, end), until=end)`
    (sorted by ticker, date), or None when the cache cannot serve them: the caller reads
    the database."""
    bars = current()
    if bars is None or start < bars.from_date:
        return None
    return adjusted_frame(bars, start, end)


def refresh(*, rebuild: bool = True) -> None:
    """Bring the cache file up to date now (after an ingest or an import), so the next
    scan finds it ready; after the surrounding transaction commits. Never raises.
    `rebuild=False` (a bulk import): update the file when that is incremental, but leave
    a build from scratch to the next scan rather than make the import wait for it."""
    if not enabled():
        return

    def run() -> None:
        try:
            current(rebuild=rebuild)
        except Exception:
            log.exception("bar cache: refresh failed; the next scan reads the database and retries")

    transaction.on_commit(run)
