// The scheduler banner: shown while the watchdog says the scheduler is late (ops_update).

import { fmt, kst } from "./format.js";
import { byId, fromTemplate } from "./dom.js";

export function createOpsBanner({ store, strings: T, onChange }) {
  const at = (iso) => (iso ? kst(iso) : T.never);

  function lateItem(name, detail) {
    const li = fromTemplate("tpl-late-item");
    li.querySelector("strong").textContent = name;
    li.append(` · ${detail}`);
    return li;
  }

  function render(data) {
    const ops = data || null;
    store.ops = ops;
    const banner = byId("ops-banner");
    const late = Boolean(ops?.scheduler_late);
    const items = [];
    if (late && ops.beat && !ops.beat.alive) items.push([T.beat_down, fmt(T.last_signal, { time: at(ops.beat.last_tick) })]);
    for (const t of late ? ops.tasks || [] : []) {
      if (t.stale) items.push([t.name, `${fmt(T.late_since, { time: at(t.due_by) })} · ${fmt(T.last_run, { time: at(t.last_finished) })}`]);
    }
    // Rewritten only when it says something new: every rewrite of an alert is read out.
    const key = JSON.stringify(items);
    if (banner.dataset.key !== key) {
      banner.dataset.key = key;
      byId("ops-late").replaceChildren(...items.map(([name, detail]) => lateItem(name, detail)));
    }
    if (banner.hidden === late) banner.hidden = !late;
    onChange();
  }

  return { render };
}
