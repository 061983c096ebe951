"""Stopping the server shows reconnecting; restarting it recovers without a reload or a storm."""

from __future__ import annotations

import time

import pytest

from stockgate.realtime.broadcast import publish
from tests.dashboard_support import gate_frame, make_gate, open_page
from tests.processes import web

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 6.0


def test_server_restart_recovers_without_reload_and_without_a_storm(browser, clean_redis):
    make_gate(52, "YELLOW")
    proc = web().start()
    try:
        watched = open_page(browser, proc)
        page = watched.page
        page.wait_for_selector("#conn[data-state='connected']", timeout=15_000)
        watched.wait_subscribed("market-gate")
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        before = len(watched.sockets)

        proc.stop()
        page.wait_for_selector("#conn[data-state='reconnecting']", timeout=5_000)
        assert "시도" in page.locator("#conn-label").inner_text()  # the attempt count is shown
        page.wait_for_timeout(OUTAGE_SECONDS * 1000)
        during_outage = len(watched.sockets) - before
        # Backoff 1 s, 2 s, 4 s ... with jitter: a handful of tries, never a tight loop.
        assert 1 <= during_outage <= 8, during_outage

        sent_before_restart = len(watched.sent)
        received_before_restart = len(watched.received)
        proc = web(port=proc.port).start()
        page.wait_for_selector("#conn[data-state='connected']", timeout=40_000)
        watched.wait_subscribed("market-gate", timeout=20_000, after=received_before_restart)
        assert page.evaluate("window.__sameDocument") is True
        # The known topics resubscribe with `since` (protocol.md, reconnect rules).
        resubscribes = [f for f in watched.sent[sent_before_restart:] if f.get("type") == "subscribe"]
        assert any(f.get("topic") == "market-gate" and "since" in f for f in resubscribes), resubscribes

        # Live again: a new gate reaches the card over the new socket.
        publish("market-gate", gate_frame(77, "GREEN"))
        page.wait_for_function("document.getElementById('gate-level').textContent === '77'", timeout=5_000)

        # Settled: one open socket and no further attempts.
        settled = len(watched.sockets)
        time.sleep(3)
        page.wait_for_timeout(100)
        assert len(watched.sockets) == settled
        assert sum(1 for ws in watched.sockets if not ws.is_closed()) == 1
        assert watched.script_errors() == []
    finally:
        proc.stop()
