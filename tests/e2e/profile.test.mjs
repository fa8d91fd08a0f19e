// The profile across tabs and page lifecycles, in real Chromium against the real reference server:
// two tabs of one shop (one browser context) seeing each other's likes, carts and views within
// 100 ms; concurrent writes from two tabs losing nothing; SPA route changes counted once; the dwell
// time of a product page excluding hidden time. Fixture pages are written to a temp dir served as
// the server's --demo dir (/shop/*.html, next to /vitrina.js and /v1/collect).
// (Blocked, full and corrupt storage are covered by glue.test.mjs.)
//
//   node scripts/build.mjs && cargo build --release -p vitrina-server && node --test tests/e2e/profile.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertNoPageErrors, eventsTable, launchBrowser, startServer, storedEvents, waitFor, waitForWidget } from './harness.mjs';

const TOKEN = 'e2e-profile-token';
const SNIPPET = 'window.vitrina=window.vitrina||function(){(vitrina.q=vitrina.q||[]).push(arguments)};';
/** The cross-tab bound: what one tab does shows in the other within this many ms. */
const CROSS_TAB_MS = 100;

function pageHtml(title, body = '', attrs = '') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">
<script>${SNIPPET}</script>
<script async src="/vitrina.js" data-site="profile-test" data-endpoint="/v1/collect" ${attrs}></script>
</head><body><h1>${title}</h1>
${body}
</body></html>
`;
}

const PAGES = {
  // Two like buttons outside any product: the page itself is no product view.
  'tabs.html': pageHtml('tabs', `
<ul data-vitrina-list="picks">
  <li data-vitrina-item="L1">Trail Runner <button data-vitrina-like="L1" data-vitrina-likes="3"></button></li>
  <li data-vitrina-item="L2">Ridge <button data-vitrina-like="L2" data-vitrina-likes="0"></button></li>
</ul>`),
  'spa.html': pageHtml('spa', '<main id="app">home</main>'),
  'product.html': pageHtml('product', `
<article data-vitrina-item="DW-1" data-vitrina-name="Dwell Boot" data-vitrina-category="shoes/boots" data-vitrina-price="120.00" data-vitrina-currency="EUR">
  <h2>Dwell Boot</h2>
