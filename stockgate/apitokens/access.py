"""Who may call a JSON endpoint: a staff session (with CSRF) or an API token with a scope."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from stockgate.jsonapi import json_error

View = Callable[..., HttpResponse]


def access_denied(request: HttpRequest, *scopes: str, staff: bool = True) -> HttpResponse | None:
    """None when the caller may go on; else the 401/403 JSON answer. A token needs one of `scopes`."""
    if getattr(request, "bearer_error", ""):
        response = json_error(401, "invalid_token", request.bearer_error)  # type: ignore[attr-defined]
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    user = request.user
    token = getattr(request, "api_token", None)
    if token is not None:
        if not any(token.allows(scope) for scope in scopes):
            return json_error(403, "insufficient_scope", f"this API token needs the scope {' or '.join(scopes)}",
                              scopes=token.scopes)
        if staff and not user.is_staff:
            return json_error(403, "forbidden", "this API token's user is not staff")
        return None
    if not user.is_authenticated:
        response = json_error(401, "unauthenticated",
                              "send Authorization: Bearer <API token>, or log in as staff (/admin/login/)")
        response["WWW-Authenticate"] = "Bearer"
        return response
    if not user.is_active or (staff and not user.is_staff):
        return json_error(403, "forbidden", "staff only")
    return None


def token_or_staff(*scopes: str, staff: bool = True) -> Callable[[View], View]:
    """A staff session, or a token with one of `scopes` (whose user must be staff when `staff`)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denied = access_denied(request, *scopes, staff=staff)
            return denied if denied is not None else view(request, *args, **kwargs)

        return wrapper

    return decorate
