// The shopper's panel: what Vitrina keeps on this device, in plain language, and
// the shopper's controls over it (pause, consent, download, erase). A modal
// <dialog> in a shadow root: focus moves into it and is kept there (Tab wraps),
// Escape closes it, and focus returns to what opened it. Text only, no HTML.

import { attr } from './capture.js';
import { catLabel, el, fmtMoney, money, shadow } from './render.js';

let w = 0;
let bars = '';
for (; w <= 20; w++) bars += '.w' + w + '{width:' + w * 5 + '%}';
const CSS =
  ':host{--a:var(--vitrina-accent,#0f766e);--r:var(--vitrina-radius,12px);--bg:var(--vitrina-card-bg,#fff);--fg:var(--vitrina-text,#1b1f23);--mu:var(--vitrina-muted,#59636e);--bd:var(--vitrina-border,#e1e4e8);--tint:var(--vitrina-tint,#f1f3f2)}' +
  '.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}' +
  'dialog{box-sizing:border-box;width:min(32rem,calc(100vw - 2rem));max-height:min(46rem,calc(100vh - 2rem));padding:0;border:0;border-radius:var(--r);background:var(--bg);color:var(--fg);box-shadow:0 24px 64px rgba(10,20,30,.28);font:15px/1.5 var(--vitrina-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif)}' +
  'dialog[open]{display:flex;flex-direction:column}' +
  'dialog::backdrop{background:rgba(12,18,24,.5)}' +
  '.head{display:flex;align-items:flex-start;gap:1rem;padding:1.25rem 1.25rem 0}' +
  'h2{flex:1;margin:0;font-size:1.25rem;line-height:1.3}' +
  'h3{margin:1.25rem 0 .5rem;font-size:.78rem;letter-spacing:.06em;text-transform:uppercase;color:var(--mu)}' +
  'p{margin:.25rem 0}' +
  '.intro{color:var(--mu)}' +
  '.body{overflow:auto;padding:.25rem 1.25rem 1.25rem}' +
  '.note{margin-top:.75rem;padding:.5rem .75rem;border-radius:calc(var(--r) - 4px);background:var(--tint);font-weight:600}' +
  'ul{list-style:none;margin:0;padding:0}' +
  '.bars li{display:grid;grid-template-columns:minmax(0,1fr) 42%;align-items:center;gap:.75rem;padding:.2rem 0}' +
  '.bars b{display:block;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
  '.bars small{display:block;font-size:.75rem;color:var(--mu)}' +
  '.bar{height:.5rem;border-radius:1rem;background:var(--tint);overflow:hidden}' +
  '.bar i{display:block;height:100%;min-width:.5rem;border-radius:inherit;background:var(--a)}' +
  bars +
  '.chips{display:flex;flex-wrap:wrap;gap:.375rem}' +
  '.chips li{max-width:100%;box-sizing:border-box;padding:.2rem .65rem;border-radius:1rem;background:var(--tint);font-size:.875rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
  '.muted{color:var(--mu)}' +
  '.foot{display:flex;flex-wrap:wrap;gap:.5rem;padding:1rem 1.25rem 1.25rem;border-top:1px solid var(--bd)}' +
  'button{min-height:2.5rem;padding:0 1rem;border:1px solid var(--bd);border-radius:2rem;background:var(--bg);color:var(--fg);font:inherit;font-weight:600;cursor:pointer}' +
  'button:hover{border-color:var(--fg)}' +
  'button:focus-visible{outline:2px solid var(--a);outline-offset:2px}' +
  '.x{flex:none;width:2.5rem;padding:0;font-size:1.4rem;line-height:1}' +
  '.go{margin-top:.5rem}' +
  '.danger{color:var(--vitrina-danger,#b42318);border-color:currentColor}' +
  '@media (max-width:30rem){dialog{width:100vw;max-width:100vw;max-height:90vh;margin:auto 0 0;border-radius:var(--r) var(--r) 0 0}.foot button{flex:1 1 auto}}' +
  '@media (prefers-reduced-motion:no-preference){dialog[open]{animation:vin .2s ease-out}dialog[open]::backdrop{animation:vfade .2s}}' +
  '@keyframes vin{from{opacity:0;transform:translateY(.75rem)}}@keyframes vfade{from{opacity:0}}';

