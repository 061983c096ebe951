"""Operations endpoints: /readyz (every dependency, JSON) and /metrics (Prometheus)."""

from __future__ import annotations

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from stockgate.ops.health import areadiness
from stockgate.ops.metrics import exposition


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 with every check when healthy, 503 naming the failing parts otherwise."""
    report = await areadiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503, json_dumps_params={"ensure_ascii": False})


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    body = await sync_to_async(exposition)()
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
