"""The fan-out floor: a bare asyncio `websockets` server relaying one Redis channel.

Every connection is treated as subscribed to the one channel; each PUBLISH on it (a
channel-layer group message: msgpack with the stamped frame) is decoded once and the
frame written to every socket with `websockets.broadcast()` (one frame built per
message, no per-socket queue, no framework). It is what any server on this machine needs at
least, so benchmarks/fanout.py reports the project's latency as a ratio to it.

    python benchmarks/floor_relay.py --port 8765 --redis-url redis://127.0.0.1:6379/0 \
        --channel stockgate__group__market-gate

With --procs N it runs N such relays on the one port (SO_REUSEPORT: the kernel spreads
connections over them, each relay subscribes to Redis once) and starts a relay again
when one exits, as uvicorn's --workers supervisor does for the web processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time

import msgpack
import redis.asyncio as aioredis
import websockets
from websockets.asyncio.server import ServerConnection, serve

CONNECTIONS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CONNECTIONS.add(ws)
    try:
        # The same ack the project sends, so one client drives both servers.
        await ws.send('{"type":"subscribed","topic":"floor"}')
        await ws.wait_closed()
    finally:
        CONNECTIONS.discard(ws)


async def relay(redis_url: str, channel: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] == "message":
            websockets.broadcast(CONNECTIONS, msgpack.unpackb(message["data"])["frame"])


async def main(args: argparse.Namespace) -> None:
    async with serve(handler, args.host, args.port, compression=None, max_queue=None, reuse_port=True):
        await relay(args.redis_url, args.channel)


def supervise(procs: int) -> None:
    """N relays (this script with --procs 1), each started again when it exits."""
    argv = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--procs", "1"]
    children = [subprocess.Popen(argv) for _ in range(procs)]
    try:
        while True:
            for i, child in enumerate(children):
                if child.poll() is not None:
                    children[i] = subprocess.Popen(argv)
            time.sleep(0.1)
    finally:
        for child in children:
            child.terminate()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--channel", required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--procs", type=int, default=1, help="relay processes on the one port")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.procs > 1:
        supervise(args.procs)
        return
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(main(args))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    run()
