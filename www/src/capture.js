// Reading the shop's markup: `data-vitrina-*` attributes become API calls.
// Conversion only; every rule (validation, what a view means) is in the core.

const A = 'data-vitrina-';

/** The trimmed value of data-vitrina-`name`; undefined when it is missing or blank. */
export const attr = (el, name) => (el.getAttribute(A + name) || '').trim() || undefined;

/** Resolves a URL from the page to a same-origin path or an http(s) URL; anything else is refused. */
export function cleanUrl(u) {
  try {
    const url = new URL(u, document.baseURI);
    if (!/^https?:$/.test(url.protocol)) return undefined;
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
  for (const el of document.querySelectorAll('[data-vitrina-item]')) {
    if (!el.closest('[data-vitrina-list],[data-vitrina-slot],[data-vitrina-action]')) return el;
  }
  return null;
}

/**
 * What a click means, as [kind, props] or null: a like button, an action button
 * (`data-vitrina-action`) inside an item, or a click on a rendered recommendation.
 */
export function clickEvent(target, likes, warn) {
  const el = target && target.closest && target.closest('[data-vitrina-like],[data-vitrina-action],[data-vitrina-rec]');
  if (!el) return null;
  const like = attr(el, 'like');
  if (like) {
    const holder = el.closest('[data-vitrina-item]');
    const props = holder && attr(holder, 'item') === like ? readItem(holder) : {};
    props.item = like;
    return [likes(like) ? 'unlike' : 'like', props, like];
  }
  const action = attr(el, 'action');
  if (action) {
    if (!/^(cart-add|cart-remove|like|share)$/.test(action)) return warn(8, action), null;
    const holder = el.hasAttribute('data-vitrina-item') ? el : el.closest('[data-vitrina-item]');
    if (!holder) return warn(9), null;
    const props = readItem(holder);
    // cart-add, cart-remove
    if (action[0] === 'c') props.quantity = attr(el, 'quantity') || attr(holder, 'quantity') || 1;
    return [action, props];
  }
  const rec = attr(el, 'rec');
  if (rec) return ['rec-click', { item: attr(el, 'rec-item'), rec, slot: attr(el, 'rec-slot') }];
  return null;
}

/** The list an element of a product list belongs to, as [item element, list name], or null. */
function inList(el) {
  const holder = el && el.closest && el.closest('[data-vitrina-item]');
  const list = holder && holder.closest('[data-vitrina-list]');
  return list ? [holder, attr(list, 'list') || 'list'] : null;
}

/**
 * A click on a link of a product list's item (`data-vitrina-list` around
 * `data-vitrina-item`), as [kind, props] or null: a `rec-click` naming the list
 * as its slot, so the shop sees which lists lead to product pages.
 */
export function listClick(target) {
  const a = target && target.closest && target.closest('a[href]');
  const x = a && inList(a);
  return x ? ['rec-click', { item: attr(x[0], 'item'), slot: x[1] }] : null;
}

/**
 * Watches the items of product lists and calls `seen(props)` (the item, its
 * category and price, and the list's name as `slot`) the first time at least
 * half of one is in view. Lists the shop's script draws later are found by a
 * MutationObserver, which also calls `changed()` after the page's script has
 * drawn something. Returns `{ reset, saw }`: `reset()` forgets which items
 * were seen (a new route of a single-page app); `saw(el)` counts the item of
 * `el` as seen now (it was clicked before the observer's next frame).
 */
export function watchLists(seen, changed) {
  let done = new Set();
  const saw = (el) => {
    const x = inList(el);
    const p = x && readItem(x[0]);
    if (!p || !p.item || done.has(x[1] + '\n' + p.item)) return;
    done.add(x[1] + '\n' + p.item);
    seen({ item: p.item, category: p.category, price: p.price, currency: p.currency, slot: x[1] });
  };
  const watched = new WeakSet();
  const io = window.IntersectionObserver && new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (e.intersectionRatio < 0.5) continue;
        io.unobserve(e.target);
        saw(e.target);
      }
    },
    { threshold: 0.5 },
  );
  const scan = (all) => {
    for (const el of document.querySelectorAll('[data-vitrina-list] [data-vitrina-item]')) {
      if (io && (all || !watched.has(el))) watched.add(el), io.observe(el);
    }
  };
  let queued = 0;
  if (window.MutationObserver)
    new MutationObserver(() => {
      queued = queued || setTimeout(() => ((queued = 0), scan(), changed()), 100);
    }).observe(document.documentElement, { childList: true, subtree: true });
  scan();
  return {
    reset() {
      done = new Set();
      scan(true);
    },
    saw,
  };
}
