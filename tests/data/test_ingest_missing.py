"""The daily ingest at market scale: each ticker asked only for the sessions it lacks,
failures recorded and asked again later, the stored list when the listing fails.
The upstream is a stand-in recording what it is asked (an external service)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from marketgate.data.bar_catch_up import fetch_missing_bars, universe
from marketgate.data.providers.base import BAR_COLUMNS, ProviderError
from marketgate.models import BarFetchFailure, DailyBar, Instrument

pytestmark = pytest.mark.django_db


class Upstream:
    name, is_demo = "upstream", False

    def __init__(self, failing: set[str] = frozenset(), listing_ok: bool = True) -> None:
        self.calls: list[tuple[tuple[str, ...], date, date]] = []
        self.failing, self.listing_ok = set(failing), listing_ok
        self.last_failures: dict[str, str] = {}

    def listing(self) -> pd.DataFrame:
        if not self.listing_ok:
            raise ProviderError("KRX listing endpoint wants a login")
        return pd.DataFrame({"ticker": ["000001", "000002", "000003"], "name": ["A", "B", "C"],
                             "name_en": "", "market": "KOSPI", "kind": "common", "listed_shares": pd.NA})

    def daily_bars(self, tickers, start, end):
        self.calls.append((tuple(sorted(tickers)), start, end))
        self.last_failures = {t: "ReadTimeout: timed out" for t in tickers if t in self.failing}
        days = [d.date() for d in pd.bdate_range(start, end)]
        rows = [(t, d, 100, 101, 99, 100, 1000, None) for t in tickers if t not in self.failing for d in days]
        return pd.DataFrame(rows, columns=BAR_COLUMNS)


@pytest.fixture
def stored():
    for ticker in ("000001", "000002", "000003"):
        Instrument.objects.create(ticker=ticker, name=ticker, market="KOSPI")
    for ticker, last in (("000001", date(2025, 6, 13)), ("000002", date(2025, 6, 11))):
        DailyBar.objects.create(instrument_id=ticker, date=last, open=1, high=1, low=1, close=1, volume=1)


def test_each_ticker_is_asked_only_for_what_it_lacks(stored):
    upstream = Upstream()
    report = fetch_missing_bars(upstream, ["000001", "000002", "000003"], date(2025, 6, 12), date(2025, 6, 16))
    assert upstream.calls == [(("000002", "000003"), date(2025, 6, 12), date(2025, 6, 16)),
                              (("000001",), date(2025, 6, 14), date(2025, 6, 16))]
    assert report.requested == 3 and not report.failed
    assert set(report.bars.groupby("ticker")["date"].min()) == {date(2025, 6, 12), date(2025, 6, 16)}


def test_a_failed_ticker_is_recorded_and_asked_again_until_it_succeeds(stored):
    upstream = Upstream(failing={"000003"})
    report = fetch_missing_bars(upstream, ["000001", "000003"], date(2025, 6, 16), date(2025, 6, 16))
    assert report.failed == {"000003": "ReadTimeout: timed out"}
    failure = BarFetchFailure.objects.get()
    assert (failure.ticker, failure.missing_since, failure.attempts) == ("000003", date(2025, 6, 16), 1)
    # The next day: 000003 is asked from the session it missed, and still fails.
    fetch_missing_bars(upstream, ["000003"], date(2025, 6, 17), date(2025, 6, 17))
    assert (("000003",), date(2025, 6, 16), date(2025, 6, 17)) in upstream.calls
    assert BarFetchFailure.objects.get().attempts == 2
    upstream.failing.clear()
    report = fetch_missing_bars(upstream, ["000003"], date(2025, 6, 17), date(2025, 6, 17))
    got = report.bars[report.bars["ticker"] == "000003"]
    assert sorted(got["date"]) == [date(2025, 6, 16), date(2025, 6, 17)]
    assert not BarFetchFailure.objects.exists()


def test_an_unavailable_listing_falls_back_to_the_stored_instruments(stored):
    tickers, why = universe(Upstream(listing_ok=False))
    assert sorted(tickers) == ["000001", "000002", "000003"] and "login" in why
