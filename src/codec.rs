//! The compact binary batch format: one codec for the browser (encode) and the
//! server (decode). The format is specified byte by byte in `docs/wire-format.md`;
//! keep the two in step.
//!
//! The key design decision is that a batch is self-contained: a header, a per-batch
//! string table, then events whose fields are varints, deltas against the previous
//! event, or indexes into the string table. A product view of an item seen in the
//! previous event costs about seven bytes.
//!
//! Decoding never panics and never allocates more than a small multiple of its
//! input: every count is checked against the bytes that remain before anything is
//! reserved.

use crate::event::{Event, Kind, Line};
use std::fmt;

/// First byte of every binary batch (`'V'`). A JSON batch starts with `{` instead.
pub const MAGIC: u8 = 0x56;
/// The format version this codec writes and reads.
pub const VERSION: u8 = 1;
/// Most events a decoder accepts in one batch.
pub const MAX_EVENTS: usize = 10_000;
/// Most strings in one batch's table.
pub const MAX_STRINGS: usize = 10_000;
/// Longest string in the table, in bytes.
pub const MAX_STRING_LEN: usize = 4096;
/// Decoded strings may take at most this many times the input's size (plus 64 KB).
pub const MAX_EXPANSION: usize = 16;
/// Longest list inside one event (lines, terms, props).
pub const MAX_LIST: usize = 1000;

/// A batch of events from one client.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Batch {
    /// The shop's site id.
    pub site: String,
    /// The random client id (16 bytes).
    pub client: [u8; 16],
    /// The session number on that client.
    pub session: u32,
    /// How many events the client's outbox dropped (oldest first) since its last
    /// delivered batch, because it was full.
    pub dropped: u32,
    /// The events, in the order they happened.
    pub events: Vec<Event>,
}

/// Why a batch could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended in the middle of `what`.
    Truncated(&'static str),
    /// The first byte is not the format's magic byte.
    BadMagic(u8),
    /// A version this decoder does not know.
    UnsupportedVersion(u8),
    /// A varint longer than 10 bytes or wider than its field.
    BadVarint(&'static str),
    /// A string that is not UTF-8.
    BadUtf8,
    /// A string-table index past the end of the table.
    BadStringIndex(u64),
    /// An unknown event kind code.
    BadKind(u8),
    /// A count larger than the format allows.
    TooMany(&'static str),
    /// Bytes left after the last event.
    TrailingBytes(usize),
    /// An event relies on a previous event's fields but is the first one.
    NothingToInherit,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated(w) => write!(f, "batch truncated while reading {w}"),
            DecodeError::BadMagic(b) => write!(f, "not a Vitrina batch (first byte 0x{b:02x}, expected 0x56)"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported batch format version {v} (this server reads version {VERSION})"),
            DecodeError::BadVarint(w) => write!(f, "malformed varint in {w}"),
            DecodeError::BadUtf8 => write!(f, "string is not valid UTF-8"),
            DecodeError::BadStringIndex(i) => write!(f, "string index {i} is past the end of the string table"),
            DecodeError::BadKind(k) => write!(f, "unknown event kind {k}"),
            DecodeError::TooMany(w) => write!(f, "too many {w}"),
            DecodeError::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the last event"),
            DecodeError::NothingToInherit => write!(f, "first event inherits fields from no previous event"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Field-presence bits of an event's mask (see `docs/wire-format.md`).
pub mod bits {
    /// `item` present (string index).
    pub const ITEM: u32 = 1 << 0;
    /// `category` present (string index).
    pub const CATEGORY: u32 = 1 << 1;
    /// `brand` present (string index).
    pub const BRAND: u32 = 1 << 2;
    /// `price` present (zigzag varint, hundredths).
    pub const PRICE: u32 = 1 << 3;
    /// `currency` present (string index).
    pub const CURRENCY: u32 = 1 << 4;
    /// Item, category, brand, price and currency not present in the mask are
    /// those of the previous event.
    pub const INHERIT: u32 = 1 << 5;
    /// `dwell_ms` present (varint).
    pub const DWELL: u32 = 1 << 6;
    /// `qty` present (varint).
    pub const QTY: u32 = 1 << 7;
    /// `url` present (string index).
    pub const URL: u32 = 1 << 8;
    /// `slot` present (string index).
    pub const SLOT: u32 = 1 << 9;
    /// `rec` present (string index).
    pub const REC: u32 = 1 << 10;
    /// `order` present (string index).
    pub const ORDER: u32 = 1 << 11;
    /// `lines` present (count, then item index, qty, price+1 each).
    pub const LINES: u32 = 1 << 12;
    /// `terms` present (count, then string indexes).
    pub const TERMS: u32 = 1 << 13;
    /// `name` present (string index).
    pub const NAME: u32 = 1 << 14;
    /// `props` present (count, then key and value indexes).
    pub const PROPS: u32 = 1 << 15;
    /// Every bit this version defines.
    pub const KNOWN: u32 = (1 << 16) - 1;
}

// ---------------------------------------------------------------------------
// Primitive writers and readers.

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag-maps a signed value so small magnitudes give small varints.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A bounds-checked reader over a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads one byte.
    pub fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads 8 bytes.
    pub fn array8(&mut self) -> Result<[u8; 8], DecodeError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.bytes(8, "")?);
        Ok(a)
    }

    /// Reads an unsigned LEB128 varint of at most 64 bits.
    pub fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.byte(what)?;
            if i == 9 && b > 1 {
                return Err(DecodeError::BadVarint(what));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::BadVarint(what))
    }

    /// Reads a varint that must fit in 32 bits.
    pub fn varint32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        u32::try_from(self.varint(what)?).map_err(|_| DecodeError::BadVarint(what))
    }

    /// Reads a count and checks it against `max` and against the bytes left, given
    /// that each entry takes at least `min_bytes`.
    pub fn count(&mut self, what: &'static str, max: usize, min_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        if n > max as u64 {
            return Err(DecodeError::TooMany(what));
        }
        let n = n as usize;
        if n.saturating_mul(min_bytes) > self.remaining() {
            return Err(DecodeError::Truncated(what));
        }
        Ok(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn string(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let n = self.varint(what)?;
        if n > MAX_STRING_LEN as u64 {
            return Err(DecodeError::TooMany("bytes in a string"));
        }
        let b = self.bytes(n as usize, what)?;
        utf8(b).ok_or(DecodeError::BadUtf8)
    }
}

// ---------------------------------------------------------------------------
// Encoding.

/// Builds the per-batch string table while encoding.
#[derive(Default)]
struct Strings<'a> {
    list: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn index(&mut self, s: &'a str) -> u64 {
        // Batches are small (tens of distinct strings): a linear scan is smaller
        // in wasm than a hash map and as fast at this size.
        match self.list.iter().position(|x| *x == s) {
            Some(i) => i as u64,
            None => {
                self.list.push(s);
                (self.list.len() - 1) as u64
            }
        }
    }
}

