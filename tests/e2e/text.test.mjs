// The JS side of text the shop or the shopper typed (www/src/text.js): prices
// written as text and search queries. The wasm used to do this; it is checked
// against the Rust reference (src/event.rs parse_price, normalize_terms) on the
// corpus that reference wrote, tests/fixtures/text/*.jsonl (a Rust test keeps the
// corpus in step with it). Terms are words of letters, marks and digits by the
// browser's Unicode tables, lower-cased in every script, where the Rust table took
// every character from U+00C0 up and lower-cased ASCII, Latin-1, Greek and
// Cyrillic: the corpus keeps to characters both agree on, and the last test shows
// the rest.
//
//   node --test tests/e2e/text.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathOf, priceOf, termsOf } from '../../www/src/text.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = (name) =>
  fs
    .readFileSync(path.join(ROOT, 'tests', 'fixtures', 'text', name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('prices: what the Rust reference read, on its whole corpus', () => {
  const cases = corpus('prices.jsonl');
  assert.ok(cases.length > 2000 && cases.some(([, c]) => c !== null) && cases.some(([, c]) => c === null));
  for (const [s, cents] of cases) {
    const p = priceOf(s);
    // The wasm takes units and rounds to the hundredth (src/event.rs price_from_f64).
    assert.equal(Number.isNaN(p) ? null : Math.floor(p * 100 + 0.5), cents, JSON.stringify(s));
  }
});

test('terms: what the Rust reference made of queries, on its whole corpus', () => {
  const cases = corpus('terms.jsonl');
  assert.ok(cases.length > 600 && cases.some(([, t]) => t.length === 16) && cases.some(([, t]) => t.some((w) => [...w].length === 32)));
  for (const [q, terms] of cases) assert.deepEqual(termsOf(q), terms, JSON.stringify(q));
});

test('page paths: what the Rust reference cut, on its whole corpus', () => {
  const cases = corpus('paths.jsonl');
  assert.ok(cases.length > 600);
  for (const [u, path] of cases) assert.equal(pathOf(u), path, JSON.stringify(u));
});

test('terms: every script is lower-cased now, not only Latin-1, Greek and Cyrillic', () => {
  assert.deepEqual(termsOf('ŁÓDŹ Kraków'), ['łódź', 'kraków']);
  assert.deepEqual(termsOf('ԱՐԵՎ ＡＢＣ'), ['արեվ', 'ａｂｃ']);
  assert.deepEqual(termsOf('ΟΔΟΣ'), ['οδος']);
  // A combining accent stays in its word; emoji and other symbols split words.
  assert.deepEqual(termsOf('Cafe\u0301 👟Shoes'), ['cafe\u0301', 'shoes']);
  // Punctuation and symbols still split words, wherever they come from.
  assert.deepEqual(termsOf('a—b“c”d€e、f（g）'), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
});
