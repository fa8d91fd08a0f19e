// What the widget tells the shop's developers, loaded only when something is to
// be said: with `debug` on (before the widget starts, so its warnings come at
// once), for a config error, or for a config that needs the other build of the
// wasm. A production page without errors never fetches it (about 0.3 KB gzip
// less for every page: docs/size.md). It imports nothing: esbuild makes it a
// chunk of its own, next to vitrina-core.js.
//
// Indexed by the code the module passes (api.js `tell`/`debugWarn`, capture.js
// and render.js through them); the arguments follow the code.
const q = JSON.stringify;
// What each setting must be (api.js CHECKS).
const MUST = {
  site: '1-64 letters, digits, "-", "_" or "."',
  endpoint: 'an http(s) URL or a path',
  transport: 'a function (batch) => Promise',
  headers: 'an object of strings',
  consent: '"opt-in", "opt-out" or "anonymous"',
  search: '"terms" or "category"',
  ldpEpsilon: 'a number from 0.1 to 10',
  format: '"binary" or "json"',
};
// Why the wasm refused an event: src/event.rs `Invalid::code`, (what is wrong,
// from 1) * 32 + the field it names, in the order of `What::NAMES`; the texts
// are those of `Invalid::message`.
const FIELDS = [
  'event kind', 'timestamp', 'item', 'category', 'brand', 'price', 'currency', 'quantity', 'url', 'slot', 'rec', 'dwell',
  'order', 'name', 'lines', 'terms', 'line item', 'line quantity', 'line price', 'term', 'props', 'prop', 'image',
];
const WRONG = [
  ['missing ', ''],
  ['bad ', ': empty, too long or has control characters'],
  ['', ' out of range'],
  ['too many ', ''],
];
export const invalid = (code) => WRONG[(code >> 5) - 1].join(FIELDS[code & 31]);
export const MESSAGES = [
  /* 0 */ (why) => why + '; keeping data in memory',
  /* 1 */ () => 'part of the stored outbox was unreadable and has been dropped',
  /* 2 */ (kind) => 'unknown event kind "' + kind + '"',
  /* 3 */ (kind, why) => 'dropped a "' + kind + '" event: ' + invalid(why),
  /* 4 */ (status) => 'the server refused a batch (HTTP ' + status + '); not retried',
  /* 5 */ (url, why) => 'could not load the catalogue ' + url + ' (' + why + ')',
  /* 6 */ (why) => 'could not load the model (' + why + '); slots rank without it',
  /* 7 */ (choice) => 'consent must be "granted" or "denied"; got ' + q(choice),
  /* 8 */ (action) => 'unknown data-vitrina-action "' + action + '"',
  /* 9 */ () => 'a data-vitrina-action has no data-vitrina-item on or around it',
  /* 10 */ (kind, e) => 'could not draw the "' + kind + '" slot: ' + e,
  /* 11 */ (kind) => 'unknown slot kind "' + kind + '"; it stays empty',
  /* 12 */ (kind, e) => 'recommend("' + kind + '") failed: ' + e,
  /* 13 */ () => 'init() needs a config object such as { site: "my-shop" }',
  /* 14 */ (k, x) => 'config "' + k + '" must be ' + MUST[k] + '; got ' + q(x),
  /* 15 */ (what) => what + ' needs the full build of the wasm: set wasmUrl to vitrina_core_full_bg.wasm',
];
