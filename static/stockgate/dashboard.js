// The stockgate dashboard: paints the server-rendered state at once, then applies live
// frames from /ws (protocol.md). One module, in sections: format, realtime connection,
// gate card, scheduler watchdog, charts, signals table, watchlist, wiring.

const STATE = readJson("dashboard-state");
const T = readJson("dashboard-strings");
const LANG = document.documentElement.lang || "ko";
const KO = LANG.startsWith("ko");
const $ = (id) => document.getElementById(id);

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

function fmt(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

// ---------------------------------------------------------------- format

const intFmt = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
const indexFmt = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const kstFmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const kstDateFmt = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit" });

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const won = (v) => (isNum(v) ? `${intFmt.format(Math.round(v))}원` : "—");
const kst = (iso) => (iso ? `${kstFmt.format(new Date(iso))} KST` : "—");
const kstDate = (iso) => (iso ? kstDateFmt.format(new Date(iso)) : "");

function direction(v) {
  if (!isNum(v)) return "none";
  return v > 0 ? "up" : v < 0 ? "down" : "flat";
}

// Change in percent with sign and arrow, so direction never relies on colour alone.
function pct(v) {
  if (!isNum(v)) return "—";
  const arrow = v > 0 ? "▲" : v < 0 ? "▼" : "–";
  const sign = v > 0 ? "+" : "";
  return `${arrow} ${sign}${v.toFixed(2)}%`;
}

// Writes only what changed: at hundreds of updates a second, untouched nodes stay clean.
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setDir(el, dir) {
  if (el.dataset.dir !== dir) el.dataset.dir = dir;
}

function setChange(el, v) {
  const text = pct(v);
  if (el.textContent === text) return;
  el.textContent = text;
  setDir(el, direction(v));
  const word = { up: T.up, down: T.down, flat: T.flat }[direction(v)];
  if (word) el.setAttribute("aria-label", `${word} ${text.replace(/^[▲▼–] /, "")}`);
  else el.removeAttribute("aria-label");
}

// The server's clock, so ages are measured against the time the data is stamped with.
let clockOffset = STATE.server_time ? Date.parse(STATE.server_time) - Date.now() : 0;
const serverNow = () => Date.now() + clockOffset;

function announce(text) {
  const box = $("announcer");
  box.textContent = "";
  // A fresh text node after clearing makes screen readers read repeated messages too.
  requestAnimationFrame(() => { box.textContent = text; });
}

// ---------------------------------------------------------------- realtime connection

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const BACKOFF_FLOOR_MS = 250; // full jitter, but never a tight loop
const STABLE_MS = 60000; // a connection this old resets the backoff
const SILENCE_MS = 65000; // the server pings every 25 s; this much silence means a dead socket
const CONNECT_TIMEOUT_MS = 10000;
// The server drops frames above 20 a second; this bucket never sends more than 5 + 14 in any second.
const BUCKET_SIZE = 5;
const BUCKET_RATE_PER_MS = 14 / 1000;

class Realtime {
  constructor(path, { onFrame, onStatus }) {
    this.path = path;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.topics = new Map(); // topic -> {epoch, seq, rank, acked}
    this.ws = null;
    this.failures = 0; // consecutive failed connections: sets the backoff
    this.attempt = 0; // attempts since the connection was lost: shown to the user
    this.everConnected = false;
    this.openedAt = 0;
    this.lastHeard = 0;
    this.timer = null;
    this.outbox = [];
    this.tokens = BUCKET_SIZE;
    this.tokensAt = performance.now();
    this.pumpTimer = null;
    setInterval(() => this.watchdog(), 5000);
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.status("offline"));
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
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!navigator.onLine) { this.status("offline"); return; }
    this.attempt += 1;
    this.status(this.everConnected ? "reconnecting" : "connecting");
    // Topics never seen yet subscribe in the URL (no `since` to send); the others
    // resubscribe with `since` once the socket is open.
    const fresh = [...this.topics].filter(([, s]) => s.epoch === null).map(([t]) => t);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = fresh.length ? `?subscribe=${fresh.join(",")}` : "";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}${this.path}${query}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.outbox = [];
    for (const state of this.topics.values()) state.acked = false;
    const giveUp = setTimeout(() => { if (ws.readyState === WebSocket.CONNECTING) ws.close(); }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(giveUp);
      this.openedAt = performance.now();
      this.lastHeard = this.openedAt;
      const known = [...this.topics].filter(([, s]) => s.epoch !== null).sort((a, b) => a[1].rank - b[1].rank);
      for (const [topic, s] of known) this.send({ type: "subscribe", topic, since: { epoch: s.epoch, seq: s.seq } });
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onerror = () => {}; // onclose follows and schedules the retry
    ws.onclose = () => {
      clearTimeout(giveUp);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.openedAt && performance.now() - this.openedAt >= STABLE_MS) this.failures = 0;
      this.openedAt = 0;
      this.failures += 1;
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (!navigator.onLine) { this.status("offline"); return; }
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, this.failures - 1));
    const delay = Math.max(BACKOFF_FLOOR_MS, Math.random() * cap);
    this.status(this.everConnected ? "reconnecting" : "connecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (!this.ws) this.connect();
  }

  watchdog() {
    if (this.isOpen() && performance.now() - this.lastHeard > SILENCE_MS) this.ws.close();
  }

  status(state) {
    this.onStatus(state, this.attempt);
  }

  send(frame) {
    this.outbox.push(JSON.stringify(frame));
    this.pump();
  }

  pump() {
    if (this.pumpTimer !== null) return;
    const now = performance.now();
    this.tokens = Math.min(BUCKET_SIZE, this.tokens + (now - this.tokensAt) * BUCKET_RATE_PER_MS);
    this.tokensAt = now;
    while (this.outbox.length && this.tokens >= 1 && this.isOpen()) {
      this.ws.send(this.outbox.shift());
      this.tokens -= 1;
    }
    if (this.outbox.length && this.isOpen()) {
      const wait = Math.ceil((1 - this.tokens) / BUCKET_RATE_PER_MS);
      this.pumpTimer = setTimeout(() => { this.pumpTimer = null; this.pump(); }, wait);
    }
  }

  receive(text) {
    this.lastHeard = performance.now();
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (!frame || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "connected":
        if (frame.server_time) clockOffset = Date.parse(frame.server_time) - Date.now();
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

// ---------------------------------------------------------------- gate card

let gateMessage = STATE.gate;

function componentName(name) {
  return T[`component_${name}`] || name;
}

function renderGate(message) {
  gateMessage = message;
  const card = $("gate");
  if (!message) {
    card.dataset.status = "none";
    $("gate-label").textContent = T.status_none;
    renderFreshness();
    return;
  }
  const d = message.data;
  const previous = card.dataset.status;
  card.dataset.status = d.status;
  $("gate-status").textContent = d.status;
  $("gate-label").textContent = T[`status_${d.status}`] || "";
  $("gate-icon").textContent = { GREEN: "●", YELLOW: "▲", RED: "■" }[d.status] || "";
  $("gate-level").textContent = isNum(d.level) ? String(d.level) : "—";
  const gauge = $("gauge");
  gauge.setAttribute("aria-valuenow", String(d.level ?? 0));
  gauge.setAttribute("aria-valuetext", `${d.level} / 100, ${d.status} ${T[`status_${d.status}`] || ""}`);
  $("gauge-fill").style.width = `${Math.max(0, Math.min(100, d.level || 0))}%`;
  $("kospi").textContent = isNum(d.kospi) ? indexFmt.format(d.kospi) : "—";
  $("kosdaq").textContent = isNum(d.kosdaq) ? indexFmt.format(d.kosdaq) : "—";
  setChange($("kospi-chg"), d.kospi_change_pct);
  setChange($("kosdaq-chg"), d.kosdaq_change_pct);
  const asof = $("gate-asof");
  asof.textContent = `${kstDate(d.as_of)} ${kst(d.as_of)}`;
  asof.dateTime = d.as_of || "";
  $("gate-session").textContent = T[`session_${d.session}`] || d.session || "";
  renderComponents(d.components || []);
  renderFreshness();
  if (previous && previous !== "none" && previous !== d.status) {
    announce(fmt(T.gate_changed, { status: `${d.status} ${T[`status_${d.status}`] || ""}`, level: d.level }));
  }
}

function renderComponents(components) {
  const list = $("components");
  const items = components.map((c) => {
    const li = document.createElement("li");
    const known = isNum(c.points);
    li.className = known ? "component" : "component unknown";
    const share = known && c.max ? Math.round((c.points / c.max) * 100) : 0;
    const head = document.createElement("div");
    head.className = "component-head";
    const name = document.createElement("span");
    name.className = "component-name";
    name.textContent = c.market ? `${componentName(c.name)} · ${c.market}` : componentName(c.name);
    const pts = document.createElement("span");
    pts.className = "component-points num";
    pts.textContent = known ? `${c.points}/${c.max}${T.points}` : `${T.unknown} /${c.max}${T.points}`;
    head.append(name, pts);
    const bar = document.createElement("div");
    bar.className = "component-bar";
    bar.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.style.width = `${share}%`;
    bar.append(fill);
    const reason = document.createElement("p");
    reason.className = "component-reason";
    reason.textContent = (KO && c.reason_ko) || c.reason || "";
    li.append(head, bar, reason);
    return li;
  });
  list.replaceChildren(...items);
}

// LIVE / STALE / CLOSED from the data's own age and session, re-evaluated every second:
// a quiet socket does not make old data look fresh. While the scheduler is late nothing
// recomputes the gate, so a row that is still young is not called LIVE either.
function freshness(message) {
  if (!message) return "stale";
  const d = message.data;
  if (d.stale) return "stale";
  const computed = Date.parse(message.timestamp || d.as_of);
  const tooOld = isNum(computed) && serverNow() - computed > STATE.gate_max_age_seconds * 1000;
  if (d.session && d.session !== "open") return "closed";
  return tooOld || ops?.scheduler_late ? "stale" : "live";
}

function renderFreshness() {
  const badge = $("freshness");
  const state = freshness(gateMessage);
  const why = state === "stale" && ops?.scheduler_late ? T.gate_not_updated : T[state];
  if (badge.dataset.fresh === state && badge.title === why && badge.textContent) return;
  badge.dataset.fresh = state;
  badge.textContent = state.toUpperCase();
  badge.title = why;
  badge.setAttribute("aria-label", `${state.toUpperCase()} · ${why}`);
}

// ---------------------------------------------------------------- scheduler watchdog

// The watchdog's verdict (ops_update data): beat's heartbeat and each periodic task's.
let ops = STATE.ops || null;
const at = (iso) => (iso ? kst(iso) : T.never);

function lateItem(name, detail) {
  const li = document.createElement("li");
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.dataset.fresh = "stale";
  badge.textContent = "STALE";
  const label = document.createElement("strong");
  label.textContent = name;
  li.append(badge, label, ` · ${detail}`);
  return li;
}

function renderOps(data) {
  ops = data || null;
  const banner = $("ops-banner");
  const late = Boolean(ops?.scheduler_late);
  const items = [];
  if (late && ops.beat && !ops.beat.alive) items.push([T.beat_down, fmt(T.last_signal, { time: at(ops.beat.last_tick) })]);
  for (const t of late ? ops.tasks || [] : []) {
    if (t.stale) items.push([t.name, `${fmt(T.late_since, { time: at(t.due_by) })} · ${fmt(T.last_run, { time: at(t.last_finished) })}`]);
  }
  // Rewritten only when it says something new: every rewrite of an alert is read out.
  const key = JSON.stringify(items);
  if (banner.dataset.key !== key) {
    banner.dataset.key = key;
    $("ops-late").replaceChildren(...items.map(([name, detail]) => lateItem(name, detail)));
  }
  if (banner.hidden === late) banner.hidden = !late;
  renderFreshness();
}

// ---------------------------------------------------------------- charts

const charts = { gate: null, index: null, lib: null, dirty: false };
const gateSeries = { x: [], level: [] };
const indexSeries = { x: [], kospi: [], kosdaq: [] };
const MAX_POINTS = 2000;
const toSec = (iso) => Date.parse(iso) / 1000;

function seedCharts() {
  for (const p of STATE.gate_history || []) addGatePoint(p.t, p.level, p.kospi_change_pct, p.kosdaq_change_pct);
}

function pushPoint(series, x, values) {
  const xs = series.x;
  if (xs.length && x < xs[xs.length - 1]) return; // out of order: the chart only grows forward
  if (xs.length && x === xs[xs.length - 1]) {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) series[k][xs.length - 1] = v;
    return;
  }
  xs.push(x);
  for (const k of Object.keys(series)) if (k !== "x") series[k].push(values[k] ?? null);
  if (xs.length > MAX_POINTS) for (const k of Object.keys(series)) series[k].shift();
}

function addGatePoint(iso, level, kospiPct, kosdaqPct) {
  if (!iso) return;
  pushPoint(gateSeries, toSec(iso), { level });
  if (isNum(kospiPct) || isNum(kosdaqPct)) {
    pushPoint(indexSeries, toSec(iso), { kospi: kospiPct ?? undefined, kosdaq: kosdaqPct ?? undefined });
  }
  markCharts();
}

function markCharts() {
  if (charts.dirty || !charts.lib) return;
  charts.dirty = true;
  // Redraw at most once a second, whatever the frame rate.
  setTimeout(() => {
    charts.dirty = false;
    charts.gate?.setData([gateSeries.x, gateSeries.level]);
    charts.index?.setData([indexSeries.x, indexSeries.kospi, indexSeries.kosdaq]);
  }, 1000);
}

function chartUnavailable() {
  for (const id of ["chart-gate", "chart-index"]) {
    const box = $(id);
    box.classList.add("chart-missing");
    box.textContent = T.chart_unavailable;
  }
}

function chartOptions(box, series, scales, extra = {}) {
  const uPlot = charts.lib;
  return {
    width: Math.max(240, box.clientWidth),
    height: 180,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Asia/Seoul"),
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, ...scales },
    axes: [
      {
        stroke: "#4a5568", grid: { stroke: "#edf0f4" }, ticks: { stroke: "#d5dbe3" },
        // 24-hour KST labels (the dates handed in are already shifted by tzDate).
        values: (u, splits) => splits.map((v) => {
          const d = uPlot.tzDate(new Date(v * 1000), "Asia/Seoul");
          return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
        }),
      },
      { stroke: "#4a5568", grid: { stroke: "#edf0f4" }, ticks: { stroke: "#d5dbe3" }, size: 48 },
    ],
    series: [{ label: "KST", value: (u, v) => (v == null ? "—" : kstFmt.format(new Date(v * 1000))) }, ...series],
    ...extra,
  };
}

