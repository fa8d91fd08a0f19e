// Drawing on the shop's page: like buttons, badges and recommendation slots.
// Everything shown is set with textContent or as a checked URL attribute, never
// as HTML, so an item name can never become markup. Styles live in constructable
// stylesheets adopted by shadow roots (no <style> element, no style attribute),
// so a strict Content-Security-Policy (style-src 'self') is fine.
//
// A slot's items come from one place per kind:
//   recently-viewed   the profile (v.profile().recent)
//   trending          the public popularity feed (GET …/popularity, once per page)
//   for-you, similar, bought-together, cart-complements
//                     v.recommend(kind, { item, limit, paused }): the core's ranking,
//                     [{ item, name, image, url, price, reason, rec }] with price in
//                     hundredths; without it these slots stay empty.

import { attr, cleanUrl } from './capture.js';

// The shopper's texts of src/i18n.rs, by their number there (the order of its
// `EN` table), as v.t(n) asks the wasm for them (Core.text): the wasm carries no
// keys. scripts/build.mjs checks each name against the key at its number.
export const LIKE = 0;
export const LIKED = 1;
export const UNLIKED = 2;
export const LIKES = 3;
export const VIEWED = 4;
export const VIEWED_TIMES = 5;
export const EMPTY_RECENT = 6;
export const TRENDING = 7;
export const BESTSELLER = 8;
export const BOUGHT_N = 9;
export const CARTS_N = 10;
export const VIEWS_N = 11;
export const PAUSED = 12;
export const PANEL_OPEN = 13;

