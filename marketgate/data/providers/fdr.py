"""FinanceDataReader: free daily KRX data without an API key (Naver and FDR's KRX cache).

- listing: fdr.StockListing("KRX") (a daily snapshot of KOSPI, KOSDAQ and KONEX);
- stock bars: fdr.DataReader(ticker, start, end) (Naver; no traded value), one request
  per ticker on FDR_CONCURRENCY threads, at most FDR_RATE_PER_SECOND a second, each
  with FDR_TIMEOUT_SECONDS (through this provider's own requests session, bound to
  that call only: fdr_http); the tickers that still fail are in `last_failures`;
- the adjusted series: Naver's chart is adjusted (every earlier price in the shares of
  the day it is fetched; FinanceDataReader has no unadjusted or 'Adj Close' column for
  KRX stocks, see docs/scan.md). daily_bars reads ADJUSTED_LOOKBACK_DAYS more from the
  same response (FinanceDataReader downloads the whole chart and slices it) and keeps
  those closes in `last_adjusted`, for adjustment_store.refresh_provider_adjustments;
- index bars: fdr.DataReader("KS11" | "KQ11", start, end) (with volume and value);
- no breadth (derived from stock bars) and no intraday index: live_index is None;
  live_quotes reads today's row of the daily series, which Naver updates during the
  session, stamped with the time it was fetched.

Network errors are retried with capped exponential backoff and jitter; what still
fails raises ProviderError naming the call and the last error.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from marketgate.calendar import KST, is_session, kst_date, trading_date
from marketgate.data.adjusted_series import ADJUSTED_COLUMNS
from marketgate.data.kinds import classify_kind, normalise_market
from marketgate.data.providers import fdr_http
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    IndexName,
    LiveIndexQuote,
    LiveQuote,
    ProviderError,
    SectorQuote,
    empty_frame,
)
from marketgate.data.providers.fetch_pool import fetch_all

log = logging.getLogger(__name__)
T = TypeVar("T")

INDEX_SYMBOLS = {"KOSPI": "KS11", "KOSDAQ": "KQ11"}
SECTOR_ETFS = (
    ("091160", "KODEX 반도체"),
    ("305720", "KODEX 2차전지산업"),
    ("091170", "KODEX 은행"),
    ("091180", "KODEX 자동차"),
    ("143860", "TIGER 헬스케어"),
)
# FinanceDataReader's column names vary by source and version (English or Korean).
COLUMN_ALIASES = {
    "date": ("Date", "날짜", "일자"),
    "ticker": ("Code", "Symbol", "종목코드"),
    "name": ("Name", "종목명"),
    "market": ("Market", "시장구분"),
    "listed_shares": ("Stocks", "ListedShares", "상장주식수"),
    "open": ("Open", "시가"),
    "high": ("High", "고가"),
    "low": ("Low", "저가"),
    "close": ("Close", "종가"),
    "volume": ("Volume", "거래량"),
    "traded_value": ("Amount", "Value", "거래대금"),
}
# Sessions before the first one asked for whose adjusted closes are kept: an action
# Naver adjusts a few days late is still seen against the stored bars.
ADJUSTED_LOOKBACK_DAYS = 14
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


def rename_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """FinanceDataReader columns -> our names; a Date index becomes a date column."""
    if frame.index.name in COLUMN_ALIASES["date"] or isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.rename_axis("date").reset_index()
    lookup = {alias: ours for ours, aliases in COLUMN_ALIASES.items() for alias in aliases}
    frame = frame.rename(columns={c: lookup[c] for c in frame.columns if c in lookup})
    if "date" in frame:
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def _is_network_failure(exc: BaseException) -> bool:
    # FinanceDataReader turns some network failures into ValueError("Failed to load data ...").
    return isinstance(exc, NETWORK_ERRORS) or (isinstance(exc, ValueError) and "Failed to load" in str(exc))


class FdrProvider:
    name = "fdr"
    is_demo = False

    def __init__(
        self,
        attempts: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int | None = None,
        rate_per_second: float | None = None,
        timeout: float | None = None,
        adapter: BaseAdapter | None = None,
    ) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.concurrency = int(concurrency or _setting("FDR_CONCURRENCY", 8))
        self.rate_per_second = float(rate_per_second or _setting("FDR_RATE_PER_SECOND", 10.0))
        self.timeout = float(timeout or _setting("FDR_TIMEOUT_SECONDS", 15.0))
        # The transport under this provider's sessions (one session per thread; the
        # adapter's connection pool is shared and thread-safe).
        self.adapter = adapter or HTTPAdapter(pool_connections=4, pool_maxsize=max(10, self.concurrency))
        self._local = threading.local()
        # {ticker: error} of the last daily_bars call, for the caller to record and retry.
        self.last_failures: dict[str, str] = {}
        # (ticker, date, close) of the adjusted series the last daily_bars call read,
        # from ADJUSTED_LOOKBACK_DAYS before its start (adjusted_series.ADJUSTED_COLUMNS).
        self.last_adjusted: pd.DataFrame = empty_frame(ADJUSTED_COLUMNS)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", self.adapter)
            session.mount("https://", self.adapter)
            self._local.session = session
        return session

    @contextmanager
    def _http(self) -> Iterator[None]:
        """FinanceDataReader's requests in this block: this thread's session, `timeout`."""
        with fdr_http.bound(self._session(), self.timeout):
            yield

    def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                with self._http():
                    return fn(*args)
            except Exception as exc:
                if not _is_network_failure(exc):
                    raise ProviderError(f"FinanceDataReader {what} failed: {exc!r}") from exc
                if attempt == self.attempts:
                    raise ProviderError(
                        f"FinanceDataReader {what} failed after {attempt} attempts: {exc!r}"
                    ) from exc
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                log.warning("FinanceDataReader %s failed (%r); retry %d in %.1fs", what, exc, attempt, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _fdr() -> Any:
        import FinanceDataReader

        fdr_http.install()  # idempotent; its readers' `requests` now honours `bound`
        return FinanceDataReader

    # --- daily data ---

    def listing(self) -> pd.DataFrame:
        raw = rename_columns(self._call("StockListing('KRX')", self._fdr().StockListing, "KRX"))
        if raw.empty or not {"ticker", "name", "market"} <= set(raw.columns):
            raise ProviderError(f"FinanceDataReader listing has no ticker/name/market columns: {list(raw.columns)}")
        frame = pd.DataFrame(
            {
                "ticker": raw["ticker"].astype(str).str.zfill(6),
                "name": raw["name"].astype(str),
                "name_en": "",
                "market": raw["market"].map(normalise_market),
                "kind": [classify_kind(n) for n in raw["name"].astype(str)],
                "listed_shares": pd.to_numeric(raw.get("listed_shares"), errors="coerce").astype("Int64")
                if "listed_shares" in raw
                else pd.NA,
            }
        )
        return frame.dropna(subset=["market"])[LISTING_COLUMNS].reset_index(drop=True)

    def _stock_history(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        raw = self._call(f"DataReader({ticker!r})", self._fdr().DataReader, ticker, start.isoformat(), end.isoformat())
        return self._shape_history(ticker, raw)

    @staticmethod
    def _shape_history(ticker: str, raw: pd.DataFrame) -> pd.DataFrame:
        frame = rename_columns(raw)
        if frame.empty:
            return empty_frame(BAR_COLUMNS)
        frame["ticker"] = ticker
        if "traded_value" not in frame:
            frame["traded_value"] = pd.NA  # Naver has none; the scanner estimates it
        return frame[BAR_COLUMNS]

    def daily_bars(self, tickers: list[str] | None, start: date, end: date) -> pd.DataFrame:
        """One request per ticker on `concurrency` threads, at most `rate_per_second`
        started a second, each with `timeout`; failed tickers are in `last_failures`
        (all failing is an error)."""
        if tickers is None:
            listing = self.listing()
            tickers = listing.loc[listing["market"].isin(["KOSPI", "KOSDAQ"]), "ticker"].tolist()
        if not tickers:
            self.last_failures, self.last_adjusted = {}, empty_frame(ADJUSTED_COLUMNS)
            return empty_frame(BAR_COLUMNS)
        fdr = self._fdr()
        # The same request: FinanceDataReader downloads Naver's whole chart and slices it.
        since = start - timedelta(days=ADJUSTED_LOOKBACK_DAYS)

        def fetch_one(ticker: str) -> pd.DataFrame:
            try:
                with self._http():  # in the pool's thread: the binding is per thread
                    raw = fdr.DataReader(ticker, since.isoformat(), end.isoformat())
            except Exception as exc:
                if _is_network_failure(exc):
                    raise _Transient(repr(exc)) from exc
                raise
            return self._shape_history(ticker, raw)

        result = fetch_all(tickers, fetch_one, concurrency=self.concurrency, rate_per_second=self.rate_per_second,
                           attempts=self.attempts, backoff=self.backoff, retry_on=(_Transient,), sleep=self.sleep)
        self.last_failures = result.failed
        if result.failed and not result.frames:
            some = ", ".join(f"{t}: {e}" for t, e in list(result.failed.items())[:3])
            raise ProviderError(f"FinanceDataReader returned no bars: all {len(result.failed)} tickers failed ({some})")
        frames = [f for f in result.frames.values() if not f.empty]
        history = pd.concat(frames, ignore_index=True) if frames else empty_frame(BAR_COLUMNS)
        self.last_adjusted = history[ADJUSTED_COLUMNS].reset_index(drop=True)
        return history[history["date"] >= start].reset_index(drop=True) if frames else history

    def index_bars(self, index: IndexName, start: date, end: date) -> pd.DataFrame:
        symbol = INDEX_SYMBOLS[index]
        frame = rename_columns(self._call(f"DataReader({symbol!r})", self._fdr().DataReader, symbol, start, end))
        if frame.empty:
            # FDR's KRX cache reader swallows download errors and returns nothing.
            if _has_past_session(start, end):
                raise ProviderError(f"FinanceDataReader returned no {index} bars for {start}..{end}")
            return empty_frame(INDEX_COLUMNS)
        for column in INDEX_COLUMNS:
            if column not in frame:
                frame[column] = pd.NA
        return frame[INDEX_COLUMNS].reset_index(drop=True)

    def breadth(self, market: str, start: date, end: date) -> pd.DataFrame | None:
        return None

    # --- live (as live as a daily series gets) ---

    def live_index(self, index: IndexName, now: datetime) -> LiveIndexQuote | None:
        return None  # FDR's index series is daily, published after the close

    def live_quotes(self, tickers: list[str], now: datetime) -> dict[str, LiveQuote]:
        today = trading_date(now)
        quotes: dict[str, LiveQuote] = {}
        for ticker in tickers:
            bars = self._stock_history(ticker, today - timedelta(days=14), today)
            if len(bars) < 2 or bars["date"].iloc[-1] != today:
                continue  # no row for today yet: nothing live to show
            price, prev = int(bars["close"].iloc[-1]), int(bars["close"].iloc[-2])
            quotes[ticker] = LiveQuote(
                ticker=ticker,
                price=price,
                change=price - prev,
                change_rate=round((price - prev) / prev * 100.0, 2) if prev else 0.0,
                volume=int(bars["volume"].iloc[-1]),
                bid=None,
                ask=None,
                as_of=now.astimezone(KST),
            )
        return quotes

    def sectors(self, now: datetime) -> list[SectorQuote] | None:
        quotes = self.live_quotes([ticker for ticker, _ in SECTOR_ETFS], now)
        if not quotes:
            return None
        return [
            {"name": name, "ticker": ticker, "change_pct": quotes[ticker].change_rate}
            for ticker, name in SECTOR_ETFS
            if ticker in quotes
        ]


class _Transient(Exception):
    """A network failure worth retrying."""


def _setting(name: str, default: float) -> float:
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:  # settings not configured: pure use
        return default


def _has_past_session(start: date, end: date) -> bool:
    today = kst_date(datetime.now(KST))
    day = start
    while day <= min(end, today - timedelta(days=1)):
        if is_session(day):
            return True
        day += timedelta(days=1)
    return False