function thresholdHook(u) {
  const ctx = u.ctx;
  const lines = [[STATE.thresholds?.green, "#2e7d32"], [STATE.thresholds?.yellow, "#b26a00"]];
  ctx.save();
  ctx.setLineDash([5, 4]);
  ctx.lineWidth = 1;
  for (const [value, colour] of lines) {
    if (!isNum(value)) continue;
    const y = Math.round(u.valToPos(value, "y", true)) + 0.5;
    ctx.strokeStyle = colour;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
  }
  ctx.restore();
}

async function buildCharts() {
  if (!STATE.chart_module) { chartUnavailable(); return; }
  try {
    charts.lib = (await import(STATE.chart_module)).default;
  } catch {
    chartUnavailable();
    return;
  }
  const uPlot = charts.lib;
  const gateBox = $("chart-gate");
  const indexBox = $("chart-index");
  charts.gate = new uPlot(chartOptions(gateBox, [
    { label: T.gate_level, stroke: "#1f3a5f", width: 2, fill: "rgba(31,58,95,0.08)", value: (u, v) => (v == null ? "—" : String(v)) },
  ], { y: { range: [0, 100] } }, { hooks: { draw: [thresholdHook] } }), [gateSeries.x, gateSeries.level], gateBox);
  const pctValue = (u, v) => (v == null ? "—" : `${v > 0 ? "+" : ""}${v.toFixed(2)}%`);
  charts.index = new uPlot(chartOptions(indexBox, [
    { label: "KOSPI", stroke: "#37474f", width: 2, spanGaps: true, value: pctValue },
    { label: "KOSDAQ", stroke: "#8e24aa", width: 2, dash: [6, 3], spanGaps: true, value: pctValue },
  ], {}), [indexSeries.x, indexSeries.kospi, indexSeries.kosdaq], indexBox);
  const resize = new ResizeObserver(() => {
    for (const [chart, box] of [[charts.gate, gateBox], [charts.index, indexBox]]) {
      const width = Math.max(240, box.clientWidth);
      if (chart && chart.width !== width) chart.setSize({ width, height: 180 });
    }
  });
  resize.observe(gateBox);
  resize.observe(indexBox);
}

