// Drawing on the shop's page: like buttons, badges and recommendation slots.
// Everything shown is set with textContent or as a checked URL attribute, never
// as HTML, so an item name can never become markup. Styles live in constructable
// stylesheets adopted by shadow roots (no <style> element, no style attribute),
// so a strict Content-Security-Policy (style-src 'self') is fine.
//
// A slot's items come from one place per kind:
//   recently-viewed       the profile (v.profile().recent)
//   trending              the public popularity feed (GET …/popularity, once per page)
//   for-you, similar, bought-together, cart-complements
//                         v.recommend(kind, { item, limit, paused }) — the core's
//                         ranking — returning [{ item, name, image, url, price, reason, rec }]
//                         (price in hundredths); without it they render nothing.

import { attr, cleanUrl } from './capture.js';

const fmts = new Map();
function nf(key, lang, opts) {
  let f = fmts.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(lang, opts);
    } catch (e) {
      f = { format: (n) => String(n) };
    }
    fmts.set(key, f);
  }
  return f;
}
export const fmtCount = (n, lang) => nf('c' + lang, lang, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
export const fmtMoney = (cents, cur, lang, whole) =>
  nf('m' + cur + lang + whole, lang, cur ? { style: 'currency', currency: cur, maximumFractionDigits: whole ? 0 : 2 } : { minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: whole ? 0 : 2 }).format(cents / 100);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
/** The page's currency: the last event's, else the first the markup names. */
export const money = (v) => v.currency() || attr(document.querySelector('[data-vitrina-currency]') || document.body, 'currency') || '';
const put = (e, k, v) => (v == null ? e.removeAttribute(k) : e.setAttribute(k, v));
const fill = (s, k, x) => s.replace('{' + k + '}', x);

// ---- shadow roots with adopted stylesheets
const sheets = new Map();
/** The open shadow root of `host`, created with `css` the first time. */
export function shadow(host, css) {
  if (host.shadowRoot) return host.shadowRoot;
  const root = host.attachShadow({ mode: 'open' });
  let s = sheets.get(css);
  try {
    if (!s) sheets.set(css, (s = new CSSStyleSheet())), s.replaceSync(css);
    root.adoptedStyleSheets = [s];
  } catch (e) {
    // Browsers without constructable stylesheets (Safari < 16.4): a <style>
    // element, which a strict CSP blocks (the content still shows, unstyled).
    root.append(el('style', '', css));
  }
  return root;
}

// Theming: every colour, radius and size comes from a --vitrina-* custom
// property (they inherit through the shadow boundary), with a neutral default.
const VARS =
  ':host{--a:var(--vitrina-accent,#0f766e);--r:var(--vitrina-radius,12px);--bg:var(--vitrina-card-bg,#fff);--fg:var(--vitrina-text,#1b1f23);--mu:var(--vitrina-muted,#59636e);--bd:var(--vitrina-border,#e1e4e8);--mb:var(--vitrina-media-bg,#f3f4f2);font-family:var(--vitrina-font,inherit);color:var(--fg)}' +
  '.sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';
// One row of fixed-size cards that scrolls sideways: its height does not depend
// on how many items there are, so the shop reserves it before Vitrina loads
// ([data-vitrina-slot] { min-height: var(--vitrina-slot-height, 17.5rem) }) and
// nothing below the slot moves when it fills.
const SLOT_CSS =
  VARS +
  ':host{display:block;--h:var(--vitrina-slot-height,17.5rem)}' +
  '.row{display:flex;gap:var(--vitrina-gap,1rem);box-sizing:border-box;height:var(--h);margin:0;padding:2px 2px .75rem;list-style:none;overflow-x:auto;overflow-y:hidden;overscroll-behavior-x:contain;scroll-snap-type:x proximity;scroll-padding:2px;scrollbar-width:thin}' +
  '.cell{flex:none;display:flex;width:var(--vitrina-card-width,10rem);scroll-snap-align:start}' +
  '.vitrina-card{flex:1;display:flex;flex-direction:column;gap:.25rem;min-width:0;box-sizing:border-box;padding:.625rem;border:1px solid var(--bd);border-radius:var(--r);background:var(--bg);color:inherit;text-decoration:none;overflow:hidden}' +
  'a.vitrina-card:hover{border-color:var(--vitrina-border-hover,#c9ced3);box-shadow:0 4px 14px rgba(20,30,40,.09)}' +
  'a.vitrina-card:focus-visible{outline:2px solid var(--a);outline-offset:2px}' +
  '.media{flex:none;aspect-ratio:1;margin-bottom:.375rem;border-radius:calc(var(--r) - 4px);background:var(--mb);overflow:hidden}' +
  '.media img{display:block;width:100%;height:100%;object-fit:cover}' +
  '.vitrina-card-name{flex:none;max-height:2.6em;font-size:.9rem;font-weight:600;line-height:1.3;overflow:hidden;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2}' +
  '.vitrina-card-price{font-size:.9rem;font-weight:700;font-variant-numeric:tabular-nums}' +
  '.vitrina-reason{margin-top:auto;font-size:.78rem;color:var(--mu);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
  '.empty{display:flex;align-items:center;justify-content:center;box-sizing:border-box;height:var(--h);margin:0;padding:1.25rem;border:1.5px dashed var(--bd);border-radius:var(--r);color:var(--mu);text-align:center}' +
  '@media (prefers-reduced-motion:no-preference){a.vitrina-card{transition:box-shadow .15s,border-color .15s,transform .15s}a.vitrina-card:hover{transform:translateY(-2px)}}';

// ---- the popularity feed: { min_count, items: { SKU: { likes, views, carts, purchases, trending?, bestseller? } } }
// Fetched once per page (revalidated with its ETag), on demand.
function feed(v) {
  if (!v.feed) {
    const t0 = Date.now();
    v.feed = !v.popularity
      ? Promise.resolve(null)
      : fetch(v.popularity, { credentials: 'omit', cache: 'no-cache' })
          .then((r) => (r.ok ? r.json() : null))
          .then((j) => (v.feedData = readFeed(v, j, t0)))
          .catch(() => null);
  }
  return v.feed;
}

// Like counts: the published count, and the shopper's own like merged in once.
//  - A count the shop renders (data-vitrina-likes) is taken as everyone else's
//    likes: the shopper's like is added to it while it stands.
//  - A count from the feed includes the shopper's like once that like has
//    reached the server. We take it as counted when the shopper liked the item
//    more than COUNTED_AFTER ms before the feed was fetched (events leave within
//    about a second, and the feed is revalidated on every fetch), and take it
//    out, keeping `base` = everyone else's likes. What is shown is always
//    base + (liked now ? 1 : 0), so a like or an unlike on this page moves the
//    number by exactly one, and a delivered like is never counted twice.
//  - No number is shown when everyone else's likes are below the threshold
//    (v.minCount, 5 by default): small counts can point at individuals.
const COUNTED_AFTER = 5000;
function readFeed(v, j, t0) {
  if (!j || !j.items || typeof j.items !== 'object') return null;
  const liked = {};
  for (const l of v.profile().likes || []) liked[l.item] = l.ts;
  const items = {};
  const base = {};
  for (const id in j.items) {
    const c = j.items[id];
    if (!c || typeof c !== 'object') continue;
    items[id] = c;
    const n = +c.likes;
    if (n > 0) base[id] = n - (liked[id] != null && liked[id] < t0 - COUNTED_AFTER ? 1 : 0);
  }
  return { items, base };
}
function othersLikes(v, e, item) {
  const a = attr(e, 'likes');
  const n = a != null ? parseInt(a, 10) || 0 : (v.feedData && v.feedData.base[item]) || 0;
  return n >= v.minCount ? n : 0;
}

// A polite live region announcing like changes (created with the first like
// button, so it exists before it speaks).
function live(v) {
  if (!v.live) {
    const host = el('div');
    host.setAttribute('data-vitrina-live', '');
    v.live = el('div', 'sr');
    v.live.setAttribute('role', 'status');
    shadow(host, VARS).append(v.live);
    document.body.append(host);
  }
  return v.live;
}

/** Like buttons and badges (all, or those of one item). */
export function renderLikes(v, only) {
  const likes = document.querySelectorAll('[data-vitrina-like]');
  const badges = document.querySelectorAll('[data-vitrina-badge]');
  if (!v.feed && (badges.length || document.querySelector('[data-vitrina-like]:not([data-vitrina-likes])')) && v.popularity)
    feed(v).then((f) => f && renderLikes(v));
  if (likes.length) live(v);
  for (const b of likes) {
    const item = attr(b, 'like');
    if (!item || (only && only !== item)) continue;
    const liked = v.core.likes(item);
    const base = othersLikes(v, b, item);
    const count = base ? base + (liked ? 1 : 0) : 0;
    const key = liked + ' ' + count + ' ' + v.locale;
    const was = b.vitrina;
    if (was === key) continue;
    // Announce a change of this button's state (a click, the API, another tab).
    if (was && !was.startsWith(liked + ' ')) v.live.textContent = v.t(liked ? 'liked' : 'unliked') + (count ? ', ' + fmtCount(count, v.locale) + ' ' + v.t('likes') : '');
    if (!was) {
      b.classList.add('vitrina-like');
      if (b.localName === 'button') b.hasAttribute('type') || (b.type = 'button');
      else if (!b.hasAttribute('role')) {
        // Not a <button>: make it one for keyboards and assistive technology.
        b.setAttribute('role', 'button');
        b.tabIndex = 0;
        b.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), b.click()));
      }
    }
    b.vitrina = key;
    b.setAttribute('aria-pressed', liked);
    const icon = el('span', 'vitrina-like-icon', liked ? '♥' : '♡');
    icon.setAttribute('aria-hidden', 'true');
    const parts = [icon, el('span', 'vitrina-like-label', v.t('like'))];
    if (count) parts.push(el('span', 'vitrina-like-count', fmtCount(count, v.locale)));
    b.replaceChildren(...parts);
  }
  // Badges say only what the data supports: "Bestseller in …" and "Trending"
  // when the feed says so, and the like count above the threshold.
  for (const b of badges) {
    const item = attr(b, 'badge');
    if (!item || (only && only !== item)) continue;
    const f = (v.feedData && v.feedData.items[item]) || {};
    const facts = [];
    // Bestseller: the top of its category (the server's { rank: 1, category }),
    // named as the shop names it (data-vitrina-category-label, when the category
    // is the item's own or one above it), else from its path.
    const best = f.bestseller;
    const cat = best && (typeof best === 'string' ? best : best.rank === 1 && best.category);
    const own = categoryOf(b) || '';
    if (cat) facts.push(['bestseller', fill(v.t('bestseller'), 'c', ((own + '/').startsWith(cat + '/') && attr(b, 'category-label')) || catLabel(cat))]);
    if (f.trending) facts.push(['trending', v.t('trending')]);
    const base = othersLikes(v, b, item);
    if (base) facts.push(['likes', fmtCount(base + (v.core.likes(item) ? 1 : 0), v.locale) + ' ' + v.t('likes')]);
    b.classList.add('vitrina-badge');
    b.replaceChildren(...facts.map(([k, text]) => el('span', 'vitrina-fact vitrina-' + k, text)));
    b.hidden = !facts.length;
  }
}
const categoryOf = (b) => {
  const h = b.closest('[data-vitrina-category]');
  return h ? attr(h, 'category') : undefined;
};
/** "shoes/running" → "Running" (the shop can say better with data-vitrina-category-label). */
export const catLabel = (c) => {
  const s = String(c).split('/').pop();
  return s.charAt(0).toUpperCase() + s.slice(1);
};

