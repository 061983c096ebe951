"""JSON API of the Market Gate: the latest gate, in the shape WebSocket clients receive."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from marketgate.models import Instrument, MarketGate
from stockgate.jsonapi import json_error, methods
from stockgate.realtime.permissions import http_refusal
from stockgate.realtime.topics import MARKET_GATE, ticker_of


@methods("GET")
def market_gate(request: HttpRequest) -> HttpResponse:
    """The latest gate as a `market_gate_update` frame (without seq/epoch); 404 before the first.
    Whoever may read the `market-gate` topic (WS_TOPIC_PERMISSIONS)."""
    refused = http_refusal(request, MARKET_GATE)
    if refused is not None:
        return refused
    gate = MarketGate.latest()
    if gate is None:
        return json_error(404, "not_found", "no Market Gate has been computed yet")
    return JsonResponse(gate.to_message(), json_dumps_params={"ensure_ascii": False})


MAX_LOOKUP = 100  # the watchlist's own limit


@methods("GET")
def instruments(request: HttpRequest) -> HttpResponse:
    """Names of listed tickers: `?tickers=005930,000660` -> {"instruments": {...}, "unknown": [...]}.

    The watchlist shows a name beside each code, and says so when a code is not listed
    (a typo, a delisted stock) instead of waiting for a price that never comes."""
    raw = [t.strip().upper() for t in request.GET.get("tickers", "").split(",") if t.strip()]
    if not raw:
        return json_error(400, "bad_request", "give tickers=CODE[,CODE...] (6-character KRX codes)")
    if len(raw) > MAX_LOOKUP:
        return json_error(400, "bad_request", f"at most {MAX_LOOKUP} tickers per request, not {len(raw)}")
    bad = [t for t in raw if ticker_of(f"price:{t}") is None]  # the price topics' rule
    if bad:
        return json_error(400, "bad_request", f"not a KRX code (a digit then 5 digits/capitals): {', '.join(bad[:5])}")
    found = {
        i.ticker: {"name": i.name, "name_en": i.name_en, "market": i.market}
        for i in Instrument.objects.filter(ticker__in=raw)
    }
    body = {"instruments": found, "unknown": [t for t in dict.fromkeys(raw) if t not in found]}
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})
