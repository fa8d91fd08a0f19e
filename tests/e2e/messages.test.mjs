// The developer messages (www/src/messages.js, a chunk fetched only with `debug` or
// to explain an error) against the codes the module passes: every code used has a
// message taking its arguments, every message is used, every config check has its
// "must be", and the texts are those the module printed before they moved there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGES, invalid } from '../../www/src/messages.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.join(ROOT, 'www', 'src');
const read = (f) => fs.readFileSync(path.join(SRC, f), 'utf8');

test('every message code the module passes has a message, and every message is used', () => {
  const used = new Map(); // code -> argument counts seen
  const calls = [
    ...read('api.js').matchAll(/\b(?:debugWarn|tell)\((\d+)((?:, [^,)]+(?:\([^)]*\))?)*)\)/g),
    ...read('render.js').matchAll(/\bv\.debugWarn\((\d+)((?:, [^,)]+)*)\)/g),
    ...read('capture.js').matchAll(/\bwarn\((\d+)((?:, [^,)]+)*)\)/g),
  ];
  for (const [, code, rest] of calls) used.set(+code, rest ? rest.split(', ').length - 1 : 0);
  // checkConfig's answers: [13] and [14, key, value]
  const api = read('api.js');
  assert.match(api, /return \[13\];/);
  assert.match(api, /return \[14, k, c\[k\]\];/);
  used.set(13, 0).set(14, 2);
  for (const [code, n] of used) {
    assert.equal(typeof MESSAGES[code], 'function', `code ${code} has no message`);
    assert.ok(MESSAGES[code].length <= n, `message ${code} takes ${MESSAGES[code].length} arguments, the module passes ${n}`);
  }
  for (let code = 0; code < MESSAGES.length; code++) assert.ok(used.has(code), `message ${code} is never used`);
});

