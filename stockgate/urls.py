from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from signals.legacy import legacy_scan
from stockgate import dashboard, views
from stockgate.ops import socket_stats
from stockgate.ops import views as health_views

urlpatterns = [
    path("", dashboard.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", health_views.readyz, name="readyz"),
    path("metrics", health_views.metrics, name="metrics"),
    path("ws/stats", socket_stats.ws_stats, name="ws-stats"),
    path("scan", legacy_scan, name="legacy-scan"),
    path("api/", include("signals.urls")),
    path("api/", include("marketgate.urls")),
    path("api/", include("stockgate.alerts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
