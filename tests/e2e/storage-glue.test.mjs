// The storage side of the hand-written wasm glue (www/src/vitrina_core.js), in Node
// on the release wasm. The profile and the outbox leave the wasm as bytes; the glue
// keeps them in string storage as base64 with the browser's own btoa/atob (no
// base64 code in the wasm). What this checks:
//  - a profile stored by an earlier version (unpadded base64, the frozen v1 fixture
//    tests/fixtures/profile/v1.b64 that the Rust tests also read) still loads;
//  - what the glue stores is standard base64 that atob reads, and loads back;
//  - unreadable base64 is refused and changes nothing;
//  - an outbox larger than one 8 KB chunk of the glue's encoder survives storage.
//
//   npm run build && node --test tests/e2e/storage-glue.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// When the frozen v1 profile was last updated (tests/profile_fixtures.rs: T0 + 26 days 40 min).
const V1_UPDATED = 1_700_000_000_000 + 26 * 86_400_000 + 40 * 60_000;
const CID = '00112233445566778899aabbccddeeff';

const glue = await import(path.join(ROOT, 'www', 'src', 'vitrina_core.js'));
await glue.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'www', 'dist', 'vitrina_core_bg.wasm')) });
const core = (nonce = 7) => new glue.Core('glue-test', CID, nonce);
const lists = (c, now) => {
  const p = JSON.parse(c.save_profile('', now, true));
  return {
    recent: p.recent.map((r) => r.item),
    cart: p.cart.map((l) => l.item + ' x' + l.qty),
    likes: p.likes.map((l) => l.item),
    purchases: p.purchases.map((l) => l.item),
  };
};
const record = (c, kind, item, now, name) => {
  assert.equal(c.set(20, kind, now), true);
  c.set(0, item);
  if (name) c.set(11, name);
  assert.equal(c.commit(now, 1, 1), 0, 'accepted');
};

test('a profile stored by an earlier version (unpadded base64) loads through the glue', () => {
  const v1 = fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'profile', 'v1.b64'), 'utf8').trim();
  assert.ok(!v1.endsWith('=') && v1.length % 4 !== 0, 'the fixture is base64 without padding, as earlier versions wrote it');
  const c = core();
  assert.equal(c.load(v1, V1_UPDATED), true);
  // tests/fixtures/profile/v1.expect
  assert.deepEqual(lists(c, V1_UPDATED), {
    recent: ['SKU-7', 'SKU-6', 'SKU-5', 'SKU-3', 'SKU-2', 'SKU-1'],
    cart: ['SKU-4 x3', 'SKU-6 x1'],
    likes: ['SKU-5', 'SKU-2'],
    purchases: ['SKU-1'],
  });
  // Stored again: standard base64 with padding, the same bytes as the fixture's.
  const again = c.stored(1);
  assert.match(again, /^[A-Za-z0-9+/]*={0,2}$/);
  assert.equal(again.length % 4, 0);
  const d = core(8);
  assert.equal(d.load(again, V1_UPDATED), true);
  assert.deepEqual(lists(d, V1_UPDATED), lists(c, V1_UPDATED));
  assert.equal(d.stored(1), again);
});

test('unreadable base64 is refused and changes nothing', () => {
  const now = 1_760_000_000_000;
  const c = core();
  record(c, 'like', 'KEEP', now);
  const before = lists(c, now);
  for (const bad of ['%%%', 'a', 'AAAAA', 'garbage', '////', '\u{1F600}']) {
    assert.equal(c.load(bad, now), false, `load(${JSON.stringify(bad)})`);
    assert.equal(c.load(bad, now, 1), false, `join(${JSON.stringify(bad)})`);
    assert.deepEqual(lists(c, now), before);
    assert.equal(c.load(bad, 0, 2), false, `outbox ${JSON.stringify(bad)}`);
  }
  assert.equal(c.state(1), 1, 'the like still waits, alone');
  // Nothing stored yet: an empty string is nothing to take in, and no error.
  assert.equal(c.load('', 0, 2), true);
});

test('an outbox of more than 8 KB survives storage and is merged once', () => {
  const now = 1_760_000_000_000;
  const a = core(1);
  // 120 likes of distinct long SKUs (each string is in its batch's table), sealed
  // into three batches of 40 (storing the outbox seals what is pending).
  for (let i = 0; i < 120; i++) {
    record(a, 'like', 'SKU-' + String(i).padStart(3, '0') + '-' + 'x'.repeat(90), now + i, 'A name long enough to take room ' + i);
    if (i % 40 === 39) a.stored();
  }
  const stored = a.stored();
  assert.ok(atob(stored).length > 8192 * 1.5, `outbox of ${atob(stored).length} bytes`);
  const b = core(2);
  assert.equal(b.load(stored, 0, 2), true);
  assert.equal(b.state(1), 120);
  assert.equal(b.stored(), stored, 'the merged outbox is stored as it was');
  assert.equal(b.load(stored, 0, 2), true);
  assert.equal(b.state(1), 120, 'merged twice, kept once');
  // The readable part of a damaged outbox is kept.
  const c = core(3);
  assert.equal(c.load(stored.slice(0, -8), 0, 2), false);
  assert.equal(c.state(1), 80, 'the two whole batches are kept');
});