// ---- slots
const PERSONAL = { 'recently-viewed': 1, 'for-you': 1, 'cart-complements': 1 };
const RANKED = { 'for-you': 1, similar: 1, 'bought-together': 1, 'cart-complements': 1 };

/** Every slot on the page. */
export function renderSlots(v) {
  const slots = document.querySelectorAll('[data-vitrina-slot]');
  if (!slots.length) return;
  const profile = v.profile();
  const paused = !!(v.paused && v.paused());
  slots.forEach((s, n) => {
    const kind = attr(s, 'slot');
    const limit = Math.min(50, Math.max(1, parseInt(attr(s, 'limit'), 10) || 8));
    const show = (list) => draw(v, s, kind, n, list.slice(0, limit), paused);
    if (paused && PERSONAL[kind]) show([]);
    else if (kind === 'recently-viewed') show(recent(v, profile));
    else if (kind === 'trending') feed(v).then(() => show(trending(v, profile)));
    else if (RANKED[kind]) {
      let list = [];
      if (typeof v.recommend === 'function') {
        const item = attr(s, 'item') || v.currentItem() || undefined;
        try {
          if (item || (kind !== 'similar' && kind !== 'bought-together')) list = v.recommend(kind, { item, limit, paused }) || [];
        } catch (e) {
          v.debugWarn('recommend("' + kind + '") failed: ' + (e && e.message));
        }
      }
      show(Array.isArray(list) ? list.filter((r) => r && typeof r.item === 'string') : []);
    } else {
      v.debugWarn('unknown slot kind "' + kind + '"; it stays empty');
      show([]);
    }
  });
}

