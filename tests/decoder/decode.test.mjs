// The JS decoder (www/npm/decode.js, `vitrina/decode`) against the real Rust codec:
// `cargo run --example encode_fixture` prints batches encoded by src/codec.rs and
// src/codec_json.rs, malformed and fuzzed inputs, and what the Rust decoders made of
// each (the batch, or the error message). The JS decoder must agree on every one.
//
// Run: node --test tests/decoder/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { decode, DecodeError } from '../../www/npm/decode.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function fixtures() {
  const res = spawnSync('cargo', ['run', '--quiet', '-p', 'vitrina', '--example', 'encode_fixture'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (res.error) throw new Error(`cannot run cargo (${res.error.message}): the fixtures come from the Rust encoder`);
  if (res.status !== 0) throw new Error(`cargo run --example encode_fixture failed:\n${res.stderr}`);
  return JSON.parse(res.stdout).fixtures;
}

const ALL = fixtures();
const byName = Object.fromEntries(ALL.map((f) => [f.name, f]));

/** The Rust decoder's view, in the shape the JS decoder returns. */
function expected(x) {
  const price = (c) => Number(BigInt(c)) / 100;
  return {
    ...x,
    events: x.events.map((e) => {
      const out = { ...e, ts: Number(BigInt(e.ts)) };
      delete out.priceCents;
      if (e.priceCents !== undefined) out.price = price(e.priceCents);
      if (e.lines) {
        out.lines = e.lines.map((l) => {
          const o = { item: l.item, qty: l.qty };
          if (l.priceCents !== undefined) o.price = price(l.priceCents);
          return o;
        });
      }
      if (e.props) out.props = Object.fromEntries(e.props);
      return out;
    }),
  };
}

function input(f) {
  return f.hex !== undefined ? Buffer.from(f.hex, 'hex') : f.json;
}

function check(f, inp = input(f)) {
  if (f.expect) {
    assert.deepStrictEqual(decode(inp), expected(f.expect), f.name);
  } else {
    assert.throws(() => decode(inp), (e) => {
      assert.ok(e instanceof Error && e instanceof DecodeError, `${f.name}: ${e}`);
      assert.equal(e.message, f.error, f.name);
      return true;
    });
  }
}

test('the fixtures cover what they should', () => {
  const count = (re, ok) => ALL.filter((f) => re.test(f.name) && (ok === undefined || !!f.expect === ok)).length;
  assert.ok(count(/^bad\.bin/, false) >= 20);
  assert.ok(count(/^bad\.json/, false) >= 30);
  assert.ok(count(/^fuzz\.bin/, true) >= 20, 'some mutated binary batches still decode');
  assert.ok(count(/^fuzz\.bin/, false) >= 300);
  assert.ok(count(/^fuzz\.json/, true) >= 20, 'some mutated JSON batches still decode');
  assert.ok(count(/^fuzz\.json/, false) >= 300);
});

test('decodes batches from the Rust encoder, field by field, in both formats', () => {
  for (const name of ['worked', 'standard', 'every', 'empty']) {
    const bin = byName[`${name}.bin`];
    const json = byName[`${name}.json`];
    check(bin);
    check(json);
    // Same information in both formats.
    assert.deepStrictEqual(decode(input(bin)), decode(input(json)), name);
    assert.deepStrictEqual(bin.expect, json.expect, name);
  }
});

test('the worked example reads as documented', () => {
  const b = decode(input(byName['worked.bin']));
  assert.equal(b.version, 1);
  assert.equal(b.site, 'demo');
  assert.equal(b.client, '000102030405060708090a0b0c0d0e0f');
  assert.equal(b.session, 3);
  assert.equal(b.dropped, 0);
  assert.deepEqual(b.events.map((e) => e.kind), ['page', 'view', 'view', 'cart-add']);
  assert.deepEqual(b.events[0], { id: '1f3a5c7e00000001', kind: 'page', ts: 1700000000000, url: '/shoes/' });
  // The second view and the cart add inherit item, category, brand, price, currency.
  assert.deepEqual(b.events[2], {
    id: '1f3a5c7e00000003', kind: 'view', ts: 1700000020000, item: 'SKU-000123', category: 'shoes/running',
    brand: 'Norte', price: 89.9, currency: 'EUR', dwellMs: 1800,
  });
  assert.deepEqual(b.events[3], {
    id: '1f3a5c7e00000004', kind: 'cart-add', ts: 1700000025000, item: 'SKU-000123', category: 'shoes/running',
    brand: 'Norte', price: 89.9, currency: 'EUR', qty: 1,
  });
});

test('odd values survive: u64 ids, negative and huge prices, Unicode, duplicate prop keys', () => {
  const b = decode(input(byName['every.bin']));
  assert.equal(b.events[0].id, 'ffffffffffffffff');
  assert.equal(b.events[0].item, 'a"b\\c</script>');
  assert.equal(b.events[0].brand, 'Ñandú 😀');
  assert.deepEqual(b.events[0].lines[1], { item: 'line-2', qty: 7 });
  assert.equal(b.events[0].lines[2].price, -0.03);
  assert.equal(b.events[0].qty, 4294967295);
  // Last of duplicate keys; __proto__ is an own property, not a prototype.
  assert.equal(b.events[0].props.k, '2');
  assert.ok(Object.hasOwn(b.events[0].props, '__proto__'));
  assert.equal(Object.getPrototypeOf(b.events[0].props), Object.prototype);
  assert.equal(b.client, 'ffffffffffffffffffffffffffffffff');
  assert.equal(b.session, 4294967295);
});

test('accepts Uint8Array, ArrayBuffer, Buffer, other views and JSON as string or bytes', () => {
  const f = byName['worked.bin'];
  const want = expected(f.expect);
  const buf = Buffer.from(f.hex, 'hex');
  const u8 = new Uint8Array(buf);
  assert.deepStrictEqual(decode(buf), want);
  assert.deepStrictEqual(decode(u8), want);
  assert.deepStrictEqual(decode(u8.buffer), want);
  const padded = new Uint8Array(u8.length + 8);
  padded.set(u8, 4);
  assert.deepStrictEqual(decode(new DataView(padded.buffer, 4, u8.length)), want);
  assert.deepStrictEqual(decode(padded.subarray(4, 4 + u8.length)), want);
  const j = byName['worked.json'].json;
  assert.deepStrictEqual(decode(j), want);
  assert.deepStrictEqual(decode(Buffer.from(`  \n${j}\n`)), want);
  assert.deepStrictEqual(decode(new TextEncoder().encode(j).buffer), want);
  assert.throws(() => decode(42), TypeError);
  assert.throws(() => decode(Buffer.from([0x7b, 0xff, 0x7d])), /^VitrinaDecodeError: JSON batch: not valid UTF-8$/);
});

test('malformed binary batches throw the Rust decoder\'s message', () => {
  for (const f of ALL.filter((f) => f.name.startsWith('bad.bin'))) check(f);
  const good = Buffer.from(byName['worked.bin'].hex, 'hex');
  const msg = (b) => {
    try {
      decode(b);
    } catch (e) {
      return e.message;
    }
    assert.fail('did not throw');
  };
  assert.equal(msg(good.subarray(0, good.length - 1)), 'batch truncated while reading quantity');
  assert.equal(msg(new Uint8Array()), 'batch truncated while reading magic');
  assert.equal(msg(Buffer.from([0x57, 1])), 'not a Vitrina batch (first byte 0x57, expected 0x56)');
  assert.equal(msg(Buffer.from([0x56, 2])), 'unsupported batch format version 2 (this server reads version 1)');
  const outOfRange = ALL.find((f) => f.name.endsWith(' string index out of range'));
  assert.equal(msg(input(outOfRange)), 'string index 1 is past the end of the string table');
  assert.equal(msg(Buffer.concat([good, Buffer.from([0])])), '1 unexpected bytes after the last event');
  for (let cut = 0; cut < good.length; cut++) assert.match(msg(good.subarray(0, cut)), /^batch truncated while reading /);
});

test('malformed JSON batches throw the Rust decoder\'s message, with the byte offset', () => {
  for (const f of ALL.filter((f) => f.name.startsWith('bad.json'))) check(f);
  try {
    decode('{"v":1,"zz":1}');
    assert.fail('did not throw');
  } catch (e) {
    assert.equal(e.message, 'JSON batch: unknown key "zz" at byte 7');
    assert.equal(e.offset, 7);
  }
});

test('agrees with the Rust decoders on 1200 mutated batches', () => {
  for (const f of ALL.filter((f) => f.name.startsWith('fuzz.'))) check(f);
});

test('arbitrary bytes throw DecodeError or decode, never anything else', () => {
  let x = 0x2545f491;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let n = 0; n < 5000; n++) {
    const b = new Uint8Array(rnd() % 64);
    for (let i = 0; i < b.length; i++) b[i] = rnd() & 0xff;
    if (b.length && n % 2) b[0] = 0x56;
    if (b.length > 1 && n % 4 === 1) b[1] = 1;
    try {
      decode(b);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `${Buffer.from(b).toString('hex')}: ${e}`);
    }
  }
});

