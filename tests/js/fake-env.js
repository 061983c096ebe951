// A fake clock, timers and WebSocket for the realtime client: the tests step time by
// hand and play the server's side of each socket.

export class FakeClock {
  constructor() {
    this.time = 0;
    this.nextId = 1;
    this.timers = new Map(); // id -> {at, fn, every}
  }

  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn, every: null });
    return id;
  }

  setInterval(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn, every: ms });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.at <= end && (next === null || t.at < next[1].at)) next = [id, t];
      if (next === null) break;
      const [id, t] = next;
      this.time = t.at;
      if (t.every === null) this.timers.delete(id);
      else t.at += t.every;
      t.fn();
    }
    this.time = end;
  }
}

export function fakeEnv({ random = () => 1, online = true } = {}) {
  const clock = new FakeClock();
  const sockets = [];
  const env = {
    clock,
    sockets,
    isOnline: online,
    now: () => clock.time,
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clearTimeout(id),
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
    random,
    online: () => env.isOnline,
  };
  env.WebSocket = class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }

    send(text) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(text));
    }

    close() {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code: 1006 });
    }

    // The server's side.
    open() {
      this.readyState = 1;
      this.onopen?.();
    }

    deliver(frame) {
      this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    }
  };
  return env;
}