// ---------------------------------------------------------------- prices (shared by table and watchlist)

const prices = new Map(); // ticker -> {price, change, change_rate, as_of}
const pendingPrices = new Map();
let priceFlushScheduled = false;
const PRICE_FLUSH_MS = 200;
const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

for (const [ticker, quote] of Object.entries(STATE.quotes || {})) prices.set(ticker, quote);

function queuePrice(ticker, data) {
  pendingPrices.set(ticker, data);
  if (priceFlushScheduled) return;
  priceFlushScheduled = true;
  // Hundreds of frames a second collapse into a few DOM passes a second: the latest
  // price per ticker is what a reader can take in, and layout work stays bounded.
  setTimeout(() => requestAnimationFrame(flushPrices), PRICE_FLUSH_MS);
}

function flushPrices() {
  priceFlushScheduled = false;
  for (const [ticker, data] of pendingPrices) {
    const before = prices.get(ticker)?.price;
    prices.set(ticker, data);
    const moved = isNum(before) && isNum(data.price) && data.price !== before ? (data.price > before ? "up" : "down") : null;
    updateSignalPrice(ticker, moved);
    updateWatchPrice(ticker, moved);
  }
  pendingPrices.clear();
}

const FLASH = { up: "rgba(211,47,47,0.28)", down: "rgba(21,101,192,0.28)" };

