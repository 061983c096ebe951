"""The old system's `curl -X POST .../scan` against a started server (web + worker):
with an API token it gets the signals on the old 0-10 scale and a subscribed socket
receives the signal_update; without a token, or with a revoked one, 401 and no scan."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import pytest
import websockets
from django.contrib.auth import get_user_model

from signals.models import ScanRun
from stockgate.apitokens.models import ApiToken
from tests.processes import web, worker
from tests.scan_market import vcp_market

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OLD_BODY = '{"market": "KOSPI", "top_n": 5, "min_score": 7}'


def curl(port: int, body: str, token: str | None = None, query: str = "") -> tuple[int, dict[str, Any]]:
    """The old script, as it was, plus the Authorization header."""
    args = ["curl", "-sS", "-X", "POST", f"http://127.0.0.1:{port}/scan{query}", "-H", "Content-Type: application/json",
            "-d", body, "-w", "\n%{http_code}", "--max-time", "120"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=130)
    payload, _, code = done.stdout.rpartition("\n")
    return int(code), json.loads(payload or "{}")


async def _frames(ws: Any, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return out


def test_the_old_scan_call_with_a_token_returns_the_signals_and_the_socket_gets_them(clean_redis):
    vcp_market(kosdaq_vcp=True)
    user = get_user_model().objects.create_user("cron", is_staff=True)
    _, raw = ApiToken.issue(user, "nightly scan", "scan,read")
    server, celery = web().start(), worker().start()
    try:
        async def scenario() -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
                await ws.send(json.dumps({"type": "subscribe", "topic": "signal:vcp"}))
                assert any(f.get("type") == "subscribed" for f in await _frames(ws, 1.5))
                code, body = await asyncio.to_thread(curl, server.port, OLD_BODY, raw)
                return code, body, await _frames(ws, 3)

        code, body, frames = asyncio.run(scenario())
    finally:
        server.stop()
        celery.stop()
    assert code == 200, (body, celery.output()[-3000:])
    assert body["success"] is True and body["score_scale"] == "0-10" and body["market"] == "KOSPI"
    # KOSPI only: the KOSDAQ VCP is scanned (for RS) but not kept.
    assert [s["ticker"] for s in body["signals"]] == ["VCP001"] and body["count"] == 1
    signal = body["signals"][0]
    assert signal["score"] == round(signal["score_100"] / 10, 1) and signal["score"] >= 7
    updates = [f for f in frames if f.get("type") == "signal_update" and not f.get("snapshot")]
    assert len(updates) == 1, frames
    assert [s["ticker"] for s in updates[0]["data"]["signals"]] == ["VCP001"]
    assert updates[0]["data"]["signals"][0]["score"] == signal["score_100"]
    assert ApiToken.objects.get().last_used_at is not None


def test_without_a_token_or_with_a_revoked_one_the_old_call_is_401_and_scans_nothing(clean_redis):
    user = get_user_model().objects.create_user("cron", is_staff=True)
    token, raw = ApiToken.issue(user, "nightly scan", "scan")
    token.revoke()
    server = web().start()
    try:
        no_token = curl(server.port, OLD_BODY)
        revoked = curl(server.port, OLD_BODY, raw)
    finally:
        server.stop()
    assert no_token[0] == 401 and no_token[1]["error"] == "unauthenticated"
    assert revoked[0] == 401 and revoked[1]["error"] == "invalid_token"
    assert not ScanRun.objects.exists()


def test_a_scan_longer_than_wait_answers_202_with_the_run_url(clean_redis):
    # No worker: the run stays queued, so the call must give up after `wait`.
    user = get_user_model().objects.create_user("cron", is_staff=True)
    _, raw = ApiToken.issue(user, "nightly scan", "scan,read")
    server = web().start()
    try:
        started = time.monotonic()
        code, body = curl(server.port, OLD_BODY, raw, query="?wait=1")
        took = time.monotonic() - started
    finally:
        server.stop()
    run = ScanRun.objects.get()
    assert code == 202 and body == {"id": run.pk, "status": "queued", "url": f"/api/scans/{run.pk}"}
    assert took < 10 and run.parameters["min_score"] == 70.0
