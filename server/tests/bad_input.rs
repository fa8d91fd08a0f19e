//! Every kind of bad request to `POST /v1/collect`, in one table: what was sent,
//! the status, the answer. Nothing of it may be stored. The table is printed and
//! written to `target/bad-input.md` (so it can be read without `--nocapture`).

mod common;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vitrina::codec::put_varint;
use vitrina::codec_json::encode_json;
use vitrina::event::{Event, Kind};

/// Writes `raw` on a fresh connection, keeps it open, and reads the answer
/// (until the server closes or `wait` passes). Also how long the answer took.
async fn raw(addr: SocketAddr, raw: &[u8], wait: Duration) -> (Option<Resp>, Duration) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let t0 = Instant::now();
    let _ = s.write_all(raw).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            n = s.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    // A complete answer with a Content-Length: done.
                    if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let r = parse(&got);
                        let len: usize = r.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
            },
            () = &mut deadline => break,
        }
    }
    let took = t0.elapsed();
    ((!got.is_empty()).then(|| parse(&got)), took)
}

fn head(method: &str, extra: &str) -> String {
    format!("{method} /v1/collect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}")
}

/// A binary batch written by hand from `body` (what follows the string table
/// count), after a valid header.
fn hand_batch(site: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut b = vec![0x56, 0x01];
    put_varint(&mut b, site.len() as u64);
    b.extend_from_slice(site);
    b.extend_from_slice(&client(1));
    b.extend_from_slice(&[1, 0]); // session 1, dropped 0
    put_varint(&mut b, T);
    b.extend_from_slice(tail);
    b
}

/// One event of `kind` with `mask` and the bytes of its `fields`, after an
/// empty string table.
fn one_event(kind: u8, mask: &[u8], fields: &[u8]) -> Vec<u8> {
    let mut t = vec![0, 1, kind];
    t.extend_from_slice(mask);
    t.extend_from_slice(&[2, 0]); // id delta +1, ts delta 0
    t.extend_from_slice(fields);
    hand_batch(b"demo", &t)
}

/// Events that decode but fail validation, one reason each.
fn invalid_events() -> Vec<Event> {
    vec![
        Event { price: Some(-1), ..view(1, "SKU-1", "shoes") },
        view(2, "", "shoes"),
        Event { currency: Some("eur".into()), ..view(3, "SKU-3", "shoes") },
        Event { ts: 631_152_000_000, ..view(4, "SKU-4", "shoes") }, // 1990
        Event { qty: Some(0), ..ev(Kind::CartAdd, 5, "SKU-5") },
        view(6, "SKU\u{7}6", "shoes"),
        Event { id: 7, ..Event::new(Kind::Search, T) }, // no terms
    ]
}

struct Row {
    request: String,
    status: String,
    answer: String,
}

fn answer_of(r: &Option<Resp>) -> (String, String) {
    match r {
        None => ("(none)".into(), "(the server closed the connection without answering)".into()),
        Some(r) => {
            let text = if r.body.is_empty() {
                "(empty body: hyper refuses the request line or headers)".to_owned()
            } else {
                match serde_json::from_slice::<serde_json::Value>(&r.body) {
                    Ok(j) if j.get("error").is_some() => j["error"].as_str().unwrap_or_default().to_owned(),
                    Ok(j) if j.get("accepted").is_some() => {
                        // "event 1 (view, id ...): empty item" -> "empty item"
                        let reasons: Vec<&str> = j["errors"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e.as_str()?.split_once("): ").map(|(_, why)| why))
                            .collect();
                        format!(
                            "accepted {}, rejected {}: {}{}",
                            j["accepted"],
                            j["rejected"],
                            reasons.join("; "),
                            if j["rejected"].as_u64() > Some(reasons.len() as u64) { "; ..." } else { "" }
                        )
                    }
                    Ok(j) => j.to_string(),
                    Err(_) => r.text(),
                }
            };
            let mut text = text.replace('|', "\\|").replace('\n', " ");
            if text.chars().count() > 260 {
                text = text.chars().take(257).collect::<String>() + "...";
            }
            (r.status.to_string(), text)
        }
    }
}

