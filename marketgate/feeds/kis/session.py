"""Korea Investment & Securities (KIS) Open API realtime trades over WebSocket.

Login is two REST calls: POST /oauth2/Approval gives the WebSocket approval key,
POST /oauth2/tokenP the REST access token (expires_in seconds; KIS allows about one
issue a minute, so a token is reused until shortly before it expires). The session
is one WebSocket; each ticker is registered with a JSON request (tr_id H0STCNT0,
tr_type "1" register, "2" release) that the server acknowledges, trades arrive as
'^'-delimited records (kis_frames), and the server's PINGPONG heartbeat is answered
with a pong carrying the same text, as KIS's reference client does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from websockets.exceptions import ConnectionClosed

from marketgate.feeds.base import CredentialsExpired, FeedDisconnected, FeedError, Tick
from marketgate.feeds.kis import frames as kf
from marketgate.feeds.rest import connect_websocket, post_json

log = logging.getLogger(__name__)


@dataclass
class Credential:
    value: str
    expires_at: float  # monotonic seconds


class KisAuth:
    """Approval key and access token, issued on demand and refreshed before expiry."""

    def __init__(
        self, rest_url: str, app_key: str, app_secret: str, *,
        monotonic: Callable[[], float] = time.monotonic, approval_lifetime: float = 23 * 3600,
    ) -> None:
        if not (app_key and app_secret):
            raise FeedError("KIS_APP_KEY and KIS_APP_SECRET must be set for PRICE_FEED=kis")
        self.rest_url = rest_url.rstrip("/")
        self.app_key, self.app_secret = app_key, app_secret
        self.monotonic = monotonic
        self.approval_lifetime = approval_lifetime
        self.approval: Credential | None = None
        self.token: Credential | None = None
        self.logins = 0
        self.token_issues = 0

    async def approval_key(self) -> str:
        if self.approval is None or self.monotonic() >= self.approval.expires_at:
            body = await self._post("/oauth2/Approval", {"grant_type": "client_credentials", "appkey": self.app_key, "secretkey": self.app_secret})
            key = body.get("approval_key")
            if not key:
                raise FeedError(f"KIS approval refused: {_summary(body)}")
            self.approval = Credential(str(key), self.monotonic() + self.approval_lifetime)
            self.logins += 1
        return self.approval.value

    async def access_token(self) -> str:
        if self.token is None or self.monotonic() >= self.token.expires_at:
            body = await self._post("/oauth2/tokenP", {"grant_type": "client_credentials", "appkey": self.app_key, "appsecret": self.app_secret})
            token = body.get("access_token")
            if not token:
                raise FeedError(f"KIS token refused: {_summary(body)}")
            lifetime = float(body.get("expires_in") or 86400)
            # Renew a little early (at most five minutes, at most a tenth of the lifetime).
            self.token = Credential(str(token), self.monotonic() + lifetime - min(300.0, lifetime / 10))
            self.token_issues += 1
        return self.token.value

    def forget_approval(self) -> None:
        self.approval = None

    async def _post(self, path: str, payload: dict[str, str]) -> dict[str, Any]:
        return await asyncio.to_thread(_post_json, self.rest_url + path, payload)


def _summary(body: dict[str, Any]) -> str:
    return str({k: v for k, v in body.items() if "key" not in k and "token" not in k and "secret" not in k})[:200]


def _post_json(url: str, payload: dict[str, str], timeout: float = 10.0) -> dict[str, Any]:
    return post_json("KIS", url, payload, timeout=timeout)


class KisSession:
    def __init__(self, ws: Any, auth: KisAuth, approval_key: str, *, custtype: str, idle_seconds: float, ack_seconds: float) -> None:
        self.ws = ws
        self.auth = auth
        self.approval_key = approval_key
        self.custtype = custtype
        self.idle_seconds = idle_seconds
        self.ack_seconds = ack_seconds
        self.acks: dict[tuple[str, str], asyncio.Future[kf.Ack]] = {}
        self.heartbeats = 0
        self.last_frame_at = time.monotonic()

    async def register(self, ticker: str) -> None:
        await self._request(kf.REGISTER, ticker)

    async def release(self, ticker: str) -> None:
        await self._request(kf.RELEASE, ticker)

    async def _request(self, tr_type: str, ticker: str) -> None:
        key = (ticker, tr_type)
        future: asyncio.Future[kf.Ack] = asyncio.get_running_loop().create_future()
        self.acks[key] = future
        try:
            await self.ws.send(kf.registration(self.approval_key, self.custtype, tr_type, ticker))
            ack = await asyncio.wait_for(future, timeout=self.ack_seconds)
        except ConnectionClosed as exc:
            raise FeedDisconnected(f"connection closed while registering {ticker}: {exc}") from exc
        except TimeoutError:
            log.warning("KIS: no ack for %s %s within %.0fs", "register" if tr_type == kf.REGISTER else "release", ticker, self.ack_seconds)
            return
        finally:
            self.acks.pop(key, None)
        if ack.ok or ack.already:
            return
        if ack.bad_credentials:
            self.auth.forget_approval()
            raise CredentialsExpired(f"KIS refused the approval key: {ack.msg_cd} {ack.msg}")
        if ack.key_in_use:
            raise FeedError(f"KIS: the app key is in use by another session: {ack.msg}")
        log.error("KIS refused %s %s: %s %s", "registering" if tr_type == kf.REGISTER else "releasing", ticker, ack.msg_cd, ack.msg)

    def _resolve(self, ack: kf.Ack) -> None:
        tr_type = kf.RELEASE if ack.is_release else kf.REGISTER
        future = self.acks.get((ack.tr_key, tr_type))
        if future is None and not ack.ok:
            # Errors do not always say which request they answer: give it to the oldest.
            future = next(iter(self.acks.values()), None)
        if future is not None and not future.done():
            future.set_result(ack)
        elif not ack.ok:
            log.warning("KIS: unsolicited error %s %s", ack.msg_cd, ack.msg)

    async def ticks(self) -> AsyncIterator[Tick]:
        while True:
            try:
                text = await asyncio.wait_for(self.ws.recv(), timeout=self.idle_seconds)
            except TimeoutError:
                raise FeedDisconnected(f"no frame (trade or PINGPONG) in {self.idle_seconds:.0f}s") from None
            except ConnectionClosed as exc:
                raise FeedDisconnected(f"KIS closed the connection: {exc}") from exc
            self.last_frame_at = time.monotonic()
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            try:
                frame = kf.parse(text)
            except kf.FrameError:
                log.warning("KIS: ignoring a malformed frame %r", text[:120])
                continue
            if isinstance(frame, kf.Heartbeat):
                self.heartbeats += 1
                try:
                    await self.ws.pong(frame.raw.encode())
                except ConnectionClosed as exc:
                    raise FeedDisconnected(f"KIS closed the connection: {exc}") from exc
            elif isinstance(frame, kf.Ack):
                self._resolve(frame)
            elif frame.tr_id == kf.TRADES and not frame.encrypted:
                for record in frame.records:
                    try:
                        yield kf.trade_tick(record)
                    except (kf.FrameError, ValueError):
                        log.warning("KIS: ignoring a malformed trade record %r", "^".join(record)[:120])

    async def close(self) -> None:
        for future in self.acks.values():
            future.cancel()
        await self.ws.close()


class KisFeed:
    source = "kis"

    def __init__(
        self, *, ws_url: str | None = None, rest_url: str | None = None, app_key: str | None = None,
        app_secret: str | None = None, idle_seconds: float = 60.0, ack_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ws_url = ws_url or settings.KIS_WS_URL
        self.auth = KisAuth(
            rest_url or settings.KIS_REST_URL, app_key if app_key is not None else settings.KIS_APP_KEY,
            app_secret if app_secret is not None else settings.KIS_APP_SECRET, monotonic=monotonic,
        )
        self.custtype = settings.KIS_CUSTTYPE
        self.max_registrations = settings.PRICE_MAX_REGISTRATIONS
        self.idle_seconds = idle_seconds
        self.ack_seconds = ack_seconds
        self.connects = 0

    async def open(self) -> KisSession:
        await self.auth.access_token()
        approval = await self.auth.approval_key()
        ws = await connect_websocket(self.ws_url)
        self.connects += 1
        return KisSession(ws, self.auth, approval, custtype=self.custtype, idle_seconds=self.idle_seconds, ack_seconds=self.ack_seconds)
