"""Several web processes behind a reverse proxy: Debian's nginx in front of three of the
Procfile's web processes, 300 sockets spread over them, broadcasts from a fourth process.

What must survive: every socket gets every frame, in order, whichever web process it
landed on; when one web process dies, its sockets come back through nginx (which sends
them to the live ones), resubscribe with `since` and get the frames published while they
were away; nothing is lost or repeated.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psutil
import pytest
import websockets

from tests import processes
from tests.services import PrivateNginx, nginx_available

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLIENTS = 300
TOPIC = "market-gate"

# The fourth process: saves gates on request (each save is one broadcast, after commit).
PUBLISHER = """
import sys
from tests.factories import gate
print("ready", flush=True)
saved = 0
for line in sys.stdin:
    for _ in range(int(line)):
        saved += 1
        gate(level=saved % 100, status="GREEN")
    print("saved", saved, flush=True)
"""


class Publisher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", PUBLISHER], cwd=processes.REPO, env=processes.process_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def ready(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            if line.strip() == "ready":  # after what `shell` itself prints
                return
        raise AssertionError(f"publisher exited: {self.proc.stderr.read()}")  # type: ignore[union-attr]

    def save(self, count: int) -> int:
        self.proc.stdin.write(f"{count}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        words = self.proc.stdout.readline().split()  # type: ignore[union-attr]
        assert words and words[0] == "saved", f"publisher: {words} {self.proc.stderr.read() if self.proc.poll() else ''}"  # type: ignore[union-attr]
        return int(words[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Client:
    """A page's socket: subscribes in the URL, and after a drop comes back like the
    dashboard (a jittered wait, then `subscribe` with `since`)."""

    url: str
    seqs: list[int] = field(default_factory=list)
    epochs: set[str] = field(default_factory=set)
    acks: int = 0
    drops: int = 0
    refused: int = 0
    open: bool = False

    async def run(self, may_return: asyncio.Event) -> None:
        first = True
        while True:
            try:
                if first:
                    ws = await websockets.connect(f"{self.url}?subscribe={TOPIC}", open_timeout=60)
                else:
                    await may_return.wait()
                    await asyncio.sleep(random.uniform(0.25, 1.0))
                    ws = await websockets.connect(self.url, open_timeout=60)
                    since = {"epoch": next(iter(self.epochs)), "seq": self.seqs[-1]}
                    await ws.send(json.dumps({"type": "subscribe", "topic": TOPIC, "since": since}))
            except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake):
                self.refused += 1
                await asyncio.sleep(random.uniform(0.25, 1.0))
                continue
            self.open = True
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "subscribed":
                        self.acks += 1
                    elif frame["type"] == "market_gate_update":
                        self.seqs.append(frame["seq"])
                        self.epochs.add(frame["epoch"])
                    elif frame["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
            except websockets.exceptions.ConnectionClosed:
                pass
            self.open = False
            self.drops += 1
            first = False


def held_sockets(port: int) -> int:
    """WebSocket connections the web process on `port` holds (from nginx)."""
    return sum(1 for c in psutil.net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


async def until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
def stack(clean_redis) -> Iterator[tuple[list[processes.Proc], PrivateNginx, Publisher]]:
    if not nginx_available():
        pytest.fail("nginx not found; install Debian's nginx (scripts/test.py does)")
    # Every client reaches the web processes from nginx on loopback, one address: the
    # per-address socket cap is raised above the 300 sockets the live ones share.
    webs = [processes.web("uvicorn", HEALTH_REQUIRE_FEED="false", WS_MAX_CONNECTIONS_PER_ADDRESS="1000")
            for _ in range(3)]
    publisher = Publisher()
    nginx = PrivateNginx([w.port for w in webs])  # type: ignore[misc]
    try:
        with ThreadPoolExecutor(4) as pool:  # start-up is seconds each on a busy machine
            for started in [pool.submit(w.start, 60) for w in webs] + [pool.submit(publisher.ready)]:
                started.result()
        nginx.start()
        yield webs, nginx, publisher
    finally:
        publisher.stop()
        nginx.stop()
        for w in webs:
            w.stop()


def test_three_web_processes_behind_nginx_deliver_everything_and_survive_losing_one(stack):
    webs, nginx, publisher = stack

    async def scenario() -> None:
        may_return = asyncio.Event()
        clients = [Client(f"ws://127.0.0.1:{nginx.port}/ws") for _ in range(CLIENTS)]
        tasks = [asyncio.create_task(c.run(may_return)) for c in clients]
        try:
            await until(lambda: all(c.acks == 1 for c in clients), "300 subscribed sockets")
            spread = [held_sockets(w.port) for w in webs]  # type: ignore[arg-type]
            assert sum(spread) == CLIENTS and min(spread) >= CLIENTS // 5, spread  # round robin: about 100 each

            saved = await asyncio.to_thread(publisher.save, 5)
            await until(lambda: all(len(c.seqs) == saved for c in clients), "the first 5 frames everywhere")

            # One web process dies; its sockets stay away while 5 more gates are saved.
            victim = webs[0]
            on_victim = spread[0]
            victim.kill()
            await until(lambda: sum(c.drops for c in clients) == on_victim, "the victim's sockets to drop")
            dropped = [c for c in clients if c.drops]
            saved = await asyncio.to_thread(publisher.save, 5)
            await until(lambda: all(len(c.seqs) == saved for c in clients if not c.drops), "frames on the live ones")
            assert all(len(c.seqs) == saved - 5 for c in dropped)

            # They come back through nginx to the live processes and replay what they missed.
            may_return.set()
            await until(lambda: all(c.open and c.acks == 2 for c in dropped), "the dropped sockets to resubscribe")
            await until(lambda: all(len(c.seqs) == saved for c in clients), "the missed frames replayed")
            assert held_sockets(victim.port) == 0  # type: ignore[arg-type]
            assert sum(held_sockets(w.port) for w in webs[1:]) == CLIENTS  # type: ignore[arg-type]

            saved = await asyncio.to_thread(publisher.save, 5)
            await until(lambda: all(len(c.seqs) == saved for c in clients), "frames after the move")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for c in clients:
            assert c.seqs == list(range(1, saved + 1)), c.seqs  # every frame, in order, once
            assert len(c.epochs) == 1
        assert {next(iter(c.epochs)) for c in clients} == {next(iter(clients[0].epochs))}
        assert len(dropped) == on_victim and all(c.drops == 1 for c in dropped)

    try:
        asyncio.run(scenario())
    except AssertionError:
        print("nginx errors:\n", nginx.errors()[-3000:])
        raise
