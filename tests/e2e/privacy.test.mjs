// The promises of docs/privacy.md, checked end to end: the script tag on fixture pages served
// by the real reference server, in real Chromium. What leaves the page is recorded from the
// browser (every request, every response header), decoded with www/npm/decode.js, and compared
// with what the server stored (/v1/events); what is kept is read back from every storage the
// page can reach (localStorage, sessionStorage, IndexedDB, Cache Storage, cookies), and every
// write is logged by an init script that wraps the storage APIs before the page runs.
//
//   node scripts/build.mjs && cargo build --release -p vitrina-server \
//     && node --test --test-concurrency=1 tests/e2e/privacy.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode } from '../../www/npm/decode.js';
import { assertNoPageErrors, eventsTable, launchBrowser, newPage, startServer, storedEvents, waitFor, waitForWidget } from './harness.mjs';

const TOKEN = 'e2e-privacy-token';
const SNIPPET = 'window.vitrina=window.vitrina||function(){(vitrina.q=vitrina.q||[]).push(arguments)};';
const ZERO_CLIENT = '0'.repeat(32);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Longer than the widget's flush delay (1 s) plus a round trip: if something were to be
// sent, it has been by then.
const QUIET_MS = 1600;

/** A shop page with the two-line snippet and the script tag (`consent` -> data-consent). */
function shopPage({ site, consent, title = site, body = '', attrs = '' }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
<script>${SNIPPET}</script>
<script async src="/vitrina.js" data-site="${site}" data-endpoint="/v1/collect"${consent ? ` data-consent="${consent}"` : ''}${attrs}></script>
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>
`;
}

// A list item with a cart button and a like button, and the recently-viewed slot.
const BROWSE_BODY = `
<ul data-vitrina-list>
  <li data-vitrina-item="DOM-BAG" data-vitrina-name="Canvas Bag" data-vitrina-category="bags" data-vitrina-price="20.00" data-vitrina-currency="EUR">
    Canvas Bag
    <button id="add" type="button" data-vitrina-action="cart-add">Add to cart</button>
    <button id="like" type="button" data-vitrina-like="DOM-BAG">Like</button>
  </li>
</ul>
<section id="recent" data-vitrina-slot="recently-viewed"></section>
`;
// The page's own product (auto-captured view).
const PRODUCT_BODY = `
<main data-vitrina-item="PAGE-SHOE" data-vitrina-name="Trail Shoe" data-vitrina-category="shoes/trail" data-vitrina-brand="Norte" data-vitrina-price="89.90" data-vitrina-currency="EUR">
  <h2>Trail Shoe</h2>
</main>
${BROWSE_BODY}`;

const SITES = {
  optin: 'privacy-optin',
  gpc: 'privacy-gpc',
  dnt: 'privacy-dnt',
  cmp: 'privacy-cmp',
  anon: 'privacy-anon',
  erase: 'privacy-erase',
  eraseOptin: 'privacy-erase-optin',
  url: 'privacy-url',
  tabs: 'privacy-tabs',
  fp: 'privacy-fp',
  ldp: 'privacy-ldp',
  search: 'privacy-search',
};
const FIXTURES = {
  'optin.html': shopPage({ site: SITES.optin, consent: 'opt-in', body: BROWSE_BODY }),
  'gpc.html': shopPage({ site: SITES.gpc, body: BROWSE_BODY }),
  'dnt.html': shopPage({ site: SITES.dnt, body: BROWSE_BODY }),
  'cmp.html': shopPage({ site: SITES.cmp, body: BROWSE_BODY }),
  'anon.html': shopPage({ site: SITES.anon, consent: 'anonymous', body: PRODUCT_BODY }),
  'erase.html': shopPage({ site: SITES.erase, body: BROWSE_BODY }),
  'erase-optin.html': shopPage({ site: SITES.eraseOptin, consent: 'opt-in', body: BROWSE_BODY }),
  'tabs.html': shopPage({ site: SITES.tabs, consent: 'opt-in', body: BROWSE_BODY }),
  'url.html': shopPage({ site: SITES.url, body: PRODUCT_BODY }),
  'fp.html': shopPage({ site: SITES.fp, body: PRODUCT_BODY }),
  'search.html': shopPage({ site: SITES.search, body: PRODUCT_BODY, attrs: ' data-search="category"' }),
  'ldp.html': shopPage({ site: SITES.ldp, body: PRODUCT_BODY, attrs: ' data-ldp-epsilon="2"' }),
};

// Runs before any script of every document: logs every write to Web Storage, cookies,
// IndexedDB and Cache Storage into window.__writes, and snapshots storage as the page found it.
const STORAGE_SPY = `(() => {
  const writes = (window.__writes = []);
  const snap = (s) => { const o = {}; for (let i = 0; i < s.length; i++) { const k = s.key(i); o[k] = s.getItem(k); } return o; };
  try { window.__before = { local: snap(localStorage), session: snap(sessionStorage), cookie: document.cookie }; } catch (e) {}
  const S = Storage.prototype;
  for (const m of ['setItem', 'removeItem', 'clear']) {
    const orig = S[m];
    S[m] = function (...a) {
      let which = 'local';
      try { if (this === window.sessionStorage) which = 'session'; } catch (e) {}
      writes.push([which, m, a.length ? String(a[0]) : '']);
      return orig.apply(this, a);
    };
  }
  const c = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get() { return c.get.call(this); },
    set(v) { writes.push(['cookie', 'set', String(v)]); c.set.call(this, v); },
  });
  if (window.IDBFactory) {
    const open = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (...a) { writes.push(['indexedDB', 'open', String(a[0])]); return open.apply(this, a); };
  }
  if (window.CacheStorage) {
    const open = CacheStorage.prototype.open;
    CacheStorage.prototype.open = function (...a) { writes.push(['caches', 'open', String(a[0])]); return open.apply(this, a); };
  }
  if (window.cookieStore && window.CookieStore) {
    const set = CookieStore.prototype.set;
    CookieStore.prototype.set = function (...a) { writes.push(['cookieStore', 'set', JSON.stringify(a[0])]); return set.apply(this, a); };
  }
})();`;
// The browser's privacy signals, defined before the page loads.
const GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { configurable: true, get: () => true });";
const DNT_ON = "Object.defineProperty(Navigator.prototype, 'doNotTrack', { configurable: true, get: () => '1' });";

/**
 * What the page wrote since it loaded (from STORAGE_SPY): every Web Storage setItem but the
 * storage probe of storage.js (set and removed at once), every cookie write, every IndexedDB
 * or Cache Storage opened. (Removing keys is not writing.)
 */
async function writesOf(page) {
  const all = await page.evaluate(() => window.__writes);
  return all.filter((w) => (w[1] === 'setItem' && w[2] !== 'vitrina:probe') || ['cookie', 'cookieStore', 'indexedDB', 'caches'].includes(w[0]));
}

/** Everything the page can reach in storage, plus the context's cookie jar. */
async function storageOf(page) {
  const inPage = await page.evaluate(async () => {
    const snap = (s) => {
      const o = {};
      for (let i = 0; i < s.length; i++) {
        const k = s.key(i);
        o[k] = s.getItem(k);
      }
      return o;
    };
    const idb = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
    const cacheNames = self.caches ? await caches.keys() : [];
    return { local: snap(localStorage), session: snap(sessionStorage), cookie: document.cookie, idb, caches: cacheNames };
  });
  inPage.jar = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`);
  return inPage;
}
const EMPTY_STORAGE = { local: {}, session: {}, cookie: '', idb: [], caches: [], jar: [] };
const vitrinaKeys = (st) => [...Object.keys(st.local), ...Object.keys(st.session)].filter((k) => k.startsWith('vitrina:')).sort();

