//! The HTTP API, against an in-process server on 127.0.0.1:0.

mod common;

use common::*;
use serde_json::json;
use vitrina::codec::encode;
use vitrina::event::{Event, Kind};
use vitrina_server::{Config, Server};

// ---------------------------------------------------------------------------
// POST /v1/collect

async fn a_batch_is_stored_with_every_field(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));

    let events = stored_events(a).await;
    assert_eq!(events.len(), 5);
    // Newest first: one batch shares `received`, so the timestamps decide.
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["purchase", "search", "cart-add", "view", "page"]);

    let p = &events[0];
    assert_eq!(p["client"], json!("11111111111111111111111111111101"));
    assert_eq!(p["id"], json!((7u64 << 32) | 4));
    assert_eq!(p["id_hex"], json!("0000000700000004"));
    assert_eq!(p["site"], json!("demo"));
    assert_eq!(p["session"], json!(1));
    assert_eq!(p["ts"], json!(T + 4000));
    assert_eq!(p["order"], json!("N-4"));
    assert_eq!(p["price"], json!(1000));
    assert_eq!(
        p["lines"],
        json!([{"item": "SKU-001", "qty": 1, "price": 500}, {"item": "SKU-002", "qty": 1, "price": 500}])
    );
    assert!(p["received"].as_u64().unwrap() > T);
    assert!(p.get("item").is_none(), "absent fields are omitted: {p}");
    assert!(p.get("terms").is_none(), "empty lists are omitted: {p}");

    assert_eq!(events[1]["terms"], json!(["trail", "shoe"]));
    assert_eq!(events[2]["qty"], json!(2));
    let v = &events[3];
    assert_eq!(v["item"], json!("SKU-001"));
    assert_eq!(v["category"], json!("shoes/running"));
    assert_eq!(v["currency"], json!("EUR"));
    assert_eq!(v["dwell_ms"], json!(2500));
    assert_eq!(events[4]["url"], json!("/shop/"));
    srv.stop().await.unwrap();
}

async fn custom_events_keep_name_and_props(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    let e = Event {
        id: 9,
        name: Some("newsletter".into()),
        props: vec![("plan".into(), "pro".into()), ("source".into(), "footer".into())],
        ..Event::new(Kind::Custom, T)
    };
    assert_eq!(post_ok(a, &batch(1, vec![e])).await, (1, 0, 0));
    let events = stored_events(a).await;
    assert_eq!(events[0]["name"], json!("newsletter"));
    assert_eq!(events[0]["props"], json!({"plan": "pro", "source": "footer"}));
    srv.stop().await.unwrap();
}

async fn the_same_batch_twice_is_stored_once(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    assert_eq!(post_ok(a, &sample(1)).await, (0, 5, 0));
    // Same event ids from another client are different events.
    assert_eq!(post_ok(a, &sample(2)).await, (5, 0, 0));
    assert_eq!(stored_events(a).await.len(), 10);
    srv.stop().await.unwrap();
}

async fn an_invalid_event_is_rejected_alone(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    let bad_price = Event { price: Some(-1), ..view(3, "SKU-003", "shoes") };
    let body = batch(1, vec![view(1, "SKU-001", "shoes"), bad_price, view(4, "SKU-004", "shoes")]);
    let r = post(a, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!((j["accepted"].as_u64(), j["duplicates"].as_u64(), j["rejected"].as_u64()), (Some(2), Some(0), Some(1)));
    let errors = j["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].as_str().unwrap().contains("price out of range"), "{j}");

    let empty_item = ev(Kind::Like, 5, "");
    assert_eq!(post_ok(a, &batch(1, vec![empty_item, ev(Kind::Like, 6, "SKU-006")])).await, (1, 0, 1));

    let items: Vec<String> = stored_events(a).await.iter().map(|e| e["item"].as_str().unwrap().to_owned()).collect();
    assert_eq!(items, ["SKU-006", "SKU-004", "SKU-001"]);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn garbage_is_refused_and_nothing_is_stored() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    let r = post(a, b"hello, this is not a batch").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], json!("not a Vitrina batch (first byte 0x68, expected 0x56)"));
    let r = post(a, b"").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("truncated"), "{}", r.text());

    assert!(stored_events(a).await.is_empty());
    let stats = admin_get(a, "/v1/stats").await.json();
    assert_eq!(stats["totals"]["batches"], json!(0));
    assert_eq!(stats["since_start"]["refused"], json!(2));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_truncated_batch_is_refused_whole() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    let good = sample(1);
    for cut in [good.len() - 1, good.len() / 2, 3] {
        let r = post(a, &good[..cut]).await;
        assert_eq!(r.status, 400, "cut at {cut}");
        assert!(r.json()["error"].as_str().unwrap().contains("truncated"), "{}", r.text());
    }
    assert!(stored_events(a).await.is_empty());
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn an_unknown_version_is_refused_with_the_version() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    let mut b = sample(1);
    b[1] = 9;
    let r = post(a, &b).await;
    assert_eq!(r.status, 400);
    let msg = r.json()["error"].as_str().unwrap().to_owned();
    assert!(msg.contains("version 9"), "{msg}");
    assert!(stored_events(a).await.is_empty());
    srv.stop().await.unwrap();
}

