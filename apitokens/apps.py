from __future__ import annotations

from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "apitokens"
    verbose_name = "API 토큰"
    default_auto_field = "django.db.models.BigAutoField"
