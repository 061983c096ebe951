"""Publish a price storm through the feed's real path (broadcast.apublish, as the price
feed's supervisor does): `--tickers` each updated `--rate` times a second, spread evenly
over each period, for `--seconds`. With `--topic`, the same frames-per-second on one
topic instead (the baseline). Every message carries its publish time in data.sent_at.

Prints a JSON line: frames sent, achieved rate, publish p50, and writes the last seq of
each topic to --final (the latest frame every subscriber must end with).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockgate.settings")
KST = ZoneInfo("Asia/Seoul")


def record(ticker: str, i: int) -> dict[str, object]:
    price = 50_000 + (i % 40) * 50
    return {"ticker": ticker, "price": price, "change": price - 50_000, "change_rate": (price - 50_000) / 500,
            "volume": 1_000_000 + i, "bid_price": price - 50, "ask_price": price, "as_of": datetime.now(KST).isoformat(),
            "source": "bench"}


async def storm(args: argparse.Namespace) -> dict[str, object]:
    from marketgate.feeds.messages import price_message
    from stockgate.realtime.broadcast import apublish
    from stockgate.realtime.sequence import parse_stamp

    topics = [args.topic] if args.topic else [f"price:{t}" for t in args.tickers.split(",")]
    per_topic_rate = args.frames_per_second / len(topics) if args.topic else args.rate
    period = 1.0 / per_topic_rate
    slots = sorted((k * period / len(topics), topic) for k, topic in enumerate(topics))
    rounds = max(1, int(args.seconds * per_topic_rate))
    in_flight = asyncio.Semaphore(args.concurrency)
    last: dict[str, int] = {}
    publish_ms: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(topic: str, i: int) -> None:
        async with in_flight:
            message = price_message(record(topic.split(":", 1)[-1], i), stale=False, timestamp=datetime.now(KST))
            message["topic"] = topic
            message["data"]["sent_at"] = time.time()
            t0 = time.perf_counter()
            frame = await apublish(topic, message)
            publish_ms.append(1000 * (time.perf_counter() - t0))
            seq, _ = parse_stamp(frame)
            last[topic] = max(seq, last.get(topic, 0))

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    for r in range(rounds):
        for offset, topic in slots:
            delay = start + r * period + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(topic, r))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    await asyncio.gather(*list(tasks))
    took = loop.time() - start
    await asyncio.to_thread(Path(args.final).write_text, json.dumps(last))
    publish_ms.sort()
    sent = rounds * len(topics)
    return {"sent": sent, "seconds": round(took, 2), "achieved_per_s": round(sent / took, 1),
            "publish_p50_ms": round(publish_ms[len(publish_ms) // 2], 2),
            "publish_p99_ms": round(publish_ms[int(0.99 * (len(publish_ms) - 1))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickers", default="")
    parser.add_argument("--rate", type=float, default=4.0, help="updates a second per ticker")
    parser.add_argument("--topic", default="", help="baseline: one topic instead of the tickers")
    parser.add_argument("--frames-per-second", type=float, default=80.0, help="baseline: the one topic's rate")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64, help="publishes in flight")
    parser.add_argument("--final", required=True)
    args = parser.parse_args()

    import django

    django.setup()
    print(json.dumps(asyncio.run(storm(args))), flush=True)


if __name__ == "__main__":
    main()
