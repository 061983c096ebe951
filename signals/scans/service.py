"""One scan, from the database to the sockets: load -> compute -> save -> broadcast.

The scheduled task, `manage.py scan`, the HTTP API and the admin all run scans through
`run_scan()`, so they share one definition of which signals a day has:

* the whole universe is scanned even when one market is asked for, because RS is a
  percentile across the market (a KOSPI-only scan must not rank KOSPI names against
  KOSPI alone); the market filter applies to what is kept;
* the Market Gate of the scan date caps grades and sizes (no gate row: treated as
  YELLOW, see gate_cap.py);
* the day's signals and the ScanRun are written in one transaction, and a rescan
  deletes the rows of that date (and those markets) it no longer finds, so the DB and
  the wire hold exactly the latest scan's list;
* exactly one `signal_update` goes out, after the commit.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from marketgate import calendar
from marketgate.data import bar_cache
from marketgate.data.adjustment_store import adjusted
from marketgate.models import MarketGate
from signals.models import ScanRun, ScanStatus, Signal
from signals.push import broadcast_signals, update_key
from signals.scanner.gate_filter import apply_gate_cap
from signals.scanner.params import ScanParams
from signals.scanner.results import ScanResult, SignalCandidate
from signals.scanner.vcp import scan
from signals.scans import loading
from stockgate.realtime.commit import broadcast_on_commit

log = logging.getLogger(__name__)

MARKET_CHOICES = ("ALL", "KOSPI", "KOSDAQ")
# More than every listed issue (about 2,800): a bigger top_n means "all" and is refused
# rather than carried around as a number no one meant.
MAX_TOP_N = 5_000
# Distinct dates read beyond the scanner's look-back, so a ticker with a few halts in
# the window still has enough clean sessions.
EXTRA_SESSIONS = 20
SIGNAL_TYPE = "VCP"
UPDATE_FIELDS = [
    "name", "market", "score", "grade", "entry_price", "target_price", "stop_loss", "position_size",
    "reasons", "reason_codes", "footprint", "scan_run", "updated_at",
]

Progress = Callable[[str, float], None]


class ScanError(Exception):
    """A scan that cannot run as asked (bad request, missing data); the message says why."""


@dataclass(frozen=True)
class ScanRequest:
    market: str = "ALL"
    top_n: int | None = None
    min_score: float | None = None
    # None: the trading date now (KST), scanned on the latest bars up to it. A given date
    # must have bars of its own: scanning an older day instead would mislabel the result.
    as_of: date | None = None
    triggered_by: str = "manual"

    def __post_init__(self) -> None:
        if self.market not in MARKET_CHOICES:
            raise ScanError(f"market must be one of {', '.join(MARKET_CHOICES)}, not {self.market!r}")
        if self.top_n is not None and not 1 <= self.top_n <= MAX_TOP_N:
            raise ScanError(f"top_n must be a whole number from 1 to {MAX_TOP_N:,}, not {self.top_n}")
        if self.min_score is not None and not 0 <= self.min_score <= 100:
            raise ScanError(f"min_score must be between 0 and 100, not {self.min_score}")

    @property
    def markets(self) -> tuple[str, ...]:
        return ("KOSPI", "KOSDAQ") if self.market == "ALL" else (self.market,)

    def to_parameters(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "top_n": self.top_n,
            "min_score": self.min_score,
            "date": self.as_of.isoformat() if self.as_of else None,
        }

    @classmethod
    def from_parameters(cls, data: dict[str, Any], triggered_by: str = "manual") -> ScanRequest:
        day = data.get("date")
        return cls(
            market=str(data.get("market") or "ALL").upper(),
            top_n=None if data.get("top_n") is None else int(data["top_n"]),
            min_score=None if data.get("min_score") is None else float(data["min_score"]),
            as_of=date.fromisoformat(day) if day else None,
            triggered_by=triggered_by,
        )


@dataclass
class ScanOutcome:
    request: ScanRequest
    signal_date: date
    result: ScanResult
    signals: list[SignalCandidate]
    gate_status: str | None
    run_id: int | None = None
    removed: int = 0
    dry_run: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    coverage: dict[str, Any] = field(default_factory=dict)  # missing_coverage()

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "signal_date": self.signal_date.isoformat(),
            "market": self.request.market,
            "dry_run": self.dry_run,
            "gate_status": self.gate_status,
            "universe_count": self.result.universe_count,
            "trend_template_count": self.result.trend_template_count,
            "signal_count": len(self.signals),
            "removed": self.removed,
            **self.coverage,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def scan_params() -> ScanParams:
    return ScanParams.from_overrides(getattr(settings, "SCANNER_PARAMS", None))


def queue_run(request: ScanRequest) -> ScanRun:
    """A queued ScanRun carrying the request, for a task to pick up."""
    return ScanRun.objects.create(
        status=ScanStatus.QUEUED, parameters=request.to_parameters(), triggered_by=request.triggered_by[:32]
    )


def run_scan(
    request: ScanRequest,
    *,
    run: ScanRun | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ScanOutcome:
    """Scan, save and broadcast (or only scan, with `dry_run`). Raises ScanError when the
    request cannot be served; any failure marks the run failed before it propagates."""
    report = progress or (lambda stage, fraction: None)
    if not dry_run and run is None:
        run = queue_run(request)
    if run is not None:
        _mark_running(run)
    try:
        return _run(request, run, now or timezone.now(), dry_run, report)
    except BaseException as exc:
        if run is not None:
            try:
                mark_failed(run.pk, describe_error(exc))
            except Exception:
                log.exception("could not mark scan run %s failed", run.pk)
        raise


def _run(request: ScanRequest, run: ScanRun | None, now: datetime, dry_run: bool, report: Progress) -> ScanOutcome:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    params = scan_params()
    as_of = request.as_of or calendar.trading_date(now)

    report("load", 0.0)
    bars, instruments = load_market(as_of, params, strict=request.as_of is not None)
    timings["load"] = time.perf_counter() - started
    coverage = missing_coverage(bars)

    report("compute", 0.35)
    mark = time.perf_counter()
    result = scan(bars, instruments, as_of=as_of, params=params)
    del bars
    timings["compute"] = time.perf_counter() - mark
    signal_date = date.fromisoformat(str(result.stats["scan_date"]))
    gate_status = gate_status_for(signal_date)
    signals = select_signals(result.candidates, request, gate_status)
    outcome = ScanOutcome(request, signal_date, result, signals, gate_status, dry_run=dry_run, timings=timings,
                          coverage=coverage)
    if coverage.get("warning"):
        log.warning("scan of %s: %s", signal_date, coverage["warning"])
    if dry_run:
        timings["total"] = time.perf_counter() - started
        report("done", 1.0)
        return outcome

    assert run is not None
    report("save", 0.8)
    mark = time.perf_counter()
    with transaction.atomic():
        outcome.removed = save_signals(signals, signal_date, request.markets, run)
        timings["save"] = time.perf_counter() - mark
        timings["total"] = time.perf_counter() - started
        _finish_run(run, request, params, outcome)
        # One frame with the full list, sent only once the rows are visible to readers.
        broadcast_on_commit(update_key(signal_date), lambda: broadcast_signals(signal_date))
    outcome.run_id = run.pk
    report("done", 1.0)
    return outcome


def load_market(as_of: date, params: ScanParams, *, strict: bool):
    """(bars, instruments) of the last sessions up to `as_of`; ScanError when there is
    nothing to scan (or, `strict`, no bars on `as_of` itself)."""
    latest = loading.latest_bar_date(as_of)
    if latest is None:
        raise ScanError(f"No daily bars up to {as_of.isoformat()}: import them first (manage.py import_bars)")
    if strict and latest != as_of:
        raise ScanError(
            f"No daily bars for {as_of.isoformat()} (the latest up to then is {latest.isoformat()}); "
            "is it a trading day, and were its bars imported?"
        )
    sessions = max(params.history_sessions, params.required_sessions) + EXTRA_SESSIONS
    start = loading.bar_window_start(latest, sessions)
    assert start is not None
    # Indicators, MAs and bases run on split-adjusted history; the scan date's own prices
    # (entry, stop, display) are the traded ones, since adjustment only rescales earlier bars.
    bars = bar_cache.cached_bars(start, latest)
    if bars is None:
        bars = adjusted(loading.load_bars(start, latest), until=latest)
    return bars, loading.load_instruments()


def missing_coverage(bars: Any) -> dict[str, Any]:
    """How much of the market has no bar on the scan date although it traded the session
    before; above SCAN_MAX_MISSING_SHARE the run says the scan is incomplete."""
    if bars.empty:
        return {}
    days = bars["date"].drop_duplicates().nlargest(2).tolist()
    if len(days) < 2:
        return {}
    before = set(bars.loc[bars["date"] == days[1], "ticker"])
    missing = before - set(bars.loc[bars["date"] == days[0], "ticker"])
    share = len(missing) / len(before) if before else 0.0
    limit = float(getattr(settings, "SCAN_MAX_MISSING_SHARE", 0.05))
    out: dict[str, Any] = {"missing_tickers": len(missing), "traded_before": len(before),
                           "missing_share": round(share, 4), "missing_limit": limit}
    if share > limit:
        day = days[0].date() if hasattr(days[0], "date") else days[0]
        out["warning"] = (f"incomplete: {len(missing):,} of {len(before):,} tickers ({share:.0%}) that traded the "
                          f"session before have no bar on {day} (more than {limit:.0%}); "
                          f"미완료: 전 거래일 종목 중 {share:.0%}의 시세 없음")
    return out


def gate_status_for(day: date) -> str | None:
    """Status of the session's final gate, else of its latest (live) gate; None when
    there is none (the cap treats that as YELLOW: an unmeasured market is not a green light)."""
    rows = MarketGate.objects.filter(trading_date=day)
    final = rows.final().latest_first().values_list("status", flat=True).first()
    return final or rows.latest_first().values_list("status", flat=True).first()


def select_signals(
    candidates: list[SignalCandidate], request: ScanRequest, gate_status: str | None
) -> list[SignalCandidate]:
    capped = apply_gate_cap(candidates, gate_status)
    kept = [c for c in capped if c.market in request.markets]
    if request.min_score is not None:
        kept = [c for c in kept if c.score >= request.min_score]
    kept.sort(key=lambda c: (-c.score, c.ticker))
    return kept[: request.top_n] if request.top_n is not None else kept


def save_signals(signals: list[SignalCandidate], day: date, markets: tuple[str, ...], run: ScanRun | None) -> int:
    """Upsert the day's signals; delete that day's rows in `markets` the scan no longer
    finds. Returns how many were deleted. Call inside a transaction."""
    now = timezone.now()
    rows = [
        Signal(
            ticker=c.ticker, name=c.name, market=c.market, signal_type=c.signal_type, score=c.score,
            grade=c.grade, entry_price=c.entry_price, target_price=c.target_price, stop_loss=c.stop_loss,
            position_size=c.position_size, reasons=list(c.reasons), reason_codes=list(c.reason_codes),
            footprint=dict(c.footprint),
            signal_date=day, scan_run=run, created_at=now,
        )
        for c in signals
    ]
    stale = Signal.objects.filter(signal_date=day, signal_type=SIGNAL_TYPE, market__in=markets).exclude(
        ticker__in=[c.ticker for c in signals]
    )
    removed, _ = stale.delete()
    if rows:
        Signal.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["ticker", "signal_type", "signal_date"],
            update_fields=UPDATE_FIELDS,
        )
    return removed


def _mark_running(run: ScanRun) -> None:
    run.status = ScanStatus.RUNNING
    run.started_at = timezone.now()
    run.finished_at = None
    run.error = ""
    run.save(update_fields=["status", "started_at", "finished_at", "error"])


def _finish_run(run: ScanRun, request: ScanRequest, params: ScanParams, outcome: ScanOutcome) -> None:
    run.status = ScanStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.trading_date = outcome.signal_date
    run.parameters = {**request.to_parameters(), "gate_status": outcome.gate_status, "scanner": params.to_dict(),
                      **outcome.coverage}
    run.universe_count = outcome.result.universe_count
    run.trend_template_count = outcome.result.trend_template_count
    run.signal_count = len(outcome.signals)
    run.duration_ms = round(outcome.timings.get("total", 0.0) * 1000)
    run.error = ""
    run.save()


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ScanError):
        return str(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:4000]


def fail_abandoned_runs(now: datetime) -> int:
    """Mark failed the runs still `running` long after any scan could have finished.

    A scan that loses its database, and then its retries, cannot record its own failure
    while the database is down; nor can one whose worker was killed. Celery ends a scan
    task at SCAN_TIME_LIMIT, so a run started more than twice that ago is not running.
    """
    limit = 2 * int(getattr(settings, "SCAN_TIME_LIMIT", 300))
    stale = ScanRun.objects.filter(status=ScanStatus.RUNNING, started_at__lt=now - timedelta(seconds=limit))
    count = stale.update(
        status=ScanStatus.FAILED, finished_at=now,
        error=f"abandoned: still running {limit} s after it started (its worker or database went away)",
    )
    if count:
        log.warning("marked %s abandoned scan run(s) failed", count)
    return count


def mark_failed(run_id: int, error: str) -> None:
    """Record a failure in a transaction of its own, on a working connection.

    The scan's transaction is gone (rolled back) by now; when the failure was the
    connection itself, Django would keep handing out the dead one, so it is closed first
    and the update reconnects.
    """
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    values = {"status": ScanStatus.FAILED, "finished_at": timezone.now(), "error": error}
    try:
        with transaction.atomic():
            ScanRun.objects.filter(pk=run_id).update(**values)
    except Exception:
        if connection.in_atomic_block:
            raise
        # One more try on a brand-new connection (the first may have died just now).
        connection.close()
        with transaction.atomic():
            ScanRun.objects.filter(pk=run_id).update(**values)
