"""The upstream DNS of a dockerd the test starts: a stub on the engine's bridge address.

Docker's embedded DNS (127.0.0.11 in each container) answers the stack's service names
itself and forwards any other name upstream. Here no upstream is reachable from a
container (no forwarding, no masquerading), so a name Docker does not know, such as
`redis` while its container is stopped, took 20 s to fail (two 5 s tries for A and AAAA
each) and every Redis client retry paid that again: a gate saved during the Redis outage
took 60-80 s. A production host's resolver says NXDOMAIN in milliseconds; this stub does
the same for the containers, and none of their queries leaves the machine.
The image builds run on the host's network (`--network host`) and get the same upstream:
their queries come from the bridge address itself, and the stub passes those to the
host's own resolver, as the host would resolve them.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

# The address of the engine's default bridge (docker0), fixed with `--bip` so that the
# engine can be told its upstream DNS before it creates the bridge.
BRIDGE_CIDR = "172.17.0.1/16"
BRIDGE_ADDRESS = BRIDGE_CIDR.split("/")[0]
NXDOMAIN = 3


def nxdomain_reply(query: bytes) -> bytes | None:
    """The query's header and question back, marked a response with rcode NXDOMAIN."""
    if len(query) < 12:
        return None
    ident, flags, questions = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:  # a response, not a query
        return None
    end = 12
    for _ in range(questions):
        while end < len(query) and query[end] != 0:
            end += 1 + query[end]
        end += 5  # the closing zero byte, QTYPE and QCLASS
    if end > len(query):
        return None
    opcode_and_rd = flags & 0x7900
    reply_flags = 0x8000 | opcode_and_rd | 0x0080 | NXDOMAIN  # QR, RA
    return struct.pack("!HHHHHH", ident, reply_flags, questions, 0, 0, 0) + query[12:end]


def host_resolver(resolv_conf: Path = Path("/etc/resolv.conf")) -> str | None:
    """The host's first nameserver."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return None
    servers = [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]
    return servers[0] if servers else None


class NxdomainServer:
    """UDP on BRIDGE_ADDRESS:53 in a daemon thread, until stop(): NXDOMAIN to the
    containers, the host's resolver's answer to the host's own queries (the builds)."""

    def __init__(self, address: str = BRIDGE_ADDRESS, port: int = 53) -> None:
        self._address = address
        self._upstream = host_resolver()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((address, port))
        self._sock.settimeout(0.5)
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="nxdomain-dns", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if peer[0] == self._address and self._upstream:
                threading.Thread(target=self._forward, args=(query, peer), daemon=True).start()
                continue
            reply = nxdomain_reply(query)
            if reply is not None:
                self._sock.sendto(reply, peer)
                self.answered += 1

    def _forward(self, query: bytes, peer: tuple[str, int]) -> None:
        """One query of the host's to the host's resolver, its answer back."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
            upstream.settimeout(5)
            try:
                upstream.sendto(query, (self._upstream, 53))
                answer, _ = upstream.recvfrom(65535)
                self._sock.sendto(answer, peer)
            except OSError:
                pass  # the asker retries, as with any lost datagram

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
