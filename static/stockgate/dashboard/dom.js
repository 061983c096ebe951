// Small DOM helpers shared by the panels: minimal writes, rows cloned from the page's
// <template> elements, and the screen-reader announcer.

import { direction, pct } from "./format.js";

export const byId = (id) => document.getElementById(id);

export function readJson(id) {
  const node = byId(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** The first element of <template id=...>, cloned. */
export function fromTemplate(id) {
  return byId(id).content.firstElementChild.cloneNode(true);
}

/** A table row with one cell spanning the table that says why it is empty. */
export function emptyRow(text, colSpan) {
  const tr = fromTemplate("tpl-empty-row");
  const cell = tr.firstElementChild;
  cell.colSpan = colSpan;
  cell.textContent = text;
  return tr;
}

// Writes only what changed: at hundreds of updates a second, untouched nodes stay clean.
// A cell's one text node is edited in place: assigning textContent would replace the node,
// and a new node is a new layout object for the browser to build, lay out and paint afresh.
export function setText(el, text) {
  const node = el.firstChild;
  if (node !== null && node.nodeType === Node.TEXT_NODE && node.nextSibling === null) {
    if (node.data !== text) node.data = text;
  } else if (el.textContent !== text) {
    el.textContent = text;
  }
}

export function setDir(el, dir) {
  if (el.dataset.dir !== dir) el.dataset.dir = dir;
}

/** A change in percent, coloured by direction, read out as "상승 1.20%" by screen readers. */
export function setChange(el, v, strings) {
  const text = pct(v);
  if (el.textContent === text) return;
  setText(el, text);
  setDir(el, direction(v));
  const word = { up: strings.up, down: strings.down, flat: strings.flat }[direction(v)];
  if (word) el.setAttribute("aria-label", `${word} ${text.replace(/^[▲▼–] /, "")}`);
  else el.removeAttribute("aria-label");
}

export function announce(text) {
  const box = byId("announcer");
  box.textContent = "";
  // A fresh text node after clearing makes screen readers read repeated messages too.
  requestAnimationFrame(() => { box.textContent = text; });
}
