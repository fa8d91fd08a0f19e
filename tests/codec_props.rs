//! Property tests of the two wire formats (`codec`, `codec_json`):
//!
//! - arbitrary batches round-trip through both, and both carry the same information:
//!   `decode_json(encode_json(b)) == b == decode(encode(b))`;
//! - arbitrary and mutated input never panics either decoder, and errors are clear;
//! - decoding small input allocates little (a counting global allocator, per thread).
//!
//! Native only (proptest is not built for wasm32).
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/batches.rs"]
mod batches;

use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use vitrina::codec::{self, Batch, DecodeError};
use vitrina::codec_json::{decode_json, encode_json};
use vitrina::event::{Event, Kind, Line};

// ---------------------------------------------------------------------------
// A global allocator that counts the live bytes of the current thread and their peak.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + delta;
        live.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            track(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        track(-(l.size() as isize));
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            track(l.size() as isize);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            track(new as isize - l.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result with the most bytes that were live at once while
/// it ran, counting what it returns (allocations made before `f` are not counted).
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    let r = f();
    (r, PEAK.with(Cell::get).max(0) as usize)
}

// ---------------------------------------------------------------------------
// Strategies.

/// Strings: mostly from a small pool (so events share and inherit them), sometimes
/// arbitrary Unicode including controls, quotes and backslashes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["SKU-000123", "shoes/running", "EUR", "", "a\"b\\c</", "ñ😀", "\u{0}\u{1f}\u{7f}"])
            .prop_map(String::from),
        1 => prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![2 => Just(None), 3 => text().prop_map(Some)]
}

fn price() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(8990i64), 1 => 0..=1_000_000_000i64, 1 => any::<i64>()]
}

/// Line prices: every i64 but `i64::MIN`, which the binary encoder cannot represent
/// (see `line_price_i64_min` below).
fn line_price() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(price().prop_map(|p| p.max(i64::MIN + 1)))
}

fn small_u32() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0..100u32, 1 => any::<u32>()]
}

fn event() -> impl Strategy<Value = Event> {
    let ids = (any::<u64>(), prop::sample::select(Kind::ALL.to_vec()), any::<u64>());
    let inherited = (opt_text(), opt_text(), opt_text(), prop::option::of(price()), opt_text());
    let rest = (
        prop::option::of(small_u32()),
        opt_text(),
        opt_text(),
        opt_text(),
        prop::option::of(small_u32()),
        opt_text(),
        opt_text(),
    );
    let lists = (
        prop::collection::vec((text(), small_u32(), line_price()), 0..4),
        prop::collection::vec(text(), 0..4),
        prop::collection::vec((text(), text()), 0..4),
    );
    (ids, inherited, rest, lists).prop_map(
        |(
            (id, kind, ts),
            (item, category, brand, price, currency),
            (qty, url, slot, rec, dwell_ms, order, name),
            (lines, terms, props),
        )| Event {
            id,
            kind,
            ts,
            item,
            category,
            brand,
            price,
            currency,
            qty,
            url,
            slot,
            rec,
            dwell_ms,
            order,
            lines: lines.into_iter().map(|(item, qty, price)| Line { item, qty, price }).collect(),
            terms,
            name,
            props,
        },
    )
}

/// Events, often repeating the previous event's item fields (as a shopper browsing
/// one product does), so that the INHERIT bit is exercised in every combination.
fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((event(), any::<u8>()), 0..12).prop_map(|list| {
        let mut out: Vec<Event> = Vec::with_capacity(list.len());
        for (mut e, copy) in list {
            if let (Some(p), true) = (out.last(), copy % 3 != 0) {
                // Copy some of the previous event's inheritable fields.
                if copy & 8 != 0 {
                    e.item = p.item.clone();
                }
                if copy & 16 != 0 {
                    e.category = p.category.clone();
                }
                if copy & 32 != 0 {
                    e.brand = p.brand.clone();
                }
                if copy & 64 != 0 {
                    e.price = p.price;
                }
                if copy & 128 != 0 {
                    e.currency = p.currency.clone();
                }
                if copy & 4 != 0 {
                    // Close in time and id, as real sequences are.
                    e.id = p.id.wrapping_add(1);
                    e.ts = p.ts.wrapping_add(e.ts % 10_000);
                }
            }
            out.push(e);
        }
        out
    })
}

fn batch() -> impl Strategy<Value = Batch> {
    (text(), any::<[u8; 16]>(), any::<u32>(), small_u32(), events())
        .prop_map(|(site, client, session, dropped, events)| Batch { site, client, session, dropped, events })
}