/** The widget's status() and profile() lists. */
async function state(page) {
  return page.evaluate(() => {
    const p = window.vitrina.profile();
    const ids = (l) => (l || []).map((x) => x.item);
    return {
      status: window.vitrina.status(),
      recent: ids(p.recent),
      cart: ids(p.cart),
      likes: ids(p.likes),
      purchases: ids(p.purchases),
      interests: (p.interests || []).length,
    };
  });
}

/** Tracks `tag`-prefixed events of several kinds through the API, then flushes. */
async function browse(page, tag) {
  const ok = await page.evaluate(async (tag) => {
    const v = window.vitrina;
    const r = [
      v.view({ item: `${tag}-V1`, name: `Viewed ${tag} one`, category: 'shoes/running', brand: 'Norte', price: 89.9, currency: 'EUR' }),
      v.view({ item: `${tag}-V2`, name: `Viewed ${tag} two`, category: 'shoes/trail', price: 120, currency: 'EUR' }),
      v.cartAdd({ item: `${tag}-C1`, price: 10, quantity: 2 }),
      v.like(`${tag}-L1`),
      v.search('Secret Query Words'),
    ];
    await v.flush();
    return r;
  }, tag);
  assert.deepEqual(ok, [true, true, true, true, true], `${tag}: an event was refused`);
}

/** Simulates the page being left (the widget's pagehide handler: beacons, save). */
const pagehide = (page) => page.evaluate(() => dispatchEvent(new Event('pagehide')));

