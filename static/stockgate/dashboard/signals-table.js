// The VCP signals table: rows built once per scan from <template id="tpl-signal-row">,
// sorted and filtered by moving those rows, live price and return per row, reasons on
// expand, a star per row for the watchlist.

import { direction, fmt, formatR, intFmt, isNum, pct, won } from "./format.js";
import { announce, byId, emptyRow, fromTemplate, setDir, setText } from "./dom.js";

const GRADE_ORDER = { S: 0, A: 1, B: 2, C: 3 };
const COLUMNS = 10;

/** The return since entry in percent at `price`, or null when either is unknown. */
export function signalReturn(signal, price) {
  return isNum(price) && signal.entry_price ? ((price - signal.entry_price) / signal.entry_price) * 100 : null;
}

/** The warning for a scan whose data was incomplete, or "" when it was complete or unknown. */
export function coverageWarning(coverage, date, T) {
  if (!coverage?.incomplete) return "";
  return fmt(T.scan_incomplete, {
    before: isNum(coverage.traded_before) ? intFmt.format(coverage.traded_before) : "?",
    missing: isNum(coverage.missing_tickers) ? intFmt.format(coverage.missing_tickers) : "?",
    share: isNum(coverage.missing_share) ? `${Math.round(coverage.missing_share * 100)}%` : "?",
    date: date || "",
  });
}

/** The signals the filters let through, in the chosen order; unknown values sort last either way. */
export function visibleSignals(signals, { sort, filters, priceOf }) {
  const sortValue = (s, key) => {
    if (key === "price") return priceOf(s.ticker) ?? null;
    if (key === "return") return signalReturn(s, priceOf(s.ticker));
    if (key === "grade") return GRADE_ORDER[s.grade] ?? 9;
    return s[key];
  };
  const rows = signals.filter((s) => (!filters.grade || s.grade === filters.grade) && (!filters.market || s.market === filters.market));
  const { key, dir } = sort;
  return rows.sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va == null && vb == null) return a.ticker.localeCompare(b.ticker);
    if (va == null) return 1;
    if (vb == null) return -1;
    const cmp = typeof va === "string" ? va.localeCompare(vb, "ko") : va - vb;
    return cmp * dir || a.ticker.localeCompare(b.ticker);
  });
}

/**
 * @param isWatched     ticker -> whether it is on the watchlist (paints the star)
 * @param onToggleWatch called with a ticker when its star is pressed
 * @param flash         flashes a price cell "up" or "down"
 */