const flashing = new WeakMap(); // cell -> running animation

function flash(cell, dir) {
  if (!dir) return;
  const running = flashing.get(cell);
  // A cell already flashing the same way keeps its animation: a ticker updating ten
  // times a second does not start ten animations a second.
  if (running && cell.dataset.flash === dir) return;
  running?.cancel();
  cell.dataset.flash = dir;
  const done = () => {
    if (flashing.get(cell) !== animation) return;
    flashing.delete(cell);
    delete cell.dataset.flash;
  };
  let animation = null;
  if (reduceMotion.matches) {
    animation = { cancel: () => {} };
    setTimeout(done, 900);
  } else {
    animation = cell.animate([{ backgroundColor: FLASH[dir] }, { backgroundColor: "rgba(0,0,0,0)" }], { duration: 900, easing: "ease-out" });
    animation.onfinish = done;
  }
  flashing.set(cell, animation);
}

// ---------------------------------------------------------------- signals table

let signals = [];
let signalDate = null;
const signalRows = new Map(); // ticker -> {price, ret}
const expanded = new Set();
const sort = { key: "score", dir: -1 };
const filters = { grade: "", market: "" };
const GRADE_ORDER = { S: 0, A: 1, B: 2, C: 3 };

function signalReturn(s) {
  const p = prices.get(s.ticker)?.price;
  return isNum(p) && s.entry_price ? ((p - s.entry_price) / s.entry_price) * 100 : null;
}

