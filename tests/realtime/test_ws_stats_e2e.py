"""/ws/stats and the broadcast log line on started web processes with real sockets."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import pytest
import websockets
from django.contrib.auth import get_user_model

from stockgate.apitokens.models import ApiToken
from stockgate.realtime.broadcast import publish
from tests.processes import web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stats(port: int, token: str) -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ws/stats", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for_stats(port: int, token: str, check: Any, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = stats(port, token)
        if check(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def test_ws_stats_counts_sockets_per_process_and_in_total_and_broadcasts_are_logged(clean_redis):
    _, token = ApiToken.issue(get_user_model().objects.create_user("monitor"), "monitoring", "read")
    one, two = web(WS_STATS_REPORT_SECONDS="1").start(), web(WS_STATS_REPORT_SECONDS="1").start()
    try:
        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            url_one, url_two = f"ws://127.0.0.1:{one.port}/ws", f"ws://127.0.0.1:{two.port}/ws"
            async with websockets.connect(url_one) as a, websockets.connect(url_one) as b, \
                    websockets.connect(url_two) as c:
                for ws, topics in ((a, ["signal:vcp", "market-gate"]), (b, ["signal:vcp"]), (c, ["signal:vcp"])):
                    for topic in topics:
                        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
                await asyncio.sleep(0.5)
                during = await asyncio.to_thread(
                    wait_for_stats, one.port, token, lambda d: d["total"]["topics"].get("signal:vcp") == 3)
                await asyncio.to_thread(publish, "signal:vcp", {"type": "signal_update", "topic": "signal:vcp",
                                                                 "data": {"signals": [], "count": 0}})
                await asyncio.sleep(1.0)
            after = await asyncio.to_thread(
                wait_for_stats, two.port, token, lambda d: d["total"]["connections"] == 0)
            return during, after

        during, after = asyncio.run(scenario())
        logs = one.output() + two.output()
        ours = {f":{one.proc.pid}", f":{two.proc.pid}"}  # other tests' idle servers may report too
    finally:
        one.stop()
        two.stop()
    mine = [p for p in during["processes"] if any(p["process"].endswith(pid) for pid in ours)]
    assert len(mine) == 2 and during["total"]["processes"] >= 2 and during["total"]["connections"] == 3
    assert during["total"]["topics"] == {"market-gate": 1, "signal:vcp": 3}
    by_process = sorted((p["connections"], p["topics"].get("signal:vcp")) for p in mine)
    assert by_process == [(1, 1), (2, 2)]
    assert after["total"]["connections"] == 0 and after["total"]["topics"] == {}
    lines = [line for line in logs.splitlines() if "broadcast topic=signal:vcp" in line]
    assert len(lines) == 2, logs[-3000:]  # one per process
    assert sorted(line.split("subscribers=")[1] for line in lines) == ["1", "2"]
    assert all(" INFO " in line for line in lines)
