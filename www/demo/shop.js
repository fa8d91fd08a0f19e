/*
 * Norte Outfitters demo shop: listing, product page, cart, checkout, thanks.
 *
 * Loaded with <script defer> after catalog.js, so the document is parsed when
 * this runs and every page's product markup is in the DOM before
 * DOMContentLoaded. The shop works on its own; the Vitrina widget (if it
 * loads) reads the data-vitrina-* attributes written here.
 *
 * Storage (all access wrapped in try/catch):
 *   localStorage   norte-cart     [{ "sku": "SKU-001", "qty": 2 }, ...]
 *   localStorage   norte-orders   { "N-123456": { id, lines, subtotal, ... }, ... }  (last 10)
 *   sessionStorage norte-purchase-tracked:<order id>  "1" once the purchase was tracked
 */
(function () {
  'use strict';

  var CART_KEY = 'norte-cart';
  var ORDERS_KEY = 'norte-orders';
  var TRACKED_PREFIX = 'norte-purchase-tracked:';
  var CURRENCY = 'EUR';
  var FREE_SHIPPING_FROM = 50;
  var SHIPPING = { standard: 4.9, express: 9.9 };
  var MAX_QTY = 10;

  var CATALOG = Array.isArray(window.SHOP_CATALOG) ? window.SHOP_CATALOG : [];
  var BY_SKU = {};
  CATALOG.forEach(function (p) { BY_SKU[p.sku] = p; });

  var LABELS = {
    'shoes': 'Shoes',
    'shoes/running': 'Running shoes',
    'shoes/trail': 'Trail shoes',
    'shoes/hiking': 'Hiking boots',
    'apparel': 'Clothing',
    'apparel/jackets': 'Jackets',
    'apparel/tops': 'T-shirts & tops',
    'apparel/pants': 'Pants & tights',
    'bags': 'Bags',
    'bags/backpacks': 'Backpacks',
    'bags/duffels': 'Duffels',
    'camping': 'Camping',
    'camping/tents': 'Tents',
    'camping/cooking': 'Camp kitchen',
    'camping/sleeping': 'Sleeping bags',
    'accessories': 'Accessories',
    'accessories/bottles': 'Bottles',
    'accessories/headlamps': 'Headlamps',
    'accessories/caps': 'Caps'
  };

  function label(cat) {
    if (LABELS[cat]) return LABELS[cat];
    var last = String(cat).split('/').pop();
    return last.charAt(0).toUpperCase() + last.slice(1);
  }

  function topOf(cat) { return String(cat || '').split('/')[0]; }

  function inCategory(p, cat) {
    return !cat || p.category === cat || p.category.indexOf(cat + '/') === 0;
  }

  // ---------------------------------------------------------------------
  // Small utilities
  // ---------------------------------------------------------------------

  function round2(n) { return Math.round(n * 100) / 100; }
  function priceAttr(n) { return Number(n).toFixed(2); }

  var moneyFmt = null;
  try {
    moneyFmt = new Intl.NumberFormat('en-IE', { style: 'currency', currency: CURRENCY });
  } catch (e) { moneyFmt = null; }
  function money(n) {
    return moneyFmt ? moneyFmt.format(n) : '€' + priceAttr(n);
  }

  function params() {
    try { return new URLSearchParams(window.location.search); } catch (e) { return { get: function () { return null; } }; }
  }

  function $(sel, root) { return (root || document).querySelector(sel); }

  /** h('a', { class: 'x', href: '…' }, child, 'text', …) -> Element */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); }

  function svgIcon(paths) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '1.9');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    paths.forEach(function (d) {
      var p = document.createElementNS(ns, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  // ---------------------------------------------------------------------
  // Storage (always guarded: private mode, disabled storage, quota…)
  // ---------------------------------------------------------------------

  function store(kind) {
    try { return kind === 'session' ? window.sessionStorage : window.localStorage; } catch (e) { return null; }
  }
  function readJSON(kind, key, fallback) {
    try {
      var s = store(kind);
      var raw = s ? s.getItem(key) : null;
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) { return fallback; }
  }
  function writeJSON(kind, key, value) {
    try {
      var s = store(kind);
      if (s) s.setItem(key, JSON.stringify(value));
      return true;
    } catch (e) { return false; }
  }
  function readRaw(kind, key) {
    try { var s = store(kind); return s ? s.getItem(key) : null; } catch (e) { return null; }
  }
  function writeRaw(kind, key, value) {
    try { var s = store(kind); if (s) s.setItem(key, value); } catch (e) { /* ignore */ }
  }
  function removeKey(kind, key) {
    try { var s = store(kind); if (s) s.removeItem(key); } catch (e) { /* ignore */ }
  }

  // In-memory fallback so the cart still works for one page when storage is off.
  var memoryCart = null;

  // ---------------------------------------------------------------------
  // Cart
  // ---------------------------------------------------------------------

  function clampQty(n) {
    n = parseInt(n, 10);
    if (!isFinite(n) || n < 1) return 1;
    return Math.min(n, MAX_QTY);
  }

  function getCart() {
    var raw = readJSON('local', CART_KEY, null);
    if (raw === null && memoryCart) raw = memoryCart;
    if (!Array.isArray(raw)) return [];
    var seen = {};
    var out = [];
    raw.forEach(function (line) {
      if (!line || !BY_SKU[line.sku] || seen[line.sku]) return;
      seen[line.sku] = true;
      out.push({ sku: line.sku, qty: clampQty(line.qty) });
    });
    return out;
  }

  function saveCart(items) {
    memoryCart = items;
    writeJSON('local', CART_KEY, items);
    updateHeaderCount(true);
  }

  function addToCart(sku, qty) {
    var items = getCart();
    var found = null;
    items.forEach(function (l) { if (l.sku === sku) found = l; });
    if (found) found.qty = clampQty(found.qty + qty);
    else items.push({ sku: sku, qty: clampQty(qty) });
    saveCart(items);
  }

  function setQty(sku, qty) {
    var items = getCart();
    items.forEach(function (l) { if (l.sku === sku) l.qty = clampQty(qty); });
    saveCart(items);
  }

  function removeFromCart(sku) {
    saveCart(getCart().filter(function (l) { return l.sku !== sku; }));
  }

  function cartLines() {
    return getCart().map(function (l) {
      var p = BY_SKU[l.sku];
      return { product: p, qty: l.qty, total: round2(p.price * l.qty) };
    });
  }

  function subtotalOf(lines) {
    return round2(lines.reduce(function (s, l) { return s + l.product.price * l.qty; }, 0));
  }

  function shippingFor(subtotal, method) {
    if (subtotal <= 0) return 0;
    if (method === 'express') return SHIPPING.express;
    return subtotal >= FREE_SHIPPING_FROM ? 0 : SHIPPING.standard;
  }

  function countItems() {
    return getCart().reduce(function (n, l) { return n + l.qty; }, 0);
  }

  function updateHeaderCount(bump) {
    var n = countItems();
    var el = document.getElementById('cart-count');
    if (el) {
      el.textContent = String(n);
      el.classList.toggle('is-zero', n === 0);
      if (bump && n > 0) {
        el.classList.remove('bump');
        void el.offsetWidth; // restart the animation
        el.classList.add('bump');
      }
    }
    var link = document.getElementById('cart-link');
    if (link) link.setAttribute('aria-label', 'Cart ' + n + (n === 1 ? ' item' : ' items'));
  }

  // ---------------------------------------------------------------------
  // Toast
  // ---------------------------------------------------------------------

  var toastEl = null;
  var toastTimer = 0;

  function toast(product, qty) {
    if (!toastEl) {
      toastEl = h('div', { class: 'toast', id: 'toast', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(toastEl);
    }
    clear(toastEl);
    append(toastEl, [
      h('img', { src: product.image, alt: '', width: 48, height: 48 }),
      h('div', { class: 'toast-text' },
        h('strong', { text: 'Added to cart' }),
        h('span', { text: (qty > 1 ? qty + ' × ' : '') + product.name })),
      h('a', { href: 'cart.html', text: 'View cart' })
    ]);
    // force a reflow so the transition runs when re-shown
    void toastEl.offsetWidth;
    toastEl.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastEl.classList.remove('show'); }, 2800);
  }

  // ---------------------------------------------------------------------
  // Shared building blocks
  // ---------------------------------------------------------------------

  /** data-vitrina-* attributes describing a product (card or product page). */
  function itemAttrs(p) {
    return {
      'data-vitrina-item': p.sku,
      'data-vitrina-name': p.name,
      'data-vitrina-category': p.category,
      'data-vitrina-brand': p.brand,
      'data-vitrina-price': priceAttr(p.price),
      'data-vitrina-currency': p.currency || CURRENCY,
      'data-vitrina-image': p.image,
      'data-vitrina-url': p.url || ('product.html?sku=' + encodeURIComponent(p.sku)),
      // Out-of-stock items are never recommended.
      'data-vitrina-stock': p.inStock ? null : 'out'
    };
  }

  function productUrl(p) { return 'product.html?sku=' + encodeURIComponent(p.sku); }

  function addButton(p, extraClass) {
    if (!p.inStock) {
      return h('button', { type: 'button', class: 'add-to-cart' + (extraClass ? ' ' + extraClass : ''), disabled: true, text: 'Sold out' });
    }
    return h('button', {
      type: 'button',
      class: 'add-to-cart' + (extraClass ? ' ' + extraClass : ''),
      'data-vitrina-action': 'cart-add',
      'aria-label': 'Add to cart: ' + p.name,
      text: 'Add to cart'
    });
  }

  function productCard(p, heading) {
    var attrs = itemAttrs(p);
    attrs['class'] = 'product-card';
    return h('article', attrs,
      h('a', { class: 'product-link', href: productUrl(p) },
        h('div', { class: 'card-media' },
          h('img', { src: p.image, alt: p.name, width: 400, height: 400 }),
          p.inStock ? null : h('span', { class: 'card-flag', text: 'Sold out' })),
        h('div', { class: 'card-body' },
          h('p', { class: 'card-brand', text: p.brand }),
          h(heading || 'h3', { class: 'card-name', text: p.name }))),
      h('div', { class: 'card-foot' },
        h('span', { class: 'card-price', text: money(p.price) }),
        addButton(p)),
      h('span', { class: 'badge', 'data-vitrina-badge': p.sku, 'data-vitrina-likes': p.likes, 'data-vitrina-category-label': label(topOf(p.category)) }));
  }

  function breadcrumb(nav, crumbs) {
    if (!nav) return;
    clear(nav);
    var ol = h('ol');
    crumbs.forEach(function (c, i) {
      var last = i === crumbs.length - 1;
      ol.appendChild(h('li', null, last || !c.href
        ? h('span', { 'aria-current': last ? 'page' : null, text: c.text })
        : h('a', { href: c.href, text: c.text })));
    });
    nav.appendChild(ol);
    nav.hidden = false;
  }

  function categoryCrumbs(cat) {
    var crumbs = [{ text: 'Home', href: 'index.html' }];
    if (!cat) return crumbs;
    var parts = cat.split('/');
    for (var i = 0; i < parts.length; i++) {
      var path = parts.slice(0, i + 1).join('/');
      crumbs.push({ text: label(path), href: 'index.html?c=' + path });
    }
    return crumbs;
  }

  function highlightNav(cat) {
    var top = topOf(cat);
    Array.prototype.forEach.call(document.querySelectorAll('.cat-link'), function (a) {
      var on = a.getAttribute('data-cat') === top;
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
  }

  // ---------------------------------------------------------------------
  // Listing page
  // ---------------------------------------------------------------------

  var SORTS = {
    featured: null,
    popular: function (a, b) { return b.likes - a.likes; },
    'price-asc': function (a, b) { return a.price - b.price; },
    'price-desc': function (a, b) { return b.price - a.price; },
    name: function (a, b) { return a.name.localeCompare(b.name); }
  };

  function renderListing() {
    var q = params();
    var cat = (q.get('c') || '').replace(/^\/+|\/+$/g, '').toLowerCase();
    var search = (q.get('q') || '').trim();
    var sort = SORTS.hasOwnProperty(q.get('sort')) ? q.get('sort') : 'featured';
    var terms = search.toLowerCase().split(/\s+/).filter(Boolean);

    var items = CATALOG.filter(function (p) {
      if (!inCategory(p, cat)) return false;
      if (!terms.length) return true;
      var hay = (p.name + ' ' + p.brand + ' ' + p.category + ' ' + label(p.category) + ' ' + p.description + ' ' + (p.color || '')).toLowerCase();
      return terms.every(function (t) { return hay.indexOf(t) !== -1; });
    });
    if (SORTS[sort]) items = items.slice().sort(SORTS[sort]);

    var grid = document.getElementById('product-grid');
    if (!grid) return;
    grid.setAttribute('data-vitrina-list', cat || (terms.length ? 'search' : 'catalog'));

    var hero = document.getElementById('hero');
    if (hero) hero.hidden = !!(cat || terms.length);

    var title = cat ? label(cat) : (terms.length ? 'Results for “' + search + '”' : 'All gear');
    $('#listing-title').textContent = title;
    document.title = (cat || terms.length ? title + ' · ' : '') + 'Norte Outfitters' + (cat || terms.length ? '' : ' · Outdoor, trail & camping gear');
    $('#listing-count').textContent = items.length + (items.length === 1 ? ' product' : ' products');
    if (cat || terms.length) breadcrumb(document.getElementById('breadcrumb'), categoryCrumbs(cat).concat(terms.length ? [{ text: 'Search' }] : []));
    highlightNav(terms.length && !cat ? '__none__' : cat);

    // sub-category chips
    var chips = document.getElementById('subcats');
    if (chips) {
      clear(chips);
      var top = topOf(cat);
      var options;
      if (!top) {
        options = uniq(CATALOG.map(function (p) { return topOf(p.category); }));
        chips.appendChild(chip('index.html', 'All', CATALOG.length, !cat));
      } else {
        options = uniq(CATALOG.filter(function (p) { return topOf(p.category) === top; }).map(function (p) { return p.category; }));
        chips.appendChild(chip('index.html?c=' + top, 'All ' + label(top).toLowerCase(), countIn(top), cat === top));
      }
      options.forEach(function (c) {
        chips.appendChild(chip('index.html?c=' + c, shortLabel(c), countIn(c), cat === c));
      });
    }

    // toolbar form
    var hiddenC = document.getElementById('filter-c');
    if (hiddenC) { if (cat) hiddenC.value = cat; else hiddenC.disabled = true; }
    var searchInput = document.getElementById('search');
    if (searchInput) searchInput.value = search;
    var sortSel = document.getElementById('sort');
    if (sortSel) {
      sortSel.value = sort;
      sortSel.addEventListener('change', function () {
        var form = document.getElementById('toolbar-form');
        if (form) form.submit();
      });
    }
    var form = document.getElementById('toolbar-form');
    if (form) {
      form.addEventListener('submit', function () {
        if (sortSel && sortSel.value === 'featured') sortSel.disabled = true;
        if (searchInput && !searchInput.value.trim()) searchInput.disabled = true;
      });
    }

    clear(grid);
    if (!items.length) {
      grid.appendChild(h('div', { class: 'empty-state' },
        h('h2', { text: 'Nothing found' }),
        h('p', { text: terms.length ? 'No gear matches “' + search + '”. Try another word.' : 'There are no products in this category yet.' }),
        h('a', { class: 'button primary', href: 'index.html', text: 'See all gear' })));
      return;
    }
    var frag = document.createDocumentFragment();
    // Under the page's h1, card names are h2 (in "More like this" they are h3).
    items.forEach(function (p) { frag.appendChild(productCard(p, 'h2')); });
    grid.appendChild(frag);
  }

  function uniq(list) {
    var seen = {};
    return list.filter(function (x) { if (seen[x]) return false; seen[x] = true; return true; });
  }
  function countIn(cat) { return CATALOG.filter(function (p) { return inCategory(p, cat); }).length; }
  function shortLabel(cat) {
    var l = label(cat);
    if (cat.indexOf('/') === -1) return l;
    // "Running shoes" -> "Running" inside the Shoes section
    var top = label(topOf(cat)).toLowerCase();
    var re = new RegExp('\\s+' + top + '$', 'i');
    return l.replace(re, '');
  }
  function chip(href, text, n, active) {
    return h('a', { class: 'chip', href: href, 'aria-current': active ? 'page' : null },
      text, h('span', { class: 'n', text: String(n) }));
  }

  // ---------------------------------------------------------------------
  // Product page
  // ---------------------------------------------------------------------

  var PERK_ICONS = {
    truck: ['M3 6h11v10H3z', 'M14 10h4l3 3v3h-7', 'M5.2 17.5a1.8 1.8 0 1 0 3.6 0a1.8 1.8 0 1 0 -3.6 0', 'M15.2 17.5a1.8 1.8 0 1 0 3.6 0a1.8 1.8 0 1 0 -3.6 0'],
    ret: ['M4 12a8 8 0 1 0 2.3-5.7', 'M4 4v4h4'],
    shield: ['M12 3l7 3v5c0 4.5-3 8-7 10c-4-2-7-5.5-7-10V6z', 'M9 12l2 2 4-4']
  };

  function renderProduct() {
    var root = document.getElementById('product-root');
    if (!root) return;
    var sku = (params().get('sku') || '').trim().toUpperCase();
    var p = BY_SKU[sku];
    clear(root);

    if (!p) {
      highlightNav('__none__');
      breadcrumb(document.getElementById('breadcrumb'), [{ text: 'Home', href: 'index.html' }, { text: 'Not found' }]);
      document.title = 'Product not found · Norte Outfitters';
      root.appendChild(h('div', { class: 'not-found' },
        h('h1', { text: 'We couldn’t find that product' }),
        h('p', { class: 'muted', text: sku ? 'There is no product “' + sku + '” in our shop.' : 'No product was given.' }),
        h('a', { class: 'button primary', href: 'index.html', text: 'Browse all gear' })));
      return;
    }

    document.title = p.name + ' · ' + p.brand + ' · Norte Outfitters';
    highlightNav(p.category);
    breadcrumb(document.getElementById('breadcrumb'), categoryCrumbs(p.category).concat([{ text: p.name }]));

    var attrs = itemAttrs(p);
    attrs['class'] = 'product';
    attrs['data-vitrina-quantity'] = p.inStock ? '1' : null;

    var qtyInput = h('input', {
      id: 'qty', type: 'number', min: 1, max: MAX_QTY, value: 1, inputmode: 'numeric',
      'aria-label': 'Quantity', disabled: !p.inStock
    });
    var dec = h('button', { type: 'button', class: 'qty-btn', 'data-step': '-1', 'aria-label': 'Decrease quantity', disabled: true, text: '−' });
    var inc = h('button', { type: 'button', class: 'qty-btn', 'data-step': '1', 'aria-label': 'Increase quantity', disabled: !p.inStock, text: '+' });
    var add = addButton(p, 'button');
    if (p.inStock) add.setAttribute('data-vitrina-quantity', '1');

    var article = h('article', attrs,
      h('div', { class: 'product-media' },
        h('img', { src: p.image, alt: p.name + ' by ' + p.brand, width: 400, height: 400 })),
      h('div', { class: 'product-info' },
        h('p', { class: 'product-brand' }, h('a', { href: 'index.html?q=' + encodeURIComponent(p.brand), text: p.brand })),
        h('h1', { class: 'product-name', text: p.name }),
        h('div', { class: 'product-social' },
          h('button', {
            type: 'button', class: 'like', 'data-vitrina-like': p.sku, 'data-vitrina-likes': p.likes,
            'aria-pressed': 'false', text: '♡ Like'
          }),
          h('span', { class: 'badge', 'data-vitrina-badge': p.sku, 'data-vitrina-likes': p.likes, 'data-vitrina-category-label': label(topOf(p.category)) })),
        h('p', { class: 'product-price', text: money(p.price) }),
        h('p', { class: 'tax-note', text: 'Incl. VAT · free delivery over ' + money(FREE_SHIPPING_FROM).replace(/\.00$/, '') }),
        h('p', { class: 'product-desc', text: p.description }),
        h('dl', { class: 'product-facts' },
          h('dt', { text: 'Colour' }), h('dd', { text: p.color || '—' }),
          h('dt', { text: 'Category' }), h('dd', null, h('a', { href: 'index.html?c=' + p.category, text: label(p.category) })),
          h('dt', { text: 'Item no.' }), h('dd', { text: p.sku })),
        h('p', { class: 'stock ' + (p.inStock ? 'in' : 'out'), id: 'stock',
          text: p.inStock ? 'In stock · ships in 1–2 days' : 'Out of stock' }),
        h('div', { class: 'buy-row' },
          h('div', { class: 'qty', role: 'group', 'aria-label': 'Quantity' }, dec, qtyInput, inc),
          add),
        h('ul', { class: 'product-perks' },
          h('li', null, svgIcon(PERK_ICONS.truck), 'Free delivery on orders over ' + money(FREE_SHIPPING_FROM).replace(/\.00$/, '')),
          h('li', null, svgIcon(PERK_ICONS.ret), '30-day free returns'),
          h('li', null, svgIcon(PERK_ICONS.shield), '2-year warranty and in-house repairs'))));
    root.appendChild(article);

    function applyQty(n) {
      n = clampQty(n);
      qtyInput.value = String(n);
      dec.disabled = !p.inStock || n <= 1;
      inc.disabled = !p.inStock || n >= MAX_QTY;
      if (p.inStock) {
        article.setAttribute('data-vitrina-quantity', String(n));
        add.setAttribute('data-vitrina-quantity', String(n));
        add.setAttribute('aria-label', 'Add to cart: ' + n + ' × ' + p.name);
      }
    }
    if (p.inStock) {
      qtyInput.addEventListener('input', function () {
        if (qtyInput.value === '') return; // let the user type
        applyQty(qtyInput.value);
      });
      qtyInput.addEventListener('change', function () { applyQty(qtyInput.value); });
      qtyInput.addEventListener('blur', function () { applyQty(qtyInput.value); });
      [dec, inc].forEach(function (b) {
        b.addEventListener('click', function () {
          applyQty((parseInt(qtyInput.value, 10) || 1) + parseInt(b.getAttribute('data-step'), 10));
        });
      });
      applyQty(1);
    }

    // "More like this": same sub-category first, then same top-level category.
    var related = CATALOG.filter(function (x) { return x.sku !== p.sku && x.category === p.category; });
    if (related.length < 4) {
      related = related.concat(CATALOG.filter(function (x) {
        return x.sku !== p.sku && x.category !== p.category && topOf(x.category) === topOf(p.category);
      }));
    }
    related = related.slice(0, 4);
    var relSection = document.getElementById('related');
    var relGrid = document.getElementById('related-grid');
    if (relSection && relGrid && related.length) {
      $('#related-title').textContent = 'More ' + label(topOf(p.category)).toLowerCase() + ' you might like';
      clear(relGrid);
      related.forEach(function (x) { relGrid.appendChild(productCard(x)); });
      relSection.hidden = false;
    }
  }

  // ---------------------------------------------------------------------
  // Cart page
  // ---------------------------------------------------------------------

  function cartLineEl(line) {
    var p = line.product;
    var li = h('li', {
      class: 'cart-line',
      'data-vitrina-item': p.sku,
      'data-vitrina-price': priceAttr(p.price),
      'data-vitrina-currency': p.currency || CURRENCY,
      'data-vitrina-quantity': line.qty
    },
      h('a', { class: 'cart-line-media', href: productUrl(p), tabindex: '-1', 'aria-hidden': 'true' },
        h('img', { src: p.image, alt: '', width: 104, height: 104 })),
      h('div', { class: 'cart-line-info' },
        h('p', { class: 'cart-line-brand', text: p.brand }),
        h('a', { class: 'cart-line-name', href: productUrl(p), text: p.name }),
        h('p', { class: 'cart-line-meta', text: (p.color ? p.color + ' · ' : '') + money(p.price) + ' each' })),
      h('p', { class: 'cart-line-total', text: money(line.total) }),
      h('div', { class: 'cart-line-actions' },
        h('div', { class: 'qty', role: 'group', 'aria-label': 'Quantity of ' + p.name },
          h('button', { type: 'button', class: 'qty-btn qty-dec', 'data-step': '-1', 'aria-label': 'Decrease quantity', disabled: line.qty <= 1, text: '−' }),
          h('span', { class: 'qty-value', 'aria-live': 'polite', text: String(line.qty) }),
          h('button', { type: 'button', class: 'qty-btn qty-inc', 'data-step': '1', 'aria-label': 'Increase quantity', disabled: line.qty >= MAX_QTY, text: '+' })),
        h('button', { type: 'button', class: 'remove-line', 'data-vitrina-action': 'cart-remove', 'aria-label': 'Remove ' + p.name + ' from cart', text: 'Remove' })));
    return li;
  }

  function renderCart() {
    var list = document.getElementById('cart-lines');
    if (!list) return;
    var lines = cartLines();
    var layout = document.getElementById('cart-layout');
    var empty = document.getElementById('cart-empty');
    clear(list);
    if (!lines.length) {
      if (layout) layout.hidden = true;
      if (empty) empty.hidden = false;
      return;
    }
    if (layout) layout.hidden = false;
    if (empty) empty.hidden = true;
    lines.forEach(function (l) { list.appendChild(cartLineEl(l)); });
    renderCartSummary(lines);
  }

  function renderCartSummary(lines) {
    lines = lines || cartLines();
    var sub = subtotalOf(lines);
    var ship = shippingFor(sub, 'standard');
    $('#cart-subtotal').textContent = money(sub);
    $('#cart-shipping').textContent = ship ? money(ship) : 'Free';
    $('#cart-total').textContent = money(round2(sub + ship));
    var fs = document.getElementById('free-ship');
    if (fs) {
      clear(fs);
      var step = Math.max(0, Math.min(10, Math.floor((sub / FREE_SHIPPING_FROM) * 10)));
      fs.appendChild(document.createTextNode(sub >= FREE_SHIPPING_FROM
        ? 'Nice, your order ships for free.'
        : 'Add ' + money(round2(FREE_SHIPPING_FROM - sub)) + ' more for free delivery.'));
      fs.appendChild(h('div', { class: 'free-ship-bar', 'aria-hidden': 'true' }, h('span', { class: 'w-' + step })));
    }
  }

  function updateCartLine(li) {
    var sku = li.getAttribute('data-vitrina-item');
    var line = null;
    cartLines().forEach(function (l) { if (l.product.sku === sku) line = l; });
    if (!line) return;
    li.setAttribute('data-vitrina-quantity', String(line.qty));
    $('.qty-value', li).textContent = String(line.qty);
    $('.cart-line-total', li).textContent = money(line.total);
    $('.qty-dec', li).disabled = line.qty <= 1;
    $('.qty-inc', li).disabled = line.qty >= MAX_QTY;
    renderCartSummary();
  }

  // ---------------------------------------------------------------------
  // Checkout page
  // ---------------------------------------------------------------------

  function selectedShipping(form) {
    var checked = form ? form.querySelector('input[name="shipping"]:checked') : null;
    return checked ? checked.value : 'standard';
  }

  function miniLine(p, qty, total) {
    return h('li', { class: 'mini-line' },
      h('div', { class: 'mini-line-media' },
        h('img', { src: p.image, alt: '', width: 56, height: 56 }),
        h('span', { class: 'qty-pill', text: String(qty) })),
      h('div', null,
        h('div', { class: 'mini-line-name', text: p.name }),
        h('div', { class: 'muted', text: p.brand + (qty > 1 ? ' · ' + qty + ' × ' + money(p.price) : '') })),
      h('span', { class: 'mini-line-price', text: money(total) }));
  }

  function renderCheckout() {
    var form = document.getElementById('checkout-form');
    if (!form) return;
    var list = document.getElementById('checkout-lines');
    var placeBtn = document.getElementById('place-order');

    function refresh() {
      var lines = cartLines();
      clear(list);
      lines.forEach(function (l) { list.appendChild(miniLine(l.product, l.qty, l.total)); });
      var sub = subtotalOf(lines);
      var method = selectedShipping(form);
      var ship = shippingFor(sub, method);
      $('#checkout-subtotal').textContent = money(sub);
      $('#checkout-shipping').textContent = lines.length ? (ship ? money(ship) : 'Free') : '—';
      $('#checkout-total').textContent = money(round2(sub + ship));
      var stdPrice = document.getElementById('ship-standard-price');
      if (stdPrice) stdPrice.textContent = sub >= FREE_SHIPPING_FROM ? 'Free' : money(SHIPPING.standard);
      var empty = document.getElementById('checkout-empty');
      if (empty) empty.hidden = lines.length > 0;
      if (placeBtn) placeBtn.disabled = lines.length === 0;
      return lines;
    }
    refresh();

    Array.prototype.forEach.call(form.querySelectorAll('input[name="shipping"]'), function (r) {
      r.addEventListener('change', refresh);
    });

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var lines = refresh();
      if (!lines.length) return;
      var fd = new FormData(form);
      var method = selectedShipping(form);
      var sub = subtotalOf(lines);
      var ship = shippingFor(sub, method);
      var order = {
        id: newOrderId(),
        createdAt: new Date().toISOString(),
        currency: CURRENCY,
        customer: {
          name: String(fd.get('name') || '').trim(),
          email: String(fd.get('email') || '').trim(),
          address: String(fd.get('address') || '').trim(),
          postcode: String(fd.get('postcode') || '').trim(),
          city: String(fd.get('city') || '').trim(),
          country: String(fd.get('country') || '').trim()
        },
        shipping: method,
        lines: lines.map(function (l) {
          return { sku: l.product.sku, name: l.product.name, brand: l.product.brand, image: l.product.image, price: l.product.price, quantity: l.qty };
        }),
        subtotal: sub,
        shippingCost: ship,
        total: round2(sub + ship),
        tracked: false
      };
      var orders = readJSON('local', ORDERS_KEY, {});
      if (!orders || typeof orders !== 'object' || Array.isArray(orders)) orders = {};
      orders[order.id] = order;
      // keep the 10 most recent orders
      var ids = Object.keys(orders).sort(function (a, b) {
        return String(orders[b].createdAt).localeCompare(String(orders[a].createdAt));
      });
      ids.slice(10).forEach(function (id) { delete orders[id]; });
      writeJSON('local', ORDERS_KEY, orders);
      // carry the order over even if localStorage is unavailable
      writeJSON('session', 'norte-last-order', order);
      saveCart([]);
      removeKey('local', CART_KEY);
      if (placeBtn) { placeBtn.disabled = true; placeBtn.textContent = 'Placing order…'; }
      window.location.href = 'thanks.html?order=' + encodeURIComponent(order.id);
    });
  }

  function newOrderId() {
    var orders = readJSON('local', ORDERS_KEY, {}) || {};
    var id;
    do { id = 'N-' + (100000 + Math.floor(Math.random() * 900000)); } while (orders[id]);
    return id;
  }

  // ---------------------------------------------------------------------
  // Thanks page
  // ---------------------------------------------------------------------

  function findOrder(id) {
    var orders = readJSON('local', ORDERS_KEY, {});
    if (orders && orders[id]) return { order: orders[id], orders: orders };
    var last = readJSON('session', 'norte-last-order', null);
    if (last && last.id === id) return { order: last, orders: null };
    return null;
  }

  function renderThanks() {
    var id = (params().get('order') || '').trim();
    var found = id ? findOrder(id) : null;
    highlightNav('__none__');
    if (!found) {
      $('#thanks-title').textContent = 'Order not found';
      $('#thanks-lede').textContent = id
        ? 'We couldn’t find order ' + id + ' in this browser.'
        : 'There is no order to show.';
      var check = $('.thanks-check');
      if (check) check.hidden = true;
      return;
    }
    var order = found.order;
    document.title = 'Order ' + order.id + ' · Norte Outfitters';
    $('#order-number').textContent = order.id;
    var firstName = (order.customer && order.customer.name || '').split(/\s+/)[0];
    if (firstName) $('#thanks-title').textContent = 'Thank you, ' + firstName + '!';

    var list = document.getElementById('order-lines');
    clear(list);
    order.lines.forEach(function (l) {
      var p = BY_SKU[l.sku] || { name: l.name, brand: l.brand, image: l.image, price: l.price };
      list.appendChild(miniLine(p, l.quantity, round2(l.price * l.quantity)));
    });
    $('#order-subtotal').textContent = money(order.subtotal);
    $('#order-shipping').textContent = order.shippingCost ? money(order.shippingCost) : 'Free';
    $('#order-total').textContent = money(order.total);
    var c = order.customer || {};
    var addr = $('#order-address');
    clear(addr);
    [c.name, c.address, [c.postcode, c.city].filter(Boolean).join(' '), c.country].filter(Boolean).forEach(function (t, i) {
      if (i) addr.appendChild(h('br'));
      addr.appendChild(document.createTextNode(t));
    });
    $('#order-method').textContent = order.shipping === 'express' ? 'Express · next working day' : 'Standard · 2–4 working days';
    $('#order-box').hidden = false;

    trackPurchaseOnce(order, found.orders);
  }

  function trackPurchaseOnce(order, orders) {
    var key = TRACKED_PREFIX + order.id;
    if (readRaw('session', key) === '1' || order.tracked) return;
    var payload = {
      order: order.id,
      value: round2(order.lines.reduce(function (s, l) { return s + l.price * l.quantity; }, 0)),
      currency: order.currency || CURRENCY,
      lines: order.lines.map(function (l) {
        return { item: l.sku, quantity: l.quantity, price: round2(l.price) };
      })
    };
    if (typeof window.vitrina === 'function') {
      try { window.vitrina('track', 'purchase', payload); } catch (e) { /* never break the page */ }
    }
    writeRaw('session', key, '1');
    if (orders) {
      order.tracked = true;
      orders[order.id] = order;
      writeJSON('local', ORDERS_KEY, orders);
    }
  }

  // ---------------------------------------------------------------------
  // Global click handling: the same buttons the widget listens to.
  // ---------------------------------------------------------------------

  function onClick(ev) {
    var t = ev.target;
    if (!t || !t.closest) return;

    var addBtn = t.closest('[data-vitrina-action="cart-add"]');
    if (addBtn) {
      if (addBtn.disabled) return;
      var holder = addBtn.closest('[data-vitrina-item]');
      var sku = holder && holder.getAttribute('data-vitrina-item');
      var p = sku && BY_SKU[sku];
      if (!p || !p.inStock) return;
      var qty = clampQty(addBtn.getAttribute('data-vitrina-quantity') || holder.getAttribute('data-vitrina-quantity') || 1);
      addToCart(sku, qty);
      toast(p, qty);
      flashAdded(addBtn);
      return;
    }

    var removeBtn = t.closest('[data-vitrina-action="cart-remove"]');
    if (removeBtn) {
      var line = removeBtn.closest('[data-vitrina-item]');
      if (!line) return;
      var rsku = line.getAttribute('data-vitrina-item');
      removeFromCart(rsku);
      removeBtn.disabled = true;
      line.classList.add('removing');
      // leave the line in the DOM for this click (other listeners read it), then re-render
      setTimeout(renderCart, 180);
      return;
    }

    var stepBtn = t.closest('.cart-line .qty-btn');
    if (stepBtn && !stepBtn.disabled) {
      var li = stepBtn.closest('.cart-line');
      var lsku = li.getAttribute('data-vitrina-item');
      var current = 0;
      getCart().forEach(function (l) { if (l.sku === lsku) current = l.qty; });
      setQty(lsku, current + parseInt(stepBtn.getAttribute('data-step'), 10));
      updateCartLine(li);
    }
  }

  function flashAdded(btn) {
    if (btn._norteTimer) clearTimeout(btn._norteTimer);
    if (!btn._norteLabel) btn._norteLabel = btn.textContent;
    btn.classList.add('added');
    btn.textContent = 'Added ✓';
    btn._norteTimer = setTimeout(function () {
      btn.classList.remove('added');
      btn.textContent = btn._norteLabel;
      btn._norteTimer = 0;
    }, 1400);
  }

  // ---------------------------------------------------------------------
  // Boot
  // ---------------------------------------------------------------------

  var page = document.body ? document.body.getAttribute('data-page') : '';
  var renderers = {
    listing: renderListing,
    product: renderProduct,
    cart: renderCart,
    checkout: renderCheckout,
    thanks: renderThanks
  };
  try {
    if (renderers[page]) renderers[page]();
  } finally {
    updateHeaderCount(false);
  }
  if (page === 'cart') highlightNav('__none__');
  if (page === 'checkout') highlightNav('__none__');

  document.addEventListener('click', onClick);

  // Keep the header (and the cart page) in sync with other tabs and with
  // pages restored from the back/forward cache.
  window.addEventListener('storage', function (ev) {
    if (ev.key !== null && ev.key !== CART_KEY) return;
    updateHeaderCount(false);
    if (page === 'cart') renderCart();
  });
  window.addEventListener('pageshow', function (ev) {
    if (!ev.persisted) return;
    updateHeaderCount(false);
    if (page === 'cart') renderCart();
  });
})();
