//! Bytes from the real encoder, for the JS decoder's tests and the wire-format doc.
//!
//! ```text
//! cargo run --example encode_fixture            # every fixture, as JSON (tests/decoder reads this)
//! cargo run --example encode_fixture hex NAME   # the binary batch NAME as hex (worked, standard, every)
//! cargo run --example encode_fixture json NAME  # the same batch in the JSON format
//! cargo run --example encode_fixture sizes      # raw sizes of the standard sequence
//! ```
//!
//! A fixture carries the input (hex bytes or JSON text) and what the Rust decoder made
//! of it: the batch in the shape the JS decoder returns, or the error message.

#[path = "../tests/support/batches.rs"]
mod batches;

use vitrina::codec::{self, Batch};
use vitrina::codec_json;
use vitrina::event::Event;
use vitrina::json::{push_str, push_u64, Obj};

fn named(name: &str) -> Option<Batch> {
    match name {
        "worked" => Some(batches::worked_example()),
        "standard" => Some(batches::standard_sequence()),
        "every" => Some(batches::every_field()),
        "empty" => Some(Batch::default()),
        _ => None,
    }
}

/// The batch as the JS decoder returns it, except that prices stay in hundredths
/// under `priceCents` (the test divides, so both sides do the same float division).
fn expect(out: &mut String, b: &Batch) {
    let mut o = Obj::new(out);
    o.int("version", 1).str("site", &b.site).str("client", &codec::hex(&b.client));
    o.int("session", b.session as i64).int("dropped", b.dropped as i64);
    let a = o.key("events");
    a.push('[');
    for (n, e) in b.events.iter().enumerate() {
        if n > 0 {
            a.push(',');
        }
        event(a, e);
    }
    a.push(']');
    o.end();
}

fn event(out: &mut String, e: &Event) {
    let mut o = Obj::new(out);
    o.str("id", &codec::hex(&e.id.to_be_bytes())).str("kind", e.kind.name());
    // Exact decimal as a string: the test compares it with String(ts) / BigInt.
    push_str(o.key("ts"), &vitrina::json::itoa(e.ts));
    o.opt_str("item", &e.item).opt_str("category", &e.category).opt_str("brand", &e.brand);
    if let Some(p) = e.price {
        push_str(o.key("priceCents"), &p.to_string());
    }
    o.opt_str("currency", &e.currency);
    if let Some(q) = e.qty {
        o.int("qty", q as i64);
    }
    o.opt_str("url", &e.url).opt_str("slot", &e.slot).opt_str("rec", &e.rec);
    if let Some(d) = e.dwell_ms {
        o.int("dwellMs", d as i64);
    }
    o.opt_str("order", &e.order);
    if !e.lines.is_empty() {
        let a = o.key("lines");
        a.push('[');
        for (n, l) in e.lines.iter().enumerate() {
            if n > 0 {
                a.push(',');
            }
            let mut lo = Obj::new(a);
            lo.str("item", &l.item).int("qty", l.qty as i64);
            if let Some(p) = l.price {
                push_str(lo.key("priceCents"), &p.to_string());
            }
            lo.end();
        }
        a.push(']');
    }
    if !e.terms.is_empty() {
        let a = o.key("terms");
        a.push('[');
        for (n, t) in e.terms.iter().enumerate() {
            if n > 0 {
                a.push(',');
            }
            push_str(a, t);
        }
        a.push(']');
    }
    o.opt_str("name", &e.name);
    if !e.props.is_empty() {
        // Pairs, in order: the JS decoder's object keeps the last of duplicate keys.
        let a = o.key("props");
        a.push('[');
        for (n, (k, v)) in e.props.iter().enumerate() {
            if n > 0 {
                a.push(',');
            }
            a.push('[');
            push_str(a, k);
            a.push(',');
            push_str(a, v);
            a.push(']');
        }
        a.push(']');
    }
    o.end();
}

