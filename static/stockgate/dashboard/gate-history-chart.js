// The Market Gate by day as an SVG: a colour band per session, the level (solid, 0-100,
// left scale) and KOSPI's close (dashed, its own scale on the right).

import { intFmt, isNum } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const BANDS = { GREEN: "#c8e6c9", YELLOW: "#fff3c4", RED: "#ffcdd2" };
const W = 640;
const H = 180;
const PAD = 28;
const TOP = 8;

function node(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

/** Draws `days` ([{date, level, status, kospi}], oldest first) into `box`. */
export function drawGateHistory(box, days, { label, empty }) {
  box.replaceChildren();
  if (!days.length) {
    box.textContent = empty;
    return;
  }
  const chart = node("svg", { viewBox: `0 0 ${W} ${H}`, class: "perf-chart", role: "img", "aria-label": label });
  const step = (W - 2 * PAD) / days.length;
  const x = (i) => PAD + i * step;
  const y = (v) => H - PAD - ((H - PAD - TOP) * v) / 100;
  days.forEach((d, i) => {
    const band = node("rect", { x: x(i), y: TOP, width: Math.max(step, 0.5), height: H - PAD - TOP,
      fill: BANDS[d.status] || "#eee", "data-status": d.status });
    band.append(node("title", {}, `${d.date} ${d.status} ${d.level}`));
    chart.append(band);
  });
  const mid = (i) => x(i) + step / 2;
  chart.append(node("polyline", { points: days.map((d, i) => `${mid(i)},${y(d.level)}`).join(" "), fill: "none",
    stroke: "#1f3a5f", "stroke-width": 1.5, class: "perf-level" }));
  const closes = days.map((d) => d.kospi).filter(isNum);
  if (closes.length > 1) {
    const lo = Math.min(...closes);
    const hi = Math.max(...closes);
    const yK = (v) => y(hi === lo ? 50 : ((v - lo) / (hi - lo)) * 100);
    const points = days.map((d, i) => (isNum(d.kospi) ? `${mid(i)},${yK(d.kospi)}` : null)).filter(Boolean);
    chart.append(node("polyline", { points: points.join(" "), fill: "none", stroke: "#6d4c41", "stroke-width": 1,
      "stroke-dasharray": "3 2", class: "perf-kospi" }));
    chart.append(node("text", { x: W - PAD + 2, y: yK(hi) + 4, "font-size": 10 }, intFmt.format(hi)));
    chart.append(node("text", { x: W - PAD + 2, y: yK(lo), "font-size": 10 }, intFmt.format(lo)));
  }
  for (const v of [0, 50, 100]) chart.append(node("text", { x: 2, y: y(v) + 4, "font-size": 10 }, String(v)));
  chart.append(node("text", { x: PAD, y: H - 4, "font-size": 10 }, days[0].date));
  chart.append(node("text", { x: W - PAD, y: H - 4, "font-size": 10, "text-anchor": "end" }, days[days.length - 1].date));
  box.append(chart);
}
