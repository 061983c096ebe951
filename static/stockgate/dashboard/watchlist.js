// The watchlist: tickers kept in localStorage, each row (from <template id="tpl-watch-row">)
// with the live price, change and time.

import { fmt, kstTime, won } from "./format.js";
import { byId, emptyRow, fromTemplate, setChange, setText } from "./dom.js";
import { TICKER, WATCH_MAX, saveWatchlist } from "./store.js";

const COLUMNS = 5;

/**
 * @param onChange called with a ticker after it was added or removed (price topics, stars)
 * @param flash    flashes a price cell "up" or "down"
 */
export function createWatchlist({ store, strings: T, onChange, flash, english = false }) {
  const rows = new Map(); // ticker -> {price, change, time}
  const nameOf = (ticker) => store.knownNames.get(ticker) || ticker;
  const asked = new Set(); // looked up once per page

  /** Names of listed codes from /api/instruments; a code that is not listed is marked so. */
  async function lookUpNames() {
    const missing = store.watchlist.filter((t) => !store.knownNames.has(t) && !store.unknownTickers.has(t) && !asked.has(t));
    if (!missing.length) return;
    for (const t of missing) asked.add(t);
    try {
      const response = await fetch(`/api/instruments?tickers=${missing.join(",")}`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
      for (const [t, info] of Object.entries(body.instruments || {})) store.knownNames.set(t, (english && info.name_en) || info.name);
      for (const t of body.unknown || []) store.unknownTickers.add(t);
      saveWatchlist(store);
    } catch {
      for (const t of missing) asked.delete(t); // asked again on the next change
      return;
    }
    render();
  }

  const has = (ticker) => store.watchlist.includes(ticker);

  function add(raw) {
    const ticker = raw.trim().toUpperCase();
    const msg = byId("watch-msg");
    if (!TICKER.test(ticker)) { msg.textContent = T.watch_invalid; return false; }
    if (has(ticker)) { msg.textContent = ""; return true; }
    if (store.watchlist.length >= WATCH_MAX) { msg.textContent = fmt(T.watch_full, { count: WATCH_MAX }); return false; }
    store.watchlist.push(ticker);
    msg.textContent = "";
    changed(ticker);
    return true;
  }

  function remove(ticker) {
    store.watchlist = store.watchlist.filter((t) => t !== ticker);
    changed(ticker);
  }

  function toggle(ticker) {
    if (has(ticker)) remove(ticker);
    else add(ticker);
  }

  function changed(ticker) {
    saveWatchlist(store);
    render();
    onChange(ticker);
  }

  function fill(ticker) {
    const row = rows.get(ticker);
    if (!row) return;
    const q = store.prices.get(ticker);
    if (!q && store.unknownTickers.has(ticker)) return; // no price will come: the name cell says why
    setText(row.price, won(q?.price));
    setChange(row.change, q?.change_rate, T);
    setText(row.time, q?.as_of ? kstTime(q.as_of) : "—");
  }

  function buildRow(ticker) {
    const tr = fromTemplate("tpl-watch-row");
    tr.dataset.ticker = ticker;
    const known = store.knownNames.has(ticker);
    const unknown = store.unknownTickers.has(ticker);
    const name = tr.querySelector(".name");
    name.textContent = known ? nameOf(ticker) : unknown ? T.watch_unknown : T.watch_loading;
    name.classList.toggle("missing", !known);
    tr.querySelector(".ticker").textContent = ticker;
    const button = tr.querySelector("button.remove");
    button.setAttribute("aria-label", `${T.remove}: ${nameOf(ticker)}`);
    button.addEventListener("click", () => remove(ticker));
    rows.set(ticker, { price: tr.querySelector(".live.price"), change: tr.querySelector(".live.chg"), time: tr.querySelector(".live.time") });
    fill(ticker);
    return tr;
  }

  function render() {
    rows.clear();
    const body = byId("watch-rows");
    if (!store.watchlist.length) {
      body.replaceChildren(emptyRow(T.watch_empty, COLUMNS));
      return;
    }
    const fragment = document.createDocumentFragment();
    for (const ticker of store.watchlist) fragment.append(buildRow(ticker));
    body.replaceChildren(fragment);
    lookUpNames();
  }

  function updatePrice(ticker, moved) {
    const row = rows.get(ticker);
    if (!row) return;
    fill(ticker);
    flash(row.price, moved);
  }

  function wire() {
    byId("watch-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = byId("watch-input");
      if (add(input.value)) input.value = "";
    });
  }

  /** After a scan (or a first demo load) the listing may know codes it did not: ask again. */
  function refreshNames() {
    const retry = store.watchlist.filter((t) => !store.knownNames.has(t));
    if (!retry.length) return;
    for (const t of retry) { store.unknownTickers.delete(t); asked.delete(t); }
    lookUpNames();
  }

  return { has, toggle, render, updatePrice, wire, refreshNames };
}
