"""Server-side gap repair: what a consumer needs when it missed frames of a topic.

A consumer notices a gap when a frame's seq is not the next one for its topic (frames
lost while Redis restarted, a subscription re-established) or when the channel layer
says its group was resubscribed. It then sends its client the missed frames from the
topic's sequence, or a fresh snapshot when they are gone: the client needs no `since`.

Consumers of one process at the same position share one sequence read (singleflight.py)
and one snapshot query (snapshots.py): after a Redis restart hundreds of sockets ask at
the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from stockgate.realtime import metrics, sequence, singleflight, snapshots


@dataclass(frozen=True)
class CatchUp:
    """Frames to send, oldest first, as (seq, epoch, text), and the position they lead to."""

    frames: tuple[tuple[int, str, str], ...]
    epoch: str
    seq: int


async def catch_up(topic: str, epoch: str, seq: int) -> CatchUp:
    """Everything after (epoch, seq): the history's frames, or a snapshot when they are gone."""
    return await singleflight.shared(("after", topic, epoch, seq), lambda: _catch_up(topic, epoch, seq))


async def _catch_up(topic: str, epoch: str, seq: int) -> CatchUp:
    if epoch:
        frames = await sequence.replay(topic, epoch, seq)
        if frames is not None:
            if frames:
                metrics.GAP_REPAIRS.labels(how="replay").inc()
            stamped = []
            for frame in frames:
                frame_seq, frame_epoch = sequence.parse_stamp(frame)
                stamped.append((frame_seq, frame_epoch, sequence.mark_replayed(frame)))
            return CatchUp(tuple(stamped), epoch, seq + len(stamped))
    snapshot = await snapshots.current(topic)
    metrics.GAP_REPAIRS.labels(how="snapshot").inc()
    if snapshot.frame is None:
        return CatchUp((), snapshot.epoch, snapshot.seq)
    return CatchUp(((snapshot.seq, snapshot.epoch, snapshot.frame),), snapshot.epoch, snapshot.seq)
