// The JS face of Vitrina, shared by the script-tag build and the npm package:
// the public API, and the browser I/O the wasm core delegates — storage, timers,
// requests, page listeners, DOM capture and rendering (capture.js, render.js).
// Invariant: nothing here throws into the shop's page. Every public method
// catches; a bad config gives one warning and a no-op widget.

import { openStorage } from './storage.js';
import { pathOf, priceOf, termsOf } from './text.js';
import { attr, cleanUrl, clickEvent, listClick, pageProduct, readItem, watchLists } from './capture.js';
import { renderLikes, renderSlots, trendingNow } from './render.js';
import { bindPanel, openPanel } from './panel.js';

const warned = new Set();
function warn(msg) {
  if (warned.has(msg)) return;
  warned.add(msg);
  console.warn('[vitrina] ' + msg);
}
// Messages for the shop's developers, by code (messages.js, fetched the first
// time one is needed; with `debug` on, before the widget starts).
let said = null;
let saying = null;
const messages = () => (saying ||= import('./messages.js').then((m) => (said = m.MESSAGES), () => {}));
function tell(code, ...a) {
  const say = () => warn(said ? said[code](...a) : 'message ' + code + ' (' + a.join(', ') + '): serve messages.js to read it');
  return said ? say() : messages().then(say);
}

// String fields of the core's event builder (src/engine.rs: Field; src/web/mod.rs
// set: 15 price, 16 quantity, 17 dwell, 18 a purchase line, 19 and 21 a custom
// property's key and value, 20 a new event).
const F = { item: 0, category: 1, brand: 2, currency: 3, slot: 5, rec: 6, order: 7, event: 8, image: 12 };
const FLUSH_DELAY = 1000;

// Random words from a pool refilled 64 at a time: one getRandomValues call per
// event cost about half of track()'s time.
const pool = new Uint32Array(64);
let poolAt = 64;
const rand32 = () => {
  if (poolAt === 64) {
    try {
      crypto.getRandomValues(pool);
    } catch (e) {
      for (let i = 0; i < 64; i++) pool[i] = Math.random() * 4294967296;
    }
    poolAt = 0;
  }
  return pool[poolAt++];
};
const randomHex = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes / 4; i++) s += rand32().toString(16).padStart(8, '0');
  return s;
};

/** A widget that does nothing, returned when Vitrina cannot start: same methods, same return types. */
export function noop() {
  const api = { ready: false, flush: () => Promise.resolve() };
  for (const m of ['track', 'view', 'cartAdd', 'cartRemove', 'purchase', 'like', 'unlike', 'search', 'share', 'page', 'consent']) api[m] = () => false;
  for (const m of ['profile', 'status']) api[m] = () => null;
  api.recommend = () => [];
  for (const m of ['refresh', 'erase']) api[m] = () => undefined;
  api.openPanel = () => Promise.resolve();
  return api;
}

// Each setting's check (on a value that is set); what it must be is said by
// messages.js (MUST).
const CHECKS = [
  ['site', (x) => typeof x === 'string' && /^[\w.-]{1,64}$/.test(x), 1],
  ['endpoint', (x) => x === '' || cleanUrl(x)],
  ['transport', (x) => typeof x === 'function'],
  ['headers', (x) => typeof x === 'object' && !Object.keys(x).some((k) => typeof x[k] !== 'string')],
  ['consent', (x) => /^(opt-in|opt-out|anonymous)$/.test(x)],
  ['search', (x) => x === 'terms' || x === 'category'],
  ['ldpEpsilon', (x) => x === '' || (+x >= 0.1 && +x <= 10)],
  ['format', (x) => x === 'binary' || x === 'json'],
];
// What is wrong with the config, as the arguments of tell(), or nothing.
function checkConfig(c) {
  if (!c || typeof c !== 'object') return [13];
  for (const [k, ok, always] of CHECKS) if ((always || c[k] != null) && !ok(c[k])) return [14, k, c[k]];
}

