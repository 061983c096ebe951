"""JSON API of the scanner: queue a scan (staff or a `scan` token), read signals, follow a scan run."""

from __future__ import annotations

import math
from datetime import date

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from signals.models import Grade, ScanRun, Signal
from signals.scans.admission import ScanQueueFull, admit_scan
from signals.scans.service import MARKET_CHOICES, ScanError, ScanRequest
from stockgate.apitokens.access import token_or_staff
from stockgate.jsonapi import (
    csrf_checked,
    csrf_exempt,
    json_body,
    json_error,
    methods,
)
from stockgate.realtime.permissions import http_refusal
from stockgate.realtime.topics import SIGNAL_VCP

SCAN_FIELDS = {"market", "top_n", "min_score", "date"}


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@methods("POST")
@token_or_staff("scan")
@csrf_checked
def scan_create(request: HttpRequest) -> HttpResponse:
    """Body {"market": "ALL"|"KOSPI"|"KOSDAQ", "top_n": N|null, "min_score": S|null, "date": "YYYY-MM-DD"?}
    -> 202 {"id", "status": "queued", "url", "coalesced"}; 429 with Retry-After when
    SCAN_QUEUE_MAX scans are already queued or running (signals/scans/admission.py)."""
    try:
        body = json_body(request)
    except ValueError as exc:
        return json_error(400, "bad_json", f"the body is not a JSON object: {exc}")
    unknown = sorted(set(body) - SCAN_FIELDS)
    if unknown:
        return json_error(400, "bad_request", f"unknown field(s): {', '.join(unknown)}")
    try:
        scan_request = ScanRequest(
            market=_text(body.get("market"), "market", "ALL").upper(),
            top_n=_number(body.get("top_n"), "top_n", int),
            min_score=_number(body.get("min_score"), "min_score", float),
            as_of=_date(body.get("date")),
            triggered_by=f"api:{request.user.get_username()}",
        )
    except ScanError as exc:
        return json_error(400, "bad_request", str(exc))
    try:
        admitted = admit_scan(scan_request, timezone.now())
    except ScanQueueFull as exc:
        return queue_full(exc)
    run = admitted.run
    return _json({"id": run.pk, "status": run.status, "url": f"/api/scans/{run.pk}", "coalesced": admitted.coalesced},
                 status=202)


def queue_full(exc: ScanQueueFull) -> HttpResponse:
    response = json_error(429, "too_many_scans", str(exc), retry_after=exc.retry_after)
    response["Retry-After"] = str(exc.retry_after)
    return response


@methods("GET")
def signal_list(request: HttpRequest) -> HttpResponse:
    """?date=YYYY-MM-DD (default: the latest scan's date) &grade=S,A &market=KOSPI.
    Whoever may read the `signal:vcp` topic (WS_TOPIC_PERMISSIONS)."""
    refused = http_refusal(request, SIGNAL_VCP)
    if refused is not None:
        return refused
    try:
        day = _date(request.GET.get("date")) or Signal.objects.latest_date()
        grades = _choices(request.GET.get("grade"), "grade", set(Grade.values))
        market = _text(request.GET.get("market"), "market", "ALL").upper()
        if market not in MARKET_CHOICES:
            raise ScanError(f"market must be one of {', '.join(MARKET_CHOICES)}")
    except ScanError as exc:
        return json_error(400, "bad_request", str(exc))
    rows = Signal.objects.for_date(day) if day else Signal.objects.none()
    if grades:
        rows = rows.filter(grade__in=grades)
    if market != "ALL":
        rows = rows.filter(market=market)
    signals = [{**row.to_message(), "footprint": row.footprint} for row in rows]
    return _json({"signal_date": day.isoformat() if day else None, "count": len(signals), "signals": signals})


@methods("GET")
def performance_view(request: HttpRequest) -> HttpResponse:
    """The dashboard's performance panel: open signals with live R, the last 60 sessions'
    closed ones, win rate and average R by grade, the gate by day for a year. The signals'
    data: whoever may read the `signal:vcp` topic."""
    refused = http_refusal(request, SIGNAL_VCP)
    if refused is not None:
        return refused
    from signals.outcomes.performance import performance

    return _json(performance())


@methods("GET")
@token_or_staff("scan", "read")
def scan_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = ScanRun.objects.filter(pk=run_id).first()
    if run is None:
        return json_error(404, "not_found", f"no scan run {run_id}")
    return _json(run.to_data())


def _text(value: object, name: str, default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ScanError(f"{name} must be a string, not {value!r}")
    return value.strip()


def _number(value: object, name: str, kind: type) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScanError(f"{name} must be a number or null, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # 1e400 reads as inf
        raise ScanError(f"{name} must be a finite number, not {value!r}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ScanError(f"{name} must be a whole number, not {value!r}")
    return kind(value)


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ScanError(f"date must be YYYY-MM-DD, not {value!r}") from exc


def _choices(value: str | None, name: str, allowed: set[str]) -> list[str]:
    items = [v.strip().upper() for v in (value or "").split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise ScanError(f"{name} must be among {', '.join(sorted(allowed))}, not {', '.join(bad)}")
    return items
