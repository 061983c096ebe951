"""FinanceDataReader's HTTP on recorded responses (tests/fixtures/fdr): a requests
transport adapter for the provider's session, and pandas' urlopen for its CSV reads."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter

FIXTURES = Path(__file__).parent / "fixtures" / "fdr"


class FakeResponse(io.BytesIO):
    """What urllib's urlopen returns, as far as pandas looks."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.headers = {}


def recorded(url: str) -> tuple[bytes, str]:
    """(body, encoding) of the recorded response to `url`; urllib's 404 where none was."""
    if "executeForResourceBundle" in url:
        return (FIXTURES / "krx_max_work_dt.json").read_bytes(), "utf-8"
    if "/data/listing/krx/" in url:
        return (FIXTURES / f"listing_krx_{url.rsplit('/', 1)[1]}").read_bytes(), "utf-8"
    if "fchart.stock.naver.com" in url:
        path = FIXTURES / f"naver_fchart_{url.rsplit('=', 1)[1]}.xml"
        # Naver answers an unknown symbol with an empty chart.
        return (path.read_bytes() if path.exists() else b"<protocol></protocol>"), "euc-kr"
    if "/data/index/year_" in url:
        symbol, year = url.split("/data/index/year_")[1].removesuffix(".csv").split("/")
        path = FIXTURES / f"krx_index_{symbol}_{year}.csv"
        if not path.exists():
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]
        return path.read_bytes(), "utf-8"
    raise AssertionError(f"unexpected URL {url}")


class ReplayAdapter(BaseAdapter):
    """A requests transport that answers from the recorded bodies: the provider's
    session, and FinanceDataReader's parsing above it, run as they do on the network.
    `seen` has (url, timeout) of every request; `fail_first` makes the first n fail
    as a dropped connection would."""

    def __init__(self, fail_first: int = 0, error: Exception | None = None) -> None:
        super().__init__()
        self.seen: list[tuple[str, object]] = []
        self.fail_first = fail_first
        self.error = error

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.seen.append((request.url, timeout))
        if self.error is not None:
            raise self.error
        if len(self.seen) <= self.fail_first:
            raise requests.ConnectionError("connection reset by peer")
        body, encoding = recorded(request.url)
        response = requests.Response()
        response.status_code, response._content, response.encoding = 200, body, encoding
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def replay():
    return ReplayAdapter()


@pytest.fixture
def http(monkeypatch, replay):
    """The recorded bodies for requests (through the provider's adapter) and for
    pandas' urlopen; the URLs fetched, in order."""
    opened: list[str] = []

    def fake_urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        opened.append(url)
        return FakeResponse(recorded(url)[0])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)

    class Seen(list):
        def __iter__(self):
            return iter([url for url, _ in replay.seen] + opened)

    return Seen()