describe('privacy (docs/privacy.md)', () => {
  let server;
  let browser;
  let dir;
  const allBodies = []; // every /v1/collect body of every test, for the fingerprinting check

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-privacy-'));
    for (const [name, html] of Object.entries(FIXTURES)) fs.writeFileSync(path.join(dir, name), html);
    server = await startServer({ args: ['--admin-token', TOKEN], demo: dir });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Events the server stored for one site, oldest first. */
  async function eventsOf(site) {
    return (await storedEvents(server, TOKEN)).filter((e) => e.site === site).reverse();
  }

  /**
   * A fresh page (own context) that records every request it makes (with body and headers)
   * and every Set-Cookie header it receives. `init`: extra init scripts, before the page loads.
   */
  async function session({ init = [], contextOptions } = {}) {
    const page = await newPage(browser, { contextOptions });
    for (const s of [STORAGE_SPY, ...init]) await page.addInitScript(s);
    const s = { page, requests: [], setCookies: [], pending: [] };
    page.on('request', (r) => {
      const entry = { url: r.url(), path: new URL(r.url()).pathname, search: new URL(r.url()).search, method: r.method(), type: r.resourceType(), body: r.postDataBuffer(), at: Date.now() };
      s.requests.push(entry);
      s.pending.push(r.allHeaders().then((h) => (entry.headers = h), () => {}));
      if (entry.path === '/v1/collect' && entry.body) allBodies.push(entry.body);
    });
    page.on('response', (r) => {
      s.pending.push(
        r.headersArray().then(
          (hs) => {
            for (const h of hs) if (h.name.toLowerCase() === 'set-cookie') s.setCookies.push(`${r.url()}: ${h.value}`);
          },
          () => {},
        ),
      );
    });
    /** Requests to the collector (after `since`, a Date.now() value). */
    s.collects = (since = 0) => s.requests.filter((r) => r.path === '/v1/collect' && r.at >= since);
    /** Decoded collector bodies. */
    s.batches = (since = 0) => s.collects(since).filter((r) => r.body).map((r) => decode(new Uint8Array(r.body)));
    /** The cookie promises: document.cookie empty, no cookie in the jar, no Set-Cookie ever. */
    s.checkCookies = async (when) => {
      await Promise.all(s.pending);
      const st = await page.evaluate(() => document.cookie);
      assert.equal(st, '', `document.cookie is not empty ${when}`);
      assert.deepEqual(await page.context().cookies(), [], `the browser holds cookies ${when}`);
      assert.deepEqual(s.setCookies, [], `a response set a cookie ${when}`);
      const cookieWrites = await page.evaluate(() => window.__writes.filter((w) => w[0] === 'cookie' || w[0] === 'cookieStore'));
      assert.deepEqual(cookieWrites, [], `the page wrote a cookie ${when}`);
    };
    s.close = async () => {
      await Promise.all(s.pending);
      await page.close();
    };
    return s;
  }

  /**
   * Asserts nothing reached the collector from `s` (since `since`) and the server stored
   * nothing for `site` (or nothing new beyond `storedBefore` events).
   */
  async function assertNothingSent(s, site, { since = 0, storedBefore = 0, what = '' } = {}) {
    await sleep(QUIET_MS);
    const sent = s.collects(since);
    assert.deepEqual(
      sent.map((r) => `${r.method} ${r.url} (${r.body ? r.body.length : 0} bytes)`),
      [],
      `requests reached the collector ${what}`,
    );
    const stored = await eventsOf(site);
    assert.equal(stored.length, storedBefore, `the server stored events ${what}:\n${eventsTable(stored)}`);
  }

  // ---------------------------------------------------------------------------------------------

  test('opt-in: nothing sent or stored before consent; sent and kept after "granted"; "denied" stops and deletes', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/optin.html`);
      await waitForWidget(page);

      // ---- before any choice: browse through the API and the page's buttons
      await browse(page, 'PRE');
      await page.click('#add');
      await page.click('#like');
      await pagehide(page); // leaving must not send a beacon either
      await page.evaluate(() => window.vitrina.flush());
      // Personalization works in memory: the recently-viewed slot shows this page's views.
      await page.waitForFunction(() => document.querySelector('#recent')?.getAttribute('data-vitrina-count') === '2', null, { timeout: 5000 });
      // (the cards are in the slot's open shadow root; playwright's CSS locators pierce it)
      const cards = await page.locator('#recent .vitrina-card-name').allInnerTexts();
      assert.deepEqual(cards.sort(), ['Viewed PRE one', 'Viewed PRE two'], 'the recently-viewed slot');
      const pre = await state(page);
      assert.deepEqual(pre.recent.sort(), ['PRE-V1', 'PRE-V2']);
      assert.deepEqual(pre.cart.sort(), ['DOM-BAG', 'PRE-C1']);
      assert.deepEqual(pre.likes.sort(), ['DOM-BAG', 'PRE-L1']);
      assert.equal(pre.status.consent, 'pending');
      assert.equal(pre.status.sending, false, `status: ${JSON.stringify(pre.status)}`);
      assert.equal(pre.status.persistent, false, `status: ${JSON.stringify(pre.status)}`);
      assert.equal(pre.status.outbox, 0, 'events wait in the outbox before consent');

      await assertNothingSent(s, SITES.optin, { what: 'before consent (opt-in)' });
      // Only GETs of the page, the widget and (public, shopper-free) popularity left the page.
      const other = s.requests.filter((r) => r.method !== 'GET' || r.body || !/^\/(shop\/optin\.html|vitrina\.js|vitrina-core\.js|vitrina_core_bg\.wasm|v1\/popularity)$/.test(r.path) || (r.path === '/v1/popularity' && r.search));
      assert.deepEqual(other.map((r) => `${r.method} ${r.url}`), [], 'unexpected requests before consent');

      // Storage: as the page found it (empty), and nothing written along the way.
      const st = await storageOf(page);
      const found = await page.evaluate(() => window.__before);
      assert.deepEqual(found, { local: {}, session: {}, cookie: '' });
      assert.deepEqual(st, EMPTY_STORAGE, 'storage changed before consent (opt-in)');
      // storage.js probes localStorage by writing and removing `vitrina:probe` (leaves nothing).
      assert.deepEqual(await writesOf(page), [], 'the widget wrote to storage before consent (opt-in)');
      await s.checkCookies('before consent');

      // ---- the consent banner says yes
      const granted = await page.evaluate(() => {
        window.vitrina('consent', 'granted');
        return window.vitrina.status();
      });
      assert.equal(granted.consent, 'granted');
      assert.equal(granted.sending, true);
      const grantedAt = Date.now();
      await browse(page, 'POST');
      const afterGrant = await waitFor(async () => {
        const evs = await eventsOf(SITES.optin);
        return evs.some((e) => e.item === 'POST-V1') && evs.some((e) => e.item === 'POST-C1') && evs.some((e) => e.item === 'POST-L1') && evs;
      }, { timeout: 8000, message: 'the events tracked after consent at the server' });
      // Nothing of what happened before the choice is sent after it.
      const leaked = afterGrant.filter((e) => /^PRE-|^DOM-BAG$/.test(e.item || '') || e.kind === 'page');
      assert.deepEqual(leaked, [], `events from before consent reached the server:\n${eventsTable(leaked)}`);
      // (the page's request events reach this process a moment after the server has the batch)
      await waitFor(() => s.collects(grantedAt).length > 0, { timeout: 5000, message: 'a collect request after consent seen by the page' });
      const kept = await storageOf(page);
      assert.equal(kept.local['vitrina:consent'], 'granted');
      assert.equal(kept.local['vitrina:cid'], granted.client);
      assert.ok(kept.local['vitrina:profile'], 'the profile is not stored after consent');
      const clients = new Set(afterGrant.map((e) => e.client));
      assert.deepEqual([...clients], [granted.client], 'events carry the stored client id');

      // ---- reload: the choice is remembered, the profile (in-memory views included) restored
      await page.reload();
      await waitForWidget(page);
      const reloaded = await state(page);
      assert.equal(reloaded.status.consent, 'granted', 'consent not remembered across a reload');
      assert.equal(reloaded.status.sending, true);
      assert.equal(reloaded.status.client, granted.client);
      for (const id of ['PRE-V1', 'PRE-V2', 'POST-V1', 'POST-V2']) assert.ok(reloaded.recent.includes(id), `${id} not in the restored profile: ${reloaded.recent}`);
      await page.evaluate(() => window.vitrina.cartAdd({ item: 'RELOAD-C1', price: 3 }) && window.vitrina.flush());
      await waitFor(async () => (await eventsOf(SITES.optin)).some((e) => e.item === 'RELOAD-C1'), { timeout: 8000, message: 'an event after the reload at the server' });
      await sleep(300);
      await Promise.all(s.pending);

      // ---- withdrawal: with an event waiting, the banner says no
      const withdrawn = await page.evaluate(() => {
        const v = window.vitrina;
        v.cartAdd({ item: 'WAITING-C1', price: 4 });
        const waiting = v.status().outbox;
        v.consent('denied');
        return { waiting, status: v.status() };
      });
      const deniedAt = Date.now();
      const storedAtDenial = (await eventsOf(SITES.optin)).length;
      assert.ok(withdrawn.waiting >= 1, `no event was waiting before the withdrawal: ${JSON.stringify(withdrawn)}`);
      assert.equal(withdrawn.status.outbox, 0, 'the outbox was not emptied on withdrawal');
      assert.equal(withdrawn.status.sending, false);
      assert.equal(withdrawn.status.consent, 'denied');
      const afterDeny = await storageOf(page);
      assert.deepEqual(afterDeny.local, { 'vitrina:consent': 'denied' }, 'stored data left after withdrawal (only the choice may stay)');
      assert.deepEqual(afterDeny.session, {});
      // Browsing on: nothing leaves, nothing is written.
      const writesBefore = (await writesOf(page)).length;
      await browse(page, 'DENIED');
      await page.click('#add');
      await pagehide(page);
      await assertNothingSent(s, SITES.optin, { since: deniedAt, storedBefore: storedAtDenial, what: 'after withdrawal' });
      const all = await eventsOf(SITES.optin);
      assert.deepEqual(all.filter((e) => /^(WAITING|DENIED)-/.test(e.item || '')), [], 'events from the withdrawal on reached the server');
      const laterWrites = (await writesOf(page)).slice(writesBefore);
      assert.deepEqual(laterWrites, [], 'the widget wrote to storage after withdrawal');
      assert.deepEqual((await storageOf(page)).local, { 'vitrina:consent': 'denied' });
      // And a refusal sticks across a reload.
      await page.reload();
      await waitForWidget(page);
      const again = await state(page);
      assert.equal(again.status.consent, 'denied');
      assert.equal(again.status.sending, false);
      assert.deepEqual(again.recent, [], 'the withdrawn profile came back after a reload');
      assert.notEqual(again.status.client, granted.client, 'the withdrawn client id came back');
      await s.checkCookies('in the opt-in test');
      assertNoPageErrors(s.page);
    } finally {
      await s.close();
    }
  });

  // GPC and DNT in the default (opt-out) mode: off until the shopper says yes in the panel.
  for (const [name, script, site, file] of [
    ['Global Privacy Control', GPC_ON, SITES.gpc, 'gpc.html'],
    ['Do Not Track', DNT_ON, SITES.dnt, 'dnt.html'],
  ]) {
    test(`${name} on (opt-out mode): nothing sent, a consent manager's "granted" changes nothing, the shopper's panel does`, async () => {
      const s = await session({ init: [script] });
      const { page } = s;
      try {
        await page.goto(`${server.url}/shop/${file}`);
        await waitForWidget(page);
        const signal = await page.evaluate(() => ({ gpc: navigator.globalPrivacyControl, dnt: navigator.doNotTrack }));
        assert.ok(signal.gpc === true || signal.dnt === '1', `the init script did not set the signal: ${JSON.stringify(signal)}`);

        // 1. By default nothing is sent.
        await browse(page, 'SIG');
        await page.click('#add');
        await pagehide(page);
        const st = await state(page);
        assert.equal(st.status.sending, false, `status: ${JSON.stringify(st.status)}`);
        assert.equal(st.status.outbox, 0, 'events wait for a later consent');
        await assertNothingSent(s, site, { what: `with ${name} on` });

        // 2. A consent manager's "granted" does not override the browser signal.
        const cmp = await page.evaluate(() => (window.vitrina('consent', 'granted'), window.vitrina.status()));
        assert.equal(cmp.consent, 'granted');
        assert.equal(cmp.sending, false, `a consent manager's grant overrode ${name}: ${JSON.stringify(cmp)}`);
        await browse(page, 'CMP');
        await pagehide(page);
        await assertNothingSent(s, site, { what: `with ${name} on after a consent manager's "granted"` });
        await page.reload();
        await waitForWidget(page);
        await browse(page, 'CMP2');
        assert.equal((await state(page)).status.sending, false);
        await assertNothingSent(s, site, { what: `with ${name} on, reloaded after a consent manager's "granted"` });

        // 3. The shopper's own choice in Vitrina's panel does.
        await page.evaluate(() => window.vitrina.openPanel());
        const allow = page.getByRole('button', { name: 'Allow sharing' });
        await allow.click();
        await page.getByRole('button', { name: 'Stop sharing' }).waitFor({ timeout: 3000 });
        const shopper = (await state(page)).status;
        assert.equal(shopper.consent, 'granted-by-shopper');
        assert.equal(shopper.sending, true, `the shopper's choice in the panel did not turn sending on: ${JSON.stringify(shopper)}`);
        await page.keyboard.press('Escape');
        await browse(page, 'SHOPPER');
        const stored = await waitFor(async () => {
          const evs = await eventsOf(site);
          return evs.some((e) => e.item === 'SHOPPER-C1') && evs;
        }, { timeout: 8000, message: 'events after the shopper allowed sharing in the panel' });
        const early = stored.filter((e) => /^(SIG|CMP|CMP2)-|^DOM-BAG$/.test(e.item || ''));
        assert.deepEqual(early, [], `events from before the shopper's choice reached the server:\n${eventsTable(early)}`);
        assert.deepEqual([...new Set(stored.map((e) => e.client))], [shopper.client]);
        // The shopper's choice is remembered across a reload.
        await page.reload();
        await waitForWidget(page);
        const kept = (await state(page)).status;
        assert.equal(kept.consent, 'granted-by-shopper');
        assert.equal(kept.sending, true);
        await s.checkCookies(`in the ${name} test`);
        assertNoPageErrors(page);
      } finally {
        await s.close();
      }
    });
  }

  test("GPC on: a consent manager's later \"granted\" does not undo the shopper's own choice in the panel", async () => {
    // Consent managers call their callback (and so vitrina('consent', ...)) on every page
    // load with the stored categories: that must not turn the shopper's "allow" back off.
    const s = await session({ init: [GPC_ON] });
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/cmp.html`);
      await waitForWidget(page);
      await page.evaluate(() => window.vitrina.openPanel());
      await page.getByRole('button', { name: 'Allow sharing' }).click();
      assert.equal((await state(page)).status.consent, 'granted-by-shopper');
      await page.keyboard.press('Escape');
      // Next page: the consent manager replays its "granted".
      await page.reload();
      await waitForWidget(page);
      const after = await page.evaluate(() => (window.vitrina('consent', 'granted'), window.vitrina.status()));
      assert.equal(after.sending, true, `the consent manager's "granted" turned off sharing the shopper allowed in the panel: ${JSON.stringify(after)}`);
      await s.checkCookies('in the GPC + consent manager test');
    } finally {
      await s.close();
    }
  });

  test('anonymous mode: what is sent carries no client id, session, page, search terms or order ids', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/anon.html?q=private`);
      await waitForWidget(page);
      await browse(page, 'ANON');
      await page.click('#add');
      await page.click('#like');
      await page.evaluate(async () => {
        const v = window.vitrina;
        v.purchase({ order: 'ORDER-SECRET-42', value: 30, currency: 'EUR', lines: [{ item: 'ANON-C1', quantity: 2, price: 10 }, { item: 'DOM-BAG', quantity: 1, price: 10 }] });
        v.page('/shop/private-page');
        v.track('custom', { event: 'newsletter', props: { plan: 'secret-plan' } });
        v.track('share', { item: 'ANON-V1' });
        await v.flush();
      });
      await pagehide(page); // the page product's view, with its dwell time
      const stored = await waitFor(async () => {
        const evs = await eventsOf(SITES.anon);
        return ['view', 'cart-add', 'like', 'purchase'].every((k) => evs.some((e) => e.kind === k)) && evs.some((e) => e.item === 'PAGE-SHOE') && evs;
      }, { timeout: 8000, message: 'anonymous events at the server' });
      await sleep(500);
      const all = await eventsOf(SITES.anon);
      const status = (await state(page)).status;
      console.log(`anonymous mode, stored at the server:\n${eventsTable(all)}`);
      assert.ok(stored.length > 0);
      for (const e of all) {
        const where = `${e.kind} ${e.item ?? ''} (${e.id_hex})`;
        assert.equal(e.client, ZERO_CLIENT, `${where}: client id sent in anonymous mode`);
        assert.equal(e.session, 0, `${where}: session sent in anonymous mode`);
        for (const f of ['url', 'order', 'terms', 'name', 'props', 'rec', 'dwell_ms']) assert.equal(e[f], undefined, `${where}: "${f}" sent in anonymous mode: ${JSON.stringify(e[f])}`);
        assert.ok(['view', 'cart-add', 'purchase', 'like', 'unlike', 'rec-click'].includes(e.kind), `${where}: a "${e.kind}" event sent in anonymous mode`);
      }
      assert.notEqual(status.client, ZERO_CLIENT, 'the device keeps its own id in anonymous mode');
      // And on the wire.
      const batches = s.batches();
      assert.ok(batches.length > 0);
      for (const b of batches) {
        assert.equal(b.client, ZERO_CLIENT);
        assert.equal(b.session, 0);
        for (const e of b.events) for (const f of ['url', 'order', 'terms', 'name', 'props', 'rec', 'dwellMs']) assert.equal(e[f], undefined, `on the wire: ${e.kind} carries ${f}`);
      }
      const raw = Buffer.concat(s.collects().map((r) => r.body || Buffer.alloc(0))).toString('latin1');
      for (const secret of ['ORDER-SECRET', 'secret', 'query', 'words', 'private', '/shop', status.client]) assert.ok(!raw.includes(secret), `"${secret}" in a request body in anonymous mode`);
      await s.checkCookies('in anonymous mode');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('LDP mode: likes and views leave only as randomized reports, without item, client id or session', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/ldp.html`);
      await waitForWidget(page);
      await browse(page, 'LDP'); // views LDP-V1, LDP-V2; cart add LDP-C1; like LDP-L1; a search
      await page.click('#like'); // like DOM-BAG
      await page.evaluate(async () => {
        const v = window.vitrina;
        v.like('LDP-L1'); // already liked: no second report
        v.view({ item: 'LDP-V1', category: 'shoes/running' }); // viewed today: no second report
        await v.flush();
      });
      await pagehide(page); // the page product's view
      const isReport = (e) => e.kind === 'custom' && e.name === 'ldp';
      await waitFor(async () => (await eventsOf(SITES.ldp)).filter(isReport).length >= 5 && (await eventsOf(SITES.ldp)).some((e) => e.kind === 'cart-add'), {
        timeout: 8000,
        message: 'five LDP reports and the cart add at the server',
      });
      await sleep(500);
      const batches = s.batches();
      const reports = [];
      for (const b of batches) {
        if (b.events.some(isReport)) {
          assert.ok(b.events.every(isReport), 'reports travel in batches of their own');
          assert.equal(b.client, ZERO_CLIENT, 'a report batch carries the client id');
          assert.equal(b.session, 0, 'a report batch carries the session');
          // Delivery is at least once (a batch can be sent again when its answer was
          // lost, e.g. around pagehide); the server keeps one copy per event id.
          for (const e of b.events) if (!reports.some((r) => r.id === e.id)) reports.push(e);
        } else {
          for (const e of b.events) assert.ok(!['view', 'like', 'unlike'].includes(e.kind), `a plain ${e.kind} of ${e.item} was sent in LDP mode`);
        }
      }
      const signals = reports.map((e) => e.props.k).sort();
      assert.deepEqual(signals, ['like', 'like', 'view', 'view', 'view'], 'one report per like and per item viewed today');
      for (const e of reports) {
        assert.equal(e.item, undefined, 'a report names its item');
        assert.deepEqual(Object.keys(e.props).sort(), ['b', 'e', 'g', 'k', 's']);
        assert.equal(e.props.e, '200');
        assert.equal(e.props.g, '8', 'ε = 2 gives round(e² + 1) = 8 buckets');
        assert.ok(+e.props.b < 8);
        assert.equal(new Date(e.ts).getTime() % 86400000, 0, 'report times are rounded to the day');
      }
      const raw = Buffer.concat(s.collects().filter((r) => r.body && decode(new Uint8Array(r.body)).events.some(isReport)).map((r) => r.body)).toString('latin1');
      for (const secret of ['LDP-V', 'LDP-L1', 'DOM-BAG', 'PAGE-SHOE']) assert.ok(!raw.includes(secret), `"${secret}" in a report batch`);
      const stored = await eventsOf(SITES.ldp);
      assert.equal(stored.filter(isReport).length, 5, 'the server stored each report once');
      assert.ok(stored.some((e) => e.kind === 'cart-add' && e.item === 'LDP-C1' && e.client !== ZERO_CLIENT), 'other events are sent as usual');
      assert.ok(!stored.some((e) => ['view', 'like'].includes(e.kind)), 'the server stored a plain view or like');
      const profile = await state(page);
      assert.deepEqual(profile.likes.sort(), ['DOM-BAG', 'LDP-L1'], 'the profile on the device still learns');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('erase() (opt-out, no choice made): no vitrina: data left, a new client id, an empty profile, waiting events dropped', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/erase.html`);
      await waitForWidget(page);
      await browse(page, 'OLD');
      await page.click('#like');
      await waitFor(async () => (await eventsOf(SITES.erase)).some((e) => e.item === 'OLD-C1'), { timeout: 8000, message: 'events before erase at the server' });
      await waitFor(() => page.evaluate(() => window.vitrina.status().outbox === 0), { timeout: 8000, message: 'the outbox drained before erase' });
      const before = await storageOf(page);
      const oldClient = before.local['vitrina:cid'];
      assert.match(oldClient, /^[0-9a-f]{32}$/);
      assert.ok(before.local['vitrina:profile']);
      // An event still waiting when the shopper erases must not go out afterwards (under either id).
      const r = await page.evaluate(() => {
        const v = window.vitrina;
        v.cartAdd({ item: 'OLD-WAITING', price: 1 });
        const waiting = v.status().outbox;
        v.erase();
        const keys = (st) => Object.keys(st).filter((k) => k.startsWith('vitrina:')).sort();
        return { waiting, status: v.status(), keysNow: [...keys(localStorage), ...keys(sessionStorage)] };
      });
      assert.ok(r.waiting >= 1);
      assert.equal(r.status.outbox, 0, 'the outbox survived erase()');
      assert.notEqual(r.status.client, oldClient, 'the client id did not change');
      assert.match(r.status.client, /^[0-9a-f]{32}$/);
      // No choice was made: nothing but (at most) the new random client id may be stored.
      assert.deepEqual(r.keysNow.filter((k) => k !== 'vitrina:cid'), [], 'vitrina: keys left right after erase()');
      const p = await state(page);
      assert.deepEqual([p.recent, p.cart, p.likes, p.purchases, p.interests], [[], [], [], [], 0], 'profile() not empty after erase()');
      // The shopper's panel says so.
      await page.evaluate(() => window.vitrina.openPanel());
      const panel = await page.locator('[data-vitrina-panel-host] dialog').innerText();
      assert.ok(!/OLD-|Viewed OLD|Canvas Bag/.test(panel), `the panel still shows erased data:\n${panel}`);
      assert.ok((panel.match(/Nothing yet\./g) || []).length >= 3, `the panel does not show an empty profile:\n${panel}`);
      await page.keyboard.press('Escape');
      // Life goes on: an event, delivered; the widget's timers have all run.
      await page.evaluate(() => window.vitrina.cartAdd({ item: 'NEW-C1', price: 2 }) && window.vitrina.flush());
      await waitFor(async () => (await eventsOf(SITES.erase)).some((e) => e.item === 'NEW-C1'), { timeout: 8000, message: 'an event after erase at the server' });
      await sleep(QUIET_MS);
      const evs = await eventsOf(SITES.erase);
      assert.deepEqual(evs.filter((e) => e.item === 'OLD-WAITING'), [], 'an event waiting at erase() was sent after it');
      const oldIds = evs.filter((e) => e.client === oldClient).map((e) => e.id_hex);
      assert.ok(oldIds.length > 0);
      for (const e of evs) if (e.client !== oldClient) assert.equal(e.client, r.status.client, `${e.kind} ${e.item ?? ''}: an unknown client id`);
      assert.ok(evs.filter((e) => e.client === r.status.client).some((e) => e.item === 'NEW-C1'));
      // Whatever the widget stored since holds nothing from before erase(): no old client id,
      // no old profile, no id of an event sent before (the server has those under the old id).
      const st = await storageOf(page);
      assert.deepEqual(vitrinaKeys(st).filter((k) => !['vitrina:cid', 'vitrina:profile', 'vitrina:outbox'].includes(k)), [], `stored after erase: ${JSON.stringify(st)}`);
      assert.equal(st.local['vitrina:cid'], r.status.client, 'the stored client id is not the new one');
      const text = JSON.stringify(st);
      assert.ok(!text.includes(oldClient), 'the old client id is still stored');
      // The outbox is base64 of bytes (docs/privacy.md): batch ids are 8 bytes in it.
      const outboxHex = Buffer.from(st.local['vitrina:outbox'] || '', 'base64').toString('hex');
      const oldInStore = oldIds.filter((id) => text.includes(id) || outboxHex.includes(id));
      assert.deepEqual(oldInStore, [], `ids of events sent before erase() are still stored (vitrina:outbox = ${JSON.stringify(st.local['vitrina:outbox'])}): they link the device to the erased events at the server`);
      // After a reload: still empty, still the new id.
      await page.reload();
      await waitForWidget(page);
      const reloaded = await state(page);
      // Only what happened after erase() (the NEW-C1 cart add) is there.
      assert.deepEqual([reloaded.recent, reloaded.cart, reloaded.likes], [[], ['NEW-C1'], []], 'the erased profile came back after a reload');
      assert.equal(reloaded.status.client, r.status.client);
      await s.checkCookies('in the erase test');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('erase(): what is sent afterwards cannot be linked to what was sent before (client id, session, event ids)', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/erase.html`);
      await waitForWidget(page);
      await page.evaluate(() => window.vitrina.cartAdd({ item: 'LINK-OLD', price: 1 }) && window.vitrina.flush());
      await waitFor(async () => (await eventsOf(SITES.erase)).some((e) => e.item === 'LINK-OLD'), { timeout: 8000, message: 'an event before erase' });
      await page.evaluate(() => (window.vitrina.erase(), window.vitrina.cartAdd({ item: 'LINK-NEW', price: 1 }) && window.vitrina.flush()));
      const evs = await waitFor(async () => {
        const all = await eventsOf(SITES.erase);
        return all.some((e) => e.item === 'LINK-NEW') && all;
      }, { timeout: 8000, message: 'an event after erase' });
      const before = evs.find((e) => e.item === 'LINK-OLD');
      const after = evs.find((e) => e.item === 'LINK-NEW');
      console.log(`before erase: ${before.client} session ${before.session} id ${before.id_hex}\nafter erase:  ${after.client} session ${after.session} id ${after.id_hex}`);
      assert.notEqual(after.client, before.client, 'same client id');
      assert.notEqual(after.session, before.session, 'same session number');
      // Event ids are <32 random bits per page load><32-bit counter>: the same random half
      // (and a counter that goes on) on both sides of erase() ties the two client ids together.
      assert.notEqual(after.id_hex.slice(0, 8), before.id_hex.slice(0, 8), `event ids before and after erase() share their random half (${before.id_hex}, ${after.id_hex})`);
      await s.checkCookies('in the erase linkability test');
    } finally {
      await s.close();
    }
  });

  test('erase from the panel (opt-in, granted): only the consent choice (and the new id) is left', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/erase-optin.html`);
      await waitForWidget(page);
      await page.evaluate(() => window.vitrina.consent('granted'));
      await browse(page, 'OPT');
      await waitFor(async () => (await eventsOf(SITES.eraseOptin)).some((e) => e.item === 'OPT-C1'), { timeout: 8000, message: 'events before erase at the server' });
      const oldClient = (await state(page)).status.client;
      await page.evaluate(() => window.vitrina.openPanel());
      await page.getByRole('button', { name: 'Erase everything' }).click();
      const panel = await page.locator('[data-vitrina-panel-host] dialog').innerText();
      assert.ok(!/OPT-|Viewed OPT/.test(panel), `the panel still shows erased data:\n${panel}`);
      const st = await storageOf(page);
      const status = (await state(page)).status;
      assert.equal(st.local['vitrina:consent'], 'granted', 'erase() dropped the consent choice');
      assert.deepEqual(vitrinaKeys(st).filter((k) => k !== 'vitrina:consent' && k !== 'vitrina:cid'), [], `left after erase: ${JSON.stringify(st)}`);
      if (st.local['vitrina:cid'] != null) assert.equal(st.local['vitrina:cid'], status.client);
      assert.notEqual(status.client, oldClient);
      assert.equal(status.consent, 'granted');
      const p = await state(page);
      assert.deepEqual([p.recent, p.cart, p.likes, p.interests], [[], [], [], 0]);
      await s.checkCookies('in the panel erase test');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('two tabs (opt-in): a withdrawal in one stops the other at once; an erase in one erases the other', async () => {
    const s = await session();
    const a = s.page;
    const context = a.context();
    const collects = [];
    context.on('request', (r) => {
      if (new URL(r.url()).pathname === '/v1/collect') collects.push({ at: Date.now(), body: r.postDataBuffer() });
    });
    let b;
    try {
      await a.goto(`${server.url}/shop/tabs.html`);
      await waitForWidget(a);
      await a.evaluate(() => window.vitrina.consent('granted'));
      b = await context.newPage();
      await b.addInitScript(STORAGE_SPY);
      await b.goto(`${server.url}/shop/tabs.html`);
      await waitForWidget(b);
      assert.equal((await state(b)).status.sending, true, 'the second tab does not see the stored consent');
      await b.evaluate(() => window.vitrina.cartAdd({ item: 'TAB-B-1', price: 1 }) && window.vitrina.flush());
      await waitFor(async () => (await eventsOf(SITES.tabs)).some((e) => e.item === 'TAB-B-1'), { timeout: 8000, message: "the second tab's event" });

      // An event waits in B (its flush timer is armed) when the shopper withdraws in A.
      // B is busy for a moment after it, so its profile save runs after A has
      // removed the profile and before B hears of the withdrawal: the race a
      // loaded machine can produce on its own. B must remove what it wrote.
      const busy = b.evaluate(() => {
        window.vitrina.cartAdd({ item: 'TAB-B-WAIT', price: 1 });
        for (const end = performance.now() + 700; performance.now() < end; );
      });
      await sleep(150);
      await a.evaluate(() => window.vitrina.consent('denied'));
      await busy;
      const deniedAt = Date.now();
      const storedAtDenial = (await eventsOf(SITES.tabs)).length;
      const bStatus = await waitFor(async () => {
        const st = (await state(b)).status;
        return !st.sending && st;
      }, { timeout: 3000, message: 'the second tab to stop sending' });
      assert.equal(bStatus.outbox, 0, "the second tab's outbox was not emptied");
      await browse(b, 'TAB-B-DENIED');
      await pagehide(b);
      await sleep(QUIET_MS);
      assert.deepEqual(collects.filter((r) => r.at >= deniedAt).length, 0, 'a tab sent after the withdrawal');
      const stored = await eventsOf(SITES.tabs);
      assert.equal(stored.length, storedAtDenial, `events stored after the withdrawal:\n${eventsTable(stored)}`);
      assert.deepEqual((await storageOf(b)).local, { 'vitrina:consent': 'denied' }, 'the second tab wrote its data back after the withdrawal');

      // Granted again, then erased in A: B forgets too and writes nothing old back.
      await a.evaluate(() => window.vitrina.consent('granted'));
      await waitFor(async () => (await state(b)).status.sending, { timeout: 3000, message: 'the second tab to see the new grant' });
      await b.evaluate(() => window.vitrina.view({ item: 'TAB-B-V', name: 'Seen in B' }) && window.vitrina.flush());
      await sleep(300);
      // The same race as above: B saves its old profile just after A erased.
      const busyB = b.evaluate(() => {
        window.vitrina.cartAdd({ item: 'TAB-B-RACE', price: 1 });
        for (const end = performance.now() + 700; performance.now() < end; );
      });
      await sleep(150);
      await a.evaluate(() => window.vitrina.erase());
      await busyB;
      const newClient = (await state(a)).status.client;
      const bAfter = await waitFor(async () => {
        const st = await state(b);
        return st.status.client === newClient && st;
      }, { timeout: 3000, message: 'the second tab to take the erase (new client id)' });
      assert.deepEqual([bAfter.recent, bAfter.cart, bAfter.likes], [[], [], []], "the second tab still holds the erased profile");
      // Nor does storage: a page opened now would load what B saved in the race.
      const raw = Object.values((await storageOf(b)).local).map((x) => Buffer.from(String(x).split(':').pop(), 'base64').toString('latin1')).join(' ');
      assert.ok(!/TAB-B-(RACE|1|V)/.test(raw), `storage still holds the erased profile: ${JSON.stringify((await storageOf(b)).local)}`);
      await b.evaluate(() => window.vitrina.cartAdd({ item: 'TAB-B-NEW', price: 1 }) && window.vitrina.flush());
      await sleep(500);
      await a.reload();
      await waitForWidget(a);
      const aAfter = await state(a);
      assert.equal(aAfter.status.client, newClient);
      for (const id of ['TAB-B-1', 'TAB-B-V', 'TAB-B-RACE']) {
        assert.ok(!aAfter.recent.includes(id) && !aAfter.cart.includes(id), `${id} came back after the erase (written back by the other tab)`);
      }
      await s.checkCookies('in the two-tab test');
    } finally {
      await b?.close();
      await s.close();
    }
  });

  test('search: "category" sends where a search led, never its words', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/search.html`);
      await waitForWidget(page);
      const ok = await page.evaluate(async () => {
        const v = window.vitrina;
        const r = [v.search('Secret Query Words', { category: 'shoes/trail' }), v.search('another private search'), v.track('search', { query: 'third secret', category: 'bags' })];
        await v.flush();
        return r;
      });
      assert.deepEqual(ok, [true, true, true], 'searches are accepted (and kept on the device)');
      const searches = await waitFor(async () => {
        const evs = (await eventsOf(SITES.search)).filter((e) => e.kind === 'search');
        return evs.length >= 2 && evs;
      }, { timeout: 8000, message: 'two searches at the server' });
      await sleep(QUIET_MS);
      const all = (await eventsOf(SITES.search)).filter((e) => e.kind === 'search');
      assert.deepEqual(all.map((e) => [e.category, e.terms]), [['shoes/trail', undefined], ['bags', undefined]], 'only the categories, and no search without one');
      assert.ok(searches.length === 2);
      const raw = Buffer.concat(s.collects().map((r) => r.body || Buffer.alloc(0))).toString('latin1');
      for (const word of ['secret', 'query', 'words', 'private', 'another']) assert.ok(!raw.includes(word), `"${word}" in a request body`);
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('page URLs are sent without query string or fragment', async () => {
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/url.html?email=a@b.c&token=xyz#frag`);
      await waitForWidget(page);
      await page.evaluate(async () => {
        const v = window.vitrina;
        v.like('PAGE-SHOE');
        // A single-page app moving to a route with a query, and one passing location.href itself.
        history.pushState({}, '', '/shop/spa/next?email=a%40b.c&token=xyz2#frag2');
        await new Promise((r) => setTimeout(r, 50));
        v.page(location.href);
        v.page('/shop/explicit?email=a@b.c&token=xyz3#frag3');
        v.view({ item: 'URL-V1', name: 'With a link', url: location.href });
        await v.flush();
      });
      await pagehide(page);
      const pages = await waitFor(async () => {
        const evs = (await eventsOf(SITES.url)).filter((e) => e.kind === 'page');
        return evs.length >= 4 && evs;
      }, { timeout: 8000, message: 'four page views at the server' });
      await sleep(500);
      const all = await eventsOf(SITES.url);
      console.log(`page URLs stored:\n${eventsTable(all)}`);
      assert.ok(pages.some((e) => e.url === '/shop/url.html'), `the first page view: ${pages.map((e) => e.url)}`);
      assert.ok(pages.some((e) => e.url === '/shop/spa/next'), `the SPA route: ${pages.map((e) => e.url)}`);
      for (const e of all) {
        const text = JSON.stringify(e);
        for (const bad of ['email', 'token', 'xyz', 'frag', 'a@b.c', '?', '#']) assert.ok(!(e.url || '').includes(bad), `stored ${e.kind} url carries "${bad}": ${e.url}`);
        for (const bad of ['email', 'token', 'xyz', 'frag', 'a@b.c', 'a%40b.c']) assert.ok(!text.includes(bad), `stored ${e.kind} event carries "${bad}": ${text}`);
      }
      const bodies = s.collects().filter((r) => r.body);
      assert.ok(bodies.length > 0);
      for (const r of bodies) {
        const decoded = JSON.stringify(decode(new Uint8Array(r.body)));
        const raw = r.body.toString('latin1');
        for (const bad of ['email', 'token', 'xyz', 'frag', 'a@b.c', 'a%40b.c']) {
          assert.ok(!decoded.includes(bad), `a decoded request body carries "${bad}": ${decoded}`);
          assert.ok(!raw.includes(bad), `a raw request body carries "${bad}"`);
        }
      }
      await s.checkCookies('in the URL test');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });

  test('requests to the collector do not carry the page URL (query, fragment) in their headers', async () => {
    // Same-origin fetch and sendBeacon send a Referer with the full URL, query string included,
    // under the browser's default referrer policy.
    const s = await session();
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/url.html?email=a@b.c&token=xyz#frag`);
      await waitForWidget(page);
      await page.evaluate(() => window.vitrina.like('PAGE-SHOE') && window.vitrina.flush());
      await pagehide(page); // a beacon too
      await waitFor(() => s.collects().length >= 2, { timeout: 8000, message: 'a fetch and a beacon to the collector' });
      await Promise.all(s.pending);
      const leaks = s
        .collects()
        .flatMap((r) => Object.entries(r.headers || {}).filter(([, v]) => /email|token|xyz/.test(v)).map(([k, v]) => `${r.method} ${r.path} (${r.type}): ${k}: ${v}`));
      assert.deepEqual(leaks, [], 'the page URL with its query string reached the collector in a request header');
    } finally {
      await s.close();
    }
  });

  test('no fingerprinting inputs in events (user agent, screen size, languages, time zone)', async () => {
    const UA = 'Mozilla/5.0 (X11; Linux x86_64) VitrinaFingerprintProbe/9.9 Chrome/120.0.0.0 Safari/537.36';
    const s = await session({
      contextOptions: { userAgent: UA, locale: 'de-CH', timezoneId: 'Pacific/Chatham', viewport: { width: 1111, height: 777 }, screen: { width: 1234, height: 567 } },
    });
    const { page } = s;
    try {
      await page.goto(`${server.url}/shop/fp.html`);
      await waitForWidget(page);
      const env = await page.evaluate(() => ({
        ua: navigator.userAgent,
        languages: navigator.languages,
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
        screen: [screen.width, screen.height],
      }));
      assert.equal(env.ua, UA);
      assert.equal(env.tz, 'Pacific/Chatham');
      await browse(page, 'FP');
      await page.click('#add');
      await page.click('#like');
      await page.evaluate(() => window.vitrina.purchase({ order: 'O-FP-1', value: 20, currency: 'EUR', lines: [{ item: 'DOM-BAG', quantity: 1, price: 20 }] }));
      await pagehide(page);
      await waitFor(async () => (await eventsOf(SITES.fp)).some((e) => e.kind === 'purchase'), { timeout: 8000, message: 'events at the server' });
      await sleep(300);
      await Promise.all(s.pending);

      const needles = [
        'VitrinaFingerprintProbe', 'Mozilla/', 'HeadlessChrome', 'X11', 'Linux x86_64',
        ...env.languages.filter((l) => l.length >= 4), 'de-CH', 'Chatham', 'Pacific/', '+12:45', 'GMT+', 'UTC+',
        `${env.screen[0]}x${env.screen[1]}`, `${env.screen[0]}×${env.screen[1]}`, '1111x777', '1234,567', '1111,777',
      ];
      const BATCH_KEYS = ['client', 'dropped', 'events', 'session', 'site', 'version'];
      const EVENT_KEYS = new Set(['id', 'kind', 'ts', 'item', 'category', 'brand', 'price', 'currency', 'dwellMs', 'qty', 'url', 'slot', 'rec', 'order', 'lines', 'terms', 'name', 'props']);
      const strings = (x, out = []) => {
        if (typeof x === 'string') out.push(x);
        else if (Array.isArray(x)) x.forEach((y) => strings(y, out));
        else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) out.push(k), strings(v, out);
        return out;
      };
      // This test's bodies, and every body sent in the tests before it.
      assert.ok(s.collects().length > 0 && allBodies.length > 0);
      let n = 0;
      for (const body of allBodies) {
        const b = decode(new Uint8Array(body));
        n += b.events.length;
        assert.deepEqual(Object.keys(b).sort(), BATCH_KEYS, 'unexpected batch header fields');
        for (const e of b.events) {
          const extra = Object.keys(e).filter((k) => !EVENT_KEYS.has(k));
          assert.deepEqual(extra, [], `${e.kind}: unknown fields`);
          // A custom event's props are the shop's; none here but the LDP test's reports,
          // which carry exactly their five numbers.
          if (e.kind === 'custom' && e.name === 'ldp') {
            assert.deepEqual(Object.keys(e.props).sort(), ['b', 'e', 'g', 'k', 's']);
            assert.ok(Object.entries(e.props).every(([k, v]) => (k === 'k' ? ['like', 'unlike', 'view'].includes(v) : /^\d+$/.test(v))), JSON.stringify(e.props));
          } else assert.equal(e.props, undefined, `${e.kind}: props`);
          for (const str of strings(e)) for (const needle of needles) assert.ok(!str.toLowerCase().includes(needle.toLowerCase()), `${e.kind} ${e.item ?? ''}: "${str}" contains "${needle}"`);
          for (const [k, v] of Object.entries(e)) {
            if (typeof v !== 'number' || k === 'ts' || k === 'dwellMs') continue;
            assert.ok(![1234, 567, 1111, 777, 765, -765].includes(v), `${e.kind}: ${k} = ${v} looks like a screen size or a time zone offset`);
          }
        }
        const raw = Buffer.from(body).toString('latin1');
        for (const needle of ['VitrinaFingerprintProbe', 'HeadlessChrome', 'Mozilla/', 'Chatham', 'de-CH']) assert.ok(!raw.includes(needle), `a raw body contains "${needle}"`);
      }
      assert.ok(n > 0);
      console.log(`fingerprinting: ${allBodies.length} request bodies, ${n} events checked`);
      await s.checkCookies('in the fingerprinting test');
      assertNoPageErrors(page);
    } finally {
      await s.close();
    }
  });
});
