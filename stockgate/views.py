from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from stockgate.dashboard import index  # noqa: F401  (the page at "/", routed as views.index)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependencies checked: that is /readyz)."""
    return JsonResponse({"status": "ok"})
