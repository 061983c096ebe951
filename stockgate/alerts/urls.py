from __future__ import annotations

from django.urls import path

from stockgate.alerts import api

urlpatterns = [
    path("alerts", api.destinations, name="api-alerts"),
    path("alerts/<int:destination_id>", api.destination_detail, name="api-alert"),
    path("alerts/<int:destination_id>/test", api.destination_test, name="api-alert-test"),
    path("alerts/<int:destination_id>/deliveries", api.destination_deliveries, name="api-alert-deliveries"),
]
