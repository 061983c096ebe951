"""Small pieces every JSON endpoint shares: errors as JSON with a status code, staff-only
access that answers 401/403 instead of redirecting to a login page, and CSRF checks
whose rejection is JSON too (the protection itself is Django's, unchanged).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt

View = Callable[..., HttpResponse]


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status,
                        json_dumps_params={"ensure_ascii": False})


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN and ±Infinity, which JSON does not have and no field means.
    raise ValueError(f"{name} is not a JSON value")


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); ValueError when it is not one."""
    if not request.body:
        return {}
    data = json.loads(request.body, parse_constant=_refuse_constant)
    if not isinstance(data, dict):
        raise ValueError(f"got a JSON {_JSON_KINDS.get(type(data), 'value')}")
    return data


class _JsonCsrfMiddleware(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        return json_error(403, "csrf_failed", f"CSRF verification failed: {reason}")


# Django's CSRF check, answered as JSON. Put it innermost (after the access checks, so
# an anonymous caller hears 401 rather than a token complaint) and `csrf_exempt`
# outermost: the global middleware skips the view only because this performs the same
# check itself.
csrf_checked: Callable[[View], View] = decorator_from_middleware(_JsonCsrfMiddleware)

__all__ = ["csrf_checked", "csrf_exempt", "json_body", "json_error", "methods", "staff_required"]


def staff_required(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return json_error(401, "unauthenticated", "log in as staff first (/admin/login/)")
        if not (user.is_active and user.is_staff):
            return json_error(403, "forbidden", "staff only")
        return view(request, *args, **kwargs)

    return wrapper


def methods(*allowed: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = json_error(405, "method_not_allowed", f"use {' or '.join(allowed)}")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
