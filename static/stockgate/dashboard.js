// The stockgate dashboard: paints the server-rendered state at once, then applies live
// frames from /ws (protocol.md). This module only wires the parts in dashboard/:
// the realtime client, the shared store and one module per panel.

import { Realtime } from "./dashboard/realtime.js";
import { readJson } from "./dashboard/dom.js";
import { createStore } from "./dashboard/store.js";
import { createConnectionBadge } from "./dashboard/connection.js";
import { createGateCard } from "./dashboard/gate-card.js";
import { createOpsBanner } from "./dashboard/ops-banner.js";
import { createCharts } from "./dashboard/charts.js";
import { createFlasher, createPriceFeed } from "./dashboard/prices.js";
import { createSignalsTable } from "./dashboard/signals-table.js";
import { createWatchlist } from "./dashboard/watchlist.js";
import { createPerformancePanel } from "./dashboard/performance.js";
import { setMoneyStyle } from "./dashboard/format.js";

const FIXED_TOPICS = ["market-gate", "signal:vcp", "market:kospi", "market:kosdaq"];
const PRICE_RANK_FROM = 10; // price topics resubscribe after the fixed ones

function localStorageOrNull() {
  try {
    return window.localStorage;
  } catch {
    return null; // disabled by the browser: the watchlist lives for this page only
  }
}

function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}

function start() {
  const state = readJson("dashboard-state");
  const strings = readJson("dashboard-strings");
  const korean = (document.documentElement.lang || "ko").startsWith("ko");
  setMoneyStyle(korean ? "ko" : "en");
  const store = createStore(state, localStorageOrNull());
  const flash = createFlasher();

  const connection = createConnectionBadge({ strings });
  const gateCard = createGateCard({ store, strings, korean });
  const opsBanner = createOpsBanner({ store, strings, onChange: () => gateCard.renderFreshness() });
  const charts = createCharts({ store, strings });
  let rt = null;
  let signalsTable = null;
  const watchlist = createWatchlist({
    store, strings, flash, english: !korean,
    onChange: (ticker) => { signalsTable.refreshStars(ticker); syncPriceTopics(); },
  });
  signalsTable = createSignalsTable({
    store, strings, korean, flash, isWatched: watchlist.has, onToggleWatch: watchlist.toggle,
  });
  const perfPanel = createPerformancePanel({ store, onHeld: () => syncPriceTopics() });
  const priceFeed = createPriceFeed({
    store,
    onPrice: (ticker, moved) => {
      signalsTable.updatePrice(ticker, moved);
      watchlist.updatePrice(ticker, moved);
      perfPanel.updatePrice(ticker);
    },
  });

  // The watchlist first, then signals by score, within the server's subscription limit.
  function syncPriceTopics() {
    const wanted = new Set();
    const budget = state.max_price_topics ?? 196;
    for (const t of store.watchlist) if (wanted.size < budget) wanted.add(t);
    for (const s of [...store.signals].sort((a, b) => b.score - a.score)) if (wanted.size < budget) wanted.add(s.ticker);
    for (const t of perfPanel.held()) if (wanted.size < budget) wanted.add(t); // open positions' live R
    for (const topic of [...rt.topics.keys()]) {
      if (topic.startsWith("price:") && !wanted.has(topic.slice(6))) rt.drop(topic);
    }
    let rank = PRICE_RANK_FROM;
    for (const t of wanted) rt.want(`price:${t}`, rank++);
  }

  function applyFrame(frame) {
    const d = frame.data || {};
    switch (frame.type) {
      case "market_gate_update": {
        const shownDay = store.gate?.data?.trading_date;
        if (shownDay && d.trading_date && d.trading_date !== shownDay) charts.clear();
        gateCard.render(frame);
        charts.addGatePoint(d.as_of, d.level, d.kospi_change_pct, d.kosdaq_change_pct);
        break;
      }
      case "ops_update":
        opsBanner.render(frame.data);
        break;
      case "signal_update":
        signalsTable.set(frame.data, !frame.snapshot);
        watchlist.refreshNames();
        syncPriceTopics();
        perfPanel.reload(); // outcomes may have moved
        break;
      case "price_update":
        if (frame.ticker && frame.data) priceFeed.queue(frame.ticker, frame.data);
        break;
      case "index_update": {
        const key = frame.topic === "market:kosdaq" ? "kosdaq" : "kospi";
        charts.addIndexPoint(key, d.as_of, d.change_rate);
        gateCard.updateIndex(key, d);
        break;
      }
      default:
        break;
    }
  }

  rt = new Realtime({
    url: wsUrl(state.ws_path || "/ws"),
    limits: state.realtime,
    onFrame: applyFrame,
    onStatus: connection.render,
    onConnected: (frame) => {
      if (frame.server_time) store.clockOffset = Date.parse(frame.server_time) - Date.now();
    },
  });
  window.addEventListener("online", () => rt.reconnectNow());
  window.addEventListener("offline", () => rt.wentOffline());

  gateCard.showThresholds();
  gateCard.render(state.gate);
  opsBanner.render(state.ops);
  signalsTable.set(state.signals?.data, false);
  watchlist.render();
  charts.seed(state.gate_history);
  signalsTable.wire();
  watchlist.wire();
  // Topics this user may not read (WS_TOPIC_PERMISSIONS) are not asked for: the socket would refuse them.
  const restricted = new Set(state.restricted || []);
  for (const [i, topic] of FIXED_TOPICS.entries()) if (!restricted.has(topic)) rt.want(topic, i);
  if (state.ops) rt.want("ops", FIXED_TOPICS.length); // not offered to this user otherwise
  syncPriceTopics();
  rt.connect();
  perfPanel.start();
  setInterval(gateCard.renderFreshness, 1000);
  charts.build().catch(charts.unavailable);
}

start();