function sortValue(s, key) {
  if (key === "price") return prices.get(s.ticker)?.price ?? null;
  if (key === "return") return signalReturn(s);
  if (key === "grade") return GRADE_ORDER[s.grade] ?? 9;
  return s[key];
}

function visibleSignals() {
  const rows = signals.filter((s) => (!filters.grade || s.grade === filters.grade) && (!filters.market || s.market === filters.market));
  const { key, dir } = sort;
  return rows.sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va == null && vb == null) return a.ticker.localeCompare(b.ticker);
    if (va == null) return 1; // unknowns last in either direction
    if (vb == null) return -1;
    const cmp = typeof va === "string" ? va.localeCompare(vb, "ko") : va - vb;
    return cmp * dir || a.ticker.localeCompare(b.ticker);
  });
}

function td(text, className) {
  const cell = document.createElement("td");
  if (className) cell.className = className;
  cell.textContent = text;
  return cell;
}

// A cell whose value changes live: the value sits in a size-contained box, so a new
// price re-lays out that box only, never the table around it.
function liveCell(className) {
  const cell = document.createElement("td");
  cell.className = "r num";
  const value = document.createElement("span");
  value.className = `live ${className}`;
  cell.append(value);
  return [cell, value];
}

function signalRow(s) {
  const tr = document.createElement("tr");
  tr.dataset.ticker = s.ticker;
  const nameCell = document.createElement("th");
  nameCell.scope = "row";
  nameCell.className = "name-cell";
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "expand";
  const open = expanded.has(s.ticker);
  setExpanded(toggle, s, open);
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = s.name;
  const meta = document.createElement("span");
  meta.className = "ticker";
  meta.textContent = `${s.ticker}${s.market ? ` · ${s.market}` : ""}`;
  const star = document.createElement("button");
  star.type = "button";
  star.className = "star";
  star.dataset.ticker = s.ticker;
  refreshStar(star, s);
  const wrap = document.createElement("div");
  wrap.className = "name-wrap";
  wrap.append(toggle, label, meta, star);
  nameCell.append(wrap);
  const grade = td("", "");
  const badge = document.createElement("span");
  badge.className = `grade grade-${s.grade}`;
  badge.textContent = s.grade;
  grade.append(badge);
  const qty = s.position_size > 0 ? `${intFmt.format(s.position_size)}${T.shares_unit}` : T.watch_only;
  const [priceCell, price] = liveCell("price");
  const [retCell, ret] = liveCell("ret");
  tr.append(nameCell, grade, td(String(s.score), "r num"), td(won(s.entry_price), "r num"),
    td(won(s.target_price), "r num up-text"), td(won(s.stop_loss), "r num down-text"), td(qty, "r num"), priceCell, retCell);
  signalRows.set(s.ticker, { tr, price, ret, signal: s });
  fillSignalPrice(s, price, ret);
}

