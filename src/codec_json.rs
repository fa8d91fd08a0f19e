//! The JSON batch format: the same information as the binary format of
//! [`crate::codec`], for backends and tools that would rather read text. Specified in
//! `docs/wire-format.md` ("JSON format"); keep the two in step.
//!
//! ```text
//! {"v":1,"s":"demo","c":"<32 hex digits>","n":3,"d":0,"e":[
//!   {"i":"0000000700000001","k":"view","t":1700000003000,"it":"SKU-000123",
//!    "ca":"shoes/running","p":8990,"cu":"EUR","dw":2500}]}
//! ```
//!
//! Keys are short and fixed. Batch: `v` version (must come first), `s` site, `c`
//! client id (32 hex digits), `n` session, `d` dropped, `e` events. Event: `i` id (16
//! hex digits, as a string: ids are 64-bit and JS numbers are not), `k` kind name, `t`
//! timestamp (ms), then only the fields present: `it` item, `ca` category, `br` brand,
//! `p` price (integer hundredths), `cu` currency, `q` quantity, `u` url, `sl` slot, `r`
//! rec, `dw` dwell ms, `o` order, `l` lines (`[{"it","q","p"?}]`), `te` terms, `na`
//! name, `pr` props (an object, in order).
//!
//! The decoder is a strict, schema-directed parser written for this format alone: no
//! generic value tree, no recursion (the schema is at most four levels deep), no
//! unknown or repeated keys, integers only, the same count and length limits as the
//! binary decoder. It never panics, allocates in proportion to its input, and reports
//! errors with the byte offset where they were found.

use crate::codec::{self, Batch, MAX_EVENTS, MAX_LIST, MAX_STRING_LEN};
use crate::event::{Event, Kind, Line};
use crate::json::{itoa, push_str, push_u64, Obj};
use std::fmt;

// ---------------------------------------------------------------------------
// Encoding.

fn push_hex_u64(out: &mut String, v: u64) {
    out.push('"');
    out.push_str(&codec::hex(&v.to_be_bytes()));
    out.push('"');
}

/// Encodes a batch as JSON (compact, keys in the documented order, absent fields
/// left out).
pub fn encode_json(batch: &Batch) -> String {
    encode_json_parts(&batch.site, &batch.client, batch.session, batch.dropped, &batch.events)
}

/// [`encode_json`] from the batch's parts (see [`codec::encode_parts`]).
pub fn encode_json_parts(site: &str, client: &[u8; 16], session: u32, dropped: u32, events: &[Event]) -> String {
    let mut out = String::with_capacity(64 + 96 * events.len());
    let mut o = Obj::new(&mut out);
    o.int("v", codec::VERSION as i64).str("s", site).str("c", &codec::hex(client));
    o.int("n", session as i64).int("d", dropped as i64);
    let arr = o.key("e");
    arr.push('[');
    for (n, e) in events.iter().enumerate() {
        if n > 0 {
            arr.push(',');
        }
        event_json(arr, e);
    }
    arr.push(']');
    o.end();
    out
}

fn event_json(out: &mut String, e: &Event) {
    let mut o = Obj::new(out);
    push_hex_u64(o.key("i"), e.id);
    o.str("k", e.kind.name());
    push_u64(o.key("t"), e.ts);
    o.opt_str("it", &e.item).opt_str("ca", &e.category).opt_str("br", &e.brand);
    if let Some(p) = e.price {
        o.int("p", p);
    }
    o.opt_str("cu", &e.currency);
    if let Some(q) = e.qty {
        o.int("q", q as i64);
    }
    o.opt_str("u", &e.url).opt_str("sl", &e.slot).opt_str("r", &e.rec);
    if let Some(d) = e.dwell_ms {
        o.int("dw", d as i64);
    }
    o.opt_str("o", &e.order);
    if !e.lines.is_empty() {
        let a = o.key("l");
        a.push('[');
        for (n, l) in e.lines.iter().enumerate() {
            if n > 0 {
                a.push(',');
            }
            let mut lo = Obj::new(a);
            lo.str("it", &l.item).int("q", l.qty as i64);
            if let Some(p) = l.price {
                lo.int("p", p);
            }
            lo.end();
        }
        a.push(']');
    }
    if !e.terms.is_empty() {
        let a = o.key("te");
        a.push('[');
        for (n, t) in e.terms.iter().enumerate() {
            if n > 0 {
                a.push(',');
            }
            push_str(a, t);
        }
        a.push(']');
    }
    o.opt_str("na", &e.name);
    if !e.props.is_empty() {
        let mut po = Obj::new(o.key("pr"));
        for (k, v) in &e.props {
            po.str(k, v);
        }
        po.end();
    }
    o.end();
}

