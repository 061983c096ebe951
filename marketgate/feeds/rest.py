"""The brokers' REST calls the feeds make (tokens, approval keys): JSON in, JSON out.

A refusal of the credentials (401/403) is CredentialsExpired, so the runner fetches new
ones; anything else is a FeedError, retried with the usual backoff.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from marketgate.feeds.base import CredentialsExpired, FeedError


def post_json(broker: str, url: str, payload: dict[str, str], *, headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"content-type": "application/json; charset=utf-8", "accept": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        if exc.code in (401, 403):
            raise CredentialsExpired(f"{broker} {url} refused: HTTP {exc.code} {detail}") from exc
        raise FeedError(f"{broker} {url}: HTTP {exc.code} {detail}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise FeedError(f"{broker} {url}: {exc}") from exc


async def connect_websocket(url: str) -> Any:
    """The brokers' realtime socket, with the limits every feed uses; a refusal is FeedDisconnected."""
    import websockets
    from websockets.exceptions import InvalidHandshake

    from marketgate.feeds.base import FeedDisconnected

    try:
        return await websockets.connect(
            url, open_timeout=10, ping_interval=20, ping_timeout=20, close_timeout=5, max_size=2**20, max_queue=256,
        )
    except (TimeoutError, OSError, InvalidHandshake) as exc:
        raise FeedDisconnected(f"cannot connect to {url}: {exc}") from exc
