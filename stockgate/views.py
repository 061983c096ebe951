from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependencies checked: that is /readyz)."""
    return JsonResponse({"status": "ok"})
