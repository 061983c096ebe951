"""Send an operational alert to a Slack- or Telegram-compatible webhook.

WATCHDOG_ALERT_WEBHOOK_URL is either a Slack (or Mattermost, Discord `/slack`,
Rocket.Chat...) incoming webhook, which takes `{"text": ...}`, or a Telegram Bot API
`sendMessage` URL with the chat in its query string
(`https://api.telegram.org/bot<token>/sendMessage?chat_id=<id>`), which takes
`{"chat_id": ..., "text": ...}`. An alert that cannot be delivered is logged, never
raised: the watchdog must keep watching when the chat service is down.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import parse_qs, urlsplit

from django.conf import settings

log = logging.getLogger(__name__)


def payload_for(url: str, text: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.hostname == "api.telegram.org" or parts.path.endswith("/sendMessage"):
        body = {"text": text}
        chat = parse_qs(parts.query).get("chat_id")
        if chat:
            body["chat_id"] = chat[0]
        return body
    return {"text": text}


def send_alert(text: str, url: str | None = None, timeout: float = 5.0) -> bool:
    """POST the alert; True when the webhook answered 2xx. No URL configured: log only."""
    url = url if url is not None else settings.WATCHDOG_ALERT_WEBHOOK_URL
    if not url:
        return False
    data = json.dumps(payload_for(url, text), ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            ok = 200 <= response.status < 300
    except Exception as exc:
        log.error("alert webhook failed (%s); the alert was: %s", exc, text)
        return False
    if not ok:
        log.error("alert webhook answered %s; the alert was: %s", response.status, text)
    return ok
