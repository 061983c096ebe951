// Live prices, shared by the signals table and the watchlist: frames are batched into a
// few DOM passes a second, and a changed cell flashes red (up) or blue (down).

import { isNum } from "./format.js";

const PRICE_FLUSH_MS = 200;
const FLUSH_BUDGET_MS = 6; // per animation frame
const FLUSH_MIN_TICKERS = 10; // progress even on a slow machine
const FLASH_MS = 900;
// The flash is an overlay (the cell's ::after, coloured by data-flash in the CSS) fading
// out: an opacity animation runs on the compositor, where a background-colour one would
// repaint every flashing cell on the main thread 60 times a second.
const FADE = [{ opacity: 1 }, { opacity: 0 }];

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

export function createFlasher() {
  const flashing = new WeakMap(); // cell -> running animation
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  return function flash(cell, dir) {
    if (!dir) return;
    const running = flashing.get(cell);
    // A cell already flashing the same way keeps its animation: a ticker updating ten
    // times a second does not start ten animations a second.
    if (running && cell.dataset.flash === dir) return;
    running?.cancel();
    cell.dataset.flash = dir;
    const done = () => {
      if (flashing.get(cell) !== animation) return;
      flashing.delete(cell);
      delete cell.dataset.flash;
    };
    let animation = null;
    if (reduceMotion.matches) {
      animation = { cancel: () => {} };
      setTimeout(done, FLASH_MS);
    } else {
      animation = cell.animate(FADE, { duration: FLASH_MS, easing: "ease-out", pseudoElement: "::after" });
      animation.onfinish = done;
    }
    flashing.set(cell, animation);
  };
}
