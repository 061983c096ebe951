"""Publish benchmark broadcasts through the project's real path (broadcast.publish).

Started by benchmarks/fanout.py with the environment of the stack under test: the
same settings, so the same history stamp and channel-layer group_send as the web code.
Each message carries its publish time in data.sent_at (time.time(), same clock as the
clients on this machine); prints a JSON line with what it sent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")


def message(topic: str, sent_at: float, pad: str) -> dict[str, object]:
    return {
        "type": "market_gate_update",
        "topic": topic,
        "timestamp": "2026-02-06T09:42:35+09:00",
        "data": {"status": "GREEN", "level": 72, "kospi": 2650.12, "kospi_change_pct": 0.41, "kosdaq": 871.05,
                 "kosdaq_change_pct": -0.12, "as_of": "2026-02-06T09:42:00+09:00", "stale": False,
                 "session": "open", "pad": pad, "sent_at": sent_at},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", default="market-gate")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--payload", type=int, default=400, help="approximate frame size in bytes")
    args = parser.parse_args()

    import django

    django.setup()
    from stockgate.realtime.broadcast import encode, publish

    base = len(encode(message(args.topic, time.time(), ""))) + 40  # + seq/epoch stamp
    pad = "x" * max(0, args.payload - base)
    publish_seconds: list[float] = []
    start = time.perf_counter() + 0.2
    for i in range(args.count):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t0 = time.perf_counter()
        frame = publish(args.topic, message(args.topic, time.time(), pad))
        publish_seconds.append(time.perf_counter() - t0)
    publish_seconds.sort()
    print(json.dumps({"sent": args.count, "frame_bytes": len(frame.encode()),
                      "publish_p50_ms": 1000 * publish_seconds[len(publish_seconds) // 2]}), flush=True)


if __name__ == "__main__":
    main()
