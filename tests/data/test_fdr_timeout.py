"""The fdr provider's timeout is its own requests' only: against a real HTTP server that
answers slowly, the provider's request times out while a plain `requests.get` made at
the same moment in another thread waits for its answer, and `requests.get` itself is
never replaced."""

from __future__ import annotations

import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from marketgate.data.providers import fdr_http
from marketgate.data.providers.base import ProviderError
from marketgate.data.providers.fdr import FdrProvider

CHART = (Path(__file__).parents[1] / "fixtures" / "fdr" / "naver_fchart_005930.xml").read_bytes()
ANSWER_AFTER = 1.5  # seconds the server waits before answering
PROVIDER_TIMEOUT = 0.3


class SlowServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SlowHandler)
        self.provider_request_arrived = threading.Event()
        self.arrived_at = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class SlowHandler(BaseHTTPRequestHandler):
    server: SlowServer

    def do_GET(self) -> None:
        if self.path.startswith("/sise.nhn"):
            self.server.arrived_at = time.monotonic()
            self.server.provider_request_arrived.set()
        time.sleep(ANSWER_AFTER)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=euc-kr")
            self.send_header("Content-Length", str(len(CHART)))
            self.end_headers()
            self.wfile.write(CHART)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the provider gave up first, as it should

    def log_message(self, *args: object) -> None:
        pass


class ToLocalServer(HTTPAdapter):
    """The provider's transport, sending Naver's URL to the local server instead: the
    connection, the timeout and the error are urllib3's own."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = f"{self.base}{parts.path}?{parts.query}"
        return super().send(request, **kwargs)


@pytest.fixture
def slow_server():
    server = SlowServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_providers_timeout_does_not_reach_a_concurrent_requests_get(slow_server):
    original_get = requests.get
    provider = FdrProvider(attempts=1, sleep=lambda s: None, timeout=PROVIDER_TIMEOUT,
                           adapter=ToLocalServer(slow_server.base))
    outcome: dict[str, object] = {}

    def fetch() -> None:
        try:
            provider.daily_bars(["005930"], date(2025, 6, 10), date(2025, 6, 16))
        except ProviderError as exc:
            outcome["error"] = str(exc)
        outcome["finished_at"] = time.monotonic()

    fetching = threading.Thread(target=fetch)
    fetching.start()
    assert slow_server.provider_request_arrived.wait(5), "the provider's request never reached the server"
    # The provider's request is in flight now: requests.get is still requests' own, and a
    # plain call without a timeout waits for the slow answer instead of timing out.
    assert requests.get is original_get
    started = time.monotonic()
    plain = requests.get(f"{slow_server.base}/plain")
    waited = time.monotonic() - started
    fetching.join(10)
    assert plain.status_code == 200 and plain.content == CHART
    assert waited >= ANSWER_AFTER - 0.1
    assert "ReadTimeout" in str(outcome.get("error")) and "005930" in str(outcome.get("error"))
    # It gave up at its own timeout, long before the answer came.
    assert float(outcome["finished_at"]) - slow_server.arrived_at < ANSWER_AFTER - 0.5
    assert provider.last_failures.keys() == {"005930"}


def test_outside_a_provider_call_financedatareader_uses_requests_unchanged(slow_server):
    import FinanceDataReader  # noqa: F401 (loads its reader modules)

    installed = fdr_http.install()
    assert "FinanceDataReader.naver.data" in installed and "FinanceDataReader.krx.data" in installed
    # No binding in this thread: the stand-in is requests.get with the caller's arguments
    # (here none: no timeout), so the slow answer is waited for.
    response = fdr_http.STAND_IN.get(f"{slow_server.base}/plain")
    assert response.status_code == 200
    assert fdr_http.STAND_IN.exceptions is requests.exceptions
