"""A local stand-in for the KIS Open API: REST login and the realtime WebSocket.

It replays the recorded frames in tests/fixtures/kis/ and records what clients do:
logins, registrations, pongs, and how many sessions are open at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kis"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def trade_frames() -> list[str]:
    return [line for line in fixture("trades.txt").splitlines() if line]


def frame_tickers(frame: str) -> set[str]:
    _, _, count, payload = frame.split("|", 3)
    fields = payload.split("^")
    per = len(fields) // int(count)
    return {fields[i * per] for i in range(int(count))}


@dataclass
class Recorder:
    approvals: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # registration JSON as received
    connects: list[float] = field(default_factory=list)  # monotonic times
    pongs: list[bytes] = field(default_factory=list)
    open_now: int = 0
    max_open: int = 0


class KisServer:
    """Run with `async with KisServer() as kis:` (inside a test's loop) or start_in_thread()."""

    def __init__(
        self, *, token_expires_in: int = 86400, drop_after: int | None = None, pingpong_every: int = 2,
        reject_keys: set[str] | None = None, frame_interval: float = 0.01, repeat: bool = False,
    ) -> None:
        self.rec = Recorder()
        self.token_expires_in = token_expires_in
        self.drop_after = drop_after
        self.pingpong_every = pingpong_every
        self.reject_keys = reject_keys or set()
        self.frame_interval = frame_interval
        self.repeat = repeat
        self._http: ThreadingHTTPServer | None = None
        self._ws: Any = None
        self.ws_url = ""
        self.rest_url = ""

    # --- REST ---

    def _start_http(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if self.path == "/oauth2/Approval":
                    server.rec.approvals.append(body)
                    reply = json.loads(fixture("approval.json"))
                    reply["approval_key"] = f"{reply['approval_key']}-{len(server.rec.approvals)}"
                elif self.path == "/oauth2/tokenP":
                    server.rec.tokens.append(body)
                    reply = json.loads(fixture("token.json"))
                    reply["access_token"] = f"{reply['access_token']}-{len(server.rec.tokens)}"
                    reply["expires_in"] = server.token_expires_in
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.rest_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    # --- WebSocket ---

    async def _handler(self, ws: ServerConnection) -> None:
        rec = self.rec
        rec.connects.append(time.monotonic())
        rec.open_now += 1
        rec.max_open = max(rec.max_open, rec.open_now)
        registered: set[str] = set()
        sent = 0
        frames = trade_frames()
        cursor = 0
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=self.frame_interval)
                except TimeoutError:
                    raw = None
                if raw is not None:
                    request = json.loads(raw)
                    rec.requests.append(request)
                    header, item = request["header"], request["body"]["input"]
                    if header["approval_key"] in self.reject_keys:
                        ack = json.loads(fixture("ack_invalid_approval.json"))
                    elif header["tr_type"] == "1":
                        registered.add(item["tr_key"])
                        ack = json.loads(fixture("ack_subscribe.json"))
                    else:
                        registered.discard(item["tr_key"])
                        ack = json.loads(fixture("ack_unsubscribe.json"))
                    ack["header"]["tr_key"] = item["tr_key"]
                    await ws.send(json.dumps(ack))
                    continue
                if not registered:
                    continue
                if cursor >= len(frames):
                    if not self.repeat:
                        continue
                    cursor = 0
                frame = frames[cursor]
                cursor += 1
                if frame_tickers(frame) & registered:
                    await ws.send(frame)
                    sent += 1
                    if self.pingpong_every and sent % self.pingpong_every == 0:
                        await ws.send(fixture("pingpong.json"))
                    if self.drop_after is not None and sent >= self.drop_after:
                        await ws.close(code=1011, reason="upstream restart")
                        return
        except ConnectionClosed:
            pass
        finally:
            rec.open_now -= 1

    async def __aenter__(self) -> KisServer:
        self._start_http()
        recorder = self.rec

        class Recording(ServerConnection):
            def acknowledge_pings(self, data: bytes) -> None:
                recorder.pongs.append(bytes(data))
                super().acknowledge_pings(data)

        self._ws = await serve(self._handler, "127.0.0.1", 0, create_connection=Recording)
        port = next(iter(self._ws.sockets)).getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self._ws.wait_closed()
        if self._http is not None:
            self._http.shutdown()

    def start_in_thread(self) -> KisServer:
        """For end-to-end tests whose test function is synchronous."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.__aenter__())
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        asyncio.run_coroutine_threadsafe(self.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
