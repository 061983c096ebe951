// Live prices, shared by the signals table and the watchlist: frames are batched into a
// few DOM passes a second, and a changed cell flashes red (up) or blue (down).

import { isNum } from "./format.js";

const PRICE_FLUSH_MS = 200;
const FLUSH_BUDGET_MS = 6; // per animation frame
const FLUSH_MIN_TICKERS = 10; // progress even on a slow machine
// The flash is the cell's background, stepped down by data-fade (4, 3, 2, 1, then gone;
// colours in the CSS) as it ages, by one timer for all cells: a few repaints of a few
// small boxes a second. A Web Animation per cell, even an opacity one on the compositor,
// gave every flashing cell a compositor layer of its own, and each animation starting or
// ending rebuilt the page's layer list on the main thread: with a hundred tickers moving
// that took most frames, in tasks of 100-900 ms (docs/benchmarks.md).
const FLASH_MS = 900;
const FLASH_STEPS = 4;
const FLASH_TICK_MS = 75; // a step is 225 ms: written within a third of a step of its time

/**
 * @param store    prices live in store.prices (ticker -> {price, change, change_rate, as_of})
 * @param onPrice  called per changed ticker with (ticker, "up" | "down" | null)
 */
export function createPriceFeed({ store, onPrice, now = () => performance.now(), nextFrame = (fn) => requestAnimationFrame(fn) }) {
  const pending = new Map();
  let flushScheduled = false;

  // One pass writes what fits in a few milliseconds and leaves the rest to the next
  // frame: a hundred tickers changing at once become several short tasks (and several
  // small style recalculations) rather than one long one.
  function flush() {
    const deadline = now() + FLUSH_BUDGET_MS;
    let done = 0;
    for (const [ticker, data] of pending) {
      pending.delete(ticker);
      const before = store.prices.get(ticker)?.price;
      store.prices.set(ticker, data);
      const moved = isNum(before) && isNum(data.price) && data.price !== before ? (data.price > before ? "up" : "down") : null;
      onPrice(ticker, moved);
      done += 1;
      if (done >= FLUSH_MIN_TICKERS && now() >= deadline) break;
    }
    if (pending.size) {
      nextFrame(flush); // a newer price that arrives meanwhile replaces the queued one
    } else {
      flushScheduled = false;
    }
  }

  function queue(ticker, data) {
    pending.set(ticker, data);
    if (flushScheduled) return;
    flushScheduled = true;
    // Hundreds of frames a second collapse into a few DOM passes a second: the latest
    // price per ticker is what a reader can take in, and layout work stays bounded.
    setTimeout(() => nextFrame(flush), PRICE_FLUSH_MS);
  }

  return { queue };
}

/**
 * flash(cell, "up" | "down" | null) lights a cell's background and fades it out over
 * FLASH_MS; a cell that changes again while lit is lit again. Tests pass a fake clock.
 */
export function createFlasher({
  now = () => performance.now(), every = (fn, ms) => setInterval(fn, ms), stop = (id) => clearInterval(id),
} = {}) {
  const lit = new Map(); // cell -> when it was lit
  let timer = null;

  const step = (cell, level) => { if (cell.dataset.fade !== level) cell.dataset.fade = level; };

  function fade() {
    const t = now();
    for (const [cell, since] of lit) {
      const left = FLASH_STEPS - Math.floor(((t - since) / FLASH_MS) * FLASH_STEPS);
      if (left > 0) {
        step(cell, String(left));
      } else {
        lit.delete(cell);
        delete cell.dataset.flash;
        delete cell.dataset.fade;
      }
    }
    if (lit.size === 0) {
      stop(timer);
      timer = null;
    }
  }

  return function flash(cell, dir) {
    if (!dir) return;
    if (cell.dataset.flash !== dir) cell.dataset.flash = dir;
    step(cell, String(FLASH_STEPS));
    lit.set(cell, now());
    if (timer === null) timer = every(fade, FLASH_TICK_MS);
  };
}
