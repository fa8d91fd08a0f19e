// The shopper's panel, loaded on demand by panel.js the first time it opens:
// what Vitrina keeps on this device, in plain language, and the shopper's
// controls over it (pause, consent, download, erase). A modal <dialog> in a
// shadow root: focus moves into it and stays there (Tab wraps), Escape closes
// it, focus returns to what opened it. Text only, never HTML.
//
// Its texts come with it (panel-text.js). It imports nothing else: the drawing
// helpers of render.js come from panel.js (`H`), so the main module and this one
// share them without a third, shared chunk.

import { TEXT } from './panel-text.js';

// Theming: colours, radius, font and sizes come from --vitrina-* custom
// properties (they inherit through the shadow boundary), with neutral defaults.
const VARS =
  ':host{--a:var(--vitrina-accent,#0f766e);--r:var(--vitrina-radius,12px);--bg:var(--vitrina-card-bg,#fff);--fg:var(--vitrina-text,#1b1f23);--mu:var(--vitrina-muted,#59636e);--bd:var(--vitrina-border,#e1e4e8);--t:var(--vitrina-tint,#f1f3f2);color:var(--fg);font-family:var(--vitrina-font,inherit)}' +
  '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';
const CSS =
  'dialog{box-sizing:border-box;width:min(32rem,100vw - 2rem);max-height:min(46rem,100vh - 2rem);padding:0;border:0;border-radius:var(--r);background:var(--bg);color:var(--fg);box-shadow:0 24px 64px #0a141e48;font:15px/1.5 var(--vitrina-font,system-ui,sans-serif)}' +
  'dialog[open]{display:flex;flex-direction:column}' +
  '::backdrop{background:#0c121880}' +
  'h2{flex:1;margin:0;font-size:1.25rem;line-height:1.3}' +
  'h3{margin:1.25rem 0 .5rem;font-size:.78rem;letter-spacing:.06em;text-transform:uppercase}' +
  'p{margin:.25rem 0}' +
  'h3,.m{color:var(--mu)}' +
  '.h,.f{display:flex;gap:.5rem;padding:1.25rem}.h{padding-bottom:.5rem}' +
  '.b{overflow:auto;padding:0 1.25rem 1.25rem}' +
  '.f{flex-wrap:wrap;border-top:1px solid var(--bd)}' +
  '.n{padding:.5rem .75rem;border-radius:8px;background:var(--t);font-weight:600}' +
  'ul{display:flex;flex-wrap:wrap;gap:.375rem;margin:0;padding:0;list-style:none}' +
  'li{max-width:100%;padding:.2rem .65rem;border-radius:1rem;background:var(--t);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
  '.g{display:grid;grid-template-columns:1fr 42%;align-items:center;gap:.3rem .75rem}' +
  '.g b{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
  'small{display:block;font-size:.75rem;color:var(--mu)}' +
  '.g i{display:block;height:.5rem;border-radius:1rem;background:var(--t)}' +
  '.g i i{display:block;min-width:.5rem;background:var(--a)}' +
  'button{min-height:2.5rem;padding:0 1rem;border:1px solid var(--bd);border-radius:2rem;background:var(--bg);color:var(--fg);font:inherit;font-weight:600;cursor:pointer}' +
  'button:hover{border-color:var(--fg)}' +
  'button:focus-visible{outline:2px solid var(--a);outline-offset:2px}' +
  '.x{width:2.5rem;padding:0;font-size:1.4rem}' +
  '.d{color:var(--vitrina-danger,#b42318);border-color:currentColor}' +
  '@media (max-width:30rem){dialog{width:100vw;max-width:none;margin:auto 0 0;border-radius:var(--r) var(--r) 0 0}.f button{flex:auto}}' +
  '@media (prefers-reduced-motion:no-preference){dialog[open]{animation:v .2s ease-out}}@keyframes v{from{opacity:0;transform:translateY(.75rem)}}';

let css = 0; // VARS + CSS + the bar widths, made once
const P = {}; // the panel, built once: dlg, root, body, live, pause, x, opener
let el; // render.js's el()
let t; // the panel's texts in the widget's language (src/i18n.rs pick), else the widget's own (v.t, by the number in H)

/**
 * Opens the panel; focus returns to `opener` when it closes. `H`: render.js's
 * helpers, and the numbers of the widget's texts the panel shows (`paused`).
 */
export function openPanel(v, opener, H) {
  el = H.el;
  const text = TEXT[v.core.constructor.lang(v.locale)] || TEXT.en;
  t = (k) => text[k] || v.t(H[k]);
  P.opener = opener;
  if (!P.dlg) build(v, H);
  draw(v, H);
  P.live.textContent = '';
  if (!P.dlg.open) P.dlg.showModal ? P.dlg.showModal() : P.dlg.setAttribute('open', '');
  P.x.focus();
}

// Listeners never throw into the shop's page.
const safe = (f) => {
  try {
    f();
  } catch (e) {}
};
const button = (text, cls, f) => {
  const b = el('button', cls, text);
  b.type = 'button';
  b.onclick = () => safe(f);
  return b;
};

