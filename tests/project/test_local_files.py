"""The run command's local files under a permissive umask (022): var/ and every secret and
database in it are the owner's only, the embedded Redis refuses clients without its
password, and the admin password is printed once, when it is made.

What must hold: no file in var/ is readable by another local user at any moment (they are
created 0600, never chmod'ed afterwards), a new SQLite file is 0600, an unauthenticated
Redis client gets NOAUTH while the URL handed to the processes works, and a second
`ensure_admin` says where the password is without printing it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.processes import REPO, free_port, manage

# Runs the run command's own helpers in a fresh interpreter (they set the process umask).
RUN_HELPERS = """
import json, os, sqlite3, sys
sys.path.insert(0, "scripts")
import run
run.make_var_private()
key = run.secret_key()
redis_proc, url = run.start_embedded_redis(int(sys.argv[1]))
sqlite3.connect(run.VAR / "stockgate.sqlite3").execute("create table if not exists t (x)")  # as migrate creates it
print(json.dumps({"pid": redis_proc.pid, "url": url, "key": key}))
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def permissive() -> None:
    os.umask(0o022)


def test_var_files_are_private_and_the_embedded_redis_needs_its_password(tmp_path: Path) -> None:
    var = tmp_path / "var"
    port = free_port()
    env = {**os.environ, "STOCKGATE_VAR_DIR": str(var)}
    result = subprocess.run([sys.executable, "-c", RUN_HELPERS, str(port)], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=60, preexec_fn=permissive)
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout.strip().splitlines()[-1])
    try:
        assert mode(var) == 0o700
        for name in ("secret_key", "redis_password", "redis.conf", "redis.log", "stockgate.sqlite3"):
            assert mode(var / name) == 0o600, name
        password = (var / "redis_password").read_text().strip()
        assert len(password) >= 32 and password in started["url"]
        # The password is never on the server's command line (`ps` shows it to every user).
        cmdline = Path(f"/proc/{started['pid']}/cmdline").read_bytes().decode()
        assert password not in cmdline

        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n")  # RESP, no AUTH: what any local process could send
            assert raw.recv(200).startswith(b"-NOAUTH"), "Redis answered a client without the password"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, socket_timeout=10).set("stolen", "1")
        assert redis.Redis.from_url(started["url"], socket_timeout=10).ping()

        # A second start keeps the same secrets and reuses the running Redis with its password.
        again = subprocess.run([sys.executable, "-c", RUN_HELPERS.replace("redis_proc.pid", "None"), str(port)],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=60, preexec_fn=permissive)
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout.strip().splitlines()[-1])
        assert second["key"] == started["key"] and second["url"] == started["url"]
    finally:
        os.killpg(started["pid"], signal.SIGTERM)


def test_an_older_var_is_made_private_at_the_next_start(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    for name in ("secret_key", "stockgate.sqlite3"):
        (var / name).write_text("x" * 60)
        (var / name).chmod(0o644)
    script = "import sys; sys.path.insert(0, 'scripts'); import run; run.make_var_private(); run.secret_key()"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "STOCKGATE_VAR_DIR": str(var)}, preexec_fn=permissive)
    assert result.returncode == 0, result.stderr
    assert mode(var) == 0o700 and mode(var / "secret_key") == 0o600 and mode(var / "stockgate.sqlite3") == 0o600


@pytest.mark.django_db(transaction=True)
def test_the_admin_password_is_printed_once_and_kept_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = manage("ensure_admin", STOCKGATE_VAR_DIR=str(var))
    assert first.returncode == 0, first.stderr
    password = (var / "admin-password.txt").read_text().strip()
    assert f"admin / {password}" in first.stdout
    assert mode(var / "admin-password.txt") == 0o600

    second = manage("ensure_admin", STOCKGATE_VAR_DIR=str(var))
    assert second.returncode == 0, second.stderr
    assert password not in second.stdout + second.stderr
    assert str(var / "admin-password.txt") in second.stdout
