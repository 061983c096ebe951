"""Price-storm benchmark: many tickers ticking, each socket on its own set of them.

The storm: `--tickers` (300) tickers, each updated `--rate` (4) times a second through
the feed's publish path (broadcast.apublish: the seq stamp, then the channel layer's
group_send to the ticker's group), `--clients` (1,000) sockets each subscribed to
`--per-socket` (20) of them, so every socket is sent per_socket x rate frames a second.
The baseline in the same run: the same sockets on one topic carrying that same rate
(one group, one publish per frame), so the ratio is what many topics cost over one.

Reported per mode: frames delivered, p50/p99/max from publish (data.sent_at) to the
client reading the frame, frames skipped by the documented coalescing (a price frame
that follows skipped ones says `"coalesced":true`; at most PRICE_MAX_UPDATES_PER_SECOND
frames a second per ticker reach a socket), frames lost beyond it (a seq jump without
that marker, or a socket that did not end on its topic's last frame: must be 0), the
web process's CPU, and the publisher's achieved rate.

    .venv/bin/python benchmarks/price_storm.py --clients 1000 --tickers 300 --per-socket 20 --rate 4 --seconds 10

Everything runs on loopback against a private redis-server the benchmark starts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from harness import (
    LOGS,
    PY,
    REPO,
    ClientProcesses,
    cpu_seconds,
    free_port,
    percentile,
    prepare_database,
    procfile_web,
    run_each,
    server_env,
    shares,
    show_results,
    stop_group,
    table,
    tree,
    wait_for_port,
)

BENCH = Path(__file__).resolve().parent
PREFIX = "stormbench"
BASELINE_TOPIC = "market-gate"


def tickers_for(n: int) -> list[str]:
    return [f"{900000 + i:06d}" for i in range(n)]


def list_instruments(env: dict[str, str], tickers: list[str]) -> None:
    """The storm's tickers as listed instruments: price topics are for real instruments."""
    code = (
        "from marketgate.models import Instrument\n"
        f"tickers = {tickers!r}\n"
        "Instrument.objects.bulk_create([Instrument(ticker=t, name='벤치' + t, market='KOSPI') for t in tickers],"
        " ignore_conflicts=True)\n"
    )
    subprocess.run([PY, "manage.py", "shell", "-c", code], cwd=REPO, env=env, check=True)


def start_storm_clients(args: argparse.Namespace, port: int, workdir: Path, final: Path, topic: str) -> ClientProcesses:
    """args.clients sockets across args.client_procs price_storm_client.py processes: each
    socket on its own tickers, or (the baseline) every socket on `topic`."""
    counts = shares(args.clients, args.client_procs)
    firsts = [sum(counts[:i]) for i in range(len(counts))]
    outs = [workdir / f"storm-{topic or 'prices'}-{i}.bin" for i in range(len(counts))]
    base = [PY, str(BENCH / "price_storm_client.py"), "--port", str(port), "--final", str(final)]
    what = ["--topic", topic] if topic else ["--tickers", ",".join(tickers_for(args.tickers)),
                                             "--per-socket", str(args.per_socket)]
    commands = [[*base, *what, "--count", str(c), "--first", str(f), "--out", str(out)]
                for c, f, out in zip(counts, firsts, outs, strict=True)]
    return ClientProcesses(commands, outs, cwd=BENCH)


def losses(summaries: list[dict[str, object]]) -> dict[str, int]:
    """The client processes' frames lost, coalesced and missing at the end, added up."""
    totals = {"lost": 0, "coalesced": 0, "behind_at_end": 0}
    for summary in summaries:
        for key in totals:
            totals[key] += int(summary[key])  # type: ignore[call-overload]
    return totals


