// The Market Gate card: status, level gauge, indices, components and the freshness badge.

import { fmt, indexFmt, isNum, kst, kstDate } from "./format.js";
import { announce, byId, fromTemplate, setChange } from "./dom.js";
import { serverNow } from "./store.js";

const STATUS_ICON = { GREEN: "●", YELLOW: "▲", RED: "■" };

/**
 * LIVE / STALE / CLOSED from the data's own age and session: a quiet socket does not make
 * old data look fresh. While the scheduler is late nothing recomputes the gate, so a row
 * that is still young is not called LIVE either.
 */
export function freshness(message, { now, maxAgeSeconds, schedulerLate }) {
  if (!message) return "stale";
  const d = message.data;
  if (d.stale) return "stale";
  const computed = Date.parse(message.timestamp || d.as_of);
  const tooOld = isNum(computed) && now - computed > maxAgeSeconds * 1000;
  if (d.session && d.session !== "open") return "closed";
  if (tooOld || schedulerLate) return "stale";
  // In session without a live index the gate stands on the previous close: never LIVE.
  return d.basis === "previous_close" ? "previous" : "live";
}

/** The colour the level alone has; where it differs from the status, hysteresis holds the status. */
export function heldColour(status, level, thresholds) {
  if (!isNum(level) || !status) return null;
  const raw = level >= (thresholds.green ?? 70) ? "GREEN" : level >= (thresholds.yellow ?? 40) ? "YELLOW" : "RED";
  return raw === status ? null : raw;
}

export function createGateCard({ store, strings: T, korean }) {
  // The latest index_update per index: fresher than the gate's own copy between computations.
  const liveIndex = { kospi: null, kosdaq: null };
  const statusWord = (status) => T[`status_${status}`] || "";
  const componentName = (name) => T[`component_${name}`] || name;

  function showThresholds() {
    const limits = store.state.thresholds || {};
    const gauge = byId("gauge");
    gauge.style.setProperty("--y", `${limits.yellow ?? 40}%`);
    gauge.style.setProperty("--g", `${limits.green ?? 70}%`);
    byId("gauge-yellow").style.left = `${limits.yellow ?? 40}%`;
    byId("gauge-green").style.left = `${limits.green ?? 70}%`;
  }

  function render(message) {
    store.gate = message || null;
    const card = byId("gate");
    if (!message) {
      card.dataset.status = "none";
      byId("gate-label").textContent = T.status_none;
      renderFreshness();
      return;
    }
    const d = message.data;
    const previous = card.dataset.status;
    card.dataset.status = d.status;
    byId("gate-status").textContent = d.status;
    byId("gate-label").textContent = statusWord(d.status);
    byId("gate-icon").textContent = STATUS_ICON[d.status] || "";
    byId("gate-level").textContent = isNum(d.level) ? String(d.level) : "—";
    const gauge = byId("gauge");
    gauge.setAttribute("aria-valuenow", String(d.level ?? 0));
    gauge.setAttribute("aria-valuetext", `${d.level} / 100, ${d.status} ${statusWord(d.status)}`);
    byId("gauge-fill").style.width = `${Math.max(0, Math.min(100, d.level || 0))}%`;
    for (const key of ["kospi", "kosdaq"]) {
      const live = liveIndex[key];
      if (live && Date.parse(live.as_of) >= Date.parse(d.as_of)) paintIndex(key, live.index, live.change_rate);
      else paintIndex(key, d[key], d[`${key}_change_pct`]);
    }
    renderHold(d);
    const asof = byId("gate-asof");
    asof.textContent = `${kstDate(d.as_of)} ${kst(d.as_of)}`;
    asof.dateTime = d.as_of || "";
    byId("gate-session").textContent = T[`session_${d.session}`] || d.session || "";
    renderComponents(d.components || []);
    renderFreshness();
    if (previous && previous !== "none" && previous !== d.status) {
      announce(fmt(T.gate_changed, { status: `${d.status} ${statusWord(d.status)}`, level: d.level }));
    }
  }

  function paintIndex(key, value, changePct) {
    byId(key).textContent = isNum(value) ? indexFmt.format(value) : "—";
    setChange(byId(`${key}-chg`), changePct, T);
  }

  /** An index_update frame: the card's KOSPI/KOSDAQ follow the live index, not only the gate's copy. */
  function updateIndex(key, data) {
    if (!data || !isNum(data.index)) return;
    const shown = liveIndex[key];
    if (shown && Date.parse(data.as_of) < Date.parse(shown.as_of) - 600000) liveIndex[key] = null; // the demo's day looped
    if (liveIndex[key] && Date.parse(data.as_of) < Date.parse(liveIndex[key].as_of)) return;
    liveIndex[key] = data;
    paintIndex(key, data.index, data.change_rate);
  }

  function renderHold(d) {
    const box = byId("gate-hold");
    const limits = store.state.thresholds || {};
    const pending = heldColour(d.status, d.level, limits);
    box.hidden = !pending;
    box.textContent = pending
      ? fmt(T.hold_note, { pending, level: d.level, count: limits.consecutive ?? 2, status: d.status })
      : "";
  }

  function componentItem(c) {
    const li = fromTemplate("tpl-component");
    const known = isNum(c.points);
    if (!known) li.classList.add("unknown");
    const share = known && c.max ? Math.round((c.points / c.max) * 100) : 0;
    li.querySelector(".component-name").textContent = c.market ? `${componentName(c.name)} · ${c.market}` : componentName(c.name);
    // An override row carries no points of its own (0/0): its reason says what it did.
    const points = !c.max && known ? "" : known ? `${c.points}/${c.max}${T.points}` : `${T.unknown} /${c.max}${T.points}`;
    li.querySelector(".component-points").textContent = points;
    li.querySelector(".component-bar span").style.width = `${share}%`;
    li.querySelector(".component-reason").textContent = (korean && c.reason_ko) || c.reason || "";
    return li;
  }

  function renderComponents(components) {
    byId("components").replaceChildren(...components.map(componentItem));
  }

  // Re-evaluated every second by the page, and whenever the gate or the watchdog changes.
  function renderFreshness() {
    const badge = byId("freshness");
    const late = Boolean(store.ops?.scheduler_late);
    const state = freshness(store.gate, { now: serverNow(store), maxAgeSeconds: store.state.gate_max_age_seconds, schedulerLate: late });
    const why = state === "stale" && late ? T.gate_not_updated
      : state === "previous" ? T.previous_close_why : T[state];
    if (badge.dataset.fresh === state && badge.title === why && badge.textContent) return;
    badge.dataset.fresh = state;
    badge.textContent = state === "previous" ? T.previous_close : state.toUpperCase();
    badge.title = why;
    badge.setAttribute("aria-label", `${badge.textContent} · ${why}`);
  }

  return { showThresholds, render, renderFreshness, updateIndex };
}
