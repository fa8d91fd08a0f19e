// The developer messages (www/src/messages.js, a chunk fetched only with `debug` or
// to explain an error) against the codes the module passes: every code used has a
// message taking its arguments, every message is used, every config check has its
// "must be", and the texts are those the module printed before they moved there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGES } from '../../www/src/messages.js';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'www', 'src');
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
    [3, ['view', 'item is empty'], 'dropped a "view" event: item is empty'],
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
