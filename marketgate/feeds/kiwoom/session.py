"""Kiwoom Securities REST API: realtime stock trades and index values over WebSocket.

Login is one REST call, POST /oauth2/token with the app key and secret key, which
returns an access token and its expiry (`expires_dt`, KST). The token is reused until
shortly before it expires. The session is one WebSocket: the client's first frame is
LOGIN with the token; stocks are then registered (REG) and released (REMOVE) one at a
time in group 1 as type 0B (주식체결), and the KOSPI/KOSDAQ indices once per session in
group 2 as type 0J (업종지수). The server's PING is sent back unchanged. Answers to REG
and REMOVE do not name the item, so they are matched to requests in order.

Reconnects, the single-session lock, demand and the registration limit are the
runner's (marketgate.feeds.supervisor), exactly as for the KIS feed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from websockets.exceptions import ConnectionClosed

from marketgate.calendar import KST
from marketgate.feeds.base import CredentialsExpired, FeedDisconnected, FeedError, IndexTick, Tick
from marketgate.feeds.kis.session import Credential
from marketgate.feeds.kiwoom import frames as kf
from marketgate.feeds.rest import connect_websocket, post_json

log = logging.getLogger(__name__)

SOURCE = "kiwoom"


class KiwoomAuth:
    """The access token, issued on demand and renewed before it expires."""

    def __init__(
        self, rest_url: str, app_key: str, secret_key: str, *,
        monotonic: Callable[[], float] = time.monotonic, wall_clock: Callable[[], datetime] = lambda: datetime.now(KST),
    ) -> None:
        if not (app_key and secret_key):
            raise FeedError("KIWOOM_APP_KEY and KIWOOM_SECRET_KEY must be set for PRICE_FEED=kiwoom")
        self.rest_url = rest_url.rstrip("/")
        self.app_key, self.secret_key = app_key, secret_key
        self.monotonic, self.wall_clock = monotonic, wall_clock
        self.token: Credential | None = None
        self.token_issues = 0

    async def access_token(self) -> str:
        if self.token is None or self.monotonic() >= self.token.expires_at:
            body = await asyncio.to_thread(
                _post_json, self.rest_url + "/oauth2/token",
                {"grant_type": "client_credentials", "appkey": self.app_key, "secretkey": self.secret_key},
            )
            token = body.get("token")
            if str(body.get("return_code", 0)) != "0" or not token:
                raise CredentialsExpired(f"Kiwoom token refused: {body.get('return_code')} {body.get('return_msg', '')}"[:200])
            lifetime = self._lifetime(str(body.get("expires_dt", "")))
            # Renew a little early (at most five minutes, at most a tenth of the lifetime).
            self.token = Credential(str(token), self.monotonic() + lifetime - min(300.0, lifetime / 10))
            self.token_issues += 1
        return self.token.value

    def _lifetime(self, expires_dt: str) -> float:
        try:
            expires = datetime.strptime(expires_dt, "%Y%m%d%H%M%S").replace(tzinfo=KST)
        except ValueError:
            return 3600.0  # no usable expiry: ask again within the hour
        return max(60.0, (expires - self.wall_clock()).total_seconds())

    def forget(self) -> None:
        self.token = None


def _post_json(url: str, payload: dict[str, str], timeout: float = 10.0) -> dict[str, Any]:
    return post_json("Kiwoom", url, payload, headers={"content-type": "application/json;charset=UTF-8", "api-id": "au10001"}, timeout=timeout)


class KiwoomSession:
    def __init__(self, ws: Any, auth: KiwoomAuth, *, idle_seconds: float, ack_seconds: float,
                 wall_clock: Callable[[], datetime]) -> None:
        self.ws = ws
        self.auth = auth
        self.idle_seconds = idle_seconds
        self.ack_seconds = ack_seconds
        self.wall_clock = wall_clock
        self.pending: dict[str, collections.deque[asyncio.Future[kf.Control]]] = collections.defaultdict(collections.deque)
        self.heartbeats = 0

    # --- set-up, before the reader runs ---

    async def start(self, token: str) -> None:
        """LOGIN, then the index registrations; both answered before any data is read."""
        await self._send(kf.login(token))
        answer = await self._control(kf.LOGIN)
        if not answer.ok:
            self.auth.forget()
            raise CredentialsExpired(f"Kiwoom refused the login: {answer.return_code} {answer.return_msg}")
        await self._send(kf.registration(kf.REG, list(kf.INDEX_ITEMS), kf.INDEX_TYPE, kf.INDEX_GROUP))
        answer = await self._control(kf.REG)
        if not answer.ok:
            log.error("Kiwoom refused the index registration: %s %s", answer.return_code, answer.return_msg)

    async def _control(self, trnm: str) -> kf.Control:
        deadline = time.monotonic() + self.ack_seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                text = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                raise FeedDisconnected(f"Kiwoom closed the connection during {trnm}: {exc}") from exc
            frame = self._parse(text)
            if isinstance(frame, kf.Heartbeat):
                await self._pong(frame)
            elif isinstance(frame, kf.Control) and frame.trnm == trnm:
                return frame
        raise FeedDisconnected(f"Kiwoom did not answer {trnm} within {self.ack_seconds:.0f}s")

    # --- registrations ---

    async def register(self, ticker: str) -> None:
        await self._request(kf.REG, ticker)

    async def release(self, ticker: str) -> None:
        await self._request(kf.REMOVE, ticker)

    async def _request(self, trnm: str, ticker: str) -> None:
        future: asyncio.Future[kf.Control] = asyncio.get_running_loop().create_future()
        self.pending[trnm].append(future)
        try:
            await self._send(kf.registration(trnm, [ticker], kf.TRADE_TYPE, kf.STOCK_GROUP))
            answer = await asyncio.wait_for(future, timeout=self.ack_seconds)
        except TimeoutError:
            log.warning("Kiwoom: no answer to %s %s within %.0fs", trnm, ticker, self.ack_seconds)
            return
        finally:
            if future in self.pending[trnm]:
                self.pending[trnm].remove(future)
        if not answer.ok:
            log.error("Kiwoom refused %s %s: %s %s", trnm, ticker, answer.return_code, answer.return_msg)

    # --- data ---

    async def ticks(self) -> AsyncIterator[Tick | IndexTick]:
        while True:
            try:
                text = await asyncio.wait_for(self.ws.recv(), timeout=self.idle_seconds)
            except TimeoutError:
                raise FeedDisconnected(f"no frame (data or PING) in {self.idle_seconds:.0f}s") from None
            except ConnectionClosed as exc:
                raise FeedDisconnected(f"Kiwoom closed the connection: {exc}") from exc
            frame = self._parse(text)
            if isinstance(frame, kf.Heartbeat):
                await self._pong(frame)
            elif isinstance(frame, kf.Control):
                self._resolve(frame)
            elif isinstance(frame, kf.Real):
                now = self.wall_clock()
                for entry in frame.entries:
                    tick = self._tick(entry, now)
                    if tick is not None:
                        yield tick

    def _tick(self, entry: dict[str, Any], now: datetime) -> Tick | IndexTick | None:
        kind = str(entry.get("type", ""))
        try:
            if kind == kf.TRADE_TYPE:
                return kf.trade_tick(entry, now, SOURCE)
            if kind == kf.INDEX_TYPE:
                return kf.index_tick(entry, now, SOURCE)
        except (kf.FrameError, ValueError) as exc:
            log.warning("Kiwoom: ignoring a malformed %s entry (%s): %r", kind, exc, str(entry)[:120])
        return None

    def _resolve(self, frame: kf.Control) -> None:
        if frame.trnm == kf.LOGIN and not frame.ok:
            self.auth.forget()
            raise CredentialsExpired(f"Kiwoom ended the login: {frame.return_code} {frame.return_msg}")
        waiting = self.pending.get(frame.trnm)
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_result(frame)
                return
        if not frame.ok:
            log.warning("Kiwoom: unsolicited %s error %s %s", frame.trnm, frame.return_code, frame.return_msg)

    def _parse(self, text: str | bytes) -> kf.Frame | None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        try:
            return kf.parse(text)
        except kf.FrameError:
            log.warning("Kiwoom: ignoring a malformed frame %r", text[:120])
            return None

    async def _pong(self, frame: kf.Heartbeat) -> None:
        self.heartbeats += 1
        await self._send(frame.raw)

    async def _send(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise FeedDisconnected(f"Kiwoom closed the connection: {exc}") from exc

    async def close(self) -> None:
        for waiting in self.pending.values():
            for future in waiting:
                future.cancel()
        await self.ws.close()


class KiwoomFeed:
    source = SOURCE
    streams_index = True

    def __init__(
        self, *, ws_url: str | None = None, rest_url: str | None = None, app_key: str | None = None,
        secret_key: str | None = None, idle_seconds: float = 60.0, ack_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic, wall_clock: Callable[[], datetime] = lambda: datetime.now(KST),
    ) -> None:
        self.ws_url = ws_url or settings.KIWOOM_WS_URL
        self.auth = KiwoomAuth(
            rest_url or settings.KIWOOM_REST_URL, app_key if app_key is not None else settings.KIWOOM_APP_KEY,
            secret_key if secret_key is not None else settings.KIWOOM_SECRET_KEY, monotonic=monotonic,
            wall_clock=wall_clock,
        )
        self.max_registrations = settings.PRICE_MAX_REGISTRATIONS
        self.idle_seconds = idle_seconds
        self.ack_seconds = ack_seconds
        self.wall_clock = wall_clock
        self.connects = 0

    async def open(self) -> KiwoomSession:
        token = await self.auth.access_token()
        ws = await connect_websocket(self.ws_url)
        self.connects += 1
        session = KiwoomSession(ws, self.auth, idle_seconds=self.idle_seconds, ack_seconds=self.ack_seconds,
                                wall_clock=self.wall_clock)
        try:
            await session.start(token)
        except BaseException:
            await ws.close()
            raise
        return session
