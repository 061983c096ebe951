"""Fan-out benchmark: broadcast latency to N subscribed sockets, against the floor.

For each stack it starts the web processes, opens N sockets from separate client
processes (benchmarks/fanout_client.py), subscribes them to one topic, publishes M
broadcasts through broadcast.publish() at a fixed rate (benchmarks/fanout_publish.py:
the history stamp, then the channel layer's group_send)
and reports delivered/expected, p50/p99/max latency (publish time -> client receive
time), server CPU and RSS, memory per idle connection, Redis work per broadcast and
the ratio to the floor measured in the same run.

Stacks:
  floor    a bare asyncio `websockets` relay of the same Redis PUBLISH (floor_relay.py
           subscribes to the group's channel-layer channel and decodes each message once)
  shipped  the web command of the Procfile, as deployed (WEB_CONCURRENCY = --web-procs)
  daphne   the same application under daphne (the fallback: frames take the ASGI send)

With --web-procs N the floor is N relays on one port (SO_REUSEPORT), as the shipped
stack is N uvicorn workers on one socket.

--storm adds a reconnect storm after the fan-out: one web process (a worker of N >= 2)
is killed; its supervisor starts it again (uvicorn's for the shipped stack, the floor's
own), and every socket it held comes back with the dashboard's jittered backoff and
resubscribes with `since` (fanout_client.py --reconnect). Reported: the sockets dropped,
the time from the kill until every one of them is subscribed again, each socket's own
drop -> subscribed time (p50/p99), the failed attempts, and the database transactions
during the storm (and during the first connect) from pg_stat_database.

Everything runs on loopback against a private redis-server it starts and stops, and
each run stops by itself:

  .venv/bin/python benchmarks/fanout.py --clients 1000 --rate 4 --seconds 20 --stacks shipped,floor,daphne
  .venv/bin/python benchmarks/fanout.py --clients 10000 --rate 1 --web-procs 2 --storm --stacks shipped,floor
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
from harness import (
    LOGS,
    PY,
    REPO,
    ClientProcesses,
    cpu_seconds,
    db_transactions,
    free_port,
    percentile,
    prepare_database,
    procfile_web,
    redis_work,
    rss,
    run_each,
    server_env,
    settled_db_transactions,
    shares,
    show_results,
    stop_group,
    table,
    tree,
    wait_for_port,
)

BENCH = Path(__file__).resolve().parent
PREFIX = "fanoutbench"
LAYER_PREFIX = f"{PREFIX}-layer"
TOPIC = "market-gate"
# The Redis channel channels-redis's pub/sub layer publishes a group's messages on.
CHANNEL = f"{LAYER_PREFIX}__group__{TOPIC}"


@dataclass
class Stack:
    name: str
    path: str
    env: dict[str, str]
    command: list[str] = field(default_factory=list)


def stack_for(name: str, port: int, web_procs: int, extra: list[str]) -> Stack:
    daphne = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "stockgate.asgi:application"]
    if name == "floor":
        cmd = [PY, str(BENCH / "floor_relay.py"), "--port", str(port), "--channel", CHANNEL, "--procs", str(web_procs)]
        return Stack(name, "/", {}, cmd)
    if name == "shipped":
        return Stack(name, f"/ws?subscribe={TOPIC}", {"WEB_CONCURRENCY": str(web_procs)}, procfile_web(port) + extra)
    if name == "daphne":
        return Stack(name, f"/ws?subscribe={TOPIC}", {}, daphne)
    raise SystemExit(f"unknown stack {name!r}")


def workers(root: psutil.Process, port: int) -> list[tuple[psutil.Process, int]]:
    """The server's worker processes with the sockets each holds on `port`."""
    found = []
    for child in root.children():
        try:
            held = sum(1 for c in child.net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)
        except psutil.NoSuchProcess:
            continue
        found.append((child, held))
    return found


