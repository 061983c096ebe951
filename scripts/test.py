"""Run the whole test suite: `python3 scripts/test.py [pytest args]`.

Installs what the tests need (virtualenv with requirements-dev.txt; Debian's Chromium
for the browser tests, Debian's nodejs for the dashboard modules' `node --test` unit
tests, Debian's nginx for the reverse-proxy test, and Docker's engine, docker-compose
and debootstrap for the compose-stack test, when they are missing and we may install
them), makes sure the local PostgreSQL and Redis answer (starting them when this
machine knows how), then runs pytest against them. The compose-stack test starts (and
stops) dockerd itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, ensure_venv, in_venv

PG_START = "pg_ctlcluster --skip-systemctl-redirect {version} main start"
REDIS_START = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _listening(port):
            return
        time.sleep(0.5)
    raise SystemExit(f"{what} is not answering on port {port}; start it and run again")


def ensure_postgres() -> None:
    if _listening(5432) or os.environ.get("DATABASE_URL", "").startswith("sqlite"):
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions and shutil.which("pg_ctlcluster"):
        print("starting PostgreSQL", flush=True)
        subprocess.run(PG_START.format(version=versions[-1]), shell=True, check=False)
    _wait(5432, "PostgreSQL")


def ensure_redis() -> None:
    if _listening(6379):
        return
    if shutil.which("redis-server"):
        print("starting Redis", flush=True)
        os.makedirs("/var/lib/redis", exist_ok=True)
        os.makedirs("/var/log/redis", exist_ok=True)
        subprocess.run(REDIS_START, shell=True, check=False)
    _wait(6379, "Redis")


def ensure_debian_package(command: str, package: str, purpose: str) -> None:
    """Installs Debian's `package` when `command` is missing and we are root with apt-get."""
    if shutil.which(command) or os.environ.get("STOCKGATE_SKIP_BROWSER_INSTALL"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing Debian's {package} for {purpose}", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, env=env)
    if not shutil.which(command):
        print(f"warning: {package} is not installed; {purpose} will fail", flush=True)


# The compose-stack test (tests/project/test_docker_stack.py): engine, compose client, base image.
DOCKER_TOOLS = {"dockerd": "docker.io", "docker-compose": "docker-compose", "debootstrap": "debootstrap"}


def ensure_docker_tools() -> None:
    # The test runs unless STOCKGATE_DOCKER_STACK=0 turns it off (as in its module):
    # nothing to install for a run that skips it.
    if os.environ.get("STOCKGATE_DOCKER_STACK") == "0":
        return
    missing = [package for tool, package in DOCKER_TOOLS.items() if not shutil.which(tool)]
    if not missing or os.environ.get("STOCKGATE_SKIP_DOCKER_INSTALL"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} for the compose-stack test", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False, env=env,
                       stdout=subprocess.DEVNULL)
    still = [tool for tool in DOCKER_TOOLS if not shutil.which(tool)]
    if still:
        print(f"note: {', '.join(still)} not installed; the compose-stack test will skip", flush=True)


def main() -> int:
    if not in_venv():
        python = ensure_venv("requirements-dev.txt")
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    ensure_postgres()
    ensure_redis()
    ensure_debian_package("chromium", "chromium", "the browser tests")
    ensure_debian_package("node", "nodejs", "the dashboard modules' node tests")
    ensure_debian_package("nginx", "nginx", "the test of several web processes behind nginx")
    ensure_docker_tools()
    subprocess.call([sys.executable, str(ROOT / "scripts" / "vendor.py")], cwd=ROOT)  # the dashboard's charts
    # Build the KRX calendar cache once, not in every process the tests start.
    subprocess.run([sys.executable, "-c", "from marketgate.calendar import warm_up; warm_up()"], cwd=ROOT, check=False)
    args = sys.argv[1:]
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
