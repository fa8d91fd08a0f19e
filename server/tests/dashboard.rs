//! The dashboard: the page at `/`, its assets, and the admin JSON at `/v1/dashboard`.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use vitrina::event::{Event, Kind, Line};
use vitrina_server::store::{Ingest, Store, StoreOptions};

#[tokio::test]
async fn the_page_holds_no_data_and_runs_under_a_strict_csp() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    post_ok(a, &sample(1)).await;

    let r = get(a, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").expect("CSP");
    for d in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(d), "{d} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    let html = r.text();
    assert!(html.contains(r#"<script src="/dashboard.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="/dashboard.css">"#));
    assert!(html.contains(r#"id="signin""#), "a sign-in form");
    assert!(!html.contains("SKU-001"), "no data without the token");
    assert!(!html.contains("/shop/"), "no demo link when no demo shop is served");

    for (path, mime) in [
        ("/dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard.css", "text/css; charset=utf-8"),
        ("/dashboard.svg", "image/svg+xml"),
    ] {
        let r = get(a, path).await;
        assert_eq!((r.status, r.header("content-type")), (200, Some(mime)), "{path}");
        assert!(!r.body.is_empty());
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn dashboard_data_needs_the_admin_token() {
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    post_ok(a, &sample(1)).await;

    let r = get(a, "/v1/dashboard").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert!(!r.text().contains("SKU-001"));
    let r = request(a, "GET", "/v1/dashboard?range=7d", &[("Authorization", "Bearer not-the-token")], b"").await;
    assert_eq!(r.status, 401);
    let r = request(a, "GET", "/v1/dashboard", &[("Authorization", &format!("Basic {TOKEN}"))], b"").await;
    assert_eq!(r.status, 401, "only Bearer");

    assert_eq!(admin_get(a, "/v1/dashboard").await.status, 200);
    assert_eq!(get(a, &format!("/v1/dashboard?token={TOKEN}")).await.status, 200);
    let r = admin_get(a, "/v1/dashboard").await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn the_dashboard_sums_up_the_range() {
    let (srv, _dir) = start_with(|c| c.demo_dir = Some(env!("CARGO_MANIFEST_DIR").into())).await;
    let a = srv.local_addr();
    // Two shoppers: page, view, cart add, search "trail shoe", order of SKU-001 + SKU-002 (10.00 EUR).
    post_ok(a, &sample(1)).await;
    post_ok(a, &sample(2)).await;
    // A third views, sees two recommendations and clicks one; a fourth likes SKU-001.
    let rec = |kind, seq, item: &str| Event {
        slot: Some("recently-viewed".into()),
        rec: Some("r1".into()),
        ..ev(kind, seq, item)
    };
    post_ok(
        a,
        &batch(
            3,
            vec![
                view(1, "SKU-003", "bags/duffels"),
                rec(Kind::Impression, 2, "SKU-001"),
                rec(Kind::Impression, 3, "SKU-002"),
                rec(Kind::RecClick, 4, "SKU-001"),
            ],
        ),
    )
    .await;
    post_ok(a, &batch(4, vec![ev(Kind::Like, 1, "SKU-001")])).await;

    let d = admin_get(a, "/v1/dashboard?range=24h&tz=-120").await.json();
    assert_eq!(
        (d["range"].clone(), d["buckets"].clone(), d["bucket_ms"].clone()),
        (json!("24h"), json!(24), json!(3_600_000))
    );
    assert_eq!(d["tz"], json!(-120));
    assert_eq!(d["kpis"]["shoppers"], json!(4));
    assert_eq!(d["kpis"]["sessions"], json!(4));
    assert_eq!(d["kpis"]["views"], json!(3));
    assert_eq!(d["kpis"]["orders"], json!(2));
    assert_eq!(d["kpis"]["revenue"], json!([{"currency": "EUR", "orders": 2, "total": 2000}]));
    assert_eq!(
        d["funnel"],
        json!([
            {"step": "view", "shoppers": 3, "events": 3},
            {"step": "cart-add", "shoppers": 2, "events": 2},
            {"step": "purchase", "shoppers": 2, "events": 2},
        ])
    );
    assert_eq!(
        d["kinds"],
        json!({"page": 2, "view": 3, "impression": 2, "rec-click": 1, "cart-add": 2, "purchase": 2, "like": 1, "search": 2})
    );
    // Every event is in the last (current) bucket.
    for (kind, series) in d["series"].as_object().unwrap() {
        let s: Vec<u64> = series.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(s.len(), 24);
        assert_eq!(s[23], d["kinds"][kind].as_u64().unwrap(), "{kind}");
    }
    assert_eq!(d["slots"], json!([{"slot": "recently-viewed", "impressions": 2, "clicks": 1, "ctr": 0.5}]));
    // The test events are stamped in 2023: all of them arrived "more than an hour" late.
    let delay: Vec<u64> =
        d["delivery"]["delay"].as_array().unwrap().iter().map(|b| b["events"].as_u64().unwrap()).collect();
    assert_eq!(delay, [0, 0, 0, 0, 15]);
    assert_eq!(d["delivery"]["totals"]["accepted"], json!(15));
    assert_eq!(d["top_searches"], json!([{"term": "shoe", "searches": 2}, {"term": "trail", "searches": 2}]));
    assert_eq!(d["top_viewed"][0], json!({"item": "SKU-001", "views": 2}));
    assert_eq!(d["top_liked"], json!([{"item": "SKU-001", "likes": 1, "category": "shoes/running"}]));
    assert_eq!(d["honesty"]["min_count"], json!(5));
    assert_eq!(d["honesty"]["flagged_clients"], json!(0));

    let d = admin_get(a, "/v1/dashboard?range=7d").await.json();
    assert_eq!((d["buckets"].clone(), d["bucket_ms"].clone()), (json!(7), json!(86_400_000)));
    assert_eq!(d["kpis"]["shoppers"], json!(4));
    let r = admin_get(a, "/v1/dashboard?range=1y").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("24h, 7d or 30d"));
    assert_eq!(admin_get(a, "/v1/dashboard?tz=100000").await.status, 400);

    // With a demo shop served, the page links to it.
    assert!(get(a, "/").await.text().contains(r#"href="/shop/""#));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn an_empty_shop_has_an_empty_dashboard() {
    let (srv, _dir) = start().await;
    let d = admin_get(srv.local_addr(), "/v1/dashboard?range=30d").await.json();
    assert_eq!(d["buckets"], json!(30));
    assert_eq!(d["series"], json!({}));
    assert_eq!(d["kpis"]["shoppers"], json!(0));
    assert_eq!(d["kpis"]["revenue"], json!([]));
    assert_eq!(d["top_liked"], json!([]));
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Demo data for looking at the dashboard by hand:
//
//   VITRINA_SEED_DIR=/tmp/vitrina-look cargo test -p vitrina-server --test dashboard -- --ignored --nocapture
//   cargo run --release -p vitrina-server -- serve --data /tmp/vitrina-look --demo www/demo --admin-token t

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

/// One visit's events: ids count up within the tab, times move a few seconds each.
struct Visit {
    tab: u64,
    seq: u64,
    ts: u64,
    events: Vec<Event>,
}

impl Visit {
    fn push(&mut self, rng: &mut Rng, mut e: Event) {
        self.seq += 1;
        self.ts += 3_000 + rng.below(40_000);
        e.id = (self.tab << 32) | self.seq;
        e.ts = self.ts;
        self.events.push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "writes demo data for a person to look at"]
async fn seed_a_month_of_demo_traffic() {
    let Some(dir) = std::env::var_os("VITRINA_SEED_DIR") else {
        println!("set VITRINA_SEED_DIR to the data directory to fill");
        return;
    };
    let catalog: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/demo/catalog.json")).unwrap(),
    )
    .unwrap();
    let items: Vec<(String, String, i64)> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sku"].as_str().unwrap().to_owned(),
                p["category"].as_str().unwrap().to_owned(),
                (p["price"].as_f64().unwrap() * 100.0).round() as i64,
            )
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let store = Store::open_sqlite(std::path::Path::new(&dir), StoreOptions::default()).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let words = [
        "trail",
        "running",
        "shoes",
        "tent",
        "rain",
        "jacket",
        "backpack",
        "waterproof",
        "stove",
        "headlamp",
        "hiking",
        "boots",
    ];
    const H: u64 = 3_600_000;
    let mut total = 0usize;
    let mut pending = tokio::task::JoinSet::new();
    // 30 days of visits; traffic grows over the month, peaks in the evening; one item
    // (SKU-014) takes off in the last day.
    for hour in (0..30 * 24u64).rev() {
        let at = now - hour * H;
        let local_hour = ((at / H) + 1) % 24;
        let daily = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 9, 8, 8, 9, 11, 13, 14, 12, 9, 5, 3][local_hour as usize];
        let growth = 1.0 + (30.0 * 24.0 - hour as f64) / (30.0 * 24.0);
        let visits = (daily as f64 * growth * (0.7 + rng.below(60) as f64 / 100.0)) as u64;
        for _ in 0..visits {
            let client_n = rng.below(4000);
            let mut client = [0x33u8; 16];
            client[8..].copy_from_slice(&client_n.to_be_bytes());
            let start = at + rng.below(H);
            let mut v = Visit { tab: rng.next() & 0xffff_ffff, seq: 0, ts: start, events: Vec::new() };
            v.push(&mut rng, Event { url: Some("/shop/".into()), ..Event::new(Kind::PageView, 0) });
            if rng.chance(0.3) {
                let terms: Vec<String> =
                    (0..1 + rng.below(2)).map(|_| words[rng.below(words.len() as u64) as usize].into()).collect();
                v.push(&mut rng, Event { terms, ..Event::new(Kind::Search, 0) });
            }
            let mut cart: Vec<(String, i64)> = Vec::new();
            for _ in 0..1 + rng.below(5) {
                // Popular items first (a skewed pick), and SKU-014 in the last day.
                let mut i =
                    (rng.below(items.len() as u64) * rng.below(items.len() as u64) / items.len() as u64) as usize;
                if hour < 24 && rng.chance(0.35) {
                    i = 13;
                }
                let (sku, cat, price) = &items[i];
                let item = |kind| Event { item: Some(sku.clone()), ..Event::new(kind, 0) };
                if rng.chance(0.4) {
                    v.push(
                        &mut rng,
                        Event {
                            slot: Some("recently-viewed".into()),
                            rec: Some(format!("rv-{}", v.seq)),
                            ..item(Kind::Impression)
                        },
                    );
                    if rng.chance(0.12) {
                        v.push(
                            &mut rng,
                            Event {
                                slot: Some("recently-viewed".into()),
                                rec: Some(format!("rv-{}", v.seq)),
                                ..item(Kind::RecClick)
                            },
                        );
                    }
                }
                if rng.chance(0.25) {
                    v.push(
                        &mut rng,
                        Event {
                            slot: Some("related".into()),
                            rec: Some(format!("rel-{}", v.seq)),
                            ..item(Kind::Impression)
                        },
                    );
                    if rng.chance(0.06) {
                        v.push(
                            &mut rng,
                            Event {
                                slot: Some("related".into()),
                                rec: Some(format!("rel-{}", v.seq)),
                                ..item(Kind::RecClick)
                            },
                        );
                    }
                }
                let dwell = 2000 + rng.below(60_000) as u32;
                v.push(
                    &mut rng,
                    Event {
                        category: Some(cat.clone()),
                        price: Some(*price),
                        currency: Some("EUR".into()),
                        dwell_ms: Some(dwell),
                        url: Some("/shop/product.html".into()),
                        ..item(Kind::ProductView)
                    },
                );
                if rng.chance(0.08) {
                    v.push(&mut rng, item(Kind::Like));
                }
                if rng.chance(0.14) {
                    v.push(
                        &mut rng,
                        Event {
                            qty: Some(1),
                            price: Some(*price),
                            currency: Some("EUR".into()),
                            ..item(Kind::CartAdd)
                        },
                    );
                    cart.push((sku.clone(), *price));
                }
            }
            if !cart.is_empty() && rng.chance(0.35) {
                let total: i64 = cart.iter().map(|c| c.1).sum();
                let lines = cart.iter().map(|(s, p)| Line { item: s.clone(), qty: 1, price: Some(*p) }).collect();
                let order = format!("N-{}", rng.below(1_000_000));
                v.push(
                    &mut rng,
                    Event {
                        order: Some(order),
                        price: Some(total),
                        currency: Some("EUR".into()),
                        lines,
                        ..Event::new(Kind::Purchase, 0)
                    },
                );
            }
            // The widget seals a batch a second after an event: each event goes on its
            // own, about a second later; now and then a batch waits for a later page
            // (a lost beacon), and now and then it is delivered twice.
            total += v.events.len();
            for e in v.events {
                let delay = if rng.chance(0.015) {
                    60_000 + rng.below(2 * H)
                } else if rng.chance(0.05) {
                    10_000 + rng.below(40_000)
                } else {
                    900 + rng.below(2_500)
                };
                let ingest = Ingest {
                    site: "demo".into(),
                    client,
                    session: (start / H / 3) as u32,
                    dropped: if rng.chance(0.002) { 3 } else { 0 },
                    rejected: if rng.chance(0.004) { 1 } else { 0 },
                    received: (e.ts + delay).min(now),
                    events: vec![e],
                };
                if rng.chance(0.03) {
                    pending.spawn({
                        let (store, ingest) = (store.clone(), ingest.clone());
                        async move { store.ingest(ingest).await }
                    });
                }
                let store = store.clone();
                pending.spawn(async move { store.ingest(ingest).await });
                while pending.len() > 256 {
                    pending.join_next().await.unwrap().unwrap().unwrap();
                }
            }
        }
    }
    while let Some(r) = pending.join_next().await {
        r.unwrap().unwrap();
    }
    // A bot that likes everything, far too fast.
    let bot: Vec<Event> = (0..150)
        .map(|i| Event {
            id: i + 1,
            item: Some(items[i as usize % items.len()].0.clone()),
            ..Event::new(Kind::Like, now - 60_000 + i)
        })
        .collect();
    store
        .ingest(Ingest {
            site: "demo".into(),
            client: [0x66; 16],
            session: 1,
            received: now - 30_000,
            events: bot,
            ..Ingest::default()
        })
        .await
        .unwrap();
    store.close().await.unwrap();
    println!("seeded {total} events into {}", std::path::Path::new(&dir).display());
}
