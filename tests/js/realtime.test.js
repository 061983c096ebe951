// The realtime client without a browser: sequencing, reconnect and backoff, the silence
// watchdog and the send bucket, against a fake clock and fake sockets.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { BACKOFF, Realtime, backoffDelay, sendBucket, silenceMs } from "../../static/stockgate/dashboard/realtime.js";
import { fakeEnv } from "./fake-env.js";

function client({ limits = {}, random, online } = {}) {
  const env = fakeEnv({ random, online });
  const frames = [];
  const statuses = [];
  const rt = new Realtime({
    url: "ws://test/ws", limits, env,
    onFrame: (f) => frames.push(f),
    onStatus: (state, attempt) => statuses.push([state, attempt]),
  });
  return { rt, env, frames, statuses, socket: () => env.sockets.at(-1) };
}

function connected(c, topics = ["market-gate"]) {
  topics.forEach((t, i) => c.rt.want(t, i));
  c.rt.connect();
  const ws = c.socket();
  ws.open();
  ws.deliver({ type: "connected", server_time: "2026-01-05T09:00:00+09:00" });
  for (const t of topics) ws.deliver({ type: "subscribed", topic: t });
  return ws;
}

/** Steps the clock until the client opens its next socket; returns how long that took. */
function waitForRetry(c, limitMs = BACKOFF.capMs + 1000) {
  const before = c.env.sockets.length;
  let waited = 0;
  while (c.env.sockets.length === before) {
    assert.ok(waited < limitMs, `no retry within ${limitMs} ms`);
    c.env.clock.advance(50);
    waited += 50;
  }
  return waited;
}

const gate = (seq, extra = {}) => ({ type: "market_gate_update", topic: "market-gate", epoch: "e1", seq, data: { level: seq }, ...extra });
const subscribes = (ws) => ws.sent.filter((f) => f.type === "subscribe");

describe("sequencing", () => {
  test("frames in order are applied once; duplicates and older frames are dropped", () => {
    const c = client();
    const ws = connected(c);
    for (const seq of [1, 2, 2, 1, 3]) ws.deliver(gate(seq));
    assert.deepEqual(c.frames.map((f) => f.seq), [1, 2, 3]);
    assert.deepEqual(subscribes(ws), [], "a duplicate is not a gap: nothing to ask for");
  });

  test("the first frame after `subscribed` is the baseline whatever its seq", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver(gate(41));
    ws.deliver(gate(42));
    assert.deepEqual(c.frames.map((f) => f.seq), [41, 42]);
  });

  test("a gap resubscribes with `since` once and drops frames until the new `subscribed`", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver(gate(1));
    ws.deliver(gate(3)); // 2 is missing
    ws.deliver(gate(4));
    assert.deepEqual(c.frames.map((f) => f.seq), [1]);
    assert.deepEqual(subscribes(ws), [{ type: "subscribe", topic: "market-gate", since: { epoch: "e1", seq: 1 } }]);
    ws.deliver({ type: "subscribed", topic: "market-gate" });
    ws.deliver(gate(2)); // the replay starts where the page stopped
    ws.deliver(gate(3));
    assert.deepEqual(c.frames.map((f) => f.seq), [1, 2, 3]);
  });

  test("a new epoch is a gap: the client asks again with its last epoch and seq", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver(gate(5));
    ws.deliver(gate(1, { epoch: "e2" }));
    assert.equal(c.frames.length, 1);
    assert.deepEqual(subscribes(ws).at(-1).since, { epoch: "e1", seq: 5 });
  });

  test("a snapshot is always applied and becomes the new baseline", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver(gate(9));
    ws.deliver(gate(3, { epoch: "e2", snapshot: true }));
    ws.deliver(gate(4, { epoch: "e2" }));
    assert.deepEqual(c.frames.map((f) => [f.epoch, f.seq]), [["e1", 9], ["e2", 3], ["e2", 4]]);
  });

  test("unstamped frames pass straight through; topics not wanted and garbage are ignored", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver({ type: "market_gate_update", topic: "market-gate", data: {} });
    ws.deliver({ type: "price_update", topic: "price:005930", epoch: "e", seq: 1 });
    ws.deliver("not json");
    ws.deliver({ no: "type" });
    assert.equal(c.frames.length, 1);
  });

  test("a ping is answered with a pong", () => {
    const c = client();
    const ws = connected(c);
    ws.deliver({ type: "ping" });
    assert.deepEqual(ws.sent.at(-1), { type: "pong" });
  });
});