/// A valid encoding with a few bytes replaced and maybe cut.
fn mutated(valid: Vec<u8>, edits: Vec<(usize, u8)>, cut: usize) -> Vec<u8> {
    let mut b = valid;
    for (i, v) in edits {
        if !b.is_empty() {
            let n = b.len();
            b[i % n] = v;
        }
    }
    let n = b.len();
    b.truncate(n - cut % (n + 1).min(8));
    b
}

fn check_binary_error(e: &DecodeError) {
    let m = e.to_string();
    assert!(!m.is_empty() && !m.contains("{}"), "{m}");
}

fn check_json(input: &str) {
    if let Err(e) = decode_json(input) {
        assert!(e.offset <= input.len(), "offset {} past the input ({} bytes)", e.offset, input.len());
        let m = e.to_string();
        assert!(m.starts_with("JSON batch: ") && m.contains(" at byte "), "{m}");
    }
}

proptest! {
    #[test]
    fn both_formats_round_trip_and_agree(b in batch()) {
        let bin = codec::decode(&codec::encode(&b));
        prop_assert_eq!(bin.as_ref(), Ok(&b));
        let json = decode_json(&encode_json(&b));
        prop_assert_eq!(json.as_ref(), Ok(&b));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = codec::decode(&bytes) {
            check_binary_error(&e);
        }
        // And with a valid magic and version, to get past the first two checks.
        let deeper = [&[codec::MAGIC, codec::VERSION][..], &bytes].concat();
        if let Err(e) = codec::decode(&deeper) {
            check_binary_error(&e);
        }
    }

    #[test]
    fn mutated_batches_never_panic(b in batch(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..5), cut in any::<usize>()) {
        let bytes = mutated(codec::encode(&b), edits, cut);
        if let Err(e) = codec::decode(&bytes) {
            check_binary_error(&e);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_the_json_decoder(
        s in any::<String>(),
        t in "[ {}\\[\\]:,\"\\\\0-9a-fvsncdeiktulpqr.E+\\-]{0,120}",
    ) {
        check_json(&s);
        check_json(&t);
        check_json(&["{\"v\":1,", &t].concat());
    }

    #[test]
    fn mutated_json_never_panics(b in batch(), edits in prop::collection::vec((any::<usize>(), prop::sample::select(b"{}[]:,\"\\01-9.eEuvsncdikt \n".to_vec())), 1..5), cut in any::<usize>()) {
        let mut s = encode_json(&b).into_bytes();
        for (i, c) in edits {
            let i = i % s.len();
            // ASCII for ASCII keeps the text UTF-8.
            if s[i].is_ascii() {
                s[i] = c;
            }
        }
        let mut end = s.len() - cut % (s.len() + 1);
        while std::str::from_utf8(&s[..end]).is_err() {
            end -= 1;
        }
        check_json(std::str::from_utf8(&s[..end]).unwrap());
    }

    #[test]
    fn small_inputs_allocate_little(
        bytes in prop::collection::vec(any::<u8>(), 0..=100),
        header in any::<bool>(),
        s in "[ {}\\[\\]:,\"0-9a-fvsncdeiktulpqr]{0,100}",
    ) {
        // A valid header (and a few events) first, so that counts are reached.
        let input: Vec<u8> = if header {
            let mut h = vec![codec::MAGIC, codec::VERSION, 0];
            h.extend_from_slice(&[0; 16]);
            h.extend_from_slice(&bytes);
            h.truncate(100);
            h
        } else {
            bytes
        };
        let (_, peak) = peak_bytes(|| codec::decode(&input));
        prop_assert!(peak <= SMALL_INPUT_BUDGET, "{} input bytes took {} bytes: {:02x?}", input.len(), peak, input);
        let json = ["{\"v\":1,\"s\":\"\",\"c\":\"00000000000000000000000000000000\",\"n\":0,\"d\":0,\"e\":[", &s].concat();
        let json = &json[..json.len().min(100)];
        let (_, peak) = peak_bytes(|| decode_json(json));
        prop_assert!(peak <= SMALL_INPUT_BUDGET, "{} input bytes took {} bytes: {}", json.len(), peak, json);
    }
}

/// What decoding at most 100 bytes may take, the decoded batch included. An event
/// takes at least 4 bytes on the wire and `size_of::<Event>()` (344 on 64-bit) in
/// memory, so 100 bytes of binary can be about 19 events: 6.5 KB, plus strings.
const SMALL_INPUT_BUDGET: usize = 12 * 1024;

#[test]
fn the_worst_small_inputs_stay_within_budget() {
    // As many minimal events as 100 bytes hold, each inheriting four strings.
    let mut b = vec![codec::MAGIC, codec::VERSION, 0];
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&[0, 0, 0]); // session, dropped, base ts
    b.extend_from_slice(&[1, 20]); // one string of 20 bytes
    b.extend_from_slice(&[b'x'; 20]);
    let events = (100 - b.len() - 1 - 8) / 4 + 1;
    b.push(events as u8);
    // The first event sets item, category, brand and currency to string 0.
    b.extend_from_slice(&[2, 0x17, 0, 0, 0, 0, 0, 0]);
    for _ in 1..events {
        b.extend_from_slice(&[2, 0x20, 0, 0]); // inherit
    }
    assert!(b.len() <= 100, "{}", b.len());
    let (r, peak) = peak_bytes(|| codec::decode(&b));
    assert_eq!(r.map(|b| b.events.len()), Ok(events));
    assert!(peak <= SMALL_INPUT_BUDGET, "{peak}");

    // A count claiming more events than the bytes can hold reserves nothing.
    let mut huge = b[..b.len()].to_vec();
    huge.truncate(3 + 16 + 3 + 1 + 1 + 20);
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let (r, peak) = peak_bytes(|| codec::decode(&huge));
    assert_eq!(r, Err(DecodeError::TooMany("events")));
    assert!(peak < 1024, "{peak}");
}

#[test]
fn formats_carry_the_same_information_for_the_shared_batches() {
    for b in [batches::worked_example(), batches::standard_sequence(), batches::every_field(), Batch::default()] {
        assert_eq!(codec::decode(&codec::encode(&b)).as_ref(), Ok(&b));
        assert_eq!(decode_json(&encode_json(&b)).as_ref(), Ok(&b));
    }
}

#[test]
fn json_decoder_enforces_the_binary_limits() {
    let head = r#"{"v":1,"s":"","c":"00000000000000000000000000000000","n":0,"d":0,"e":["#;
    let ev = r#"{"i":"1","k":"page","t":0}"#;
    let many = [head, &vec![ev; codec::MAX_EVENTS + 1].join(","), "]}"].concat();
    let e = decode_json(&many).unwrap_err();
    assert_eq!(e.kind, vitrina::codec_json::JsonErrorKind::TooMany("events"));
    let ok = [head, &vec![ev; codec::MAX_EVENTS].join(","), "]}"].concat();
    assert_eq!(decode_json(&ok).map(|b| b.events.len()), Ok(codec::MAX_EVENTS));
    let terms =
        [head, r#"{"i":"1","k":"search","t":0,"te":["#, &vec!["\"a\""; codec::MAX_LIST + 1].join(","), "]}]}"].concat();
    assert_eq!(decode_json(&terms).unwrap_err().kind, vitrina::codec_json::JsonErrorKind::TooMany("terms"));
    // A deeply nested document is refused at the first unexpected bracket, not recursed into.
    let deep = [head, &"[".repeat(100_000)].concat();
    let e = decode_json(&deep).unwrap_err();
    assert_eq!(e.offset, head.len());
}

/// Regression (found by this file): a purchase line priced `i64::MIN` overflowed the
/// encoder's `zigzag(p) + 1`. The encoder now saturates; such a price is invalid
/// anyway (valid prices are 0..=1e9 hundredths) and never reaches the encoder.
#[test]
fn line_price_i64_min_does_not_panic() {
    let e = Event {
        lines: vec![Line { item: "a".into(), qty: 1, price: Some(i64::MIN) }],
        ..Event::new(Kind::Purchase, 0)
    };
    assert!(e.validate().is_err());
    let b = Batch { events: vec![e], ..Batch::default() };
    assert!(codec::decode(&codec::encode(&b)).is_ok());
}

/// Regression (found by this file): each reference to the string table becomes its
/// own `String`, so a long string referenced many times could allocate far more than
/// the input (1000 references to one 4096-byte string: 4 MB from 5 KB). The decoder
/// now refuses batches whose decoded strings exceed a small multiple of the input.
#[test]
fn string_references_do_not_amplify_allocation() {
    let mut b = vec![codec::MAGIC, codec::VERSION, 0];
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&[0, 0, 0]);
    b.push(1);
    codec::put_varint(&mut b, 4096);
    b.extend_from_slice(&[b'x'; 4096]);
    b.push(1); // one event
    b.extend_from_slice(&[10, 0x80, 0x40, 0, 0]); // search, mask TERMS, id, ts
    codec::put_varint(&mut b, 1000);
    b.extend_from_slice(&[0; 1000]);
    let (r, peak) = peak_bytes(|| codec::decode(&b));
    assert_eq!(r, Err(codec::DecodeError::TooMany("bytes of decoded strings")));
    let bound = b.len() * (codec::MAX_EXPANSION + 8) + 64 * 1024;
    assert!(peak <= bound, "{} input bytes took {peak} bytes (bound {bound})", b.len());
}
