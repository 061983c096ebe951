"""JSON API of the Market Gate: the latest gate, in the shape WebSocket clients receive."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from marketgate.models import MarketGate
from stockgate.jsonapi import json_error, methods


@methods("GET")
def market_gate(request: HttpRequest) -> HttpResponse:
    """The latest gate as a `market_gate_update` frame (without seq/epoch); 404 before the first."""
    gate = MarketGate.latest()
    if gate is None:
        return json_error(404, "not_found", "no Market Gate has been computed yet")
    return JsonResponse(gate.to_message(), json_dumps_params={"ensure_ascii": False})