/// The inheritable fields of `e` that may be left out given the previous event
/// `p`: usable only if no field `p` had is absent from `e`.
fn can_inherit(e: &Event, p: &Event) -> bool {
    !(p.item.is_some() && e.item.is_none()
        || p.category.is_some() && e.category.is_none()
        || p.brand.is_some() && e.brand.is_none()
        || p.price.is_some() && e.price.is_none()
        || p.currency.is_some() && e.currency.is_none())
}

/// Encodes a batch into the binary format.
pub fn encode(batch: &Batch) -> Vec<u8> {
    encode_parts(&batch.site, &batch.client, batch.session, batch.dropped, &batch.events)
}

/// [`encode`] from the batch's parts, so a caller holding events in a larger list
/// needs no copy of them.
pub fn encode_parts<'a>(site: &str, client: &[u8; 16], session: u32, dropped: u32, events: &'a [Event]) -> Vec<u8> {
    let mut strings: Strings<'_> = Strings::default();
    let mut body = Vec::with_capacity(16 * events.len() + 16);
    let base_ts = events.first().map_or(0, |e| e.ts);
    let (mut prev_id, mut prev_ts) = (0u64, base_ts);
    let mut prev: Option<&Event> = None;
    for e in events {
        // Inheriting saves something only when the event has one of the fields
        // (the common "nothing to inherit" case stays canonical: no flag).
        let has = e.item.is_some() || e.category.is_some() || e.brand.is_some() || e.price.is_some() || e.currency.is_some();
        let p = prev.filter(|p| has && can_inherit(e, p));
        // An inheritable field is written when present and, when inheriting, different.
        let bit = |present: bool, same: fn(&Event, &Event) -> bool, b: u32| match p {
            Some(p) if same(e, p) => 0,
            _ if present => b,
            _ => 0,
        };
        let opt = |o: bool, b: u32| if o { b } else { 0 };
        let mask = bit(e.item.is_some(), |a, b| a.item == b.item, bits::ITEM)
            | bit(e.category.is_some(), |a, b| a.category == b.category, bits::CATEGORY)
            | bit(e.brand.is_some(), |a, b| a.brand == b.brand, bits::BRAND)
            | bit(e.price.is_some(), |a, b| a.price == b.price, bits::PRICE)
            | bit(e.currency.is_some(), |a, b| a.currency == b.currency, bits::CURRENCY)
            | opt(p.is_some(), bits::INHERIT)
            | opt(e.dwell_ms.is_some(), bits::DWELL)
            | opt(e.qty.is_some(), bits::QTY)
            | opt(e.url.is_some(), bits::URL)
            | opt(e.slot.is_some(), bits::SLOT)
            | opt(e.rec.is_some(), bits::REC)
            | opt(e.order.is_some(), bits::ORDER)
            | opt(!e.lines.is_empty(), bits::LINES)
            | opt(!e.terms.is_empty(), bits::TERMS)
            | opt(e.name.is_some(), bits::NAME)
            | opt(!e.props.is_empty(), bits::PROPS);

        body.push(e.kind.code());
        put_varint(&mut body, mask as u64);
        put_varint(&mut body, zigzag(e.id.wrapping_sub(prev_id) as i64));
        put_varint(&mut body, zigzag(e.ts.wrapping_sub(prev_ts) as i64));
        let mut s = |body: &mut Vec<u8>, fields: &[(&'a Option<String>, u32)]| {
            for (v, bit) in fields {
                if let (true, Some(v)) = (mask & bit != 0, v) {
                    put_varint(body, strings.index(v));
                }
            }
        };
        s(&mut body, &[(&e.item, bits::ITEM), (&e.category, bits::CATEGORY), (&e.brand, bits::BRAND)]);
        if mask & bits::PRICE != 0 {
            put_varint(&mut body, zigzag(e.price.unwrap_or(0)));
        }
        s(&mut body, &[(&e.currency, bits::CURRENCY)]);
        if let Some(d) = e.dwell_ms {
            put_varint(&mut body, d as u64);
        }
        if let Some(q) = e.qty {
            put_varint(&mut body, q as u64);
        }
        s(&mut body, &[(&e.url, bits::URL), (&e.slot, bits::SLOT), (&e.rec, bits::REC), (&e.order, bits::ORDER)]);
        if !e.lines.is_empty() {
            put_varint(&mut body, e.lines.len() as u64);
            for l in &e.lines {
                put_varint(&mut body, strings.index(&l.item));
                put_varint(&mut body, l.qty as u64);
                // 0 means "no price"; valid prices are far from the saturation point.
                put_varint(&mut body, l.price.map_or(0, |p| zigzag(p).saturating_add(1)));
            }
        }
        if !e.terms.is_empty() {
            put_varint(&mut body, e.terms.len() as u64);
            for t in &e.terms {
                put_varint(&mut body, strings.index(t));
            }
        }
        if let (true, Some(n)) = (mask & bits::NAME != 0, &e.name) {
            put_varint(&mut body, strings.index(n));
        }
        if !e.props.is_empty() {
            put_varint(&mut body, e.props.len() as u64);
            for (k, v) in &e.props {
                put_varint(&mut body, strings.index(k));
                put_varint(&mut body, strings.index(v));
            }
        }
        prev_id = e.id;
        prev_ts = e.ts;
        prev = Some(e);
    }

    let mut out = Vec::with_capacity(body.len() + 64);
    out.push(MAGIC);
    out.push(VERSION);
    put_varint(&mut out, site.len() as u64);
    out.extend_from_slice(site.as_bytes());
    out.extend_from_slice(client);
    put_varint(&mut out, session as u64);
    put_varint(&mut out, dropped as u64);
    put_varint(&mut out, base_ts);
    put_varint(&mut out, strings.list.len() as u64);
    for s in &strings.list {
        put_varint(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    put_varint(&mut out, events.len() as u64);
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------
// Decoding.

/// Decodes a binary batch. Structural errors only: field values are checked
/// afterwards, event by event, with [`Event::validate`].
pub fn decode(buf: &[u8]) -> Result<Batch, DecodeError> {
    let mut r = Reader::new(buf);
    let magic = r.byte("magic")?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic(magic));
    }
    let version = r.byte("version")?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let site = r.string("site")?.to_owned();
    let mut client = [0u8; 16];
    client.copy_from_slice(r.bytes(16, "client id")?);
    let session = r.varint32("session")?;
    let dropped = r.varint32("dropped count")?;
    let base_ts = r.varint("base timestamp")?;
    let n_strings = r.count("strings", MAX_STRINGS, 1)?;
    let mut table: Vec<&str> = Vec::with_capacity(n_strings);
    for _ in 0..n_strings {
        table.push(r.string("string table")?);
    }
    // Each reference to the table copies its string, so a small batch could ask
    // for a lot of memory by referencing one long string many times. Bound the
    // total: a small multiple of the input.
    let budget = std::cell::Cell::new(buf.len().saturating_mul(MAX_EXPANSION).saturating_add(64 * 1024));
    let get = |r: &mut Reader<'_>, what: &'static str| -> Result<String, DecodeError> {
        let i = r.varint(what)?;
        let s = table.get(i as usize).ok_or(DecodeError::BadStringIndex(i))?;
        let left = budget.get().checked_sub(s.len()).ok_or(DecodeError::TooMany("bytes of decoded strings"))?;
        budget.set(left);
        Ok((*s).to_owned())
    };
    let n_events = r.count("events", MAX_EVENTS, 4)?;
    let mut events = Vec::with_capacity(n_events);
    let (mut prev_id, mut prev_ts) = (0u64, base_ts);
    for _ in 0..n_events {
        let code = r.byte("event kind")?;
        let kind = Kind::from_code(code).ok_or(DecodeError::BadKind(code))?;
        let mask = r.varint32("field mask")?;
        if mask & !bits::KNOWN != 0 {
            return Err(DecodeError::BadVarint("field mask"));
        }
        let id = prev_id.wrapping_add(unzigzag(r.varint("event id")?) as u64);
        let ts = prev_ts.wrapping_add(unzigzag(r.varint("timestamp")?) as u64);
        let mut e = Event::new(kind, ts);
        e.id = id;
        if mask & bits::INHERIT != 0 {
            let p: &Event = events.last().ok_or(DecodeError::NothingToInherit)?;
            e.item = p.item.clone();
            e.category = p.category.clone();
            e.brand = p.brand.clone();
            e.price = p.price;
            e.currency = p.currency.clone();
        }
        if mask & bits::ITEM != 0 {
            e.item = Some(get(&mut r, "item")?);
        }
        if mask & bits::CATEGORY != 0 {
            e.category = Some(get(&mut r, "category")?);
        }
        if mask & bits::BRAND != 0 {
            e.brand = Some(get(&mut r, "brand")?);
        }
        if mask & bits::PRICE != 0 {
            e.price = Some(unzigzag(r.varint("price")?));
        }
        if mask & bits::CURRENCY != 0 {
            e.currency = Some(get(&mut r, "currency")?);
        }
        if mask & bits::DWELL != 0 {
            e.dwell_ms = Some(r.varint32("dwell")?);
        }
        if mask & bits::QTY != 0 {
            e.qty = Some(r.varint32("quantity")?);
        }
        if mask & bits::URL != 0 {
            e.url = Some(get(&mut r, "url")?);
        }
        if mask & bits::SLOT != 0 {
            e.slot = Some(get(&mut r, "slot")?);
        }
        if mask & bits::REC != 0 {
            e.rec = Some(get(&mut r, "rec")?);
        }
        if mask & bits::ORDER != 0 {
            e.order = Some(get(&mut r, "order")?);
        }
        if mask & bits::LINES != 0 {
            let n = r.count("lines", MAX_LIST, 3)?;
            e.lines.reserve(n);
            for _ in 0..n {
                let item = get(&mut r, "line item")?;
                let qty = r.varint32("line quantity")?;
                let p = r.varint("line price")?;
                let price = if p == 0 { None } else { Some(unzigzag(p - 1)) };
                e.lines.push(Line { item, qty, price });
            }
        }
        if mask & bits::TERMS != 0 {
            let n = r.count("terms", MAX_LIST, 1)?;
            e.terms.reserve(n);
            for _ in 0..n {
                e.terms.push(get(&mut r, "term")?);
            }
        }
        if mask & bits::NAME != 0 {
            e.name = Some(get(&mut r, "name")?);
        }
        if mask & bits::PROPS != 0 {
            let n = r.count("props", MAX_LIST, 2)?;
            e.props.reserve(n);
            for _ in 0..n {
                let k = get(&mut r, "prop key")?;
                let v = get(&mut r, "prop value")?;
                e.props.push((k, v));
            }
        }
        prev_id = id;
        prev_ts = ts;
        events.push(e);
    }
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes(r.remaining()));
    }
    Ok(Batch { site, client, session, dropped, events })
}

