// Formatting for Korean traders: won as `75,000원`, signed percentages with an arrow,
// Asia/Seoul times. Pure functions (no DOM), so node can import and test them.

export const intFmt = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
export const indexFmt = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const kstFmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const kstDateFmt = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit" });

export const isNum = (v) => typeof v === "number" && Number.isFinite(v);
let moneyStyle = "ko";
/** "ko": 75,000원 (Korean traders); "en": ₩75,000, as English readers expect. */
export function setMoneyStyle(lang) {
  moneyStyle = String(lang || "ko").startsWith("en") ? "en" : "ko";
}
export const won = (v) => {
  if (!isNum(v)) return "—";
  const digits = intFmt.format(Math.round(v));
  return moneyStyle === "en" ? `₩${digits}` : `${digits}원`;
};
/** HH:MM:SS in Asia/Seoul, from an ISO string or a Date. */
export const kstTime = (when) => kstFmt.format(new Date(when));
export const kst = (iso) => (iso ? `${kstTime(iso)} KST` : "—");
export const kstDate = (iso) => (iso ? kstDateFmt.format(new Date(iso)) : "");

/** "up" | "down" | "flat" | "none": the page colours up red and down blue from this. */
export function direction(v) {
  if (!isNum(v)) return "none";
  return v > 0 ? "up" : v < 0 ? "down" : "flat";
}

/** Change in percent with sign and arrow, so direction never relies on colour alone. */
export function pct(v) {
  if (!isNum(v)) return "—";
  const arrow = v > 0 ? "▲" : v < 0 ? "▼" : "–";
  const sign = v > 0 ? "+" : "";
  return `${arrow} ${sign}${v.toFixed(2)}%`;
}

/** An R multiple with sign and arrow: "▲ +1.25R", "▼ -1.00R". */
export function formatR(v) {
  if (!isNum(v)) return "—";
  const arrow = v > 0 ? "▲" : v < 0 ? "▼" : "–";
  return `${arrow} ${v > 0 ? "+" : ""}${v.toFixed(2)}R`;
}

/** A signed percentage without the arrow (chart legends). */
export const signedPct = (v) => (v == null ? "—" : `${v > 0 ? "+" : ""}${v.toFixed(2)}%`);

/** Fills a Django-style `%(name)s` template with values. */
export function fmt(template, values) {
  return String(template ?? "").replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}
