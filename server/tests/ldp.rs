//! The LDP mode, server side (`docs/ldp.md`, `src/ldp_counts.rs`): reports made by
//! the core (`vitrina::ldp::report`) from a known ground truth go through
//! `/v1/collect` as real batches (binary and JSON, client id zero), and
//! `/v1/popularity` publishes de-biased like and view counts close to the truth for
//! popular items and nothing for the others.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use common::*;
use serde_json::{json, Value};
use vitrina::codec::{encode, Batch};
use vitrina::codec_json::encode_json;
use vitrina::event::{Event, Kind};
use vitrina::ldp::{self, Estimator, Report, Signal};
use vitrina_server::ldp_counts::{Counter, Z};
use vitrina_server::store::{LdpInputs, StoredReport};
use vitrina_server::RateLimit;

/// SplitMix64, top half: a seeded source for `ldp::report`.
fn rng(seed: u64) -> impl FnMut() -> u32 {
    let mut x = seed;
    move || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// One simulated shopper's report, as the engine queues it.
#[derive(Clone, Debug)]
struct Sent {
    signal: Signal,
    report: Report,
}

/// Makes reports from `truth` (item, signal, how many shoppers, ε), each from its
/// own draw of `rand`, in shuffled order.
fn make_reports(truth: &[(String, Signal, usize, f64)], rand: &mut impl FnMut() -> u32) -> Vec<Sent> {
    let mut out: Vec<Sent> = Vec::new();
    for (item, signal, n, eps) in truth {
        for _ in 0..*n {
            out.push(Sent { signal: *signal, report: ldp::report(item, *eps, rand) });
        }
    }
    // Fisher–Yates, so that batches mix items and ε as real traffic would.
    for i in (1..out.len()).rev() {
        let j = rand() as usize % (i + 1);
        out.swap(i, j);
    }
    out
}

/// Reports as events with unique ids (one "page load" per batch), in batches of
/// `per_batch`: binary, every `json_every`-th as JSON.
fn bodies(reports: &[Sent], per_batch: usize, json_every: usize) -> Vec<Vec<u8>> {
    reports
        .chunks(per_batch)
        .enumerate()
        .map(|(b, chunk)| {
            let events: Vec<Event> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut e = ldp::to_event(&s.report, s.signal, T + b as u64 * 1000);
                    e.id = ((b as u64 + 1) << 32) | i as u64;
                    e
                })
                .collect();
            let batch = Batch { site: "demo".into(), client: [0; 16], session: 0, dropped: 0, events };
            if b % json_every == json_every - 1 {
                encode_json(&batch).into_bytes()
            } else {
                encode(&batch)
            }
        })
        .collect()
}

/// Makes `items` candidates without counting in any published field: one
/// recommendation impression each, from an ordinary client.
async fn make_candidates(a: SocketAddr, client_n: u8, items: &[String]) {
    for (k, chunk) in items.chunks(100).enumerate() {
        let events = chunk
            .iter()
            .enumerate()
            .map(|(i, item)| Event { slot: Some("for-you".into()), ..ev(Kind::Impression, (k * 100 + i) as u64, item) })
            .collect();
        assert_eq!(post_ok(a, &batch(client_n, events)).await.0, chunk.len() as u64);
    }
}

