//! Keeps `docs/wire-format.md` true: its worked example (hex dump and JSON), its JSON
//! error examples and its size table must be what the real encoders and decoders
//! produce. When the codec changes, regenerate them with
//! `cargo run --example encode_fixture hex worked` (and `json worked`, `sizes`).

#[path = "support/batches.rs"]
mod batches;

use vitrina::codec;
use vitrina::codec_json::{decode_json, encode_json};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/wire-format.md")).expect("docs/wire-format.md")
}

/// The lines between `<!-- NAME:start -->` and `<!-- NAME:end -->`, fences dropped.
fn section(doc: &str, name: &str) -> Vec<String> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let a = doc.find(&start).unwrap_or_else(|| panic!("{start} missing")) + start.len();
    let b = doc[a..].find(&end).unwrap_or_else(|| panic!("{end} missing")) + a;
    doc[a..b].lines().filter(|l| !l.trim().is_empty() && !l.starts_with("```")).map(str::to_owned).collect()
}

#[test]
fn worked_example_hex_is_the_encoders() {
    let want = codec::encode(&batches::worked_example());
    let mut got = Vec::new();
    for line in section(&doc(), "worked-example") {
        let head = line.split("  ").next().unwrap_or("");
        for tok in head.split_whitespace() {
            assert!(tok.len() == 2, "not a hex byte: {tok:?} in {line:?}");
            got.push(u8::from_str_radix(tok, 16).unwrap_or_else(|_| panic!("not a hex byte: {tok:?} in {line:?}")));
        }
    }
    assert_eq!(codec::hex(&got), codec::hex(&want), "regenerate with: cargo run --example encode_fixture hex worked");
    assert!(doc().contains(&format!("{} bytes in all", want.len())));
    assert_eq!(codec::decode(&got), Ok(batches::worked_example()));
}

#[test]
fn worked_example_json_is_the_encoders() {
    let want = encode_json(&batches::worked_example());
    let got = section(&doc(), "worked-json").concat();
    assert_eq!(got, want, "regenerate with: cargo run --example encode_fixture json worked");
    assert!(doc().contains(&format!("json worked`, {} bytes", want.len())));
}

#[test]
fn json_error_examples_are_the_decoders() {
    let rows = section(&doc(), "json-errors");
    assert!(rows.len() > 4);
    for row in rows.iter().skip(2) {
        let inner = row.strip_prefix("| `").and_then(|r| r.strip_suffix("` |")).unwrap_or_else(|| panic!("{row}"));
        let (input, message) = inner.split_once("` | `").unwrap_or_else(|| panic!("{row}"));
        let err = decode_json(input).expect_err(input);
        assert_eq!(err.to_string(), message, "{input}");
    }
}

#[test]
fn size_table_is_measured() {
    let b = batches::standard_sequence();
    let n = b.events.len() as f64;
    assert_eq!(n, 25.0);
    let bin = codec::encode(&b).len();
    let json = encode_json(&b).len();
    let rows = section(&doc(), "sizes");
    let row = |name: &str| -> Vec<String> {
        let r = rows.iter().find(|r| r.starts_with(&format!("| {name} |"))).unwrap_or_else(|| panic!("no {name} row"));
        r.split('|').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
    };
    for (name, len) in [("binary", bin), ("JSON", json)] {
        let r = row(name);
        assert_eq!(r[1], len.to_string(), "{name} bytes: run cargo run --example encode_fixture sizes");
        assert_eq!(r[2], format!("{:.2}", len as f64 / n), "{name} bytes/event");
        let gz: f64 = r[3].parse().unwrap();
        assert_eq!(r[4], format!("{:.2}", gz / n), "{name} gzip bytes/event");
    }
}
