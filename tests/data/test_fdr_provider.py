"""The FinanceDataReader provider, against recorded HTTP bodies (never the network)."""

from __future__ import annotations

import io
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from marketgate.calendar import KST
from marketgate.data.providers.base import (
    BAR_COLUMNS,
    INDEX_COLUMNS,
    LISTING_COLUMNS,
    ProviderError,
    get_provider,
)
from marketgate.data.providers.fdr import FdrProvider

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fdr"


class FakeResponse(io.BytesIO):
    """What requests.get and urllib's urlopen return, as far as FinanceDataReader looks."""

    def __init__(self, body: bytes, encoding: str = "utf-8") -> None:
        super().__init__(body)
        self.content, self.encoding, self.status_code, self.headers = body, encoding, 200, {}

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding)

    def json(self):
        import json

        return json.loads(self.text)


def body_for(url: str) -> FakeResponse:
    if "executeForResourceBundle" in url:
        return FakeResponse((FIXTURES / "krx_max_work_dt.json").read_bytes())
    if "/data/listing/krx/" in url:
        return FakeResponse((FIXTURES / f"listing_krx_{url.rsplit('/', 1)[1]}").read_bytes())
    if "fchart.stock.naver.com" in url:
        path = FIXTURES / f"naver_fchart_{url.rsplit('=', 1)[1]}.xml"
        # Naver answers an unknown symbol with an empty chart.
        body = path.read_bytes() if path.exists() else b"<protocol></protocol>"
        return FakeResponse(body, "euc-kr")
    if "/data/index/year_" in url:
        symbol, year = url.split("/data/index/year_")[1].removesuffix(".csv").split("/")
        path = FIXTURES / f"krx_index_{symbol}_{year}.csv"
        if not path.exists():
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]
        return FakeResponse(path.read_bytes())
    raise AssertionError(f"unexpected URL {url}")


@pytest.fixture
def http(monkeypatch):
    """Serves the recorded bodies to requests and to pandas' urlopen; records the URLs."""
    seen: list[str] = []

    def fake_get(url, *args, **kwargs):
        seen.append(url)
        return body_for(url)

    def fake_urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        seen.append(url)
        return body_for(url)

    monkeypatch.setattr(requests, "get", fake_get)
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    return seen


def provider() -> FdrProvider:
    return FdrProvider(sleep=lambda seconds: None)


def test_fdr_is_chosen_by_name():
    assert isinstance(get_provider("fdr"), FdrProvider)


def test_listing_maps_krx_columns_and_markets(http):
    listing = provider().listing()
    assert list(listing.columns) == LISTING_COLUMNS
    rows = listing.set_index("ticker")
    assert rows.loc["005930", "name"] == "삼성전자"
    assert rows.loc["196170", "market"] == "KOSDAQ"  # KOSDAQ GLOBAL
    assert rows.loc["217320", "market"] == "KONEX"
    assert rows.loc["005930", "listed_shares"] == 5919637922


def test_listing_kinds_come_from_names(http):
    kinds = provider().listing().set_index("ticker")["kind"]
    assert kinds["005935"] == "preferred" and kinds["005385"] == "preferred"
    assert kinds["440790"] == "spac"
    assert kinds["005930"] == "common"


def test_daily_bars_come_from_naver_in_the_interface_shape(http):
    bars = provider().daily_bars(["005930"], date(2025, 6, 10), date(2025, 6, 16))
    assert list(bars.columns) == BAR_COLUMNS
    assert bars["date"].tolist()[0] == date(2025, 6, 10) and bars["date"].tolist()[-1] == date(2025, 6, 16)
    last = bars.iloc[-1]
    assert (last["ticker"], last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        "005930", 58300, 59000, 58100, 58800, 11000000
    )
    assert any("symbol=005930" in url for url in http)


def test_daily_bars_for_every_listed_stock_skip_konex(http):
    bars = provider().daily_bars(None, date(2025, 6, 13), date(2025, 6, 16))
    assert set(bars["ticker"]) == {"005930"}  # the only listed stock the sample has a chart for
    fetched = {url.rsplit("=", 1)[1] for url in http if "fchart" in url}
    assert "217320" not in fetched and {"005930", "000660", "196170"} <= fetched


def test_index_bars_come_with_volume_and_value(http):
    bars = provider().index_bars("KOSPI", date(2025, 6, 1), date(2025, 6, 16))
    assert list(bars.columns) == INDEX_COLUMNS
    last = bars.iloc[-1]
    assert last["date"] == date(2025, 6, 16) and last["close"] == 2946.66
    assert last["volume"] == 585012301 and last["traded_value"] == 11830120301928
    assert date(2025, 6, 3) not in set(bars["date"])


def test_kosdaq_uses_kq11(http):
    bars = provider().index_bars("KOSDAQ", date(2025, 6, 13), date(2025, 6, 16))
    assert bars["close"].tolist() == [760.54, 772.63]
    assert any("year_kq11/2025.csv" in url for url in http)


def test_an_index_range_with_no_data_is_a_clear_error(http):
    with pytest.raises(ProviderError, match="no KOSPI bars for 2019-01-02..2019-01-31"):
        provider().index_bars("KOSPI", date(2019, 1, 2), date(2019, 1, 31))


def test_network_errors_are_retried_with_backoff(http, monkeypatch):
    calls, sleeps = [], []
    real_get = requests.get

    def flaky(url, *args, **kwargs):
        calls.append(url)
        if len(calls) < 3:
            raise requests.ConnectionError("connection reset by peer")
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(requests, "get", flaky)
    bars = FdrProvider(sleep=sleeps.append, backoff=1.0).daily_bars(["005930"], date(2025, 6, 16), date(2025, 6, 16))
    assert len(bars) == 1
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_persistent_network_failure_raises_a_clear_error(monkeypatch):
    def down(url, *args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(requests, "get", down)
    with pytest.raises(ProviderError, match=r"DataReader\('005930'\) failed after 3 attempts: .*Name or service"):
        FdrProvider(attempts=3, sleep=lambda s: None)._stock_history("005930", date(2025, 6, 1), date(2025, 6, 16))


def test_all_tickers_failing_is_an_error_not_an_empty_result(monkeypatch):
    monkeypatch.setattr(requests, "get", lambda *a, **k: (_ for _ in ()).throw(requests.Timeout("timed out")))
    with pytest.raises(ProviderError, match="no bars"):
        FdrProvider(attempts=2, sleep=lambda s: None).daily_bars(["005930", "000660"], date(2025, 6, 1), date(2025, 6, 16))


def test_there_is_no_live_index_and_no_breadth(http):
    p = provider()
    assert p.live_index("KOSPI", datetime(2025, 6, 17, 11, 0, tzinfo=KST)) is None
    assert p.breadth("KOSPI", date(2025, 6, 1), date(2025, 6, 16)) is None


def test_live_quotes_are_todays_row_stamped_when_fetched(http):
    now = datetime(2025, 6, 17, 11, 0, tzinfo=KST)
    quote = provider().live_quotes(["005930"], now)["005930"]
    assert (quote.price, quote.change, quote.change_rate, quote.volume) == (59200, 400, 0.68, 4210394)
    assert quote.as_of == now


def test_no_live_quote_before_todays_row_exists(http):
    assert provider().live_quotes(["005930"], datetime(2025, 6, 18, 11, 0, tzinfo=KST)) == {}


def test_sectors_are_the_etfs_that_have_a_row_today(http):
    sectors = provider().sectors(datetime(2025, 6, 17, 11, 0, tzinfo=KST))
    assert sectors == [{"name": "KODEX 반도체", "ticker": "091160", "change_pct": 1.42}]
