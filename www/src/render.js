// Drawing on the shop's page: like buttons, badges and slots. Everything shown
// is set with textContent or as a checked URL attribute, never as HTML, so an
// item name can never become markup.

import { attr } from './capture.js';

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
export const fmtMoney = (cents, cur, lang) =>
  cur
    ? nf('m' + cur + lang, lang, { style: 'currency', currency: cur }).format(cents / 100)
    : nf('d' + lang, lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(cents / 100);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** Like buttons and badges (all, or those of one item). */
export function renderLikes(v, only) {
  for (const b of document.querySelectorAll('[data-vitrina-like]')) {
    const item = attr(b, 'like');
    if (!item || (only && only !== item)) continue;
    const liked = v.core.likes(item);
    const count = (parseInt(attr(b, 'likes'), 10) || 0) + (liked ? 1 : 0);
    b.classList.add('vitrina-like');
    b.setAttribute('aria-pressed', liked ? 'true' : 'false');
    const icon = el('span', 'vitrina-like-icon', liked ? '♥' : '♡');
    icon.setAttribute('aria-hidden', 'true');
    const parts = [icon, el('span', 'vitrina-like-label', v.t(liked ? 'liked' : 'like'))];
    if (count > 0) parts.push(el('span', 'vitrina-like-count', fmtCount(count, v.locale)));
    b.replaceChildren(...parts);
  }
  for (const b of document.querySelectorAll('[data-vitrina-badge]')) {
    const item = attr(b, 'badge');
    if (!item || (only && only !== item)) continue;
    const count = (parseInt(attr(b, 'likes'), 10) || 0) + (v.core.likes(item) ? 1 : 0);
    b.classList.add('vitrina-badge');
    b.setAttribute('aria-live', 'polite');
    // Below the threshold no number is shown: small counts say little and can
    // reveal individual shoppers.
    if (count >= v.minCount) {
      b.textContent = fmtCount(count, v.locale) + ' ' + v.t('likes');
      b.hidden = false;
    } else {
      b.textContent = '';
      b.hidden = true;
    }
  }
}

/** Every slot on the page. */
export function renderSlots(v) {
  const slots = document.querySelectorAll('[data-vitrina-slot]');
  if (!slots.length) return;
  const profile = v.profile();
  for (const s of slots) {
    const kind = attr(s, 'slot');
    const limit = Math.min(50, Math.max(1, parseInt(attr(s, 'limit'), 10) || 8));
    if (kind === 'recently-viewed') recentlyViewed(v, s, limit, profile);
    else v.debugWarn('slot kind "' + kind + '" is not available yet; it stays empty');
  }
}

function recentlyViewed(v, slot, limit, profile) {
  const current = v.currentItem();
  const cards = [];
  const items = ((profile && profile.recent) || []).filter((r) => r.item !== current).slice(0, limit);
  items.forEach((r, i) => {
    const card = el(r.url ? 'a' : 'div', 'vitrina-card');
    if (r.url) card.setAttribute('href', r.url);
    card.setAttribute('data-vitrina-rec', v.nonce + '-' + i);
    card.setAttribute('data-vitrina-rec-item', r.item);
    card.setAttribute('data-vitrina-rec-slot', 'recently-viewed');
    if (r.image) {
      const img = el('img', 'vitrina-card-img');
      img.setAttribute('src', r.image);
      img.setAttribute('alt', '');
      img.setAttribute('loading', 'lazy');
      card.append(img);
    }
    card.append(el('span', 'vitrina-card-name', r.name || r.item));
    if (r.price != null) card.append(el('span', 'vitrina-card-price', fmtMoney(r.price, v.currency(), v.locale)));
    card.append(el('span', 'vitrina-reason', r.views > 1 ? v.t('viewed-times').replace('{n}', r.views) : v.t('viewed')));
    cards.push(card);
  });
  if (!cards.length) cards.push(el('p', 'vitrina-empty', v.t('empty-recent')));
  slot.classList.add('vitrina-slot');
  slot.setAttribute('data-vitrina-rendered', 'recently-viewed');
  slot.replaceChildren(...cards);
}
