//! `/v1/popularity`: rolling windows, trending, bestsellers, abnormal clients, size.

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{json, Value};
use vitrina::codec::{encode, Batch};
use vitrina::event::{Event, Kind, Line};
use vitrina_server::store::{Ingest, Store, StoreOptions};
use vitrina_server::RateLimit;

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A client id from a number (distinct from `common::client`'s).
fn cid(n: u32) -> [u8; 16] {
    let mut c = [0x22u8; 16];
    c[12..].copy_from_slice(&n.to_be_bytes());
    c
}

/// Writes batches straight into a fresh store with chosen receive times, then
/// closes it so a server can open the directory.
async fn seed(dir: &Path, batches: Vec<Ingest>) {
    let store = Store::open_sqlite(dir, StoreOptions::default()).expect("store opens");
    for b in batches {
        store.ingest(b).await.expect("ingest");
    }
    store.close().await.expect("close");
}

fn ingest(client: [u8; 16], received: u64, events: Vec<Event>) -> Ingest {
    Ingest { site: "demo".into(), client, session: 1, received, events, ..Ingest::default() }
}

/// `n` events made by `make(seq)`, received at `received`, from client `c`.
fn many(c: u32, received: u64, n: u64, make: impl Fn(u64) -> Event) -> Ingest {
    ingest(cid(c), received, (0..n).map(make).collect())
}

async fn popularity(a: std::net::SocketAddr, query: &str) -> Value {
    let r = get(a, &format!("/v1/popularity{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn counts_are_published_per_window_by_receive_time() {
    let dir = TempDir::new("pop-windows");
    let data = dir.path().join("data");
    let now = now_ms();
    seed(
        &data,
        vec![
            many(1, now - 30 * MIN, 6, |i| view(i, "W", "shoes/running")),
            many(2, now - 5 * HOUR, 4, |i| view(i, "W", "shoes/running")),
            many(3, now - 3 * DAY, 5, |i| view(i, "W", "shoes/running")),
            many(4, now - 10 * DAY, 7, |i| view(i, "W", "shoes/running")),
            many(5, now - 2 * HOUR, 3, |i| Event { qty: Some(1), ..ev(Kind::CartAdd, i, "W") }),
            many(6, now - 8 * DAY, 2, |i| purchase(i, &["W"])),
        ],
    )
    .await;
    let (srv, _d) = start_with(|c| {
        c.data_dir = data.clone();
        c.min_count = 1;
    })
    .await;
    let j = popularity(srv.local_addr(), "").await;
    assert_eq!(
        j["items"]["W"],
        json!({"views": 22, "views_1h": 6, "views_1d": 10, "views_7d": 15,
               "carts": 3, "carts_1d": 3, "carts_7d": 3, "purchases": 2,
               // 13 views and cart adds in 24 h against 5 in the 6 days before.
               "trending": true})
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn trending_is_velocity_with_a_minimum_volume() {
    let dir = TempDir::new("pop-trending");
    let data = dir.path().join("data");
    let now = now_ms();
    let mut batches = Vec::new();
    let mut c = 0u32;
    let mut add = |received: u64, n: u64, item: &'static str| {
        c += 1;
        batches.push(many(c, received, n, move |i| view(i, item, "bags/backpacks")));
    };
    // Rising: 30 in the last 24 h, 2 a day before.
    add(now - 3 * HOUR, 30, "RISING");
    for d in 2..8 {
        add(now - d * DAY + HOUR, 2, "RISING");
    }
    // Steady: 10 a day all week.
    for d in 0..7 {
        add(now - d * DAY - HOUR, 10, "STEADY");
    }
    // Fast but small: 8 today, nothing before (below the volume of 10).
    add(now - HOUR, 8, "SMALL");
    seed(&data, batches).await;

    let (srv, _d) = start_with(|c| c.data_dir = data.clone()).await; // min-count 5
    let j = popularity(srv.local_addr(), "").await;
    assert_eq!(j["items"]["RISING"]["trending"], json!(true), "{j}");
    assert_eq!(j["items"]["STEADY"].get("trending"), None, "{j}");
    assert_eq!(j["items"]["SMALL"].get("trending"), None, "{j}");
    assert_eq!(j["items"]["SMALL"]["views_1h"], json!(8));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn bestsellers_are_the_top_three_by_orders_in_seven_days_per_top_level_category() {
    let (srv, _dir) = start().await; // min-count 5
    let a = srv.local_addr();
    // Orders per item (each from its own client): more orders, better rank.
    let items = [("S1", "shoes/running", 9), ("S2", "shoes/trail", 8), ("S3", "shoes", 7), ("S4", "shoes", 6)];
    let bags = [("B1", "bags/duffels", 5), ("B2", "bags", 4)];
    let mut c = 0u8;
    for (item, cat, orders) in items.iter().chain(&bags) {
        for o in 0..*orders {
            c += 1;
            post_ok(a, &batch(c, vec![view(1, item, cat), purchase(2 + o, &[item])])).await;
        }
    }
    let j = popularity(a, "").await;
    let rank = |i: &str| j["items"][i].get("bestseller").cloned();
    assert_eq!(rank("S1"), Some(json!({"rank": 1, "category": "shoes"})));
    assert_eq!(rank("S2"), Some(json!({"rank": 2, "category": "shoes"})));
    assert_eq!(rank("S3"), Some(json!({"rank": 3, "category": "shoes"})));
    assert_eq!(rank("S4"), None, "only ranks 1 to 3");
    assert_eq!(rank("B1"), Some(json!({"rank": 1, "category": "bags"})));
    assert_eq!(rank("B2"), None, "4 orders is below min-count");
    assert!(j["items"].get("B2").is_none(), "nothing of B2 reaches 5: {j}");
    // The filters keep the new fields.
    let j = popularity(a, "?category=bags").await;
    assert_eq!(j["items"]["B1"]["bestseller"], json!({"rank": 1, "category": "bags"}));
    assert_eq!(j["items"].as_object().unwrap().len(), 1);
    let j = popularity(a, "?items=S2").await;
    assert_eq!(j["items"]["S2"]["purchases_7d"], json!(8));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn abnormal_clients_are_left_out_and_counted() {
    let (srv, _dir) = start().await; // min-count 5
    let a = srv.local_addr();
    // Five ordinary shoppers view and like X.
    for c in 1..=5u8 {
        post_ok(a, &batch(c, vec![view(1, "X", "shoes"), ev(Kind::Like, 2, "X")])).await;
    }
    // A bot views X 1001 times within the hour.
    post_ok(a, &batch(50, (0..1001).map(|i| view(i, "X", "shoes")).collect())).await;
    // Another likes X and 101 other items within the hour (102 likes > 100).
    let likes: Vec<Event> =
        (0..102).map(|i| ev(Kind::Like, i, &if i == 0 { "X".into() } else { format!("L{i}") })).collect();
    post_ok(a, &batch(51, likes)).await;
    // Anonymous-mode shoppers all share the zero client id: never flagged.
    let anon = Batch {
        site: "demo".into(),
        client: [0; 16],
        session: 0,
        dropped: 0,
        events: (0..1001).map(|i| view(i, "Z", "bags")).collect(),
    };
    post_ok(a, &encode(&anon)).await;

    let j = popularity(a, "").await;
    assert_eq!(j["items"]["X"]["views"], json!(5), "the bot's views are left out: {}", j["items"]["X"]);
    assert_eq!(j["items"]["X"]["likes"], json!(5), "the like-bot's like is left out");
    assert!(j["items"].get("L1").is_none());
    assert_eq!(j["items"]["Z"]["views"], json!(1001));
    let s = admin_get(a, "/v1/stats").await.json();
    assert_eq!(s["flagged_clients"], json!(2), "{s}");
    // The events themselves are kept.
    assert_eq!(s["totals"]["accepted"], json!(10 + 1001 + 102 + 1001));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn the_answer_is_stable_and_cacheable_while_nothing_arrives() {
    let (srv, _dir) = start_with(|c| c.min_count = 1).await;
    let a = srv.local_addr();
    post_ok(a, &batch(1, vec![view(1, "A", "shoes"), ev(Kind::Like, 2, "A"), view(3, "B", "bags")])).await;
    let r1 = get(a, "/v1/popularity").await;
    let r2 = get(a, "/v1/popularity").await;
    // Windows end at the start of a minute: the same data gives the same body and tag
    // (unless the minute turned between the two requests).
    if r1.body != r2.body {
        let r3 = get(a, "/v1/popularity").await;
        assert_eq!(r2.body, r3.body);
    }
    assert_eq!(r1.header("cache-control"), Some("public, max-age=30"));
    let etag = r2.header("etag").unwrap().to_owned();
    let r = request(a, "GET", "/v1/popularity?items=A", &[("If-None-Match", "\"nope\"")], b"").await;
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(etag.as_str()), "filtered answers have their own tags");
    srv.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Size for 10,000 items.

fn gzip_len(data: &[u8]) -> Option<usize> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child =
        Command::new("gzip").args(["-6", "-c"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
    let mut stdin = child.stdin.take()?;
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout.len())
}

fn sku(i: usize) -> String {
    format!("SKU-{i:05}")
}

const CATEGORIES: [&str; 8] = [
    "shoes/running",
    "shoes/trail",
    "apparel/jackets",
    "apparel/tops",
    "bags/backpacks",
    "camping/tents",
    "accessories/caps",
    "camping/cooking",
];

/// Posts `events` for one client (at most 1000 events and 100 likes, so it is not flagged).
async fn post_client(a: std::net::SocketAddr, n: u32, events: Vec<Event>) {
    let b = Batch { site: "demo".into(), client: cid(n), session: 1, dropped: 0, events };
    let r = post(a, &encode(&b)).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn measure(a: std::net::SocketAddr, label: &str) -> (usize, usize) {
    let t = std::time::Instant::now();
    let r = get(a, "/v1/popularity").await;
    let took = t.elapsed();
    assert_eq!(r.status, 200);
    let items = r.json()["items"].as_object().unwrap().len();
    let raw = r.body.len();
    let gz = gzip_len(&r.body);
    println!(
        "popularity, {label}: {items} items published, {raw} bytes raw ({:.0} B/item), {} gzip; computed in {took:?}",
        raw as f64 / items.max(1) as f64,
        gz.map_or("(gzip not found)".into(), |g| format!("{g} bytes")),
    );
    (raw, gz.unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn size_of_popularity_for_ten_thousand_items() {
    const ITEMS: usize = 10_000;
    // Worst case: every item has at least 5 of everything, all received in the last
    // hour, so every field of every item is published, with varied numbers (views 5 to
    // 44, cart adds and likes 5 to 14, orders 5 to 9) so gzip meets realistic digits.
    // Round r gives each item one more of whatever it still lacks; each round is
    // posted by 100 clients of 100 items each (at most 301 events and 100 likes: not
    // flagged; a like counts once per client, so one like per item and round).
    let wants = |i: usize| -> [usize; 4] {
        let h = i.wrapping_mul(2_654_435_761) >> 7;
        [5 + h % 40, 5 + (h / 40) % 10, 5 + (h / 400) % 10, 5 + (h / 4000) % 5]
    };
    // Thousands of batches from one address: no rate limit for this test.
    let (srv, _dir) = start_with(|c| c.rate_limit = RateLimit::OFF).await; // min-count 5
    let a = srv.local_addr();
    let mut client = 0u32;
    for round in 0..44usize {
        let mut tasks = Vec::new();
        for chunk in 0..ITEMS / 100 {
            let mut events = Vec::new();
            let mut lines = Vec::new();
            for i in chunk * 100..(chunk + 1) * 100 {
                let [views, carts, likes, orders] = wants(i);
                let (it, cat) = (sku(i), CATEGORIES[i % CATEGORIES.len()]);
                let seq = events.len() as u64;
                if round < views {
                    events.push(view(seq, &it, cat));
                }
                if round < carts {
                    events.push(Event { qty: Some(1), ..ev(Kind::CartAdd, seq + 1000, &it) });
                }
                if round < likes {
                    events.push(ev(Kind::Like, seq + 2000, &it));
                }
                if round < orders {
                    lines.push(Line { item: it.clone(), qty: 1, price: Some(1990) });
                }
            }
            if !lines.is_empty() {
                let mut p = purchase(5000, &[]);
                p.lines = lines;
                events.push(p);
            }
            client += 1;
            let n = client;
            tasks.push(tokio::spawn(async move { post_client(a, n, events).await }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let (raw, gz) = measure(a, "worst case (10,000 items, every field published)").await;
    assert!(raw > 0 && (gz == 0 || gz < raw / 4), "gzip shrinks the repeated keys: {gz} vs {raw}");
    srv.stop().await.unwrap();

    // Long tail: 10,000 items, item i viewed about 3000/(i+1) times, a tenth of the
    // viewers add to cart and like; most items stay under min-count and are left out.
    let (srv, _dir) = start_with(|c| c.rate_limit = RateLimit::OFF).await;
    let a = srv.local_addr();
    let mut per_client: Vec<Vec<Event>> = vec![Vec::new()];
    let mut likes = 0;
    for i in 0..ITEMS {
        let views = 3000 / (i + 1);
        let cat = CATEGORIES[i % CATEGORIES.len()];
        for v in 0..views.max(1) {
            let cur = per_client.last_mut().unwrap();
            cur.push(view(cur.len() as u64, &sku(i), cat));
            if v % 10 == 0 && likes < 90 {
                cur.push(ev(Kind::Like, cur.len() as u64, &sku(i)));
                cur.push(Event { qty: Some(1), ..ev(Kind::CartAdd, cur.len() as u64, &sku(i)) });
                likes += 1;
            }
            if per_client.last().unwrap().len() >= 900 {
                per_client.push(Vec::new());
                likes = 0;
            }
        }
    }
    let batches = per_client.len();
    for (n, events) in per_client.into_iter().enumerate() {
        post_client(a, n as u32, events).await;
    }
    println!("long tail: {batches} clients");
    measure(a, "long tail (10,000 items, views ~ 3000/rank)").await;
    srv.stop().await.unwrap();
}
