"""What the server benchmarks (fanout.py, price_storm.py, hostile_subscribe.py) share:
ports, the Procfile's web command, a private redis-server, the benchmark's database,
the client processes that hold the sockets, CPU/RSS of a process tree, Redis's own
work, percentiles and the results table.

Everything runs on loopback; every process started here is stopped by the caller's
`finally` (stop_group, run_each).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import psutil
import redis

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
# Server logs and profiles of every benchmark run.
LOGS = REPO / "var" / "fanout-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def procfile_web(port: int) -> list[str]:
    """The Procfile's web command with its ${VAR:-default} expanded, run by this Python."""
    line = next(ln for ln in (REPO / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    values = {"WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m.group(1), m.group(2)), line[4:])
    args = shlex.split(line)
    return [PY, *args[1:]] if args[0] == "python" else args


def server_env(redis_url: str, database_url: str, prefix: str, *, metrics_dir: Path | None = None,
               tuning: dict[str, object] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a server under test: its own Redis key and channel prefixes, and
    `tuning` merged into the STOCKGATE_TUNING this process was given."""
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "stockgate.settings", "REDIS_URL": redis_url,
        "DATABASE_URL": database_url, "REALTIME_PREFIX": prefix, "CHANNEL_PREFIX": f"{prefix}-layer",
        "PYTHONUNBUFFERED": "1", **extra,
    }
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    if tuning:
        env["STOCKGATE_TUNING"] = json.dumps({**json.loads(os.environ.get("STOCKGATE_TUNING") or "{}"), **tuning})
    return env


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def rss(procs: list[psutil.Process]) -> int:
    return sum(p.memory_info().rss for p in procs if p.is_running())


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--maxclients", "20000", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return proc, f"redis://127.0.0.1:{port}/0"


def prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "stockgate.settings"}
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)


def db_transactions(url: str) -> int:
    """Transactions committed or rolled back in the benchmark's database so far (every
    query outside a transaction is one): what the servers asked of PostgreSQL."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (name,)).fetchone()
    return int(row[0]) if row else 0


def settled_db_transactions(url: str, before: int, own: int = 1) -> int:
    """Transactions since `before`, read once PostgreSQL's statistics have caught up (an
    idle backend reports what it did within 10 s; this function's own reads are taken off)."""
    time.sleep(11.0)
    return max(0, db_transactions(url) - before - own)


def redis_work(client: redis.Redis) -> tuple[int, float, float]:
    """(commands, command usec) since the last CONFIG RESETSTAT, and Redis CPU seconds since it started."""
    stats = client.info("commandstats")
    calls = sum(int(v["calls"]) for v in stats.values())
    usec = sum(float(v["usec"]) for v in stats.values())
    cpu = client.info("cpu")
    return calls, usec, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def shares(n: int, procs: int) -> list[int]:
    """n sockets split as evenly as can be over `procs` processes."""
    return [n // procs + (1 if i < n % procs else 0) for i in range(procs)]


class ClientProcesses:
    """The client processes of one run (fanout_client.py, price_storm_client.py), each
    holding its share of the sockets. Their protocol on stdin/stdout: `READY <ok>
    <failed>` once subscribed; `count` -> `COUNT <frames received>`; `status` -> a JSON
    line; `stop` -> its latencies written to its --out file and a JSON summary line."""

    def __init__(self, commands: list[list[str]], outs: list[Path], cwd: Path | None = None) -> None:
        self.outs = outs
        self.procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd)
                      for command in commands]

    def _ask(self, proc: subprocess.Popen[str], command: str) -> str:
        proc.stdin.write(f"{command}\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        return proc.stdout.readline()  # type: ignore[union-attr]

    def wait_ready(self) -> tuple[int, int]:
        ok = failed = 0
        for p in self.procs:
            line = p.stdout.readline().split()  # type: ignore[union-attr]
            if not line or line[0] != "READY":
                raise RuntimeError(f"client process failed: {line}")
            ok, failed = ok + int(line[1]), failed + int(line[2])
        return ok, failed

    def received(self) -> int:
        return sum(int(self._ask(p, "count").split()[1]) for p in self.procs)

    def status(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for p in self.procs:
            for key, value in json.loads(self._ask(p, "status")).items():
                total[key] = total.get(key, 0) + value
        return total

    def stop(self) -> tuple[list[float], list[dict[str, object]]]:
        """(every latency, sorted; each process's summary)."""
        summaries = []
        for p in self.procs:
            summaries.append(json.loads(self._ask(p, "stop")))
            p.wait(timeout=30)
        latencies = array("d")
        for out in self.outs:
            latencies.frombytes(out.read_bytes())
        return sorted(latencies), summaries


def table(results: list[dict[str, object]], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of `columns` (name, format); a value a result lacks is a dash."""
    head = "| " + " | ".join(c for c, _ in columns) + " |"
    rows = ["| " + " | ".join(fmt.format(r[c]) if c in r else "—" for c, fmt in columns) + " |" for r in results]
    return "\n".join([head, "|" + "---|" * len(columns), *rows])


def run_each(names: list[str], run_one: Callable[[str, str, Path], dict[str, object]]) -> list[dict[str, object]]:
    """run_one(name, redis_url, workdir) for each name against one private redis-server,
    printing each result as a JSON line; the server is stopped however the runs end."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        redis_proc, redis_url = start_redis(workdir)
        try:
            for name in names:
                results.append(run_one(name, redis_url, workdir))
                print(json.dumps(results[-1]), flush=True)
        finally:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    return results


def show_results(results: list[dict[str, object]], heading: str, text: str, json_path: str | None) -> None:
    """The run's heading and table after the JSON lines; the results also to `json_path`."""
    print()
    print(heading)
    print(text)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1))
