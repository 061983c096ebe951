from __future__ import annotations

from django.urls import path

from signals import api

urlpatterns = [
    path("scan", api.scan_create, name="api-scan"),
    path("signals", api.signal_list, name="api-signals"),
    path("scans/<int:run_id>", api.scan_detail, name="api-scan-detail"),
    path("performance", api.performance_view, name="api-performance"),
]