const P = {}; // the panel's parts, built once: host, root, dlg, body, pause, live, opener

/** Makes every `[data-vitrina-panel]` element open the panel (shown once Vitrina runs). */
export function bindPanel(v) {
  for (const b of document.querySelectorAll('[data-vitrina-panel]')) {
    if (b.vitrinaPanel) continue;
    b.vitrinaPanel = 1;
    if (!b.textContent.trim()) b.textContent = v.t('panel-open');
    if (b.localName === 'button' && !b.hasAttribute('type')) b.type = 'button';
    b.setAttribute('aria-haspopup', 'dialog');
    b.hidden = false;
    b.addEventListener('click', (e) => {
      e.preventDefault();
      openPanel(v, b);
    });
  }
}

/** Opens the panel; focus returns to `from` (or what had focus) when it closes. */
export function openPanel(v, from) {
  const a = document.activeElement;
  P.opener = from || (a && a !== document.body ? a : null);
  if (!P.host) build(v);
  draw(v);
  P.live.textContent = '';
  if (!P.dlg.open) P.dlg.showModal ? P.dlg.showModal() : P.dlg.setAttribute('open', '');
  P.x.focus();
}

function button(text, cls, onclick) {
  const b = el('button', cls, text);
  b.type = 'button';
  b.addEventListener('click', onclick);
  return b;
}

function build(v) {
  const t = v.t;
  P.host = el('div');
  P.host.setAttribute('data-vitrina-panel-host', '');
  P.root = shadow(P.host, CSS);
  const d = (P.dlg = el('dialog'));
  d.setAttribute('role', 'dialog');
  d.setAttribute('aria-modal', 'true');
  d.setAttribute('aria-labelledby', 'vitrina-title');
  d.setAttribute('aria-describedby', 'vitrina-intro');
  const h = el('h2', '', t('panel-title'));
  h.id = 'vitrina-title';
  P.x = button('×', 'x', close);
  P.x.setAttribute('aria-label', t('close'));
  const head = el('div', 'head');
  head.append(h, P.x);
  const intro = el('p', 'intro', t('panel-intro'));
  intro.id = 'vitrina-intro';
  P.body = el('div', 'body');
  P.content = el('div');
  P.body.append(intro, P.content);
  P.live = el('p', 'sr');
  P.live.setAttribute('role', 'status');
  P.pause = button('', '', () => {
    v.setPaused(!v.paused());
    draw(v);
    P.live.textContent = v.paused() ? t('paused') : '';
  });
  const foot = el('div', 'foot');
  foot.append(
    P.pause,
    button(t('download'), '', () => download(v)),
    button(t('erase'), 'danger', () => {
      v.erase();
      draw(v);
      P.live.textContent = t('erased');
    }),
  );
  d.append(head, P.body, foot, P.live);
  d.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !d.showModal) close();
    if (e.key !== 'Tab') return;
    // Keep focus inside: Tab from the last control goes to the first, and back.
    const f = [...d.querySelectorAll('button,a[href]')].filter((x) => !x.disabled && x.getClientRects().length);
    const at = P.root.activeElement;
    const edge = e.shiftKey ? f[0] : f[f.length - 1];
    if (at === edge || !f.includes(at)) {
      e.preventDefault();
      (e.shiftKey ? f[f.length - 1] : f[0]).focus();
    }
  });
  // Escape (the dialog's own cancel), the close button and a click on the
  // backdrop all end here; focus goes back to the opener.
  d.addEventListener('close', () => P.opener && P.opener.isConnected && P.opener.focus());
  d.addEventListener('click', (e) => e.target === d && close());
  P.root.append(d);
  document.body.append(P.host);
}

