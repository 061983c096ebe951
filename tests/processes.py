"""Start the project's real processes for end-to-end tests: ASGI server, worker, beat.

Each process gets the test database and the test Redis through the same environment
variables production uses, so these tests exercise the deployed code paths.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "var" / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def database_url() -> str:
    """The URL of the database the tests use right now (the test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}?conn_max_age=0"


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a child process; tuning values among `extra` (GATE_PERIOD_SECONDS=...)
    travel in STOCKGATE_TUNING, as a deployment sets them."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "stockgate.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "REALTIME_PREFIX": settings.REALTIME_PREFIX,
            "CHANNEL_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            "SECRET_KEY": settings.SECRET_KEY,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(with_tuning(env, extra))
    return env


def with_tuning(env: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """`extra` with its tuning names moved into one STOCKGATE_TUNING (merged with env's)."""
    tuning = json.loads(env.get("STOCKGATE_TUNING") or "{}")
    plain = {}
    for name, value in extra.items():
        if name in settings.TUNING_DEFAULTS:
            tuning[name] = value
        else:
            plain[name] = value
    if tuning:
        plain["STOCKGATE_TUNING"] = json.dumps(tuning)
    return plain


@dataclass
class Proc:
    name: str
    args: Sequence[str]
    env: dict[str, str]
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    def start(self, wait: float = 40.0) -> Proc:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}-{os.getpid()}-{int(time.time() * 1000)}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            list(self.args), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.port is not None:
            wait_for_port(self.port, wait, self.proc)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def procfile_command(role: str, **values: str) -> list[str]:
    """A Procfile line as the deployment runs it: ${VAR:-default} expanded (`values`
    first), `python` being this interpreter."""
    line = next(ln for ln in (REPO / "Procfile").read_text().splitlines() if ln.startswith(f"{role}:"))
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m.group(1), m.group(2)), line[len(role) + 1 :])
    args = shlex.split(line)
    return [sys.executable, *args[1:]] if args[0] == "python" else args


def web(server: str = "uvicorn", port: int | None = None, **env: str) -> Proc:
    """The web process: "uvicorn" is the Procfile's command, "daphne" the fallback server."""
    port = port or free_port()
    if server == "daphne":
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "stockgate.asgi:application"]
    else:
        args = procfile_command("web", WEB_HOST="127.0.0.1", WEB_PORT=str(port))
    return Proc(f"web-{server}-{port}", args, process_env(**env), port=port)


def worker(**env: str) -> Proc:
    args = [sys.executable, "-m", "celery", "-A", "stockgate", "worker", "--loglevel", "INFO",
            "--concurrency", "1", "--pool", "solo", "-n", f"test{free_port()}@%h", "--without-gossip",
            "--without-mingle"]
    return Proc("worker", args, process_env(**env))


def beat(**env: str) -> Proc:
    args = [sys.executable, "-m", "celery", "-A", "stockgate", "beat", "--loglevel", "INFO",
            "-S", "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile", str(LOGS / f"beat-{free_port()}.pid")]
    return Proc("beat", args, process_env(**env))


def manage(*args: str, timeout: float = 120.0, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=process_env(**env), capture_output=True, text=True,
        timeout=timeout,
    )