def run_mode(mode: str, args: argparse.Namespace, redis_url: str, workdir: Path) -> dict[str, object]:
    load_at_start = round(os.getloadavg()[0], 1)
    port = free_port()
    metrics_dir = workdir / f"metrics-{mode}"
    metrics_dir.mkdir(exist_ok=True)
    # Every client is on loopback, and each asks for its tickers in the handshake's
    # ?subscribe= (a topic counts as an inbound frame): caps above the benchmark's own.
    env = server_env(redis_url, args.database_url, PREFIX, metrics_dir=metrics_dir, WEB_CONCURRENCY="1",
                     tuning={"WS_MAX_CONNECTIONS": args.clients + 100,
                             "WS_MAX_CONNECTIONS_PER_ADDRESS": args.clients + 100,
                             "WS_MAX_FRAMES_PER_SECOND": max(20, 2 * args.per_socket)})
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"storm-server-{mode}.log", "wb")
    server = subprocess.Popen(procfile_web(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    final = workdir / f"final-{mode}.json"
    topic = BASELINE_TOPIC if mode == "one-topic" else ""
    per_socket_rate = args.per_socket * args.rate
    try:
        wait_for_port(port, server)
        time.sleep(2.0)
        clients = start_storm_clients(args, port, workdir, final, topic)
        t0 = time.monotonic()
        ready, failed = clients.wait_ready()
        connect_s = time.monotonic() - t0
        time.sleep(2.0)
        procs = tree(server.pid)
        cpu0, wall0 = cpu_seconds(procs), time.monotonic()
        what = (["--topic", topic, "--frames-per-second", str(per_socket_rate)] if topic
                else ["--tickers", ",".join(tickers_for(args.tickers)), "--rate", str(args.rate)])
        pub = subprocess.run([PY, str(BENCH / "price_storm_publish.py"), *what, "--seconds", str(args.seconds),
                              "--final", str(final)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=args.seconds + 180)
        if pub.returncode != 0:
            raise RuntimeError(f"publisher failed: {pub.stderr[-2000:]}")
        published = json.loads(pub.stdout.strip().splitlines()[-1])
        last, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < 3.0 and time.monotonic() - wall0 < args.seconds + 180:
            got = clients.received()
            if got != last:
                last, last_change = got, time.monotonic()
            time.sleep(0.25)
        wall = time.monotonic() - wall0 - 3.0  # the quiet tail that ended the drain
        cpu = cpu_seconds(procs) - cpu0
        latencies, summaries = clients.stop()
        counts = losses(summaries)
    finally:
        stop_group(server)
        log.close()
    sent_per_socket = int(published["sent"]) * (1 if topic else args.per_socket) // (1 if topic else args.tickers)
    return {
        "mode": mode, "clients": args.clients, "ready": ready, "failed": failed, "connect_s": round(connect_s, 1),
        "frames_per_socket_s": per_socket_rate, "published": published["sent"],
        "publisher_per_s": published["achieved_per_s"], "publish_p50_ms": published["publish_p50_ms"],
        "offered": sent_per_socket * ready, "delivered": len(latencies), "coalesced": counts["coalesced"],
        "lost": counts["lost"] + counts["behind_at_end"],
        "p50_ms": 1000 * percentile(latencies, 0.50), "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * (latencies[-1] if latencies else float("nan")),
        "web_cpu_pct": 100 * cpu / max(wall, 0.001), "load_avg_1m": load_at_start,
    }


COLUMNS = [("mode", "{}"), ("clients", "{}"), ("frames_per_socket_s", "{:g}"), ("publisher_per_s", "{}"),
           ("offered", "{}"), ("delivered", "{}"), ("coalesced", "{}"), ("lost", "{}"), ("p50_ms", "{:.1f}"),
           ("p99_ms", "{:.1f}"), ("max_ms", "{:.1f}"), ("x_base_p99", "{:.2f}"), ("web_cpu_pct", "{:.0f}"),
           ("load_avg_1m", "{}")]


def report(results: list[dict[str, object]]) -> str:
    base = next((r for r in results if r["mode"] == "one-topic"), None)
    for r in results:
        r["x_base_p99"] = r["p99_ms"] / base["p99_ms"] if base else float("nan")  # type: ignore[operator]
    return table(results, COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tickers", type=int, default=300)
    parser.add_argument("--per-socket", type=int, default=20)
    parser.add_argument("--rate", type=float, default=4.0, help="updates a second per ticker")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--modes", default="storm,one-topic")
    parser.add_argument("--database-url", default="postgres://postgres@localhost:5432/stockgate_stormbench")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    prepare_database(args.database_url)
    list_instruments({**os.environ, "DJANGO_SETTINGS_MODULE": "stockgate.settings",
                      "DATABASE_URL": args.database_url}, tickers_for(args.tickers))
    def one(mode: str, redis_url: str, workdir: Path) -> dict[str, object]:
        print(f"-- {mode}: {args.clients} sockets ...", flush=True)
        return run_mode(mode, args, redis_url, workdir)

    results = run_each(args.modes.split(","), one)
    show_results(results, f"N={args.clients} tickers={args.tickers} per-socket={args.per_socket} rate={args.rate}/s "
                 f"seconds={args.seconds} cpus={os.cpu_count()}", report(results), args.json)


if __name__ == "__main__":
    sys.exit(main())