// ---------------------------------------------------------------------------
// Errors.

/// What is wrong with a JSON batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The input ended early.
    UnexpectedEnd,
    /// Something else was found where the grammar or the schema wants `what`.
    Expected(&'static str),
    /// A string with a raw control character, a bad escape or a lone surrogate.
    BadString(&'static str),
    /// A number that is not a plain integer or does not fit its field.
    BadNumber(&'static str),
    /// A key the format does not define at this place (shortened to 32 bytes).
    UnknownKey(String),
    /// A key given twice in one object.
    DuplicateKey(String),
    /// A required key is absent.
    Missing(&'static str),
    /// A value of the right type but not a valid one (client id, event id, kind).
    BadValue(&'static str),
    /// `v` is not a version this decoder reads.
    UnsupportedVersion(u64),
    /// More entries than the format allows.
    TooMany(&'static str),
    /// A string longer than the format allows.
    TooLong(&'static str),
    /// Something other than whitespace after the batch.
    TrailingData,
}

/// Why a JSON batch could not be decoded: what, and the byte offset where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    /// The problem.
    pub kind: JsonErrorKind,
}

impl JsonError {
    /// A readable reason, built without the formatting machinery (kept out of the wasm).
    pub fn message(&self) -> String {
        use JsonErrorKind::*;
        let what: String = match &self.kind {
            UnexpectedEnd => "unexpected end of input".into(),
            Expected(w) => ["expected ", w].concat(),
            BadString(w) => ["bad string: ", w].concat(),
            BadNumber(w) => ["bad number: ", w].concat(),
            UnknownKey(k) => ["unknown key \"", k, "\""].concat(),
            DuplicateKey(k) => ["duplicate key \"", k, "\""].concat(),
            Missing(k) => ["missing key \"", k, "\""].concat(),
            BadValue(w) => ["bad ", w].concat(),
            UnsupportedVersion(v) => {
                ["unsupported batch format version ", &itoa(*v), " (this decoder reads version 1)"].concat()
            }
            TooMany(w) => ["too many ", w].concat(),
            TooLong(w) => [w, " is too long"].concat(),
            TrailingData => "unexpected data after the batch".into(),
        };
        ["JSON batch: ", &what, " at byte ", &itoa(self.offset as u64)].concat()
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for JsonError {}

// ---------------------------------------------------------------------------
// Decoding.

/// Longest key echoed back in an error.
const MAX_KEY_ECHO: usize = 32;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

type R<T> = Result<T, JsonError>;

impl<'a> Parser<'a> {
    fn err<T>(&self, at: usize, kind: JsonErrorKind) -> R<T> {
        Err(JsonError { offset: at, kind })
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn next_byte(&mut self) -> R<u8> {
        self.ws();
        match self.peek() {
            Some(b) => Ok(b),
            None => self.err(self.pos, JsonErrorKind::UnexpectedEnd),
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> R<()> {
        if self.next_byte()? != b {
            return self.err(self.pos, JsonErrorKind::Expected(what));
        }
        self.pos += 1;
        Ok(())
    }

    /// Starts an object or an array: `open` is `{` or `[`.
    fn open(&mut self, open: u8, what: &'static str) -> R<()> {
        self.expect(open, what)
    }

    /// Moves to the next member of an object or array. Returns `false` at its end.
    fn more(&mut self, close: u8, first: &mut bool) -> R<bool> {
        let b = self.next_byte()?;
        if b == close {
            self.pos += 1;
            return Ok(false);
        }
        if !*first {
            if b != b',' {
                return self
                    .err(self.pos, JsonErrorKind::Expected(if close == b'}' { "',' or '}'" } else { "',' or ']'" }));
            }
            self.pos += 1;
        }
        *first = false;
        Ok(true)
    }

    /// Reads an object key and its colon; returns the key and where it started.
    fn key(&mut self) -> R<(String, usize)> {
        if self.next_byte()? != b'"' {
            return self.err(self.pos, JsonErrorKind::Expected("a key (a string)"));
        }
        let at = self.pos;
        let k = self.raw_string("key")?;
        self.expect(b':', "':' after a key")?;
        Ok((k, at))
    }

    fn string(&mut self, what: &'static str) -> R<String> {
        if self.next_byte()? != b'"' {
            return self.err(self.pos, JsonErrorKind::Expected(what));
        }
        self.raw_string(what)
    }

    /// Reads a string whose opening quote is at `pos`.
    fn raw_string(&mut self, what: &'static str) -> R<String> {
        let start = self.pos;
        self.pos += 1;
        let bytes = self.src.as_bytes();
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes up to the next quote, backslash or control.
            let run = self.pos;
            while let Some(&b) = bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Quote, backslash and controls are ASCII, so both ends are char boundaries.
            out.push_str(self.src.get(run..self.pos).unwrap_or(""));
            if out.len() > MAX_STRING_LEN {
                return self.err(start, JsonErrorKind::TooLong(what));
            }
            match bytes.get(self.pos) {
                None => return self.err(self.pos, JsonErrorKind::UnexpectedEnd),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc_at = self.pos;
                    self.pos += 1;
                    let c = match bytes.get(self.pos) {
                        None => return self.err(self.pos, JsonErrorKind::UnexpectedEnd),
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if bytes.get(self.pos) != Some(&b'\\') || bytes.get(self.pos + 1) != Some(&b'u') {
                                    return self.err(esc_at, JsonErrorKind::BadString("lone surrogate in \\u escape"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err(esc_at, JsonErrorKind::BadString("lone surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(cp) {
                                Some(c) => {
                                    out.push(c);
                                    continue;
                                }
                                None => {
                                    return self.err(esc_at, JsonErrorKind::BadString("lone surrogate in \\u escape"))
                                }
                            }
                        }
                        Some(_) => return self.err(esc_at, JsonErrorKind::BadString("unknown escape")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return self.err(self.pos, JsonErrorKind::BadString("raw control character (escape it)")),
            }
        }
    }

    /// Reads four hex digits of a `\u` escape.
    fn hex4(&mut self) -> R<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                None => return self.err(self.pos, JsonErrorKind::UnexpectedEnd),
                Some(b) => (b as char).to_digit(16),
            };
            match d {
                Some(d) => v = v * 16 + d,
                None => return self.err(self.pos, JsonErrorKind::BadString("\\u needs four hex digits")),
            }
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads an integer: `-`? then `0` or a non-zero digit and more digits; no
    /// fraction, no exponent. Returns (negative, magnitude, start offset).
    fn integer(&mut self, what: &'static str) -> R<(bool, u64, usize)> {
        let b = self.next_byte()?;
        let start = self.pos;
        let neg = b == b'-';
        if neg {
            self.pos += 1;
        }
        let digits = self.pos;
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            match v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)) {
                Some(n) => v = n,
                None => overflow = true,
            }
            self.pos += 1;
        }
        let n = self.pos - digits;
        if n == 0 {
            return self.err(start, JsonErrorKind::Expected(what));
        }
        if n > 1 && self.src.as_bytes().get(digits) == Some(&b'0') {
            return self.err(start, JsonErrorKind::BadNumber("leading zero"));
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return self.err(start, JsonErrorKind::BadNumber("not an integer (prices are in hundredths)"));
        }
        if overflow {
            return self.err(start, JsonErrorKind::BadNumber(what));
        }
        Ok((neg, v, start))
    }

    fn u64(&mut self, what: &'static str) -> R<u64> {
        match self.integer(what)? {
            (true, v, at) if v != 0 => self.err(at, JsonErrorKind::BadNumber(what)),
            (_, v, _) => Ok(v),
        }
    }

    fn u32(&mut self, what: &'static str) -> R<u32> {
        let at = {
            self.ws();
            self.pos
        };
        let v = self.u64(what)?;
        u32::try_from(v).or_else(|_| self.err(at, JsonErrorKind::BadNumber(what)))
    }

    fn i64(&mut self, what: &'static str) -> R<i64> {
        let (neg, v, at) = self.integer(what)?;
        let r = if neg { 0i64.checked_sub_unsigned(v) } else { i64::try_from(v).ok() };
        match r {
            Some(r) => Ok(r),
            None => self.err(at, JsonErrorKind::BadNumber(what)),
        }
    }

    /// Reads 1 to 16 hex digits as a string.
    fn hex_id(&mut self) -> R<u64> {
        self.ws();
        let at = self.pos;
        let s = self.string("an event id (hex string)")?;
        if s.is_empty() || s.len() > 16 {
            return self.err(at, JsonErrorKind::BadValue("event id: 1 to 16 hex digits"));
        }
        let mut v = 0u64;
        for c in s.chars() {
            match c.to_digit(16) {
                Some(d) => v = v << 4 | d as u64,
                None => return self.err(at, JsonErrorKind::BadValue("event id: 1 to 16 hex digits")),
            }
        }
        Ok(v)
    }

    fn unknown<T>(&self, k: &str, at: usize) -> R<T> {
        let mut end = k.len().min(MAX_KEY_ECHO);
        while !k.is_char_boundary(end) {
            end -= 1;
        }
        self.err(at, JsonErrorKind::UnknownKey(k.get(..end).unwrap_or("").to_owned()))
    }
}

/// Marks key number `bit` seen in `seen`; a repeated key is an error.
fn once(p: &Parser<'_>, seen: &mut u32, bit: u32, k: &str, at: usize) -> R<()> {
    if *seen & (1 << bit) != 0 {
        return p.err(at, JsonErrorKind::DuplicateKey(k.to_owned()));
    }
    *seen |= 1 << bit;
    Ok(())
}

const EVENT_KEYS: [&str; 18] =
    ["i", "k", "t", "it", "ca", "br", "p", "cu", "q", "u", "sl", "r", "dw", "o", "l", "te", "na", "pr"];

fn event(p: &mut Parser<'_>) -> R<Event> {
    let start = {
        p.ws();
        p.pos
    };
    p.open(b'{', "an event object")?;
    let mut e = Event::default();
    let mut seen = 0u32;
    let mut first = true;
    while p.more(b'}', &mut first)? {
        let (k, at) = p.key()?;
        let Some(bit) = EVENT_KEYS.iter().position(|x| *x == k) else {
            return p.unknown(&k, at);
        };
        once(p, &mut seen, bit as u32, &k, at)?;
        match bit {
            0 => e.id = p.hex_id()?,
            1 => {
                p.ws();
                let kat = p.pos;
                let name = p.string("a kind name (string)")?;
                e.kind = match Kind::ALL.iter().find(|x| x.name() == name) {
                    Some(k) => *k,
                    None => return p.err(kat, JsonErrorKind::BadValue("kind (unknown name)")),
                };
            }
            2 => e.ts = p.u64("timestamp (unsigned 64-bit integer)")?,
            3 => e.item = Some(p.string("item (string)")?),
            4 => e.category = Some(p.string("category (string)")?),
            5 => e.brand = Some(p.string("brand (string)")?),
            6 => e.price = Some(p.i64("price (64-bit integer, hundredths)")?),
            7 => e.currency = Some(p.string("currency (string)")?),
            8 => e.qty = Some(p.u32("quantity (unsigned 32-bit integer)")?),
            9 => e.url = Some(p.string("url (string)")?),
            10 => e.slot = Some(p.string("slot (string)")?),
            11 => e.rec = Some(p.string("rec (string)")?),
            12 => e.dwell_ms = Some(p.u32("dwell (unsigned 32-bit integer)")?),
            13 => e.order = Some(p.string("order (string)")?),
            14 => e.lines = lines(p)?,
            15 => {
                p.open(b'[', "terms (an array of strings)")?;
                let mut f = true;
                while p.more(b']', &mut f)? {
                    if e.terms.len() == MAX_LIST {
                        return p.err(p.pos, JsonErrorKind::TooMany("terms"));
                    }
                    e.terms.push(p.string("a term (string)")?);
                }
            }
            16 => e.name = Some(p.string("name (string)")?),
            _ => {
                p.open(b'{', "props (an object of strings)")?;
                let mut f = true;
                while p.more(b'}', &mut f)? {
                    if e.props.len() == MAX_LIST {
                        return p.err(p.pos, JsonErrorKind::TooMany("props"));
                    }
                    let (pk, _) = p.key()?;
                    let pv = p.string("a prop value (string)")?;
                    e.props.push((pk, pv));
                }
            }
        }
    }
    for (bit, name) in [(0, "i"), (1, "k"), (2, "t")] {
        if seen & (1 << bit) == 0 {
            return p.err(start, JsonErrorKind::Missing(name));
        }
    }
    Ok(e)
}

fn lines(p: &mut Parser<'_>) -> R<Vec<Line>> {
    p.open(b'[', "lines (an array of objects)")?;
    let mut out = Vec::new();
    let mut f = true;
    while p.more(b']', &mut f)? {
        if out.len() == MAX_LIST {
            return p.err(p.pos, JsonErrorKind::TooMany("lines"));
        }
        let start = {
            p.ws();
            p.pos
        };
        p.open(b'{', "a line object")?;
        let mut l = Line::default();
        let mut seen = 0u32;
        let mut first = true;
        while p.more(b'}', &mut first)? {
            let (k, at) = p.key()?;
            let Some(bit) = ["it", "q", "p"].iter().position(|x| *x == k) else {
                return p.unknown(&k, at);
            };
            once(p, &mut seen, bit as u32, &k, at)?;
            match bit {
                0 => l.item = p.string("line item (string)")?,
                1 => l.qty = p.u32("line quantity (unsigned 32-bit integer)")?,
                _ => l.price = Some(p.i64("line price (64-bit integer, hundredths)")?),
            }
        }
        for (bit, name) in [(0, "it"), (1, "q")] {
            if seen & (1 << bit) == 0 {
                return p.err(start, JsonErrorKind::Missing(name));
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// Decodes a JSON batch. Structural errors only, as for [`codec::decode`]: field
/// values are checked afterwards, event by event, with [`Event::validate`].
pub fn decode_json(s: &str) -> Result<Batch, JsonError> {
    let mut p = Parser { src: s, pos: 0 };
    p.open(b'{', "'{' (a JSON batch is an object)")?;
    let mut b = Batch::default();
    let mut seen = 0u32;
    let mut first = true;
    while p.more(b'}', &mut first)? {
        let (k, at) = p.key()?;
        let Some(bit) = ["v", "s", "c", "n", "d", "e"].iter().position(|x| *x == k) else {
            return p.unknown(&k, at);
        };
        if seen == 0 && bit != 0 {
            return p.err(at, JsonErrorKind::Expected("\"v\" as the first key"));
        }
        once(&p, &mut seen, bit as u32, &k, at)?;
        match bit {
            0 => {
                p.ws();
                let vat = p.pos;
                let v = p.u64("version (integer)")?;
                if v != codec::VERSION as u64 {
                    return p.err(vat, JsonErrorKind::UnsupportedVersion(v));
                }
            }
            1 => b.site = p.string("site (string)")?,
            2 => {
                p.ws();
                let cat = p.pos;
                let c = p.string("client id (string)")?;
                b.client = match codec::parse_client(&c) {
                    Some(c) => c,
                    None => return p.err(cat, JsonErrorKind::BadValue("client id: 32 hex digits")),
                };
            }
            3 => b.session = p.u32("session (unsigned 32-bit integer)")?,
            4 => b.dropped = p.u32("dropped count (unsigned 32-bit integer)")?,
            _ => {
                p.open(b'[', "events (an array)")?;
                let mut f = true;
                while p.more(b']', &mut f)? {
                    if b.events.len() == MAX_EVENTS {
                        return p.err(p.pos, JsonErrorKind::TooMany("events"));
                    }
                    b.events.push(event(&mut p)?);
                }
            }
        }
    }
    for (bit, name) in [(0, "v"), (1, "s"), (2, "c"), (3, "n"), (4, "d"), (5, "e")] {
        if seen & (1 << bit) == 0 {
            return p.err(p.pos.saturating_sub(1), JsonErrorKind::Missing(name));
        }
    }
    p.ws();
    if p.pos != s.len() {
        return p.err(p.pos, JsonErrorKind::TrailingData);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn sample() -> Batch {
        let view = Event {
            id: (7 << 32) | 1,
            item: Some("SKU-000123".into()),
            category: Some("shoes/running".into()),
            price: Some(8990),
            currency: Some("EUR".into()),
            dwell_ms: Some(2500),
            ..Event::new(Kind::ProductView, T + 3000)
        };
        let buy = Event {
            id: u64::MAX,
            order: Some("N-1".into()),
            price: Some(-5),
            lines: vec![
                Line { item: "a".into(), qty: 2, price: None },
                Line { item: "b".into(), qty: 1, price: Some(5) },
            ],
            terms: vec!["x\"<\u{1}".into()],
            name: Some("é😀".into()),
            props: vec![("k".into(), "".into()), ("k".into(), "2".into())],
            ..Event::new(Kind::Purchase, u64::MAX)
        };
        Batch { site: "demo".into(), client: [0xab; 16], session: 3, dropped: 4, events: vec![view, buy] }
    }

    #[test]
    fn round_trips() {
        let b = sample();
        let s = encode_json(&b);
        assert!(s.starts_with(r#"{"v":1,"s":"demo","c":"abababababababababababababababab","n":3,"d":4,"e":[{"i":"0000000700000001","k":"view","t":1700000003000,"it":"SKU-000123""#), "{s}");
        assert_eq!(decode_json(&s), Ok(b.clone()));
        assert_eq!(decode_json(&encode_json(&Batch::default())), Ok(Batch::default()));
    }

    #[test]
    fn accepts_whitespace_and_escapes() {
        let s = " {\"v\" : 1 ,\n\"s\":\"a\\u00e9\\ud83d\\ude00\\/\\b\",\"c\":\"ABABABABABABABABABABABABABABABAB\",\"n\":0,\"d\":0,\"e\":[ ] } \n";
        let b = decode_json(s).unwrap();
        assert_eq!(b.site, "aé😀/\u{8}");
        assert_eq!(b.client, [0xab; 16]);
    }

    fn err(s: &str) -> (usize, JsonErrorKind) {
        let e = decode_json(s).unwrap_err();
        (e.offset, e.kind)
    }

    #[test]
    fn errors_are_clear() {
        use JsonErrorKind::*;
        const H: &str = r#"{"v":1,"s":"x","c":"00000000000000000000000000000000","n":0,"d":0,"e":["#;
        assert_eq!(err(""), (0, UnexpectedEnd));
        assert_eq!(err("[]").1, Expected("'{' (a JSON batch is an object)"));
        assert_eq!(err(r#"{"v":2}"#), (5, UnsupportedVersion(2)));
        assert_eq!(err(r#"{"s":"x"}"#), (1, Expected("\"v\" as the first key")));
        assert_eq!(err(r#"{"v":1,"v":1}"#), (7, DuplicateKey("v".into())));
        assert_eq!(err(r#"{"v":1,"zz":1}"#), (7, UnknownKey("zz".into())));
        assert_eq!(err(r#"{"v":1}"#), (6, Missing("s")));
        assert_eq!(err(r#"{"v":1.0}"#).1, BadNumber("not an integer (prices are in hundredths)"));
        assert_eq!(err(r#"{"v":01}"#).1, BadNumber("leading zero"));
        assert_eq!(err(r#"{"v":1,"s":"a"#).1, UnexpectedEnd);
        assert_eq!(err("{\"v\":1,\"s\":\"a\u{1}\"}").1, BadString("raw control character (escape it)"));
        assert_eq!(err(r#"{"v":1,"s":"\ud800"}"#), (12, BadString("lone surrogate in \\u escape")));
        assert_eq!(err(r#"{"v":1,"s":"\q"}"#).1, BadString("unknown escape"));
        assert_eq!(err(r#"{"v":1,"c":"abc"}"#), (11, BadValue("client id: 32 hex digits")));
        assert_eq!(err(r#"{"v":1,"n":4294967296}"#), (11, BadNumber("session (unsigned 32-bit integer)")));
        let ev = |e: &str| err(&[H, e, "]}"].concat());
        assert_eq!(ev(r#"{"i":"1","k":"nope","t":0}"#).1, BadValue("kind (unknown name)"));
        assert_eq!(ev(r#"{"i":"1","k":"page"}"#), (H.len(), Missing("t")));
        assert_eq!(ev(r#"{"i":"x","k":"page","t":0}"#).1, BadValue("event id: 1 to 16 hex digits"));
        assert_eq!(ev(r#"{"i":"1","k":"page","t":-1}"#).1, BadNumber("timestamp (unsigned 64-bit integer)"));
        assert_eq!(
            ev(r#"{"i":"1","k":"page","t":0,"p":9223372036854775808}"#).1,
            BadNumber("price (64-bit integer, hundredths)")
        );
        let min = decode_json(&[H, r#"{"i":"1","k":"page","t":0,"p":-9223372036854775808}"#, "]}"].concat());
        assert_eq!(min.map(|b| b.events[0].price), Ok(Some(i64::MIN)));
        assert_eq!(ev(r#"{"i":"1","k":"page","t":0,"l":[{"q":1}]}"#).1, Missing("it"));
        assert_eq!(ev(r#"{"i":"1","k":"page","t":0} {}"#).1, Expected("',' or ']'"));
        assert_eq!(err(&[H, "]} x"].concat()).1, TrailingData);
        let long = ["{\"v\":1,\"s\":\"", &"a".repeat(MAX_STRING_LEN + 1), "\"}"].concat();
        assert_eq!(err(&long), (11, TooLong("site (string)")));
        let e = decode_json(r#"{"v":1,"zz":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "JSON batch: unknown key \"zz\" at byte 7");
    }
}
