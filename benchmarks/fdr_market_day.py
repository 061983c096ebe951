"""How long the fdr provider takes to fetch a whole market's day: the real FdrProvider
and FinanceDataReader against a local fake Naver chart server with realistic latency.

The server answers every symbol with the recorded response shipped in
tests/fixtures/fdr/naver_fchart_005930.xml, grown to --items rows (FinanceDataReader asks
Naver for 6,000 sessions, about 250 KB), after --latency seconds (+-30% jitter). Only the
host is redirected (by the provider's transport adapter): FinanceDataReader's own request and
parsing run unchanged.

Runs, in one process:
  baseline   concurrency 1, no rate limit (the former one-ticker-at-a-time loop), on
             --baseline-tickers tickers, extrapolated to --tickers
  pooled     FDR_CONCURRENCY / FDR_RATE_PER_SECOND as given, on --tickers tickers

    .venv/bin/python benchmarks/fdr_market_day.py --tickers 2700 --concurrency 8 --rate 10
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RECORDED = REPO / "tests" / "fixtures" / "fdr" / "naver_fchart_005930.xml"


def body(items: int) -> bytes:
    """The recorded response's envelope and row format, with `items` daily rows ending
    2025-06-16 (one row per calendar day back: the size is what matters)."""
    text = RECORDED.read_bytes().decode("euc-kr")
    head = text.split("<item ", 1)[0]
    tail = text.rsplit("/>", 1)[1]
    last = date(2025, 6, 16).toordinal()
    rows = [f'<item data="{date.fromordinal(last - i):%Y%m%d}|56000|56400|55500|56100|10852340" />\n'
            for i in reversed(range(items))]
    return (head + "".join(rows) + tail).encode("euc-kr")


def serve(latency: float, payload: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency * random.uniform(0.7, 1.3))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=EUC-KR")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def local_naver(port: int):  # type: ignore[no-untyped-def]
    """The provider's transport, sending Naver's chart URL to the local server (the
    provider's requests go through its own session, not `requests.get`)."""
    from requests.adapters import HTTPAdapter

    class ToLocalNaver(HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            request.url = request.url.replace("https://fchart.stock.naver.com", f"http://127.0.0.1:{port}")
            return super().send(request, **kwargs)

    return ToLocalNaver(pool_maxsize=64)


def run(tickers: int, concurrency: int, rate: float, port: int) -> tuple[float, int, int]:
    from marketgate.data.providers.fdr import FdrProvider

    provider = FdrProvider(concurrency=concurrency, rate_per_second=rate, timeout=15.0, adapter=local_naver(port))
    codes = [f"{i:06d}" for i in range(1, tickers + 1)]
    started = time.perf_counter()
    bars = provider.daily_bars(codes, date(2025, 6, 16), date(2025, 6, 16))
    return time.perf_counter() - started, len(bars), len(provider.last_failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", type=int, default=2700)
    parser.add_argument("--baseline-tickers", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=10.0, help="requests started per second (0: unlimited)")
    parser.add_argument("--latency", type=float, default=0.25, help="server latency in seconds")
    parser.add_argument("--items", type=int, default=6000, help="rows per response")
    args = parser.parse_args()
    payload = body(args.items)
    server = serve(args.latency, payload)
    port = server.server_address[1]
    print(f"fake Naver chart server: {len(payload) / 1024:.0f} KB per response, latency {args.latency:.2f} s ±30%")
    base_seconds, base_rows, _ = run(args.baseline_tickers, 1, 0.0, port)
    per_ticker = base_seconds / args.baseline_tickers
    print(f"baseline  one at a time: {args.baseline_tickers} tickers in {base_seconds:.1f} s "
          f"({per_ticker * 1000:.0f} ms each) -> {args.tickers} tickers ~{per_ticker * args.tickers / 60:.1f} min")
    seconds, rows, failed = run(args.tickers, args.concurrency, args.rate, port)
    print(f"pooled    concurrency {args.concurrency}, {args.rate:g} req/s: {args.tickers} tickers in {seconds:.1f} s "
          f"({seconds / 60:.1f} min), {rows} bars, {failed} failed")
    print(f"ratio     baseline / pooled: {per_ticker * args.tickers / seconds:.1f}x")
    server.shutdown()


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")
    import django

    django.setup()
    main()
