// The script-tag install (www/src/loader.js -> www/dist/vitrina.js) on small fixture pages:
// the call queue of the two-line snippet, non-blocking loading, bad configs and invalid events.
// Fixture pages are written to a temp dir and served either by the real reference server
// (as its --demo dir, so they live at /shop/*.html next to /vitrina.js and /v1/collect) or,
// for the slow-script test, by harness.serveStatic with a stand-in /vitrina.js route.
//
//   npm run build && cargo build --release -p vitrina-server && node --test tests/e2e/script-tag.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DIST, assertNoPageErrors, copyWidget, eventsTable, launchBrowser, newPage, serveStatic, startServer, storedEvents,
  vitrinaWarnings, waitFor, waitForWidget,
} from './harness.mjs';

const TOKEN = 'e2e-script-tag-token';
const SNIPPET = 'window.vitrina=window.vitrina||function(){(vitrina.q=vitrina.q||[]).push(arguments)};';

/** A minimal page: the snippet, `head` (inline code run before the tag), the script tag, a body. */
function pageHtml({ title, tag, head = '', body = '' }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
<script>${SNIPPET}</script>
${head ? `<script>${head}</script>` : ''}
${tag}
</head>
<body>
<h1 id="title">${title}</h1>
${body}
</body>
</html>
`;
}

const FIXTURES = {
  // Three calls queued by the snippet before vitrina.js is even in the document.
  'queue.html': pageHtml({
    title: 'queue',
    head: `
vitrina('track', 'cart-add', { item: 'A', price: 10 });
vitrina('track', 'purchase', { order: 'O-1', value: 10, currency: 'EUR', lines: [{ item: 'A', quantity: 1, price: 10 }] });
vitrina('track', 'custom', { event: 'newsletter-signup', props: { plan: 'pro' } });`,
    tag: '<script async src="/vitrina.js" data-site="queue-test" data-endpoint="/v1/collect" data-auto-capture="false"></script>',
  }),
  'no-site.html': pageHtml({
    title: 'no site',
    head: "vitrina('track', 'cart-add', { item: 'A', price: 10 });",
    tag: '<script async src="/vitrina.js" data-endpoint="/v1/collect"></script>',
  }),
  'bad-site.html': pageHtml({
    title: 'bad site',
    head: "vitrina('track', 'cart-add', { item: 'A', price: 10 });",
    tag: '<script async src="/vitrina.js" data-site="bad site!" data-endpoint="/v1/collect"></script>',
  }),
  'bad-endpoint.html': pageHtml({
    title: 'bad endpoint',
    head: "vitrina('track', 'cart-add', { item: 'A', price: 10 });",
    tag: '<script async src="/vitrina.js" data-site="bad-endpoint-test" data-endpoint="javascript:alert(1)"></script>',
  }),
  'invalid.html': pageHtml({
    title: 'invalid events',
    tag: '<script async src="/vitrina.js" data-site="invalid-test" data-endpoint="/v1/collect" data-auto-capture="false"></script>',
  }),
  'invalid-debug.html': pageHtml({
    title: 'invalid events (debug)',
    tag: '<script async src="/vitrina.js" data-site="invalid-debug-test" data-endpoint="/v1/collect" data-auto-capture="false" data-debug></script>',
  }),
  // The wasm build each config loads: the default one, or the full one for JSON batches or LDP.
  'wasm-default.html': pageHtml({
    title: 'default wasm',
    tag: '<script async src="/vitrina.js" data-site="wasm-default" data-endpoint="/v1/collect" data-auto-capture="false"></script>',
  }),
  'wasm-json.html': pageHtml({
    title: 'JSON batches',
    tag: '<script async src="/vitrina.js" data-site="wasm-json" data-endpoint="/v1/collect" data-auto-capture="false" data-format="json"></script>',
  }),
  'wasm-ldp.html': pageHtml({
    title: 'LDP',
    tag: '<script async src="/vitrina.js" data-site="wasm-ldp" data-endpoint="/v1/collect" data-auto-capture="false" data-ldp-epsilon="2"></script>',
  }),
  'stall.html': pageHtml({
    title: 'send fails synchronously',
    tag: '<script async src="/vitrina.js" data-site="stall-test" data-endpoint="/v1/collect" data-auto-capture="false"></script>',
  }),
};

// A page whose /vitrina.js takes SLOW_MS to arrive (served by serveStatic with a delaying route).
const SLOW_MS = 2000;
const SLOW_PAGE = pageHtml({
  title: 'slow script',
  head: `
window.__marks = {};
document.addEventListener('DOMContentLoaded', function () {
  window.__marks.dcl = performance.now();
  window.__marks.loadedAtDcl = !!(window.vitrina && window.vitrina.ready);
  // Queued after DOMContentLoaded, still before the script arrives: must be replayed too.
  vitrina('track', 'cart-add', { item: 'AFTER-DCL', price: 1 });
});`,
  tag: '<script async src="/vitrina.js" data-site="slow-test"></script>',
  body: '<p id="content">The page renders while the widget is still on its way.</p>',
});

const sortBySeq = (evs) => evs.slice().sort((a, b) => a.id_hex.localeCompare(b.id_hex));

describe('script tag', () => {
  let server;
  let browser;
  let dir;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-pages-'));
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

  test('calls queued by the snippet before the script loads are replayed in order', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${server.url}/shop/queue.html`);
      await waitForWidget(page);
      // After loading, both the function form and the methods work.
      const after = await page.evaluate(() => ({
        fn: window.vitrina('track', 'like', { item: 'B' }),
        method: typeof window.vitrina.track === 'function',
      }));
      assert.deepEqual(after, { fn: true, method: true });

      const p = await page.evaluate(() => window.vitrina.profile());
      assert.deepEqual(p.purchases.map((x) => x.item), ['A'], `profile purchases: ${JSON.stringify(p.purchases)}`);
      assert.deepEqual(p.likes.map((x) => x.item), ['B']);

      await page.evaluate(() => window.vitrina.flush());
      const events = await waitFor(async () => {
        const evs = await eventsOf('queue-test');
        return evs.length >= 4 && evs;
      }, { timeout: 10000, interval: 200, message: '4 events of site queue-test on the server' });
      await new Promise((r) => setTimeout(r, 300));
      const final = sortBySeq(await eventsOf('queue-test'));
      console.log(`stored events of queue-test:\n${eventsTable(final)}`);
      assert.equal(final.length, events.length, 'no late duplicates');
      // One page (one nonce), seq 1..4 in call order.
      assert.deepEqual(final.map((e) => e.kind), ['cart-add', 'purchase', 'custom', 'like']);
      assert.equal(new Set(final.map((e) => e.id_hex.slice(0, 8))).size, 1, 'one page nonce');
      assert.deepEqual(final.map((e) => parseInt(e.id_hex.slice(8), 16)), [1, 2, 3, 4], 'sequence numbers in call order');
      const [cart, purchase, custom] = final;
      assert.equal(cart.item, 'A');
      assert.equal(cart.price, 1000);
      assert.equal(purchase.order, 'O-1');
      assert.equal(purchase.price, 1000);
      assert.equal(purchase.currency, 'EUR');
      assert.deepEqual(purchase.lines, [{ item: 'A', qty: 1, price: 1000 }]);
      assert.equal(custom.name, 'newsletter-signup');
      assert.deepEqual(custom.props, { plan: 'pro' });
      assert.deepEqual(vitrinaWarnings(page), []);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  // The opt-in features (JSON batches, LDP) are in a larger build of the wasm
  // (Cargo.toml [features]): a page loads it only when its config asks for one.
  for (const [file, site, want] of [
    ['wasm-default.html', 'wasm-default', 'vitrina_core_bg.wasm'],
    ['wasm-json.html', 'wasm-json', 'vitrina_core_full_bg.wasm'],
    ['wasm-ldp.html', 'wasm-ldp', 'vitrina_core_full_bg.wasm'],
  ]) {
    test(`${file}: loads ${want} only, and its batches are what the config asks for`, async () => {
      const page = await newPage(browser);
      try {
        const bodies = [];
        const wasmUrls = [];
        page.on('request', (r) => {
          if (r.url().endsWith('/v1/collect')) bodies.push(r.postDataBuffer());
          if (new URL(r.url()).pathname.endsWith('.wasm')) wasmUrls.push(new URL(r.url()).pathname);
        });
        await page.goto(`${server.url}/shop/${file}`);
        await waitForWidget(page);
        assert.deepEqual(wasmUrls, [`/${want}`], 'the wasm files fetched');
        await page.evaluate(() => { window.vitrina.like({ item: 'W-1' }); window.vitrina.cartAdd({ item: 'W-2', price: 5 }); return window.vitrina.flush(); });
        const evs = await waitFor(async () => { const e = await eventsOf(site); return e.length >= 2 && e; }, { message: `2 events of ${site} on the server` });
        await waitFor(() => bodies.length >= 1, { message: 'a batch request' });
        const json = bodies[0][0] === 0x7b; // '{'
        assert.equal(json, site === 'wasm-json', `batch format: first byte ${bodies[0][0]}`);
        const kinds = evs.map((e) => (e.kind === 'custom' ? e.name : e.kind)).sort();
        // With LDP, the like leaves only as a randomized report (src/ldp.rs).
        assert.deepEqual(kinds, site === 'wasm-ldp' ? ['cart-add', 'ldp'] : ['cart-add', 'like'], JSON.stringify(evs));
        assert.deepEqual(vitrinaWarnings(page), []);
        assertNoPageErrors(page);
      } finally {
        await page.close();
      }
    });
  }

  test('status() has the shape of the Status type of www/npm/index.d.ts', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${server.url}/shop/invalid.html`);
      await waitForWidget(page);
      const st = await page.evaluate(() => window.vitrina.status());
      assert.deepEqual(Object.fromEntries(Object.entries(st).map(([k, v]) => [k, typeof v])), {
        client: 'string', outbox: 'number', inflight: 'boolean', dropped: 'number', persistent: 'boolean', sending: 'boolean', consent: 'string', lang: 'string',
      }, `status(): ${JSON.stringify(st)}`);
      assert.match(st.client, /^[0-9a-f]{32}$/);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  test(`the async script does not block rendering (vitrina.js delayed ${SLOW_MS} ms)`, async () => {
    const sdir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-slow-'));
    copyWidget(sdir);
    fs.writeFileSync(path.join(sdir, 'slow.html'), SLOW_PAGE);
    let servedAt = 0;
    const stat = await serveStatic(sdir, {
      routes: {
        '/vitrina.js': (req, res) => setTimeout(() => {
          servedAt = Date.now();
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
          res.end(fs.readFileSync(path.join(DIST, 'vitrina.js')));
        }, SLOW_MS),
      },
    });
    const page = await newPage(browser);
    try {
      const t0 = Date.now();
      await page.goto(`${stat.url}/slow.html`, { waitUntil: 'domcontentloaded', timeout: SLOW_MS + 5000 });
      const dclMs = Date.now() - t0;
      assert.ok(dclMs < SLOW_MS - 500, `DOMContentLoaded came after ${dclMs} ms, the script is delayed by ${SLOW_MS} ms`);
      assert.equal(servedAt, 0, 'vitrina.js was already served at DOMContentLoaded');
      assert.equal(await page.textContent('#content'), 'The page renders while the widget is still on its way.');
      const atDcl = await page.evaluate(() => ({ marks: window.__marks, queued: (window.vitrina.q || []).length }));
      assert.equal(atDcl.marks.loadedAtDcl, false, 'the widget was already loaded at DOMContentLoaded');
      assert.ok(atDcl.queued >= 1, 'the call made at DOMContentLoaded waits in the queue');
      // Something is painted before the script arrives (compared with the resource timing below).
      await waitFor(() => page.evaluate(() => performance.getEntriesByName('first-contentful-paint').length > 0),
        { timeout: SLOW_MS + 5000, interval: 50, message: 'a first-contentful-paint entry' });

      await waitForWidget(page, SLOW_MS + 8000);
      const timing = await page.evaluate(() => {
        const r = performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname === '/vitrina.js');
        return { scriptEnd: r && r.responseEnd, fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime, dcl: window.__marks.dcl };
      });
      assert.ok(timing.fcp < timing.scriptEnd, `first paint ${timing.fcp} ms, script arrived ${timing.scriptEnd} ms`);
      assert.ok(timing.dcl < timing.scriptEnd, `DOMContentLoaded ${timing.dcl} ms, script arrived ${timing.scriptEnd} ms`);
      const p = await page.evaluate(() => window.vitrina.profile());
      assert.deepEqual(p.cart.map((l) => l.item), ['AFTER-DCL'], 'the call queued at DOMContentLoaded was replayed');
      assert.deepEqual(vitrinaWarnings(page), []);
      assertNoPageErrors(page);
    } finally {
      await page.close();
      await stat.close();
      fs.rmSync(sdir, { recursive: true, force: true });
    }
  });

  for (const [file, site, why] of [
    ['no-site.html', null, /data-site/],
    ['bad-site.html', 'bad site!', /data-site/],
    ['bad-endpoint.html', 'bad-endpoint-test', /endpoint/],
  ]) {
    /** Opens the page and waits until the queue function was replaced (here: by the disabled widget). */
    async function openDisabled() {
      const page = await newPage(browser);
      page.requested = [];
      page.on('request', (req) => page.requested.push(`${req.method()} ${new URL(req.url()).pathname}`));
      await page.goto(`${server.url}/shop/${file}`);
      await page.waitForFunction(() => window.vitrina && 'ready' in window.vitrina, null, { timeout: 10000 });
      return page;
    }
    /** Runs each call in the page; returns { results: [[name, JSON of the value]], threw: [name: message] }. */
    function callAll(page, which) {
      return page.evaluate((which) => {
        const v = window.vitrina;
        const calls = which === 'function' ? {
          track: () => v('track', 'cart-add', { item: 'B', price: 1 }),
          flush: () => v('flush'),
          profile: () => v('profile'),
          status: () => v('status'),
        } : {
          track: () => v.track('like', { item: 'B' }),
          view: () => v.view('B'),
          cartAdd: () => v.cartAdd('B'),
          cartRemove: () => v.cartRemove('B'),
          purchase: () => v.purchase({ order: 'O-9', value: 1, lines: [{ item: 'B', quantity: 1, price: 1 }] }),
          like: () => v.like('B'),
          unlike: () => v.unlike('B'),
          share: () => v.share('B'),
          search: () => v.search('boots'),
          page: () => v.page('/x'),
          flush: () => v.flush(),
          profile: () => v.profile(),
          status: () => v.status(),
          refresh: () => v.refresh(),
          erase: () => v.erase(),
          consent: () => v.consent('granted'),
          recommend: () => v.recommend('for-you'),
          openPanel: () => v.openPanel(),
        };
        const out = { ready: v.ready, results: [], threw: [] };
        for (const [k, f] of Object.entries(calls)) {
          try {
            const r = f();
            out.results.push([k, r === undefined ? 'undefined' : r instanceof Promise ? 'Promise' : JSON.stringify(r)]);
          } catch (e) {
            out.threw.push(`${k}: ${e && e.message}`);
          }
        }
        return out;
      }, which);
    }

    test(`bad config (${file}): exactly one [vitrina] warning; vitrina(...) calls do nothing and throw nothing`, async () => {
      const page = await openDisabled();
      try {
        const r = await callAll(page, 'function');
        await page.evaluate(() => new Promise((res) => setTimeout(res, 300)));
        const warnings = page.consoleMessages.filter((m) => m.type === 'warning').map((m) => m.text);
        assert.equal(warnings.length, 1, `exactly one console warning, got ${warnings.length}:\n  ${warnings.join('\n  ')}`);
        assert.ok(warnings[0].startsWith('[vitrina] '), warnings[0]);
        assert.match(warnings[0], why);
        assert.equal(r.ready, false);
        assert.deepEqual(r.threw, [], 'vitrina(...) threw into the page');
        const track = r.results.find(([k]) => k === 'track')[1];
        assert.ok(track === 'false' || track === 'undefined', `vitrina('track', ...) returned ${track}`);
        assertNoPageErrors(page);
        // Nothing was sent, nothing was stored.
        assert.deepEqual(page.requested.filter((x) => x.includes('/v1/')), [], 'requests to the server API');
        if (site) assert.deepEqual(await eventsOf(site), [], 'events were stored for a page with a bad config');
        // A config the loader can check itself does not even fetch the module.
        if (why.source === 'data-site') {
          assert.deepEqual(page.requested.filter((x) => /vitrina-core|\.wasm/.test(x)), [], 'module fetched despite a bad data-site');
        }
      } finally {
        await page.close();
      }
    });

    test(`bad config (${file}): the disabled widget's methods (vitrina.track(), .flush(), ...) are no-ops, not TypeErrors`, async () => {
      const page = await openDisabled();
      try {
        const r = await callAll(page, 'methods');
        assert.deepEqual(r.threw, [], 'methods of the disabled widget threw into the page');
        // The return types of www/npm/index.d.ts (interface Vitrina: "No method ever throws").
        assert.deepEqual(Object.fromEntries(r.results), {
          track: 'false', view: 'false', cartAdd: 'false', cartRemove: 'false', purchase: 'false', like: 'false',
          unlike: 'false', share: 'false', search: 'false', page: 'false',
          flush: 'Promise', profile: 'null', status: 'null', refresh: 'undefined', erase: 'undefined',
          consent: 'false', recommend: '[]', openPanel: 'Promise',
        });
        assertNoPageErrors(page);
      } finally {
        await page.close();
      }
    });
  }
  for (const debug of [false, true]) {
    test(`invalid events through the API return false, throw nothing, are not kept or sent${debug ? ' (data-debug: warnings)' : ''}`, async () => {
      const site = debug ? 'invalid-debug-test' : 'invalid-test';
      const page = await newPage(browser);
      const messages = []; // requests for the developer messages (messages.js)
      page.on('request', (req) => /\/messages\.js$/.test(new URL(req.url()).pathname) && messages.push(req.url()));
      try {
        await page.goto(`${server.url}/shop/${debug ? 'invalid-debug.html' : 'invalid.html'}`);
        await waitForWidget(page);
        const r = await page.evaluate(() => {
          const v = window.vitrina;
          const cases = {
            'view, empty item': () => v.track('view', { item: '' }),
            'view() helper, empty item': () => v.view(''),
            'cart-add, price -1': () => v.track('cart-add', { item: 'OK-1', price: -1 }),
            'cart-add, price "-1"': () => v.track('cart-add', { item: 'OK-1', price: '-1' }),
            'cartAdd() helper, price -1': () => v.cartAdd({ item: 'OK-1', price: -1 }),
            'view, 10,000-character item': () => v.track('view', { item: 'x'.repeat(10000) }),
            'view, NUL in item': () => v.track('view', { item: 'A\u0000B' }),
            'like, newline in item': () => v.track('like', { item: 'A\nB' }),
            'cart-add, DEL in item': () => v.track('cart-add', { item: 'A\u007fB', price: 1 }),
            'view, C1 control in item': () => v.track('view', { item: 'A\u0085B' }),
            'function form, empty item': () => v('track', 'view', { item: '' }),
          };
          const out = {};
          for (const [k, f] of Object.entries(cases)) {
            try {
              out[k] = f();
            } catch (e) {
              out[k] = `threw ${e && e.message}`;
            }
          }
          out.sentinel = v.track('like', { item: 'SENTINEL' });
          v.flush();
          return out;
        });
        const { sentinel, ...invalid } = r;
        assert.equal(sentinel, true, 'a valid event right after is accepted');
        for (const [k, ret] of Object.entries(invalid)) assert.equal(ret, false, `${k}: returned ${JSON.stringify(ret)}`);

        const p = await page.evaluate(() => window.vitrina.profile());
        assert.deepEqual(p.recent, [], 'invalid views reached the profile');
        assert.deepEqual(p.cart, [], 'invalid cart-adds reached the profile');
        assert.deepEqual(p.likes.map((l) => l.item), ['SENTINEL']);

        await waitFor(async () => (await eventsOf(site)).some((e) => e.item === 'SENTINEL'),
          { timeout: 10000, interval: 200, message: 'the sentinel event on the server' });
        await new Promise((res) => setTimeout(res, 300));
        const stored = await eventsOf(site);
        assert.deepEqual(stored.map((e) => [e.kind, e.item]), [['like', 'SENTINEL']], `stored:\n${eventsTable(stored)}`);

        const warnings = vitrinaWarnings(page);
        const all = page.consoleMessages.filter((m) => m.type === 'warning');
        assert.equal(all.length, warnings.length, 'every warning starts with [vitrina]');
        if (debug) {
          // A warning for each kind of problem (identical messages may be shown once), naming the
          // event kind and the field.
          const list = `warnings:\n  ${warnings.join('\n  ')}`;
          assert.ok(warnings.length >= 4 && warnings.length <= Object.keys(invalid).length, list);
          assert.ok(warnings.every((w) => /dropped.*(view|cart-add|like).*(item|price)/.test(w)), list);
          for (const re of [/view.*item/, /cart-add.*price/, /like.*item/, /cart-add.*item/]) {
            assert.ok(warnings.some((w) => re.test(w)), `no warning matches ${re}; ${list}`);
          }
        } else {
          assert.deepEqual(warnings, [], 'without data-debug invalid events are dropped silently');
        }
        // The messages are fetched with data-debug (before the widget starts), never without.
        assert.equal(messages.length, debug ? 1 : 0, `requests for messages.js: ${messages.join(', ')}`);
        assertNoPageErrors(page);
      } finally {
        await page.close();
      }
    });
  }

  // www/src/api.js answers a send synchronously (done(0) in its catch) when fetch throws instead of
  // rejecting (a wrapped/patched fetch, an extension). The answer must not be lost: delivery resumes.
  test('a send that fails synchronously (fetch throws) is retried, delivery does not stall', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${server.url}/shop/stall.html`);
      await waitForWidget(page);
      const st = await page.evaluate(() => {
        const real = window.fetch;
        window.fetch = function () { throw new TypeError('fetch blocked'); };
        window.vitrina.track('like', { item: 'STALL-A' });
        window.vitrina.flush();
        window.fetch = real;
        window.vitrina.track('like', { item: 'STALL-B' });
        window.vitrina.flush();
        return window.vitrina.status();
      });
      const items = await waitFor(async () => {
        const got = (await eventsOf('stall-test')).map((e) => e.item).sort();
        return got.length >= 2 && got;
      }, { timeout: 6000, interval: 200, message: `both likes on the server (status after the failed send: ${JSON.stringify(st)})` })
        .catch(async (e) => {
          const now = await page.evaluate(() => window.vitrina.status());
          throw new Error(`${e.message}\nwidget status now: ${JSON.stringify(now)} (inflight never cleared: the answer was lost)`);
        });
      assert.deepEqual(items, ['STALL-A', 'STALL-B']);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });
});
