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
export function createWatchlist({ store, strings: T, onChange, flash }) {
  const rows = new Map(); // ticker -> {price, change, time}
  const nameOf = (ticker) => store.knownNames.get(ticker) || ticker;

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
    setText(row.price, won(q?.price));
    setChange(row.change, q?.change_rate, T);
    setText(row.time, q?.as_of ? kstTime(q.as_of) : "—");
  }

  function buildRow(ticker) {
    const tr = fromTemplate("tpl-watch-row");
    tr.dataset.ticker = ticker;
    tr.querySelector(".name").textContent = nameOf(ticker);
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

  return { has, toggle, render, updatePrice, wire };
}