/// Reads only the header of an encoded batch: its `dropped` count and when it
/// begins (its base timestamp). None if it is damaged.
pub fn peek(buf: &[u8]) -> Option<(u32, u64)> {
    // What the reads name is never shown (an error is `None`): no names, no data.
    let mut r = Reader::new(buf);
    (|| {
        r.bytes(2, "")?;
        let n = r.varint("")?;
        r.bytes(usize::try_from(n).unwrap_or(usize::MAX).saturating_add(16), "")?;
        r.varint("")?;
        // The dropped count must fit 32 bits (as `varint32` checks it, not used in the wasm otherwise).
        let dropped = u32::try_from(r.varint("")?).map_err(|_| DecodeError::BadVarint(""))?;
        Ok::<_, DecodeError>((dropped, r.varint("")?))
    })()
    .ok()
}

/// Lower-case hex of a client id, as used in JSON, storage and the server.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends [`hex`] of `bytes` (no string of its own: the outbox writes ids so).
pub fn push_hex(s: &mut String, bytes: &[u8]) {
    const D: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
}

/// Parses 32 hex digits into a client id.
pub fn parse_client(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    // An index loop (no `Chunks` iterator in the wasm).
    let (b, mut out) = (s.as_bytes(), [0u8; 16]);
    let mut i = 0;
    while i < 32 {
        out[i / 2] = out[i / 2] << 4 | digit(b[i], 16)? as u8;
        i += 1;
    }
    Some(out)
}

