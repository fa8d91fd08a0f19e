// `import { decode } from 'vitrina/decode'`: reads the batches the widget POSTs to
// /v1/collect, in either wire format (binary version 1, or JSON), on a backend, in a
// worker or in tests. Plain ESM, no dependencies, no wasm. The format is specified in
// docs/wire-format.md; this is a port of the Rust decoders (src/codec.rs and
// src/codec_json.rs) and throws the same messages for the same malformed input.

const MAGIC = 0x56;
const VERSION = 1;
const MAX_EVENTS = 10000;
const MAX_STRINGS = 10000;
const MAX_STRING_LEN = 4096;
const MAX_LIST = 1000;

/** Kind names by wire code (code 0 is not a kind). */
const KINDS = [
  undefined, 'page', 'view', 'impression', 'rec-click', 'cart-add', 'cart-remove',
  'purchase', 'like', 'unlike', 'search', 'share', 'custom',
];

// Field mask bits.
const ITEM = 1 << 0;
const CATEGORY = 1 << 1;
const BRAND = 1 << 2;
const PRICE = 1 << 3;
const CURRENCY = 1 << 4;
const INHERIT = 1 << 5;
const DWELL = 1 << 6;
const QTY = 1 << 7;
const URL_ = 1 << 8;
const SLOT = 1 << 9;
const REC = 1 << 10;
const ORDER = 1 << 11;
const LINES = 1 << 12;
const TERMS = 1 << 13;
const NAME = 1 << 14;
const PROPS = 1 << 15;
const KNOWN = (1 << 16) - 1;

/** The error thrown for malformed input (an `Error`; `name` is `VitrinaDecodeError`). */
export class DecodeError extends Error {
  constructor(message, offset) {
    super(message);
    this.name = 'VitrinaDecodeError';
    /** Byte offset of the problem (JSON input only). */
    if (offset !== undefined) this.offset = offset;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const M64 = (1n << 64n) - 1n;

function hex2(b) {
  return (b < 16 ? '0' : '') + b.toString(16);
}

function hexBytes(bytes) {
  let s = '';
  for (const b of bytes) s += hex2(b);
  return s;
}

function idHex(v) {
  return v.toString(16).padStart(16, '0');
}

function unzigzag(v) {
  return (v >> 1n) ^ -(v & 1n);
}

function toBytes(input) {
  if (input instanceof Uint8Array) return input; // Buffer too
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('decode() takes a Uint8Array, an ArrayBuffer, a Buffer or a JSON string');
}

/**
 * Decodes one batch. Binary unless its first non-whitespace byte is `{` (then JSON,
 * as the server decides); a string is always JSON.
 * @param {Uint8Array | ArrayBuffer | ArrayBufferView | string} input
 */
export function decode(input) {
  if (typeof input === 'string') return decodeJsonBytes(new TextEncoder().encode(input));
  const bytes = toBytes(input);
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  if (bytes[i] === 0x7b) {
    try {
      utf8.decode(bytes);
    } catch {
      throw new DecodeError('JSON batch: not valid UTF-8');
    }
    return decodeJsonBytes(bytes);
  }
  return decodeBinary(bytes);
}

// ---------------------------------------------------------------------------
// Binary (src/codec.rs).

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }

  remaining() {
    return this.buf.length - this.pos;
  }

  byte(what) {
    if (this.pos >= this.buf.length) throw new DecodeError(`batch truncated while reading ${what}`);
    return this.buf[this.pos++];
  }

  bytes(n, what) {
    if (n > this.remaining()) throw new DecodeError(`batch truncated while reading ${what}`);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** An unsigned LEB128 varint of at most 64 bits, as a BigInt. */
  varint(what) {
    // Number arithmetic is exact for the first 7 groups (49 bits).
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.byte(what);
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return BigInt(v);
      mul *= 128;
    }
    let big = BigInt(v);
    for (let i = 7; i < 10; i++) {
      const b = this.byte(what);
      if (i === 9 && b > 1) throw new DecodeError(`malformed varint in ${what}`);
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (!(b & 0x80)) return big;
    }
    throw new DecodeError(`malformed varint in ${what}`);
  }

