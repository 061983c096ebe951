"""Bearer-token authentication for the JSON API.

A request with `Authorization: Bearer sg_...` acts as the token's user and skips the
CSRF check: CSRF protects cookies a browser sends by itself, and a bearer token is never
sent that way. Requests without one (browsers, sessions) are unchanged and still need
the CSRF token. Other bearer values (e.g. METRICS_TOKEN for /metrics) are left to the
views that expect them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from stockgate.apitokens.models import TOKEN_PREFIX, ApiToken


def bearer_value(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip().startswith(TOKEN_PREFIX):
        return None
    return value.strip()


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_token = None  # type: ignore[attr-defined]
        request.bearer_error = ""  # type: ignore[attr-defined]
        raw = bearer_value(request)
        if raw is not None:
            token = ApiToken.authenticate(raw)
            if token is None:
                request.bearer_error = "the API token is invalid, expired or revoked"  # type: ignore[attr-defined]
            else:
                user = token.user
                request.api_token = token  # type: ignore[attr-defined]
                request.user = user
                request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]

                async def auser():  # type: ignore[no-untyped-def]
                    return user

                request.auser = auser  # type: ignore[attr-defined]
        return self.get_response(request)