test('package.json exports ./decode with its types, and ships both files', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/npm/package.json'), 'utf8'));
  assert.deepEqual(pkg.exports['./decode'], { types: './decode.d.ts', default: './decode.js' });
  assert.deepEqual(Object.keys(pkg.exports['./decode']), ['types', 'default'], 'types first');
  for (const f of ['decode.js', 'decode.d.ts']) {
    assert.ok(pkg.files.includes(f), f);
    assert.ok(fs.existsSync(path.join(ROOT, 'www/npm', f)), f);
  }
});

test('sizes of the standard sequence (reported, see docs/wire-format.md)', (t) => {
  const bin = Buffer.from(byName['standard.bin'].hex, 'hex');
  const json = Buffer.from(byName['standard.json'].json);
  const n = byName['standard.bin'].expect.events.length;
  const per = (b) => (b.length / n).toFixed(2);
  const gz = (b) => zlib.gzipSync(b, { level: 9 });
  // node's zlib at level 9 (docs/wire-format.md quotes GNU gzip -9, a few bytes apart).
  t.diagnostic(`binary ${bin.length} B (${per(bin)}/event), zlib -9 ${gz(bin).length} B (${per(gz(bin))}/event)`);
  t.diagnostic(`json ${json.length} B (${per(json)}/event), zlib -9 ${gz(json).length} B (${per(gz(json))}/event)`);
  assert.equal(n, 25);
  assert.ok(bin.length / n < 13, 'the binary format stays near 12 bytes per event');
});