test('every config check has its message', () => {
  const keys = [...read('api.js').matchAll(/^ {2}\['(\w+)', \(x\) =>/gm)].map((m) => m[1]);
  assert.ok(keys.length >= 8, `config checks found: ${keys}`);
  for (const k of keys) assert.doesNotMatch(MESSAGES[14](k, 1), /must be undefined/, `no "must be" for config "${k}"`);
});

test('the texts are those printed before they moved to messages.js', () => {
  const want = [
    [0, ['localStorage is not available'], 'localStorage is not available; keeping data in memory'],
    [1, [], 'part of the stored outbox was unreadable and has been dropped'],
    [2, ['nope'], 'unknown event kind "nope"'],
    [3, ['view', 34], 'dropped a "view" event: missing item'],
    [4, [403], 'the server refused a batch (HTTP 403); not retried'],
    [5, ['/c.json', 'HTTP 404'], 'could not load the catalogue /c.json (HTTP 404)'],
    [6, [undefined], 'could not load the model (undefined); slots rank without it'],
    [7, ['yes'], 'consent must be "granted" or "denied"; got "yes"'],
    [8, ['buy'], 'unknown data-vitrina-action "buy"'],
    [9, [], 'a data-vitrina-action has no data-vitrina-item on or around it'],
    [10, ['for-you', new TypeError('x is not a function')], 'could not draw the "for-you" slot: TypeError: x is not a function'],
    [11, ['best'], 'unknown slot kind "best"; it stays empty'],
    [12, ['similar', new Error('boom')], 'recommend("similar") failed: Error: boom'],
    [13, [], 'init() needs a config object such as { site: "my-shop" }'],
    [14, ['site', 'bad site!'], 'config "site" must be 1-64 letters, digits, "-", "_" or "."; got "bad site!"'],
    [14, ['endpoint', 'javascript:alert(1)'], 'config "endpoint" must be an http(s) URL or a path; got "javascript:alert(1)"'],
    [14, ['transport', 'nope'], 'config "transport" must be a function (batch) => Promise; got "nope"'],
    [14, ['headers', { a: 1 }], 'config "headers" must be an object of strings; got {"a":1}'],
    [14, ['consent', 'maybe'], 'config "consent" must be "opt-in", "opt-out" or "anonymous"; got "maybe"'],
    [14, ['search', 'x'], 'config "search" must be "terms" or "category"; got "x"'],
    [14, ['ldpEpsilon', 20], 'config "ldpEpsilon" must be a number from 0.1 to 10; got 20'],
    [14, ['format', 'xml'], 'config "format" must be "binary" or "json"; got "xml"'],
    [14, ['site', undefined], 'config "site" must be 1-64 letters, digits, "-", "_" or "."; got undefined'],
    [15, ['format "json"'], 'format "json" needs the full build of the wasm: set wasmUrl to vitrina_core_full_bg.wasm'],
  ];
  for (const [code, args, text] of want) assert.equal(MESSAGES[code](...args), text);
});

// The wasm says why it refused an event by a number (src/event.rs Invalid::code);
// messages.js turns it into the text the wasm gave before (Invalid::message).
test('a refused event: the code from the wasm, the text of before', async () => {
  // The field names in the order of src/event.rs What::NAMES (the natives' texts).
  const rs = fs.readFileSync(path.join(ROOT, 'src', 'event.rs'), 'utf8');
  const names = [.../pub const NAMES: \[&'static str; \d+\] = \[([^\]]*)\]/.exec(rs)[1].matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  assert.equal(names.length, 23);
  names.forEach((n, i) => {
    assert.equal(invalid((1 << 5) | i), 'missing ' + n);
    assert.equal(invalid((2 << 5) | i), 'bad ' + n + ': empty, too long or has control characters');
    assert.equal(invalid((3 << 5) | i), n + ' out of range');
    assert.equal(invalid((4 << 5) | i), 'too many ' + n);
  });
  // Through the release wasm, as api.js records an event (its field codes: src/engine.rs Field).
  const glue = await import(path.join(SRC, 'vitrina_core.js'));
  await glue.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'www', 'dist', 'vitrina_core_bg.wasm')) });
  const core = new glue.Core('messages-test', '00112233445566778899aabbccddeeff', 7);
  const NOW = 1_760_000_000_000;
  const said = (kind, at, ...sets) => {
    core.set(20, kind, at);
    for (const s of sets) core.set(...s);
    const why = core.commit(at, 0, 1);
    return why && MESSAGES[3](kind, why);
  };
  const cases = [
    [['view', NOW], 'dropped a "view" event: missing item'],
    [['view', NOW, [0, '']], 'dropped a "view" event: bad item: empty, too long or has control characters'],
    [['view', 5, [0, 'A']], 'dropped a "view" event: timestamp out of range'],
    [['cart-add', NOW, [0, 'A'], [15, '', -1]], 'dropped a "cart-add" event: price out of range'],
    [['cart-add', NOW, [0, 'A'], [16, '', 0]], 'dropped a "cart-add" event: quantity out of range'],
    [['view', NOW, [0, 'A'], [3, 'eur']], 'dropped a "view" event: bad currency: empty, too long or has control characters'],
    [['purchase', NOW, [7, 'O-1']], 'dropped a "purchase" event: missing lines'],
    [['purchase', NOW, [7, 'O-1'], [18, 'A', 1, -2]], 'dropped a "purchase" event: line price out of range'],
    [['search', NOW, ...Array.from({ length: 17 }, (_, i) => [10, 't' + i])], 'dropped a "search" event: too many terms'],
    [['custom', NOW, [8, 'n'], [19, 'a\u0000'], [21, 'x']], 'dropped a "custom" event: bad prop: empty, too long or has control characters'],
    [['view', NOW, [0, 'A'], [12, 'x\n']], 'dropped a "view" event: bad image: empty, too long or has control characters'],
    [['view', NOW, [0, 'A']], 0],
  ];
  for (const [args, want] of cases) assert.equal(said(...args), want, JSON.stringify(args));
  // A refused begin(): the commit after it has no event to take.
  assert.equal(core.set(20, 'teleport', NOW), false);
  assert.equal(MESSAGES[3]('teleport', core.commit(NOW, 0, 1)), 'dropped a "teleport" event: missing event kind');
});