function recent(v, profile) {
  const current = v.currentItem();
  return ((profile && profile.recent) || [])
    .filter((r) => r.item !== current)
    .map((r) => ({ ...r, reason: r.views > 1 ? fill(v.t('viewed-times'), 'n', r.views) : v.t('viewed') }));
}

// What the page knows about items (name, image, url, price): the shop's
// markup, then the profile's recently viewed. The feed has only counts.
function known(v, profile) {
  const m = {};
  for (const r of (profile && profile.recent) || []) m[r.item] = r;
  for (const e of document.querySelectorAll('[data-vitrina-item][data-vitrina-name]')) {
    const id = attr(e, 'item');
    const p = parseFloat(String(attr(e, 'price') || '').replace(',', '.'));
    const u = attr(e, 'url');
    const im = attr(e, 'image');
    m[id] = { item: id, name: attr(e, 'name'), url: u && cleanUrl(u), image: im && cleanUrl(im), price: isNaN(p) ? null : Math.round(p * 100), currency: attr(e, 'currency') };
  }
  return m;
}

// Trending: the items the feed flags as trending; without any, the most active
// (bought, carted, liked, viewed; last 7 days when published, else all time),
// each card saying which of those numbers is true of it.
function trending(v, profile) {
  const f = v.feedData;
  if (!f) return [];
  const info = known(v, profile);
  const current = v.currentItem();
  let ids = Object.keys(f.items).filter((id) => id !== current && (info[id] || f.items[id].name));
  const flagged = ids.filter((id) => f.items[id].trending);
  if (flagged.length) ids = flagged;
  const score = (c) => (c.purchases_7d || c.purchases || 0) * 8 + (c.carts_7d || c.carts || 0) * 4 + (c.likes || 0) * 2 + (c.views_7d || c.views || 0);
  ids.sort((a, b) => score(f.items[b]) - score(f.items[a]));
  return ids.map((id) => {
    const c = f.items[id];
    const i = info[id] || {};
    const n = (x) => fmtCount(x, v.locale);
    const reason = c.trending
      ? v.t('trending')
      : c.purchases
        ? fill(v.t('bought-n'), 'n', n(c.purchases))
        : c.carts
          ? fill(v.t('carts-n'), 'n', n(c.carts))
          : c.likes
            ? n(c.likes) + ' ' + v.t('likes')
            : fill(v.t('views-n'), 'n', n(c.views || 0));
    const u = i.url || (c.url && cleanUrl(c.url));
    const im = i.image || (c.image && cleanUrl(c.image));
    return { item: id, name: i.name || String(c.name), url: u, image: im, price: i.price, currency: i.currency, reason };
  });
}