/// The value of an ASCII digit in `radix` (at most 36), as `char::to_digit`.
pub(crate) fn digit(c: u8, radix: u64) -> Option<u64> {
    let d = match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'z' => c - b'a' + 10,
        b'A'..=b'Z' => c - b'A' + 10,
        _ => return None,
    } as u64;
    (d < radix).then_some(d)
}

// ---------------------------------------------------------------------------
// Base64 (standard alphabet, no padding) for keeping bytes in string storage.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as base64 without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    push_b64(&mut s, bytes);
    s
}

/// Appends [`b64_encode`] of `bytes` (no string of its own: the outbox writes batches so).
pub fn push_b64(s: &mut String, bytes: &[u8]) {
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
}

/// Decodes base64 (padding optional); `None` on any other character.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    b64_decode_bytes(s.as_bytes())
}

/// [`b64_decode`] of bytes.
pub fn b64_decode_bytes(mut s: &[u8]) -> Option<Vec<u8>> {
    while let [rest @ .., b'='] = s {
        s = rest;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0);
    for &c in s {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = acc << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
    }
    Some(out)
}

/// `std::str::from_utf8`, smaller in wasm: the same validation (no overlong
/// forms, surrogates or code points past U+10FFFF).
pub fn utf8(b: &[u8]) -> Option<&str> {
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as u32;
        let n: usize = match c {
            0..=0x7f => 0,
            0xc0..=0xdf => 1,
            0xe0..=0xef => 2,
            0xf0..=0xf7 => 3,
            _ => return None,
        };
        let mut cp = c & (0x7f >> (n + (n != 0) as usize));
        for k in 1..=n {
            let x = *b.get(i + k)? as u32;
            if x & 0xc0 != 0x80 {
                return None;
            }
            cp = cp << 6 | (x & 0x3f);
        }
        const MIN: [u32; 4] = [0, 0x80, 0x800, 0x10000];
        if cp < MIN[n] || char::from_u32(cp).is_none() {
            return None;
        }
        i += n + 1;
    }
    // SAFETY: validated above, by the rules of `std::str::from_utf8`.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    /// `peek` before it read the dropped count without `varint32`, as a reference.
    fn old_peek(buf: &[u8]) -> Option<(u32, u64)> {
        let mut r = Reader::new(buf);
        (|| {
            r.bytes(2, "header")?;
            let n = r.varint("site")?;
            r.bytes(usize::try_from(n).unwrap_or(usize::MAX).saturating_add(16), "header")?;
            r.varint("session")?;
            Ok::<_, DecodeError>((r.varint32("dropped")?, r.varint("base timestamp")?))
        })()
        .ok()
    }

    #[test]
    fn peek_reads_what_it_read_before() {
        let mut x: u64 = 0x0123_4567_89AB_CDEF;
        for i in 0..50_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = sample();
            b.dropped = [0, 1, 127, 128, u32::MAX][(x % 5) as usize];
            b.session = (x >> 8) as u32;
            let mut bytes = encode(&b);
            // Damaged and cut copies, and dropped counts past 32 bits.
            match i % 4 {
                0 => {}
                1 => {
                    let k = (x >> 16) as usize % bytes.len();
                    bytes[k] = (x >> 24) as u8;
                }
                2 => bytes.truncate((x >> 16) as usize % (bytes.len() + 1)),
                _ => {
                    let at = 2 + 1 + b.site.len() + 16 + 5;
                    bytes.splice(at.min(bytes.len())..at.min(bytes.len()), [0xff, 0xff, 0xff, 0xff, 0x8f | (x as u8 & 0x70), 0x01]);
                }
            }
            assert_eq!(peek(&bytes), old_peek(&bytes), "{bytes:?}");
        }
    }

    fn sample() -> Batch {
        let view = |i: u64| Event {
            id: (7 << 32) | i,
            item: Some("SKU-000123".into()),
            category: Some("shoes/running".into()),
            price: Some(8990),
            currency: Some("EUR".into()),
            dwell_ms: Some(2500),
            ..Event::new(Kind::ProductView, T + i * 3000)
        };
        let mut events = vec![Event { id: 7 << 32, url: Some("/shop/".into()), ..Event::new(Kind::PageView, T) }];
        events.extend((1..=20).map(view));
        for i in 21..24 {
            events.push(Event { qty: Some(1), dwell_ms: None, kind: Kind::CartAdd, ..view(i) });
        }
        events.push(Event {
            id: (7 << 32) | 24,
            order: Some("N-1".into()),
            price: Some(26970),
            currency: Some("EUR".into()),
            lines: vec![
                Line { item: "SKU-000123".into(), qty: 1, price: Some(8990) },
                Line { item: "SKU-000124".into(), qty: 2, price: Some(8990) },
                Line { item: "SKU-000125".into(), qty: 1, price: None },
            ],
            ..Event::new(Kind::Purchase, T + 100_000)
        });
        Batch { site: "demo".into(), client: [0xab; 16], session: 3, dropped: 0, events }
    }

    /// The encoder before the size work, as a reference.
    mod reference {
        #![allow(clippy::all, dead_code)]
        use super::super::*;
        fn same_inherited(a: &Event, b: &Event) -> bool {
            a.item == b.item && a.category == b.category && a.brand == b.brand && a.price == b.price && a.currency == b.currency
        }

        /// The inheritable fields of `e` that may be left out given the previous event
        /// `p`: usable only if no field `p` had is absent from `e`.
        fn can_inherit(e: &Event, p: &Event) -> bool {
            !(p.item.is_some() && e.item.is_none()
                || p.category.is_some() && e.category.is_none()
                || p.brand.is_some() && e.brand.is_none()
                || p.price.is_some() && e.price.is_none()
                || p.currency.is_some() && e.currency.is_none())
        }

        /// Encodes a batch into the binary format.

        /// [`encode`] from the batch's parts, so a caller holding events in a larger list
        /// needs no copy of them.
        pub fn encode_parts<'a>(site: &str, client: &[u8; 16], session: u32, dropped: u32, events: &'a [Event]) -> Vec<u8> {
            let mut strings: Strings<'_> = Strings::default();
            let mut body = Vec::with_capacity(16 * events.len() + 16);
            let base_ts = events.first().map_or(0, |e| e.ts);
            let (mut prev_id, mut prev_ts) = (0u64, base_ts);
            let mut prev: Option<&Event> = None;
            for e in events {
                let inherit = prev.is_some_and(|p| can_inherit(e, p));
                let p = prev.filter(|_| inherit);
                let differs = |f: fn(&Event) -> bool, g: fn(&Event, &Event) -> bool| match p {
                    Some(p) => f(e) && !g(e, p),
                    None => f(e),
                };
                let mut mask = 0u32;
                if differs(|e| e.item.is_some(), |a, b| a.item == b.item) {
                    mask |= bits::ITEM;
                }
                if differs(|e| e.category.is_some(), |a, b| a.category == b.category) {
                    mask |= bits::CATEGORY;
                }
                if differs(|e| e.brand.is_some(), |a, b| a.brand == b.brand) {
                    mask |= bits::BRAND;
                }
                if differs(|e| e.price.is_some(), |a, b| a.price == b.price) {
                    mask |= bits::PRICE;
                }
                if differs(|e| e.currency.is_some(), |a, b| a.currency == b.currency) {
                    mask |= bits::CURRENCY;
                }
                if inherit {
                    mask |= bits::INHERIT;
                }
                let opt = |o: bool, b: u32| if o { b } else { 0 };
                mask |= opt(e.dwell_ms.is_some(), bits::DWELL)
                    | opt(e.qty.is_some(), bits::QTY)
                    | opt(e.url.is_some(), bits::URL)
                    | opt(e.slot.is_some(), bits::SLOT)
                    | opt(e.rec.is_some(), bits::REC)
                    | opt(e.order.is_some(), bits::ORDER)
                    | opt(!e.lines.is_empty(), bits::LINES)
                    | opt(!e.terms.is_empty(), bits::TERMS)
                    | opt(e.name.is_some(), bits::NAME)
                    | opt(!e.props.is_empty(), bits::PROPS);
                // An inherit flag that saves nothing costs nothing either, but keep the
                // common "nothing to inherit" case canonical.
                if inherit && same_inherited(e, &Event::default()) {
                    mask &= !bits::INHERIT;
                }

                body.push(e.kind.code());
                put_varint(&mut body, mask as u64);
                put_varint(&mut body, zigzag(e.id.wrapping_sub(prev_id) as i64));
                put_varint(&mut body, zigzag(e.ts.wrapping_sub(prev_ts) as i64));
                fn s<'a>(strings: &mut Strings<'a>, body: &mut Vec<u8>, mask: u32, v: &'a Option<String>, bit: u32) {
                    if let (true, Some(v)) = (mask & bit != 0, v) {
                        put_varint(body, strings.index(v));
                    }
                }
                s(&mut strings, &mut body, mask, &e.item, bits::ITEM);
                s(&mut strings, &mut body, mask, &e.category, bits::CATEGORY);
                s(&mut strings, &mut body, mask, &e.brand, bits::BRAND);
                if mask & bits::PRICE != 0 {
                    put_varint(&mut body, zigzag(e.price.unwrap_or(0)));
                }
                s(&mut strings, &mut body, mask, &e.currency, bits::CURRENCY);
                if let Some(d) = e.dwell_ms {
                    put_varint(&mut body, d as u64);
                }
                if let Some(q) = e.qty {
                    put_varint(&mut body, q as u64);
                }
                s(&mut strings, &mut body, mask, &e.url, bits::URL);
                s(&mut strings, &mut body, mask, &e.slot, bits::SLOT);
                s(&mut strings, &mut body, mask, &e.rec, bits::REC);
                s(&mut strings, &mut body, mask, &e.order, bits::ORDER);
                if !e.lines.is_empty() {
                    put_varint(&mut body, e.lines.len() as u64);
                    for l in &e.lines {
                        put_varint(&mut body, strings.index(&l.item));
                        put_varint(&mut body, l.qty as u64);
                        // 0 means "no price"; valid prices are far from the saturation point.
                        put_varint(&mut body, l.price.map_or(0, |p| zigzag(p).saturating_add(1)));
                    }
                }
                if !e.terms.is_empty() {
                    put_varint(&mut body, e.terms.len() as u64);
                    for t in &e.terms {
                        put_varint(&mut body, strings.index(t));
                    }
                }
                s(&mut strings, &mut body, mask, &e.name, bits::NAME);
                if !e.props.is_empty() {
                    put_varint(&mut body, e.props.len() as u64);
                    for (k, v) in &e.props {
                        put_varint(&mut body, strings.index(k));
                        put_varint(&mut body, strings.index(v));
                    }
                }
                prev_id = e.id;
                prev_ts = e.ts;
                prev = Some(e);
            }

            let mut out = Vec::with_capacity(body.len() + 64);
            out.push(MAGIC);
            out.push(VERSION);
            put_varint(&mut out, site.len() as u64);
            out.extend_from_slice(site.as_bytes());
            out.extend_from_slice(client);
            put_varint(&mut out, session as u64);
            put_varint(&mut out, dropped as u64);
            put_varint(&mut out, base_ts);
            put_varint(&mut out, strings.list.len() as u64);
            for s in &strings.list {
                put_varint(&mut out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            put_varint(&mut out, events.len() as u64);
            out.extend_from_slice(&body);
            out
        }

    }

    #[test]
    fn encoding_matches_the_reference_on_random_batches() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut pick = |n: u64| -> Option<String> { (rnd(3) != 0).then(|| ["v", &(rnd(n)).to_string()].concat()) };
        for _ in 0..3000 {
            let mut events = Vec::new();
            for i in 0..(pick(8).map_or(0, |s| s.len() as u64 * 3)) {
                let mut e = Event::new(Kind::ALL[(i % 12) as usize], T + i * 7);
                e.id = i * 3;
                e.item = pick(3);
                e.category = pick(2);
                e.brand = pick(2);
                e.price = pick(3).map(|s| s.len() as i64);
                e.currency = pick(2);
                e.qty = pick(2).map(|s| s.len() as u32);
                e.dwell_ms = pick(2).map(|s| s.len() as u32);
                e.url = pick(2);
                e.slot = pick(2);
                e.rec = pick(2);
                e.order = pick(2);
                e.name = pick(2);
                if let Some(l) = pick(3) {
                    e.lines = vec![Line { item: l.clone(), qty: 2, price: pick(2).map(|s| s.len() as i64) }, Line { item: l, qty: 1, price: None }];
                }
                if let Some(t) = pick(3) {
                    e.terms = vec![t, "x".into()];
                }
                if let (Some(k), Some(v)) = (pick(3), pick(3)) {
                    e.props = vec![(k, v)];
                }
                events.push(e);
            }
            let b = Batch { site: "s".into(), client: [3; 16], session: 5, dropped: 2, events };
            assert_eq!(encode(&b), reference::encode_parts(&b.site, &b.client, b.session, b.dropped, &b.events));
            assert_eq!(decode(&encode(&b)), Ok(b));
        }
    }

    #[test]
    fn round_trips() {
        let b = sample();
        let bytes = encode(&b);
        assert_eq!(decode(&bytes), Ok(b));
    }

    #[test]
    fn round_trips_every_field() {
        let e = Event {
            id: u64::MAX,
            item: Some("a".into()),
            category: Some("c/d".into()),
            brand: Some("b".into()),
            price: Some(0),
            currency: Some("USD".into()),
            qty: Some(3),
            url: Some("/x".into()),
            slot: Some("for-you".into()),
            rec: Some("r1".into()),
            dwell_ms: Some(0),
            order: Some("o".into()),
            lines: vec![Line { item: "a".into(), qty: 1, price: Some(5) }],
            terms: vec!["trail".into(), "shoe".into()],
            name: Some("n".into()),
            props: vec![("k".into(), "".into())],
            ..Event::new(Kind::Custom, 0)
        };
        // An event that drops fields its predecessor had cannot inherit.
        let f = Event::new(Kind::PageView, 5);
        let b = Batch { events: vec![e, f], ..Batch::default() };
        assert_eq!(decode(&encode(&b)), Ok(b));
    }

    #[test]
    fn standard_sequence_is_small() {
        let bytes = encode(&sample());
        let per_event = bytes.len() as f64 / 25.0;
        assert!(per_event <= 12.0, "{} bytes, {per_event:.1} per event", bytes.len());
    }

    #[test]
    fn errors_are_clear() {
        let good = encode(&sample());
        assert_eq!(decode(&[]), Err(DecodeError::Truncated("magic")));
        assert_eq!(decode(b"{}"), Err(DecodeError::BadMagic(b'{')));
        assert_eq!(decode(&[MAGIC, 9]), Err(DecodeError::UnsupportedVersion(9)));
        assert!(matches!(decode(&good[..good.len() - 1]), Err(DecodeError::Truncated(_))));
        let mut extra = good.clone();
        extra.push(0);
        assert_eq!(decode(&extra), Err(DecodeError::TrailingBytes(1)));
        // A huge event count with no bytes behind it allocates nothing.
        let mut huge = encode(&Batch::default());
        huge.pop();
        put_varint(&mut huge, 9_999);
        assert_eq!(decode(&huge), Err(DecodeError::Truncated("events")));
        assert!(DecodeError::BadMagic(1).to_string().contains("not a Vitrina batch"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic fuzz over mutations of a valid batch.
        let good = encode(&sample());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..(rnd() % 4 + 1) {
                let i = (rnd() as usize) % b.len();
                b[i] = rnd() as u8;
            }
            let cut = (rnd() as usize) % (b.len() + 1);
            let _ = decode(&b[..cut]);
            let _ = decode(&b);
        }
    }

    #[test]
    fn varints_and_hex() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(Reader::new(&b).varint("v"), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        let id = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255];
        assert_eq!(parse_client(&hex(&id)), Some(id));
        assert_eq!(parse_client("zz"), None);
        // As the standard library reads pairs of hex digits, on awkward strings.
        let reference = |s: &str| -> Option<[u8; 16]> {
            if s.len() != 32 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let mut out = [0u8; 16];
            for (i, o) in out.iter_mut().enumerate() {
                *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
            }
            Some(out)
        };
        let mut x: u64 = 0x5DEE_CE66_D1CE_4E5B;
        let alphabet = b"0123456789abcdefABCDEFgz+- ";
        for n in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = if n % 4 == 0 { (x % 40) as usize } else { 32 };
            let s: String = (0..len).map(|k| alphabet[((x >> (k % 16 * 4)) as usize + k * 7) % alphabet.len()] as char).collect();
            assert_eq!(parse_client(&s), reference(&s), "{s:?}");
        }
        assert_eq!(parse_client(&"\u{e9}".repeat(16)), None);
        for n in 0..40u8 {
            let b: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&b)), Some(b));
        }
        assert_eq!(b64_encode(b"Man"), "TWFu");
        assert_eq!(b64_decode("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(b64_decode("T!"), None);
    }

    #[test]
    fn utf8_validation_matches_the_standard_library() {
        let check = |b: &[u8]| assert_eq!(utf8(b), std::str::from_utf8(b).ok(), "{b:x?}");
        for a in 0..=255u8 {
            check(&[a]);
            for b in 0..=255u8 {
                check(&[a, b]);
                check(&[b'x', a, b]);
                if a >= 0xe0 {
                    for c in [0u8, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                        check(&[a, b, c]);
                        for d in [0u8, 0x80, 0x8f, 0x90, 0xbf, 0xc0] {
                            check(&[a, b, c, d]);
                        }
                    }
                }
            }
        }
        for s in ["", "plain", "Montaña", "ЗИМА", "\u{10FFFF}\u{1F600}x"] {
            check(s.as_bytes());
        }
    }
}