def start_clients(port: int, path: str, n: int, procs: int, workdir: Path, reconnect: bool) -> ClientProcesses:
    """N sockets on `path`, split across `procs` fanout_client.py processes."""
    outs = [workdir / f"lat-{i}.bin" for i in range(procs)]
    commands = [[PY, str(BENCH / "fanout_client.py"), "--port", str(port), "--path", path, "--topic", TOPIC,
                 "--count", str(c), "--out", str(out), *(["--reconnect"] if reconnect else [])]
                for c, out in zip(shares(n, procs), outs, strict=True)]
    return ClientProcesses(commands, outs)


def closes_and_returns(summaries: list[dict[str, object]]) -> dict[str, object]:
    """The client processes' close codes added up, and every dropped socket's time to be back."""
    closed: dict[str, int] = {}
    back_seconds: list[float] = []
    for summary in summaries:
        for code, n in summary["closed"].items():  # type: ignore[attr-defined]
            closed[code] = closed.get(code, 0) + n
        back_seconds.extend(summary["back_seconds"])  # type: ignore[arg-type]
    return {"closed": closed, "back_seconds": sorted(back_seconds)}


def profile(procs: list[psutil.Process], name: str, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy (pip install py-spy) on the busiest server process, collapsed stacks in var/fanout-bench/
    (for a storm: the surviving worker the dropped sockets come back to)."""
    target = max(procs, key=lambda p: p.memory_info().rss)
    out = LOGS / f"profile-{name}.txt"
    spy = shutil.which("py-spy", path=str(Path(PY).parent)) or "py-spy"
    return subprocess.Popen([spy, "record", "--pid", str(target.pid), "--duration", str(int(seconds)),
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def warm_up(port: int, path: str) -> None:
    """One connection first, so lazy imports and pools are not counted as per-socket memory."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}{path}", compression=None, open_timeout=30) as ws:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and '"subscribed"' not in str(ws.recv(timeout=10)):
            pass


