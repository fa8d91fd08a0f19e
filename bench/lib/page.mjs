// What runs in the benchmark page: the workload data, small helpers, and the
// two workloads. Served as /bench.js, before the tool's adapter (tools.mjs).
// Everything the harness times runs in a page task (setTimeout), not inside a
// DevTools command, so Chromium's task metrics attribute it to the page.

export const PAGE_HTML = (title) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} · Trail Runner 2</title>
<script src="/bench.js"></script>
</head>
<body>
<main>
<h1>Trail Runner 2</h1>
<p>A benchmark page: one product, the tracker under test, nothing else.</p>
</main>
</body>
</html>
`;

const COMMON = `
var P = { item: 'SKU-000123', category: 'shoes/running', price: 89.9, currency: 'EUR' };
var LINES = [
  { item: 'SKU-000123', category: 'shoes/running', quantity: 1, price: 89.9 },
  { item: 'SKU-000456', category: 'apparel/socks', quantity: 2, price: 24.5 },
  { item: 'SKU-000789', category: 'care/cleaning', quantity: 1, price: 12.99 }
];
var O = { order: 'N-10001', value: 151.89, currency: 'EUR', lines: LINES };

window.__h = {
  inject: function (src, attrs) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      for (var k in attrs || {}) s.setAttribute(k, attrs[k]);
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error('could not load ' + src)); };
      document.head.appendChild(s);
    });
  },
  // Polls a condition every few milliseconds (the SDKs announce readiness differently).
  until: function (cond, what, ms) {
    var t0 = performance.now();
    return new Promise(function (resolve, reject) {
      (function poll() {
        var ok = false;
        try { ok = cond(); } catch (e) {}
        if (ok) return resolve();
        if (performance.now() - t0 > (ms || 10000)) return reject(new Error('not ready after ' + (ms || 10000) + ' ms: ' + what));
        setTimeout(poll, 2);
      })();
    });
  }
};

var inTask = function (f) {
  return new Promise(function (resolve) {
    setTimeout(function () {
      Promise.resolve().then(f).then(resolve, function (e) { resolve({ error: String(e && (e.stack || e.message) || e) }); });
    }, 0);
  });
};

window.__run = {
  // Loads and starts the tool; resolves with the wall-clock time until ready.
  init: function () {
    return inTask(function () {
      var t0 = performance.now();
      return window.__bench.load().then(function () { return { readyMs: performance.now() - t0 }; });
    });
  },
  // Workload 1: 1 page view, 20 product views, 3 cart adds, 1 purchase with 3 lines.
  w1: function () {
    return inTask(function () {
      var b = window.__bench, calls = 0, errors = [];
      var call = function (f, arg) {
        try { f(arg); calls++; } catch (e) { if (errors.length < 3) errors.push(String(e && e.message)); }
      };
      if (b.page) call(b.page);
      for (var i = 0; i < 20; i++) call(b.view);
      for (var j = 0; j < 3; j++) call(b.cartAdd, LINES[j]);
      call(b.purchase);
      return { calls: calls, errors: errors };
    });
  },
  flush: function () {
    return inTask(function () { return window.__bench.flush(); }).then(function () { return true; });
  },
  // Workload 2: batches of product-view track() calls, each batch timed as a whole
  // (performance.now() is too coarse for one call); returns microseconds per call per batch.
  w2: function (batches, size) {
    return inTask(function () {
      var track = window.__bench.track, us = [], errors = 0;
      for (var b = 0; b < batches; b++) {
        var t0 = performance.now();
        for (var i = 0; i < size; i++) {
          try { track(); } catch (e) { errors++; }
        }
        us.push(((performance.now() - t0) * 1000) / size);
      }
      return { us: us, errors: errors, isolated: !!window.crossOriginIsolated };
    });
  }
};
`;

/** The page's /bench.js: the common part and the tool's adapter, given the collector origin. */
export function benchScript(tool, collectorOrigin) {
  return `(function () {\n${COMMON}\n${tool.adapter(collectorOrigin)}\n})();\n`;
}
