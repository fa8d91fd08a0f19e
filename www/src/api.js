// The JS face of Vitrina, shared by the script-tag build and the npm package.
// It owns the I/O the wasm glue delegates (sending, number formatting) and turns
// the wasm exports into the public API. Invariant: nothing here throws into the
// shop's page — every public method catches, and a bad config gives one warning
// and a no-op widget.

const warned = new Set();
function warn(msg) {
  if (warned.has(msg)) return;
  warned.add(msg);
  console.warn('[vitrina] ' + msg);
}

const fmtCache = new Map();
function fmt(key, make) {
  let f = fmtCache.get(key);
  if (!f) fmtCache.set(key, (f = make()));
  return f;
}

function makeHooks(config) {
  const transport = typeof config.transport === 'function' ? config.transport : null;
  return {
    // Sends one batch and calls `done(status)` (0 for a network error). Without
    // `done` the page is being left: hand the batch to the browser (sendBeacon,
    // else fetch keepalive) and forget it. Bodies are sent without a Content-Type
    // so that no CORS preflight is needed.
    send(url, body, done) {
      const answer = done || (() => {});
      try {
        if (transport) return void Promise.resolve(transport(body)).then(() => answer(200), () => answer(0));
        if (!done && navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
        fetch(url, { method: 'POST', body, keepalive: body.length < 65000, credentials: 'omit' }).then(
          (r) => answer(r.status),
          () => answer(0),
        );
      } catch (e) {
        answer(0);
      }
    },
    money(v, currency, lang) {
      try {
        return fmt('m' + currency + lang, () => new Intl.NumberFormat(lang, { style: 'currency', currency })).format(v);
      } catch (e) {
        return v.toFixed(2) + ' ' + currency;
      }
    },
    count(n, _unused, lang) {
      try {
        return fmt('c' + lang, () => new Intl.NumberFormat(lang, { notation: 'compact', maximumFractionDigits: 1 })).format(n);
      } catch (e) {
        return String(n);
      }
    },
  };
}

const METHODS = ['track', 'view', 'cartAdd', 'cartRemove', 'purchase', 'like', 'unlike', 'search', 'share', 'page', 'flush', 'profile', 'status', 'refresh', 'erase'];

/** A widget that does nothing, returned when Vitrina cannot start. */
export function noop() {
  const api = { ready: false };
  for (const m of METHODS) api[m] = () => (m === 'profile' || m === 'status' ? null : m === 'track' ? false : undefined);
  api.flush = () => Promise.resolve();
  return api;
}

function wrap(w) {
  const safe = (f, fallback) =>
    function () {
      try {
        return f.apply(null, arguments);
      } catch (e) {
        warn('internal error: ' + (e && e.message));
        return fallback;
      }
    };
  const item = (kind) => safe((props) => w.track(kind, typeof props === 'string' ? { item: props } : props || {}), false);
  return {
    ready: true,
    track: safe((kind, props) => w.track(String(kind), props || {}), false),
    view: item('view'),
    cartAdd: item('cart-add'),
    cartRemove: item('cart-remove'),
    purchase: safe((order) => w.track('purchase', order || {}), false),
    like: item('like'),
    unlike: item('unlike'),
    share: item('share'),
    search: safe((query) => w.track('search', { query: String(query) }), false),
    page: safe((url) => w.track('page', url ? { url: String(url) } : {}), false),
    flush: () => {
      try {
        w.flush();
      } catch (e) {}
      return Promise.resolve();
    },
    profile: safe(() => JSON.parse(w.profile()), null),
    status: safe(() => JSON.parse(w.status()), null),
    refresh: safe(() => w.refresh()),
    erase: safe(() => w.erase()),
  };
}

/**
 * Returns `start(config)`: loads the wasm (once) and starts Vitrina.
 * `init` and `w` are the wasm-bindgen default export and module.
 */
export function create(init, w) {
  let started = null;
  return function start(config) {
    if (started) return started;
    started = (async () => {
      try {
        if (!config || typeof config !== 'object') throw new Error('init() needs a config object such as { site: "my-shop", endpoint: "/v1/collect" }');
        await init(config.wasmUrl ? { module_or_path: config.wasmUrl } : undefined);
        w.start(config, makeHooks(config));
        return wrap(w);
      } catch (e) {
        warn((e && e.message) || String(e));
        return noop();
      }
    })();
    return started;
  };
}
