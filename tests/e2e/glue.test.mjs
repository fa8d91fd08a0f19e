// The browser glue of the JS face (www/src/api.js, storage.js) in real Chromium, on small
// fixture pages served with the built widget (www/dist) by harness.serveStatic: storage that
// throws or is full, a corrupt stored profile, bad configs given to init(), erase().
// (The wasm core itself is tested in the browser by src/web/tests.rs; the glue that
// carries text into it, www/src/vitrina_core.js, by "text through the wasm glue".)
//
//   npm run build && node --test tests/e2e/glue.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertNoPageErrors, copyWidget, launchBrowser, newPage, serveStatic, waitFor, waitForWidget } from './harness.mjs';

const SNIPPET = 'window.vitrina=window.vitrina||function(){(vitrina.q=vitrina.q||[]).push(arguments)};';

/** A page: `setup` runs before the script tag (to break storage, plant keys...). */
function scriptTagPage({ setup = '', attrs = '' }) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>glue</title><link rel="icon" href="data:,">
<script>${setup}</script>
<script>${SNIPPET}</script>
<script async src="/vitrina.js" data-site="glue-test" ${attrs}></script>
</head><body><h1>glue</h1></body></html>
`;
}
const BARE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>esm</title><link rel="icon" href="data:,"></head><body>esm</body></html>\n';

const PAGES = {
  'ls-throws.html': scriptTagPage({
    attrs: 'data-debug',
    setup: "Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });",
  }),
  'ls-full.html': scriptTagPage({
    setup: `(() => {
      const orig = Storage.prototype.setItem;
      Storage.prototype.setItem = function (k, v) {
        if (String(k).startsWith('vitrina:') && k !== 'vitrina:probe') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return orig.call(this, k, v);
      };
    })();`,
  }),
  'corrupt.html': scriptTagPage({ setup: "localStorage.setItem('vitrina:profile', 'garbage');" }),
  'erase.html': scriptTagPage({ setup: "localStorage.setItem('vitrina:stray', 'x'); localStorage.setItem('shop-key', 'keep');" }),
  'bare.html': BARE,
  'text.html': scriptTagPage({}),
  'debug.html': scriptTagPage({ attrs: 'data-debug' }),
  'late.html': scriptTagPage({}),
  // The product is drawn by a deferred script that arrives late (see the route
  // below): the document is "interactive" well before it runs. `atLoad`: what
  // the profile held at the load event, right after DOMContentLoaded.
  'slow-defer.html': scriptTagPage({
    setup: "addEventListener('load', () => { window.atLoad = window.vitrina.profile().recent.map((r) => r.item); });",
  }).replace('</head>', '<script defer src="/slow-draw.js"></script></head>'),
};
const SLOW_DRAW = "document.body.insertAdjacentHTML('beforeend', '<div data-vitrina-item=\"SLOW-1\" data-vitrina-name=\"Slow\"></div>');";

const listsOf = (p) => ({ recent: p.recent, cart: p.cart, likes: p.likes, purchases: p.purchases });
const EMPTY = { recent: [], cart: [], likes: [], purchases: [] };

describe('JS glue in the browser', () => {
  let browser;
  let site;
  let dir;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-glue-'));
    copyWidget(dir);
    for (const [name, html] of Object.entries(PAGES)) fs.writeFileSync(path.join(dir, name), html);
    site = await serveStatic(dir, {
      routes: {
        '/slow-draw.js': (req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'text/javascript' }).end(SLOW_DRAW), 1500),
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("what the shop's script draws after the widget started (badge, like button, slot) is drawn too", async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/late.html`);
      await waitForWidget(page);
      await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
      await page.evaluate(() => {
        document.body.insertAdjacentHTML('beforeend',
          '<div data-vitrina-item="LATE-1" data-vitrina-name="Late"><span data-vitrina-badge="LATE-1" data-vitrina-likes="12"></span>' +
          '<button data-vitrina-like="LATE-1" data-vitrina-likes="12"></button></div><div data-vitrina-slot="recently-viewed"></div>');
      });
      const drawn = () => page.evaluate(() => ({
        badge: document.querySelector('[data-vitrina-badge]').textContent,
        like: document.querySelector('[data-vitrina-like]').getAttribute('aria-pressed'),
        slot: document.querySelector('[data-vitrina-slot]').getAttribute('data-vitrina-rendered'),
      }));
      await waitFor(async () => {
        const d = await drawn();
        return d.badge === '12 likes' && d.like === 'false' && d.slot === 'recently-viewed';
      }, { timeout: 3000, message: `the late elements to be drawn (${JSON.stringify(await drawn())})` });
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  // The product page's view is what personalization starts from: a product drawn
  // by the shop's deferred script, or by its script after the widget started, is
  // viewed all the same.
  for (const [name, file, draw] of [
    ['drawn by a deferred script that arrives after the widget', 'slow-defer.html', false],
    ['drawn by the shop after the widget started', 'late.html', true],
  ]) {
    test(`the page's product ${name} is viewed`, async () => {
      const page = await newPage(browser);
      try {
        await page.goto(`${site.url}/${file}`);
        await waitForWidget(page);
        if (draw) {
          await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
          await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<div data-vitrina-item="SLOW-1" data-vitrina-name="Slow"></div>'));
        }
        const recent = () => page.evaluate(() => window.vitrina.profile().recent.map((r) => r.item + ':' + r.name));
        await waitFor(async () => (await recent()).includes('SLOW-1:Slow'), { timeout: 4000, message: `a view of SLOW-1 (recent: ${JSON.stringify(await recent())})` });
        assert.deepEqual(await recent(), ['SLOW-1:Slow']);
        // Scanned once the deferred scripts ran, not only when the drawing is seen later.
        if (!draw) assert.deepEqual(await page.evaluate(() => window.atLoad), ['SLOW-1']);
        assertNoPageErrors(page);
      } finally {
        await page.close();
      }
    });
  }

  const warningsOf = (page) => page.consoleMessages.filter((m) => m.type === 'warning').map((m) => m.text);

  test('localStorage getter throws: the widget runs in memory, one debug warning, no error', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/ls-throws.html`);
      await waitForWidget(page);
      const r = await page.evaluate(async () => {
        const v = window.vitrina;
        const tracked = v.track('like', { item: 'A' }) && v.cartAdd({ item: 'B', price: 5 });
        await v.flush();
        return { tracked, status: v.status(), profile: v.profile() };
      });
      assert.equal(r.tracked, true);
      assert.equal(r.status.persistent, false, `status: ${JSON.stringify(r.status)}`);
      assert.match(r.status.client, /^[0-9a-f]{32}$/);
      assert.deepEqual(r.profile.likes.map((l) => l.item), ['A']);
      assert.deepEqual(r.profile.cart.map((l) => l.item), ['B']);
      // Erase works in memory too.
      const after = await page.evaluate(() => {
        const before = window.vitrina.status().client;
        window.vitrina.erase();
        return { before, status: window.vitrina.status(), profile: window.vitrina.profile() };
      });
      assert.notEqual(after.status.client, after.before);
      assert.deepEqual(listsOf(after.profile), EMPTY);
      const warnings = warningsOf(page);
      assert.equal(warnings.length, 1, `warnings:\n  ${warnings.join('\n  ')}`);
      assert.match(warnings[0], /^\[vitrina\] localStorage is not available; keeping data in memory/);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  test('debug on: a refused event is warned about with the text of before (the wasm gives a code, messages.js the text)', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/debug.html`);
      await waitForWidget(page);
      const tracked = await page.evaluate(() => {
        const v = window.vitrina;
        return [v.track('view', {}), v.track('cart-add', { item: 'A', quantity: 0 }), v.track('view', { item: 'A\u0007' }), v.track('like', { item: 'B' })];
      });
      assert.deepEqual(tracked, [false, false, false, true]);
      await waitFor(() => warningsOf(page).length >= 3, { message: 'the three warnings' });
      assert.deepEqual(warningsOf(page), [
        '[vitrina] dropped a "view" event: missing item',
        '[vitrina] dropped a "cart-add" event: quantity out of range',
        '[vitrina] dropped a "view" event: bad item: empty, too long or has control characters',
      ]);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  test('localStorage full (QuotaExceededError on write): events and profile still work, no warning', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/ls-full.html`);
      await waitForWidget(page);
      const r = await page.evaluate(async () => {
        const v = window.vitrina;
        const ok = [v.like('A'), v.view({ item: 'V', name: 'Viewed' }), v.cartAdd({ item: 'B', price: 5 })];
        await v.flush();
        await new Promise((res) => setTimeout(res, 50));
        return { ok, status: v.status(), profile: v.profile(), stored: Object.keys(localStorage).filter((k) => k.startsWith('vitrina:')) };
      });
      assert.deepEqual(r.ok, [true, true, true]);
      assert.equal(r.status.persistent, false, 'status().persistent after writes failed');
      assert.match(r.status.client, /^[0-9a-f]{32}$/);
      assert.deepEqual(r.profile.likes.map((l) => l.item), ['A']);
      assert.deepEqual(r.profile.recent.map((l) => l.item), ['V']);
      assert.deepEqual(r.stored, [], 'nothing could be written');
      assert.deepEqual(warningsOf(page), []);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  // www/src/vitrina_core.js writes ASCII by a loop and the rest with TextEncoder.encodeInto,
  // into wasm memory that may grow (and detach the old view) between calls.
  test('text through the wasm glue: accents, CJK, emoji, a lone surrogate, and a memory that grows', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/text.html`);
      await waitForWidget(page);
      const r = await page.evaluate(() => {
        const v = window.vitrina;
        const names = ['Zapatilla «Ñandú» größe', '登山靴 ハイカー', 'Tent 🏕️ for 2 👨‍👩‍👧', 'a' + 'é'.repeat(100), 'broken \uD800 half'];
        const ok = names.map((name, i) => v.view({ item: `ÍTEM-${i}-日本`, name, category: 'calzado/montaña', price: 10 + i }));
        ok.push(v.like('ÍTEM-2-日本'), v.cartAdd({ item: 'ÍTEM-3-日本', price: 1 }));
        const before = v.profile();
        // Arguments of 0.5 to 4 MB grow the wasm memory (the input area is three bytes
        // per UTF-16 unit) several times.
        for (const m of [1, 2, 4, 8]) v.track('search', { query: 'ñ'.repeat(m * 180000) });
        for (let i = 0; i < 300; i++) v.track('search', { query: `búsqueda ${i} ` + 'ñ'.repeat(60) });
        v.view({ item: 'ÚLTIMO-🦊', name: 'Zorro 🦊 último' });
        return { ok, names, before, after: v.profile(), status: v.status() };
      });
      assert.ok(r.ok.every(Boolean), JSON.stringify(r.ok));
      const byItem = Object.fromEntries(r.before.recent.map((x) => [x.item, x]));
      r.names.forEach((name, i) => {
        const got = byItem[`ÍTEM-${i}-日本`];
        assert.ok(got, `ÍTEM-${i}-日本 not in recently viewed: ${JSON.stringify(r.before.recent.map((x) => x.item))}`);
        // A lone surrogate cannot be UTF-8: it arrives as U+FFFD, the rest exactly.
        assert.equal(got.name, name.replace('\uD800', '\uFFFD'));
        assert.equal(got.category, 'calzado/montaña');
      });
      assert.deepEqual(r.before.likes.map((l) => l.item), ['ÍTEM-2-日本']);
      assert.deepEqual(r.before.cart.map((l) => l.item), ['ÍTEM-3-日本']);
      assert.equal(r.after.recent[0].item, 'ÚLTIMO-🦊');
      assert.equal(r.after.recent[0].name, 'Zorro 🦊 último');
      assert.deepEqual(r.after.likes.map((l) => l.item), ['ÍTEM-2-日本'], 'the profile survived the memory growth');
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  test('a corrupt stored profile: start works with an empty profile and exactly one warning', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/corrupt.html`);
      await waitForWidget(page);
      const r = await page.evaluate(() => ({ profile: window.vitrina.profile(), stored: localStorage.getItem('vitrina:profile') }));
      assert.deepEqual(listsOf(r.profile), EMPTY);
      assert.notEqual(r.stored, 'garbage', 'the corrupt profile is still stored');
      const warnings = warningsOf(page);
      assert.equal(warnings.length, 1, `warnings:\n  ${warnings.join('\n  ')}`);
      assert.match(warnings[0], /^\[vitrina\] .*profile.*unreadable/);
      // And it works from there; the new profile is stored.
      const after = await page.evaluate(async () => {
        const ok = window.vitrina.like('A');
        await window.vitrina.flush();
        return { ok, profile: window.vitrina.profile(), stored: localStorage.getItem('vitrina:profile') };
      });
      assert.equal(after.ok, true);
      assert.deepEqual(after.profile.likes.map((l) => l.item), ['A']);
      assert.ok(after.stored && after.stored !== 'garbage', 'the new profile was not stored');
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  test('erase() removes every vitrina: key, keeps the shop\'s keys and rotates the client id', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/erase.html`);
      await waitForWidget(page);
      const r = await page.evaluate(async () => {
        const v = window.vitrina;
        v.like('A');
        v.view({ item: 'V' });
        await v.flush();
        const keys = () => Object.keys(localStorage).filter((k) => k.startsWith('vitrina:')).sort();
        const before = { keys: keys(), client: v.status().client, cid: localStorage.getItem('vitrina:cid') };
        v.erase();
        return {
          before,
          after: { keys: keys(), client: v.status().client, cid: localStorage.getItem('vitrina:cid'), shop: localStorage.getItem('shop-key') },
          profile: v.profile(),
          status: v.status(),
        };
      });
      assert.ok(r.before.keys.includes('vitrina:profile') && r.before.keys.includes('vitrina:stray'), `before: ${r.before.keys}`);
      assert.equal(r.before.client, r.before.cid);
      assert.deepEqual(r.after.keys, ['vitrina:cid'], 'only the new client id is left');
      assert.equal(r.after.shop, 'keep', "erase() removed a key of the shop");
      assert.match(r.after.cid, /^[0-9a-f]{32}$/);
      assert.notEqual(r.after.cid, r.before.cid, 'the client id did not change');
      assert.equal(r.after.client, r.after.cid);
      assert.deepEqual(listsOf(r.profile), EMPTY);
      assert.equal(r.status.outbox, 0);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });

  const BAD = [
    ['null', 'config object'],
    ['{}', '"site"'],
    ["{ site: 'bad site!' }", '"site"'],
    ["{ site: 'x'.repeat(65) }", '"site"'],
    ["{ site: 'ok', endpoint: 'javascript:alert(1)' }", '"endpoint"'],
    ["{ site: 'ok', endpoint: 'data:text/plain,x' }", '"endpoint"'],
    ["{ site: 'ok', transport: 'nope' }", '"transport"'],
  ];
  test('init(config) with a bad config resolves to the no-op widget with one clear warning; never rejects', async () => {
    for (const [config, mention] of BAD) {
      const page = await newPage(browser);
      try {
        await page.goto(`${site.url}/bare.html`);
        const r = await page.evaluate(async (config) => {
          const m = await import('/vitrina-core.js');
          try {
            const w = await m.start(eval(`(${config})`));
            let threw = '';
            try {
              w.track('like', { item: 'A' });
              w.cartAdd('A');
              await w.flush();
              w.profile();
              w.erase();
            } catch (e) {
              threw = e.message;
            }
            return { ready: w.ready, threw, keys: Object.keys(localStorage).filter((k) => k.startsWith('vitrina:')) };
          } catch (e) {
            return { rejected: String(e && e.message) };
          }
        }, config);
        assert.equal(r.rejected, undefined, `start(${config}) rejected`);
        assert.equal(r.ready, false, `start(${config})`);
        assert.equal(r.threw, '', `the no-op widget of start(${config}) threw`);
        assert.deepEqual(r.keys, [], `start(${config}) wrote to localStorage`);
        const warnings = warningsOf(page);
        assert.equal(warnings.length, 1, `start(${config}): warnings:\n  ${warnings.join('\n  ')}`);
        assert.ok(warnings[0].startsWith('[vitrina] ') && warnings[0].includes(mention), `start(${config}): ${warnings[0]}`);
        assertNoPageErrors(page);
      } finally {
        await page.close();
      }
    }
  });

  test('init(config) with a transport: batches in the binary format go to it; start() twice gives the same widget', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${site.url}/bare.html`);
      const r = await page.evaluate(async () => {
        const m = await import('/vitrina-core.js');
        window.__batches = [];
        const cfg = { site: 'esm-test', autoCapture: false, transport: (b) => { window.__batches.push(Array.from(b)); } };
        const w = await m.start(cfg);
        const again = await m.start(cfg);
        const ok = w.like('A');
        await w.flush();
        return { ready: w.ready, same: w === again, ok };
      });
      assert.deepEqual(r, { ready: true, same: true, ok: true });
      const batches = await waitFor(() => page.evaluate(() => window.__batches.length && window.__batches),
        { timeout: 5000, message: 'a batch handed to the transport' });
      assert.equal(batches[0][0], 0x56, 'binary batch (magic byte 0x56)');
      assert.deepEqual(warningsOf(page), []);
      assertNoPageErrors(page);
    } finally {
      await page.close();
    }
  });
});
