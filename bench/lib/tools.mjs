// The tools under test: which file is measured, how the page loads and configures
// each SDK (minimally, pointed at the local collector, automatic page views and
// autocapture off), how the collector answers it, and how the collector counts
// the events each request delivered.
//
// Every tool's in-page adapter defines window.__bench = { load, page, view,
// cartAdd(line), purchase, flush, track } (see page.js for the workloads that use it).
// `load()` injects the SDK and resolves when it is ready to take events.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** Normalized event names the workloads send. */
export const KINDS = ['page', 'view', 'cart', 'purchase'];

const json = (buf) => JSON.parse(Buffer.isBuffer(buf) ? buf.toString('utf8') : buf);
const b64json = (s) => JSON.parse(Buffer.from(String(s).replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));

/**
 * @param {object} ctx
 * @param {string} ctx.ROOT          the repository
 * @param {string} ctx.NM            bench/node_modules
 * @param {string} ctx.cache         where built bundles are
 * @param {(batch: Uint8Array) => object} ctx.decodeVitrina
 */
export function defineTools({ ROOT, NM, cache, decodeVitrina }) {
  const pkgVersion = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(NM, name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const dist = path.join(ROOT, 'www', 'dist');
  const file = (p, type) => ({ path: p, type });

  // ------------------------------------------------------------------ Vitrina
  const vitrina = {
    id: 'vitrina',
    name: 'Vitrina',
    pkg: 'www/dist (this repo)',
    version: (() => {
      try {
        return JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'npm', 'package.json'), 'utf8')).version;
      } catch {
        return null;
      }
    })(),
    measured: ['vitrina.js', 'vitrina-core.js', 'vitrina_core_bg.wasm'].map((f) => path.join(dist, f)),
    pageFiles: {
      '/vitrina.js': file(path.join(dist, 'vitrina.js')),
      '/vitrina-core.js': file(path.join(dist, 'vitrina-core.js')),
      '/vitrina_core_bg.wasm': file(path.join(dist, 'vitrina_core_bg.wasm'), 'application/wasm'),
    },
    expected: 25,
    adapter: (C) => `
      var V = function () { return window.vitrina; };
      window.__bench = {
        load: function () {
          window.vitrina = window.vitrina || function () { (vitrina.q = vitrina.q || []).push(arguments); };
          __h.inject('/vitrina.js', { 'data-site': 'bench-shop', 'data-endpoint': ${JSON.stringify(C + '/v1/collect')}, 'data-auto-capture': 'false' });
          return __h.until(function () { return window.vitrina && window.vitrina.ready === true; }, 'vitrina.ready');
        },
        page: function () { V().track('page'); },
        view: function () { V().track('view', { item: P.item, category: P.category, price: P.price, currency: P.currency }); },
        cartAdd: function (l) { V().track('cart-add', { item: l.item, category: l.category, price: l.price, currency: 'EUR', quantity: l.quantity }); },
        purchase: function () { V().track('purchase', { order: O.order, value: O.value, currency: O.currency, lines: O.lines.map(function (l) { return { item: l.item, quantity: l.quantity, price: l.price }; }) }); },
        flush: function () { return V().flush(); },
        track: function () { V().track('view', { item: P.item, category: P.category, price: P.price, currency: P.currency }); },
      };`,
    collect(r, body) {
      if (r.method === 'POST' && r.path === '/v1/collect') {
        r.kind = 'event';
        const b = decodeVitrina(body);
        const names = { page: 'page', view: 'view', 'cart-add': 'cart', purchase: 'purchase' };
        r.events = b.events.map((e) => ({ name: names[e.kind] || e.kind, id: `${b.client}:${e.id}` }));
        return { status: 200, body: { accepted: r.events.length, duplicates: 0, rejected: 0, errors: [] } };
      }
      if (r.method === 'GET') r.kind = 'config';
      return null;
    },
  };

  // ----------------------------------------------------------------- Snowplow
  const SP = 'iglu:com.example.shop';
  const snowplow = {
    id: 'snowplow',
    name: 'Snowplow',
    pkg: '@snowplow/browser-tracker',
    version: pkgVersion('@snowplow/browser-tracker'),
    measured: [path.join(NM, '@snowplow/browser-tracker/dist/index.umd.min.js')],
    pageFiles: { '/snowplow.js': file(path.join(NM, '@snowplow/browser-tracker/dist/index.umd.min.js')) },
    expected: 25,
    adapter: (C) => `
      var S = function () { return window.snowplowBrowserTracking; };
      var ev = function (name, data) { S().trackSelfDescribingEvent({ event: { schema: '${SP}/' + name + '/jsonschema/1-0-0', data: data } }); };
      window.__bench = {
        load: function () {
          return __h.inject('/snowplow.js').then(function () { S().newTracker('sp', ${JSON.stringify(C)}, { appId: 'bench-shop' }); });
        },
        page: function () { S().trackPageView(); },
        view: function () { ev('product_view', { sku: P.item, category: P.category, price: P.price, currency: P.currency }); },
        cartAdd: function (l) { ev('add_to_cart', { sku: l.item, category: l.category, price: l.price, currency: 'EUR', quantity: l.quantity }); },
        purchase: function () { ev('purchase', { orderId: O.order, total: O.value, currency: O.currency, lines: O.lines.map(function (l) { return { sku: l.item, quantity: l.quantity, price: l.price }; }) }); },
        flush: function () { S().flushBuffer(); },
        track: function () { ev('product_view', { sku: P.item, category: P.category, price: P.price, currency: P.currency }); },
      };`,
    collect(r, body) {
      const one = (p) => {
        let name = p.e;
        if (p.e === 'pv') name = 'page';
        else if (p.e === 'ue') {
          const ue = p.ue_pr ? JSON.parse(p.ue_pr) : p.ue_px ? b64json(p.ue_px) : null;
          const schema = (ue && ue.data && ue.data.schema) || '';
          name = { product_view: 'view', add_to_cart: 'cart', purchase: 'purchase' }[schema.split('/')[1]] || schema;
        }
        return { name, id: p.eid };
      };
      if (r.method === 'POST' && r.path === '/com.snowplowanalytics.snowplow/tp2') {
        r.kind = 'event';
        r.events = json(body).data.map(one);
        return { status: 200, type: 'text/plain', body: 'ok' };
      }
      if (r.method === 'GET' && r.path === '/i') {
        r.kind = 'event';
        r.events = [one(Object.fromEntries(new URLSearchParams(r.query)))];
        return { status: 200, type: 'image/gif', body: '' };
      }
      return null;
    },
  };

  // ------------------------------------------------------------------ Segment
  const SEG_KEY = 'benchWriteKey';
  const segUmd = path.join(NM, '@segment/analytics-next/dist/umd');
  const segChunks = {};
  try {
    for (const f of fs.readdirSync(segUmd)) {
      if (f.endsWith('.js')) segChunks[`/analytics-next/bundles/${f}`] = { body: fs.readFileSync(path.join(segUmd, f)) };
    }
  } catch {
    /* not installed: the run reports it */
  }
  const segment = {
    id: 'segment',
    name: 'Segment',
    pkg: '@segment/analytics-next',
    version: pkgVersion('@segment/analytics-next'),
    measured: [path.join(segUmd, 'standalone.js')],
    pageFiles: { '/segment.js': file(path.join(segUmd, 'standalone.js')) },
    collectorFiles: segChunks,
    expected: 25,
    adapter: (C) => `
      var A = function () { return window.analytics; };
      window.__bench = {
        load: function () {
          // The official snippet's essentials: a queue with the write key, the CDN
          // (here the local collector, which serves the stubbed settings) and no page() call.
          var a = window.analytics = [];
          ['track', 'page', 'identify', 'ready', 'reset', 'group', 'alias', 'on', 'once', 'off'].forEach(function (m) {
            a[m] = function () { var args = Array.prototype.slice.call(arguments); args.unshift(m); a.push(args); return a; };
          });
          a._writeKey = '${SEG_KEY}';
          a._cdn = ${JSON.stringify(C)};
          a._loadOptions = {};
          return __h.inject('/segment.js').then(function () {
            return __h.until(function () { return window.analytics && window.analytics.initialized === true; }, 'analytics.initialized');
          });
        },
        page: function () { A().page(); },
        view: function () { A().track('Product Viewed', { product_id: P.item, category: P.category, price: P.price, currency: P.currency }); },
        cartAdd: function (l) { A().track('Product Added', { product_id: l.item, category: l.category, price: l.price, currency: 'EUR', quantity: l.quantity }); },
        purchase: function () { A().track('Order Completed', { order_id: O.order, total: O.value, currency: O.currency, products: O.lines.map(function (l) { return { product_id: l.item, quantity: l.quantity, price: l.price }; }) }); },
        flush: function () {},
        track: function () { A().track('Product Viewed', { product_id: P.item, category: P.category, price: P.price, currency: P.currency }); },
      };`,
    collect(r, body, phase) {
      if (r.method === 'GET' && r.path === `/v1/projects/${SEG_KEY}/settings`) {
        r.kind = 'config';
        const host = phase.collectorOrigin.replace(/^http:\/\//, '');
        return {
          status: 200,
          body: {
            integrations: {
              'Segment.io': {
                apiKey: SEG_KEY,
                apiHost: `${host}/v1`,
                protocol: 'http',
                unbundledIntegrations: [],
                addBundledMetadata: true,
                maybeBundledConfigIds: {},
                versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
              },
            },
            plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
            edgeFunction: {},
            analyticsNextEnabled: true,
            middlewareSettings: {},
            enabledMiddleware: {},
            metrics: { sampleRate: 0 },
            legacyVideoPluginsEnabled: false,
            remotePlugins: [],
          },
        };
      }
      if (r.method === 'POST' && r.path.startsWith('/v1/')) {
        const names = { 'Product Viewed': 'view', 'Product Added': 'cart', 'Order Completed': 'purchase' };
        const one = (m) => ({ name: m.type === 'page' ? 'page' : m.type === 'track' ? names[m.event] || m.event : m.type, id: m.messageId });
        const d = json(body);
        if (r.path === '/v1/m') {
          r.kind = 'metrics';
          r.events = [];
        } else {
          r.kind = 'event';
          r.events = Array.isArray(d.batch) ? d.batch.map(one) : [one(d)];
        }
        return { status: 200, body: { success: true } };
      }
      return null;
    },
  };

  // ------------------------------------------------------------------ PostHog
  const PH_TOKEN = 'phc_bench';
  const phDist = path.join(NM, 'posthog-js/dist');
  const phStatic = {};
  try {
    for (const f of fs.readdirSync(phDist)) {
      if (!f.endsWith('.js')) continue;
      const body = fs.readFileSync(path.join(phDist, f));
      phStatic[`/static/${f}`] = { body };
      phStatic[`/static/${pkgVersion('posthog-js')}/${f}`] = { body };
    }
  } catch {
    /* not installed */
  }
  const phRemoteConfig = {
    token: PH_TOKEN,
    // As PostHog's cloud answers: it advertises gzip, so the SDK compresses bodies.
    supportedCompression: ['gzip', 'gzip-js'],
    hasFeatureFlags: false,
    analytics: { endpoint: '/i/v0/e/' },
    autocapture_opt_out: true,
    autocaptureExceptions: false,
    captureDeadClicks: false,
    capturePerformance: false,
    heatmaps: false,
    elementsChainAsString: true,
    sessionRecording: false,
    surveys: false,
    siteApps: [],
  };
  const posthog = {
    id: 'posthog',
    name: 'PostHog',
    pkg: 'posthog-js',
    version: pkgVersion('posthog-js'),
    measured: [path.join(phDist, 'array.js')],
    pageFiles: { '/posthog.js': file(path.join(phDist, 'array.js')) },
    collectorFiles: phStatic,
    expected: 25,
    adapter: (C) => `
      var H = function () { return window.posthog; };
      window.__bench = {
        load: function () {
          // The official snippet's essentials: an init queue the loaded array.js replays.
          var ph = window.posthog = [];
          ph._i = [];
          ph.init = function (t, c, n) { ph._i.push([t, c, n]); };
          ph.__SV = 1;
          ph.init('${PH_TOKEN}', { api_host: ${JSON.stringify(C)}, autocapture: false, capture_pageview: false, capture_pageleave: false });
          return __h.inject('/posthog.js').then(function () {
            return __h.until(function () { return window.posthog && window.posthog.__loaded === true; }, 'posthog.__loaded');
          });
        },
        page: function () { H().capture('$pageview'); },
        view: function () { H().capture('product_viewed', { product_id: P.item, category: P.category, price: P.price, currency: P.currency }); },
        cartAdd: function (l) { H().capture('product_added', { product_id: l.item, category: l.category, price: l.price, currency: 'EUR', quantity: l.quantity }); },
        purchase: function () { H().capture('order_completed', { order_id: O.order, total: O.value, currency: O.currency, products: O.lines.map(function (l) { return { product_id: l.item, quantity: l.quantity, price: l.price }; }) }); },
        flush: function () {},
        track: function () { H().capture('product_viewed', { product_id: P.item, category: P.category, price: P.price, currency: P.currency }); },
      };`,
    collect(r, body) {
      if (r.method === 'GET' && (r.path === `/array/${PH_TOKEN}/config` || r.path === `/array/${PH_TOKEN}/config.json`)) {
        r.kind = 'config';
        return { status: 200, body: phRemoteConfig };
      }
      if (r.method === 'GET' && r.path === `/array/${PH_TOKEN}/config.js`) {
        r.kind = 'config';
        return { status: 200, type: 'text/javascript', body: `(function(){window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};window._POSTHOG_REMOTE_CONFIG[${JSON.stringify(PH_TOKEN)}]={config:${JSON.stringify(phRemoteConfig)},siteApps:[]}})();` };
      }
      if (r.method === 'POST' && /^\/flags\/?$|^\/decide\/?$/.test(r.path)) {
        r.kind = 'config';
        return { status: 200, body: { flags: {}, featureFlags: {}, featureFlagPayloads: {}, errorsWhileComputingFlags: false, requestId: 'bench' } };
      }
      if (r.method === 'POST' && /^\/(e|i\/v0\/e|batch|capture|track|engage|s)\/?$/.test(r.path)) {
        const q = new URLSearchParams(r.query);
        let raw = body;
        const gz = q.get('compression') === 'gzip-js' || q.get('compression') === 'gzip' || /gzip/.test(r.headers['content-encoding'] || '') || (raw[0] === 0x1f && raw[1] === 0x8b);
        if (gz) raw = zlib.gunzipSync(raw);
        let text = raw.toString('utf8');
        if (text.startsWith('data=')) text = Buffer.from(decodeURIComponent(text.slice(5)), 'base64').toString('utf8');
        r.rawBodyBytes = Buffer.byteLength(text);
        let d = JSON.parse(text);
        if (!Array.isArray(d)) d = Array.isArray(d.batch) ? d.batch : [d];
        const names = { $pageview: 'page', product_viewed: 'view', product_added: 'cart', order_completed: 'purchase' };
        r.kind = r.path.startsWith('/s') ? 'recording' : 'event';
        r.events = d.map((e) => ({ name: names[e.event] || e.event, id: e.uuid }));
        return { status: 200, body: { status: 1 } };
      }
      return null;
    },
  };

  // ------------------------------------------------------------------ Algolia
  const algolia = {
    id: 'algolia',
    name: 'Algolia',
    pkg: 'search-insights',
    version: pkgVersion('search-insights'),
    measured: [path.join(NM, 'search-insights/dist/search-insights.min.js')],
    pageFiles: { '/algolia.js': file(path.join(NM, 'search-insights/dist/search-insights.min.js')) },
    expected: 24, // no page view event
    adapter: (C) => `
      var AA = function () { return window.aa; };
      var IDX = 'products';
      window.__bench = {
        load: function () {
          // The official snippet: a queue under window.AlgoliaAnalyticsObject that the script replays.
          window.AlgoliaAnalyticsObject = 'aa';
          window.aa = window.aa || function () { (window.aa.queue = window.aa.queue || []).push(arguments); };
          aa('init', { appId: 'BENCHAPP', apiKey: 'bench-search-key', host: ${JSON.stringify(C)} });
          return __h.inject('/algolia.js');
        },
        page: null, // Algolia Insights has no page view
        view: function () { AA()('viewedObjectIDs', { eventName: 'Product Viewed', index: IDX, objectIDs: [P.item] }); },
        cartAdd: function (l) { AA()('addedToCartObjectIDs', { eventName: 'Product Added', index: IDX, objectIDs: [l.item], objectData: [{ price: l.price, quantity: l.quantity }], value: l.price * l.quantity, currency: 'EUR' }); },
        purchase: function () { AA()('purchasedObjectIDs', { eventName: 'Order Completed', index: IDX, objectIDs: O.lines.map(function (l) { return l.item; }), objectData: O.lines.map(function (l) { return { price: l.price, quantity: l.quantity }; }), value: O.value, currency: O.currency }); },
        flush: function () {},
        track: function () { AA()('viewedObjectIDs', { eventName: 'Product Viewed', index: IDX, objectIDs: [P.item] }); },
      };`,
    collect(r, body) {
      if (r.method === 'POST' && r.path === '/1/events') {
        r.kind = 'event';
        const sub = { addToCart: 'cart', purchase: 'purchase' };
        r.events = json(body).events.map((e) => ({
          name: e.eventType === 'view' ? 'view' : e.eventType === 'conversion' ? sub[e.eventSubtype] || e.eventName : e.eventType,
        }));
        return { status: 200, body: { status: 200, message: 'OK' } };
      }
      return null;
    },
  };

  // ---------------------------------------------------------------- Plausible
  const plausibleBundle = path.join(cache, 'plausible.iife.js');
  const plausible = {
    id: 'plausible',
    name: 'Plausible',
    pkg: '@plausible-analytics/tracker',
    version: pkgVersion('@plausible-analytics/tracker'),
    measured: [plausibleBundle],
    pageFiles: { '/plausible.js': file(plausibleBundle) },
    expected: 25,
    adapter: (C) => `
      var PL = function () { return window.Plausible; };
      window.__bench = {
        load: function () {
          return __h.inject('/plausible.js').then(function () {
            // captureOnLocalhost: the page is on 127.0.0.1, which Plausible otherwise ignores.
            PL().init({ domain: 'shop.example', endpoint: ${JSON.stringify(C + '/api/event')}, autoCapturePageviews: false, captureOnLocalhost: true });
          });
        },
        page: function () { PL().track('pageview', {}); },
        view: function () { PL().track('Product View', { props: { item: P.item, category: P.category, price: String(P.price), currency: P.currency } }); },
        cartAdd: function (l) { PL().track('Add to Cart', { props: { item: l.item, category: l.category, price: String(l.price), currency: 'EUR', quantity: String(l.quantity) } }); },
        purchase: function () { PL().track('Purchase', { revenue: { amount: O.value, currency: O.currency }, props: { order: O.order, items: O.lines.map(function (l) { return l.quantity + 'x' + l.item + '@' + l.price; }).join(',') } }); },
        flush: function () {},
        track: function () { PL().track('Product View', { props: { item: P.item, category: P.category, price: String(P.price), currency: P.currency } }); },
      };`,
    collect(r, body) {
      if (r.method === 'POST' && r.path === '/api/event') {
        r.kind = 'event';
        const d = json(body);
        const names = { pageview: 'page', 'Product View': 'view', 'Add to Cart': 'cart', Purchase: 'purchase' };
        r.events = [{ name: names[d.n] || d.n }];
        return { status: 202, type: 'text/plain', body: 'ok' };
      }
      return null;
    },
  };

  // ------------------------------------------------- control (no SDK at all)
  const control = {
    id: 'control',
    name: 'control',
    measured: [],
    pageFiles: {},
    expected: 0,
    adapter: () => `
      window.__bench = { load: function () { return Promise.resolve(); }, page: function () {}, view: function () {},
        cartAdd: function () {}, purchase: function () {}, flush: function () {}, track: function () {} };`,
    collect: () => null,
  };

  return { tools: [vitrina, snowplow, segment, posthog, algolia, plausible], control };
}
