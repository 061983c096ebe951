// The connection indicator in the top bar: 연결됨 / 재연결 중 (시도 N) / 오프라인.

import { byId } from "./dom.js";

export function createConnectionBadge({ strings: T }) {
  function render(state, attempt) {
    const box = byId("conn");
    box.dataset.state = state;
    box.dataset.attempt = String(attempt);
    const label = state === "reconnecting" ? `${T.reconnecting} (${T.attempt} ${attempt})` : T[state] || state;
    const text = byId("conn-label");
    if (text.textContent !== label) text.textContent = label;
  }

  return { render };
}
