// The pure parts added for a first look at the page: money in English, the chart's time
// axis, the colour hysteresis holds.

import assert from "node:assert/strict";
import { test } from "node:test";

import { setMoneyStyle, won } from "../../static/stockgate/dashboard/format.js";
import { heldColour } from "../../static/stockgate/dashboard/gate-card.js";
import { timeLabels, timeRange } from "../../static/stockgate/dashboard/charts.js";

test("won in English: ₩ before the digits, never 원; Korean again after switching back", () => {
  setMoneyStyle("en");
  assert.equal(won(75000), "₩75,000");
  assert.equal(won(null), "—");
  setMoneyStyle("ko");
  assert.equal(won(75000), "75,000원");
});

test("one point still gets a 30-minute axis; a wider range is kept", () => {
  const t = 1_750_000_000;
  assert.deepEqual(timeRange(t, t), [t - 900, t + 900]);
  assert.deepEqual(timeRange(t, t + 7200), [t, t + 7200]);
});

test("axis labels are distinct: seconds appear only when minutes would repeat", () => {
  const clock = (v) => new Date(v * 1000).toISOString().slice(11, 19);
  assert.deepEqual(timeLabels([0, 600, 1200], clock), ["00:00", "00:10", "00:20"]);
  assert.deepEqual(timeLabels([0, 20, 40], clock), ["00:00:00", "00:00:20", "00:00:40"]);
});

test("hysteresis: a level whose own colour differs from the status is a held colour", () => {
  const limits = { green: 70, yellow: 40 };
  assert.equal(heldColour("YELLOW", 72, limits), "GREEN");
  assert.equal(heldColour("GREEN", 68, limits), "YELLOW");
  assert.equal(heldColour("GREEN", 72, limits), null);
  assert.equal(heldColour("RED", null, limits), null);
});

test("an incomplete scan is said with its numbers; a complete or unknown one says nothing", async () => {
  const { coverageWarning } = await import("../../static/stockgate/dashboard/signals-table.js");
  const T = { scan_incomplete: "%(missing)s of %(before)s (%(share)s) missing on %(date)s" };
  const coverage = { incomplete: true, missing_tickers: 412, traded_before: 2731, missing_share: 0.1509 };
  assert.equal(coverageWarning(coverage, "2025-06-16", T), "412 of 2,731 (15%) missing on 2025-06-16");
  assert.equal(coverageWarning({ ...coverage, incomplete: false }, "2025-06-16", T), "");
  assert.equal(coverageWarning(null, "2025-06-16", T), "");
  assert.equal(coverageWarning({ incomplete: true }, "2025-06-16", T), "? of ? (?) missing on 2025-06-16");
});

test("a price flush writes what fits its time budget and leaves the rest to the next frame", async () => {
  const { createPriceFeed } = await import("../../static/stockgate/dashboard/prices.js");
  const store = { prices: new Map() };
  const written = [];
  const frames = [];
  let clock = 0;
  const originalSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn) => fn(); // the 200 ms batching wait, at once
  try {
    const feed = createPriceFeed({
      store,
      onPrice: (ticker) => { written.push(ticker); clock += 1; }, // each write costs 1 ms
      now: () => clock,
      nextFrame: (fn) => frames.push(fn),
    });
    for (let i = 0; i < 25; i++) feed.queue(`T${i}`, { price: 100 + i });
    assert.equal(frames.length, 1);
    frames.shift()();
    assert.equal(written.length, 10); // 6 ms budget, but at least 10 tickers a pass
    feed.queue("T24", { price: 999 }); // a newer price for a ticker still queued replaces it
    while (frames.length) frames.shift()();
    assert.equal(written.length, 25);
    assert.equal(store.prices.get("T24").price, 999);
    feed.queue("T0", { price: 1 }); // idle again: a new batch is scheduled
    assert.equal(frames.length, 1);
  } finally {
    globalThis.setTimeout = originalSetTimeout;
  }
});

test("a flash lights a cell, steps it down as it ages and clears it after 900 ms; a new change lights it again", async () => {
  const { createFlasher } = await import("../../static/stockgate/dashboard/prices.js");
  const { FakeClock } = await import("./fake-env.js");
  const clock = new FakeClock();
  const flash = createFlasher({
    now: () => clock.time,
    every: (fn, ms) => clock.setInterval(fn, ms),
    stop: (id) => clock.clearTimeout(id),
  });
  const cell = { dataset: {} };
  flash(cell, null); // no move: nothing lit, no timer
  assert.deepEqual(cell.dataset, {});
  assert.equal(clock.timers.size, 0);
  flash(cell, "up");
  assert.deepEqual(cell.dataset, { flash: "up", fade: "4" });
  const levels = [];
  for (let t = 0; t < 900; t += 75) { clock.advance(75); levels.push(cell.dataset.fade); }
  assert.deepEqual(levels, ["4", "4", "3", "3", "3", "2", "2", "2", "1", "1", "1", undefined]);
  assert.deepEqual(cell.dataset, {});
  assert.equal(clock.timers.size, 0); // nothing lit: the timer stops
  flash(cell, "up");
  clock.advance(600);
  assert.equal(cell.dataset.fade, "2");
  flash(cell, "down"); // moved again while lit: full strength, the new colour
  assert.deepEqual(cell.dataset, { flash: "down", fade: "4" });
  clock.advance(900);
  assert.deepEqual(cell.dataset, {});
});