async fn popularity(a: SocketAddr) -> Value {
    let r = get(a, "/v1/popularity").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// One estimator per signal over what was sent: the theory's sd, the unbiased
/// estimate, and raw support counts, to judge the server's numbers with.
struct Theory {
    est: HashMap<Signal, Estimator>,
    sent: Vec<Sent>,
}

impl Theory {
    fn new(sent: &[Sent]) -> Theory {
        let mut est: HashMap<Signal, Estimator> = HashMap::new();
        for s in sent {
            assert!(est.entry(s.signal).or_default().add(&s.report));
        }
        Theory { est, sent: sent.to_vec() }
    }

    fn estimator(&self, s: Signal) -> &Estimator {
        static EMPTY: std::sync::OnceLock<Estimator> = std::sync::OnceLock::new();
        self.est.get(&s).unwrap_or_else(|| EMPTY.get_or_init(Estimator::new))
    }

    fn estimate(&self, item: &str, s: Signal) -> f64 {
        self.estimator(s).estimate(&[item])[0]
    }

    /// Standard deviation of a net like count (likes − unlikes) of `likes` and
    /// `unlikes` true reports.
    fn likes_sd(&self, likes: f64, unlikes: f64) -> f64 {
        let (a, b) = (self.estimator(Signal::Like).sd(likes), self.estimator(Signal::Unlike).sd(unlikes));
        (a * a + b * b).sqrt()
    }

    /// Reports of `signal` that support `item` before any de-biasing.
    fn raw_support(&self, item: &str, signal: Signal) -> u64 {
        let h = ldp::item_hash(item);
        self.sent
            .iter()
            .filter(|s| s.signal == signal && ldp::bucket(h, s.report.seed, s.report.g) == s.report.bucket)
            .count() as u64
    }
}

fn sku(i: usize) -> String {
    format!("P-{i:03}")
}

async fn reports_are_debiased_and_only_clear_counts_are_published(b: Backend) {
    let (srv, _dir) = start_on_with(b, |c| c.rate_limit = RateLimit::OFF).await; // min_count 5
    let a = srv.local_addr();
    let catalogue: Vec<String> = (0..150).map(sku).collect();
    make_candidates(a, 1, &catalogue).await;

    // 2,000 shoppers, three of every four at ε = 4, the others at ε = 2. Likes:
    // 700 of P-000 (100 of them later take it back), 400 of P-001, 250 of P-002,
    // 10 each of P-003..P-012, none of the other 137; 550 shoppers like nothing.
    // Views: 1,200 of P-000, 500 of P-001, 20 of P-005, 2 each of P-010..P-149.
    let mut truth: Vec<(String, Signal, usize, f64)> = Vec::new();
    let mut add = |item: String, signal: Signal, n: usize| {
        let fast = n * 3 / 4;
        truth.push((item.clone(), signal, fast, 4.0));
        truth.push((item, signal, n - fast, 2.0));
    };
    add(sku(0), Signal::Like, 700);
    add(sku(0), Signal::Unlike, 100);
    add(sku(1), Signal::Like, 400);
    add(sku(2), Signal::Like, 250);
    for i in 3..13 {
        add(sku(i), Signal::Like, 10);
    }
    add(sku(0), Signal::View, 1200);
    add(sku(1), Signal::View, 500);
    add(sku(5), Signal::View, 20);
    for i in 10..150 {
        add(sku(i), Signal::View, 2);
    }
    let sent = make_reports(&truth, &mut rng(20240901));
    assert_eq!(sent.len(), 700 + 100 + 400 + 250 + 100 + 1200 + 500 + 20 + 280);
    let theory = Theory::new(&sent);

    // Three ordinary shoppers like P-000 plainly (they count once each, as today).
    for c in 2..5u8 {
        post_ok(a, &batch(c, vec![ev(Kind::Like, 1, &sku(0))])).await;
    }

    // Ingest: binary and JSON batches of 40 from client id zero, all stored.
    let bodies = bodies(&sent, 40, 5);
    assert!(bodies.iter().any(|b| b[0] == b'{') && bodies.iter().any(|b| b[0] != b'{'));
    let mut accepted = 0;
    for body in &bodies {
        let (acc, dup, rej) = post_ok(a, body).await;
        assert_eq!((dup, rej), (0, 0));
        accepted += acc;
    }
    assert_eq!(accepted, sent.len() as u64);
    // Sent again (a resend of sealed bytes): duplicates, counted once.
    assert!(bodies[0][0] != b'{' && bodies[4][0] == b'{');
    for body in [&bodies[0], &bodies[4]] {
        let (acc, dup, _) = post_ok(a, body).await;
        assert_eq!((acc, dup), (0, 40));
    }
    // Stored as custom events without an item, under client zero, props as sent.
    let r = admin_get(a, "/v1/events?kind=custom&limit=10000").await;
    let stored = r.json()["events"].as_array().unwrap().clone();
    assert_eq!(stored.len(), sent.len());
    for e in &stored {
        assert_eq!(e["client"], json!("00000000000000000000000000000000"));
        assert_eq!(e["name"], json!("ldp"));
        assert!(e.get("item").is_none(), "{e}");
        assert_eq!(e["ts"].as_u64().unwrap() % ldp::TS_GRAIN_MS, 0);
        let props = e["props"].as_object().unwrap();
        assert_eq!(props.keys().collect::<Vec<_>>(), ["b", "e", "g", "k", "s"]);
    }

    let j = popularity(a).await;
    let items = &j["items"];
    let likes = |i: usize| items[sku(i)]["likes"].as_u64();
    let views = |i: usize| items[sku(i)]["views"].as_u64();

    // Popular items: within 4 sd of the truth (plus the 3 plain likes of P-000).
    for (i, like, unlike, plain) in [(0, 700.0, 100.0, 3.0), (1, 400.0, 0.0, 0.0), (2, 250.0, 0.0, 0.0)] {
        let i: usize = i;
        let truth = like - unlike + plain;
        let sd = theory.likes_sd(like, unlike);
        let got = likes(i).unwrap_or_else(|| panic!("{} likes not published: {}", sku(i), items[sku(i)])) as f64;
        println!("{}: likes {got} (truth {truth}, sd {sd:.1})", sku(i));
        assert!((got - truth).abs() <= 4.0 * sd, "{}: {got} vs {truth} ± 4 × {sd:.1}", sku(i));
        if like < 400.0 {
            continue;
        }
        // The tolerance is tight enough to catch a server that did not de-bias: raw
        // support counts (about half the truth plus n/g) are far off.
        let raw = (theory.raw_support(&sku(i), Signal::Like) as f64
            - theory.raw_support(&sku(i), Signal::Unlike) as f64)
            + plain;
        assert!((raw - truth).abs() > 4.0 * sd, "{}: raw {raw} would pass too", sku(i));
    }
    for (i, truth) in [(0, 1200.0), (1, 500.0)] {
        let sd = theory.estimator(Signal::View).sd(truth);
        let got = views(i).expect("views published") as f64;
        println!("{}: views {got} (truth {truth}, sd {sd:.1})", sku(i));
        assert!((got - truth).abs() <= 4.0 * sd, "{}: {got} vs {truth} ± 4 × {sd:.1}", sku(i));
        assert!((theory.raw_support(&sku(i), Signal::View) as f64 - truth).abs() > 4.0 * sd);
    }

    // Items with few or no likes or views: nothing published, although many of their
    // unbiased estimates (and every raw support count) clear the minimum count of 5.
    let noise = theory.estimator(Signal::Like).noise_sd();
    let mut naive = 0;
    for i in 3..150 {
        assert_eq!(likes(i), None, "{}: {}", sku(i), items[sku(i)]);
        assert_eq!(views(i), None, "{}: {}", sku(i), items[sku(i)]);
        assert!(theory.raw_support(&sku(i), Signal::Like) >= 5);
        if theory.estimate(&sku(i), Signal::Like) >= 5.0 {
            naive += 1;
        }
    }
    println!("like noise sd {noise:.1}; {naive} of 147 unpopular items estimated ≥ 5 likes");
    assert!(naive > 20, "the threshold, not min_count, is what hides them: {naive}");
    // Nothing else appears: the catalogue's impressions alone publish nothing.
    let published: Vec<&String> = items.as_object().unwrap().keys().collect();
    assert_eq!(published, [&sku(0), &sku(1), &sku(2)], "{j}");

    // Malformed reports and reports under a client id are refused, one by one.
    let good = ldp::to_event(&sent[0].report, Signal::Like, T);
    let mut bad = vec![
        Event { item: Some(sku(0)), ..good.clone() },
        Event { props: good.props[..4].to_vec(), ..good.clone() },
        Event { ts: T, ..good.clone() },
    ];
    for (i, e) in bad.iter_mut().enumerate() {
        e.id = (9 << 32) | i as u64;
    }
    let body = encode(&Batch { site: "demo".into(), client: [0; 16], session: 0, dropped: 0, events: bad.clone() });
    assert_eq!(post_ok(a, &body).await, (0, 0, 3));
    let mut ok = good.clone();
    ok.id = 1;
    assert_eq!(post_ok(a, &batch(7, vec![ok])).await, (0, 0, 1), "a report under a client id");
    let r = admin_get(a, "/v1/events?kind=custom&limit=10000").await;
    assert_eq!(r.json()["events"].as_array().unwrap().len(), sent.len());
    srv.stop().await.unwrap();
}

on_both_backends!(reports_are_debiased_and_only_clear_counts_are_published);

/// Sends `truth` as 2,000 reports at one ε to a fresh server whose candidates are
/// `catalogue`; returns the server and the reports.
async fn server_with(
    catalogue: &[String],
    truth: &[(String, Signal, usize, f64)],
    seed: u64,
) -> (vitrina_server::RunningServer, TempDir, Vec<Sent>) {
    let (srv, dir) = start_with(|c| c.rate_limit = RateLimit::OFF).await;
    let a = srv.local_addr();
    make_candidates(a, 1, catalogue).await;
    let sent = make_reports(truth, &mut rng(seed));
    for body in bodies(&sent, 50, 3) {
        assert_eq!(post_ok(a, &body).await.2, 0);
    }
    (srv, dir, sent)
}

#[tokio::test]
async fn noisy_estimates_are_hidden_and_unknown_items_cannot_be_estimated() {
    let catalogue: Vec<String> = (0..50).map(sku).collect();
    // P-000 has 150 true likes; 1,000 more go to X-1 (600), an item no plain
    // event names, and to X-2..X-401 (1 each), also unknown.
    let truth = |eps: f64| {
        let mut t = vec![(sku(0), Signal::Like, 150, eps), ("X-1".to_owned(), Signal::Like, 600, eps)];
        t.extend((2..402).map(|i| (format!("X-{i}"), Signal::Like, 1, eps)));
        t
    };

    // ε = 1: sd ≈ 66, so 150 likes are not told from noise. The unbiased estimate
    // clears min_count, but not 4.5 sd: nothing is published.
    let (srv, _d, sent) = server_with(&catalogue, &truth(1.0), 7).await;
    let theory = Theory::new(&sent);
    let est = theory.estimate(&sku(0), Signal::Like);
    let sd = theory.likes_sd(est, 0.0);
    println!("ε = 1: P-000 estimate {est:.1}, sd {sd:.1}, threshold {:.1}", Z * sd);
    assert!(est >= 5.0 && est < Z * sd, "the case this test is about: {est} vs {sd}");
    let j = popularity(srv.local_addr()).await;
    assert_eq!(j["items"], json!({}), "{j}");
    srv.stop().await.unwrap();

    // ε = 4, the same truth: sd ≈ 16, P-000 is published, close to 150.
    let (srv, _d, sent) = server_with(&catalogue, &truth(4.0), 8).await;
    let a = srv.local_addr();
    let theory = Theory::new(&sent);
    let sd = theory.likes_sd(150.0, 0.0);
    let j = popularity(a).await;
    let got = j["items"][sku(0)]["likes"].as_u64().expect("published at ε = 4") as f64;
    println!("ε = 4: P-000 likes {got}, sd {sd:.1}");
    assert!((got - 150.0).abs() <= 4.0 * sd);
    // X-1 has 600 likes but no plain event names it: not a candidate, not published.
    assert_eq!(j["items"].get("X-1"), None);
    assert_eq!(j["items"].as_object().unwrap().len(), 1, "{j}");
    // Once a plain event names it (an impression), it is estimated with the reports
    // already stored.
    make_candidates(a, 2, &["X-1".to_owned()]).await;
    let j = popularity(a).await;
    let got = j["items"]["X-1"]["likes"].as_u64().expect("X-1 estimated once known") as f64;
    let sd = theory.likes_sd(600.0, 0.0);
    println!("ε = 4: X-1 likes {got}, sd {sd:.1}");
    assert!((got - 600.0).abs() <= 4.0 * sd);
    srv.stop().await.unwrap();
}

/// The cost of support counting: 20,000 reports × 5,000 candidates, from scratch
/// on one thread and on every thread, then an update with 200 new reports. Printed,
/// not asserted. The figure in docs/ldp.md comes from
/// `cargo test --release -p vitrina-server --test ldp cost -- --nocapture`.
#[test]
fn cost_of_support_counting() {
    // A tenth of the reports in a debug build (unoptimized, about 50 times slower).
    let n_reports = if cfg!(debug_assertions) { 2_000usize } else { 20_000 };
    let n_items = 5_000usize;
    let items: Vec<String> = (0..n_items).map(|i| format!("SKU-{i:05}")).collect();
    let mut rand = rng(5);
    let all: Vec<StoredReport> = (0..n_reports + 200)
        .map(|i| {
            let signal = [Signal::Like, Signal::Unlike, Signal::View][i % 3];
            let item = &items[(rand() as usize % n_items).min(rand() as usize % n_items)];
            StoredReport { id: i as u64, signal, report: ldp::report(item, [2.0, 4.0][i % 2], &mut rand) }
        })
        .collect();
    let inputs = |reports: &[StoredReport]| LdpInputs {
        reports: reports.to_vec(),
        candidates: items.clone(),
        ..LdpInputs::default()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results = Vec::new();
    for t in [1, threads] {
        let mut c = Counter::with_threads(t);
        let t0 = Instant::now();
        let u = c.update(inputs(&all[..n_reports]));
        let full = t0.elapsed();
        assert_eq!(u.pairs, (n_reports * n_items) as u64);
        let t0 = Instant::now();
        let u2 = c.update(inputs(&all));
        let inc = t0.elapsed();
        assert!(!u2.full);
        assert_eq!(u2.pairs, 200 * n_items as u64);
        let t0 = Instant::now();
        let est = c.estimates(5);
        let publish = t0.elapsed();
        println!(
            "support counting, {} build: {n_reports} reports × {n_items} candidates on {t} thread(s): {:.3} s \
             ({:.2} ns per pair); +200 reports: {:.1} ms; estimates and threshold: {:.1} ms ({} published)",
            if cfg!(debug_assertions) { "debug" } else { "release" },
            full.as_secs_f64(),
            full.as_secs_f64() * 1e9 / u.pairs as f64,
            inc.as_secs_f64() * 1e3,
            publish.as_secs_f64() * 1e3,
            est.published.len(),
        );
        results.push(est.published);
    }
    assert_eq!(results[0], results[1], "threads do not change the counts");
}
