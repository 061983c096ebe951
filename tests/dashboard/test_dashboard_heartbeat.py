"""The page follows the server's heartbeat instead of assuming 25 s: with
WS_HEARTBEAT_SECONDS=70 (and a longer idle timeout) a real page on a real server stays
connected for five minutes on one socket, answering every ping.

Five real minutes: `python3 scripts/test.py tests/dashboard/test_dashboard_heartbeat.py`. In a
run of the whole suite it runs alongside the rest, in a pytest process of its own
(tests/alongside.py): the minutes are mostly waiting.
"""

from __future__ import annotations

import time

import pytest

from tests.dashboard_support import make_gate, open_page
from tests.processes import web

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.alongside, pytest.mark.django_db(transaction=True)]

HEARTBEAT_SECONDS = 70
IDLE_TIMEOUT_SECONDS = 90
OBSERVED_SECONDS = 5 * 60
# What the page used to assume: 65 s of silence meant a dead socket (a 25 s heartbeat).
OLD_SILENCE_SECONDS = 65

# Every state the connection indicator takes, with the page's clock.
RECORD_STATES = """
window.__connStates = [];
document.addEventListener("DOMContentLoaded", () => {
  const conn = document.getElementById("conn");
  new MutationObserver(() => window.__connStates.push([performance.now(), conn.dataset.state]))
    .observe(conn, { attributes: true, attributeFilter: ["data-state"] });
});
"""


@pytest.mark.timeout(OBSERVED_SECONDS + 180)
def test_a_70_second_heartbeat_keeps_the_page_connected_for_five_minutes(browser, clean_redis):
    make_gate(58, "YELLOW")
    proc = web(WS_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS), WS_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT_SECONDS)).start()
    try:
        watched = open_page(browser, proc, init_script=RECORD_STATES)
        page = watched.page
        page.wait_for_selector("#conn[data-state='connected']", timeout=20_000)
        watched.wait_subscribed("market-gate")
        assert page.evaluate("JSON.parse(document.getElementById('dashboard-state').textContent).realtime") == {
            "heartbeat_seconds": HEARTBEAT_SECONDS, "idle_timeout_seconds": IDLE_TIMEOUT_SECONDS,
            "max_frames_per_second": 20, "max_subscriptions": 200,
        }
        (socket,) = watched.sockets
        heard: list[float] = [time.monotonic()]
        socket.on("framereceived", lambda payload: heard.append(time.monotonic()))

        started = time.monotonic()
        while time.monotonic() - started < OBSERVED_SECONDS:
            page.wait_for_timeout(1_000)  # Playwright delivers socket events meanwhile
            assert len(watched.sockets) == 1, f"reconnected after {time.monotonic() - started:.0f} s"

        assert not socket.is_closed()
        assert page.locator("#conn").get_attribute("data-state") == "connected"
        changes = page.evaluate("window.__connStates")
        assert [state for _, state in changes] == ["connected"], changes  # never reconnecting
        pings = [f for f in watched.received if f.get("type") == "ping"]
        pongs = [f for f in watched.sent if f.get("type") == "pong"]
        assert len(pings) >= OBSERVED_SECONDS // HEARTBEAT_SECONDS - 1, pings
        assert len(pongs) >= len(pings), (pings, pongs)
        # The test means something only if the socket was quiet for longer than the page
        # used to tolerate: nothing but pings (every 70 s) crossed it.
        gaps = [b - a for a, b in zip(heard, heard[1:])]
        assert max(gaps) > OLD_SILENCE_SECONDS, gaps
        assert watched.script_errors() == []
    finally:
        proc.stop()
