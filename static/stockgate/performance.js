// The "성과 / Performance" panel: open signals with live R, the last 60 sessions' closed
// signals, win rate and average R by grade, and the Market Gate by day for a year.
// Reads /api/performance; live prices arrive as `stockgate:price` events from the page's
// realtime connection, a new signal list as `stockgate:signals` (a refetch).

const root = document.getElementById("performance");
const L = root ? { ...root.dataset } : {};
const intFmt = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const won = (v) => (isNum(v) ? `${intFmt.format(Math.round(v))}원` : "—");
const GRADES = ["S", "A", "B", "C"];
const REFRESH_MS = 5 * 60 * 1000;

let data = null;
const openRows = new Map(); // ticker -> {row, priceCell, rCell}

function dir(v) {
  return !isNum(v) ? "none" : v > 0 ? "up" : v < 0 ? "down" : "flat";
}

// R with sign and arrow, so the direction never relies on colour alone.
export function formatR(v) {
  if (!isNum(v)) return "—";
  const arrow = v > 0 ? "▲" : v < 0 ? "▼" : "–";
  return `${arrow} ${v > 0 ? "+" : ""}${v.toFixed(2)}R`;
}

export function liveR(row, price) {
  const risk = row.entry_price - row.stop_loss;
  return isNum(price) && isNum(row.fill_price) && risk > 0 ? (price - row.fill_price) / risk : null;
}

function cell(text, className = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function rCell(v) {
  const td = cell(formatR(v), "r num");
  td.dataset.dir = dir(v);
  return td;
}

function nameCell(row) {
  const th = document.createElement("th");
  th.scope = "row";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = row.name || row.ticker;
  const meta = document.createElement("span");
  meta.className = "ticker";
  meta.textContent = ` ${row.ticker}`;
  th.append(name, meta);
  return th;
}

function grade(row) {
  const td = cell("");
  const badge = document.createElement("span");
  badge.className = `grade grade-${row.grade}`;
  badge.textContent = row.grade;
  td.append(badge);
  return td;
}

function fill(body, rows, build, emptyText, columns) {
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(emptyText, "empty");
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) body.append(build(row));
}

function openRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.ticker = row.ticker;
  const price = cell(won(row.price), "r num");
  const r = rCell(row.live_r);
  tr.append(nameCell(row), grade(row), cell(row.signal_date), cell(won(row.fill_price), "r num"), price, r,
    cell(String(row.days_held ?? "—"), "r num"));
  openRows.set(row.ticker, { row, price, r });
  return tr;
}

function closedRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.ticker = row.ticker;
  const label = row.status === "target" ? L.target : L.stop;
  const status = cell(row.gap ? `${label} (${L.gap})` : label);
  status.dataset.dir = row.status === "target" ? "up" : "down";
  tr.append(nameCell(row), grade(row), cell(row.exit_date || ""), status, rCell(row.r_multiple),
    cell(String(row.days_held ?? "—"), "r num"));
  return tr;
}