describe("reconnect", () => {
  test("new topics subscribe in the URL; known ones resubscribe with `since`, by rank", () => {
    const c = client();
    const ws = connected(c, ["market-gate", "signal:vcp"]);
    assert.equal(ws.url, "ws://test/ws?subscribe=market-gate,signal:vcp");
    ws.deliver(gate(7));
    ws.deliver({ type: "signal_update", topic: "signal:vcp", epoch: "s", seq: 2 });
    c.rt.want("price:005930", 10);
    ws.close();
    waitForRetry(c);
    const again = c.socket();
    assert.notEqual(again, ws);
    assert.equal(again.url, "ws://test/ws?subscribe=price:005930");
    again.open();
    assert.deepEqual(subscribes(again), [
      { type: "subscribe", topic: "market-gate", since: { epoch: "e1", seq: 7 } },
      { type: "subscribe", topic: "signal:vcp", since: { epoch: "s", seq: 2 } },
    ]);
  });

  test("the URL carries only a bucket of new topics (the server counts them as frames); the rest follow as frames", () => {
    const c = client({ limits: { max_frames_per_second: 20 } });
    const topics = Array.from({ length: 12 }, (_, i) => `price:${String(i).padStart(6, "0")}`);
    topics.forEach((t, i) => c.rt.want(t, i));
    c.rt.connect();
    const ws = c.socket();
    const size = sendBucket(20).size;
    assert.equal(ws.url, `ws://test/ws?subscribe=${topics.slice(0, size).join(",")}`);
    ws.open();
    for (let ms = 0; ms < 2000; ms += 50) c.env.clock.advance(50);
    assert.deepEqual(subscribes(ws), topics.slice(size).map((topic) => ({ type: "subscribe", topic })));
  });

  test("the status says reconnecting with the attempt number, then connected", () => {
    const c = client();
    const ws = connected(c);
    ws.close();
    waitForRetry(c);
    c.socket().close();
    waitForRetry(c);
    // closed (attempt 1 was the first connection), retry 1 starts, fails, retry 2 starts
    assert.deepEqual(c.statuses.slice(-4), [["reconnecting", 0], ["reconnecting", 1], ["reconnecting", 1], ["reconnecting", 2]]);
    c.socket().open();
    c.socket().deliver({ type: "connected" });
    assert.deepEqual(c.statuses.at(-1), ["connected", 0]);
  });

  test("a socket silent for longer than two heartbeats is closed and replaced", () => {
    const c = client({ limits: { heartbeat_seconds: 25 } });
    const ws = connected(c);
    c.env.clock.advance(60_000);
    assert.equal(ws.readyState, 1, "60 s of silence with a 25 s heartbeat is still fine");
    c.env.clock.advance(10_000);
    assert.equal(ws.readyState, 3);
    waitForRetry(c);
    assert.equal(c.env.sockets.length, 2);
  });

  test("the silence limit follows the server's heartbeat: 70 s pings keep the socket", () => {
    const c = client({ limits: { heartbeat_seconds: 70 } });
    const ws = connected(c);
    for (let i = 0; i < 5; i += 1) {
      c.env.clock.advance(70_000);
      ws.deliver({ type: "ping" });
    }
    assert.equal(ws.readyState, 1);
    assert.equal(c.env.sockets.length, 1);
  });

  test("offline pauses retries; online retries at once", () => {
    const c = client();
    const ws = connected(c);
    c.env.isOnline = false;
    ws.close();
    assert.deepEqual(c.statuses.at(-1)[0], "offline");
    c.env.clock.advance(10 * BACKOFF.capMs);
    assert.equal(c.env.sockets.length, 1);
    c.env.isOnline = true;
    c.rt.reconnectNow();
    assert.equal(c.env.sockets.length, 2);
  });

  test("a connection that never opens is given up after 10 s and retried", () => {
    const c = client();
    c.rt.want("market-gate", 0);
    c.rt.connect();
    c.env.clock.advance(9_950);
    assert.equal(c.env.sockets[0].readyState, 0);
    c.env.clock.advance(50);
    assert.equal(c.env.sockets[0].readyState, 3);
    waitForRetry(c);
    assert.equal(c.env.sockets.length, 2);
  });
});

describe("backoff", () => {
  test("the cap doubles from 1 s to 30 s; full jitter never goes below 250 ms", () => {
    const caps = [1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffDelay(n, () => 1));
    assert.deepEqual(caps, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(backoffDelay(3, () => 0), 250);
    assert.equal(backoffDelay(3, () => 0.5), 2000);
  });

  test("consecutive failures grow the wait; the retry comes no earlier than the delay", () => {
    const c = client({ random: () => 1 });
    c.rt.want("market-gate", 0);
    c.rt.connect();
    const waits = [];
    for (let i = 0; i < 6; i += 1) {
      c.socket().close();
      waits.push(waitForRetry(c));
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000]);
  });

  test("a connection that stayed up 60 s resets the backoff", () => {
    const c = client({ random: () => 1 });
    c.rt.want("market-gate", 0);
    c.rt.connect();
    for (let i = 0; i < 4; i += 1) { c.socket().close(); waitForRetry(c); }
    const ws = c.socket();
    ws.open();
    c.env.clock.advance(BACKOFF.stableMs);
    ws.deliver({ type: "ping" }); // keeps the silence watchdog quiet
    ws.close();
    assert.equal(waitForRetry(c), 1000, "back to the 1 s step");
  });
});

describe("send bucket", () => {
  test("derived from the server's limit: the default 20/s gives a burst of 5 and 14/s", () => {
    assert.deepEqual(sendBucket(20), { size: 5, ratePerMs: 14 / 1000 });
  });

  for (const limit of [1, 2, 3, 5, 20, 50, 200]) {
    test(`never more than ${limit} frames in any second when the server allows ${limit}`, () => {
      const c = client({ limits: { max_frames_per_second: limit } });
      const ws = connected(c);
      const stamps = [];
      const send = ws.send.bind(ws);
      ws.send = (text) => { stamps.push(c.env.clock.time); send(text); };
      for (let i = 0; i < 120; i += 1) c.rt.send({ type: "subscribe", topic: `price:${String(i).padStart(6, "0")}` });
      for (let t = 0; t < 300; t += 10) {
        c.env.clock.advance(10_000);
        ws.deliver({ type: "unsubscribed", topic: "x" }); // the server is alive: no silence close
      }
      assert.equal(stamps.length, 120, "everything is sent in the end");
      for (let i = 0; i < stamps.length; i += 1) {
        const inWindow = stamps.filter((t) => t >= stamps[i] && t < stamps[i] + 1000).length;
        assert.ok(inWindow <= limit, `${inWindow} frames in the second from ${stamps[i]} ms`);
      }
    });
  }

  test("the silence limit is two heartbeats and 15 s", () => {
    assert.equal(silenceMs(25), 65_000);
    assert.equal(silenceMs(70), 155_000);
  });
});
