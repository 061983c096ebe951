"""Provider -> database: listings, daily bars, index bars and breadth (bulk upserts)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from marketgate.data import bar_cache, bulk, market_upserts
from marketgate.data.adjustment_store import adjusted, describe, refresh_adjustments, refresh_provider_adjustments
from marketgate.data.bar_catch_up import fetch_missing_bars, provider_adjusted_closes, universe
from marketgate.data.breadth import derive_breadth
from marketgate.data.providers.base import MarketDataProvider
from marketgate.models import DailyBar, Instrument, InstrumentKind

log = logging.getLogger(__name__)

# Enough history for MA50 and 52-week highs/lows when breadth is derived from bars.
BREADTH_LOOKBACK_DAYS = 420


@dataclass
class IngestReport:
    instruments: int = 0
    bars: int = 0
    index_bars: dict[str, int] = field(default_factory=dict)
    breadth_days: dict[str, int] = field(default_factory=dict)
    adjustments: list[str] = field(default_factory=list)  # corporate actions found
    failed: dict[str, str] = field(default_factory=dict)  # tickers whose bars could not be fetched
    listing_error: str = ""

    def summary(self) -> str:
        index = ", ".join(f"{k} {v}" for k, v in self.index_bars.items())
        breadth = ", ".join(f"{k} {v}" for k, v in self.breadth_days.items())
        text = f"{self.instruments} instruments, {self.bars} daily bars, index bars: {index}; breadth days: {breadth}"
        if self.adjustments:
            text += f"; corporate actions: {'; '.join(self.adjustments)}"
        if self.failed:
            text += f"; {len(self.failed)} tickers failed (retried next run): {', '.join(list(self.failed)[:10])}"
        if self.listing_error:
            text += f"; listing unavailable, stored instruments used ({self.listing_error[:120]})"
        return text


def ingest(provider: MarketDataProvider, start: date, end: date, *, listing: bool = True,
           per_ticker: bool = False) -> IngestReport:
    """Store what `provider` has between start and end (inclusive); idempotent.

    `per_ticker` (the daily ingest): each ticker is asked only for the sessions after its
    own last stored bar, failures are recorded and retried by later runs, and a listing
    the provider cannot give falls back to the stored instruments.
    """
    report = IngestReport()
    if per_ticker:
        tickers, report.listing_error = universe(provider)
        report.instruments = len(tickers)
        missing = fetch_missing_bars(provider, tickers, start, end)
        bars, report.failed, adjusted_closes = missing.bars, missing.failed, missing.adjusted
    else:
        if listing:
            frame = provider.listing()
            market_upserts.upsert_instruments(frame)
            report.instruments = len(frame)
        bars = provider.daily_bars(None, start, end)
        adjusted_closes = provider_adjusted_closes(provider)
    if bars is not None and not bars.empty:
        bars = bars.copy()
        bars["halted"] = (bars["open"].fillna(0) <= 0) & (bars["volume"].fillna(0) <= 0)
        market_upserts.ensure_instruments(bars["ticker"])
        report.bars = bulk.upsert_daily_bars(bars)
        report.adjustments = describe(refresh_adjustments(bars["ticker"].unique(), start, end))
        # After the price-limit estimate: where the provider's own adjustment says
        # otherwise (or sees an action under the limit), it is the one kept.
        report.adjustments += describe(refresh_provider_adjustments(adjusted_closes))
        bar_cache.refresh()  # the scan that follows the ingest finds the new session cached
    for index in ("KOSPI", "KOSDAQ"):
        frame = provider.index_bars(index, start, end)  # type: ignore[arg-type]
        report.index_bars[index] = market_upserts.upsert_index_bars(index, frame) if not frame.empty else 0
    for market in ("KOSPI", "KOSDAQ"):
        provided = provider.breadth(market, start, end)
        if provided is not None and not provided.empty:
            report.breadth_days[market] = market_upserts.upsert_breadth(market, provided)
        else:
            report.breadth_days[market] = store_derived_breadth(market, start, end)
    log.info("ingested %s..%s from %s: %s", start, end, provider.name, report.summary())
    return report


def store_derived_breadth(market: str, start: date, end: date) -> int:
    """Derive breadth for `market` from the stored bars of its common stocks."""
    tickers = Instrument.objects.filter(market=market, kind=InstrumentKind.COMMON).values_list("ticker", flat=True)
    rows = DailyBar.objects.filter(
        instrument_id__in=tickers, date__gte=start - timedelta(days=BREADTH_LOOKBACK_DAYS), date__lte=end
    ).values_list("instrument_id", "date", "open", "close", "volume", "halted")
    bars = pd.DataFrame.from_records(list(rows), columns=["ticker", "date", "open", "close", "volume", "halted"])
    if bars.empty:
        return 0
    # Split-adjusted: a split's halved price is not a 52-week low or a fall below MA50.
    derived = derive_breadth(adjusted(bars, until=end).drop(columns="adj_factor", errors="ignore"))
    derived["date"] = pd.to_datetime(derived["date"]).dt.date
    derived = derived[(derived["date"] >= start) & (derived["date"] <= end)]
    return market_upserts.upsert_breadth(market, derived, derived=True) if not derived.empty else 0
