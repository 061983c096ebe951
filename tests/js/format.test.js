// Formatting and the pure parts of the panels, without a browser.

import assert from "node:assert/strict";
import { test } from "node:test";

import { direction, fmt, kst, kstDate, pct, signedPct, won } from "../../static/stockgate/dashboard/format.js";
import { freshness } from "../../static/stockgate/dashboard/gate-card.js";
import { pushPoint } from "../../static/stockgate/dashboard/charts.js";
import { signalReturn, visibleSignals } from "../../static/stockgate/dashboard/signals-table.js";

test("won: grouped digits and 원, rounded; unknown is a dash", () => {
  assert.equal(won(75000), "75,000원");
  assert.equal(won(1234567.6), "1,234,568원");
  assert.equal(won(0), "0원");
  for (const v of [null, undefined, NaN, Infinity, "75000"]) assert.equal(won(v), "—");
});

test("percent: arrow and sign, so direction never relies on colour", () => {
  assert.equal(pct(1.234), "▲ +1.23%");
  assert.equal(pct(-0.5), "▼ -0.50%");
  assert.equal(pct(0), "– 0.00%");
  assert.equal(pct(null), "—");
  assert.equal(signedPct(2), "+2.00%");
  assert.equal(signedPct(null), "—");
});

test("direction: up is up (red on the page), down is down (blue)", () => {
  assert.deepEqual([1, -1, 0, null].map(direction), ["up", "down", "flat", "none"]);
});

test("times are Asia/Seoul whatever the offset they arrive with", () => {
  assert.equal(kst("2026-01-05T00:30:00Z"), "09:30:00 KST");
  assert.equal(kst("2026-01-05T09:30:00+09:00"), "09:30:00 KST");
  assert.equal(kstDate("2026-01-04T15:30:00Z"), "2026-01-05");
  assert.equal(kst(null), "—");
});

test("fmt fills Django's %(name)s templates", () => {
  assert.equal(fmt("신호 %(count)s개 갱신", { count: 3 }), "신호 3개 갱신");
  assert.equal(fmt("%(a)s-%(missing)s", { a: 1 }), "1-");
});

test("freshness: stale when the server says so or the row is too old; closed out of session", () => {
  const now = Date.parse("2026-01-05T10:00:00+09:00");
  const message = (ageSeconds, data = {}) => ({
    timestamp: new Date(now - ageSeconds * 1000).toISOString(), data: { session: "open", ...data },
  });
  const at = { now, maxAgeSeconds: 420, schedulerLate: false };
  assert.equal(freshness(message(60), at), "live");
  assert.equal(freshness(message(421), at), "stale");
  assert.equal(freshness(message(60, { stale: true }), at), "stale");
  assert.equal(freshness(message(60), { ...at, schedulerLate: true }), "stale");
  assert.equal(freshness(message(9999, { session: "closed" }), at), "closed");
  assert.equal(freshness(null, at), "stale");
});

test("charts only grow forward; a point at the last time updates it", () => {
  const series = { x: [], level: [] };
  pushPoint(series, 10, { level: 1 });
  pushPoint(series, 20, { level: 2 });
  pushPoint(series, 15, { level: 9 });
  pushPoint(series, 20, { level: 3 });
  assert.deepEqual(series, { x: [10, 20], level: [1, 3] });
});

test("signals sort by the chosen column with unknown prices last, and filter", () => {
  const signals = [
    { ticker: "000001", grade: "B", market: "KOSPI", score: 70, entry_price: 100 },
    { ticker: "000002", grade: "S", market: "KOSDAQ", score: 90, entry_price: 100 },
    { ticker: "000003", grade: "A", market: "KOSPI", score: 80, entry_price: 100 },
  ];
  const prices = { "000001": 110, "000002": 95 };
  const view = (sort, filters = {}) => visibleSignals([...signals], { sort, filters, priceOf: (t) => prices[t] })
    .map((s) => s.ticker);
  assert.deepEqual(view({ key: "score", dir: -1 }), ["000002", "000003", "000001"]);
  assert.deepEqual(view({ key: "grade", dir: 1 }), ["000002", "000003", "000001"]);
  assert.deepEqual(view({ key: "return", dir: -1 }), ["000001", "000002", "000003"]);
  assert.deepEqual(view({ key: "return", dir: 1 }), ["000002", "000001", "000003"]);
  assert.deepEqual(view({ key: "score", dir: -1 }, { market: "KOSPI" }), ["000003", "000001"]);
  assert.equal(signalReturn(signals[0], 110), 10);
  assert.equal(signalReturn(signals[0], undefined), null);
});
