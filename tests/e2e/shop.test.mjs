// The foundation's end-to-end test: the demo shop in real Chromium against the real reference
// server. A shopper opens the listing, views three products, adds one to the cart, likes it and
// goes to the cart; then we check what the page shows (recently viewed slot, like button, badge),
// what the device kept (window.vitrina.profile()) and exactly what the server stored.
//
//   npm run build && cargo build --release -p vitrina-server && node --test tests/e2e/shop.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, adminGet, assertNoPageErrors, eventsTable, launchBrowser, newPage, screenshot, startServer, storedEvents,
  waitFor, waitForDrained, waitForWidget,
} from './harness.mjs';

const TOKEN = 'e2e-shop-token';
const CATALOG = JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'demo', 'catalog.json'), 'utf8'));
const BY_SKU = Object.fromEntries(CATALOG.map((p) => [p.sku, p]));
// Viewed in this order; the last one is added to the cart and liked (37 seed likes -> "38 likes").
const VIEWED = ['SKU-005', 'SKU-012', 'SKU-001'];
const TARGET = 'SKU-001';
const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 390, height: 844 };
// The widget formats counts with Intl (compact notation) in the page's language (en).
const count = (n) => new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
const SLOT = '[data-vitrina-slot="recently-viewed"]';

describe('demo shop: browse, cart, like, deliver', () => {
  let server;
  let browser;
  let page;
  const loaded = []; // path of every page loaded, in order (what the server must hold as "page" events)
  const shots = [];

  async function open(url) {
    await page.goto(server.url + url);
    await settle();
  }
  async function settle() {
    await waitForWidget(page);
    // The widget reads the page at DOMContentLoaded (it may be ready before): wait for that
    // read, shown by the rendered slot on pages that have one, so no navigation races it.
    await page.waitForFunction(() => document.readyState !== 'loading' &&
      [...document.querySelectorAll('[data-vitrina-slot]')].every((s) => s.hasAttribute('data-vitrina-rendered')),
    null, { timeout: 5000 });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    loaded.push(new URL(page.url()).pathname);
  }
  async function profile() {
    return page.evaluate(() => window.vitrina.profile());
  }
  async function shoot(name) {
    const file = await screenshot(page, name);
    shots.push(file);
    return file;
  }

  /** Full-page screenshots at 1280 and 390 wide; at 390 the page must not scroll sideways. */
  async function shootBoth(name) {
    await shoot(`${name}-1280`);
    await page.setViewportSize(NARROW);
    try {
      await page.waitForFunction((w) => window.innerWidth === w, NARROW.width);
      await shoot(`${name}-390`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at 390 wide scrolls sideways by ${overflow}px`);
    } finally {
      await page.setViewportSize(WIDE);
    }
  }

  before(async () => {
    server = await startServer({ args: ['--admin-token', TOKEN] });
    browser = await launchBrowser();
    page = await newPage(browser, { contextOptions: { viewport: WIDE } });
  });

  after(async () => {
    if (shots.length) console.log(`screenshots:\n  ${shots.join('\n  ')}`);
    await browser?.close();
    await server?.stop();
  });

  test('listing, then three product pages (the first one reached by clicking its card)', async () => {
    await open('/shop/index.html');
    assert.equal(await page.getAttribute('body', 'data-page'), 'listing');
    // Badges on the listing: items with >= 5 seed likes show a count, the others stay hidden.
    const badge = page.locator(`#product-grid [data-vitrina-badge="${TARGET}"]`);
    await assert.doesNotReject(badge.waitFor({ state: 'visible', timeout: 5000 }));
    assert.equal((await badge.textContent()).trim(), `${count(BY_SKU[TARGET].likes)} likes`);
    const fewLikes = CATALOG.find((p) => p.likes > 0 && p.likes < 5);
    assert.equal(await page.locator(`#product-grid [data-vitrina-badge="${fewLikes.sku}"]`).isVisible(), false,
      `badge of ${fewLikes.sku} (${fewLikes.likes} likes, under the threshold of 5) must stay hidden`);

    await Promise.all([
      page.waitForURL(/product\.html\?sku=SKU-005$/),
      page.click(`#product-grid article.product-card[data-vitrina-item="${VIEWED[0]}"] a.product-link`),
    ]);
    await settle();
    for (const sku of VIEWED.slice(1)) await open(`/shop/product.html?sku=${sku}`);
    assert.equal(await page.textContent('h1.product-name'), BY_SKU[TARGET].name);
  });

  test('recently viewed slot: earlier products, most recent first, current one excluded', async () => {
    await page.waitForSelector(`${SLOT}[data-vitrina-rendered="recently-viewed"]`, { timeout: 5000 });
    const cards = await page.$$eval(`${SLOT} .vitrina-card`, (els) => els.map((a) => ({
      item: a.getAttribute('data-vitrina-rec-item'),
      name: a.querySelector('.vitrina-card-name')?.textContent,
      href: a.getAttribute('href'),
      price: a.querySelector('.vitrina-card-price')?.textContent,
      img: a.querySelector('img')?.getAttribute('src'),
    })));
    const expected = VIEWED.slice(0, -1).reverse(); // SKU-012, SKU-005
    assert.deepEqual(cards.map((c) => c.item), expected, `slot cards: ${JSON.stringify(cards)}`);
    assert.deepEqual(cards.map((c) => c.name), expected.map((s) => BY_SKU[s].name));
    for (const c of cards) {
      assert.match(c.href ?? '', new RegExp(`product\\.html\\?sku=${c.item}$`), `card link of ${c.item}`);
      assert.ok(c.img?.endsWith(`img/${c.item}.svg`), `card image of ${c.item}: ${c.img}`);
      // Intl currency format of the catalog price, e.g. "€129.00".
      const want = new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' }).format(BY_SKU[c.item].price);
      assert.equal(c.price, want, `card price of ${c.item}`);
    }
  });

  test('add to cart and like on the product page: button pressed, count seed+1, badge updated', async () => {
    const seed = BY_SKU[TARGET].likes;
    const like = page.locator('article.product button.like');
    const badge = page.locator(`article.product [data-vitrina-badge="${TARGET}"]`);
    assert.equal(await like.getAttribute('aria-pressed'), 'false');
    assert.equal((await like.locator('.vitrina-like-count').textContent()).trim(), count(seed));
    assert.equal((await badge.textContent()).trim(), `${count(seed)} likes`);

    await page.click('article.product button.add-to-cart[data-vitrina-action="cart-add"]');
    await page.waitForSelector('#toast.show', { timeout: 3000 });
    assert.equal((await page.textContent('#cart-count')).trim(), '1');

    await like.click();
    await waitFor(async () => (await like.getAttribute('aria-pressed')) === 'true', { timeout: 3000, message: 'aria-pressed=true' });
    assert.equal((await like.locator('.vitrina-like-count').textContent()).trim(), count(seed + 1));
    assert.equal((await badge.textContent()).trim(), `${count(seed + 1)} likes`);
    assert.equal(await badge.isVisible(), true);

    const p = await profile();
    assert.deepEqual(p.likes.map((l) => l.item), [TARGET]);
    assert.deepEqual(p.cart.map((l) => [l.item, l.qty, l.price]), [[TARGET, 1, Math.round(BY_SKU[TARGET].price * 100)]]);

    // The "Added to cart" toast is position:fixed and would float mid-page in a full-page shot.
    await page.waitForSelector('#toast:not(.show)', { state: 'attached', timeout: 5000 });
    await shootBoth('shop-product');
  });

  test('the profile persists across page loads (cart page)', async () => {
    await page.click('#cart-link');
    await page.waitForURL(/cart\.html$/);
    await settle();
    assert.equal(await page.getAttribute('body', 'data-page'), 'cart');
    const p = await profile();
    assert.deepEqual(p.recent.map((r) => r.item), [...VIEWED].reverse(), `recent: ${JSON.stringify(p.recent)}`);
    assert.deepEqual(p.cart.map((l) => [l.item, l.qty]), [[TARGET, 1]]);
    assert.deepEqual(p.likes.map((l) => l.item), [TARGET]);
    for (const r of p.recent) assert.equal(r.name, BY_SKU[r.item].name);
    // The cart page shows the cart line (li.cart-line[data-vitrina-item]): that is not a product view.
    assert.deepEqual(p.recent.map((r) => [r.item, r.views]), [...VIEWED].reverse().map((s) => [s, 1]),
      'each product was viewed once (the cart page must not count as a view of its lines)');
  });

  test('the listing again: badge of the liked product shows seed+1', async () => {
    await open('/shop/index.html');
    const badge = page.locator(`#product-grid [data-vitrina-badge="${TARGET}"]`);
    await badge.waitFor({ state: 'visible', timeout: 5000 });
    assert.equal((await badge.textContent()).trim(), `${count(BY_SKU[TARGET].likes + 1)} likes`);
    await shootBoth('shop-listing');
  });

  test('the server stored exactly the expected events, once each', async () => {
    await page.evaluate(() => window.vitrina.flush());
    const expectedCount = loaded.length + VIEWED.length + 2;
    const enough = (evs) => evs.filter((e) => e.kind === 'page').length >= loaded.length &&
      evs.filter((e) => e.kind === 'view').length >= VIEWED.length &&
      evs.some((e) => e.kind === 'cart-add') && evs.some((e) => e.kind === 'like');
    let events = await waitFor(async () => {
      const evs = await storedEvents(server, TOKEN);
      return enough(evs) && evs;
    }, { timeout: 10000, interval: 200, message: `${expectedCount} events on the server` });
    // Let the widget finish whatever it still sends, then read the final state.
    await waitForDrained(page);
    await new Promise((r) => setTimeout(r, 300));
    events = (await storedEvents(server, TOKEN)).sort((a, b) => a.ts - b.ts || a.id_hex.localeCompare(b.id_hex));
    console.log(`stored events (${events.length}):\n${eventsTable(events)}`);
    const stats = await adminGet(server, '/v1/stats', TOKEN);
    console.log(`server since start: ${JSON.stringify(stats.since_start)}`);

    // No duplicates.
    const ids = events.map((e) => `${e.client}/${e.id_hex}`);
    assert.equal(new Set(ids).size, ids.length, 'duplicate (client, id)');
    const sig = events.map((e) => `${e.kind}|${e.item ?? ''}|${e.ts}`);
    assert.equal(new Set(sig).size, sig.length, 'two events with the same kind+item+ts');
    assert.equal(new Set(events.map((e) => e.client)).size, 1, 'one browser, one client id');
    assert.ok(events.every((e) => e.site === 'demo'), 'site is the data-site of the script tag');

    // Page views: one per page loaded, paths only, in order.
    const pages = events.filter((e) => e.kind === 'page');
    assert.deepEqual(pages.map((e) => e.url), loaded, 'page events (url paths in load order)');
    assert.ok(pages.every((e) => !/[?#]/.test(e.url)), 'page urls carry no query string or fragment');

    // One product view per product page view, with the time it was visible.
    const views = events.filter((e) => e.kind === 'view');
    assert.deepEqual(views.map((e) => e.item), VIEWED,
      `view events: ${JSON.stringify(views.map(({ item, ts, category, dwell_ms }) => ({ item, ts, category, dwell_ms })))}`);
    for (const v of views) {
      assert.equal(typeof v.dwell_ms, 'number', `dwell_ms of the view of ${v.item}`);
      assert.ok(v.dwell_ms > 0 && v.dwell_ms < 120000, `dwell_ms of ${v.item}: ${v.dwell_ms}`);
      assert.equal(v.price, Math.round(BY_SKU[v.item].price * 100));
      assert.equal(v.category, BY_SKU[v.item].category);
    }

    const carts = events.filter((e) => e.kind === 'cart-add');
    assert.equal(carts.length, 1, 'one cart-add');
    assert.equal(carts[0].item, TARGET);
    assert.equal(carts[0].qty, 1);
    assert.equal(carts[0].price, Math.round(BY_SKU[TARGET].price * 100));
    assert.equal(carts[0].currency, 'EUR');

    const likes = events.filter((e) => e.kind === 'like');
    assert.equal(likes.length, 1, 'one like');
    assert.equal(likes[0].item, TARGET);

    // Impressions are real events too: of recommendation slots seen on screen (each
    // names its slot, its rec id and an item) and of the shop's product lists (the
    // list's name as slot, an item of the catalogue, no rec id).
    const LISTS = ['catalog', 'related', 'cart'];
    for (const e of events.filter((x) => x.kind === 'impression')) {
      if (e.rec) assert.ok(e.slot && e.item, JSON.stringify(e));
      else assert.ok(LISTS.includes(e.slot) && BY_SKU[e.item], `a list impression: ${JSON.stringify(e)}`);
    }
    assert.ok(events.some((e) => e.kind === 'impression' && e.slot === 'catalog' && e.item === VIEWED[0]), 'the clicked card was seen first: ' + JSON.stringify(events.filter((e) => e.kind === 'impression').map((e) => [e.slot, e.item, e.ts])));
    // The card clicked on the listing: a click naming the list it was in.
    assert.deepEqual(events.filter((e) => e.kind === 'rec-click').map((e) => [e.item, e.slot, e.rec]), [[VIEWED[0], 'catalog', undefined]]);
    const known = new Set(['page', 'view', 'cart-add', 'like', 'impression', 'rec-click']);
    assert.deepEqual(events.filter((e) => !known.has(e.kind)).map((e) => e.kind), [], 'no other events');
    assert.equal(events.filter((e) => e.kind !== 'impression' && e.kind !== 'rec-click').length, expectedCount, 'total number of stored events');
  });

  test('product lists: one impression per card seen, naming the list; none for cards never scrolled to', async () => {
    const since = Date.now();
    await page.setViewportSize(WIDE);
    await open('/shop/index.html?c=camping');
    // Cards at least half in view now (what the shopper has seen).
    const inView = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('#product-grid [data-vitrina-item]')]
          .filter((el) => {
            const r = el.getBoundingClientRect();
            const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
            const w = Math.min(r.right, innerWidth) - Math.max(r.left, 0);
            return h > 0 && w > 0 && h * w >= 0.5 * r.width * r.height;
          })
          .map((el) => el.getAttribute('data-vitrina-item')),
      );
    const all = await page.evaluate(() => [...document.querySelectorAll('#product-grid [data-vitrina-item]')].map((el) => el.getAttribute('data-vitrina-item')));
    const first = await inView();
    assert.ok(first.length > 0 && first.length < all.length, `some but not all cards in view (${first.length} of ${all.length})`);
    const listed = async () => {
      await page.evaluate(() => window.vitrina.flush());
      return (await storedEvents(server, TOKEN)).filter((e) => e.kind === 'impression' && !e.rec && e.ts >= since);
    };
    let got = await waitFor(async () => {
      const l = await listed();
      return l.length >= first.length && l;
    }, { timeout: 8000, message: `${first.length} list impressions` });
    await new Promise((r) => setTimeout(r, 600));
    got = await listed();
    assert.deepEqual(got.map((e) => e.item).sort(), [...first].sort(), 'impressions are exactly the cards in view');
    assert.ok(got.every((e) => e.slot === 'camping' && e.category && e.price > 0), 'each names the list and carries the item');
    // Scrolled to the end: the rest of the cards, each once.
    await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    const seen = new Set([...first, ...(await inView())]);
    got = await waitFor(async () => {
      const l = await listed();
      return l.length >= seen.size && l;
    }, { timeout: 8000, message: `${seen.size} list impressions after scrolling` });
    const items = got.map((e) => e.item);
    assert.equal(new Set(items).size, items.length, `a card counted twice: ${items.join(', ')}`);
    assert.deepEqual(items.sort(), [...seen].sort());
  });

  test('no page errors, console errors or failed requests on any page', () => {
    assertNoPageErrors(page);
    const warnings = page.consoleMessages.filter((m) => m.type === 'warning' && m.text.startsWith('[vitrina]'));
    assert.deepEqual(warnings, [], 'the widget warned');
  });
});