  /** A varint that must fit in 32 bits, as a number. */
  varint32(what) {
    const v = this.varint(what);
    if (v > 0xffffffffn) throw new DecodeError(`malformed varint in ${what}`);
    return Number(v);
  }

  /** A count, checked against `max` and against the bytes left (`minBytes` each). */
  count(what, max, minBytes) {
    const n = this.varint(what);
    if (n > BigInt(max)) throw new DecodeError(`too many ${what}`);
    if (Number(n) * minBytes > this.remaining()) throw new DecodeError(`batch truncated while reading ${what}`);
    return Number(n);
  }

  string(what) {
    const n = this.varint(what);
    if (n > BigInt(MAX_STRING_LEN)) throw new DecodeError('too many bytes in a string');
    const b = this.bytes(Number(n), what);
    try {
      return utf8.decode(b);
    } catch {
      throw new DecodeError('string is not valid UTF-8');
    }
  }
}

function decodeBinary(buf) {
  const r = new Reader(buf);
  const magic = r.byte('magic');
  if (magic !== MAGIC) throw new DecodeError(`not a Vitrina batch (first byte 0x${hex2(magic)}, expected 0x56)`);
  const version = r.byte('version');
  if (version !== VERSION) {
    throw new DecodeError(`unsupported batch format version ${version} (this server reads version ${VERSION})`);
  }
  const site = r.string('site');
  const client = hexBytes(r.bytes(16, 'client id'));
  const session = r.varint32('session');
  const dropped = r.varint32('dropped count');
  const baseTs = r.varint('base timestamp');
  const nStrings = r.count('strings', MAX_STRINGS, 1);
  const table = new Array(nStrings);
  for (let i = 0; i < nStrings; i++) table[i] = r.string('string table');
  const get = (what) => {
    const i = r.varint(what);
    if (i >= BigInt(table.length)) {
      throw new DecodeError(`string index ${i} is past the end of the string table`);
    }
    return table[Number(i)];
  };
  const nEvents = r.count('events', MAX_EVENTS, 4);
  const events = [];
  let prevId = 0n;
  let prevTs = baseTs;
  let prev;
  for (let n = 0; n < nEvents; n++) {
    const code = r.byte('event kind');
    const kind = KINDS[code];
    if (kind === undefined) throw new DecodeError(`unknown event kind ${code}`);
    const mask = r.varint32('field mask');
    if (mask & ~KNOWN) throw new DecodeError('malformed varint in field mask');
    const id = BigInt.asUintN(64, prevId + unzigzag(r.varint('event id')));
    const ts = BigInt.asUintN(64, prevTs + unzigzag(r.varint('timestamp')));
    const e = { id: idHex(id), kind, ts: Number(ts) };
    if (mask & INHERIT) {
      if (!prev) throw new DecodeError('first event inherits fields from no previous event');
      for (const k of ['item', 'category', 'brand', 'price', 'currency']) {
        if (prev[k] !== undefined) e[k] = prev[k];
      }
    }
    if (mask & ITEM) e.item = get('item');
    if (mask & CATEGORY) e.category = get('category');
    if (mask & BRAND) e.brand = get('brand');
    if (mask & PRICE) e.price = Number(unzigzag(r.varint('price'))) / 100;
    if (mask & CURRENCY) e.currency = get('currency');
    if (mask & DWELL) e.dwellMs = r.varint32('dwell');
    if (mask & QTY) e.qty = r.varint32('quantity');
    if (mask & URL_) e.url = get('url');
    if (mask & SLOT) e.slot = get('slot');
    if (mask & REC) e.rec = get('rec');
    if (mask & ORDER) e.order = get('order');
    if (mask & LINES) {
      // A count of 0 is allowed and means no lines (as when the bit is clear).
      const count = r.count('lines', MAX_LIST, 3);
      const lines = [];
      for (let i = 0; i < count; i++) {
        const line = { item: get('line item'), qty: r.varint32('line quantity') };
        const p = r.varint('line price');
        if (p !== 0n) line.price = Number(unzigzag(p - 1n)) / 100;
        lines.push(line);
      }
      if (count) e.lines = lines;
    }
    if (mask & TERMS) {
      const count = r.count('terms', MAX_LIST, 1);
      const terms = [];
      for (let i = 0; i < count; i++) terms.push(get('term'));
      if (count) e.terms = terms;
    }
    if (mask & NAME) e.name = get('name');
    if (mask & PROPS) {
      const count = r.count('props', MAX_LIST, 2);
      const pairs = [];
      for (let i = 0; i < count; i++) pairs.push([get('prop key'), get('prop value')]);
      if (count) e.props = Object.fromEntries(pairs);
    }
    prevId = id;
    prevTs = ts;
    prev = e;
    events.push(e);
  }
  if (r.remaining() !== 0) throw new DecodeError(`${r.remaining()} unexpected bytes after the last event`);
  return { version, site, client, session, dropped, events };
}

