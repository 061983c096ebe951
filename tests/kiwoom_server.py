"""A local stand-in for the Kiwoom REST API: the token call and the realtime WebSocket.

It replays tests/fixtures/kiwoom/real.jsonl (hand-written in Kiwoom's documented format,
not captures) to a client that logged in with the token it issued, only the entries of
items the client registered, each stamped with the current time as a live session is.
It records logins, registrations and PING echoes; it can refuse logins and drop the
connection after a number of frames. Lifecycle and recording come from KisServer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from marketgate.calendar import KST
from tests.kis_server import KisServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kiwoom"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def real_frames() -> list[dict[str, Any]]:
    return [json.loads(line) for line in fixture("real.jsonl").splitlines() if line.strip()]


class KiwoomServer(KisServer):
    def __init__(self, *, refuse_logins: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refuse_logins = refuse_logins  # refuse this many LOGINs first (an expired token)
        self.logins: list[str] = []
        self.issued: list[str] = []

    def _start_http(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if self.path != "/oauth2/token":
                    self.send_response(404)
                    self.end_headers()
                    return
                server.rec.tokens.append({**body, "api-id": self.headers.get("api-id")})
                reply = json.loads(fixture("token.json"))
                reply["token"] = f"{reply['token']}-{len(server.rec.tokens)}"
                server.issued.append(reply["token"])
                data = json.dumps(reply, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json;charset=UTF-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.rest_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    async def _handler(self, ws: ServerConnection) -> None:
        rec = self.rec
        rec.connects.append(asyncio.get_running_loop().time())
        rec.open_now += 1
        rec.max_open = max(rec.max_open, rec.open_now)
        try:
            if not await self._login(ws):
                return
            await self._serve(ws)
        except ConnectionClosed:
            pass
        finally:
            rec.open_now -= 1

    async def _login(self, ws: ServerConnection) -> bool:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        self.logins.append(str(first.get("token")))
        if first.get("trnm") != "LOGIN" or first.get("token") not in self.issued or self.refuse_logins > 0:
            self.refuse_logins -= 1
            await ws.send(fixture("login_refused.json"))
            await ws.close()
            return False
        await ws.send(fixture("login_ok.json"))
        return True

    async def _serve(self, ws: ServerConnection) -> None:
        registered: dict[str, set[str]] = {"0B": set(), "0J": set()}
        frames, cursor, sent = real_frames(), 0, 0
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=self.frame_interval)
            except TimeoutError:
                raw = None
            if raw is not None:
                self._answer(json.loads(raw), registered)
                reply = self._reply(json.loads(raw))
                if reply:
                    await ws.send(reply)
                continue
            if cursor >= len(frames):
                if not self.repeat:
                    continue
                cursor = 0
            frame = self._stamped(frames[cursor], registered)
            cursor += 1
            if frame is None:
                continue
            await ws.send(json.dumps(frame, ensure_ascii=False))
            sent += 1
            if self.pingpong_every and sent % self.pingpong_every == 0:
                await ws.send(fixture("ping.json"))
            if self.drop_after is not None and sent >= self.drop_after:
                await ws.close(code=1011, reason="upstream restart")
                return

    def _answer(self, request: dict[str, Any], registered: dict[str, set[str]]) -> None:
        trnm = request.get("trnm")
        if trnm == "PING":
            self.rec.pongs.append(json.dumps(request).encode())
            return
        self.rec.requests.append(request)
        for block in request.get("data", []):
            for kind in block.get("type", []):
                items = set(block.get("item", []))
                if trnm == "REG":
                    registered.setdefault(kind, set()).update(items)
                elif trnm == "REMOVE":
                    registered.setdefault(kind, set()).difference_update(items)

    def _reply(self, request: dict[str, Any]) -> str | None:
        return {"REG": fixture("reg_ok.json"), "REMOVE": fixture("remove_ok.json")}.get(str(request.get("trnm")))

    def _stamped(self, frame: dict[str, Any], registered: dict[str, set[str]]) -> dict[str, Any] | None:
        now = datetime.now(KST).strftime("%H%M%S")
        entries = []
        for entry in copy.deepcopy(frame["data"]):
            item = str(entry["item"]).split("_")[0]
            if item in registered.get(entry["type"], set()) or (entry["type"] not in registered and entries):
                if "20" in entry["values"]:
                    entry["values"]["20"] = now
                entries.append(entry)
        return {**frame, "data": entries} if entries else None