function gradeRow(g) {
  const s = data.by_grade[g] || {};
  const tr = document.createElement("tr");
  tr.append(grade({ grade: g }), cell(String(s.closed ?? 0), "r num"),
    cell(isNum(s.win_rate) ? `${Math.round(s.win_rate * 100)}%` : "—", "r num"), rCell(s.avg_r));
  return tr;
}

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { GREEN: "#c8e6c9", YELLOW: "#fff3c4", RED: "#ffcdd2" };

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// Colour band per day, the gate level (0-100, left) and KOSPI's close (right scale).
export function drawGateHistory(box, days) {
  box.replaceChildren();
  if (!days.length) {
    box.textContent = L.noGate;
    return;
  }
  const W = 640, H = 180, P = 28;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "perf-chart", role: "img", "aria-label": L.gateChart });
  const step = (W - 2 * P) / days.length;
  const x = (i) => P + i * step;
  days.forEach((d, i) => {
    const band = svg("rect", { x: x(i), y: 8, width: Math.max(step, 0.5), height: H - P - 8,
      fill: COLOURS[d.status] || "#eee", "data-status": d.status });
    band.append(Object.assign(svg("title", {}), { textContent: `${d.date} ${d.status} ${d.level}` }));
    chart.append(band);
  });
  const yLevel = (v) => H - P - ((H - P - 8) * v) / 100;
  const level = days.map((d, i) => `${x(i) + step / 2},${yLevel(d.level)}`).join(" ");
  chart.append(svg("polyline", { points: level, fill: "none", stroke: "#1f3a5f", "stroke-width": 1.5, class: "perf-level" }));
  const closes = days.map((d) => d.kospi).filter(isNum);
  if (closes.length > 1) {
    const lo = Math.min(...closes), hi = Math.max(...closes);
    const yK = (v) => yLevel(hi === lo ? 50 : ((v - lo) / (hi - lo)) * 100);
    const line = days.map((d, i) => (isNum(d.kospi) ? `${x(i) + step / 2},${yK(d.kospi)}` : null)).filter(Boolean).join(" ");
    chart.append(svg("polyline", { points: line, fill: "none", stroke: "#6d4c41", "stroke-width": 1, "stroke-dasharray": "3 2", class: "perf-kospi" }));
    chart.append(Object.assign(svg("text", { x: W - P + 2, y: yK(hi) + 4, "font-size": 10 }), { textContent: intFmt.format(hi) }));
    chart.append(Object.assign(svg("text", { x: W - P + 2, y: yK(lo), "font-size": 10 }), { textContent: intFmt.format(lo) }));
  }
  for (const v of [0, 50, 100]) {
    chart.append(Object.assign(svg("text", { x: 2, y: yLevel(v) + 4, "font-size": 10 }), { textContent: String(v) }));
  }
  chart.append(Object.assign(svg("text", { x: P, y: H - 4, "font-size": 10 }), { textContent: days[0].date }));
  chart.append(Object.assign(svg("text", { x: W - P, y: H - 4, "font-size": 10, "text-anchor": "end" }),
    { textContent: days[days.length - 1].date }));
  box.append(chart);
}

function render() {
  openRows.clear();
  fill(document.getElementById("perf-open"), data.open, openRow, L.noOpen, 7);
  fill(document.getElementById("perf-closed"), data.closed, closedRow, L.noClosed, 6);
  fill(document.getElementById("perf-grades"), GRADES, gradeRow, "", 4);
  document.getElementById("perf-open-count").textContent = String(data.open.length);
  document.getElementById("perf-closed-count").textContent = String(data.closed.length);
  drawGateHistory(document.getElementById("perf-gate"), data.gate_history || []);
  // Ask the page's connection for the open positions' prices (after the signals'; within its budget).
  document.dispatchEvent(new CustomEvent("stockgate:held", { detail: data.open.map((r) => r.ticker) }));
  root.dataset.state = "ready";
}

async function load() {
  try {
    const response = await fetch("/api/performance", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    data = await response.json();
    render();
  } catch (error) {
    root.dataset.state = "error";
    document.getElementById("perf-status").textContent = L.loadFailed;
  }
}

function onPrice(event) {
  const { ticker, price } = event.detail || {};
  const entry = openRows.get(ticker);
  if (!entry || !isNum(price)) return;
  const r = liveR(entry.row, price);
  entry.price.textContent = won(price);
  entry.r.textContent = formatR(r);
  entry.r.dataset.dir = dir(r);
}

let pending = null;
function reload() {
  clearTimeout(pending);
  pending = setTimeout(load, 500); // a burst of frames is one fetch
}

if (root) {
  document.addEventListener("stockgate:price", onPrice);
  document.addEventListener("stockgate:signals", reload);
  setInterval(load, REFRESH_MS);
  load();
}
