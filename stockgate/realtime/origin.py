"""WebSocket origin check: browsers must come from an allowed host."""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    """Like AllowedHostsOriginValidator, but a client that sends no Origin at all
    (a script, not a browser, so not a cross-site request) is let through."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def origin_validated(app: Any) -> BrowserOriginValidator:
    allowed = list(settings.WS_ALLOWED_ORIGINS) or list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", ".localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(app, allowed)