function setExpanded(toggle, s, open) {
  toggle.setAttribute("aria-expanded", String(open));
  toggle.setAttribute("aria-controls", `reasons-${s.ticker}`);
  toggle.setAttribute("aria-label", `${open ? T.hide_reasons : T.show_reasons}: ${s.name}`);
  toggle.textContent = open ? "▾" : "▸";
}

// Reasons rows exist only while open: 200 signals stay 200 rows to lay out.
function reasonsRow(s) {
  const detail = document.createElement("tr");
  detail.className = "reasons-row";
  detail.id = `reasons-${s.ticker}`;
  const cell = document.createElement("td");
  cell.colSpan = 9;
  const list = document.createElement("ul");
  for (const reason of s.reasons || []) {
    const li = document.createElement("li");
    li.textContent = reason;
    list.append(li);
  }
  cell.append(list);
  detail.append(cell);
  return detail;
}

function fillSignalPrice(s, priceCell, retCell) {
  const q = prices.get(s.ticker);
  setText(priceCell, won(q?.price));
  const r = signalReturn(s);
  setText(retCell, pct(r));
  setDir(retCell, direction(r));
}

function updateSignalPrice(ticker, moved) {
  const row = signalRows.get(ticker);
  if (!row) return;
  fillSignalPrice(row.signal, row.price, row.ret);
  flash(row.price, moved);
}

// Rows are built once per scan; sorting and filtering only move the existing rows.
function buildSignalRows() {
  signalRows.clear();
  for (const s of signals) signalRow(s);
}

function renderSignals() {
  const rows = visibleSignals();
  const body = $("signal-rows");
  if (!rows.length) {
    const tr = document.createElement("tr");
    const cell = td(T.no_signals, "empty");
    cell.colSpan = 9;
    tr.append(cell);
    body.replaceChildren(tr);
  } else {
    const fragment = document.createDocumentFragment();
    for (const s of rows) {
      fragment.append(signalRows.get(s.ticker).tr);
      if (expanded.has(s.ticker)) fragment.append($(`reasons-${s.ticker}`) || reasonsRow(s));
    }
    body.replaceChildren(fragment);
  }
  $("signal-count").textContent = String(signals.length);
  $("signal-date").textContent = signalDate || "";
  for (const th of document.querySelectorAll("#signal-table th[data-key]")) {
    th.setAttribute("aria-sort", th.dataset.key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
  }
}

function setSignals(data, announceIt) {
  signals = Array.isArray(data?.signals) ? data.signals : [];
  signalDate = data?.signal_date || signals[0]?.signal_date || null;
  for (const s of signals) if (s.name) knownNames.set(s.ticker, s.name);
  for (const ticker of [...expanded]) if (!signals.some((s) => s.ticker === ticker)) expanded.delete(ticker);
  document.querySelectorAll("#signal-rows .reasons-row").forEach((row) => row.remove());
  buildSignalRows();
  renderSignals();
  syncPriceTopics();
  if (announceIt) announce(fmt(T.signals_updated, { count: signals.length }));
}

function wireSignalTable() {
  for (const th of document.querySelectorAll("#signal-table th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      const textual = key === "name" || key === "grade";
      sort.dir = sort.key === key ? -sort.dir : textual ? 1 : -1;
      sort.key = key;
      renderSignals();
    });
  }
  $("filter-grade").addEventListener("change", (e) => { filters.grade = e.target.value; renderSignals(); });
  $("filter-market").addEventListener("change", (e) => { filters.market = e.target.value; renderSignals(); });
  $("signal-rows").addEventListener("click", (e) => {
    const expand = e.target.closest("button.expand");
    if (expand) {
      const row = expand.closest("tr");
      const s = signalRows.get(row.dataset.ticker)?.signal;
      if (!s) return;
      const open = !expanded.has(s.ticker);
      if (open) {
        expanded.add(s.ticker);
        row.after(reasonsRow(s));
      } else {
        expanded.delete(s.ticker);
        $(`reasons-${s.ticker}`)?.remove();
      }
      setExpanded(expand, s, open);
      return;
    }
    const star = e.target.closest("button.star");
    if (star) toggleWatch(star.dataset.ticker);
  });
}

