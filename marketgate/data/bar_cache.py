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

The cached rows as columns, and how they turn back into frames: bar_columns.py; the
file they are stored in: bar_cache_file.py.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from marketgate.data.bar_cache_file import CacheUnusable, read_file, write_file
from marketgate.data.bar_columns import CachedBars, adjusted_frame, from_frame, with_dates_replaced
from marketgate.data.bar_reads import bar_window_start, select_bars
from marketgate.models import DailyBar

log = logging.getLogger(__name__)

TRIGGERS = ("marketgate_dailybar_inserted", "marketgate_dailybar_updated", "marketgate_dailybar_deleted",
            "marketgate_dailybar_truncated")


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

    def from_scratch() -> CachedBars | None:
        if not rebuild:
            return None
        built = _build(state, sessions)
        if built is not None and save:
            _save(path, built)
        return built

    try:
        bars = _load(path)
        if bars.identity != state.identity:
            raise CacheUnusable("written for another database, table or window")
    except CacheUnusable as exc:
        if str(exc) != "no cache file yet":
            log.warning("bar cache %s not used: %s; rebuilding from the database", path, exc)
        return from_scratch()
    dirty, everything = changed_dates(bars.snapshot)
    if everything:
        return from_scratch()
    if not dirty:
        return bars
    fresh = select_bars("date = ANY(%s) AND date >= %s", [sorted(dirty), bars.from_date])
    bars = with_dates_replaced(bars, fresh, dirty, snapshot=state.snapshot, sessions=sessions)
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