// ---------------------------------------------------------------------------
// JSON (src/codec_json.rs): the same strict, schema-directed parser, over UTF-8
// bytes so that offsets and messages match the Rust decoder's.

const U64_MAX = M64;
const I64_MAX = (1n << 63n) - 1n;
const KEY_ECHO = 32;

class JsonParser {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
  }

  fail(at, what) {
    throw new DecodeError(`JSON batch: ${what} at byte ${at}`, at);
  }

  peek() {
    return this.b[this.pos];
  }

  ws() {
    for (;;) {
      const c = this.b[this.pos];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  nextByte() {
    this.ws();
    const c = this.b[this.pos];
    if (c === undefined) this.fail(this.pos, 'unexpected end of input');
    return c;
  }

  expect(c, what) {
    if (this.nextByte() !== c) this.fail(this.pos, `expected ${what}`);
    this.pos++;
  }

  /** Next member of an object (close `}`) or array (close `]`); false at its end. */
  more(close, state) {
    const c = this.nextByte();
    if (c === close) {
      this.pos++;
      return false;
    }
    if (!state.first) {
      if (c !== 0x2c) this.fail(this.pos, close === 0x7d ? "expected ',' or '}'" : "expected ',' or ']'");
      this.pos++;
    }
    state.first = false;
    return true;
  }

  key() {
    if (this.nextByte() !== 0x22) this.fail(this.pos, 'expected a key (a string)');
    const at = this.pos;
    const k = this.rawString('key');
    this.expect(0x3a, "':' after a key");
    return [k, at];
  }

  string(what) {
    if (this.nextByte() !== 0x22) this.fail(this.pos, `expected ${what}`);
    return this.rawString(what);
  }

  rawString(what) {
    const b = this.b;
    const start = this.pos;
    this.pos++;
    let out = '';
    let len = 0; // UTF-8 bytes of `out`
    for (;;) {
      const run = this.pos;
      while (this.pos < b.length) {
        const c = b[this.pos];
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        this.pos++;
      }
      if (this.pos > run) {
        out += utf8.decode(b.subarray(run, this.pos));
        len += this.pos - run;
      }
      if (len > MAX_STRING_LEN) this.fail(start, `${what} is too long`);
      const c = b[this.pos];
      if (c === undefined) this.fail(this.pos, 'unexpected end of input');
      if (c === 0x22) {
        this.pos++;
        return out;
      }
      if (c !== 0x5c) this.fail(this.pos, 'bad string: raw control character (escape it)');
      const escAt = this.pos;
      this.pos++;
      const e = b[this.pos];
      let ch;
      switch (e) {
        case undefined: this.fail(this.pos, 'unexpected end of input'); break;
        case 0x22: ch = '"'; break;
        case 0x5c: ch = '\\'; break;
        case 0x2f: ch = '/'; break;
        case 0x62: ch = '\b'; break;
        case 0x66: ch = '\f'; break;
        case 0x6e: ch = '\n'; break;
        case 0x72: ch = '\r'; break;
        case 0x74: ch = '\t'; break;
        case 0x75: {
          this.pos++;
          const hi = this.hex4();
          let cp = hi;
          const lone = 'bad string: lone surrogate in \\u escape';
          if (hi >= 0xd800 && hi < 0xdc00) {
            if (b[this.pos] !== 0x5c || b[this.pos + 1] !== 0x75) this.fail(escAt, lone);
            this.pos += 2;
            const lo = this.hex4();
            if (!(lo >= 0xdc00 && lo < 0xe000)) this.fail(escAt, lone);
            cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
          } else if (hi >= 0xdc00 && hi < 0xe000) {
            this.fail(escAt, lone);
          }
          out += String.fromCodePoint(cp);
          len += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
          continue;
        }
        default: this.fail(escAt, 'bad string: unknown escape');
      }
      this.pos++;
      out += ch;
      len += 1;
    }
  }

  hex4() {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.b[this.pos];
      if (c === undefined) this.fail(this.pos, 'unexpected end of input');
      const d = hexDigit(c);
      if (d < 0) this.fail(this.pos, 'bad string: \\u needs four hex digits');
      v = v * 16 + d;
      this.pos++;
    }
    return v;
  }

  /** `-`? then `0` or [1-9][0-9]*, no fraction or exponent: [negative, BigInt, start]. */
  integer(what) {
    this.nextByte();
    const start = this.pos;
    const neg = this.b[this.pos] === 0x2d;
    if (neg) this.pos++;
    const digits = this.pos;
    while (this.b[this.pos] >= 0x30 && this.b[this.pos] <= 0x39) this.pos++;
    const n = this.pos - digits;
    if (n === 0) this.fail(start, `expected ${what}`);
    if (n > 1 && this.b[digits] === 0x30) this.fail(start, 'bad number: leading zero');
    const c = this.b[this.pos];
    if (c === 0x2e || c === 0x65 || c === 0x45) this.fail(start, 'bad number: not an integer (prices are in hundredths)');
    let v = 0n;
    if (n <= 15) {
      let x = 0;
      for (let i = digits; i < this.pos; i++) x = x * 10 + (this.b[i] - 0x30);
      v = BigInt(x);
    } else {
      let s = '';
      for (let i = digits; i < this.pos; i++) s += String.fromCharCode(this.b[i]);
      v = BigInt(s);
    }
    if (v > U64_MAX) this.fail(start, `bad number: ${what}`);
    return [neg, v, start];
  }

  u64(what) {
    const [neg, v, at] = this.integer(what);
    if (neg && v !== 0n) this.fail(at, `bad number: ${what}`);
    return v;
  }

  u32(what) {
    this.ws();
    const at = this.pos;
    const v = this.u64(what);
    if (v > 0xffffffffn) this.fail(at, `bad number: ${what}`);
    return Number(v);
  }

  i64(what) {
    const [neg, v, at] = this.integer(what);
    if (neg ? v > I64_MAX + 1n : v > I64_MAX) this.fail(at, `bad number: ${what}`);
    return neg ? -v : v;
  }

  hexId() {
    this.ws();
    const at = this.pos;
    const s = this.string('an event id (hex string)');
    const bad = 'bad event id: 1 to 16 hex digits';
    // Hex digits are ASCII, so a valid id has as many bytes as UTF-16 units.
    if (s.length === 0 || utf8Len(s) > 16) this.fail(at, bad);
    for (let i = 0; i < s.length; i++) if (hexDigit(s.charCodeAt(i)) < 0) this.fail(at, bad);
    return idHex(BigInt('0x' + s));
  }

  unknown(k, at) {
    const bytes = new TextEncoder().encode(k);
    let end = Math.min(bytes.length, KEY_ECHO);
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    this.fail(at, `unknown key "${utf8.decode(bytes.subarray(0, end))}"`);
  }

  once(seen, bit, k, at) {
    if (seen.v & (1 << bit)) this.fail(at, `duplicate key "${k}"`);
    seen.v |= 1 << bit;
  }
}