const fmts = {};
const nf = (key, lang, opts) => {
  if (!fmts[key])
    try {
      fmts[key] = new Intl.NumberFormat(lang, opts);
    } catch (e) {
      fmts[key] = { format: String };
    }
  return fmts[key];
};
export const fmtCount = (n, lang) => nf('c' + lang, lang, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
/** Hundredths as money; `d` the fraction digits (2 by default). */
export const fmtMoney = (cents, cur, lang, d = 2) =>
  nf(cur + lang + d, lang, { ...(cur && { style: 'currency', currency: cur }), minimumFractionDigits: d, maximumFractionDigits: d }).format(cents / 100);
/** The page's currency: the last event's, else the first the markup names. */
export const money = (v) => v.currency() || attr(document.querySelector('[data-vitrina-currency]') || document.body, 'currency');

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
const put = (e, k, x) => x != null && e.setAttribute(k, x);
const fill = (s, k, x) => s.replace('{' + k + '}', x);

// ---- shadow roots with adopted stylesheets
const sheets = {};
/** The open shadow root of `host`, created with `css` the first time. */
export function shadow(host, css) {
  let root = host.shadowRoot;
  if (!root) {
    root = host.attachShadow({ mode: 'open' });
    try {
      if (!sheets[css]) (sheets[css] = new CSSStyleSheet()).replaceSync(css);
      root.adoptedStyleSheets = [sheets[css]];
    } catch (e) {
      // No constructable stylesheets (Safari < 16.4): a <style>, which a strict CSP blocks.
      root.append(el('style', 0, css));
    }
  }
  return root;
}

// Theming: colours, radius, font and sizes come from --vitrina-* custom
// properties (they inherit through the shadow boundary), with neutral defaults,
// written where they are used (the panel names them once, panel-dialog.js VARS).
// The live region of like changes: hidden from sight, not from screen readers.
const SR = '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';
// One row of fixed-size cards that scrolls sideways: its height does not depend
// on the number of items, so the shop reserves it before Vitrina loads
// ([data-vitrina-slot] { min-height: var(--vitrina-slot-height, 17.5rem) }) and
// nothing below the slot moves when it fills.
const SLOT_CSS =
  ':host{display:block;color:var(--vitrina-text,#1b1f23);font-family:var(--vitrina-font,inherit)}' +
  'ul{display:flex;gap:var(--vitrina-gap,1rem);box-sizing:border-box;height:var(--vitrina-slot-height,17.5rem);margin:0;padding:2px 2px .75rem;list-style:none;overflow:auto hidden;scroll-snap-type:x proximity;scrollbar-width:thin}' +
  'li{flex:none;display:flex;width:var(--vitrina-card-width,10rem);scroll-snap-align:start}' +
  '.vitrina-card{flex:1;display:flex;flex-direction:column;gap:.25rem;min-width:0;padding:.625rem;border:1px solid var(--vitrina-border,#e1e4e8);border-radius:var(--vitrina-radius,12px);background:var(--vitrina-card-bg,#fff);color:inherit;text-decoration:none;overflow:hidden}' +
  'a:hover{border-color:var(--vitrina-border-hover,#c9ced3);box-shadow:0 4px 14px #14202c17}' +
  'a:focus-visible{outline:2px solid var(--vitrina-accent,#0f766e);outline-offset:2px}' +
  'i{flex:none;aspect-ratio:1;margin-bottom:.375rem;border-radius:calc(var(--vitrina-radius,12px) - 4px);background:var(--vitrina-media-bg,var(--vitrina-tint,#f1f3f2));overflow:hidden}' +
  'img{display:block;width:100%;height:100%;object-fit:cover}' +
  '.vitrina-card-name{max-height:2.6em;font-weight:600;line-height:1.3;overflow:hidden}' +
  '.vitrina-card-name,.vitrina-card-price{font-size:.9rem}' +
  '.vitrina-card-price{font-weight:700;font-variant-numeric:tabular-nums}' +
  '.vitrina-reason{margin-top:auto;font-size:.78rem;line-height:1.3;color:var(--vitrina-muted,#59636e);overflow:hidden;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2}' +
  'p{display:flex;align-items:center;justify-content:center;box-sizing:border-box;height:var(--vitrina-slot-height,17.5rem);margin:0;padding:1.25rem;border:1.5px dashed var(--vitrina-border,#e1e4e8);border-radius:var(--vitrina-radius,12px);color:var(--vitrina-muted,#59636e);text-align:center}' +
  '@media (prefers-reduced-motion:no-preference){a{transition:.15s}a:hover{transform:translateY(-2px)}}';

// ---- the popularity feed: { min_count, items: { SKU: { likes, views, carts, purchases,
// …_7d, trending, bestseller: { rank, category } } } }, fetched once per page, on demand.
//
// Like counts: the published count, and the shopper's own like merged in once.
//  - A count the shop renders (data-vitrina-likes) is taken as everyone else's
//    likes: the shopper's like is added to it while it stands.
//  - A count from the feed includes the shopper's like once the like reached the
//    server. It is taken as counted when the shopper liked the item more than
//    5 s before the feed was fetched (events leave within about a second; the feed
//    is revalidated on every fetch), and taken out: `base` is everyone else's.
//  - Shown is base + (liked now ? 1 : 0): a like or unlike on this page moves the
//    number by exactly one, and a delivered like is never counted twice.
//  - No number while everyone else's likes are under v.minCount (5): small counts
//    can point at individuals.
function feed(v) {
  const t0 = Date.now();
  return (v.feed =
    v.feed ||
    (v.popularity
      ? fetch(v.popularity, { credentials: 'omit', cache: 'no-cache' })
          .then((r) => r.ok && r.json())
          .then((j) => {
            const items = (j && j.items) || {};
            const liked = {};
            for (const l of v.profile().likes) liked[l.item] = l.ts < t0 - 5000;
            v.feedData = { items, base: {} };
            for (const id in items) if (items[id] && items[id].likes > 0) v.feedData.base[id] = items[id].likes - !!liked[id];
            return 1;
          })
          .catch(() => 0)
      : Promise.resolve(0)));
}
const others = (v, e, item) => {
  const a = attr(e, 'likes');
  const n = a != null ? parseInt(a, 10) || 0 : (v.feedData && v.feedData.base[item]) || 0;
  return n >= v.minCount ? n : 0;
};

/** Like buttons and badges (all, or those of one item). */
export function renderLikes(v, only) {
  const likes = document.querySelectorAll('[data-vitrina-like]');
  const badges = document.querySelectorAll('[data-vitrina-badge]');
  if (!v.feed && (badges.length || document.querySelector('[data-vitrina-like]:not([data-vitrina-likes])'))) feed(v).then((ok) => ok && renderLikes(v));
  if (likes.length && !v.live) {
    // A polite live region, made before it speaks, announces like changes.
    const host = el('div');
    host.setAttribute('data-vitrina-live', '');
    v.live = el('div', 'sr');
    v.live.setAttribute('role', 'status');
    shadow(host, SR).append(v.live);
    document.body.append(host);
  }
  const count = (e, item, liked) => {
    const n = others(v, e, item);
    return n && fmtCount(n + liked, v.locale);
  };
  for (const b of likes) {
    const item = attr(b, 'like');
    if (!item || (only && only !== item)) continue;
    const liked = v.core.likes(item);
    const n = count(b, item, liked);
    const key = liked + ' ' + n + v.locale;
    if (b.vitrina === key) continue;
    // A change of state (a click, the API, another tab) is announced.
    if (b.vitrina && !b.vitrina.startsWith(liked)) v.live.textContent = v.t(liked ? LIKED : UNLIKED) + (n ? ', ' + n + ' ' + v.t(LIKES) : '');
    b.vitrina = key;
    b.classList.add('vitrina-like');
    if (b.localName === 'button' && !b.hasAttribute('type')) b.type = 'button';
    b.setAttribute('aria-pressed', liked);
    const icon = el('span', 'vitrina-like-icon', liked ? '♥' : '♡');
    icon.setAttribute('aria-hidden', 'true');
    b.replaceChildren(icon, el('span', 'vitrina-like-label', v.t(LIKE)), ...(n ? [el('span', 'vitrina-like-count', n)] : []));
  }
  // Badges say only what the data supports: "Bestseller in …" for the top of a
  // category and "Trending" when the feed says so, the likes above the threshold.
  for (const b of badges) {
    const item = attr(b, 'badge');
    if (!item || (only && only !== item)) continue;
    const f = (v.feedData && v.feedData.items[item]) || {};
    const best = f.bestseller;
    const cat = best && (best.rank === 1 ? best.category : typeof best === 'string' && best);
    // Named as the shop names it (data-vitrina-category-label) when it is the
    // item's own category or one above it, else from its path.
    const own = (b.closest('[data-vitrina-category]') || b).getAttribute('data-vitrina-category') + '/';
    const n = count(b, item, v.core.likes(item));
    const facts = [
      cat && ['bestseller', fill(v.t(BESTSELLER), 'c', (own.startsWith(cat + '/') && attr(b, 'category-label')) || catLabel(cat))],
      f.trending && ['trending', v.t(TRENDING)],
      n && ['likes', n + ' ' + v.t(LIKES)],
    ].filter(Boolean);
    b.classList.add('vitrina-badge');
    b.replaceChildren(...facts.map(([k, text]) => el('span', 'vitrina-fact vitrina-' + k, text)));
    b.hidden = !facts.length;
  }
}
/** "shoes/running" → "Running" (the shop can say better with data-vitrina-category-label). */
export const catLabel = (c) => {
  const s = String(c).split('/').pop();
  return s.charAt(0).toUpperCase() + s.slice(1);
};

// ---- slots
// Personal kinds (empty while paused), ranked kinds (the core's): written in
// place as patterns, which minify smaller than named arrays.

/** Every slot on the page. */
export function renderSlots(v) {
  const paused = v.paused();
  const profile = v.profile();
  document.querySelectorAll('[data-vitrina-slot]').forEach((s, n) => {
    const kind = attr(s, 'slot');
    const limit = Math.min(50, Math.max(1, parseInt(attr(s, 'limit'), 10) || 8));
    const item = attr(s, 'item') || v.currentItem() || undefined;
    const show = (list) => {
      try {
        draw(v, s, kind, n, Array.isArray(list) ? list.slice(0, limit) : [], paused);
      } catch (e) {
        v.debugWarn(10, kind, e);
      }
    };
    let list = [];
    if (kind === 'trending') return feed(v).then(() => trending(v, profile)).then(show, () => show([]));
    if (paused && /^(recently-viewed|for-you|cart-complements)$/.test(kind)) list = [];
    else if (kind === 'recently-viewed')
      list = profile.recent
        .filter((r) => r.item !== v.currentItem())
        .map((r) => ({ ...r, reason: r.views > 1 ? fill(v.t(VIEWED_TIMES), 'n', r.views) : v.t(VIEWED) }));
    else if (!/^(for-you|similar|bought-together|cart-complements)$/.test(kind)) v.debugWarn(11, kind);
    else if (v.recommend && (item || kind[0] !== 's' && kind[0] !== 'b'))
      try {
        list = v.recommend(kind, { item, limit, paused }) || [];
      } catch (e) {
        v.debugWarn(12, kind, e);
      }
    show(list);
  });
}

/** The trending slot as data (vitrina.recommend('trending')): from the feed once it
 * has arrived, else empty (the first call fetches it). */
export const trendingNow = (v) => (feed(v), v.feedData ? trending(v, v.profile()) : []);

// Trending: the items the feed flags as trending; without any, the most active
// (bought, carted, liked, viewed; last 7 days when published, else all time),
// each card saying which of those numbers is true of it. Names, images and
// links come from the page's markup and the profile (the feed has only counts).
function trending(v, profile) {
  const f = v.feedData;
  if (!f) return [];
  const info = {};
  for (const r of profile.recent) info[r.item] = r;
  for (const e of document.querySelectorAll('[data-vitrina-item][data-vitrina-name]')) {
    const p = parseFloat(String(attr(e, 'price')).replace(',', '.'));
    info[attr(e, 'item')] = { name: attr(e, 'name'), url: attr(e, 'url'), image: attr(e, 'image'), price: p >= 0 ? Math.round(p * 100) : null, currency: attr(e, 'currency') };
  }
  const n = (c, k) => c[k + '_7d'] || c[k] || 0;
  const score = (c) => n(c, 'purchases') * 8 + n(c, 'carts') * 4 + (c.likes || 0) * 2 + n(c, 'views');
  let ids = Object.keys(f.items).filter((id) => id !== v.currentItem() && (info[id] || f.items[id].name));
  if (ids.some((id) => f.items[id].trending)) ids = ids.filter((id) => f.items[id].trending);
  const why = [['purchases', v.t(BOUGHT_N)], ['carts', v.t(CARTS_N)], ['likes', '{n} ' + v.t(LIKES)], ['views', v.t(VIEWS_N)]];
  return ids
    .sort((a, b) => score(f.items[b]) - score(f.items[a]))
    .map((id) => {
      const c = f.items[id];
      const k = why.find(([key]) => c[key]);
      const reason = c.trending ? v.t(TRENDING) : k && fill(k[1], 'n', fmtCount(c[k[0]], v.locale));
      return { item: id, name: c.name, url: c.url, image: c.image, ...info[id], reason };
    });
}

// Draws one slot: into the shop's <template> when the slot has one, else the
// default cards in the slot's shadow root. An empty slot is hidden (collapses),
// except "recently viewed", which says what will show there.
function draw(v, slot, kind, n, list, paused) {
  const sig = JSON.stringify([list, paused, v.locale]);
  if (slot.vitrina === sig) return;
  slot.vitrina = sig;
  const tpl = slot.querySelector(':scope>template');
  const cards = list.filter((r) => r && r.item != null).map((r, i) => {
    const url = r.url && cleanUrl(r.url);
    const img = r.image && cleanUrl(r.image);
    const ok = r.price != null && isFinite(r.price);
    const f = { name: String(r.name || r.item), price: ok ? fmtMoney(r.price, r.currency || money(v), v.locale) : '', reason: r.reason ? String(r.reason) : '' };
    let card;
    if (tpl) {
      card = tpl.content.cloneNode(true).firstElementChild;
      if (!card) return;
      for (const e of [card, ...card.querySelectorAll('[data-vitrina-field]')]) {
        const k = attr(e, 'field');
        if (k === 'image') img && e.localName === 'img' ? e.setAttribute('src', img) : (e.hidden = true);
        else if (k === 'url') e.localName === 'a' && put(e, 'href', url);
        else if (/^(name|price|reason)$/.test(k)) e.textContent = f[k];
      }
      // The card describes its item: actions inside it act on the recommended item.
      card.setAttribute('data-vitrina-item', r.item);
      card.setAttribute('data-vitrina-name', f.name);
      put(card, 'data-vitrina-price', ok ? r.price / 100 : null);
    } else {
      card = el(url ? 'a' : 'div', 'vitrina-card');
      put(card, 'href', url);
      const media = el('i');
      if (img) {
        const im = el('img');
        for (const [k, x] of [['src', img], ['alt', ''], ['loading', 'lazy'], ['width', 160], ['height', 160]]) im.setAttribute(k, x);
        media.append(im);
      }
      card.append(media, el('span', 'vitrina-card-name', f.name), el('span', 'vitrina-card-price', f.price), el('span', 'vitrina-reason', f.reason));
    }
    card.setAttribute('data-vitrina-rec', r.rec || v.nonce + '.' + n + '.' + i);
    card.setAttribute('data-vitrina-rec-item', r.item);
    card.setAttribute('data-vitrina-rec-slot', kind);
    return card;
  }).filter(Boolean);
  slot.setAttribute('data-vitrina-rendered', kind);
  slot.setAttribute('data-vitrina-count', cards.length);
  let empty = !cards.length;
  if (tpl) slot.replaceChildren(tpl, ...cards);
  else {
    const root = shadow(slot, SLOT_CSS);
    if (!root.vitrina) {
      // Clicks inside the shadow root reach the document as clicks on the slot
      // itself, so clicks on recommendations are read here.
      root.vitrina = 1;
      root.addEventListener('click', (e) => {
        const c = e.target.closest('[data-vitrina-rec]');
        try {
          if (c) v.recClick({ item: attr(c, 'rec-item'), rec: attr(c, 'rec'), slot: kind });
        } catch (x) {}
      });
    }
    const ul = el('ul');
    ul.setAttribute('role', 'list');
    ul.append(...cards.map((c) => el('li').appendChild(c).parentNode));
    const note = empty && kind === 'recently-viewed';
    root.replaceChildren(...root.querySelectorAll('style'), note ? el('p', 0, v.t(paused ? PAUSED : EMPTY_RECENT)) : ul);
    empty = empty && !note;
  }
  slot.hidden = empty;
  observe(v, cards);
}

// ---- impressions: a card counts as seen the first time at least half of it is
// in view (scrolled into the viewport, and not scrolled away inside its row).
function observe(v, cards) {
  if (!window.IntersectionObserver) return;
  const seen = (v.seen = v.seen || {});
  v.io =
    v.io ||
    new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (e.intersectionRatio < 0.5) continue;
          const c = e.target;
          const p = { item: attr(c, 'rec-item'), rec: attr(c, 'rec'), slot: attr(c, 'rec-slot') };
          v.io.unobserve(c);
          if (!seen[JSON.stringify(p)]) v.record('impression', p), (seen[JSON.stringify(p)] = 1);
        }
      },
      { threshold: 0.5 },
    );
  for (const c of cards) v.io.observe(c);
}
