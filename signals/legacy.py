"""POST /scan: the old system's scan call, for the scripts and cron jobs that still use it.

Same body as before, `{"market": "KOSPI", "top_n": 5, "min_score": 7}`, with the old
meaning: `min_score` is on the old 0-10 scale (10 = grade S) and becomes 10x on
stockgate's 0-100 scale. The answer is the old one, the scan's signals, once the scan
has finished; each signal's `score` is on the 0-10 scale again (`score_100` has the
native value). A scan that takes longer than `wait` seconds (body or query string,
default 120, at most 600) is answered 202 with the run's URL to follow instead.

Like `/api/scan` it is bounded: an identical request joins the run still queued, and
beyond SCAN_QUEUE_MAX queued or running scans the answer is 429 with Retry-After.

Unlike the old endpoint it needs a caller: an API token with the `scan` scope
(`Authorization: Bearer`, no CSRF) or a staff session with its CSRF token.
`/api/scan` is the native API (0-100 scale, always 202).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from signals.api import _date, _number, _text, queue_full
from signals.models import ScanRun, ScanStatus, Signal
from signals.scans.admission import ScanQueueFull, admit_scan
from signals.scans.service import ScanError, ScanRequest
from stockgate.apitokens.access import token_or_staff
from stockgate.jsonapi import csrf_checked, csrf_exempt, json_body, json_error

LEGACY_FIELDS = {"market", "top_n", "min_score", "wait", "date"}
# The old scale: score 0-10 with 10 = grade S; stockgate's is 0-100.
OLD_SCALE_FACTOR = 10
DEFAULT_WAIT_SECONDS = 120.0
MAX_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.25
FINISHED = {ScanStatus.SUCCEEDED, ScanStatus.FAILED}


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def to_old_scale(score: float) -> float:
    return round(score / OLD_SCALE_FACTOR, 1)


def legacy_signal(row: Signal) -> dict[str, Any]:
    message = row.to_message()
    return {**message, "score": to_old_scale(row.score), "score_100": row.score, "score_scale": "0-10"}


def _wait_seconds(request: HttpRequest, body: dict[str, Any]) -> float:
    raw: object = body.get("wait", request.GET.get("wait"))
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            raise ScanError(f"wait must be a number of seconds, not {raw!r}") from None
    value = _number(raw, "wait", float)
    if value is None:
        return DEFAULT_WAIT_SECONDS
    if not 0 <= value <= MAX_WAIT_SECONDS:
        raise ScanError(f"wait must be between 0 and {MAX_WAIT_SECONDS:.0f} seconds, not {value}")
    return float(value)


@token_or_staff("scan")
@csrf_checked
def _queue(request: HttpRequest) -> HttpResponse:
    """Validate the old body and queue the run; 202 carries the run id and the wait."""
    try:
        body = json_body(request)
    except ValueError as exc:
        return json_error(400, "bad_json", f"the body is not a JSON object: {exc}")
    unknown = sorted(set(body) - LEGACY_FIELDS)
    if unknown:
        return json_error(400, "bad_request", f"unknown field(s): {', '.join(unknown)}")
    try:
        old_min = _number(body.get("min_score"), "min_score", float)
        if old_min is not None and not 0 <= old_min <= OLD_SCALE_FACTOR:
            raise ScanError(f"min_score is on the 0-10 scale of POST /scan (10 = grade S), not {old_min}; "
                            "POST /api/scan takes 0-100")
        wait = _wait_seconds(request, body)
        scan_request = ScanRequest(
            market=_text(body.get("market"), "market", "ALL").upper(),
            top_n=_number(body.get("top_n"), "top_n", int),
            min_score=None if old_min is None else old_min * OLD_SCALE_FACTOR,
            as_of=_date(body.get("date")),
            triggered_by=f"legacy:{request.user.get_username()}",
        )
    except ScanError as exc:
        return json_error(400, "bad_request", str(exc))
    try:
        run = admit_scan(scan_request, timezone.now()).run
    except ScanQueueFull as exc:
        return queue_full(exc)
    return _json({"id": run.pk, "status": run.status, "url": f"/api/scans/{run.pk}", "wait": wait}, status=202)


def _finished_run(run_id: int) -> ScanRun:
    return ScanRun.objects.get(pk=run_id)


def _result(run: ScanRun) -> dict[str, Any]:
    rows = Signal.objects.filter(scan_run=run).order_by("-score", "ticker")
    signals = [legacy_signal(row) for row in rows]
    return {
        "success": True,
        "market": run.parameters.get("market"),
        "signal_date": run.trading_date.isoformat() if run.trading_date else None,
        "count": len(signals),
        "signals": signals,
        "score_scale": "0-10",
        "timestamp": timezone.localtime().isoformat(),
        "run": {"id": run.pk, "url": f"/api/scans/{run.pk}", "duration_ms": run.duration_ms},
    }


@csrf_exempt  # _queue runs the CSRF check itself, after the token check
async def legacy_scan(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = json_error(405, "method_not_allowed", "use POST")
        response["Allow"] = "POST"
        return response
    queued = await sync_to_async(_queue)(request)
    if queued.status_code != 202:
        return queued
    ticket = json.loads(queued.content)
    deadline = time.monotonic() + ticket.pop("wait")
    while True:
        run = await sync_to_async(_finished_run)(ticket["id"])
        if run.status in FINISHED:
            break
        if time.monotonic() >= deadline:
            return _json({**ticket, "status": run.status}, status=202)
        await asyncio.sleep(POLL_SECONDS)
    if run.status == ScanStatus.FAILED:
        return json_error(500, "scan_failed", run.error or "the scan failed", id=run.pk, url=ticket["url"])
    return _json(await sync_to_async(_result)(run))
