from __future__ import annotations

from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "stockgate.apitokens"
    label = "apitokens"  # the app label its tables and migrations were made under
    verbose_name = "API 토큰"
    default_auto_field = "django.db.models.BigAutoField"
