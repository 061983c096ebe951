"""JSON API for a trader's own alerts (a session with CSRF, or a token with the `alerts` scope).

GET  /api/alerts                      the caller's destinations with their events
POST /api/alerts                      {"name", "kind": "telegram"|"slack"|"webhook", "url" | "chat_id",
                                       "language": "ko"|"en", "secret"?, "min_interval_seconds"?,
                                       "events": [{"event": "gate_colour"},
                                                  {"event": "signal_grade", "min_grade": "A"},
                                                  {"event": "price_cross", "ticker": "005930", "level": 75000,
                                                   "direction": "above"|"below"|"both"}]}
DELETE /api/alerts/<id>               remove one of the caller's destinations
POST /api/alerts/<id>/test            send a test message (see the result in GET /api/alerts/<id>/deliveries)
GET  /api/alerts/<id>/deliveries      the last 50 deliveries to it
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from stockgate.alerts.events import record_test
from stockgate.alerts.models import AlertDelivery, AlertDestination, AlertRule, DestinationKind
from stockgate.alerts.rules import clean_rule
from stockgate.alerts.transports import BadDestination, check_destination
from stockgate.apitokens.access import token_or_staff
from stockgate.jsonapi import csrf_checked, csrf_exempt, json_body, json_error, methods

FIELDS = {"name", "kind", "url", "chat_id", "language", "secret", "min_interval_seconds", "events"}
MAX_DESTINATIONS_PER_USER = 20
MAX_EVENTS = 50


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@methods("GET", "POST")
@token_or_staff("alerts", staff=False)
@csrf_checked
def destinations(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        rows = AlertDestination.objects.filter(owner=request.user).prefetch_related("rules")
        return _json({"destinations": [d.to_data() for d in rows]})
    try:
        body = json_body(request)
        destination, rules = _parse(body)
    except ValueError as exc:
        return json_error(400, "bad_request", str(exc))
    if AlertDestination.objects.filter(owner=request.user).count() >= MAX_DESTINATIONS_PER_USER:
        return json_error(400, "bad_request", f"at most {MAX_DESTINATIONS_PER_USER} destinations per user")
    destination.owner = request.user
    destination.created_by_token = getattr(request, "api_token", None)
    with transaction.atomic():
        destination.save()
        for event, params in rules:
            AlertRule.objects.create(destination=destination, event=event, params=params)
    return _json(destination.to_data(), status=201)


def _parse(body: dict[str, Any]) -> tuple[AlertDestination, list[tuple[str, dict[str, Any]]]]:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    text = {k: body.get(k, "") for k in ("name", "kind", "url", "chat_id", "language", "secret")}
    for key, value in text.items():
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a string, not {value!r}")
    if not text["name"].strip():
        raise ValueError("name is required")
    for key, limit in (("name", 100), ("url", 500), ("chat_id", 64), ("secret", 128)):
        if len(text[key].strip()) > limit:
            raise ValueError(f"{key} is longer than {limit} characters")
    if text["kind"] not in DestinationKind.values:
        raise ValueError(f"kind must be one of {', '.join(DestinationKind.values)}, not {text['kind']!r}")
    language = text["language"] or "ko"
    if language not in ("ko", "en"):
        raise ValueError(f"language must be ko or en, not {language!r}")
    interval = body.get("min_interval_seconds", 1.0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 <= interval <= 3600:
        raise ValueError(f"min_interval_seconds must be between 0 and 3600, not {interval!r}")
    destination = AlertDestination(
        name=text["name"].strip(), kind=text["kind"], url=text["url"].strip(),
        chat_id=text["chat_id"].strip(), secret=text["secret"].strip(), language=language,
        min_interval_seconds=float(interval),
    )
    try:
        check_destination(destination)
    except BadDestination as exc:
        raise ValueError(str(exc)) from exc
    events = body.get("events")
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise ValueError(f"events must be a list of 1 to {MAX_EVENTS} objects")
    rules = []
    for item in events:
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            raise ValueError(f"each event must be an object with an \"event\" name, not {item!r}")
        params = {k: v for k, v in item.items() if k != "event"}
        rules.append((item["event"], clean_rule(item["event"], params)))
    return destination, rules


def _own(request: HttpRequest, destination_id: int) -> AlertDestination | None:
    return AlertDestination.objects.filter(pk=destination_id, owner=request.user).first()


@csrf_exempt
@methods("DELETE")
@token_or_staff("alerts", staff=False)
@csrf_checked
def destination_detail(request: HttpRequest, destination_id: int) -> HttpResponse:
    destination = _own(request, destination_id)
    if destination is None:
        return json_error(404, "not_found", f"you have no alert destination {destination_id}")
    destination.delete()
    return HttpResponse(status=204)


@csrf_exempt
@methods("POST")
@token_or_staff("alerts", staff=False)
@csrf_checked
def destination_test(request: HttpRequest, destination_id: int) -> HttpResponse:
    destination = _own(request, destination_id)
    if destination is None:
        return json_error(404, "not_found", f"you have no alert destination {destination_id}")
    delivery_id = record_test(destination)
    return _json({"delivery": delivery_id, "url": f"/api/alerts/{destination.pk}/deliveries"}, status=202)


@methods("GET")
@token_or_staff("alerts", staff=False)
def destination_deliveries(request: HttpRequest, destination_id: int) -> HttpResponse:
    destination = _own(request, destination_id)
    if destination is None:
        return json_error(404, "not_found", f"you have no alert destination {destination_id}")
    rows = AlertDelivery.objects.filter(destination=destination)[:50]
    return _json({"deliveries": [
        {"id": d.pk, "event": d.event, "status": d.status, "attempts": d.attempts, "text": d.text,
         "last_error": d.last_error, "created_at": d.created_at.isoformat(),
         "sent_at": d.sent_at.isoformat() if d.sent_at else None}
        for d in rows
    ]})
