from __future__ import annotations

from django.urls import path

from marketgate import api

urlpatterns = [
    path("market-gate", api.market_gate, name="api-market-gate"),
    path("instruments", api.instruments, name="api-instruments"),
]
