"""Operations endpoints: /readyz (every dependency, JSON) and /metrics (Prometheus).

Anyone may ask /readyz whether the site is ready (a load balancer, an uptime probe): they
hear 200/503 and one word. Which check failed, its error text, late task names and the
deployed commit help an attacker as much as an operator, so they go only to staff
sessions and API tokens with the `read` scope, as /ws/stats does.
"""

from __future__ import annotations

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from stockgate.ops.health import areadiness
from stockgate.ops.metrics import exposition

MONITORING_SCOPE = "read"


def _monitoring_caller(request: HttpRequest) -> bool:
    """A staff session, or a valid API token with the `read` scope (monitoring scripts)."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return bool(token.allows(MONITORING_SCOPE))
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


async def _amonitoring_caller(request: HttpRequest) -> bool:
    # The session's user is read from the database: off the event loop.
    return await sync_to_async(_monitoring_caller)(request)


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 otherwise; the checks, failing parts and commit for monitoring callers."""
    report = await areadiness()
    status = 200 if report["status"] == "ok" else 503
    if not await _amonitoring_caller(request):
        return JsonResponse({"status": report["status"]}, status=status)
    return JsonResponse(report, status=status, json_dumps_params={"ensure_ascii": False})


def metrics_open_without_token() -> bool:
    """Development serves /metrics to anyone when METRICS_TOKEN is unset (the run command
    listens on 127.0.0.1); production never does."""
    return settings.STOCKGATE_ENV != "production"


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text for `Bearer METRICS_TOKEN`, a `read` API token or a staff session;
    without METRICS_TOKEN outside production, for anyone."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    allowed = bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if not allowed:
        allowed = (not token and metrics_open_without_token()) or await _amonitoring_caller(request)
    if not allowed:
        hint = "send Authorization: Bearer <METRICS_TOKEN or an API token with the read scope>"
        response = HttpResponse(f"metrics need a token: {hint}\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    body = await sync_to_async(exposition)()
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
