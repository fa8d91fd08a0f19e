// Reading the shop's markup: `data-vitrina-*` attributes become API calls.
// Conversion only; every rule (validation, what a view means) is in the core.

const A = 'data-vitrina-';

export const attr = (el, name) => {
  const v = el.getAttribute(A + name);
  const t = v == null ? '' : v.trim();
  return t === '' ? undefined : t;
};

/** Resolves a URL from the page to a same-origin path or an http(s) URL; anything else is refused. */
export function cleanUrl(u) {
  try {
    const url = new URL(u, document.baseURI);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin === location.origin ? url.pathname + url.search : url.href;
  } catch (e) {
    return undefined;
  }
}

/** The item described by an element carrying data-vitrina-item. */
export function readItem(el) {
  const image = attr(el, 'image');
  const url = attr(el, 'url');
  return {
    item: attr(el, 'item'),
    name: attr(el, 'name'),
    category: attr(el, 'category'),
    brand: attr(el, 'brand'),
    price: attr(el, 'price'),
    currency: attr(el, 'currency'),
    image: image && cleanUrl(image),
    url: url && cleanUrl(url),
  };
}

/** The product of the page: an element with data-vitrina-item outside any list, slot or action. */
export function pageProduct() {
  for (const el of document.querySelectorAll('[' + A + 'item]')) {
    if (!el.closest('[' + A + 'list],[' + A + 'slot],[' + A + 'action]')) return el;
  }
  return null;
}

const ACTIONS = { 'cart-add': 'cart-add', 'cart-remove': 'cart-remove', like: 'like', share: 'share' };

/**
 * What a click means, as [kind, props] or null: a like button, an action button
 * (`data-vitrina-action`) inside an item, or a click on a rendered recommendation.
 */
export function clickEvent(target, likes, warn) {
  const el = target && target.closest && target.closest('[' + A + 'like],[' + A + 'action],[' + A + 'rec]');
  if (!el) return null;
  const like = attr(el, 'like');
  if (like) {
    const holder = el.closest('[' + A + 'item]');
    const props = holder && attr(holder, 'item') === like ? readItem(holder) : {};
    props.item = like;
    return [likes(like) ? 'unlike' : 'like', props, like];
  }
  const action = attr(el, 'action');
  if (action) {
    const kind = ACTIONS[action];
    if (!kind) return warn('unknown data-vitrina-action "' + action + '"'), null;
    const holder = el.hasAttribute(A + 'item') ? el : el.closest('[' + A + 'item]');
    if (!holder) return warn('a data-vitrina-action button has no data-vitrina-item on it or around it'), null;
    const props = readItem(holder);
    if (kind === 'cart-add' || kind === 'cart-remove') props.quantity = attr(el, 'quantity') || attr(holder, 'quantity') || 1;
    return [kind, props];
  }
  const rec = attr(el, 'rec');
  if (rec) return ['rec-click', { item: attr(el, 'rec-item'), rec, slot: attr(el, 'rec-slot') }];
  return null;
}