export function createSignalsTable({ store, strings: T, korean = true, isWatched, onToggleWatch, flash }) {
  const rows = new Map(); // ticker -> {tr, price, ret, signal}
  const expanded = new Set();
  const sort = { key: "score", dir: -1 };
  const filters = { grade: "", market: "" };
  const priceOf = (ticker) => store.prices.get(ticker)?.price;

  function paintStar(star, ticker, name) {
    const on = isWatched(ticker);
    star.textContent = on ? "★" : "☆";
    star.setAttribute("aria-pressed", String(on));
    star.setAttribute("aria-label", `${T.watch_toggle}: ${name}`);
  }

  function paintToggle(toggle, s, open) {
    toggle.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-controls", `reasons-${s.ticker}`);
    toggle.setAttribute("aria-label", `${open ? T.hide_reasons : T.show_reasons}: ${s.name}`);
    toggle.textContent = open ? "▾" : "▸";
  }

  // What the sessions since the signal made of it (signals/outcomes/rules.py): status and R.
  function paintOutcome(td, o) {
    td.textContent = o ? T[`outcome_${o.status}`] || o.status : "—";
    if (!o) return;
    td.dataset.outcome = o.status;
    if (isNum(o.r_multiple)) {
      td.textContent += ` ${formatR(o.r_multiple)}`;
      setDir(td, direction(o.r_multiple));
    }
  }

  function fillPrice(s, price, ret) {
    setText(price, won(priceOf(s.ticker)));
    const r = signalReturn(s, priceOf(s.ticker));
    setText(ret, pct(r));
    setDir(ret, direction(r));
  }

  function buildRow(s) {
    const tr = fromTemplate("tpl-signal-row");
    tr.dataset.ticker = s.ticker;
    paintToggle(tr.querySelector("button.expand"), s, expanded.has(s.ticker));
    tr.querySelector(".name").textContent = s.name;
    tr.querySelector(".ticker").textContent = `${s.ticker}${s.market ? ` · ${s.market}` : ""}`;
    const star = tr.querySelector("button.star");
    star.dataset.ticker = s.ticker;
    paintStar(star, s.ticker, s.name);
    const grade = tr.querySelector(".grade");
    grade.classList.add(`grade-${s.grade}`);
    grade.textContent = s.grade;
    const cell = (col) => tr.querySelector(`[data-col='${col}']`);
    cell("score").textContent = String(s.score);
    cell("entry").textContent = won(s.entry_price);
    cell("target").textContent = won(s.target_price);
    cell("stop").textContent = won(s.stop_loss);
    cell("qty").textContent = s.position_size > 0 ? `${intFmt.format(s.position_size)}${T.shares_unit}` : T.watch_only;
    paintOutcome(cell("outcome"), s.outcome);
    const price = tr.querySelector(".live.price");
    const ret = tr.querySelector(".live.ret");
    rows.set(s.ticker, { tr, price, ret, signal: s });
    fillPrice(s, price, ret);
  }

  // Reasons rows exist only while open: 200 signals stay 200 rows to lay out.
  function reasonsRow(s) {
    const detail = fromTemplate("tpl-reasons-row");
    detail.id = `reasons-${s.ticker}`;
    detail.firstElementChild.colSpan = COLUMNS;
    const list = detail.querySelector("ul");
    // Both languages come from the same stored reasons: Korean in `reasons`, English in `reasons_en`.
    for (const reason of (korean ? s.reasons : s.reasons_en || s.reasons) || []) {
      const li = document.createElement("li");
      li.textContent = reason;
      list.append(li);
    }
    return detail;
  }

  /** Why the table is empty: the filters, a scan that found nothing, or no scan yet. */
  function emptyText() {
    if (store.signals.length) return T.no_signals;
    const day = store.signalDate || store.state.last_scan?.signal_date;
    return day ? fmt(T.no_signals_scan, { date: day }) : T.no_scan_yet;
  }

  function render() {
    const visible = visibleSignals(store.signals, { sort, filters, priceOf });
    const body = byId("signal-rows");
    if (!visible.length) {
      body.replaceChildren(emptyRow(emptyText(), COLUMNS));
    } else {
      const fragment = document.createDocumentFragment();
      for (const s of visible) {
        fragment.append(rows.get(s.ticker).tr);
        if (expanded.has(s.ticker)) fragment.append(byId(`reasons-${s.ticker}`) || reasonsRow(s));
      }
      body.replaceChildren(fragment);
    }
    byId("signal-count").textContent = String(store.signals.length);
    byId("signal-date").textContent = store.signalDate || "";
    renderCoverage();
    for (const th of document.querySelectorAll("#signal-table th[data-key]")) {
      th.setAttribute("aria-sort", th.dataset.key === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  /** A scan that ran with part of the market's bars missing says so above the table. */
  function renderCoverage() {
    const box = byId("scan-warning");
    if (!box) return;
    const text = coverageWarning(store.signalCoverage, store.signalDate, T);
    box.hidden = !text;
    box.textContent = text || "";
  }

  /** A signal_update's data replaces the list; rows are built once per scan. */
  function set(data, announceIt) {
    const signals = Array.isArray(data?.signals) ? data.signals : [];
    store.signals = signals;
    store.signalDate = data?.signal_date || signals[0]?.signal_date || null;
    store.signalCoverage = data?.coverage || null;
    for (const s of signals) if (s.name) store.knownNames.set(s.ticker, s.name);
    for (const ticker of [...expanded]) if (!signals.some((s) => s.ticker === ticker)) expanded.delete(ticker);
    document.querySelectorAll("#signal-rows .reasons-row").forEach((row) => row.remove());
    rows.clear();
    for (const s of signals) buildRow(s);
    render();
    if (announceIt) announce(fmt(T.signals_updated, { count: signals.length }));
  }

  function updatePrice(ticker, moved) {
    const row = rows.get(ticker);
    if (!row) return;
    fillPrice(row.signal, row.price, row.ret);
    flash(row.price, moved);
  }

  function refreshStars(ticker) {
    for (const star of document.querySelectorAll(`#signal-rows button.star[data-ticker="${ticker}"]`)) {
      paintStar(star, ticker, store.knownNames.get(ticker) || ticker);
    }
  }

  function toggleReasons(button) {
    const row = button.closest("tr");
    const s = rows.get(row.dataset.ticker)?.signal;
    if (!s) return;
    const open = !expanded.has(s.ticker);
    if (open) {
      expanded.add(s.ticker);
      row.after(reasonsRow(s));
    } else {
      expanded.delete(s.ticker);
      byId(`reasons-${s.ticker}`)?.remove();
    }
    paintToggle(button, s, open);
  }

  function wire() {
    for (const th of document.querySelectorAll("#signal-table th[data-key]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.key;
        const textual = key === "name" || key === "grade";
        sort.dir = sort.key === key ? -sort.dir : textual ? 1 : -1;
        sort.key = key;
        render();
      });
    }
    byId("filter-grade").addEventListener("change", (e) => { filters.grade = e.target.value; render(); });
    byId("filter-market").addEventListener("change", (e) => { filters.market = e.target.value; render(); });
    byId("signal-rows").addEventListener("click", (e) => {
      const expand = e.target.closest("button.expand");
      if (expand) { toggleReasons(expand); return; }
      const star = e.target.closest("button.star");
      if (star) onToggleWatch(star.dataset.ticker);
    });
  }

  return { set, updatePrice, refreshStars, wire };
}
