"""The production compose stack as a test drives it: docker/compose.yaml plus the override
that swaps in locally built PostgreSQL, Redis and nginx images, under a project name of its
own, its proxy published on a free loopback port; and a WebSocket client that follows the
Market Gate through that proxy."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from tests.docker_engine import DOCKER_DIR, Engine, inspect, run

WEB_REPLICAS = 2
COMPOSE_FILES = (DOCKER_DIR / "compose.yaml", DOCKER_DIR / "compose.local-images.yaml")
ROLES = ("web", "worker", "beat", "feed")
LONG_RUNNING = ("postgres", "redis", *ROLES, "proxy")
# Settings of this deployment (docker/.env's role): the demo market, no outside service,
# a small universe so seeding and scanning take seconds, and a scheduler watchdog that
# looks every second and calls beat late after WATCHDOG_BEAT_MAX_AGE_SECONDS.
STACK_TUNING = {
    "DEMO_TICKERS": 40,
    "WATCHDOG_INTERVAL_SECONDS": 1,
    "WATCHDOG_BEAT_MAX_AGE_SECONDS": 3,
    "BEAT_HEARTBEAT_SECONDS": 1,
    "CELERY_BEAT_MAX_LOOP_INTERVAL": 1,
}
STACK_SETTINGS = {
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "MARKET_DATA_PROVIDER": "demo",
    "PRICE_FEED": "demo",
    "WATCHDOG_ALERT_WEBHOOK_URL": "",
    "STOCKGATE_TUNING": json.dumps(STACK_TUNING),
    # The proxy is the web replicas' only client.
    "FORWARDED_ALLOW_IPS": "*",
    "WORKER_CONCURRENCY": "1",
}
# Saves a copy of the latest gate as a new computation (now): post_save pushes it.
SAVE_GATE = (
    "from django.utils import timezone; from marketgate.models import MarketGate; "
    "row = MarketGate.latest(); now = timezone.now(); "
    "row.pk = row.id = row.slot = None; row._state.adding = True; "
    "row.as_of = row.computed_at = now; row.save(); print(row.as_of.isoformat())"
)


@dataclass
class Stack:
    engine: Engine
    tag: str
    port: int
    workdir: Path
    project: str = field(default_factory=lambda: f"sgtest{secrets.token_hex(4)}")
    startup_seconds: float = 0.0  # `up` to every container healthy
    frozen: set[str] = field(default_factory=set)  # services whose process a test stopped

    def __post_init__(self) -> None:
        self._containers: dict[str, str] = {}
        password = secrets.token_hex(16)
        self.redis_password = secrets.token_hex(16)
        settings = {**STACK_SETTINGS, "SECRET_KEY": secrets.token_urlsafe(48), "POSTGRES_PASSWORD": password}
        self.env_file = self.workdir / "stack.env"
        self.env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        self.env = {
            "STOCKGATE_ENV_FILE": str(self.env_file),
            "POSTGRES_PASSWORD": password,
            "REDIS_PASSWORD": self.redis_password,
            "STOCKGATE_TAG": self.tag,
            "WEB_PUBLISH": f"127.0.0.1:{self.port}",
            "WEB_REPLICAS": str(WEB_REPLICAS),
            "WEB_WORKERS": "1",  # two replicas of one process each: the CPU of one machine
        }

    # --- compose ---

    def compose(self, *args: str, timeout: float = 300, check: bool = True,
                files: tuple[Path, ...] = COMPOSE_FILES) -> subprocess.CompletedProcess[str]:
        cmd = [*self.engine.compose, "-p", self.project]
        for path in files:
            cmd += ["-f", str(path)]
        return run([*cmd, *args], timeout=timeout, check=check, env={**os.environ, **self.env}, cwd=DOCKER_DIR)

    def exec(self, service: str, *cmd: str, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", service, *cmd, timeout=timeout, check=check)

    def docker_exec(self, service: str, *cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([self.engine.docker, "exec", self.container(service), *cmd], timeout=timeout, check=check)

    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.exec("worker", "python", "manage.py", *args, timeout=timeout)

    def sql(self, query: str) -> list[list[str]]:
        """One query through psql in the postgres container (no Python start-up)."""
        out = self.docker_exec("postgres", "psql", "-U", "stockgate", "-d", "stockgate", "-tA", "-F", "|", "-c", query).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "20", timeout=180, check=False)

    # --- containers ---

    def containers(self, service: str) -> list[str]:
        """Every container of a service (the web replicas), in a stable order."""
        # Looked up once: a restart keeps the container (and its id); docker-compose 1.29
        # is a Python program whose every start costs a second of CPU.
        if service not in self._containers:
            ids = sorted(self.compose("ps", "-a", "-q", service).stdout.split())
            assert ids, f"no container for {service}"
            self._containers[service] = ids
        return self._containers[service]

    def container(self, service: str) -> str:
        return self.containers(service)[0]

    def state_of_container(self, container: str, key: str = "State") -> dict[str, Any]:
        info = inspect(self.engine.docker, container)[0]
        state: dict[str, Any] = dict(info[key])  # type: ignore[call-overload]
        state["RestartCount"] = info["RestartCount"]
        return state

    def state(self, service: str) -> dict[str, Any]:
        return self.state_of_container(self.container(service))

    def images(self) -> list[str]:
        ids = self.compose("ps", "-a", "-q").stdout.split()
        return sorted({str(info["Config"]["Image"]) for info in inspect(self.engine.docker, *ids)})  # type: ignore[index]

    def health(self, service: str) -> str:
        return str(self.state(service).get("Health", {}).get("Status", "none"))

    def starts(self) -> dict[str, tuple[int, str]]:
        """service (web.1, web.2 for replicas) -> (restart count, started at): changes
        whenever a container restarts."""
        found = {}
        for name in LONG_RUNNING:
            ids = self.containers(name)
            for index, container in enumerate(ids, 1):
                state = self.state_of_container(container)
                found[name if len(ids) == 1 else f"{name}.{index}"] = (state["RestartCount"], state["StartedAt"])
        return found

    def wait_healthy(self, services: tuple[str, ...], timeout: float) -> float:
        """Every container of these services healthy (each web replica too)."""
        started = time.monotonic()
        deadline = started + timeout
        pending = [(name, container) for name in services for container in self.containers(name)]
        while pending and time.monotonic() < deadline:
            infos = inspect(self.engine.docker, *(container for _, container in pending))
            pending = [item for item, info in zip(pending, infos, strict=True)
                       if info["State"].get("Health", {}).get("Status") != "healthy"]  # type: ignore[attr-defined]
            if pending:
                time.sleep(0.5)
        states = [(name, self.state_of_container(c).get("Health", {}).get("Status")) for name, c in pending]
        assert not pending, f"not healthy after {timeout:.0f} s: {states}\n{self.health_report()}\n{self.logs()}"
        return time.monotonic() - started

    def health_report(self) -> str:
        """Per container: when it started, and each recorded check (start, seconds, exit
        code, the first words of a failing one's output): why a start-up was slow."""
        lines = []
        for name in LONG_RUNNING:
            for container in self.containers(name):
                info = inspect(self.engine.docker, container)[0]
                state: dict[str, Any] = info["State"]  # type: ignore[assignment]
                checks = []
                for probe in state.get("Health", {}).get("Log", []):
                    begun, ended = _instant(probe["Start"]), _instant(probe["End"])
                    note = "" if probe["ExitCode"] == 0 else " " + probe["Output"].strip().replace("\n", " ")[-160:]
                    checks.append(f"{begun:%H:%M:%S} {(ended - begun).total_seconds():.1f}s exit {probe['ExitCode']}{note}")
                lines.append(f"{name} started {_instant(state['StartedAt']):%H:%M:%S}, "
                             f"restarts {info['RestartCount']}: " + "; ".join(checks))
        return "\n".join(lines)

    def wait_health(self, service: str, wanted: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.health(service) == wanted:
                return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(f"{service} not {wanted} within {timeout:.0f} s: {self.health(service)}")

    def logs(self, *services: str, tail: int = 40) -> str:
        return self.compose("logs", "--no-color", "--tail", str(tail), *services, check=False).stdout[-8000:]

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks of this project still known to the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        docker = self.engine.docker
        return {
            "containers": run([docker, "ps", "-aq", "--filter", label]).stdout.split(),
            "volumes": run([docker, "volume", "ls", "-q", "--filter", label]).stdout.split()
            + [v for v in run([docker, "volume", "ls", "-q"]).stdout.split() if v.startswith(self.project)],
            "networks": run([docker, "network", "ls", "-q", "--filter", label]).stdout.split()
            + [n for n in run([docker, "network", "ls", "--format", "{{.Name}}"]).stdout.split() if n.startswith(self.project)],
        }

    # --- network ---

    def network_peers(self) -> tuple[set[ipaddress.IPv4Address | ipaddress.IPv6Address], set[str]]:
        """The addresses of this project's containers and gateways, and every remote address
        of every TCP connection inside every running container."""
        networks = json.loads(run([self.engine.docker, "network", "inspect", *self._network_ids()]).stdout)
        own: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        for network in networks:
            for config in network["IPAM"]["Config"]:
                if config.get("Gateway"):
                    own.add(ipaddress.ip_address(config["Gateway"]))
            for container in network["Containers"].values():
                own.add(ipaddress.ip_interface(container["IPv4Address"]).ip)
        remotes: set[str] = set()
        for name in LONG_RUNNING:
            for container in self.containers(name):
                out = run([self.engine.docker, "exec", container, "cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout
                remotes |= _remote_addresses(out)
        return own, remotes

    def _network_ids(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return run([self.engine.docker, "network", "ls", "-q", "--filter", label]).stdout.split()


def _instant(stamp: str) -> datetime:
    """Docker's timestamps: RFC 3339 with nanoseconds (Python reads microseconds)."""
    stamp = stamp.replace("Z", "+00:00")
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        stamp = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return datetime.fromisoformat(stamp).astimezone(UTC)


def _remote_addresses(proc_net_tcp: str) -> set[str]:
    """Remote addresses of connected sockets in /proc/net/tcp{,6} (not listening ones)."""
    found = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[0] == "sl" or fields[3] == "0A":  # header or LISTEN
            continue
        hex_addr = fields[2].split(":")[0]
        raw = bytes.fromhex(hex_addr)
        if len(raw) == 4:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(raw[::-1])
        else:  # four little-endian 32-bit words
            address = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            if address.ipv4_mapped:
                address = address.ipv4_mapped
        if not address.is_unspecified:
            found.add(str(address))
    return found


class HealthEvents:
    """Docker's health_status events of one container, as they happen (`docker events`,
    read by a thread): the moment a status changed, while the test does other things."""

    def __init__(self, docker: str, container: str) -> None:
        self._proc = subprocess.Popen(
            [docker, "events", "--since", f"{time.time() - 1:.3f}", "--filter", f"container={container}",
             "--filter", "event=health_status", "--format", "{{json .}}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.seen: list[tuple[float, str]] = []  # (Unix time, status)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="health-events", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            event = json.loads(line)
            status = str(event.get("status", "")).removeprefix("health_status:").strip()
            with self._lock:
                self.seen.append((event["timeNano"] / 1e9, status))

    def first(self, status: str, after: float, timeout: float) -> float | None:
        """Unix time of the first change to `status` after `after`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [moment for moment, seen in self.seen if seen == status and moment >= after]
            if found or time.monotonic() >= deadline:
                return found[0] if found else None
            time.sleep(0.2)

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._thread.join(timeout=5)


class GateWatcher:
    """A dashboard-like WebSocket client of the published web port, subscribed to the
    Market Gate: reconnects after a lost connection and keeps every gate frame it gets."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: list[dict[str, Any]] = []
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="gate-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with connect(self.url, open_timeout=10, close_timeout=2) as ws:
                    ws.send(json.dumps({"type": "subscribe", "topic": "market-gate"}))
                    while not self._stop.is_set():
                        try:
                            frame = json.loads(ws.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        if frame.get("type") == "subscribed":
                            self.connections += 1
                        elif frame.get("type") == "ping":
                            ws.send('{"type":"pong"}')
                        elif frame.get("type") == "market_gate_update":
                            with self._lock:
                                self.frames.append({**frame, "connection": self.connections})
            except (OSError, TimeoutError, WebSocketException):
                pass
            self._stop.wait(0.5)

    def wait_subscribed(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.connections, f"no WebSocket subscription to {self.url} within {timeout:.0f} s"

    def frame_for(self, as_of: str, timeout: float, or_newer: bool = False) -> dict[str, Any]:
        """The first gate frame whose data is the computation of `as_of` (or, with
        `or_newer`, of a later one)."""
        wanted = datetime.fromisoformat(as_of)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for frame in self.frames:
                    got = datetime.fromisoformat(frame["data"]["as_of"])
                    if got == wanted or (or_newer and got > wanted):
                        return frame
            if time.monotonic() > deadline:
                seen = [f["data"]["as_of"] for f in self.frames[-5:]]
                raise AssertionError(f"no market_gate_update for {as_of} within {timeout:.0f} s; last seen {seen}")
            time.sleep(0.2)

    def saw_epoch(self, epoch: float) -> bool:
        """Whether a gate frame carried the computation of this as_of (Unix seconds)."""
        with self._lock:
            return any(abs(datetime.fromisoformat(f["data"]["as_of"]).timestamp() - epoch) < 1e-3 for f in self.frames)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
