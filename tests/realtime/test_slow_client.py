"""A socket that never reads does not delay the others, and is closed with 4008."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time

import psutil
import pytest
import websockets

from tests import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FRAMES = 800
PAD = "x" * 8000  # ~8 KB a frame: 6 MB in all, far beyond socket buffers


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def _silent_subscriber(port: int, topic: str) -> socket.socket:
    """A raw WebSocket client that subscribes and then never reads another byte."""
    sock = socket.create_connection(("127.0.0.1", port))
    # A small window, dozens of times smaller than the flood. Not smaller: below
    # loopback's segment size the server's kernel sends what it still holds one window per
    # ~200 ms timer once the socket is read again (reading out its ~4 MB took 100 s).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert b" 101 " in response.split(b"\r\n", 1)[0]
    sock.sendall(_masked_text_frame(json.dumps({"type": "subscribe", "topic": topic})))
    return sock


def _drain_until_closed(sock: socket.socket, timeout: float) -> int | str:
    """Read what the server sent until it closed: the close code, or how it ended."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except TimeoutError:
        return "still open"
    except ConnectionResetError:
        return "reset"
    at = data.rfind(b"\x88\x02")
    return struct.unpack("!H", data[at + 2 : at + 4])[0] if at >= 0 else "closed without a close frame"


def test_a_socket_that_never_reads_neither_delays_others_nor_grows_memory(clean_redis):
    server = processes.web().start()
    try:
        silent = _silent_subscriber(server.port, "market-gate")
        time.sleep(0.5)
        rss_before = psutil.Process(server.pid).memory_info().rss

        async def scenario() -> tuple[int, float]:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws?subscribe=market-gate") as reader:
                while json.loads(await reader.recv())["type"] != "subscribed":
                    pass
                started = time.monotonic()

                # The flood runs in its own process, as a worker's would: frames go out
                # uncompressed (no per-message deflate), and a flood thread here would
                # hold this process's GIL while the reader needs it to keep up.
                flood = (
                    "from stockgate.realtime.broadcast import publish\n"
                    f"for i in range({FRAMES}):\n"
                    "    publish('market-gate', {'type': 'market_gate_update', 'topic': 'market-gate',"
                    f" 'data': {{'i': i, 'pad': {PAD!r}}}}})\n"
                )
                done = asyncio.ensure_future(asyncio.to_thread(processes.manage, "shell", "-c", flood))
                received = 0
                while received < FRAMES:
                    frame = json.loads(await asyncio.wait_for(reader.recv(), timeout=10))
                    if frame["type"] == "market_gate_update":
                        received += 1
                assert (await done).returncode == 0
                return received, time.monotonic() - started

        received, elapsed = asyncio.run(scenario())
        rss_after = psutil.Process(server.pid).memory_info().rss
        ending = _drain_until_closed(silent, timeout=10)
        silent.close()
        assert server.alive()
    finally:
        server.stop()
    assert received == FRAMES  # the reading client got every frame...
    assert elapsed < 30  # ...without waiting on the silent one
    # The silent one was dropped as slow: a 4008 close frame when the server could still
    # write one, else the connection torn down; never left open and buffering.
    assert ending in (4008, "reset", "closed without a close frame"), ending
    # 6 MB went out; the server did not keep them buffered for the silent socket.
    assert rss_after - rss_before < 30 * 1024 * 1024