</article>`),
  'spa-product.html': pageHtml('spa product', '<main id="app">listing</main>'),
  'away.html': pageHtml('away', '<p>elsewhere</p>', 'data-auto-capture="false"'),
  'reader.html': pageHtml('reader', '', 'data-auto-capture="false"'),
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('the profile across tabs and page lifecycles', () => {
  let server;
  let browser;
  let dir;
  const contexts = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-profile-'));
    for (const [name, html] of Object.entries(PAGES)) fs.writeFileSync(path.join(dir, name), html);
    server = await startServer({ demo: dir, args: ['--admin-token', TOKEN] });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Collects what harness.assertNoPageErrors checks (like harness.newPage, for pages sharing a context). */
  function instrument(page) {
    page.consoleMessages = [];
    page.pageErrors = [];
    page.badResponses = [];
    page.on('console', (m) => page.consoleMessages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => page.pageErrors.push(e));
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && page.badResponses.push({ url: r.url(), status: r.status() }));
    return page;
  }

  /** A fresh browser context (own localStorage) with `n` tabs collecting errors, each at `url`. */
  async function tabs(n, url) {
    const context = await browser.newContext();
    contexts.push(context);
    const pages = [];
    for (let i = 0; i < n; i++) {
      const page = instrument(await context.newPage());
      if (url) {
        await page.goto(server.url + url);
        await waitForWidget(page);
      }
      pages.push(page);
    }
    return { context, pages };
  }

  /** Events of one client stored by the server, oldest first. */
  async function eventsOf(client) {
    return (await storedEvents(server, TOKEN, 10000)).filter((e) => e.client === client).sort((a, b) => a.ts - b.ts || a.id - b.id);
  }

  test(`two tabs: a like, a cart add and a view in tab A reach tab B's profile and like button within ${CROSS_TAB_MS} ms`, async () => {
    const { context, pages: [a, b] } = await tabs(2, '/shop/tabs.html');
    try {
      const vis = await Promise.all([a, b].map((p) => p.evaluate(() => document.visibilityState)));
      assert.deepEqual(vis, ['visible', 'visible'], 'both tabs are visible (no background timer throttling)');
      // Let both tabs finish their start-up writes.
      await sleep(300);
      const actions = [
        ['like', "vitrina.like({ item: 'L1', category: 'shoes/running' })", (p) => p.likes.some((l) => l.item === 'L1'), true],
        ['cart add', "vitrina.cartAdd({ item: 'C1', category: 'shoes/running', price: 89.9, quantity: 2 })", (p) => p.cart.some((l) => l.item === 'C1' && l.qty === 2), false],
        ['view', "vitrina.view({ item: 'V1', category: 'shoes/trail', name: 'Ridge' })", (p) => p.recent.some((r) => r.item === 'V1'), false],
      ];
      const delays = [];
      for (const [what, call, predSrc, button] of actions) {
        // In tab B: note the first moment the profile (and the like button) show it. A storage
        // listener registered after the widget's runs right after it; a 1 ms poll backs it up.
        await b.evaluate(({ pred, button }) => {
          const has = eval(`(${pred})`);
          window.__seen = { profile: null, button: null };
          const now = () => performance.timeOrigin + performance.now();
          const check = () => {
            if (window.__seen.profile == null && has(window.vitrina.profile())) window.__seen.profile = now();
            const btn = document.querySelector('[data-vitrina-like="L1"]');
            if (button && window.__seen.button == null && btn.getAttribute('aria-pressed') === 'true') window.__seen.button = now();
            if (window.__seen.profile != null && (!button || window.__seen.button != null)) stop();
          };
          const mo = new MutationObserver(check);
          mo.observe(document.body, { subtree: true, attributes: true, childList: true });
          addEventListener('storage', check);
          const poll = setInterval(check, 1);
          const stop = () => {
            clearInterval(poll);
            mo.disconnect();
            removeEventListener('storage', check);
          };
          window.__stop = stop;
        }, { pred: predSrc.toString(), button });
        const t0 = await a.evaluate((call) => {
          const t = performance.timeOrigin + performance.now();
          const ok = eval(call);
          if (ok !== true) throw new Error(`${call} returned ${ok}`);
          return t;
        }, call);
        let seen;
        try {
          seen = await waitFor(() => b.evaluate(() => window.__seen.profile != null && window.__seen), { timeout: 3000, interval: 20, message: `the ${what} in tab B` });
          if (button) seen = await waitFor(() => b.evaluate(() => window.__seen.button != null && window.__seen), { timeout: 3000, interval: 20, message: `tab B's like button pressed` });
        } finally {
          await b.evaluate(() => window.__stop());
        }
        const d = { what, profileMs: Math.round((seen.profile - t0) * 10) / 10 };
        if (button) d.buttonMs = Math.round((seen.button - t0) * 10) / 10;
        delays.push(d);
      }
      console.log(`cross-tab delays (tab A call -> tab B): ${JSON.stringify(delays)}`);
      for (const d of delays) {
        assert.ok(d.profileMs <= CROSS_TAB_MS, `the ${d.what} reached tab B's profile after ${d.profileMs} ms (bound ${CROSS_TAB_MS} ms)`);
        if (d.buttonMs != null) assert.ok(d.buttonMs <= CROSS_TAB_MS, `tab B's like button showed the like after ${d.buttonMs} ms (bound ${CROSS_TAB_MS} ms)`);
      }
      // The rendered buttons of tab B: L1 pressed (its state is aria-pressed), L2 untouched.
      const pressed = await b.evaluate(() => ['L1', 'L2'].map((i) => document.querySelector(`[data-vitrina-like="${i}"]`).getAttribute('aria-pressed')));
      assert.deepEqual(pressed, ['true', 'false']);
      for (const p of [a, b]) assertNoPageErrors(p);
    } finally {
      await context.close();
    }
  });

  // Fails today, most rounds: see the report in the assertion. Several rounds, each in a fresh
  // context, because whether two tabs' writes cross depends on timing.
  test('concurrent writes from two tabs lose nothing: both profiles and the stored one hold all ten views', async () => {
    const ROUNDS = 5;
    const want = ['A1', 'A2', 'A3', 'A4', 'A5', 'B1', 'B2', 'B3', 'B4', 'B5'];
    const missing = (got) => want.filter((x) => !got.includes(x));
    const problems = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const { context, pages: [a, b] } = await tabs(2, '/shop/tabs.html');
      try {
        await sleep(300);
        const burst = (page, prefix) =>
          page.evaluate(async (prefix) => {
            for (let i = 1; i <= 5; i++) {
              window.vitrina.view({ item: `${prefix}${i}`, category: 'cat/x', name: `Item ${prefix}${i}` });
              await new Promise((r) => setTimeout(r, 3));
            }
          }, prefix);
        await Promise.all([burst(a, 'A'), burst(b, 'B')]);
        const recentOf = (page) => page.evaluate(() => window.vitrina.profile().recent.map((r) => r.item).sort());
        // Give the storage events time to cross (well over the 100 ms bound).
        let last = {};
        await waitFor(async () => {
          last = { a: await recentOf(a), b: await recentOf(b) };
          return missing(last.a).length === 0 && missing(last.b).length === 0;
        }, { timeout: 1000, interval: 50 }).catch(() => {});
        last = { a: await recentOf(a), b: await recentOf(b) };
        // The stored profile: what a new tab of the same shop loads.
        const reader = instrument(await context.newPage());
        await reader.goto(server.url + '/shop/reader.html');
        await waitForWidget(reader);
        last.stored = await recentOf(reader);
        const lost = Object.entries(last).map(([k, v]) => [k, missing(v)]).filter(([, m]) => m.length);
        console.log(`round ${round}: recently viewed: tab A ${last.a.join(' ')}; tab B ${last.b.join(' ')}; stored ${last.stored.join(' ')}`);
        if (lost.length) problems.push(`round ${round}: missing ${lost.map(([k, m]) => `from ${k === 'stored' ? 'the stored profile' : `tab ${k.toUpperCase()}`}: ${m.join(' ')}`).join('; ')}`);
        for (const p of [a, b, reader]) assertNoPageErrors(p);
      } finally {
        await context.close();
      }
    }
    assert.deepEqual(problems, [], `views lost in ${problems.length} of ${ROUNDS} rounds`);
  });

  test('SPA navigation: pushState then replaceState of one route is one page view, a hash change none, popstate one', async () => {
    const { context, pages: [page] } = await tabs(1, '/shop/spa.html');
    try {
      const client = await page.evaluate(() => window.vitrina.status().client);
      // Like routers do: push the new route, then replace it with itself (scroll state, title...).
      await page.evaluate(() => {
        history.pushState({ r: 1 }, '', '/shop/spa/one');
        document.getElementById('app').textContent = 'one';
        history.replaceState({ r: 1, scroll: 0 }, '', '/shop/spa/one');
      });
      await sleep(100);
      // Hash-only changes: a fragment navigation (fires popstate and hashchange) and a pushed hash.
      await page.evaluate(() => {
        location.hash = '#reviews';
      });
      await sleep(50);
      await page.evaluate(() => history.pushState({ r: 2 }, '', '#specs'));
      await sleep(100);
      // Back three times: to /shop/spa/one#reviews and to /shop/spa/one (hash only), then home.
      const back = async () => {
        await page.evaluate(() => new Promise((r) => {
          addEventListener('popstate', () => r(), { once: true });
          history.back();
        }));
        await sleep(100);
      };
      await back();
      await back();
      assert.equal(new URL(page.url()).pathname, '/shop/spa/one');
      await back();
      assert.equal(new URL(page.url()).pathname, '/shop/spa.html');
      await page.evaluate(() => window.vitrina.flush());
      const want = ['/shop/spa.html', '/shop/spa/one', '/shop/spa.html'];
      let pages = [];
      try {
        await waitFor(async () => {
          pages = (await eventsOf(client)).filter((e) => e.kind === 'page').map((e) => e.url);
          return pages.length >= want.length;
        }, { timeout: 15000, interval: 200, message: `${want.length} page events at the server` });
      } catch (e) {
        // The exact comparison below says what is missing.
      }
      await sleep(500); // anything extra would have arrived with the same batches
      const events = await eventsOf(client);
      pages = events.filter((e) => e.kind === 'page').map((e) => e.url);
      console.log(`SPA events at the server:\n${eventsTable(events)}`);
      assert.deepEqual(pages, want, 'page events at the server (url paths in order)');
      assertNoPageErrors(page);
    } finally {
      await context.close();
    }
  });

  test('dwell: ~1.5 s visible on a product page, then navigating away, stores a view with dwell_ms 1000..3000', async () => {
    const { context, pages: [page] } = await tabs(1);
    try {
      await page.goto(server.url + '/shop/product.html');
      await waitForWidget(page);
      const client = await page.evaluate(() => window.vitrina.status().client);
      await sleep(1500);
      await page.goto(server.url + '/shop/away.html');
      await waitForWidget(page);
      const views = await waitFor(async () => {
        const v = (await eventsOf(client)).filter((e) => e.kind === 'view' && e.item === 'DW-1');
        return v.length > 0 && v;
      }, { timeout: 15000, interval: 200, message: 'the view of DW-1 at the server' });
      await sleep(300);
      const all = (await eventsOf(client)).filter((e) => e.kind === 'view' && e.item === 'DW-1');
      console.log(`views of DW-1: ${JSON.stringify(all.map(({ dwell_ms, category, price }) => ({ dwell_ms, category, price })))}`);
      assert.equal(all.length, 1, 'one view event for one product page view');
      assert.ok(views[0].dwell_ms >= 1000 && views[0].dwell_ms <= 3000, `dwell_ms ${views[0].dwell_ms}, want 1000..3000`);
      assert.equal(views[0].category, 'shoes/boots');
      assertNoPageErrors(page);
    } finally {
      await context.close();
    }
  });

  // The product view starts at a known moment: an SPA route change (pushState) to a product
  // rendered by the page, so every stretch is timed in the page itself.
  describe('dwell with the page hidden in between (visible 1.0 s, hidden 2.5 s, visible 0.8 s, leave)', () => {
    const VISIBLE_1 = 1000;
    const HIDDEN = 2500;
    const VISIBLE_2 = 800;
    let reported = null; // dwell_ms of every view event of DW-2 stored by the server
    let visible = 0; // visible time on the product route, measured in the page
    let failure = null;

    before(async () => {
      const { context, pages: [page] } = await tabs(1, '/shop/spa-product.html');
      try {
        const client = await page.evaluate(() => window.vitrina.status().client);
        const setVisibility = (state) =>
          page.evaluate((state) => {
            Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
            Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
            document.dispatchEvent(new Event('visibilitychange'));
            return performance.now();
          }, state);
        const t0 = await page.evaluate(() => {
          document.getElementById('app').innerHTML =
            '<article data-vitrina-item="DW-2" data-vitrina-name="Hidden Boot" data-vitrina-category="shoes/boots" data-vitrina-price="99.00"><h2>Hidden Boot</h2></article>';
          history.pushState({}, '', '/shop/boots/DW-2');
          return performance.now();
        });
        await waitFor(() => page.evaluate(() => window.vitrina.profile().recent.some((r) => r.item === 'DW-2')),
          { timeout: 2000, interval: 10, message: 'the product view to start' });
        await sleep(VISIBLE_1);
        const hide = await setVisibility('hidden');
        await sleep(HIDDEN);
        const show = await setVisibility('visible');
        await sleep(VISIBLE_2);
        const gone = await page.evaluate(() => performance.now());
        visible = Math.round(hide - t0 + (gone - show));
        await page.goto(server.url + '/shop/away.html');
        await waitForWidget(page);
        await waitFor(async () => (await eventsOf(client)).some((e) => e.kind === 'view' && e.item === 'DW-2'),
          { timeout: 15000, interval: 200, message: 'a view of DW-2 at the server' });
        await sleep(2500); // a later report, if any, is delivered with the next batch
        await page.evaluate(() => window.vitrina.flush());
        await sleep(2500);
        const views = (await eventsOf(client)).filter((e) => e.kind === 'view' && e.item === 'DW-2');
        reported = views.map((e) => e.dwell_ms ?? 0);
        console.log(`views of DW-2 at the server (dwell_ms): ${JSON.stringify(reported)}; visible ${visible} ms in all ` +
          `(${Math.round(hide - t0)} + ${Math.round(gone - show)}), hidden ${Math.round(show - hide)} ms`);
        assertNoPageErrors(page);
      } catch (e) {
        failure = e;
      } finally {
        await context.close();
      }
    });

    test('hidden time is not counted', () => {
      if (failure) throw failure;
      const total = reported.reduce((a, b) => a + b, 0);
      assert.ok(reported.length >= 1, 'no view of DW-2 stored');
      assert.ok(total <= visible + 300, `dwell ${total} ms (${JSON.stringify(reported)}) includes hidden time: visible ${visible} ms, hidden ${HIDDEN} ms`);
    });

    test('visible time after returning to the page is counted too', () => {
      if (failure) throw failure;
      const total = reported.reduce((a, b) => a + b, 0);
      // api.js means to resume the timer when the page is visible again (its visibilitychange
      // handler sets view.since), but leave() on hide has already ended the view (endView sets
      // view = null), so the time after returning is never reported.
      assert.ok(total >= visible - 300,
        `reported dwell ${total} ms (${JSON.stringify(reported)}) leaves out visible time: ${visible} ms visible in all, ` +
        `${VISIBLE_2} ms of it after returning to the page`);
    });
  });

  // Found while benchmarking track() (bench/track.mjs): after a batch is acknowledged, the next one
  // waits 1.5-2.5 s, because pump() asks for the Web Lock `vitrina:send` (ifAvailable) again before
  // the lock of the send that just finished is released (www/src/api.js pump / withSendLock).
  test('a backlog of batches is delivered back to back, not one batch every ~2 s', async () => {
    const { context, pages: [page] } = await tabs(1, '/shop/reader.html');
    try {
      await sleep(1500); // the start-up page event, if any, is out of the way
      // The first request's answer is held until more events wait behind it, so a
      // backlog exists whatever the machine's speed (without the hold, a busy
      // machine may seal every burst into the first batch).
      let hold;
      const held = new Promise((r) => (hold = r));
      let first = true;
      let seenFirst = false;
      await page.route(/\/v1\/collect$/, async (route) => {
        if (first) {
          first = false;
          seenFirst = true;
          await held;
        }
        await route.continue();
      });
      const stamps = [];
      page.on('request', (r) => r.url().endsWith('/v1/collect') && stamps.push({ t: Date.now(), what: 'request' }));
      page.on('response', (r) => r.url().endsWith('/v1/collect') && stamps.push({ t: Date.now(), what: `response ${r.status()}` }));
      const burst = (b) =>
        page.evaluate((b) => {
          for (let i = 0; i < 25; i++) window.vitrina.like({ item: `Q${b}-${i}` });
        }, b);
      await burst(0);
      await waitFor(() => seenFirst, { timeout: 10000, interval: 20, message: 'the first batch was posted' });
      for (let b = 1; b < 4; b++) await burst(b);
      const queued = await page.evaluate(() => window.vitrina.status());
      hold();
      await waitFor(() => page.evaluate(() => { const s = window.vitrina.status(); return s.outbox === 0 && !s.inflight; }),
        { timeout: 20000, interval: 50, message: 'the outbox drained' });
      const t0 = stamps[0].t;
      const log = stamps.map((s) => `+${s.t - t0} ms ${s.what}`).join(', ');
      const requests = stamps.filter((s) => s.what === 'request').length;
      const firstAnswer = stamps.findIndex((s) => s.what.startsWith('response'));
      const next = stamps.findIndex((s, i) => i > firstAnswer && s.what === 'request');
      console.log(`delivery of 100 events in bursts (${JSON.stringify(queued)} while the first was held): ${requests} requests: ${log}`);
      assert.ok(queued.inflight, `the first batch should be in flight while the others were queued: ${JSON.stringify(queued)}`);
      assert.ok(firstAnswer >= 0 && next > firstAnswer, `expected a second batch after the first answer, got ${log}`);
      const gap = stamps[next].t - stamps[firstAnswer].t;
      assert.ok(gap < 1000, `the next batch left ${gap} ms after the first was acknowledged (${log}); it should leave at once`);
    } finally {
      await context.close();
    }
  });
});