#[tokio::test]
async fn every_bad_request_is_refused_and_nothing_is_stored() {
    let body_timeout = Duration::from_secs(1);
    let (srv, _dir) = start_with(|c| c.body_timeout = body_timeout).await;
    let a = srv.local_addr();
    let good = sample(1);
    let w = Duration::from_secs(10);
    let mut rows: Vec<Row> = Vec::new();
    let mut expect: Vec<(String, u16)> = Vec::new();
    let mut add = |request: &str, r: Option<Resp>, want: u16| {
        let (status, answer) = answer_of(&r);
        rows.push(Row { request: request.to_owned(), status, answer });
        expect.push((request.to_owned(), want));
    };

    // Bodies posted whole.
    let cut = &good[..good.len() / 2];
    let mut bad_magic = good.clone();
    bad_magic[0] = 0x57;
    let mut version = good.clone();
    version[1] = 2;
    let mut trailing = good.clone();
    trailing.push(0);
    let mut too_many_events = hand_batch(b"demo", &[0]);
    put_varint(&mut too_many_events, 10_001);
    let mut long_string = hand_batch(b"demo", &[1]);
    put_varint(&mut long_string, 5000);
    long_string.extend(std::iter::repeat_n(b'a', 5000));
    let mut huge_count = hand_batch(b"demo", &[]);
    put_varint(&mut huge_count, 4_000_000_000);
    let bad_values = batch(2, invalid_events());
    let bad_values_json = encode_json(&vitrina::codec::decode(&bad_values).unwrap());
    let valid_json = encode_json(&vitrina::codec::decode(&good).unwrap());
    let unknown_key = valid_json.replacen("\"n\":1", "\"n\":1,\"ip\":\"203.0.113.9\"", 1);
    let float_price = valid_json.replacen("\"p\":8990", "\"p\":89.9", 1);
    let null_field = valid_json.replacen("\"p\":8990", "\"p\":null", 1);
    let nested = format!("{{\"v\":1,\"s\":\"demo\",\"e\":{}", "[".repeat(100_000));
    let mut not_utf8 = br#"{"v":1,"s":""#.to_vec();
    not_utf8.extend_from_slice(&[0xff, 0xfe]);
    not_utf8.extend_from_slice(br#""}"#);
    let oversized = batch(3, (0..15_000).map(|i| view(i, &format!("SKU-{i:06}-{}", "x".repeat(60)), "s")).collect());
    assert!(oversized.len() > 1 << 20, "{}", oversized.len());
    let bodies: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage text", b"hello, this is not a batch".to_vec(), 400),
        ("empty body", Vec::new(), 400),
        ("binary batch cut in half", cut.to_vec(), 400),
        ("bad magic byte 0x57", bad_magic, 400),
        ("unknown version 2", version, 400),
        ("a byte after the last event", trailing, 400),
        ("site not UTF-8", hand_batch(&[0xff, 0xfe], &[0, 0]), 400),
        ("event kind 13", one_event(13, &[0], &[]), 400),
        ("unknown mask bit 16", one_event(1, &[0x80, 0x80, 0x04], &[]), 400),
        ("url: string index 5 of an empty table", one_event(1, &[0x80, 0x02], &[5]), 400),
        ("INHERIT on the first event", one_event(2, &[0x20], &[]), 400),
        ("10 001 events announced", too_many_events, 400),
        ("a 5000-byte string", long_string, 400),
        ("4 billion strings announced", huge_count, 400),
        ("7 events with bad field values (binary)", bad_values, 200),
        ("the same 7 bad events (JSON)", bad_values_json.into_bytes(), 200),
        ("malformed JSON: {\"v\":1,", br#"{"v":1,"#.to_vec(), 400),
        ("JSON with an unknown key \"ip\"", unknown_key.into_bytes(), 400),
        ("JSON price 89.9 (not hundredths)", float_price.into_bytes(), 400),
        ("JSON null field", null_field.into_bytes(), 400),
        ("JSON not UTF-8", not_utf8, 400),
        ("JSON nested 100 000 deep", nested.into_bytes(), 400),
        ("binary batch over --max-body (1 MiB)", oversized, 413),
    ];
    for (what, body, want) in bodies {
        let r = request(a, "POST", "/v1/collect", &[], &body).await;
        add(&format!("{what} ({} bytes)", body.len()), Some(r), want);
    }

    // Requests that are wrong as HTTP.
    for method in ["GET", "PUT", "DELETE"] {
        let r = request(a, method, "/v1/collect", &[], b"").await;
        add(&format!("{method} /v1/collect"), Some(r), 405);
    }
    let (r, _) = raw(a, head("POST", "Content-Length: 1000000000000\r\n\r\n").as_bytes(), w).await;
    add("Content-Length: 10^12, no body", r, 413);
    let (r, _) = raw(a, head("POST", "Content-Length: 99999999999999999999999\r\n\r\n").as_bytes(), w).await;
    add("Content-Length: 10^23 (over 64 bits)", r, 400);
    let mut chunked = head("POST", "Transfer-Encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b'V', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (r, _) = raw(a, &chunked, w).await;
    add("chunked body of 1.25 MiB (no Content-Length)", r, 413);
    let (r, _) = raw(a, head("POST", "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").as_bytes(), w).await;
    add("malformed chunked encoding", r, 400);
    let mut slow = head("POST", "Content-Length: 500\r\n\r\n").into_bytes();
    slow.extend_from_slice(&good[..10]);
    let (r, took) = raw(a, &slow, w).await;
    assert!(took >= body_timeout && took < body_timeout * 4, "answered after {took:?}");
    add(&format!("slowloris: 10 of 500 body bytes, then silence (answered after {:.1} s)", took.as_secs_f64()), r, 408);

    // The table.
    let mut table = String::from("| request | status | answer |\n| --- | --- | --- |\n");
    for r in &rows {
        writeln!(table, "| {} | {} | {} |", r.request, r.status, r.answer).unwrap();
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("bad-input.md");
    std::fs::write(&target, &table).unwrap();
    println!("{table}\n(also in {})", target.display());

    for ((what, want), row) in expect.iter().zip(&rows) {
        assert_eq!(row.status, want.to_string(), "{what}: {}", row.answer);
    }
    // Nothing of it was stored: not an event, not a batch.
    assert!(stored_events(a).await.is_empty());
    let stats = admin_get(a, "/v1/stats").await.json();
    assert_eq!(stats["totals"]["accepted"], serde_json::json!(0));
    assert_eq!(stats["totals"]["rejected"], serde_json::json!(14));
    // The server is still fine.
    assert_eq!(post_ok(a, &good).await, (5, 0, 0));
    srv.stop().await.unwrap();
}