async fn a_json_batch_goes_the_same_way_as_a_binary_one(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    let binary = sample(1);
    let decoded = vitrina::codec::decode(&binary).unwrap();
    // JSON whitespace before the batch is allowed (the first other byte decides).
    let json = format!(" \r\n\t{}", vitrina::codec_json::encode_json(&decoded));
    assert_eq!(post_ok(a, json.as_bytes()).await, (5, 0, 0));
    let from_json = stored_events(a).await;
    // The same events in binary are duplicates: one validation and dedup path.
    assert_eq!(post_ok(a, &binary).await, (0, 5, 0));
    // And the JSON form of a binary-stored batch too, from another client.
    assert_eq!(post_ok(a, &sample(2)).await, (5, 0, 0));
    let other = vitrina::codec_json::encode_json(&vitrina::codec::decode(&sample(2)).unwrap());
    assert_eq!(post_ok(a, other.as_bytes()).await, (0, 5, 0));
    let all = stored_events(a).await;
    assert_eq!(all.len(), 10);
    let strip = |e: &serde_json::Value| {
        let mut e = e.clone();
        e.as_object_mut().unwrap().remove("received");
        e
    };
    let (c1, c2) = ("11111111111111111111111111111101", "11111111111111111111111111111102");
    let mut a1: Vec<_> = all.iter().filter(|e| e["client"] == json!(c1)).map(strip).collect();
    let mut a2: Vec<_> = all.iter().filter(|e| e["client"] == json!(c2)).map(strip).collect();
    for e in &mut a2 {
        e["client"] = json!(c1);
    }
    a1.sort_by_key(|e| e["id"].as_u64());
    a2.sort_by_key(|e| e["id"].as_u64());
    assert_eq!(a1, a2, "a batch stored from JSON reads back as the same batch stored from binary");
    assert_eq!(from_json.len(), 5);

    // A bad event in a JSON batch is rejected alone, as in binary.
    let bad = vitrina::codec::decode(&batch(3, vec![view(1, "OK", "shoes"), view(2, "", "shoes")])).unwrap();
    let r = post(a, vitrina::codec_json::encode_json(&bad).as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.json()["accepted"].as_u64(), r.json()["rejected"].as_u64()), (Some(1), Some(1)));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_json_is_refused_with_the_decoder_message() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    for (body, want) in [
        (&br#"{"v":1,"zz":1}"#[..], r#"JSON batch: unknown key "zz" at byte 7"#),
        (br#"{"v":2}"#, "JSON batch: unsupported batch format version 2 (this decoder reads version 1) at byte 5"),
        (br#"  {"v":1 "s":"demo"}"#, "JSON batch: expected ',' or '}' at byte 9"),
        (b"{\"v\":1,\"s\":\"\xff\"}", "JSON batch: not valid UTF-8"),
    ] {
        let r = post(a, body).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(r.json()["error"], json!(want));
    }
    assert!(stored_events(a).await.is_empty());
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let (srv, _dir) = start_with(|c| c.max_body = 1000).await;
    let a = srv.local_addr();
    let big = batch(1, (0..200).map(|i| view(i, &format!("SKU-{i:05}"), "shoes")).collect());
    assert!(big.len() > 1000);
    let r = post(a, &big).await;
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].as_str().unwrap().contains("1000 bytes"), "{}", r.text());

    // Without a Content-Length the limit applies while reading.
    let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
    chunked.extend_from_slice(&big);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = request(a, "POST", "/v1/collect", &[("Transfer-Encoding", "chunked")], &chunked).await;
    assert_eq!(r.status, 413, "{}", r.text());

    // A batch under the limit still goes through.
    assert_eq!(post_ok(a, &sample(1)).await.0, 5);
    srv.stop().await.unwrap();
}