function startWith(wasm, config) {
  const debug = !!config.debug;
  const debugWarn = (code, ...a) => debug && tell(code, ...a);
  const store = openStorage();
  if (!store.persistent()) debugWarn(0, store.why());
  let cid = store.get('cid');
  const freshId = !/^[0-9a-f]{32}$/.test(cid || '');
  if (freshId) cid = randomHex(16);
  const core = new wasm.Core(config.site, cid, rand32());
  // What the core allows now (src/web/mod.rs state): 1 storage, 2 sending, 4 send now.
  const can = (bit) => !!(core.state() & bit);
  // Settings and rules go through core.set(code, ...) too (src/web/mod.rs set).
  // False when the wasm was built without the feature (a `wasmUrl` to the default build).
  const needsFull = (ok, what) => ok || tell(15, what);
  if (config.format === 'json') needsFull(core.set(26, '', 1), 'format "json"');
  if (config.search === 'category') core.set(27, '', 1);
  // The shop's rules for every slot: { pin: ['SKU'], boost: { 'shoes/running': 2, 'sale': 0.5 }, buyAgainDays: 30 }.
  const rules = config.rules && typeof config.rules === 'object' ? config.rules : {};
  for (const sku of Array.isArray(rules.pin) ? rules.pin : []) core.set(30, String(sku));
  for (const cat in rules.boost || {}) core.set(31, cat, +rules.boost[cat]);
  if (rules.buyAgainDays > 0) core.set(32, '', Math.min(3650, rules.buyAgainDays | 0) >>> 0);
  // The shopper's pause (from the panel): what they do stops shaping the profile.
  core.set(25, '', store.get('paused') === '1');
  // Consent: the shop's mode, the browser's GPC / DNT signal, the shopper's
  // stored choice. The core decides what may be kept and sent (src/consent.rs).
  core.set(24, config.consent || 'opt-out');
  core.set(28, '', navigator.globalPrivacyControl === true || navigator.doNotTrack === '1' || window.doNotTrack === '1');
  core.set(23, store.get('consent') || 'pending');
  // Likes and views leave only as randomized reports (src/ldp.rs, docs/ldp.md).
  if (+config.ldpEpsilon > 0) needsFull(core.set(33, randomHex(16), +config.ldpEpsilon), 'ldpEpsilon');
  // Nothing is written before it may be: the client id waits for consent too.
  if (freshId && can(1)) store.set('cid', cid);
  const stored = store.get('profile');
  if (stored && !core.load(stored, Date.now())) {
    warn('the stored profile was unreadable and has been reset');
    store.remove('profile');
  }
  const box = store.get('outbox');
  if (box && !core.load(box, 0, 2)) debugWarn(1);

  const endpoint = config.endpoint ? cleanUrl(config.endpoint) : null;
  // Extra request headers for the shop's backend (an API key, say). Any header
  // beyond the CORS-safelisted ones makes a cross-origin backend answer a
  // preflight first.
  const headers = config.headers ? { ...config.headers } : undefined; // an object (checkConfig)
  const transport = config.transport || null;
  // A request to the endpoint; bodies go without a Content-Type (no CORS preflight).
  const postTo = (body, keepalive) => fetch(endpoint, { method: 'POST', body, headers, keepalive, credentials: 'omit', referrerPolicy: 'no-referrer' });
  // The endpoint's sibling resource (a trailing /collect replaced by `path`).
  const sibling = (path) => (endpoint && /\/collect$/.test(endpoint) ? endpoint.replace(/\/collect$/, path) : null);
  const locale = config.lang || document.documentElement.lang || navigator.language || 'en';
  const lang = wasm.Core.lang(locale);
  const nonce = randomHex(4);
  let currency = config.currency || '';
  let view = null; // the product page being viewed: { props, since, acc }
  let lastUrl = location.pathname + location.search;
  const timers = {}; // save, flush, retry, render, model
  let inflight = false;
  let retryAt = 0;
  // Other tabs of the shop, told about every event recorded here (src/engine.rs
  // commit_replica), so all tabs hold one coherent profile within milliseconds.
  let bc = null;
  let outgoing = [];
  try {
    bc = new BroadcastChannel('vitrina:' + config.site);
    bc.onmessage = (m) => {
      try {
        const d = m.data;
        // A new page asks the open tabs for what they hold (storage can lag
        // behind between processes); their profiles are joined in.
        if (d && d.hello) return void bc.postMessage({ profile: core.stored(1) });
        if (d && typeof d.profile === 'string') {
          if (core.load(d.profile, Date.now(), 1)) render();
          return;
        }
        if (!Array.isArray(d)) return;
        for (const [kind, props, at] of d) record(kind, props, false, true, at);
        render();
      } catch (e) {
        warn('internal error: ' + (e && e.message));
      }
    };
    bc.postMessage({ hello: 1 });
  } catch (e) {
    bc = null;
  }

  const v = {
    core,
    locale,
    nonce,
    minCount: config.minCount != null ? +config.minCount : 5,
    t: (k) => wasm.Core.text(lang, k),
    debugWarn,
    currency: () => currency,
    currentItem: () => view && view.props.item,
    profile: () => JSON.parse(core.save_profile('', Date.now(), true)),
    // Ranked slots from the core (src/recommend.rs): [{item, name, image, url,
    // price, reason, rec}], reasons already in the page's language.
    recommend: (kind, o) => {
      const opts = o || {};
      // Trending comes from the public popularity feed (render.js), not the core.
      if (kind === 'trending')
        return trendingNow(v)
          .slice(0, opts.limit || 8)
          .map((r, i) => ({ item: r.item, name: r.name, image: r.image, url: r.url, price: r.price ?? undefined, reason: r.reason, rec: 'trending.' + i + '.' + r.item }));
      return core.recommend(kind, opts.item || (view && view.props.item) || undefined, opts.limit || 8, locale, Date.now());
    },
    // ---- for render.js and panel.js (what the shopper sees). Additive hooks:
    // impressions and clicks on recommendations drawn in a shadow root (which the
    // document click listener sees as clicks on the slot) go through record();
    // the pause flag is the shopper's instruction, kept like the consent choice.
    record: (kind, props) => record(kind, props),
    recClick: (props) => (record('rec-click', props), leave()),
    paused: () => store.get('paused') === '1',
    // Kept for the next pages only where storage may be used (else for this page).
    setPaused: (on) => (core.set(25, '', !!on), on && can(1) ? store.set('paused', '1') : store.remove('paused'), render()),
    erase: () => api.erase(),
    sends: !!(endpoint || transport),
    // The public popularity feed: config.popularity, or the endpoint with a
    // trailing /collect replaced by /popularity.
    popularity: config.popularity ? cleanUrl(config.popularity) : sibling('/popularity'),
  };

  // ---- events
  // `replica`: an event another tab recorded (and sends), applied here so every
  // tab holds one coherent profile without waiting for storage.
  function record(kind, props, send, replica, at) {
    const now = at || Date.now();
    if (!core.set(20, String(kind), now)) return debugWarn(2, kind), false;
    const p = props && typeof props === 'object' ? props : {};
    for (const k in p) {
      const x = p[k];
      if (x == null) continue;
      if (k === 'price' || (k === 'value' && kind === 'purchase')) core.set(15, '', typeof x === 'string' ? priceOf(x) : +x);
      else if (k === 'quantity' || k === 'qty') core.set(16, '', +x);
      else if (k === 'dwell') core.set(17, '', +x);
      else if (k === 'name') core.set(kind === 'custom' ? 8 : 11, String(x));
      else if (k === 'url') kind === 'page' ? core.set(4, pathOf(String(x))) : core.set(13, String(x));
      else if (k === 'terms' && Array.isArray(x)) x.forEach((t) => core.set(10, String(t)));
      else if (k === 'query') termsOf(String(x)).forEach((t) => core.set(10, t));
      else if (k === 'lines' && Array.isArray(x))
        x.forEach((l) => l && core.set(18, String(l.item == null ? '' : l.item), +(l.quantity ?? l.qty ?? 1), l.price == null ? NaN : +l.price));
      else if (k === 'props' && typeof x === 'object') for (const q in x) core.set(19, q), core.set(21, String(x[q]));
      else if (F[k] !== undefined) core.set(F[k], String(x));
    }
    if (kind === 'page' && p.url == null) core.set(4, location.pathname);
    const why = core.commit(now, replica ? 2 : send !== false && !!(endpoint || transport) && can(2) ? 1 : 0, rand32());
    if (why) return debugWarn(3, kind, why), false;
    if (p.currency) currency = String(p.currency).toUpperCase();
    if (!replica && bc && kind !== 'page' && kind !== 'impression') outgoing.push([kind, p, now]);
    if (!replica && (kind === 'view' || kind === 'cart-add') && modelHead) later('model', 50, loadModel);
    later('save', 0, saveProfile);
    if (replica) return true;
    if (can(4)) later('flush', 0, pump);
    else if (!timers.flush) later('flush', FLUSH_DELAY, pump);
    return true;
  }

  // One timer per kind of work. A pending timer is kept unless the work is now
  // wanted sooner (immediately), so a burst of calls arms at most two timers.
  function later(name, ms, f, replace) {
    const t = timers[name];
    if (t && !replace && (ms > 0 || t.now)) return;
    if (t) clearTimeout(t.id);
    timers[name] = {
      now: ms === 0,
      id: setTimeout(() => {
        timers[name] = 0;
        try {
          f();
        } catch (e) {
          warn('internal error: ' + (e && e.message));
        }
      }, ms),
    };
  }

  // ---- storage
  // Everything: the profile, and the outbox (which seals what is pending).
  function save() {
    saveProfile();
    saveOutbox();
  }
  // The profile only (after each burst of events). The outbox is written when
  // batches are sealed — by the flush timer, at 20 events, or when the page is
  // left — so that events recorded a moment apart still share one batch.
  function saveProfile() {
    if (outgoing.length) {
      // Tell the other tabs what happened here, in one message per burst.
      try {
        bc.postMessage(outgoing);
      } catch (e) {}
      outgoing = [];
    }
    if (!can(1)) return;
    // What another tab stored is joined in first (src/profile.rs merge), so
    // concurrent tabs lose nothing even when storage lags between processes.
    store.set('profile', core.save_profile(store.get('profile') || '', Date.now()));
  }
  // Before sealing events into batches: tabs of a first visit each made an id
  // and agree on the smallest through storage events; take it now if one is
  // already stored, so no batch is sealed under an id that is being given up.
  // Only on a first visit: a new id in storage otherwise comes from an erase,
  // which the 'erased' storage event applies (with everything it forgets).
  function agreeOnId() {
    if (!freshId) return;
    const c = store.get('cid');
    if (c && /^[0-9a-f]{32}$/.test(c) && c < core.client()) core.set(22, c);
  }
  function saveOutbox() {
    if (!can(1)) return;
    agreeOnId();
    // Take in what other tabs stored first, so nothing of theirs is overwritten.
    const other = store.get('outbox');
    if (other) core.load(other, 0, 2);
    const s = core.stored();
    s ? store.set('outbox', s) : store.remove('outbox');
  }

  // ---- delivery
  // Calls done(status, retryAfterSeconds) exactly once, asynchronously, even when
  // fetch or the shop's transport throws synchronously.
  function post(body, done) {
    Promise.resolve()
      .then(() => (transport ? transport(body) : postTo(body, body.length < 65000)))
      .then((r) => (transport ? [200, -1] : [r.status, parseFloat(r.headers.get('Retry-After') ?? -1)]))
      .then(
        (a) => done(...a),
        () => done(0, -1),
      );
  }
  // `force`: the browser is back online or the shop asked to flush; otherwise a
  // retry waits for its time (backoff, Retry-After), whatever new events arrive.
  function pump(force) {
    if (inflight || !(endpoint || transport)) return;
    if (force !== true && Date.now() < retryAt) return;
    inflight = true;
    withSendLock((release) => {
      // Inside the lock, batch after batch until the outbox is empty or a
      // request fails: take in what other tabs stored first, including the
      // tombstones of batches they delivered, so nothing is sent twice.
      const step = () => {
        const other = store.get('outbox');
        if (other) core.load(other, 0, 2);
        agreeOnId();
        const body = core.batch(-1);
        saveOutbox();
        if (!body) {
          inflight = false;
          return release();
        }
        post(body, (status, retryAfter) => {
          const wait = core.answer(status, isNaN(retryAfter) ? -1 : retryAfter, Math.random());
          if (status >= 400 && status < 500 && status !== 429) debugWarn(4, status);
          saveOutbox();
          if (wait < 0) return step();
          inflight = false;
          release();
          retryAt = Date.now() + wait;
          later('retry', wait, pump, true);
        });
      };
      step();
    });
  }
  // One tab sends at a time: a Web Lock where the browser has them, else a short
  // lease in storage. A tab that finds the lock taken tries again later.
  function withSendLock(f) {
    const busy = () => {
      inflight = false;
      later('retry', 1500 + Math.random() * 1000, pump);
    };
    const locks = navigator.locks;
    if (locks && locks.request) {
      locks
        .request('vitrina:send', { ifAvailable: true }, (lock) => (lock ? new Promise(f) : busy()))
        .catch(busy);
      return;
    }
    const now = Date.now();
    const lease = (store.get('sender') || '').split(':');
    if (lease[0] && lease[0] !== nonce && +lease[1] > now) return busy();
    store.set('sender', nonce + ':' + (now + 15000));
    f(() => {
      if ((store.get('sender') || '').startsWith(nonce + ':')) store.remove('sender');
    });
  }
  // `hidden`: the page is only hidden (it may come back, or be discarded without
  // another event): the view stays open, its time so far is kept in storage so
  // a discarded page's view is still reported by the next page.
  function leave(hidden) {
    if (hidden !== true) {
      endView();
      store.remove('view:' + nonce);
    } else if (view && can(1)) {
      store.set('view:' + nonce, JSON.stringify({ p: view.props, d: Math.round(view.acc), t: Date.now() }));
    }
    if (endpoint || transport) {
      agreeOnId();
      for (let i = 0, body = core.batch(-2); body; body = core.batch(++i)) {
        // The batches stay stored until an answer acknowledges them: if this
        // last request is lost, the next page sends them again (the server
        // deduplicates). A keepalive fetch outlives the page like a beacon and,
        // unlike a beacon, can send no Referer (which would carry the page's
        // query string); the beacon is the fallback.
        if (transport) post(body, () => {});
        else {
          // A beacon cannot carry the shop's headers: with headers, a lost request
          // waits for the next page instead.
          const beacon = () => {
            try {
              if (!headers) navigator.sendBeacon && navigator.sendBeacon(endpoint, body);
            } catch (e) {}
          };
          try {
            postTo(body, true).catch(beacon);
          } catch (e) {
            beacon();
          }
        }
      }
    }
    save();
    // Also under a key of this page's own, which no other page writes: the
    // shared outbox is read, merged and written back by every page, and the
    // next page, whose copy of storage can lag behind this one's last write,
    // may write it back without it (Chromium then drops the change it missed).
    if (core.state(1) && can(1)) store.set('left:' + nonce, core.stored());
  }
  // Takes in the batches a page stored as it was left (see leave), into the
  // shared outbox, and delivers them in a moment if nobody else has.
  function adoptLeft(key, x) {
    if (x) core.load(x, 0, 2);
    saveOutbox();
    store.remove(key);
    later('flush', FLUSH_DELAY, pump);
  }

  // ---- the page
  function endView() {
    if (!view) return;
    const acc = view.acc + (view.since != null ? performance.now() - view.since : 0);
    const props = Object.assign({}, view.props, { dwell: Math.round(acc) });
    view = null;
    record('view', props);
  }
  // What the page can show: every item marked up on it and every item the
  // shopper viewed before (the profile keeps their name, image and link), plus
  // the shop's catalogue feed if it points to one.
  function learnItems() {
    const add = (p, stock) =>
      p.item && core.add_item(String(p.item), p.name, p.image, p.url, p.category, p.brand, p.price == null ? NaN : parseFloat(String(p.price).replace(',', '.')), stock !== false);
    for (const el of document.querySelectorAll('[data-vitrina-item]')) {
      const st = attr(el, 'stock');
      add(readItem(el), !(st === 'out' || st === 'false' || st === '0'));
    }
    const profile = v.profile();
    for (const r of (profile && profile.recent) || []) add({ item: r.item, name: r.name, image: r.image, url: r.url, category: r.category, price: r.price != null ? r.price / 100 : null });
  }
  let catalogLoaded = false;
  function loadCatalog() {
    const url = config.catalog && cleanUrl(config.catalog);
    if (!url || catalogLoaded) return;
    catalogLoaded = true;
    fetch(url, { credentials: 'omit' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((list) => {
        for (const p of Array.isArray(list) ? list : list.items || []) {
          const sku = p.item ?? p.sku ?? p.id;
          if (sku == null) continue;
          const img = p.image && cleanUrl(p.image);
          const link = p.url && cleanUrl(p.url);
          core.add_item(String(sku), p.name, img, link, p.category, p.brand, p.price == null ? NaN : +p.price, p.in_stock !== false && p.stock !== false);
        }
        renderSlots(v);
      })
      .catch((e) => debugWarn(5, url, e && e.message));
  }

  // What earlier pages left in storage, in one walk of its keys: the batches of
  // pages left unacknowledged (adoptLeft), and the views of pages that were
  // hidden and then discarded (no pagehide), reported with the time they had
  // once they are clearly not coming back.
  function adoptLeftovers() {
    for (const key of store.keys()) {
      if (key.startsWith('left:')) adoptLeft(key, store.get(key));
      if (!key.startsWith('view:')) continue;
      try {
        const x = JSON.parse(store.get(key));
        if (Date.now() - x.t < 30000) continue;
        store.remove(key);
        record('view', Object.assign({}, x.p, { dwell: x.d }));
      } catch (e) {
        store.remove(key);
      }
    }
  }

  // The public item-to-item model (server: GET /v1/model/head, then the shards
  // the shopper's session and cart touch), for the ranked slots. Fetched only on
  // pages that have such a slot; shards are immutable and cached by HTTP.
  const modelUrl = config.model ? cleanUrl(config.model) : sibling('/model/head');
  let modelHead = null;
  const shards = new Set();
  function loadModel() {
    if (!modelUrl || modelHead === false || !document.querySelector('[data-vitrina-slot]:not([data-vitrina-slot="recently-viewed"])')) return;
    const base = new URL(modelUrl, location.href);
    const head = modelHead
      ? Promise.resolve(modelHead)
      : fetch(base, { credentials: 'omit' })
          .then((r) => (r.ok ? r.json() : null))
          .then((h) => {
            if (!h || typeof h.head !== 'string' || !(h.shards > 0)) return (modelHead = false), null;
            core.add_model(Uint8Array.from(atob(h.head), (c) => c.charCodeAt(0)));
            return (modelHead = h);
          });
    head
      .then((h) => {
        if (!h) return;
        const need = Array.from(core.shards_needed(view ? view.props.item : undefined, h.shards)).filter((i) => !shards.has(i));
        need.forEach((i) => shards.add(i));
        return Promise.all(
          need.map((i) =>
            fetch(new URL(h.shard_url.replace('{i}', i), base), { credentials: 'omit' })
              .then((r) => (r.ok ? r.arrayBuffer() : null))
              .then((b) => b && core.add_model(new Uint8Array(b))),
          ),
        ).then(() => need.length && renderSlots(v));
      })
      .catch((e) => {
        modelHead = modelHead || false;
        debugWarn(6, e && e.message);
      });
  }

  function scan() {
    adoptLeftovers();
    learnItems();
    loadCatalog();
    setTimeout(loadModel, 0);
    if (config.autoCapture !== false) {
      // Product lists: an impression per item seen, naming the list.
      if (lists) lists.reset();
      // Badges, like buttons and slots the shop's script draws after this scan
      // (a grid rendered late, a framework hydrating) are drawn when they appear.
      else
        lists = watchLists(
          (p) => record('impression', p),
          () => {
            if (!pageSeen) viewPage();
            if (document.querySelector('[data-vitrina-badge]:not(.vitrina-badge),[data-vitrina-like]:not(.vitrina-like),[data-vitrina-slot]:not([data-vitrina-rendered])')) render();
          },
        );
      record('page', {});
      pageSeen = 0;
      viewPage();
    }
    render();
  }
  // The page's own product (not one in a list or slot): its view starts now.
  // Also when the shop's script draws it after the scan (a framework hydrating).
  let pageSeen = 0;
  function viewPage() {
    const el = pageProduct();
    if (!el) return;
    pageSeen = 1;
    const props = readItem(el);
    if (record('view', props, false)) view = { props, since: document.visibilityState === 'visible' ? performance.now() : null, acc: 0 };
  }
  function render() {
    renderLikes(v);
    renderSlots(v);
    bindPanel(v); // [data-vitrina-panel] buttons open the shopper's panel (panel.js)
  }
  let lists = null;
  function onRoute() {
    const url = location.pathname + location.search + (config.hashRoutes ? location.hash : '');
    if (url === lastUrl) return;
    lastUrl = url;
    endView();
    // Let the router render the new route before reading it.
    setTimeout(scan, 0);
  }

  const handlers = {
    click(ev) {
      let c = clickEvent(ev.target, (i) => core.likes(i), debugWarn);
      if (!c && lists && (c = listClick(ev.target))) lists.saw(ev.target); // what is clicked was seen
      if (!c) return;
      record(c[0], c[1]);
      if (c[2]) renderLikes(v, c[2]);
      else if (c[0] === 'rec-click') leave();
      else later('render', 0, renderSlots.bind(null, v));
    },
    visibilitychange() {
      if (document.visibilityState === 'hidden') leave(true);
      else {
        core.set(29, '');
        if (view && view.since == null) {
          // Back: keep timing, unless another page already reported this view
          // (it took our stored view after we were gone long enough).
          if (can(1) && !store.get('view:' + nonce)) view = null;
          else view.since = performance.now();
          store.remove('view:' + nonce);
        }
      }
    },
    pagehide: leave,
    online: () => pump(true),
    // Another tab wrote: join its profile, take its batches, its consent choice
    // or its erase (a new client id).
    storage({ key, newValue: x }) {
      if (key === 'vitrina:profile' && x && core.load(x, Date.now(), 1)) render();
      else if (key && key.startsWith('vitrina:left:') && x) adoptLeft(key.slice(8), x);
      else if (key === 'vitrina:outbox' && x) {
        // Batches a page stored as it was left reach this one late (another
        // renderer): if nobody has delivered them in a moment, this tab does.
        core.load(x, 0, 2);
        if (core.state(1)) later('flush', FLUSH_DELAY, pump);
      }
      else if (key === 'vitrina:consent' && x) {
        core.set(23, x);
        // A withdrawal elsewhere: what this tab stored a moment before it
        // heard of it (a save timer racing the other tab's removal) goes too.
        forget();
      } else if (key === 'vitrina:erased' && x && x.slice(0, 32) !== core.client()) {
        // "<new client id><when, hex ms>": what another tab stores from before
        // that moment is not taken in (src/engine.rs erased_at).
        core.set(34, x.slice(0, 32), rand32(), parseInt(x.slice(32), 16) || Date.now());
        // Stored again at once, so that what this tab saved just before it heard
        // of the erase does not wait in storage for the next page to load it.
        save();
        view = null;
        render();
      } else if (key === 'vitrina:cid' && /^[0-9a-f]{32}$/.test(x || '') && x !== core.client()) {
        // Tabs of a first visit each made an id: all take the smallest, so one
        // browser is one client.
        if (x < core.client()) core.set(22, x);
        else if (can(1)) store.set('cid', core.client());
      } else if (key === null) render();
    },
    popstate: onRoute,
  };
  const handle = (ev) => {
    try {
      if (ev.type === 'visibilitychange' && document.visibilityState === 'hidden' && view && view.since != null) {
        view.acc += performance.now() - view.since;
        view.since = null;
      }
      handlers[ev.type](ev);
    } catch (e) {
      warn('internal error: ' + (e && e.message));
    }
  };
  document.addEventListener('click', handle, true);
  document.addEventListener('visibilitychange', handle);
  for (const t of ['pagehide', 'online', 'storage', 'popstate']) addEventListener(t, handle);
  // Single-page apps: one page view per route change, however the router moves.
  for (const m of ['pushState', 'replaceState']) {
    const orig = history[m];
    if (typeof orig !== 'function') continue;
    history[m] = function () {
      const r = orig.apply(this, arguments);
      try {
        queueMicrotask(onRoute);
      } catch (e) {}
      return r;
    };
  }
  const go = () => {
    scan();
    later('flush', 0, pump);
  };
  // After the shop's deferred scripts, which may draw the page's product: they run
  // after readyState turns "interactive", before DOMContentLoaded.
  const nav = performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
  if (document.readyState === 'loading' || (nav && !nav.domContentLoadedEventStart)) document.addEventListener('DOMContentLoaded', go, { once: true });
  else go();

  // ---- consent
  // `byShopper`: the choice was made in Vitrina's own panel, which is the only
  // thing that overrides Global Privacy Control / Do Not Track.
  function setConsent(choice, byShopper) {
    const state = choice === 'granted' ? (byShopper ? 'granted-by-shopper' : 'granted') : choice === 'denied' ? 'denied' : '';
    if (!state) return debugWarn(7, choice), false;
    core.set(23, state);
    // The choice itself is remembered (that is what makes a refusal stick).
    store.set('consent', state);
    if (can(1)) {
      store.set('cid', core.client());
      save();
    }
    if (!forget()) later('flush', 0, pump);
    return true;
  }
  // Removes what the consent state no longer allows to be stored; true when
  // nothing may be sent.
  function forget() {
    for (const k of store.keys()) if ((!can(1) && /^(profile|cid|sender)$/.test(k)) || (!(can(1) && can(2)) && /^(outbox|left:)/.test(k))) store.remove(k);
    return !can(2);
  }
  v.setConsent = (choice) => setConsent(choice, true);
  v.consentState = () => ({ state: core.stored(2), sending: can(2), keeping: can(1) });

  // ---- the public API
  const safe = (f, fallback) =>
    function () {
      try {
        return f.apply(null, arguments);
      } catch (e) {
        warn('internal error: ' + (e && e.message));
        return fallback;
      }
    };
  const item = (kind) => safe((p) => record(kind, typeof p === 'string' || typeof p === 'number' ? { item: String(p) } : p), false);
  const liking = (kind) =>
    safe((p) => {
      const ok = record(kind, typeof p === 'object' ? p : { item: String(p) });
      renderLikes(v);
      return ok;
    }, false);
  const api = {
    ready: true,
    track: safe((kind, props) => record(kind, props), false),
    view: item('view'),
    cartAdd: item('cart-add'),
    cartRemove: item('cart-remove'),
    purchase: safe((order) => record('purchase', order), false),
    like: liking('like'),
    unlike: liking('unlike'),
    share: item('share'),
    // `category`: where the search led (the results' category), sent instead of
    // the words when the shop configures search: 'category'.
    search: safe((query, o) => record('search', { query: String(query), category: o && o.category }), false),
    page: safe((url) => record('page', url ? { url: String(url) } : {}), false),
    flush: () => {
      try {
        save();
        pump(true);
      } catch (e) {}
      return Promise.resolve();
    },
    profile: safe(v.profile, null),
    status: safe(
      () => ({
        client: core.client(),
        outbox: core.state(1),
        inflight,
        dropped: core.state(2),
        persistent: store.persistent() && can(1),
        sending: can(2),
        consent: core.stored(2),
        lang,
      }),
      null,
    ),
    refresh: safe(() => {
      endView();
      scan();
    }),
    consent: safe((choice) => setConsent(choice, false), false),
    // A ranked slot as data, for shops that draw their own.
    recommend: safe((kind, o) => v.recommend(String(kind), o || {}), []),
    openPanel: safe(() => openPanel(v), Promise.resolve()), // the shopper's panel (panel.js; resolves once open)
    erase: safe(() => {
      store.clear();
      const c = randomHex(16);
      const t = Date.now();
      core.set(34, c, rand32(), t);
      // Tell the other tabs (a marker that is removed at once: only the storage
      // event matters).
      store.set('erased', c + t.toString(16));
      store.remove('erased');
      // Erasing keeps the shopper's consent choice: it is not data about them
      // but their instruction about data.
      const choice = core.stored(2);
      if (choice !== 'pending') store.set('consent', choice);
      if (can(1)) store.set('cid', c);
      view = null;
      render();
    }),
  };
  return api;
}

/**
 * Returns `start(config)`: loads the wasm (once) and starts Vitrina.
 * `init` and `wasm` are the wasm-bindgen default export and module.
 */
export function create(init, wasm) {
  let started = null;
  return function start(config) {
    if (started) return started;
    started = (async () => {
      try {
        const bad = checkConfig(config);
        if (bad) return await tell(...bad), noop();
        // JSON batches and LDP come in a larger build of the wasm, loaded only when asked for.
        await Promise.all([init({ module_or_path: config.wasmUrl, full: config.format === 'json' || +config.ldpEpsilon > 0 }), config.debug && messages()]);
        return startWith(wasm, config);
      } catch (e) {
        warn((e && e.message) || String(e));
        return noop();
      }
    })();
    return started;
  };
}
