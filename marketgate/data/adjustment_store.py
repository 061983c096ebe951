"""Corporate-action factors in the database: found in stored bars, applied on read.

`refresh_adjustments` runs after bars are written (import_bars, the daily ingest);
`refresh_provider_adjustments` after a provider with an adjusted series (fdr) gave one;
`adjusted` is what the scanner and derived breadth read history through. A factor an
operator entered by hand (source manual) is never overwritten by detection, and one read
from the provider's adjusted series is not overwritten by the price-limit estimate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd

from marketgate.data.adjusted_series import factors_from_adjusted
from marketgate.data.corporate_actions import (
    BREACH_COLUMNS,
    FACTOR_COLUMNS,
    adjust_bars,
    factors_of,
    limit_breaches,
)
from marketgate.models import (
    MAX_ADJUSTMENT_FACTOR,
    MIN_ADJUSTMENT_FACTOR,
    AdjustmentFactor,
    AdjustmentSource,
    DailyBar,
)

log = logging.getLogger(__name__)

# Bars read before the first imported date, so its move is judged against a close.
LOOKBACK_DAYS = 14


def refresh_adjustments(tickers: Iterable[str], start: date, end: date) -> pd.DataFrame:
    """Detect factors with ex-dates in start..end for `tickers`, store them, and return
    the ones that are new or changed (FACTOR_COLUMNS)."""
    return refresh_adjustments_and_breaches(tickers, start, end)[0]


def refresh_adjustments_and_breaches(
    tickers: Iterable[str], start: date, end: date, *, known: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """refresh_adjustments, and every price-limit breach in start..end it was based on
    (BREACH_COLUMNS), for reports that name each one.

    `known`: bars (ticker, date, open, close) that are exactly what is stored of their
    tickers from LOOKBACK_DAYS before `start` to `end` (an import's own rows, when the
    table had nothing else of them there): used instead of reading those tickers back.
    """
    wanted = sorted(set(tickers))
    if not wanted:
        return pd.DataFrame(columns=FACTOR_COLUMNS), pd.DataFrame(columns=BREACH_COLUMNS)
    frames = []
    if known is not None and not known.empty:
        known = known.loc[known["ticker"].isin(wanted), ["ticker", "date", "open", "close"]]
        frames.append(known)
        wanted = sorted(set(wanted) - set(known["ticker"].unique()))
    for i in range(0, len(wanted), 2_000):
        rows = DailyBar.objects.filter(
            instrument_id__in=wanted[i:i + 2_000], date__gte=start - timedelta(days=LOOKBACK_DAYS), date__lte=end,
        ).values_list("instrument_id", "date", "open", "close")
        frames.append(pd.DataFrame.from_records(list(rows), columns=["ticker", "date", "open", "close"]))
    bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["ticker", "date", "open", "close"])
    breaches = limit_breaches(bars)
    breaches = breaches[(breaches["date"] >= start) & (breaches["date"] <= end)].reset_index(drop=True)
    found = factors_of(breaches)
    if found.empty:
        return found, breaches
    kept = (AdjustmentSource.MANUAL, AdjustmentSource.PROVIDER)
    return _store(found, keep=kept), breaches


def refresh_provider_adjustments(adjusted_closes: pd.DataFrame) -> pd.DataFrame:
    """Factors the provider's adjusted closes (ticker, date, close) imply against the
    stored bars of the same tickers and sessions (`adjusted_series`), stored with source
    provider; returns the ones that are new or changed (FACTOR_COLUMNS). Called after
    the bars of the same fetch are written, so the comparison sees what is stored."""
    if adjusted_closes is None or adjusted_closes.empty:
        return pd.DataFrame(columns=FACTOR_COLUMNS)
    tickers = sorted(set(adjusted_closes["ticker"].astype(str)))
    first, last = min(adjusted_closes["date"]), max(adjusted_closes["date"])
    frames = []
    for i in range(0, len(tickers), 2_000):
        rows = DailyBar.objects.filter(
            instrument_id__in=tickers[i:i + 2_000], date__gte=first, date__lte=last,
        ).values_list("instrument_id", "date", "open", "close")
        frames.append(pd.DataFrame.from_records(list(rows), columns=["ticker", "date", "open", "close"]))
    stored = pd.concat(frames, ignore_index=True)
    found = factors_from_adjusted(stored, adjusted_closes)
    return _store(found, keep=(AdjustmentSource.MANUAL,)) if not found.empty else found


def _store(found: pd.DataFrame, *, keep: tuple[str, ...]) -> pd.DataFrame:
    """Write `found` (FACTOR_COLUMNS) except over a stored factor whose source is in
    `keep` or whose value is the same; returns what was written."""
    existing = {(a.ticker, a.ex_date): a for a in AdjustmentFactor.objects.filter(
        ticker__in=list(found["ticker"].unique()), ex_date__gte=min(found["ex_date"]),
        ex_date__lte=max(found["ex_date"]))}
    changed = []
    for row in found.itertuples(index=False):
        old = existing.get((row.ticker, row.ex_date))
        if old is not None and (old.source in keep or abs(old.factor - row.factor) < 1e-9):
            continue
        AdjustmentFactor.objects.update_or_create(
            ticker=row.ticker, ex_date=row.ex_date,
            defaults={"factor": row.factor, "source": row.source, "prev_close": row.prev_close, "open": row.open},
        )
        changed.append(row)
    return pd.DataFrame(changed, columns=FACTOR_COLUMNS)


def stored_factors(until: date | None = None, tickers: Iterable[str] | None = None) -> pd.DataFrame:
    """Every stored factor (FACTOR_COLUMNS), those with ex_date <= until and of `tickers` when given."""
    rows = AdjustmentFactor.objects.all()
    if until is not None:
        rows = rows.filter(ex_date__lte=until)
    if tickers is not None:
        rows = rows.filter(ticker__in=list(tickers))
    factors = pd.DataFrame.from_records(
        list(rows.values_list("ticker", "ex_date", "factor", "source", "prev_close", "open")), columns=FACTOR_COLUMNS)
    # A factor written around admin's validation (shell, SQL) that is zero, negative or
    # absurd would divide a whole history by it: such rows are left out, loudly.
    sane = factors["factor"].between(MIN_ADJUSTMENT_FACTOR, MAX_ADJUSTMENT_FACTOR)
    if not sane.all():
        for row in factors[~sane].itertuples(index=False):
            log.error("ignoring adjustment factor %r of %s on %s: outside %g..%g",
                      row.factor, row.ticker, row.ex_date, MIN_ADJUSTMENT_FACTOR, MAX_ADJUSTMENT_FACTOR)
        factors = factors[sane].reset_index(drop=True)
    return factors


def adjusted(bars: pd.DataFrame, until: date | None = None) -> pd.DataFrame:
    """`bars` (raw, as stored) with history before each stored ex-date <= `until`
    re-expressed in the shares of `until`: a scan of a past date shows that date's
    traded prices, not ones adjusted for a split that came later."""
    factors = stored_factors(until)
    return adjust_bars(bars, factors) if not factors.empty else bars


def describe(factors: pd.DataFrame, limit: int = 20) -> list[str]:
    """One line per factor, for command and task reports."""
    lines = [f"{r.ticker} {r.ex_date}: ÷{r.factor:g} ({_basis(r.source)}close {r.prev_close:,.0f} -> open {r.open:,.0f})"
             for r in factors.head(limit).itertuples(index=False)]
    if len(factors) > limit:
        lines.append(f"... and {len(factors) - limit} more")
    return lines


def _basis(source: str) -> str:
    # A provider factor is the step of its adjusted series, not the ratio of the two
    # prices shown (a rights issue's ex-rights open moves with the market too).
    return "provider's adjusted series; " if source == AdjustmentSource.PROVIDER else ""
