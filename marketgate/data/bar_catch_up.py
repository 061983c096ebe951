"""The daily ingest of stock bars at market scale: only the sessions each ticker is
missing, failures recorded and retried on the next runs.

A per-ticker provider (fdr) costs one request per ticker; asking each ticker only for
the sessions after its own last stored bar keeps a catch-up to one request per ticker,
and a ticker that failed yesterday is asked again for everything it lacks.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from django.db.models import Max

from marketgate.data import market_upserts
from marketgate.data.providers.base import MarketDataProvider, ProviderError
from marketgate.models import BarFetchFailure, DailyBar, Instrument, InstrumentKind

log = logging.getLogger(__name__)
MARKETS = ("KOSPI", "KOSDAQ")


@dataclass
class MissingReport:
    tickers: int = 0
    requested: int = 0
    bars: pd.DataFrame = field(default_factory=pd.DataFrame)
    failed: dict[str, str] = field(default_factory=dict)
    listing_error: str = ""
    # The provider's adjusted closes read with the bars (ticker, date, close), when it
    # has an adjusted series (fdr's `last_adjusted`); empty otherwise.
    adjusted: pd.DataFrame = field(default_factory=pd.DataFrame)


def universe(provider: MarketDataProvider) -> tuple[list[str], str]:
    """(tickers to keep current, why the stored list was used): the provider's listing,
    else the stored instruments (FDR's KRX snapshot now wants a login)."""
    try:
        frame = provider.listing()
        market_upserts.upsert_instruments(frame)
        return frame.loc[frame["market"].isin(MARKETS), "ticker"].tolist(), ""
    except ProviderError as exc:
        log.warning("listing unavailable (%s); using the stored instruments", exc)
        stored = Instrument.objects.filter(market__in=MARKETS, active=True).exclude(
            kind__in=[InstrumentKind.ETF]).values_list("ticker", flat=True)
        return list(stored), str(exc)


def fetch_missing_bars(provider: MarketDataProvider, tickers: list[str], first: date, end: date) -> MissingReport:
    """Ask the provider, per ticker, for the sessions after its last stored bar (from
    `first` at the earliest) up to `end`; store nothing, return the bars and failures.

    Tickers with a stored bar in the month before `first` are asked too: a listing
    snapshot can lag a code change, and a delisted one simply returns nothing."""
    recent = DailyBar.objects.filter(date__gte=first - timedelta(days=30), date__lt=first).values_list(
        "instrument_id", flat=True).distinct()
    tickers = list(dict.fromkeys([*tickers, *recent]))
    report = MissingReport(tickers=len(tickers))
    last = dict(DailyBar.objects.filter(instrument_id__in=tickers, date__gte=first - timedelta(days=30))
                .values("instrument_id").annotate(last=Max("date")).values_list("instrument_id", "last"))
    failed_since = dict(BarFetchFailure.objects.filter(ticker__in=tickers).values_list("ticker", "missing_since"))
    by_start: dict[date, list[str]] = defaultdict(list)
    for ticker in tickers:
        start = max(first, last[ticker] + timedelta(days=1)) if ticker in last else first
        start = min(start, failed_since.get(ticker, start))
        if start <= end:
            by_start[start].append(ticker)
    frames, adjusted = [], []
    for start, group in sorted(by_start.items()):
        report.requested += len(group)
        try:
            frames.append(provider.daily_bars(group, start, end))
        except ProviderError as exc:
            report.failed.update({t: str(exc)[:300] for t in group})
            continue
        report.failed.update(getattr(provider, "last_failures", {}) or {})
        adjusted.append(provider_adjusted_closes(provider))
    frames = [f for f in frames if not f.empty]
    report.bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    adjusted = [f for f in adjusted if not f.empty]
    report.adjusted = pd.concat(adjusted, ignore_index=True) if adjusted else pd.DataFrame()
    _record_failures(report.failed, by_start)
    return report


def provider_adjusted_closes(provider: MarketDataProvider) -> pd.DataFrame:
    """The adjusted closes the provider's last daily_bars call read; empty for a
    provider without an adjusted series (demo, csv)."""
    frame = getattr(provider, "last_adjusted", None)
    return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()


def _record_failures(failed: dict[str, str], by_start: dict[date, list[str]]) -> None:
    asked = {t: start for start, group in by_start.items() for t in group}
    BarFetchFailure.objects.filter(ticker__in=[t for t in asked if t not in failed]).delete()
    for ticker, error in failed.items():
        row, created = BarFetchFailure.objects.get_or_create(
            ticker=ticker, defaults={"missing_since": asked.get(ticker, date.today()), "error": error})
        if not created:
            row.attempts += 1
            row.error = error
            row.save(update_fields=["attempts", "error", "updated_at"])
