// The page's shared state, in one object handed to each panel (no module keeps state
// another module reads). It starts from the server-rendered initial state.

const WATCH_KEY = "stockgate.watchlist";
const NAMES_KEY = "stockgate.watchnames";
export const WATCH_MAX = 100;
export const TICKER = /^[0-9][0-9A-Z]{5}$/;

function loadJson(storage, key, fallback) {
  try {
    const raw = storage?.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

/**
 * @param state   the server's initial state (dashboard-state): read, never written
 * @param storage localStorage, or null where it is unavailable
 */
export function createStore(state, storage) {
  // A first visit (nothing saved yet) starts with the tickers the server always streams.
  const saved = loadJson(storage, WATCH_KEY, null) ?? state.watchlist_default ?? [];
  return {
    state,
    // The server's clock, so ages are measured against the time the data is stamped with.
    clockOffset: state.server_time ? Date.parse(state.server_time) - Date.now() : 0,
    gate: state.gate || null, // the latest market_gate_update message
    ops: state.ops || null, // the watchdog's verdict (ops_update data)
    prices: new Map(Object.entries(state.quotes || {})), // ticker -> {price, change, change_rate, as_of}
    signals: [],
    signalDate: null,
    signalCoverage: null, // the last scan's data coverage (signal_update data.coverage)
    knownNames: new Map(Object.entries({ ...loadJson(storage, NAMES_KEY, {}), ...(state.names || {}) })),
    unknownTickers: new Set(), // looked up and not listed: the row says so instead of "—" forever
    watchlist: (Array.isArray(saved) ? saved : []).filter((t) => typeof t === "string" && TICKER.test(t)).slice(0, WATCH_MAX),
    storage,
  };
}

export const serverNow = (store) => Date.now() + store.clockOffset;

export function saveWatchlist(store) {
  try {
    store.storage?.setItem(WATCH_KEY, JSON.stringify(store.watchlist));
    const names = Object.fromEntries(store.watchlist.filter((t) => store.knownNames.has(t)).map((t) => [t, store.knownNames.get(t)]));
    store.storage?.setItem(NAMES_KEY, JSON.stringify(names));
  } catch { /* storage full or disabled: the list lives for this page only */ }
}
