// The recommender's side of the hand-written wasm glue (www/src/vitrina_core.js), in
// Node on the release wasm: the wasm ranks and answers with catalogue indexes, the
// glue keeps the items' names, images and links and builds the objects the page
// gets, [{item, name, image, url, price, reason, rec}], as the wasm's JSON was
// before: fields an item lacks are left out, a merged item keeps what it had,
// a reason names an item by its name (else its SKU) or a category by its last
// level. (That the wasm's answer is the old JSON is checked natively against the
// previous code on random shops: src/recommend.rs, the_answer_is_the_json_of_before.)
//
//   npm run build && node --test tests/e2e/recommend-glue.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NOW = 1_760_000_000_000;

const fnv = (s) => {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
};
const varint = (v) => {
  const o = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) o.push((v % 128) | 0x80);
  return [...o, v];
};

test('recommend: the glue builds the objects from the wasm answer', async () => {
  const glue = await import(path.join(ROOT, 'www', 'src', 'vitrina_core.js'));
  await glue.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'www', 'dist', 'vitrina_core_bg.wasm')) });
  const core = new glue.Core('glue-test', '00112233445566778899aabbccddeeff', 7);
  const view = (sku, category) => {
    assert.equal(core.set(20, 'view', NOW), true);
    core.set(0, sku);
    if (category) core.set(1, category);
    assert.equal(core.commit(NOW, 0, 1), 0);
  };
  core.add_item('S1', 'Shoe "One"', '/s1.png', '/s1', 'shoes/running', 'Stride', 89.9, true);
  core.add_item('S2', undefined, undefined, '/s2', 'shoes/running-trail', 'Stride', NaN, true);
  core.add_item('S3', 7, null, null, 'shoes/road_x', 'Cairn', 0, true);
  // Taken in again: what it says replaces, what it leaves out stays.
  core.add_item('S1', null, null, null, 'shoes/trail', null, NaN, true);
  core.add_item('S4', 'Sold out', '/s4.png', '/s4', 'shoes/trail', 'Stride', 50, false);
  core.add_item('', 'No SKU', '/x.png', '/x', 'shoes/trail', 'Stride', 50, true);
  core.add_item('S6', undefined, undefined, undefined, 'bags', undefined, 12.5, true);
  const rec = (kind, anchor, lang = 'en') => core.recommend(kind, anchor, 8, lang, NOW);
  const same = (got, want) => {
    assert.deepEqual(got, want);
    assert.equal(JSON.stringify(got), JSON.stringify(want), 'the keys in the order of before');
  };

  // Similar to S1 (its merged category, shoes/trail): the same top level first,
  // the same brand before the other; the sold-out item and the one without a SKU
  // are not there. The reason names S1 by its name.
  same(rec('similar', 'S1'), [
    { item: 'S2', url: '/s2', reason: 'Similar to Shoe "One"', rec: 'similar.0.S2' },
    { item: 'S3', name: '7', price: 0, reason: 'Similar to Shoe "One"', rec: 'similar.1.S3' },
  ]);
  same(rec('similar', 'S1', 'es')[0], { item: 'S2', url: '/s2', reason: 'Parecido a Shoe "One"', rec: 'similar.0.S2' });

  // For you after viewing shoes: reasons name the last level of a category,
  // "running-trail" as "running trail", "road_x" as "road x".
  view('S1', 'shoes/trail');
  same(rec('for-you'), [
    { item: 'S2', url: '/s2', reason: 'Popular in running trail', rec: 'for-you.0.S2' },
    { item: 'S3', name: '7', price: 0, reason: 'Popular in road x', rec: 'for-you.1.S3' },
  ]);

  // The model: people who viewed S6 (no name: its SKU is shown) viewed S2.
  const model = [...'VTM'].map((c) => c.charCodeAt(0));
  model.push(1, 0, ...varint(1), ...varint(fnv('S6')), ...varint(1), ...new Uint8Array(new Float32Array([1]).buffer), ...varint(fnv('S2')), 255);
  assert.equal(core.add_model(Uint8Array.from(model)), true);
  view('S6', 'bags');
  same(rec('for-you')[0], { item: 'S2', url: '/s2', reason: 'Because you viewed S6', rec: 'for-you.0.S2' });
  same(rec('bought-together', 'S6', 'es'), [{ item: 'S2', url: '/s2', reason: 'Combina con S6', rec: 'bought-together.0.S2' }]);
  // An item taken in again keeps its name, image, link and price; a name
  // given as a number is text.
  same(rec('similar', 'S3')[0], { item: 'S1', name: 'Shoe "One"', image: '/s1.png', url: '/s1', price: 8990, reason: 'Similar to 7', rec: 'similar.0.S1' });
  same(rec('no-such-slot'), []);
});
