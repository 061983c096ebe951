// The "성과 / Performance" panel: open signals with live R, the last 60 sessions' closed
// signals, win rate and average R by grade, and the Market Gate by day for a year.
// Reads /api/performance (on load, every 5 minutes, after each signal_update); live R
// from the page's price frames. Labels are data-* attributes of the section.

import { direction, formatR, isNum, won } from "./format.js";
import { byId, emptyRow, setDir, setText } from "./dom.js";
import { drawGateHistory } from "./gate-history-chart.js";

const GRADES = ["S", "A", "B", "C"];
const REFRESH_MS = 5 * 60 * 1000;

/** R at `price` for a filled row: (price - fill) / (entry - stop). */
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
  td.dataset.dir = direction(v);
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

function gradeCell(grade) {
  const td = cell("");
  const badge = document.createElement("span");
  badge.className = `grade grade-${grade}`;
  badge.textContent = grade;
  td.append(badge);
  return td;
}

/**
 * @param store  the page's store (live prices in store.prices)
 * @param onHeld called with the open tickers whenever they change (the page subscribes their prices)
 */
export function createPerformancePanel({ store, onHeld }) {
  const root = byId("performance");
  const L = root ? { ...root.dataset } : {};
  const open = new Map(); // ticker -> {row, price, r}
  let data = null;
  let pending = null;

  function fill(body, rows, build, emptyText, columns) {
    if (!rows.length) {
      body.replaceChildren(emptyRow(emptyText, columns));
      return;
    }
    body.replaceChildren(...rows.map(build));
  }

  function openRow(row) {
    const tr = document.createElement("tr");
    tr.dataset.ticker = row.ticker;
    const price = cell(won(row.price), "r num");
    const r = rCell(row.live_r);
    tr.append(nameCell(row), gradeCell(row.grade), cell(row.signal_date), cell(won(row.fill_price), "r num"), price, r,
      cell(String(row.days_held ?? "—"), "r num"));
    open.set(row.ticker, { row, price, r });
    return tr;
  }

  function closedRow(row) {
    const tr = document.createElement("tr");
    tr.dataset.ticker = row.ticker;
    const label = row.status === "target" ? L.target : L.stop;
    const status = cell(row.gap ? `${label} (${L.gap})` : label);
    status.dataset.dir = row.status === "target" ? "up" : "down";
    tr.append(nameCell(row), gradeCell(row.grade), cell(row.exit_date || ""), status, rCell(row.r_multiple),
      cell(String(row.days_held ?? "—"), "r num"));
    return tr;
  }

  function gradeRow(grade) {
    const s = data.by_grade[grade] || {};
    const tr = document.createElement("tr");
    tr.append(gradeCell(grade), cell(String(s.closed ?? 0), "r num"),
      cell(isNum(s.win_rate) ? `${Math.round(s.win_rate * 100)}%` : "—", "r num"), rCell(s.avg_r));
    return tr;
  }

  function render() {
    open.clear();
    fill(byId("perf-open"), data.open, openRow, L.noOpen, 7);
    fill(byId("perf-closed"), data.closed, closedRow, L.noClosed, 6);
    fill(byId("perf-grades"), GRADES, gradeRow, "", 4);
    byId("perf-open-count").textContent = String(data.open.length);
    byId("perf-closed-count").textContent = String(data.closed.length);
    drawGateHistory(byId("perf-gate"), data.gate_history || [], { label: L.gateChart, empty: L.noGate });
    for (const ticker of open.keys()) updatePrice(ticker);
    root.dataset.state = "ready";
    onHeld([...open.keys()]);
  }

  async function load() {
    try {
      const response = await fetch("/api/performance", { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
      render();
    } catch {
      root.dataset.state = "error";
      byId("perf-status").textContent = L.loadFailed;
    }
  }

  /** A new live price of `ticker` (in store.prices) moves its open row's R. */
  function updatePrice(ticker) {
    const entry = open.get(ticker);
    const price = store.prices.get(ticker)?.price;
    if (!entry || !isNum(price)) return;
    const r = liveR(entry.row, price);
    setText(entry.price, won(price));
    setText(entry.r, formatR(r));
    setDir(entry.r, direction(r));
  }

  return {
    start() {
      if (!root) return;
      setInterval(load, REFRESH_MS);
      load();
    },
    reload() {
      clearTimeout(pending);
      if (root) pending = setTimeout(load, 500); // a burst of frames is one fetch
    },
    updatePrice,
    held: () => [...open.keys()],
  };
}