async fn concurrent_batches_are_all_committed(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    let tasks: Vec<_> = (0..100u8)
        .map(|c| {
            tokio::spawn(async move {
                let events = (0..20).map(|i| view(i, &format!("SKU-{i:03}"), "shoes")).collect();
                post_ok(a, &batch(c, events)).await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), (20, 0, 0));
    }
    let stats = admin_get(a, "/v1/stats").await.json();
    assert_eq!(stats["totals"]["accepted"], json!(2000));
    assert_eq!(stats["totals"]["batches"], json!(100));
    assert_eq!(stats["since_start"]["accepted"], json!(2000));
    assert_eq!(stats["writer"]["batches"], json!(100));
    assert!(stats["writer"]["commits"].as_u64().unwrap() <= 100);
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Admin endpoints

#[tokio::test]
async fn events_need_the_admin_token() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    post_ok(a, &sample(1)).await;

    let r = get(a, "/v1/events").await;
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].as_str().unwrap().contains("Bearer"));
    let r = request(a, "GET", "/v1/events", &[("Authorization", "Bearer wrong-token")], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(get(a, "/v1/stats").await.status, 401);

    assert_eq!(admin_get(a, "/v1/events").await.json()["events"].as_array().unwrap().len(), 5);
    let r = get(a, &format!("/v1/events?token={TOKEN}&limit=2")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["events"].as_array().unwrap().len(), 2);

    let r = admin_get(a, "/v1/events?kind=cart-add").await.json();
    let events = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], json!("cart-add"));
    let r = admin_get(a, "/v1/events?kind=nonsense").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("unknown kind"));
    assert_eq!(admin_get(a, "/v1/events?limit=lots").await.status, 400);
    srv.stop().await.unwrap();
}

