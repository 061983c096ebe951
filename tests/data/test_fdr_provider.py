"""The FinanceDataReader provider, against recorded HTTP bodies (never the network)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import requests
from requests.adapters import BaseAdapter

from marketgate.calendar import KST
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    ProviderError,
    get_provider,
)
from marketgate.data.providers.fdr import FdrProvider
from tests.fdr_replay import ReplayAdapter


def provider(adapter: BaseAdapter | None = None, **kwargs) -> FdrProvider:
    return FdrProvider(sleep=lambda seconds: None, adapter=adapter, **kwargs)


def test_fdr_is_chosen_by_name():
    assert isinstance(get_provider("fdr"), FdrProvider)


def test_listing_maps_krx_columns_and_markets(http, replay):
    listing = provider(replay).listing()
    assert list(listing.columns) == LISTING_COLUMNS
    rows = listing.set_index("ticker")
    assert rows.loc["005930", "name"] == "삼성전자"
    assert rows.loc["196170", "market"] == "KOSDAQ"  # KOSDAQ GLOBAL
    assert rows.loc["217320", "market"] == "KONEX"
    assert rows.loc["005930", "listed_shares"] == 5919637922


def test_listing_kinds_come_from_names(http, replay):
    kinds = provider(replay).listing().set_index("ticker")["kind"]
    assert kinds["005935"] == "preferred" and kinds["005385"] == "preferred"
    assert kinds["440790"] == "spac"
    assert kinds["005930"] == "common"


def test_daily_bars_come_from_naver_in_the_interface_shape(http, replay):
    bars = provider(replay).daily_bars(["005930"], date(2025, 6, 10), date(2025, 6, 16))
    assert list(bars.columns) == BAR_COLUMNS
    assert bars["date"].tolist()[0] == date(2025, 6, 10) and bars["date"].tolist()[-1] == date(2025, 6, 16)
    last = bars.iloc[-1]
    assert (last["ticker"], last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        "005930", 58300, 59000, 58100, 58800, 11000000
    )
    assert any("symbol=005930" in url for url in http)


def test_daily_bars_for_every_listed_stock_skip_konex(http, replay):
    bars = provider(replay).daily_bars(None, date(2025, 6, 13), date(2025, 6, 16))
    assert set(bars["ticker"]) == {"005930"}  # the only listed stock the sample has a chart for
    fetched = {url.rsplit("=", 1)[1] for url in http if "fchart" in url}
    assert "217320" not in fetched and {"005930", "000660", "196170"} <= fetched


def test_index_bars_come_with_volume_and_value(http, replay):
    bars = provider(replay).index_bars("KOSPI", date(2025, 6, 1), date(2025, 6, 16))
    assert list(bars.columns) == INDEX_COLUMNS
    last = bars.iloc[-1]
    assert last["date"] == date(2025, 6, 16) and last["close"] == 2946.66
    assert last["volume"] == 585012301 and last["traded_value"] == 11830120301928
    assert date(2025, 6, 3) not in set(bars["date"])


def test_kosdaq_uses_kq11(http, replay):
    bars = provider(replay).index_bars("KOSDAQ", date(2025, 6, 13), date(2025, 6, 16))
    assert bars["close"].tolist() == [760.54, 772.63]
    assert any("year_kq11/2025.csv" in url for url in http)


def test_an_index_range_with_no_data_is_a_clear_error(http, replay):
    with pytest.raises(ProviderError, match="no KOSPI bars for 2019-01-02..2019-01-31"):
        provider(replay).index_bars("KOSPI", date(2019, 1, 2), date(2019, 1, 31))


def test_network_errors_are_retried_with_backoff(http):
    sleeps: list[float] = []
    flaky = ReplayAdapter(fail_first=2)
    p = FdrProvider(sleep=sleeps.append, backoff=1.0, adapter=flaky)
    bars = p.daily_bars(["005930"], date(2025, 6, 16), date(2025, 6, 16))
    assert len(bars) == 1 and len(flaky.seen) == 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_persistent_network_failure_raises_a_clear_error():
    down = ReplayAdapter(error=requests.ConnectionError("Name or service not known"))
    with pytest.raises(ProviderError, match=r"DataReader\('005930'\) failed after 3 attempts: .*Name or service"):
        provider(down, attempts=3)._stock_history("005930", date(2025, 6, 1), date(2025, 6, 16))
    assert len(down.seen) == 3


def test_all_tickers_failing_is_an_error_not_an_empty_result():
    timing_out = ReplayAdapter(error=requests.Timeout("timed out"))
    with pytest.raises(ProviderError, match="no bars"):
        provider(timing_out, attempts=2).daily_bars(["005930", "000660"], date(2025, 6, 1), date(2025, 6, 16))


def test_every_request_carries_the_providers_timeout(http, replay):
    p = provider(replay, timeout=7.5)
    p.daily_bars(["005930", "000660"], date(2025, 6, 10), date(2025, 6, 16))
    p.live_quotes(["005930"], datetime(2025, 6, 17, 11, 0, tzinfo=KST))
    p.listing()
    assert replay.seen and {timeout for _, timeout in replay.seen} == {7.5}


def test_there_is_no_live_index_and_no_breadth(http, replay):
    p = provider(replay)
    assert p.live_index("KOSPI", datetime(2025, 6, 17, 11, 0, tzinfo=KST)) is None
    assert p.breadth("KOSPI", date(2025, 6, 1), date(2025, 6, 16)) is None


def test_live_quotes_are_todays_row_stamped_when_fetched(http, replay):
    now = datetime(2025, 6, 17, 11, 0, tzinfo=KST)
    quote = provider(replay).live_quotes(["005930"], now)["005930"]
    assert (quote.price, quote.change, quote.change_rate, quote.volume) == (59200, 400, 0.68, 4210394)
    assert quote.as_of == now


def test_no_live_quote_before_todays_row_exists(http, replay):
    assert provider(replay).live_quotes(["005930"], datetime(2025, 6, 18, 11, 0, tzinfo=KST)) == {}


def test_sectors_are_the_etfs_that_have_a_row_today(http, replay):
    sectors = provider(replay).sectors(datetime(2025, 6, 17, 11, 0, tzinfo=KST))
    assert sectors == [{"name": "KODEX 반도체", "ticker": "091160", "change_pct": 1.42}]
