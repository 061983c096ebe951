// The realtime client (protocol.md): one WebSocket, per-topic seq/epoch bookkeeping,
// resubscription with `since`, reconnect with capped, jittered backoff, a silence
// watchdog and a token bucket for outgoing frames. No DOM: the page hands in the socket
// URL, the server's limits and (for tests) the clock, timers and WebSocket class.

const CONNECTING = 0;
const OPEN = 1;

export const BACKOFF = Object.freeze({
  baseMs: 1000,
  capMs: 30000,
  floorMs: 250, // full jitter, but never a tight loop
  stableMs: 60000, // a connection this old resets the backoff
});
const CONNECT_TIMEOUT_MS = 10000;
const WATCHDOG_EVERY_MS = 5000;

/** The wait before the next attempt after `failures` consecutive failed connections. */
export function backoffDelay(failures, random = Math.random) {
  const cap = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.max(BACKOFF.floorMs, random() * cap);
}

/** Silence after which the socket counts as dead: two missed server pings and a margin. */
export function silenceMs(heartbeatSeconds) {
  return (2 * heartbeatSeconds + 15) * 1000;
}

/** A token bucket that stays under the server's inbound limit (frames per second) in any
 *  second: burst + whole tokens refilled within a second never exceed `maxPerSecond`. */
export function sendBucket(maxPerSecond) {
  const limit = Math.max(1, Math.floor(maxPerSecond));
  const size = Math.max(1, Math.floor(limit / 4));
  const perSecond = Math.max(limit - size - 1, limit / 2);
  return { size, ratePerMs: perSecond / 1000 };
}