async fn stats_count_batches_events_and_refusals(b: Backend) {
    let (srv, _dir) = start_on(b).await;
    let a = srv.local_addr();
    post_ok(a, &sample(1)).await;
    post_ok(a, &sample(1)).await;
    post_ok(a, &batch(2, vec![Event { price: Some(-5), ..view(1, "X", "shoes") }])).await;
    let mut dropped = vitrina::codec::Batch { client: client(3), dropped: 7, ..Default::default() };
    dropped.events.push(view(1, "Y", "shoes"));
    post_ok(a, &encode(&dropped)).await;
    post(a, b"junk").await;

    let s = admin_get(a, "/v1/stats").await.json();
    let want = json!({"batches": 4, "accepted": 6, "duplicates": 5, "rejected": 1, "client_dropped": 7});
    assert_eq!(s["totals"], want);
    for k in ["batches", "accepted", "duplicates", "rejected", "client_dropped"] {
        assert_eq!(s["since_start"][k], want[k], "{k}");
    }
    assert_eq!(s["since_start"]["refused"], json!(1));
    assert!(s["since_start"]["bytes"].as_u64().unwrap() > 0);
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// GET /v1/popularity

fn like(seq: u64, item: &str) -> Event {
    ev(Kind::Like, seq, item)
}

fn unlike(seq: u64, item: &str) -> Event {
    ev(Kind::Unlike, seq, item)
}

async fn likes_count_once_per_client_and_unlike_cancels(b: Backend) {
    let (srv, _dir) = start_on_with(b, |c| c.min_count = 1).await;
    let a = srv.local_addr();
    post_ok(a, &batch(1, vec![like(1, "A"), like(2, "A"), like(3, "B")])).await; // one like of A, one of B
    post_ok(a, &batch(2, vec![like(1, "A"), unlike(2, "A")])).await; // cancelled
    post_ok(a, &batch(3, vec![unlike(1, "A"), like(2, "A")])).await; // liked again: counts
                                                                     // Client 4's unlike happened later (ts) but arrives first: the like does not count.
    post_ok(a, &batch(4, vec![unlike(9, "A")])).await;
    post_ok(a, &batch(4, vec![like(5, "A")])).await;

    let j = get(a, "/v1/popularity").await.json();
    assert_eq!(j, json!({"min_count": 1, "items": {"A": {"likes": 2}, "B": {"likes": 1}}}));
    srv.stop().await.unwrap();
}

async fn counts_below_min_count_are_never_published(b: Backend) {
    let (srv, _dir) = start_on(b).await; // min-count 5
    let a = srv.local_addr();
    for c in 1..=5u8 {
        let mut events = vec![view(1, "A", "shoes/running"), like(2, "A")];
        if c <= 4 {
            events.push(view(3, "B", "shoes/trail"));
            events.push(ev(Kind::CartAdd, 4, "A"));
        }
        post_ok(a, &batch(c, events)).await;
    }
    let r = get(a, "/v1/popularity").await;
    // Every count of A is 5 (all of it received in the last hour); B's 4 views and A's 4 cart adds stay out.
    let a5 = json!({"likes": 5, "views": 5, "views_1h": 5, "views_1d": 5, "views_7d": 5});
    assert_eq!(r.json(), json!({"min_count": 5, "items": {"A": a5}}));
    assert!(!r.text().contains('4'), "a count of 4 leaked: {}", r.text());
    srv.stop().await.unwrap();
}

async fn views_carts_and_purchase_lines_are_counted(b: Backend) {
    let (srv, _dir) = start_on_with(b, |c| c.min_count = 1).await;
    let a = srv.local_addr();
    post_ok(
        a,
        &batch(1, vec![view(1, "A", "shoes/running"), view(2, "A", "shoes/running"), ev(Kind::CartAdd, 3, "A")]),
    )
    .await;
    post_ok(a, &batch(2, vec![purchase(1, &["A", "B"]), purchase(2, &["A"]), view(3, "C", "bags")])).await;
    let j = get(a, "/v1/popularity").await.json();
    // Everything was received just now, so each window equals the all-time count.
    assert_eq!(
        j["items"],
        json!({
            "A": {"views": 2, "views_1h": 2, "views_1d": 2, "views_7d": 2,
                  "carts": 1, "carts_1h": 1, "carts_1d": 1, "carts_7d": 1,
                  "purchases": 2, "purchases_1h": 2, "purchases_1d": 2, "purchases_7d": 2,
                  "bestseller": {"rank": 1, "category": "shoes"}},
            "B": {"purchases": 1, "purchases_1h": 1, "purchases_1d": 1, "purchases_7d": 1},
            "C": {"views": 1, "views_1h": 1, "views_1d": 1, "views_7d": 1},
        })
    );
    // Filters: by item list, and by category prefix (whole path segments).
    let j = get(a, "/v1/popularity?items=A,C,Z").await.json();
    assert_eq!(j["items"].as_object().unwrap().keys().collect::<Vec<_>>(), ["A", "C"]);
    let j = get(a, "/v1/popularity?category=shoes").await.json();
    assert_eq!(j["items"].as_object().unwrap().keys().collect::<Vec<_>>(), ["A"]);
    let j = get(a, "/v1/popularity?category=sho").await.json();
    assert_eq!(j["items"], json!({}));
    srv.stop().await.unwrap();
}

async fn popularity_has_an_etag_and_answers_304(b: Backend) {
    let (srv, _dir) = start_on_with(b, |c| c.min_count = 1).await;
    let a = srv.local_addr();
    post_ok(a, &batch(1, vec![view(1, "A", "shoes")])).await;
    let r = get(a, "/v1/popularity").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=30"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let etag = r.header("etag").expect("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let r = request(a, "GET", "/v1/popularity", &[("If-None-Match", &etag)], b"").await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("cache-control"), Some("public, max-age=30"));

    post_ok(a, &batch(2, vec![view(1, "A", "shoes")])).await;
    let r = request(a, "GET", "/v1/popularity", &[("If-None-Match", &etag)], b"").await;
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.json()["items"]["A"]["views"], json!(2));
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// CORS