// ---------------------------------------------------------------- watchlist

const WATCH_KEY = "stockgate.watchlist";
const NAMES_KEY = "stockgate.watchnames";
const WATCH_MAX = 100;
const TICKER = /^[0-9][0-9A-Z]{5}$/;
const knownNames = new Map(Object.entries(loadJson(NAMES_KEY, {})));
let watchlist = loadJson(WATCH_KEY, []).filter((t) => typeof t === "string" && TICKER.test(t)).slice(0, WATCH_MAX);
const watchRows = new Map(); // ticker -> {price, change, time}

function loadJson(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

function saveWatchlist() {
  try {
    localStorage.setItem(WATCH_KEY, JSON.stringify(watchlist));
    const names = Object.fromEntries(watchlist.filter((t) => knownNames.has(t)).map((t) => [t, knownNames.get(t)]));
    localStorage.setItem(NAMES_KEY, JSON.stringify(names));
  } catch { /* storage full or disabled: the list lives for this page only */ }
}

function refreshStar(star, s) {
  const on = watchlist.includes(s.ticker);
  star.textContent = on ? "★" : "☆";
  star.setAttribute("aria-pressed", String(on));
  star.setAttribute("aria-label", `${T.watch_toggle}: ${s.name}`);
}

function toggleWatch(ticker) {
  if (watchlist.includes(ticker)) removeWatch(ticker);
  else addWatch(ticker);
  for (const star of document.querySelectorAll(`button.star[data-ticker="${ticker}"]`)) {
    refreshStar(star, { ticker, name: knownNames.get(ticker) || ticker });
  }
}

function addWatch(raw) {
  const ticker = raw.trim().toUpperCase();
  const msg = $("watch-msg");
  if (!TICKER.test(ticker)) { msg.textContent = T.watch_invalid; return false; }
  if (watchlist.includes(ticker)) { msg.textContent = ""; return true; }
  if (watchlist.length >= WATCH_MAX) { msg.textContent = fmt(T.watch_full, { count: WATCH_MAX }); return false; }
  watchlist.push(ticker);
  msg.textContent = "";
  saveWatchlist();
  renderWatchlist();
  syncPriceTopics();
  return true;
}

function removeWatch(ticker) {
  watchlist = watchlist.filter((t) => t !== ticker);
  saveWatchlist();
  renderWatchlist();
  syncPriceTopics();
  for (const star of document.querySelectorAll(`button.star[data-ticker="${ticker}"]`)) {
    refreshStar(star, { ticker, name: knownNames.get(ticker) || ticker });
  }
}

function renderWatchlist() {
  watchRows.clear();
  const body = $("watch-rows");
  if (!watchlist.length) {
    const tr = document.createElement("tr");
    const cell = td(T.watch_empty, "empty");
    cell.colSpan = 5;
    tr.append(cell);
    body.replaceChildren(tr);
    return;
  }
  const fragment = document.createDocumentFragment();
  for (const ticker of watchlist) {
    const tr = document.createElement("tr");
    tr.dataset.ticker = ticker;
    const name = document.createElement("th");
    name.scope = "row";
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = knownNames.get(ticker) || ticker;
    const code = document.createElement("span");
    code.className = "ticker";
    code.textContent = ticker;
    name.append(label, code);
    const [priceCell, price] = liveCell("price");
    const [changeCell, change] = liveCell("chg");
    const [timeCell, time] = liveCell("time");
    const remove = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "remove";
    button.textContent = "×";
    button.setAttribute("aria-label", `${T.remove}: ${knownNames.get(ticker) || ticker}`);
    button.addEventListener("click", () => removeWatch(ticker));
    remove.append(button);
    tr.append(name, priceCell, changeCell, timeCell, remove);
    watchRows.set(ticker, { price, change, time });
    fillWatch(ticker);
    fragment.append(tr);
  }
  body.replaceChildren(fragment);
}

function fillWatch(ticker) {
  const row = watchRows.get(ticker);
  if (!row) return;
  const q = prices.get(ticker);
  setText(row.price, won(q?.price));
  setChange(row.change, q?.change_rate);
  setText(row.time, q?.as_of ? kstFmt.format(new Date(q.as_of)) : "—");
}

function updateWatchPrice(ticker, moved) {
  const row = watchRows.get(ticker);
  if (!row) return;
  fillWatch(ticker);
  flash(row.price, moved);
}

// ---------------------------------------------------------------- wiring

const FIXED_TOPICS = ["market-gate", "signal:vcp", "market:kospi", "market:kosdaq"];
const rt = new Realtime(STATE.ws_path || "/ws", { onFrame: applyFrame, onStatus: renderConnection });

// The watchlist first, then signals by score, within the server's subscription limit.
function syncPriceTopics() {
  const wanted = new Set();
  const budget = STATE.max_price_topics ?? 196;
  for (const t of watchlist) if (wanted.size < budget) wanted.add(t);
  for (const s of [...signals].sort((a, b) => b.score - a.score)) if (wanted.size < budget) wanted.add(s.ticker);
  for (const topic of [...rt.topics.keys()]) {
    if (topic.startsWith("price:") && !wanted.has(topic.slice(6))) rt.drop(topic);
  }
  let rank = 10;
  for (const t of wanted) rt.want(`price:${t}`, rank++);
}

function applyFrame(frame) {
  switch (frame.type) {
    case "market_gate_update": {
      const d = frame.data || {};
      const newDay = gateMessage?.data?.trading_date && d.trading_date && d.trading_date !== gateMessage.data.trading_date;
      if (newDay) for (const series of [gateSeries, indexSeries]) for (const k of Object.keys(series)) series[k].length = 0;
      renderGate(frame);
      addGatePoint(d.as_of, d.level, d.kospi_change_pct, d.kosdaq_change_pct);
      break;
    }
    case "ops_update":
      renderOps(frame.data);
      break;
    case "signal_update":
      setSignals(frame.data, !frame.snapshot);
      break;
    case "price_update":
      if (frame.ticker && frame.data) queuePrice(frame.ticker, frame.data);
      break;
    case "index_update": {
      const d = frame.data || {};
      const key = frame.topic === "market:kosdaq" ? "kosdaq" : "kospi";
      if (d.as_of && isNum(d.change_rate)) {
        pushPoint(indexSeries, toSec(d.as_of), { [key]: d.change_rate });
        markCharts();
      }
      break;
    }
    default:
      break;
  }
}

function renderConnection(state, attempt) {
  const box = $("conn");
  box.dataset.state = state;
  box.dataset.attempt = String(attempt);
  const label = state === "reconnecting" ? `${T.reconnecting} (${T.attempt} ${attempt})` : T[state] || state;
  if ($("conn-label").textContent !== label) $("conn-label").textContent = label;
}

function start() {
  const limits = STATE.thresholds || {};
  const gauge = $("gauge");
  gauge.style.setProperty("--y", `${limits.yellow ?? 40}%`);
  gauge.style.setProperty("--g", `${limits.green ?? 70}%`);
  $("gauge-yellow").style.left = `${limits.yellow ?? 40}%`;
  $("gauge-green").style.left = `${limits.green ?? 70}%`;
  renderGate(STATE.gate);
  renderOps(STATE.ops);
  setSignals(STATE.signals?.data, false);
  renderWatchlist();
  seedCharts();
  wireSignalTable();
  $("watch-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("watch-input");
    if (addWatch(input.value)) input.value = "";
  });
  for (const [i, topic] of FIXED_TOPICS.entries()) rt.want(topic, i);
  if (STATE.ops) rt.want("ops", FIXED_TOPICS.length); // not offered to this user otherwise
  syncPriceTopics();
  rt.connect();
  setInterval(renderFreshness, 1000);
  buildCharts().then(markCharts, chartUnavailable);
}

start();
