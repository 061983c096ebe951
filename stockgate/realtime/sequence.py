"""Per-topic sequence numbers, epochs and a bounded frame history, kept in Redis.

Every web process shares them, so a client can reconnect to any process and replay
with `since`, and a consumer that missed frames can fetch them (repair.py). Assigning
`seq` and storing the frame is one Lua script, one Redis round trip per broadcast; the
stamped frame then goes out with the channel layer's group_send (broadcast.py).

Frames are built by the script as `{"seq":N,"epoch":"E",<rest of the body>`, so the
body is serialised once by the publisher and never re-encoded on the way to sockets.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from stockgate.realtime.topics import group_for

# A topic's state is whole when both its epoch and its seq exist. Either one lost (an
# eviction, an expiry, a partial restore) starts a new epoch: a seq restarted in the old
# epoch would look like repeats to every connected client, which would drop it all. A
# lost history alone needs nothing: replay then answers 'gone' and clients resync.
# Every key of a topic also expires (ARGV[4] seconds after its last broadcast), the epoch
# one second before its seq and history, so idle topics leave Redis; the next broadcast
# then starts a new epoch as above.
PUBLISH_LUA = """
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3])
end
local seq = redis.call('INCR', KEYS[2])
local frame = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. string.sub(ARGV[2], 2)
redis.call('RPUSH', KEYS[3], frame)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[3]), -1)
local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl + 1)
redis.call('EXPIRE', KEYS[3], ttl + 1)
return frame
"""

# Returns {'ok', frame...} when every frame after `since` is still held, else {'gone'};
# also {'gone'} when more than ARGV[3] frames are missing (0: no limit).
REPLAY_LUA = """
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or epoch ~= ARGV[1] then return {'gone'} end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[2])
if since > last or since < 0 then return {'gone'} end
local n = last - since
if n == 0 then return {'ok'} end
local limit = tonumber(ARGV[3])
if limit > 0 and n > limit then return {'gone'} end
if n > redis.call('LLEN', KEYS[3]) then return {'gone'} end
local frames = redis.call('LRANGE', KEYS[3], -n, -1)
table.insert(frames, 1, 'ok')
return frames
"""

# The topic's (epoch, seq); starts a new epoch at seq 0 when the topic is new or lost
# its epoch or its seq (as PUBLISH_LUA does, so the next publish continues this epoch).
# A new epoch expires like PUBLISH_LUA's keys (ARGV[2] seconds) if nothing is published.
CURRENT_LUA = """
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or redis.call('EXISTS', KEYS[2]) == 0 then
  local ttl = tonumber(ARGV[2])
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'EX', ttl)
  redis.call('SET', KEYS[2], 0, 'EX', ttl + 1)
  redis.call('DEL', KEYS[3])
end
return {epoch, tonumber(redis.call('GET', KEYS[2]))}
"""


@dataclass(frozen=True)
class TopicKeys:
    epoch: str
    seq: str
    history: str

    def as_list(self) -> list[str]:
        return [self.epoch, self.seq, self.history]


def keys_for(topic: str) -> TopicKeys:
    group = group_for(topic)
    base = f"{settings.REALTIME_PREFIX}:topic:{group}"
    return TopicKeys(f"{base}:epoch", f"{base}:seq", f"{base}:history")


def new_epoch() -> str:
    return f"{int(time.time())}-{uuid.uuid4().hex[:8]}"


def parse_stamp(frame: str) -> tuple[int, str]:
    """(seq, epoch) of a frame built by PUBLISH_LUA, without decoding the JSON."""
    # The frame starts with '{"seq":N,"epoch":"E",' by construction.
    comma = frame.index(",", 7)
    start = comma + 10  # len(',"epoch":"')
    return int(frame[7:comma]), frame[start : frame.index('"', start)]


def mark_replayed(frame: str) -> str:
    return '{"replayed":true,' + frame[1:]


def publish_args(topic: str, body: str) -> tuple[list[str], list[str | int]]:
    if not (body.startswith("{") and len(body) > 2):
        raise ValueError("body must be a non-empty JSON object")
    return keys_for(topic).as_list(), [new_epoch(), body, settings.WS_HISTORY_FRAMES, settings.WS_TOPIC_TTL_SECONDS]


async def replay(topic: str, epoch: str, seq: int, limit: int = 0) -> list[str] | None:
    """Every frame after `seq` in `epoch`, in order; None when they are gone, or when
    there are more than `limit` of them (0: as many as the history holds)."""
    from stockgate.realtime.redis_conn import async_client

    keys = keys_for(topic)
    reply = await async_client().eval(REPLAY_LUA, 3, *keys.as_list(), epoch, seq, limit)
    if not reply or reply[0] != b"ok":
        return None
    return [frame.decode() for frame in reply[1:]]


async def current(topic: str) -> tuple[str, int]:
    """(epoch, last seq) of a topic, creating its epoch when it has none."""
    from stockgate.realtime.redis_conn import async_client

    keys = keys_for(topic)
    epoch, seq = await async_client().eval(CURRENT_LUA, 3, *keys.as_list(), new_epoch(), settings.WS_TOPIC_TTL_SECONDS)
    return epoch.decode(), int(seq)