#[tokio::test]
async fn cors_allows_only_listed_origins_and_the_own_one() {
    let (srv, _dir) = start_with(|c| c.origins = vec!["https://Shop.example.com/".into()]).await;
    let a = srv.local_addr();
    let shop = "https://shop.example.com";
    let own = format!("http://{a}");

    for origin in [shop, own.as_str()] {
        let r = request(a, "POST", "/v1/collect", &[("Origin", origin)], &sample(1)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("vary"), Some("Origin"));
        let r = request(a, "GET", "/v1/popularity", &[("Origin", origin)], b"").await;
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));

        let pre = [
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ];
        let r = request(a, "OPTIONS", "/v1/collect", &pre, b"").await;
        assert_eq!(r.status, 204);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
    }

    let evil = "https://evil.example.net";
    let r = request(a, "POST", "/v1/collect", &[("Origin", evil)], &sample(2)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r =
        request(a, "OPTIONS", "/v1/collect", &[("Origin", evil), ("Access-Control-Request-Method", "POST")], b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert!(r.json()["error"].as_str().unwrap().contains("--origin https://evil.example.net"));

    for r in [post(a, &sample(3)).await, get(a, "/v1/popularity").await, admin_get(a, "/v1/events").await] {
        assert_ne!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("set-cookie"), None);
    }
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Static files, health, redirects

#[tokio::test]
async fn static_files_are_served_with_the_right_types() {
    let files = TempDir::new("static");
    let widget = files.path().join("widget");
    let demo = files.path().join("demo");
    std::fs::create_dir_all(&widget).unwrap();
    std::fs::create_dir_all(demo.join("img")).unwrap();
    std::fs::write(widget.join("vitrina.js"), "/* loader */").unwrap();
    std::fs::write(widget.join("vitrina-core.js"), "export {};").unwrap();
    std::fs::write(widget.join("vitrina_core_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(demo.join("index.html"), "<!doctype html><title>Demo shop</title>").unwrap();
    std::fs::write(demo.join("styles.css"), "body{}").unwrap();
    std::fs::write(demo.join("img").join("index.html"), "img").unwrap();
    let (w, d) = (widget.clone(), demo.clone());
    let (srv, _dir) = start_with(move |c| {
        c.widget_dir = Some(w);
        c.demo_dir = Some(d);
    })
    .await;
    let a = srv.local_addr();

    for (path, mime, body) in [
        ("/vitrina.js", "text/javascript", &b"/* loader */"[..]),
        ("/vitrina-core.js", "text/javascript", b"export {};"),
        ("/vitrina_core_bg.wasm", "application/wasm", b"\0asm\x01\0\0\0"),
        ("/shop/", "text/html", b"<!doctype html><title>Demo shop</title>"),
        ("/shop/index.html", "text/html", b"<!doctype html><title>Demo shop</title>"),
        ("/shop/styles.css", "text/css", b"body{}"),
    ] {
        let r = get(a, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(mime), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.body, body, "{path}");
    }
    let r = get(a, "/shop").await;
    assert_eq!((r.status, r.header("location")), (308, Some("/shop/")));
    let r = get(a, "/shop/img").await;
    assert_eq!(r.header("location"), Some("/shop/img/"), "directory redirects keep the /shop prefix");
    // `/` is the dashboard page (its data needs the admin token; see tests/dashboard.rs).
    let r = get(a, "/").await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html; charset=utf-8")));
    assert!(r.text().contains("href=\"/shop/\""), "the dashboard links to the demo shop");
    assert_eq!(get(a, "/missing.js").await.status, 404);
    assert_eq!(get(a, "/shop/missing.html").await.status, 404);
    assert_eq!(get(a, "/shop/../Cargo.toml").await.status, 404);
    let r = get(a, "/healthz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Start-up errors

#[tokio::test]
async fn start_errors_say_what_to_do() {
    let dir = TempDir::new("errors");
    let base =
        || Config { addr: "127.0.0.1:0".parse().unwrap(), data_dir: dir.path().join("data"), ..Config::default() };

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let e = Server::bind(Config { addr, ..base() }).await.err().unwrap().to_string();
    assert_eq!(e, format!("port {} is in use: pass --addr 127.0.0.1:{}", addr.port(), addr.port() + 1));

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let e = Server::bind(Config { data_dir: file.join("data"), ..base() }).await.err().unwrap().to_string();
    assert!(e.starts_with("cannot create data dir"), "{e}");

    let e =
        Server::bind(Config { widget_dir: Some(dir.path().join("nope")), ..base() }).await.err().unwrap().to_string();
    assert!(e.starts_with("--widget"), "{e}");

    let e =
        Server::bind(Config { origins: vec!["shop.example.com".into()], ..base() }).await.err().unwrap().to_string();
    assert!(e.contains("scheme://host"), "{e}");

    // One data dir, one server.
    let first = Server::bind(base()).await.unwrap().spawn();
    let e = Server::bind(base()).await.err().unwrap().to_string();
    assert!(e.contains("in use by another vitrina-server"), "{e}");
    first.stop().await.unwrap();
    Server::bind(base()).await.expect("the lock is released on stop").spawn().stop().await.unwrap();
}

on_both_backends!(
    a_batch_is_stored_with_every_field,
    custom_events_keep_name_and_props,
    the_same_batch_twice_is_stored_once,
    an_invalid_event_is_rejected_alone,
    a_json_batch_goes_the_same_way_as_a_binary_one,
    concurrent_batches_are_all_committed,
    stats_count_batches_events_and_refusals,
    likes_count_once_per_client_and_unlike_cancels,
    counts_below_min_count_are_never_published,
    views_carts_and_purchase_lines_are_counted,
    popularity_has_an_etag_and_answers_304,
);
