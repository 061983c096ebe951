"""The market-data provider interface and the setting that picks one.

Providers are I/O only: they return plain data (pandas DataFrames with the columns
below, or frozen dataclasses) and never write models. Ingest code upserts what they
return (marketgate.data.bulk). Backends are chosen by name from
settings.MARKET_DATA_PROVIDERS, a dict of dotted paths, like healthchecks'
integrations.

Optional attributes, read with getattr after daily_bars: `last_failures` ({ticker:
error} of the tickers that could not be fetched) and `last_adjusted` (ticker, date,
close of the provider's adjusted series, for a provider that has one: fdr).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol, TypedDict, runtime_checkable

import pandas as pd

IndexName = Literal["KOSPI", "KOSDAQ"]

LISTING_COLUMNS = ["ticker", "name", "name_en", "market", "kind", "listed_shares"]
BAR_COLUMNS = ["ticker", "date", "open", "high", "low", "close", "volume", "traded_value"]
INDEX_COLUMNS = ["date", "open", "high", "low", "close", "volume", "traded_value"]
BREADTH_COLUMNS = ["date", "advances", "declines", "unchanged", "new_highs", "new_lows"]


class ProviderError(RuntimeError):
    """The upstream could not be read (after retries); the message says what and why."""


@dataclass(frozen=True)
class LiveIndexQuote:
    """The index value during the session: the provisional close."""

    index: str
    value: float
    change: float
    change_rate: float  # percent, +1.25 means +1.25%
    volume: float  # cumulative so far (shares); the gate scales it by elapsed time
    as_of: datetime
    traded_value: float | None = None
    prev_close: float | None = None


@dataclass(frozen=True)
class LiveQuote:
    ticker: str
    price: int
    change: int
    change_rate: float  # percent
    volume: int  # cumulative for the session
    bid: int | None
    ask: int | None
    as_of: datetime


class SectorQuote(TypedDict):
    name: str
    ticker: str
    change_pct: float


@runtime_checkable
class MarketDataProvider(Protocol):
    name: str
    is_demo: bool

    def listing(self) -> pd.DataFrame:
        """Columns LISTING_COLUMNS; market is KOSPI/KOSDAQ/KONEX, kind an InstrumentKind value."""
        ...

    def daily_bars(self, tickers: list[str] | None, start: date, end: date) -> pd.DataFrame:
        """Columns BAR_COLUMNS, one row per (ticker, session); None means every listed ticker."""
        ...

    def index_bars(self, index: IndexName, start: date, end: date) -> pd.DataFrame:
        """Columns INDEX_COLUMNS."""
        ...

    def breadth(self, market: str, start: date, end: date) -> pd.DataFrame | None:
        """Columns BREADTH_COLUMNS, or None when the provider has none (derive it from bars)."""
        ...

    def live_index(self, index: IndexName, now: datetime) -> LiveIndexQuote | None: ...

    def live_quotes(self, tickers: list[str], now: datetime) -> dict[str, LiveQuote]: ...

    def sectors(self, now: datetime) -> list[SectorQuote] | None: ...


def get_provider(name: str | None = None) -> MarketDataProvider:
    """An instance of the provider `name` (default settings.MARKET_DATA_PROVIDER)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    name = name or settings.MARKET_DATA_PROVIDER
    try:
        path = settings.MARKET_DATA_PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(settings.MARKET_DATA_PROVIDERS))
        raise ImproperlyConfigured(f"Unknown MARKET_DATA_PROVIDER {name!r}; known: {known}") from None
    return import_string(path)()


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