/// One fixture: `input` is `hex` (binary) or `json` (text); then `expect` or `error`.
fn fixture(out: &mut String, name: &str, binary: Option<&[u8]>, json: Option<&str>) {
    let mut o = Obj::new(out);
    o.str("name", name);
    let result = match (binary, json) {
        (Some(b), _) => {
            o.str("hex", &codec::hex(b));
            codec::decode(b).map_err(|e| e.to_string())
        }
        (_, Some(j)) => {
            o.str("json", j);
            codec_json::decode_json(j).map_err(|e| e.to_string())
        }
        _ => unreachable!(),
    };
    match result {
        Ok(b) => expect(o.key("expect"), &b),
        Err(e) => {
            o.str("error", &e);
        }
    }
    o.end();
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn all_fixtures() -> String {
    let mut list: Vec<String> = Vec::new();
    let mut add = |name: &str, binary: Option<&[u8]>, json: Option<&str>| {
        let mut s = String::new();
        fixture(&mut s, name, binary, json);
        list.push(s);
    };
    for name in ["worked", "standard", "every", "empty"] {
        let b = named(name).unwrap();
        add(&[name, ".bin"].concat(), Some(&codec::encode(&b)), None);
        add(&[name, ".json"].concat(), None, Some(&codec_json::encode_json(&b)));
    }

    // Malformed binary batches, each with the Rust decoder's message.
    let good = codec::encode(&batches::worked_example());
    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        ("empty input", vec![]),
        ("bad magic", b"<html>".to_vec()),
        ("bad version", vec![0x56, 2]),
        ("truncated in site", vec![0x56, 1, 4, b'd']),
        ("string too long", vec![0x56, 1, 0x81, 0x20]),
        ("varint too long", [&[0x56u8, 1, 0][..], &[0; 16], &[0xff; 11]].concat()),
        ("session wider than 32 bits", [&[0x56u8, 1, 0][..], &[0; 16], &[0x80, 0x80, 0x80, 0x80, 0x10]].concat()),
        ("too many strings", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0x91, 0x4e]].concat()),
        ("string count past the end", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 5, 1, b'a']].concat()),
        ("bad utf-8", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 1, 2, 0xc3, 0x28, 0]].concat()),
        ("event count past the end", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0, 1, 1, 0, 0]].concat()),
        ("bad kind", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0, 1, 13, 0, 0, 0]].concat()),
        ("unknown mask bit", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0, 1, 1, 0x80, 0x80, 0x04, 0, 0]].concat()),
        ("nothing to inherit", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0, 1, 1, 0x20, 0, 0]].concat()),
        (
            "string index out of range",
            [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 1, 1, b'a', 1, 2, 1, 0, 0, 1]].concat(),
        ),
        (
            "huge string index",
            [
                &[0x56u8, 1, 0][..],
                &[0; 16],
                &[0, 0, 0, 0, 1, 2, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ]
            .concat(),
        ),
        ("too many lines", [&[0x56u8, 1, 0][..], &[0; 16], &[0, 0, 0, 0, 1, 7, 0x80, 0x20, 0, 0, 0xe9, 0x07]].concat()),
        ("trailing bytes", [&good[..], &[0, 0]].concat()),
    ];
    for cut in [1, 2, 3, 10, 22, 30, good.len() / 2, good.len() - 1] {
        bad.push(("truncated", good[..cut].to_vec()));
    }
    for (n, (what, b)) in bad.iter().enumerate() {
        add(&["bad.bin ", &n.to_string(), " ", what].concat(), Some(b), None);
    }

    // Malformed JSON batches.
    let bad_json = [
        "",
        "[]",
        r#"{"v":2,"s":"x"}"#,
        r#"{"s":"x"}"#,
        r#"{"v":1,"v":1}"#,
        r#"{"v":1,"zz":1}"#,
        r#"{"v":1}"#,
        r#"{"v":1.5}"#,
        r#"{"v":1e0}"#,
        r#"{"v":01}"#,
        r#"{"v":1,"s":"a"#,
        "{\"v\":1,\"s\":\"a\u{1}\"}",
        r#"{"v":1,"s":"\ud800x"}"#,
        r#"{"v":1,"s":"\udc00"}"#,
        r#"{"v":1,"s":"\q"}"#,
        r#"{"v":1,"s":"\u12g4"}"#,
        r#"{"v":1,"s":null}"#,
        r#"{"v":1,"c":"abc"}"#,
        r#"{"v":1,"n":4294967296}"#,
        r#"{"v":1,"n":-1}"#,
        r#"{"v":1,"n":-0}"#,
        r#"{"v":1,"n":99999999999999999999999}"#,
        r#"{"v":1 "s":"x"}"#,
        r#"{"v":1,}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[]} x"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"nope","t":0}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page"}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"10000000000000000","k":"page","t":0}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"p":9223372036854775808}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"p":-9223372036854775809}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"l":[{"q":1}]}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"pr":{"a":1}}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"te":"x"}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0} {}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"it":"a","it":"b"}]}"#,
        r#"{"v":1,"s":"x","c":"000102030405060708090a0b0c0d0e0f","n":0,"d":0,"e":[{"i":"1","k":"page","t":0,"zz😀zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz":1}]}"#,
    ];
    for (n, j) in bad_json.iter().enumerate() {
        add(&["bad.json ", &n.to_string()].concat(), None, Some(j));
    }
    let long = ["{\"v\":1,\"s\":\"", &"é".repeat(2049), "\"}"].concat();
    add("bad.json long string", None, Some(&long));

    // Differential fuzz: mutated and cut batches, with whatever Rust made of them.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<Vec<u8>> = ["worked", "every"].iter().map(|n| codec::encode(&named(n).unwrap())).collect();
    for n in 0..600 {
        let mut b = seeds[n % 2].clone();
        for _ in 0..(rng.below(3) + 1) {
            let i = rng.below(b.len());
            b[i] = rng.next() as u8;
        }
        if rng.below(4) == 0 {
            b.truncate(rng.below(b.len() + 1));
        }
        add(&["fuzz.bin ", &n.to_string()].concat(), Some(&b), None);
    }
    let jseeds: Vec<String> = ["worked", "every"].iter().map(|n| codec_json::encode_json(&named(n).unwrap())).collect();
    const ALPHABET: &[u8] = b"{}[]:,\"\\01-9.eEuvsncdikt \n";
    for n in 0..600 {
        let mut b = jseeds[n % 2].clone().into_bytes();
        for _ in 0..(rng.below(3) + 1) {
            // Replace an ASCII byte by an ASCII byte: the text stays UTF-8.
            let i = rng.below(b.len());
            if b[i].is_ascii() {
                b[i] = ALPHABET[rng.below(ALPHABET.len())];
            }
        }
        if rng.below(4) == 0 {
            let mut cut = rng.below(b.len() + 1);
            while !b[..cut].is_ascii() && std::str::from_utf8(&b[..cut]).is_err() {
                cut -= 1;
            }
            b.truncate(cut);
        }
        let s = String::from_utf8(b).expect("ASCII-for-ASCII mutations keep UTF-8");
        add(&["fuzz.json ", &n.to_string()].concat(), None, Some(&s));
    }

    let mut out = String::from("{\"fixtures\":[\n");
    out.push_str(&list.join(",\n"));
    out.push_str("\n]}\n");
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let get = |n: Option<&&str>| {
        let n = n.copied().unwrap_or("worked");
        named(n).unwrap_or_else(|| {
            eprintln!("unknown batch {n:?}: use worked, standard, every or empty");
            std::process::exit(2)
        })
    };
    match args.first().copied() {
        None | Some("fixtures") => print!("{}", all_fixtures()),
        Some("hex") => println!("{}", codec::hex(&codec::encode(&get(args.get(1))))),
        Some("json") => println!("{}", codec_json::encode_json(&get(args.get(1)))),
        Some("sizes") => {
            let b = batches::standard_sequence();
            let n = b.events.len();
            let bin = codec::encode(&b).len();
            let json = codec_json::encode_json(&b).len();
            let mut s = String::new();
            push_u64(&mut s, n as u64);
            println!("standard sequence: {n} events");
            println!("binary: {bin} bytes, {:.2} bytes/event", bin as f64 / n as f64);
            println!("json:   {json} bytes, {:.2} bytes/event", json as f64 / n as f64);
        }
        Some(other) => {
            eprintln!("unknown command {other:?}: use fixtures, hex NAME, json NAME or sizes");
            std::process::exit(2)
        }
    }
}
