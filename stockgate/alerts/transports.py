"""POST one alert to Telegram, a Slack webhook or a generic JSON webhook.

Any answer but 2xx, or no answer, is a SendError: the delivery task retries it.
A URL must be http(s); one that resolves to a private, loopback or link-local address
is refused unless ALERTS_ALLOW_PRIVATE_URLS (a trader's webhook must not reach our
own network).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from stockgate.alerts.models import AlertDelivery, AlertDestination, DestinationKind


class SendError(RuntimeError):
    pass


class BadDestination(ValueError):
    pass


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadDestination(f"the URL must be http(s)://host/..., not {url!r}")
    if getattr(settings, "ALERTS_ALLOW_PRIVATE_URLS", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise BadDestination(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise BadDestination(f"{parts.hostname} resolves to a private address ({address})")


def check_destination(destination: AlertDestination) -> None:
    if destination.kind == DestinationKind.TELEGRAM:
        if not settings.ALERTS_TELEGRAM_BOT_TOKEN:
            raise BadDestination("Telegram alerts need ALERTS_TELEGRAM_BOT_TOKEN on the server")
        if not destination.chat_id.strip().lstrip("-@").replace("_", "").isalnum():
            raise BadDestination(f"not a Telegram chat id: {destination.chat_id!r}")
        return
    if destination.kind not in DestinationKind.values:
        raise BadDestination(f"kind must be one of {', '.join(DestinationKind.values)}")
    check_url(destination.url)


def request_for(destination: AlertDestination, delivery: AlertDelivery) -> tuple[str, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json", "User-Agent": "stockgate-alerts"}
    if destination.kind == DestinationKind.TELEGRAM:
        url = f"{settings.ALERTS_TELEGRAM_API_URL.rstrip('/')}/bot{settings.ALERTS_TELEGRAM_BOT_TOKEN}/sendMessage"
        body: dict[str, Any] = {"chat_id": destination.chat_id, "text": delivery.text}
    elif destination.kind == DestinationKind.SLACK:
        url, body = destination.url, {"text": delivery.text}
    else:
        url = destination.url
        body = {"event": delivery.event, "text": delivery.text, "data": delivery.payload, "id": delivery.pk,
                "sent_at": timezone.localtime().isoformat()}
    data = json.dumps(body, ensure_ascii=False).encode()
    if destination.kind == DestinationKind.WEBHOOK and destination.secret:
        signature = hmac.new(destination.secret.encode(), data, hashlib.sha256).hexdigest()
        headers["X-Stockgate-Signature"] = f"sha256={signature}"
    return url, data, headers


def send(destination: AlertDestination, delivery: AlertDelivery, timeout: float = 10.0) -> None:
    if destination.kind != DestinationKind.TELEGRAM:
        check_url(destination.url)
    url, data, headers = request_for(destination, delivery)
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise SendError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code} {exc.read().decode(errors='replace')[:200]}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SendError(str(getattr(exc, "reason", exc))) from exc