def run_stack(name: str, args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, object]:
    load_at_start = round(os.getloadavg()[0], 1)
    port = free_port()
    stack = stack_for(name, port, args.web_procs, shlex.split(args.server_args) if name == "shipped" else [])
    metrics_dir = workdir / f"metrics-{name}"
    metrics_dir.mkdir(exist_ok=True)
    # Every client is on 127.0.0.1: lift the socket caps (per address, per process) above N.
    env = server_env(redis_url, args.database_url, PREFIX, metrics_dir=metrics_dir, **stack.env,
                     tuning={"WS_MAX_CONNECTIONS": args.clients + 100,
                             "WS_MAX_CONNECTIONS_PER_ADDRESS": args.clients + 100})
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"server-{name}.log", "wb")
    server = subprocess.Popen(stack.command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_for_port(port, server)
        time.sleep(1.0 + args.web_procs)  # every worker up
        warm_up(port, stack.path)
        time.sleep(0.5)
        procs = tree(server.pid)
        rss_before = rss(procs)
        client_procs = args.client_procs or max(1, -(-args.clients // 2500))
        storm = args.storm and name != "daphne"
        clients = start_clients(port, stack.path, args.clients, client_procs, workdir, reconnect=storm)
        xacts0 = db_transactions(args.database_url)
        t_connect = time.monotonic()
        subscribed, failed = clients.wait_ready()
        connect_seconds = time.monotonic() - t_connect
        connect_xacts = settled_db_transactions(args.database_url, xacts0)
        procs = tree(server.pid)
        rss_idle = rss(procs)
        r.config_resetstat()
        redis_cpu0 = redis_work(r)[2]
        cpu0, wall0 = cpu_seconds(procs), time.monotonic()
        count = max(1, int(args.rate * args.seconds))
        spy = profile(procs, name, args.seconds) if args.profile else None
        pub = subprocess.run(
            [PY, str(BENCH / "fanout_publish.py"), "--topic", TOPIC, "--count", str(count), "--rate", str(args.rate),
             "--payload", str(args.payload)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=args.seconds + 120,
        )
        if pub.returncode != 0:
            raise RuntimeError(f"publisher failed: {pub.stderr[-2000:]}")
        published = json.loads(pub.stdout.strip().splitlines()[-1])
        expected = subscribed * count
        last, last_change = -1, time.monotonic()
        while True:  # drain: until everything arrived or nothing moved for 5 s
            got = clients.received()
            if got >= expected or time.monotonic() - last_change > 5.0 or time.monotonic() - wall0 > args.seconds + 120:
                break
            if got != last:
                last, last_change = got, time.monotonic()
            time.sleep(0.25)
        if spy is not None:
            spy.wait(timeout=60)
        calls, usec, redis_cpu = redis_work(r)
        redis_cpu -= redis_cpu0
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(procs) - cpu0
        numsub = r.pubsub_numsub(CHANNEL)[0][1]
        rss_after = rss(procs)
        storm_result = run_storm(server.pid, port, clients, args) if storm else {}
        latencies, summaries = clients.stop()
        extra = closes_and_returns(summaries)
    finally:
        stop_group(server)
        log.close()
    return {
        "stack": name, "clients": args.clients, "subscribed": subscribed, "failed": failed,
        "connect_s": round(connect_seconds, 1), "broadcasts": count, "expected": expected,
        "delivered": len(latencies), "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99), "max_ms": 1000 * (latencies[-1] if latencies else float("nan")),
        "cpu_pct": 100 * cpu / wall, "rss_mb": rss_after / 2**20,
        "kb_per_idle_conn": (rss_idle - rss_before) / 1024 / max(1, subscribed),
        "redis_cmds_per_bcast": calls / count, "redis_usec_per_bcast": usec / count,
        "redis_cpu_ms_per_bcast": 1000 * redis_cpu / count, "redis_subscribers": numsub,
        "frame_bytes": published["frame_bytes"], "closed": extra["closed"], "load_avg_1m": load_at_start,
        "load_avg_1m_end": round(os.getloadavg()[0], 1), "connect_db_xacts": connect_xacts,
        **storm_result, **storm_spread(extra["back_seconds"]),  # type: ignore[arg-type]
    }


def run_storm(root_pid: int, port: int, clients: ClientProcesses, args: argparse.Namespace) -> dict[str, object]:
    """Kill the worker holding the most sockets; wait until every dropped one is back."""
    found = workers(psutil.Process(root_pid), port)
    if len(found) < 2:
        raise SystemExit("--storm needs --web-procs >= 2 (the killed process's sockets come back to the others)")
    victim, held = max(found, key=lambda item: item[1])
    xacts0 = db_transactions(args.database_url)
    procs = [p for p in tree(root_pid) if p.pid != victim.pid]
    cpu0 = cpu_seconds(procs)
    load = round(os.getloadavg()[0], 1)
    survivor = max((item for item in found if item[0] is not victim), key=lambda item: item[1])[0]
    spy = profile([survivor], f"storm-{args.current_stack}", 15) if args.profile else None
    t0 = time.monotonic()
    victim.kill()
    status, seen, seen_at = clients.status(), -1, t0
    while time.monotonic() - t0 < args.storm_timeout:
        status = clients.status()
        if status["dropped"] != seen:
            seen, seen_at = status["dropped"], time.monotonic()
        settled = status["dropped"] >= held or time.monotonic() - seen_at > 5.0
        if settled and status["dropped"] and status["back"] >= status["dropped"]:
            break
        time.sleep(0.1)
    storm_seconds = time.monotonic() - t0
    if spy is not None:
        spy.wait(timeout=60)
    cpu = cpu_seconds(procs + [p for p in tree(root_pid) if p not in procs]) - cpu0  # + the restarted one
    return {"storm_held": held, "storm_dropped": status["dropped"], "storm_back": status["back"],
            "storm_s": round(storm_seconds, 2), "storm_failed_attempts": status["failed_attempts"],
            "storm_server_cpu_s": round(cpu, 1), "storm_load_avg_1m": load,
            "storm_db_xacts": settled_db_transactions(args.database_url, xacts0)}


def storm_spread(back_seconds: list[float]) -> dict[str, float]:
    if not back_seconds:
        return {}
    return {"storm_back_p50_s": round(percentile(back_seconds, 0.5), 2),
            "storm_back_p99_s": round(percentile(back_seconds, 0.99), 2)}


COLUMNS = [("stack", "{}"), ("clients", "{}"), ("delivered", "{}"), ("expected", "{}"), ("p50_ms", "{:.1f}"),
           ("p99_ms", "{:.1f}"), ("max_ms", "{:.1f}"), ("x_floor_p50", "{:.2f}"), ("x_floor_p99", "{:.2f}"),
           ("cpu_pct", "{:.0f}"), ("rss_mb", "{:.0f}"), ("kb_per_idle_conn", "{:.1f}"),
           ("redis_cmds_per_bcast", "{:.1f}"), ("redis_usec_per_bcast", "{:.0f}"), ("redis_subscribers", "{}"),
           ("load_avg_1m", "{}")]


CONNECT_COLUMNS = [("stack", "{}"), ("clients", "{}"), ("subscribed", "{}"), ("connect_s", "{}"),
                   ("x_floor_connect", "{:.2f}"), ("connect_db_xacts", "{}"), ("storm_held", "{}"),
                   ("storm_dropped", "{}"), ("storm_back", "{}"), ("storm_s", "{}"), ("x_floor_storm", "{:.2f}"),
                   ("storm_back_p50_s", "{}"), ("storm_back_p99_s", "{}"), ("storm_failed_attempts", "{}"),
                   ("storm_db_xacts", "{}"), ("storm_server_cpu_s", "{}"), ("storm_load_avg_1m", "{}")]


def ratio(r: dict[str, object], floor: dict[str, object] | None, key: str) -> float:
    if not floor or key not in r or key not in floor or not floor[key]:
        return float("nan")
    return float(r[key]) / float(floor[key])  # type: ignore[arg-type]


def report(results: list[dict[str, object]]) -> str:
    floor = next((r for r in results if r["stack"] == "floor"), None)
    for r in results:
        r["x_floor_p50"] = ratio(r, floor, "p50_ms")
        r["x_floor_p99"] = ratio(r, floor, "p99_ms")
        r["x_floor_connect"] = ratio(r, floor, "connect_s")
        if "storm_s" in r:
            r["x_floor_storm"] = ratio(r, floor, "storm_s")
    return table(results, COLUMNS) + "\n\n" + table(results, CONNECT_COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--clients", "-n", type=int, default=1000, help="sockets (N)")
    parser.add_argument("--rate", type=float, default=4.0, help="broadcasts a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="publishing time (M = rate x seconds)")
    parser.add_argument("--payload", type=int, default=400, help="approximate frame size in bytes")
    parser.add_argument("--web-procs", type=int, default=1, help="web processes (uvicorn --workers; daphne: 1)")
    parser.add_argument("--client-procs", type=int, default=0, help="client processes (default: 1 per 2,500 sockets)")
    parser.add_argument("--stacks", default="shipped,floor,daphne")
    parser.add_argument("--server-args", default="", help="extra arguments for the shipped server command")
    parser.add_argument("--database-url", default="postgres://postgres@localhost:5432/stockgate_fanoutbench")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--profile", action="store_true", help="py-spy record the server while publishing")
    parser.add_argument("--storm", action="store_true",
                        help="then kill one web process and time its sockets coming back (needs --web-procs >= 2)")
    parser.add_argument("--storm-timeout", type=float, default=300.0, help="give up on the storm after this long")
    args = parser.parse_args()
    if args.storm and args.web_procs < 2:
        parser.error("--storm needs --web-procs >= 2")
    # Sockets on both ends: the server and client processes inherit this limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.clients + 1000:
        raise SystemExit(f"the open-files limit ({hard}) is below {args.clients} sockets; raise `ulimit -Hn`")
    prepare_database(args.database_url)

    def one(name: str, redis_url: str, workdir: Path) -> dict[str, object]:
        print(f"-- {name}: {args.clients} sockets, {args.rate}/s for {args.seconds}s ...", flush=True)
        args.current_stack = name
        return run_stack(name, args, redis_url, workdir)

    results = run_each(args.stacks.split(","), one)
    show_results(results, f"N={args.clients} rate={args.rate}/s seconds={args.seconds} payload~{args.payload}B "
                 f"web-procs={args.web_procs} cpus={os.cpu_count()}", report(results), args.json)


if __name__ == "__main__":
    main()
