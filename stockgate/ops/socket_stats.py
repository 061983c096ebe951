"""GET /ws/stats: WebSocket connections and subscriptions per topic, per web process and in total."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from stockgate.apitokens.access import access_denied
from stockgate.jsonapi import json_error, methods
from stockgate.realtime import wsstats


@methods("GET")
def ws_stats(request: HttpRequest) -> HttpResponse:
    """Staff sessions, or any API token with the `read` scope (monitoring scripts)."""
    denied = access_denied(request, "read", staff=getattr(request, "api_token", None) is None)
    if denied is not None:
        return denied
    try:
        stats = wsstats.cluster_stats()
    except Exception as exc:  # Redis down: say so rather than answer with zeros
        return json_error(503, "unavailable", f"cannot read the WebSocket stats from Redis: {exc}")
    return JsonResponse(stats, json_dumps_params={"ensure_ascii": False})
