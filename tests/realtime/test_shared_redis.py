"""One Redis server shared with strangers: another deployment on another database, a
stray publisher on a group channel, an eviction that takes only part of a topic's state.
Against real uvicorn processes and the real Redis; what must survive is each client's
own stream of frames."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import urllib.request
from typing import Any
from urllib.parse import urlparse, urlunparse

import msgpack
import pytest
import redis
import websockets
from django.conf import settings

from stockgate.realtime.sequence import keys_for
from tests import factories, processes
from tests.services import PrivateRedis

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOPIC = "market-gate"


def redis_url_with_db(db: int) -> str:
    parsed = urlparse(settings.REDIS_URL)
    return urlunparse(parsed._replace(path=f"/{db}"))


def deployment_env(db: int) -> dict[str, str]:
    """A deployment that only names its Redis database: the channel prefix is the default."""
    env = processes.process_env(REDIS_URL=redis_url_with_db(db))
    env.pop("CHANNEL_PREFIX", None)
    return env


async def subscribe(port: int) -> websockets.ClientConnection:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=20)
    assert json.loads(await ws.recv())["type"] == "connected"
    await ws.send(json.dumps({"type": "subscribe", "topic": TOPIC}))
    while json.loads(await asyncio.wait_for(ws.recv(), 20)).get("type") != "subscribed":
        pass
    return ws


async def next_gate(ws: websockets.ClientConnection, timeout: float = 20.0) -> dict[str, Any] | None:
    """The next market-gate frame, or None when none comes within `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        except TimeoutError:
            return None
        if frame.get("type") == "market_gate_update":
            return frame
        if frame.get("type") == "ping":
            await ws.send('{"type":"pong"}')


def test_deployments_on_two_databases_of_one_redis_never_see_each_others_frames(redis_server):
    """Two web processes configured only by REDIS_URL (databases a and b of one server):
    a gate saved in deployment a reaches a's client, and b's process receives nothing
    of it (no broadcast handed to its sockets, no frame to its client)."""
    db_a, db_b = random.sample(range(1, 13), 2)
    env_a, env_b = deployment_env(db_a), deployment_env(db_b)
    env_a["METRICS_TOKEN"] = env_b["METRICS_TOKEN"] = "m"
    assert env_a.get("CHANNEL_PREFIX") is None
    port_a, port_b = processes.free_port(), processes.free_port()
    web_a = processes.Proc(f"web-db{db_a}", processes.procfile_command(
        "web", WEB_HOST="127.0.0.1", WEB_PORT=str(port_a)), env_a, port=port_a).start()
    web_b = processes.Proc(f"web-db{db_b}", processes.procfile_command(
        "web", WEB_HOST="127.0.0.1", WEB_PORT=str(port_b)), env_b, port=port_b).start()
    try:
        async def scenario() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            a, b = await subscribe(port_a), await subscribe(port_b)
            save = await asyncio.to_thread(
                subprocess.run, [sys.executable, "manage.py", "shell", "-c", "from tests.factories import gate; gate(level=61)"],
                cwd=processes.REPO, env=env_a, capture_output=True, text=True, timeout=120,
            )
            assert save.returncode == 0, save.stderr
            got_a = await next_gate(a)
            got_b = await next_gate(b, timeout=3.0)  # a's frame would have arrived with it
            await a.close()
            await b.close()
            return got_a, got_b

        got_a, got_b = asyncio.run(scenario())
        fanouts_a = metric(port_a, "stockgate_fanout_seconds_count")
        fanouts_b = metric(port_b, "stockgate_fanout_seconds_count")
    finally:
        web_a.stop()
        web_b.stop()
        for db in (db_a, db_b):
            client = redis.Redis.from_url(redis_url_with_db(db))
            for key in client.scan_iter(f"{settings.REALTIME_PREFIX}:*"):
                client.delete(key)
    assert got_a is not None and got_a["data"]["level"] == 61
    assert got_b is None, f"deployment b received deployment a's frame: {got_b}"
    assert fanouts_a == 1 and fanouts_b == 0, (fanouts_a, fanouts_b)


def metric(port: int, name: str) -> float:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer m"})
    body = urllib.request.urlopen(request, timeout=20).read().decode()
    return sum(float(line.split()[-1]) for line in body.splitlines() if line.startswith(name + " "))


def evals(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_eval", "cmdstat_evalsha"))


def test_garbage_on_a_group_channel_is_counted_skipped_and_real_frames_still_arrive():
    """A stray publisher puts undecodable bytes, non-messages, messages of types the
    consumer must never run from a group (a forged `websocket.disconnect`, a client frame,
    an unknown handler), a frame without its stamp and a frame of an epoch the topic does
    not have on the topic's Redis channel. The client keeps its subscription and gets the
    next real broadcast; the server logs one line, counts each message, prints no
    traceback and does not spin repairing the foreign frame (a private Redis, so its
    command counts are the server's alone)."""
    private = PrivateRedis().start()
    server = processes.web("uvicorn", METRICS_TOKEN="m", REDIS_URL=private.url).start()
    stray = redis.Redis.from_url(private.url)
    channel = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}__group__{TOPIC}"
    foreign = '{"seq":1,"epoch":"elsewhere","type":"market_gate_update","topic":"market-gate","data":{}}'
    garbage = [
        b"\xc1\xff not msgpack",
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"x": 1}),
        msgpack.packb({"type": "websocket.disconnect", "code": 1000}),
        msgpack.packb({"type": "websocket.receive", "text": '{"type":"unsubscribe","topic":"market-gate"}'}),
        msgpack.packb({"type": "no.such.handler"}),
        msgpack.packb({"type": "realtime.frame", "topic": TOPIC, "seq": "x"}),
        msgpack.packb({"type": "realtime.frame", "topic": TOPIC, "seq": 1, "epoch": "elsewhere", "frame": foreign}),
    ]
    try:
        async def scenario() -> tuple[dict[str, Any] | None, int]:
            ws = await subscribe(server.port)
            for data in garbage:
                assert stray.publish(channel, data) == 1  # the server's reader is subscribed
            await asyncio.sleep(1.0)
            before = evals(stray)
            await asyncio.sleep(2.0)
            idle_evals = evals(stray) - before
            save = await asyncio.to_thread(  # the real publisher, on the private Redis
                processes.manage, "shell", "-c", "from tests.factories import gate; gate(level=62)",
                REDIS_URL=private.url,
            )
            assert save.returncode == 0, save.stderr
            got = await next_gate(ws)
            await ws.close()
            return got, idle_evals

        got, idle_evals = asyncio.run(scenario())
        malformed = metric(server.port, "stockgate_layer_malformed_total")
    finally:
        server.stop()
        private.stop()
    log = server.output()
    assert got is not None and got["data"]["level"] == 62 and not got.get("snapshot"), got
    assert idle_evals < 10, f"{idle_evals} scripts in 2 s with nothing published: a repair loop"
    assert malformed >= len(garbage), malformed
    assert log.count("dropped a malformed message") == 1, log
    assert "Traceback" not in log, log


def test_a_lost_seq_key_starts_a_new_epoch_and_connected_clients_resync(clean_redis):
    """Eviction takes a topic's seq key but leaves its epoch and history. The next
    broadcast must reach the connected client (as a resync in a new epoch), not be
    dropped as a repeat of seq 1."""
    factories.gate(level=63)
    server = processes.web("uvicorn").start()
    try:
        async def scenario() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            ws = await subscribe(server.port)
            await next_gate(ws, timeout=5.0)  # the snapshot, if it came first
            await asyncio.to_thread(factories.gate, level=64)
            await asyncio.to_thread(factories.gate, level=65)
            first = await next_gate(ws)
            while first is not None and first["data"]["level"] != 65:
                first = await next_gate(ws)
            assert clean_redis.delete(keys_for(TOPIC).seq) == 1
            await asyncio.to_thread(factories.gate, level=66)
            after = await next_gate(ws)
            await ws.close()
            return first, after

        before, after = asyncio.run(scenario())
    finally:
        server.stop()
    assert before is not None and before["seq"] >= 2
    assert after is not None, "the frame after the lost seq key never reached the client"
    assert after["data"]["level"] == 66
    assert after["epoch"] != before["epoch"]  # a new epoch: the client resynced
