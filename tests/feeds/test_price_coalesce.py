"""Per-client, per-ticker coalescing of price frames: latest wins, bounded rate and memory."""

from __future__ import annotations

import asyncio
import json

from stockgate.realtime.coalesce import PriceCoalescer


def frame(seq: int) -> str:
    return json.dumps({"seq": seq, "epoch": "e", "type": "price_update", "topic": "price:005930"})


async def test_a_ticker_updating_50_times_a_second_is_sent_at_most_the_configured_rate():
    sent: list[tuple[int, str]] = []
    coalescer = PriceCoalescer(4.0, lambda topic, seq, epoch, f: sent.append((seq, f)))
    for seq in range(1, 51):
        coalescer.offer("price:005930", seq, "e", frame(seq))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert 4 <= len(sent) <= 6  # one second of ticks at 4 a second (plus the first one)
    assert sent[-1][0] == 50  # the latest always arrives
    assert len(coalescer.pending) == 0


async def test_a_frame_sent_after_skipped_ones_is_marked_coalesced():
    sent: list[str] = []
    coalescer = PriceCoalescer(10.0, lambda topic, seq, epoch, f: sent.append(f))
    for seq in (1, 2, 3):
        coalescer.offer("price:005930", seq, "e", frame(seq))
    await asyncio.sleep(0.15)
    first, last = json.loads(sent[0]), json.loads(sent[1])
    assert "coalesced" not in first and first["seq"] == 1
    assert last["coalesced"] is True and last["seq"] == 3


async def test_at_most_one_frame_waits_per_ticker():
    coalescer = PriceCoalescer(1.0, lambda *args: None)
    for seq in range(1, 1001):
        coalescer.offer("price:005930", seq, "e", frame(seq))
        coalescer.offer("price:000660", seq, "e", frame(seq))
    assert len(coalescer.pending) == 2
    coalescer.close()


async def test_tickers_are_limited_independently():
    sent: list[str] = []
    coalescer = PriceCoalescer(1.0, lambda topic, seq, epoch, f: sent.append(topic))
    coalescer.offer("price:005930", 1, "e", frame(1))
    coalescer.offer("price:000660", 1, "e", frame(1))
    assert sent == ["price:005930", "price:000660"]
    coalescer.close()
