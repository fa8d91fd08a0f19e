// The shopper's panel: the buttons that open it, and opening it. The panel
// itself (panel-dialog.js) is loaded on demand, the first time the shopper opens
// it: most shoppers never do, so it is not part of the main module.

import { PANEL_OPEN, PAUSED, catLabel, el, fmtMoney, money, shadow } from './render.js';

/** Makes every `[data-vitrina-panel]` element open the panel (shown once Vitrina runs). */
export function bindPanel(v) {
  for (const b of document.querySelectorAll('[data-vitrina-panel]')) {
    if (b.vitrina) continue;
    b.vitrina = 1;
    if (!b.textContent.trim()) b.textContent = v.t(PANEL_OPEN);
    b.setAttribute('aria-haspopup', 'dialog');
    b.hidden = false;
    b.addEventListener('click', (e) => {
      e.preventDefault();
      openPanel(v, b);
    });
  }
}

let dialog = null; // the panel module, once asked for

/**
 * Opens the panel; focus returns to `from` (or what had focus) when it closes.
 * Returns a promise that resolves once the panel is open (never rejects).
 */
export function openPanel(v, from) {
  const opener = from || document.activeElement;
  dialog = dialog || import('./panel-dialog.js');
  return dialog
    // render.js's helpers, and the number of the widget's text the panel shows
    // too (the panel chunk imports nothing).
    .then((m) => m.openPanel(v, opener, { catLabel, el, fmtMoney, money, shadow, paused: PAUSED }))
    .catch((e) => {
      dialog = null; // try again next time (the chunk may not have loaded)
      console.warn('[vitrina] could not open the panel: ' + (e && e.message));
    });
}
