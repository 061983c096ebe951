"""A fresh `python3 scripts/run.py`, as a new user starts it: within 30 s the page shows a
scan of the demo's last closed session (under that session's final gate) and the
PRICE_WATCHLIST tickers with their names. Then the run command's own process gets
`kill -INT` (not the group): everything stops promptly, and no child was left a zombie.
Along the way: honcho's line prefixes are KST, /favicon.ico answers, static files log no
ASGI warning, and manage.py in that checkout uses the generated key (no W002)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.processes import LOGS, REPO, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FIRST_SCREEN_SECONDS = float(os.environ.get("FIRST_SCREEN_SECONDS", "30"))


class FirstScreenClock:
    """30 s from start on a machine with its cores to itself, as a new user starts it.
    Inside the full suite the same two cores also run other tests' servers, browsers and
    containers, and seeding the demo market is CPU-bound: the bound stretches by the
    highest run-queue excess over the cores seen while waiting (1-minute load average
    per core), never below the goal."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.worst_per_core = 1.0

    def bound(self) -> float:
        self.worst_per_core = max(self.worst_per_core, os.getloadavg()[0] / (os.cpu_count() or 1))
        return FIRST_SCREEN_SECONDS * self.worst_per_core

    def left_ms(self) -> float:
        return (self.bound() - (time.monotonic() - self.started)) * 1000

    def wait(self, what: str, probe) -> None:  # type: ignore[no-untyped-def]
        """Calls probe(timeout_ms) in slices until it succeeds or the stretched bound passes."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        while True:
            left = self.left_ms()
            try:
                probe(max(500, min(3_000, left)))
                return
            except PlaywrightTimeout:
                if left <= 0:
                    raise AssertionError(
                        f"{what}: not shown within {self.bound():.0f} s ({FIRST_SCREEN_SECONDS:.0f} s x the worst "
                        f"load per core seen, {self.worst_per_core:.1f})") from None


def _children(pid: int) -> list[tuple[int, str]]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid=,stat="], capture_output=True, text=True).stdout
    return [(int(p), s) for p, s in (line.split() for line in out.splitlines() if line.strip())]


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(600)
def test_fresh_run_shows_a_scan_and_a_named_watchlist_then_kill_int_stops_it(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    web_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "TZ")}
    env.update(STOCKGATE_VAR_DIR=str(tmp_path), WEB_PORT=str(web_port), EMBEDDED_REDIS_PORT=str(redis_port),
               PYTHONUNBUFFERED="1", PRICE_WATCHLIST="005930,000660")
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"run-first-{web_port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    clock = FirstScreenClock()
    try:
        while not _listening(web_port):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() - started < 120, "the page did not answer within 2 minutes"
            time.sleep(0.3)
        context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
        page = context.new_page()
        page.set_default_navigation_timeout(90_000)
        page.goto(f"http://127.0.0.1:{web_port}/")
        clock.wait("the demo scan's signals",
                   lambda ms: page.wait_for_selector("#signal-rows tr[data-ticker]", timeout=ms))
        clock.wait("the named watchlist", lambda ms: page.wait_for_function("""['005930', '000660'].every((t) => {
            const name = document.querySelector(`#watch-rows tr[data-ticker='${t}'] .name`);
            return name && !name.classList.contains('missing'); })""", timeout=ms))
        elapsed = time.monotonic() - started
        print(f"first screen with signals and a named watchlist after {elapsed:.1f} s "
              f"(bound {clock.bound():.0f} s, worst load per core {clock.worst_per_core:.1f})")
        names = page.locator("#watch-rows .name").all_inner_texts()
        assert all(not re.fullmatch(r"[0-9A-Z]{6}", n) for n in names), names  # a name, not the code again
        # The scan ran under its session's own final gate, never "gate unknown".
        page.locator("#signal-rows button.expand").first.click()
        assert "unknown" not in page.locator("#signal-rows .reasons-row").inner_text().lower()
        page.wait_for_timeout(1_000)  # static files and sockets have been served meanwhile

        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/favicon.ico", timeout=10) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("image/")
        check = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, capture_output=True, text=True,
                               env={**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}, timeout=120)
        assert check.returncode == 0 and "W002" not in check.stdout + check.stderr, check.stderr[-2000:]

        # The seeding child has finished by now and was reaped: no zombie.
        assert not [c for c in _children(proc.pid) if c[1].startswith("Z")], _children(proc.pid)
        output = log_path.read_text()
        assert "StreamingHttpResponse" not in output
        stamps = re.findall(r"^(\d\d):(\d\d):\d\d (?:web|worker|beat|feed)\.1 ", output, re.M)
        assert stamps, output[-2000:]
        kst = datetime.now(ZoneInfo("Asia/Seoul"))
        hour, minute = (int(x) for x in stamps[-1])
        assert abs((kst.hour * 60 + kst.minute) - (hour * 60 + minute)) % 1440 <= 3, (stamps[-1], kst)
        context.close()
    finally:
        interrupted = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)  # the run command's own process, not its group
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert time.monotonic() - interrupted < 15, "kill -INT took too long"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_listening(web_port) or _listening(redis_port)):
        time.sleep(0.2)
    assert not _listening(web_port) and not _listening(redis_port)
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert not left, f"processes left behind: {left}"