// Draws one slot: into the shop's <template> when the slot has one, else the
// default cards in the slot's shadow root. An empty slot is hidden (collapsed),
// except "recently viewed", which says what will appear there.
function draw(v, slot, kind, n, list, paused) {
  const sig = JSON.stringify([list, paused, v.locale]);
  if (slot.vitrina === sig) return;
  slot.vitrina = sig;
  const tpl = slot.querySelector(':scope > template');
  const cards = list.map((r, i) => {
    const rec = String(r.rec || v.nonce + '.' + n + '.' + i);
    const url = r.url && cleanUrl(r.url);
    const img = r.image && cleanUrl(r.image);
    const price = r.price != null && isFinite(r.price) ? fmtMoney(r.price, r.currency || money(v), v.locale) : '';
    const name = String(r.name || r.item);
    const reason = r.reason ? String(r.reason) : '';
    let card;
    if (tpl) {
      card = tpl.content.cloneNode(true).firstElementChild;
      if (!card) return null;
      for (const f of [card, ...card.querySelectorAll('[data-vitrina-field]')]) {
        const k = attr(f, 'field');
        if (k === 'name' || k === 'reason' || k === 'price') f.textContent = k === 'name' ? name : k === 'price' ? price : reason;
        else if (k === 'image') img && f.localName === 'img' ? f.setAttribute('src', img) : (f.hidden = true);
        else if (k === 'url' && f.localName === 'a') put(f, 'href', url);
      }
      // The card describes its item, so actions inside it (data-vitrina-action,
      // data-vitrina-like) act on the recommended item.
      put(card, 'data-vitrina-item', r.item);
      put(card, 'data-vitrina-name', name);
      put(card, 'data-vitrina-url', url);
      put(card, 'data-vitrina-image', img);
      if (r.price != null && isFinite(r.price)) put(card, 'data-vitrina-price', (r.price / 100).toFixed(2));
    } else {
      card = el(url ? 'a' : 'div', 'vitrina-card');
      put(card, 'href', url);
      card.setAttribute('part', 'card');
      const media = el('span', 'media');
      media.setAttribute('part', 'media');
      if (img) {
        const im = el('img');
        im.setAttribute('src', img);
        im.setAttribute('alt', '');
        im.setAttribute('loading', 'lazy');
        im.setAttribute('width', '160');
        im.setAttribute('height', '160');
        media.append(im);
      }
      card.append(media);
      for (const [c, text, p] of [['vitrina-card-name', name, 'name'], ['vitrina-card-price', price, 'price'], ['vitrina-reason', reason, 'reason']]) {
        const s = el('span', c, text);
        s.setAttribute('part', p);
        card.append(s);
      }
    }
    card.setAttribute('data-vitrina-rec', rec);
    card.setAttribute('data-vitrina-rec-item', r.item);
    card.setAttribute('data-vitrina-rec-slot', kind);
    return card;
  }).filter(Boolean);

  unobserve(v, slot.vitrinaCards);
  slot.vitrinaCards = cards;
  slot.setAttribute('data-vitrina-rendered', kind);
  slot.setAttribute('data-vitrina-count', cards.length);
  slot.classList.add('vitrina-slot');
  const empty = !cards.length;
  if (tpl) {
    slot.replaceChildren(...slot.querySelectorAll(':scope > template'), ...cards);
    slot.hidden = empty;
  } else {
    let root;
    try {
      root = shadow(slot, SLOT_CSS);
    } catch (e) {
      root = slot; // an element that cannot host a shadow root: plain children
    }
    if (root !== slot && !root.vitrina) {
      // Clicks inside the shadow root reach the document as clicks on the slot
      // itself, so recommendation clicks are read here.
      root.vitrina = 1;
      root.addEventListener('click', (e) => {
        const c = e.target.closest && e.target.closest('[data-vitrina-rec]');
        if (c) v.recClick({ item: attr(c, 'rec-item'), rec: attr(c, 'rec'), slot: attr(c, 'rec-slot') });
      });
    }
    const row = el('ul', 'row');
    row.setAttribute('role', 'list');
    row.setAttribute('part', 'list');
    for (const c of cards) {
      const li = el('li', 'cell');
      li.append(c);
      row.append(li);
    }
    const note = kind === 'recently-viewed' && empty && el('p', 'empty', v.t(paused ? 'paused' : 'empty-recent'));
    root.replaceChildren(...(root === slot ? [] : root.querySelectorAll('style')), note || row);
    slot.hidden = empty && !note;
  }
  observe(v, cards);
}

// ---- impressions: a card counts as seen the first time at least half of it is
// in view (scrolled into the viewport, and not scrolled away inside its row).
function observe(v, cards) {
  if (!cards.length || typeof IntersectionObserver !== 'function') return;
  if (!v.io) {
    const seen = new Set();
    v.io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (!e.isIntersecting || e.intersectionRatio < 0.5) continue;
          const c = e.target;
          v.io.unobserve(c);
          const p = { item: attr(c, 'rec-item'), rec: attr(c, 'rec'), slot: attr(c, 'rec-slot') };
          const key = p.slot + ' ' + p.rec + ' ' + p.item;
          if (!seen.has(key)) seen.add(key), v.record('impression', p);
        }
      },
      { threshold: 0.5 },
    );
  }
  for (const c of cards) v.io.observe(c);
}
function unobserve(v, cards) {
  if (v.io && cards) for (const c of cards) v.io.unobserve(c);
}
