"""The README's run command, as a user runs it: embedded Redis, SQLite, demo data.

What must hold: the page answers, admin lists the models and the schedules, a
WebSocket client gets a gate update after the next computation, and Ctrl-C stops
every process it started, the Redis included. Under a permissive umask (022) var/, the
SQLite database and the secrets are the owner's only, the embedded Redis refuses
clients without its password, and a second start does not print the admin password.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
import websockets

from tests.processes import LOGS, REPO, free_port

pytestmark = [pytest.mark.e2e]


def _get(opener: urllib.request.OpenerDirector, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _next_live_gate(port: int, timeout: float) -> dict:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws?subscribe=market-gate") as ws:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic())))
            if frame.get("type") == "market_gate_update" and not frame.get("snapshot"):
                return frame
    raise AssertionError("no market_gate_update after the next computation")


def test_run_command_serves_everything_and_ctrl_c_stops_it_all(tmp_path: Path) -> None:
    web_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(STOCKGATE_VAR_DIR=str(tmp_path), WEB_PORT=str(web_port), EMBEDDED_REDIS_PORT=str(redis_port),
               STOCKGATE_TUNING=json.dumps({"GATE_PERIOD_SECONDS": 5}), PYTHONUNBUFFERED="1")
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"run-{web_port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=lambda: os.umask(0o022))
    try:
        started = time.monotonic()
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        while True:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() - started < 120, "the page did not answer within 2 minutes"
            if _listening(web_port):
                status, _ = _get(opener, f"http://127.0.0.1:{web_port}/")
                if status == 200:
                    break
            time.sleep(0.5)
        output = log_path.read_text()
        assert f"http://127.0.0.1:{web_port}/" in output
        password = re.search(r"admin login: admin / (\S+)", output).group(1)

        status, page = _get(opener, f"http://127.0.0.1:{web_port}/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, page = _get(opener, f"http://127.0.0.1:{web_port}/admin/login/?next=/admin/",
                            {"username": "admin", "password": password, "csrfmiddlewaretoken": token,
                             "next": "/admin/"})
        assert status == 200
        for model in ("Market gates", "Signals", "Scan runs", "Periodic tasks"):
            assert model in page, model
        status, page = _get(opener, f"http://127.0.0.1:{web_port}/admin/django_celery_beat/periodictask/")
        assert "update-market-gate" in page and "scan-vcp" in page

        assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
        for name in ("stockgate.sqlite3", "secret_key", "admin-password.txt", "redis_password"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=10).ping()

        frame = asyncio.run(_next_live_gate(web_port, timeout=60))
        assert frame["topic"] == "market-gate" and isinstance(frame["seq"], int) and frame["epoch"]
        assert frame["data"]["status"] in ("GREEN", "YELLOW", "RED")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_listening(web_port) or _listening(redis_port)):
        time.sleep(0.2)
    assert not _listening(web_port), "web still running after Ctrl-C"
    assert not _listening(redis_port), "embedded Redis still running after Ctrl-C"
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert not left, f"processes left behind: {left}"
    # The next start's admin step names the password's file, never the password.
    again = subprocess.run([sys.executable, "manage.py", "ensure_admin"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert password not in again.stdout + again.stderr and "admin-password.txt" in again.stdout