/** The browser's clock, timers and WebSocket; tests pass fakes instead. */
export function defaultEnv() {
  return {
    WebSocket: globalThis.WebSocket,
    now: () => performance.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    setInterval: (fn, ms) => setInterval(fn, ms),
    random: Math.random,
    online: () => globalThis.navigator?.onLine ?? true,
  };
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

export class Realtime {
  /**
   * @param url       the WebSocket URL without query (ws://host/ws)
   * @param limits    the server's settings from the page state: heartbeat_seconds,
   *                  max_frames_per_second
   * @param onFrame   called with each data frame, in order, once
   * @param onStatus  called with ("connecting" | "reconnecting" | "connected" | "offline", attempt)
   * @param onConnected called with the `connected` frame (server_time)
   */
  constructor({ url, limits = {}, onFrame, onStatus = () => {}, onConnected = () => {}, env = defaultEnv() }) {
    this.url = url;
    this.env = env;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.onConnected = onConnected;
    this.silenceMs = silenceMs(limits.heartbeat_seconds ?? 25);
    this.bucket = sendBucket(limits.max_frames_per_second ?? 20);
    this.topics = new Map(); // topic -> {epoch, seq, rank, acked}
    this.ws = null;
    this.failures = 0; // consecutive failed connections: sets the backoff
    this.attempt = 0; // attempts since the connection was lost: shown to the user
    this.everConnected = false;
    this.openedAt = 0;
    this.lastHeard = 0;
    this.timer = null;
    this.outbox = [];
    this.tokens = this.bucket.size;
    this.tokensAt = env.now();
    this.pumpTimer = null;
    env.setInterval(() => this.watchdog(), WATCHDOG_EVERY_MS);
  }

  // rank orders resubscription after a reconnect: the gate first, prices last.
  want(topic, rank) {
    if (this.topics.has(topic)) return;
    this.topics.set(topic, { epoch: null, seq: 0, rank, acked: false });
    if (this.isOpen()) this.send({ type: "subscribe", topic });
  }

  drop(topic) {
    if (!this.topics.delete(topic)) return;
    if (this.isOpen()) this.send({ type: "unsubscribe", topic });
  }

  isOpen() {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  connect() {
    const env = this.env;
    env.clearTimeout(this.timer);
    this.timer = null;
    if (!env.online()) { this.status("offline"); return; }
    this.attempt += 1;
    this.status(this.everConnected ? "reconnecting" : "connecting");
    // Topics never seen yet subscribe in the URL (no `since` to send); the others
    // resubscribe with `since` once the socket is open. The server counts each URL topic
    // as an inbound frame, so the URL carries only what the bucket holds, paid for with
    // its tokens; the rest are sent as frames once open.
    const fresh = [...this.topics].filter(([, s]) => s.epoch === null).sort((a, b) => a[1].rank - b[1].rank).map(([t]) => t);
    this.refill();
    const inUrl = fresh.slice(0, Math.max(0, Math.floor(this.tokens)));
    this.tokens -= inUrl.length;
    const later = fresh.slice(inUrl.length);
    const query = inUrl.length ? `?subscribe=${inUrl.join(",")}` : "";
    let ws;
    try {
      ws = new env.WebSocket(`${this.url}${query}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.outbox = [];
    for (const state of this.topics.values()) state.acked = false;
    const giveUp = env.setTimeout(() => { if (ws.readyState === CONNECTING) ws.close(); }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      env.clearTimeout(giveUp);
      this.openedAt = env.now();
      this.lastHeard = this.openedAt;
      const known = [...this.topics].filter(([, s]) => s.epoch !== null).sort((a, b) => a[1].rank - b[1].rank);
      for (const [topic, s] of known) this.send({ type: "subscribe", topic, since: { epoch: s.epoch, seq: s.seq } });
      for (const topic of later) if (this.topics.get(topic)?.epoch === null) this.send({ type: "subscribe", topic });
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onerror = () => {}; // onclose follows and schedules the retry
    ws.onclose = () => {
      env.clearTimeout(giveUp);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.openedAt && env.now() - this.openedAt >= BACKOFF.stableMs) this.failures = 0;
      this.openedAt = 0;
      this.failures += 1;
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    const env = this.env;
    if (!env.online()) { this.status("offline"); return; }
    const delay = backoffDelay(this.failures, env.random);
    this.status(this.everConnected ? "reconnecting" : "connecting");
    env.clearTimeout(this.timer);
    this.timer = env.setTimeout(() => this.connect(), delay);
  }

  /** The browser came back online: retry at once instead of waiting out the backoff. */
  reconnectNow() {
    if (!this.ws) this.connect();
  }

  /** The browser went offline: say so; retries resume with reconnectNow(). */
  wentOffline() {
    this.status("offline");
  }

  watchdog() {
    if (this.isOpen() && this.env.now() - this.lastHeard > this.silenceMs) this.ws.close();
  }

  status(state) {
    this.onStatus(state, this.attempt);
  }

  send(frame) {
    this.outbox.push(JSON.stringify(frame));
    this.pump();
  }

  refill() {
    const now = this.env.now();
    this.tokens = Math.min(this.bucket.size, this.tokens + (now - this.tokensAt) * this.bucket.ratePerMs);
    this.tokensAt = now;
  }

  pump() {
    if (this.pumpTimer !== null) return;
    const { ratePerMs } = this.bucket;
    this.refill();
    while (this.outbox.length && this.tokens >= 1 && this.isOpen()) {
      this.ws.send(this.outbox.shift());
      this.tokens -= 1;
    }
    if (this.outbox.length && this.isOpen()) {
      const wait = Math.ceil((1 - this.tokens) / ratePerMs);
      this.pumpTimer = this.env.setTimeout(() => { this.pumpTimer = null; this.pump(); }, wait);
    }
  }

  receive(text) {
    this.lastHeard = this.env.now();
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (!frame || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "connected":
        this.onConnected(frame);
        this.everConnected = true;
        this.attempt = 0;
        this.status("connected");
        return;
      case "ping": this.send({ type: "pong" }); return;
      case "subscribed": {
        // The server now sends this topic in order (replay, snapshot or live): the
        // next frame is a sound baseline whatever its seq.
        const s = this.topics.get(frame.topic);
        if (s) s.acked = "baseline";
        return;
      }
      case "unsubscribed": case "pong": case "error": return;
      default: this.sequence(frame);
    }
  }

  // seq/epoch bookkeeping: duplicates are ignored, a gap or a new epoch resubscribes with `since`.
  sequence(frame) {
    const s = this.topics.get(frame.topic);
    if (!s) return;
    const stamped = isNum(frame.seq) && typeof frame.epoch === "string";
    if (!stamped) { this.onFrame(frame); return; }
    const sameEpoch = frame.epoch === s.epoch;
    if (sameEpoch && frame.seq <= s.seq && !frame.snapshot) return; // already applied
    const contiguous = sameEpoch && frame.seq === s.seq + 1;
    if (frame.snapshot || s.epoch === null || contiguous || s.acked === "baseline") {
      s.epoch = frame.epoch;
      s.seq = frame.seq;
      s.acked = true;
      this.onFrame(frame);
      return;
    }
    if (s.acked === true) {
      // A gap: ask for what was missed; frames until the new `subscribed` are dropped.
      s.acked = false;
      this.send({ type: "subscribe", topic: frame.topic, since: { epoch: s.epoch, seq: s.seq } });
    }
  }
}
