from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "stockgate/index.html", {})


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependencies checked: that is /readyz)."""
    return JsonResponse({"status": "ok"})