function hexDigit(c) {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function utf8Len(s) {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

const cents = (v) => Number(v) / 100;

const EVENT_KEYS = ['i', 'k', 't', 'it', 'ca', 'br', 'p', 'cu', 'q', 'u', 'sl', 'r', 'dw', 'o', 'l', 'te', 'na', 'pr'];
const STRING_FIELDS = {
  3: ['item', 'item (string)'],
  4: ['category', 'category (string)'],
  5: ['brand', 'brand (string)'],
  7: ['currency', 'currency (string)'],
  9: ['url', 'url (string)'],
  10: ['slot', 'slot (string)'],
  11: ['rec', 'rec (string)'],
  13: ['order', 'order (string)'],
  16: ['name', 'name (string)'],
};

function jsonEvent(p) {
  p.ws();
  const start = p.pos;
  p.expect(0x7b, 'an event object');
  const e = {};
  let id, kind, ts;
  const seen = { v: 0 };
  const st = { first: true };
  while (p.more(0x7d, st)) {
    const [k, at] = p.key();
    const bit = EVENT_KEYS.indexOf(k);
    if (bit < 0) p.unknown(k, at);
    p.once(seen, bit, k, at);
    const sf = STRING_FIELDS[bit];
    if (sf) {
      e[sf[0]] = p.string(sf[1]);
      continue;
    }
    switch (bit) {
      case 0: id = p.hexId(); break;
      case 1: {
        p.ws();
        const kat = p.pos;
        const name = p.string('a kind name (string)');
        if (KINDS.indexOf(name) < 1) p.fail(kat, 'bad kind (unknown name)');
        kind = name;
        break;
      }
      case 2: ts = Number(p.u64('timestamp (unsigned 64-bit integer)')); break;
      case 6: e.price = cents(p.i64('price (64-bit integer, hundredths)')); break;
      case 8: e.qty = p.u32('quantity (unsigned 32-bit integer)'); break;
      case 12: e.dwellMs = p.u32('dwell (unsigned 32-bit integer)'); break;
      case 14: e.lines = jsonLines(p); break;
      case 15: {
        p.expect(0x5b, 'terms (an array of strings)');
        const terms = [];
        const s = { first: true };
        while (p.more(0x5d, s)) {
          if (terms.length === MAX_LIST) p.fail(p.pos, 'too many terms');
          terms.push(p.string('a term (string)'));
        }
        e.terms = terms;
        break;
      }
      default: {
        p.expect(0x7b, 'props (an object of strings)');
        const pairs = [];
        const s = { first: true };
        while (p.more(0x7d, s)) {
          if (pairs.length === MAX_LIST) p.fail(p.pos, 'too many props');
          const [pk] = p.key();
          pairs.push([pk, p.string('a prop value (string)')]);
        }
        e.props = pairs;
      }
    }
  }
  for (const [bit, name] of [[0, 'i'], [1, 'k'], [2, 't']]) {
    if (!(seen.v & (1 << bit))) p.fail(start, `missing key "${name}"`);
  }
  return shape(id, kind, ts, e);
}

/** Builds the event with its keys in the binary decoder's order. */
function shape(id, kind, ts, e) {
  const out = { id, kind, ts };
  for (const k of ['item', 'category', 'brand', 'price', 'currency', 'dwellMs', 'qty', 'url', 'slot', 'rec', 'order', 'lines', 'terms', 'name']) {
    if (k === 'lines' && e.lines && e.lines.length === 0) continue;
    if (k === 'terms' && e.terms && e.terms.length === 0) continue;
    if (e[k] !== undefined) out[k] = e[k];
  }
  if (e.props && e.props.length > 0) out.props = Object.fromEntries(e.props);
  return out;
}

function jsonLines(p) {
  p.expect(0x5b, 'lines (an array of objects)');
  const out = [];
  const st = { first: true };
  while (p.more(0x5d, st)) {
    if (out.length === MAX_LIST) p.fail(p.pos, 'too many lines');
    p.ws();
    const start = p.pos;
    p.expect(0x7b, 'a line object');
    const line = {};
    let price;
    const seen = { v: 0 };
    const s = { first: true };
    while (p.more(0x7d, s)) {
      const [k, at] = p.key();
      const bit = ['it', 'q', 'p'].indexOf(k);
      if (bit < 0) p.unknown(k, at);
      p.once(seen, bit, k, at);
      if (bit === 0) line.item = p.string('line item (string)');
      else if (bit === 1) line.qty = p.u32('line quantity (unsigned 32-bit integer)');
      else price = cents(p.i64('line price (64-bit integer, hundredths)'));
    }
    for (const [bit, name] of [[0, 'it'], [1, 'q']]) {
      if (!(seen.v & (1 << bit))) p.fail(start, `missing key "${name}"`);
    }
    out.push(price === undefined ? { item: line.item, qty: line.qty } : { item: line.item, qty: line.qty, price });
  }
  return out;
}

function decodeJsonBytes(bytes) {
  const p = new JsonParser(bytes);
  p.expect(0x7b, "'{' (a JSON batch is an object)");
  const batch = { version: VERSION, site: '', client: '', session: 0, dropped: 0, events: [] };
  const seen = { v: 0 };
  const st = { first: true };
  while (p.more(0x7d, st)) {
    const [k, at] = p.key();
    const bit = ['v', 's', 'c', 'n', 'd', 'e'].indexOf(k);
    if (bit < 0) p.unknown(k, at);
    if (seen.v === 0 && bit !== 0) p.fail(at, 'expected "v" as the first key');
    p.once(seen, bit, k, at);
    switch (bit) {
      case 0: {
        p.ws();
        const vat = p.pos;
        const v = p.u64('version (integer)');
        if (v !== BigInt(VERSION)) p.fail(vat, `unsupported batch format version ${v} (this decoder reads version 1)`);
        break;
      }
      case 1: batch.site = p.string('site (string)'); break;
      case 2: {
        p.ws();
        const cat = p.pos;
        const c = p.string('client id (string)');
        let ok = c.length === 32;
        for (let i = 0; ok && i < 32; i++) ok = hexDigit(c.charCodeAt(i)) >= 0;
        if (!ok) p.fail(cat, 'bad client id: 32 hex digits');
        batch.client = c.toLowerCase();
        break;
      }
      case 3: batch.session = p.u32('session (unsigned 32-bit integer)'); break;
      case 4: batch.dropped = p.u32('dropped count (unsigned 32-bit integer)'); break;
      default: {
        p.expect(0x5b, 'events (an array)');
        const s = { first: true };
        while (p.more(0x5d, s)) {
          if (batch.events.length === MAX_EVENTS) p.fail(p.pos, 'too many events');
          batch.events.push(jsonEvent(p));
        }
      }
    }
  }
  for (const [bit, name] of [[0, 'v'], [1, 's'], [2, 'c'], [3, 'n'], [4, 'd'], [5, 'e']]) {
    if (!(seen.v & (1 << bit))) p.fail(Math.max(p.pos - 1, 0), `missing key "${name}"`);
  }
  p.ws();
  if (p.pos !== bytes.length) p.fail(p.pos, 'unexpected data after the batch');
  return batch;
}