function close() {
  if (P.dlg.close) P.dlg.close();
  else P.dlg.removeAttribute('open'), P.opener && P.opener.focus();
}

// The name of an item: what the profile or the page knows, else its id.
function nameOf(p, id) {
  const r = (p.recent || []).find((x) => x.item === id);
  if (r && r.name) return r.name;
  for (const e of document.querySelectorAll('[data-vitrina-item][data-vitrina-name]')) if (attr(e, 'item') === id) return attr(e, 'name');
  return id;
}

const EDGES = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
function interestLabel(v, key) {
  const kind = key.slice(0, 2);
  const val = key.slice(2);
  if (kind === 'c:') return [v.t('kind-c'), val.split('/').map(catLabel).join(' › ')];
  if (kind === 'b:') return [v.t('kind-b'), val];
  if (kind !== 'p:') return null;
  const i = val.charCodeAt(0) - 97;
  const m = (x) => fmtMoney(x * 100, money(v), v.locale, 1);
  return [v.t('kind-p'), i <= 0 ? v.t('under').replace('{a}', m(EDGES[0])) : i >= EDGES.length ? v.t('over').replace('{a}', m(EDGES[EDGES.length - 1])) : m(EDGES[i - 1]) + '–' + m(EDGES[i])];
}

function section(title, ...content) {
  const s = el('section');
  s.append(el('h3', '', title), ...content);
  return s;
}
function chips(v, names) {
  if (!names.length) return el('p', 'muted', v.t('none-yet'));
  const ul = el('ul', 'chips');
  for (const n of names.slice(0, 8)) ul.append(el('li', '', n));
  if (names.length > 8) ul.append(el('li', 'muted', v.t('more-n').replace('{n}', names.length - 8)));
  return ul;
}

function draw(v) {
  const t = v.t;
  const p = v.profile() || {};
  const out = [];
  if (v.paused()) out.push(el('p', 'note', t('paused')));

  // Interests, strongest first, as bars relative to the strongest.
  const top = (p.interests || []).map((x) => [interestLabel(v, x.key), x.score_milli]).filter((x) => x[0]).slice(0, 6);
  let chart = el('p', 'muted', t('none-yet'));
  if (top.length) {
    chart = el('ul', 'bars');
    for (const [[kind, label], s] of top) {
      const li = el('li');
      const txt = el('span');
      txt.append(el('b', '', label), el('small', '', kind));
      const bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      bar.append(el('i', 'w' + Math.max(1, Math.round((s / top[0][1]) * 20))));
      li.append(txt, bar);
      chart.append(li);
    }
  }
  out.push(section(t('interests'), chart));
  out.push(section(t('recent'), chips(v, (p.recent || []).map((r) => r.name || r.item))));
  out.push(section(t('your-likes'), chips(v, (p.likes || []).map((l) => nameOf(p, l.item)))));

  // Sharing: on when there is somewhere to send to and consent allows it.
  const cs = v.consentState ? v.consentState() : { sending: true };
  const on = v.sends && cs.sending;
  const share = section(t('sharing'), el('p', '', t(on ? 'sending-on' : 'sending-off')));
  if (v.sends && typeof v.setConsent === 'function')
    share.append(
      button(t(on ? 'send-stop' : 'send-allow'), 'go', () => {
        v.setConsent(on ? 'denied' : 'granted');
        draw(v);
        P.live.textContent = t(on ? 'sending-off' : 'sending-on');
        P.root.querySelector('.go').focus();
      }),
    );
  out.push(share);
  P.content.replaceChildren(...out);
  P.pause.textContent = t(v.paused() ? 'resume' : 'pause');
}

function download(v) {
  const data = {
    exported: new Date().toISOString(),
    client: v.core.client(),
    consent: v.consentState ? v.consentState() : null,
    paused: v.paused(),
    profile: v.profile(),
  };
  const a = el('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  a.download = 'my-data.json';
  P.root.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
