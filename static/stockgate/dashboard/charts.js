// Two uPlot charts: the gate level through the trading day (thresholds dashed) and the
// KOSPI/KOSDAQ intraday change. The library is loaded on demand; without it each chart
// says it is unavailable and the rest of the page works.

import { isNum, kstTime, signedPct } from "./format.js";
import { byId } from "./dom.js";

const MAX_POINTS = 2000;
const MIN_SPAN = 30 * 60; // seconds: one point still gets an axis of distinct times
const LOOP_BACK = 600; // seconds: an index point this far before the last is a new (demo) day

/** The x range: the data's, widened around its middle to at least MIN_SPAN. */
export function timeRange(min, max) {
  if (min == null || max == null) return [min, max];
  if (max - min >= MIN_SPAN) return [min, max];
  const mid = (min + max) / 2;
  return [mid - MIN_SPAN / 2, mid + MIN_SPAN / 2];
}

const dataRange = (xs) => (xs?.length ? timeRange(xs[0], xs[xs.length - 1]) : null);

/** HH:MM labels in KST, with seconds when minutes alone would repeat a label. */
export function timeLabels(splits, clock) {
  const short = splits.map((v) => clock(v).slice(0, 5));
  return new Set(short).size === short.length ? short : splits.map((v) => clock(v));
}
const HEIGHT = 180;
const toSec = (iso) => Date.parse(iso) / 1000;

/** Appends a point; a point at the last x updates it, an older one is ignored (the chart only grows forward). */
export function pushPoint(series, x, values) {
  const xs = series.x;
  if (xs.length && x < xs[xs.length - 1]) return;
  if (xs.length && x === xs[xs.length - 1]) {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) series[k][xs.length - 1] = v;
    return;
  }
  xs.push(x);
  for (const k of Object.keys(series)) if (k !== "x") series[k].push(values[k] ?? null);
  if (xs.length > MAX_POINTS) for (const k of Object.keys(series)) series[k].shift();
}

export function createCharts({ store, strings: T }) {
  const charts = { gate: null, index: null, lib: null, dirty: false };
  const gateSeries = { x: [], level: [] };
  const indexSeries = { x: [], kospi: [], kosdaq: [] };

  function mark() {
    if (charts.dirty || !charts.lib) return;
    charts.dirty = true;
    // Redraw at most once a second, whatever the frame rate.
    setTimeout(() => {
      charts.dirty = false;
      charts.gate?.setData([gateSeries.x, gateSeries.level]);
      charts.index?.setData([indexSeries.x, indexSeries.kospi, indexSeries.kosdaq]);
    }, 1000);
  }

  function addGatePoint(iso, level, kospiPct, kosdaqPct) {
    if (!iso) return;
    // The gate only goes back in time when the demo's simulated day starts over:
    // start the charts afresh rather than mix two loops.
    if (gateSeries.x.length && toSec(iso) < gateSeries.x[gateSeries.x.length - 1]) clear();
    pushPoint(gateSeries, toSec(iso), { level });
    if (isNum(kospiPct) || isNum(kosdaqPct)) {
      pushPoint(indexSeries, toSec(iso), { kospi: kospiPct ?? undefined, kosdaq: kosdaqPct ?? undefined });
    }
    mark();
  }

  function addIndexPoint(key, iso, changeRate) {
    if (!iso || !isNum(changeRate)) return;
    const last = indexSeries.x[indexSeries.x.length - 1];
    if (last != null && toSec(iso) < last - LOOP_BACK) for (const k of Object.keys(indexSeries)) indexSeries[k].length = 0;
    pushPoint(indexSeries, toSec(iso), { [key]: changeRate });
    mark();
  }

  /** A new trading date starts both charts afresh. */
  function clear() {
    for (const series of [gateSeries, indexSeries]) for (const k of Object.keys(series)) series[k].length = 0;
  }

  function seed(history) {
    for (const p of history || []) addGatePoint(p.t, p.level, p.kospi_change_pct, p.kosdaq_change_pct);
  }

  function unavailable() {
    for (const id of ["chart-gate", "chart-index"]) {
      const box = byId(id);
      box.classList.add("chart-missing");
      box.textContent = T.chart_unavailable;
    }
  }

  function options(box, series, scales, extra = {}) {
    const uPlot = charts.lib;
    const axis = { stroke: "#4a5568", grid: { stroke: "#edf0f4" }, ticks: { stroke: "#d5dbe3" } };
    return {
      width: Math.max(240, box.clientWidth),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Asia/Seoul"),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      // From the data itself: for a single point uPlot widens the range by days, and the
      // axis would read 00:00 at every tick.
      scales: { x: { time: true, range: (u, min, max) => dataRange(u.data[0]) ?? [min, max] }, ...scales },
      axes: [
        {
          ...axis,
          // 24-hour KST labels (the dates handed in are already shifted by tzDate).
          values: (u, splits) => {
            const labels = timeLabels(splits, (v) => kstTime(v * 1000));
            box.dataset.timeLabels = labels.join(" "); // the canvas's labels, readable by tests and tools
            return labels;
          },
        },
        { ...axis, size: 48 },
      ],
      series: [{ label: "KST", value: (u, v) => (v == null ? "—" : kstTime(v * 1000)) }, ...series],
      ...extra,
    };
  }

  function thresholdHook(u) {
    const ctx = u.ctx;
    const limits = store.state.thresholds || {};
    ctx.save();
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1;
    for (const [value, colour] of [[limits.green, "#2e7d32"], [limits.yellow, "#b26a00"]]) {
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

  async function build() {
    const url = store.state.chart_module;
    if (!url) { unavailable(); return; }
    try {
      charts.lib = (await import(url)).default;
    } catch {
      unavailable();
      return;
    }
    const uPlot = charts.lib;
    const gateBox = byId("chart-gate");
    const indexBox = byId("chart-index");
    charts.gate = new uPlot(options(gateBox, [
      { label: T.gate_level, stroke: "#1f3a5f", width: 2, fill: "rgba(31,58,95,0.08)", value: (u, v) => (v == null ? "—" : String(v)) },
    ], { y: { range: [0, 100] } }, { hooks: { draw: [thresholdHook] } }), [gateSeries.x, gateSeries.level], gateBox);
    const pctValue = (u, v) => signedPct(v);
    charts.index = new uPlot(options(indexBox, [
      { label: "KOSPI", stroke: "#37474f", width: 2, spanGaps: true, value: pctValue },
      { label: "KOSDAQ", stroke: "#8e24aa", width: 2, dash: [6, 3], spanGaps: true, value: pctValue },
    ], {}), [indexSeries.x, indexSeries.kospi, indexSeries.kosdaq], indexBox);
    const resize = new ResizeObserver(() => {
      for (const [chart, box] of [[charts.gate, gateBox], [charts.index, indexBox]]) {
        const width = Math.max(240, box.clientWidth);
        if (chart && chart.width !== width) chart.setSize({ width, height: HEIGHT });
      }
    });
    resize.observe(gateBox);
    resize.observe(indexBox);
    mark();
  }

  return { seed, addGatePoint, addIndexPoint, clear, build, unavailable };
}