function build(v, H) {
  const host = el('div');
  host.setAttribute('data-vitrina-panel-host', '');
  if (!css) {
    css = VARS + CSS;
    for (let w = 1; w <= 20; w++) css += '.w' + w + '{width:' + w * 5 + '%}';
  }
  P.root = H.shadow(host, css);
  const d = (P.dlg = el('dialog'));
  for (const [k, x] of [['role', 'dialog'], ['aria-modal', 'true'], ['aria-labelledby', 'vt'], ['aria-describedby', 'vd']]) d.setAttribute(k, x);
  const h = el('h2', 0, t('panel-title'));
  h.id = 'vt';
  P.x = button('×', 'x', () => (d.close ? d.close() : d.removeAttribute('open')));
  P.x.setAttribute('aria-label', t('close'));
  const head = el('div', 'h');
  head.append(h, P.x);
  const intro = el('p', 'm', t('panel-intro'));
  intro.id = 'vd';
  P.body = el('div');
  const body = el('div', 'b');
  body.append(intro, P.body);
  P.live = el('p', 'sr');
  P.live.setAttribute('role', 'status');
  P.pause = button('', '', () => (v.setPaused(!v.paused()), say(v, H, v.paused() && 'paused')));
  const foot = el('div', 'f');
  foot.append(
    P.pause,
    button(t('download'), '', () => {
      const a = el('a');
      const data = { exported: new Date().toISOString(), client: v.core.client(), consent: v.consentState && v.consentState(), paused: v.paused(), profile: v.profile() };
      a.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      a.download = 'my-data.json';
      P.root.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1e3);
    }),
    button(t('erase'), 'd', () => (v.erase(), say(v, H, 'erased'))),
  );
  d.append(head, body, foot, P.live);
  d.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !d.showModal) P.x.click();
    if (e.key !== 'Tab') return;
    // Keep focus inside: Tab from the last control goes to the first, and back.
    const f = [...d.querySelectorAll('button')];
    const to = e.shiftKey ? f[f.length - 1] : f[0];
    if (P.root.activeElement === (e.shiftKey ? f[0] : f[f.length - 1]) || !f.includes(P.root.activeElement)) e.preventDefault(), to.focus();
  });
  // Escape (the dialog's cancel), the close button and a click on the backdrop
  // all close it; focus goes back to the opener.
  d.addEventListener('close', () => P.opener && P.opener.focus && P.opener.focus());
  d.addEventListener('click', (e) => e.target === d && P.x.click());
  P.root.append(d);
  document.body.append(host);
}

// Price bands of the profile (src/profile.rs price_band), in currency units.
const EDGES = [10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4];

function draw(v, H) {
  const p = v.profile();
  const out = v.paused() ? [el('p', 'n', t('paused'))] : [];
  const section = (title, ...c) => {
    const s = el('section');
    s.append(el('h3', 0, title), ...c);
    out.push(s);
  };
  const none = () => el('p', 'm', t('none-yet'));
  const chips = (names) => {
    const ul = el('ul');
    for (const n of names.slice(0, 8)) ul.append(el('li', 0, n));
    if (names.length > 8) ul.append(el('li', 'm', t('more-n').replace('{n}', names.length - 8)));
    return names.length ? ul : none();
  };
  const m = (x) => H.fmtMoney(x * 100, H.money(v), v.locale, 0);

  // Interests, strongest first, as bars relative to the strongest.
  const top = p.interests.slice(0, 6);
  const chart = el('div', 'g');
  for (const { key, score_milli: s } of top) {
    const [k, val] = [key.slice(0, 2), key.slice(2)];
    const i = val.charCodeAt(0) - 97;
    const label =
      k === 'c:' ? val.split('/').map(H.catLabel).join(' › ')
        : k === 'b:' ? val
          : i < 1 ? t('under').replace('{a}', m(10)) : i > 9 ? t('over').replace('{a}', m(1e4)) : m(EDGES[i - 1]) + '–' + m(EDGES[i]);
    const txt = el('span');
    txt.append(el('b', 0, label), el('small', 0, t('kind-' + k[0])));
    const bar = el('i');
    bar.setAttribute('aria-hidden', 'true');
    bar.append(el('i', 'w' + Math.max(1, Math.round((s / top[0].score_milli) * 20))));
    chart.append(txt, bar);
  }
  section(t('interests'), top.length ? chart : none());
  section(t('recent'), chips(p.recent.map((r) => r.name || r.item)));
  section(t('your-likes'), chips(p.likes.map((l) => (p.recent.find((r) => r.item === l.item) || {}).name || l.item)));

  // Sharing: on when there is somewhere to send to and consent allows it.
  const on = v.sends && (!v.consentState || v.consentState().sending);
  section(t('sharing'), el('p', 0, t(on ? 'sending-on' : 'sending-off')));
  if (v.sends && v.setConsent)
    out[out.length - 1].append(
      button(t(on ? 'send-stop' : 'send-allow'), 0, () => {
        v.setConsent(on ? 'denied' : 'granted');
        say(v, H, on ? 'sending-off' : 'sending-on');
        P.body.querySelector('section:last-child button').focus();
      }),
    );
  P.body.replaceChildren(...out);
  P.pause.textContent = t(v.paused() ? 'resume' : 'pause');
}
// Redraws and announces what changed.
function say(v, H, k) {
  draw(v, H);
  P.live.textContent = k ? t(k) : '';
}
