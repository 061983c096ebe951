"""200 signals and 100 live tickers at 10 updates a second each keep the page responsive.

Measured in the page: long tasks (PerformanceObserver 'longtask', > 50 ms on the main
thread), animation frames per second, and how long a sort click takes while the load
runs. The figures are written to var/test-logs/dashboard-perf.json and quoted in
docs/dashboard.md. Reproduce: `python3 scripts/test.py tests/test_dashboard_perf.py -s`.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stockgate.realtime.broadcast import publish
from tests.dashboard_support import make_signals, open_page, price_frame, ticker
from tests.processes import LOGS

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIGNALS = 200
TICKERS = 100
# Price frames a second across the tickers; DASHBOARD_PERF_RATE=1000 is ten a second for
# every ticker (a stress figure, also in the docs).
UPDATES_PER_SECOND = float(os.environ.get("DASHBOARD_PERF_RATE", "10"))
SECONDS = float(os.environ.get("DASHBOARD_PERF_SECONDS", "10"))
# DASHBOARD_PERF_CLICKS=0: the price load alone, no sort clicks (the reading in docs/benchmarks.md).
CLICKS = os.environ.get("DASHBOARD_PERF_CLICKS", "1") != "0"
# DASHBOARD_PERF_TRACE=path: a Chromium trace of the last load phase (what the long tasks
# are made of), for benchmarks/trace_tasks.py or the browser's performance panel.
TRACE = os.environ.get("DASHBOARD_PERF_TRACE", "")
TRACE_CATEGORIES = [
    "devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame",
    "v8", "v8.execute", "disabled-by-default-v8.gc", "blink", "toplevel", "cc",
]

OBSERVE = """
window.__perf = { longTasks: [], frames: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__perf.longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
(function tick() { window.__perf.frames += 1; requestAnimationFrame(tick); })();
"""

SORT_CLICK = """() => {
  const started = performance.now();
  document.querySelector("th[data-key='score'] button").click();
  return performance.now() - started;
}"""


def run_phase(page, watched, *, publish_prices: bool, pool: ThreadPoolExecutor) -> dict[str, float]:
    """SECONDS of clicking a sort header once a second, with or without the price load."""
    page.evaluate("window.__perf.longTasks = []; window.__perf.frames = 0")
    received_before = len(watched.received)
    sort_ms: list[float] = []
    interval = 0.1
    per_batch = round(UPDATES_PER_SECOND * interval) if publish_prices else 0
    sent = 0
    step = 0
    started = time.monotonic()
    while time.monotonic() - started < SECONDS:
        # Several publishers at once, as several feed processes would: one Redis round
        # trip per frame would not reach 1,000 frames a second from one thread.
        batch = []
        for n in range(per_batch):
            i = (sent + n) % TICKERS
            price = 50_000 + 100 * i + 100 * ((sent // TICKERS) % 7 - 3)
            batch.append((f"price:{ticker(i)}", price_frame(ticker(i), price, prev_close=50_000 + 100 * i)))
        list(pool.map(lambda item: publish(*item), batch))
        sent += per_batch
        step += 1
        if CLICKS and step % 10 == 5:
            sort_ms.append(page.evaluate(SORT_CLICK))
        delay = started + step * interval - time.monotonic()
        page.wait_for_timeout(max(1, delay * 1000))
    elapsed = time.monotonic() - started
    page.wait_for_timeout(500)
    perf = page.evaluate("window.__perf")
    long_tasks = perf["longTasks"]
    return {
        "updates_per_second": round(sent / elapsed),
        "seconds": round(elapsed, 1),
        "price_frames_sent": sent,
        "price_frames_received": sum(1 for f in watched.received[received_before:] if f.get("type") == "price_update"),
        "long_tasks": len(long_tasks),
        "long_task_total_ms": round(sum(long_tasks)),
        "long_task_max_ms": round(max(long_tasks, default=0)),
        "busy_share": round(sum(long_tasks) / (elapsed * 1000), 3),
        "frames_per_second": round(perf["frames"] / (elapsed + 0.5), 1),
        "sort_click_ms_max": round(max(sort_ms, default=0), 1),
    }


# What the price load may cost on top of the same page, clicks and machine without it.
# Measured here: a few percent of the main thread and a handful of frames a second
# (docs/dashboard.md). A page that re-renders the table per frame, or spends 100 ms per
# price batch, goes far past these.
MAX_EXTRA_BUSY_SHARE = 0.25
MIN_FRAME_RATE_KEPT = 0.6


def regressions(idle: dict[str, float], load: dict[str, float]) -> list[str]:
    found = []
    if load["busy_share"] - idle["busy_share"] > MAX_EXTRA_BUSY_SHARE:
        found.append(f"main thread {load['busy_share']:.0%} busy under load vs {idle['busy_share']:.0%} without")
    if load["frames_per_second"] < MIN_FRAME_RATE_KEPT * idle["frames_per_second"]:
        found.append(f"{load['frames_per_second']} frames/s under load vs {idle['frames_per_second']} without")
    if load["long_task_max_ms"] > max(250, 2 * idle["long_task_max_ms"]):
        found.append(f"longest task {load['long_task_max_ms']} ms under load vs {idle['long_task_max_ms']} ms without")
    if load["sort_click_ms_max"] > max(100, 2 * idle["sort_click_ms_max"]):
        found.append(f"sort click {load['sort_click_ms_max']} ms under load vs {idle['sort_click_ms_max']} ms without")
    return found


def test_page_stays_responsive_under_price_load(browser, server):
    signals = make_signals(SIGNALS)
    watch = [s.ticker for s in signals[:TICKERS]]
    watched = open_page(browser, server, watchlist=watch, init_script=OBSERVE)
    page = watched.page
    page.wait_for_selector("#conn[data-state='connected']", timeout=20_000)
    watched.wait_for(lambda: sum(1 for f in watched.received if f.get("type") == "subscribed"
                                 and str(f.get("topic", "")).startswith("price:")) >= TICKERS, 30, "price subscriptions")

    page.wait_for_timeout(2_000)  # first paint, charts and subscriptions settle
    # The baseline is the same page, clicks and machine in the same run, without prices:
    # the figures swing with the machine's load, the difference much less. A regression
    # shows in two rounds; a burst of load from elsewhere rarely does.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(2):
            idle = run_phase(page, watched, publish_prices=False, pool=pool)
            if TRACE:
                browser.start_tracing(page=page, path=TRACE, categories=TRACE_CATEGORIES)
            load = run_phase(page, watched, publish_prices=True, pool=pool)
            if TRACE:
                browser.stop_tracing()
            found = regressions(idle, load)
            if not found:
                break
    result = {"signals": SIGNALS, "tickers": TICKERS, "without_prices": idle, **load, "sockets": len(watched.sockets)}
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "dashboard-perf.json").write_text(json.dumps(result, indent=2) + "\n")
    print("dashboard responsiveness:", json.dumps(result))

    assert len(watched.sockets) == 1  # never dropped as a slow client (4008)
    # The server passes at most PRICE_MAX_UPDATES_PER_SECOND frames a second per ticker to a
    # socket (latest-wins); above that rate, what arrives is that ceiling, not what was sent.
    from django.conf import settings

    ceiling = settings.PRICE_MAX_UPDATES_PER_SECOND * TICKERS * load["seconds"]
    assert load["price_frames_received"] >= 0.8 * min(load["price_frames_sent"], ceiling) > 0
    assert found == [], found
    assert watched.errors == []
