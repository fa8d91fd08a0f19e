//! Local differential privacy (`src/ldp.rs`): the hash spec's test vectors, the
//! mechanism's statistics on synthetic data (unbiased, the variance formula, large
//! ε), determinism, odd inputs, the wire round trip, and a quick check on the Taobao
//! sample when it is present.

use std::io::Write;
use std::path::PathBuf;
use vitrina::codec::{self, Batch};
use vitrina::codec_json;
use vitrina::event::{Event, Kind};
use vitrina::ldp::{self, Estimator, Params, Report, Signal};

/// SplitMix64, the tests' seeded random source.
struct Rng(u64);

impl Rng {
    fn next64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn u32(&mut self) -> u32 {
        (self.next64() >> 32) as u32
    }
}

fn note(s: &str) {
    let _ = std::io::stderr().write_all(s.as_bytes());
}

const TS: u64 = 1_700_000_123_456;

// ---------------------------------------------------------------- hash spec

#[test]
fn hash_test_vectors_match_the_spec() {
    // FNV-1a 64 published vectors.
    assert_eq!(ldp::item_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(ldp::item_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(ldp::item_hash("foobar"), 0x8594_4171_f739_67e8);
    // The vectors printed in docs/ldp.md (a reimplementation must reproduce them).
    let h = ldp::item_hash("SKU-001");
    let got: Vec<u32> = [(0, 4), (1, 4), (42, 8), (4_294_967_295, 56), (123_456_789, 22_027)]
        .iter()
        .map(|&(s, g)| ldp::bucket(h, s, g))
        .collect();
    note(&format!("hash vectors: item_hash(\"SKU-001\") = {h:#018x}, buckets {got:?}\n"));
    assert_eq!(h, 0xdc96_3b9b_beb0_08c4);
    assert_eq!(got, [0, 3, 3, 7, 597]);
}

#[test]
fn parameters_follow_olh_and_are_stable_across_platforms() {
    for (eps, g) in [(1.0, 4), (2.0, 8), (4.0, 56), (0.1, 2), (10.0, 22_027)] {
        let p = Params::new(eps);
        assert_eq!(p.g(), g, "ε = {eps}");
        let x = f64::exp(eps);
        assert!((p.p() - x / (x + g as f64 - 1.0)).abs() < 1e-12);
    }
    // g = round(e^ε + 1) must not sit on a rounding edge anywhere on the ε grid, so
    // that every platform's `exp` gives the same g (the server checks g against e).
    for e in ldp::MIN_E..=ldp::MAX_E {
        let x = (e as f64 / 100.0).exp() + 1.0;
        assert!((x.fract() - 0.5).abs() > 1e-6, "ε = {} is on a rounding edge", e as f64 / 100.0);
    }
}

// ---------------------------------------------------------------- statistics

/// A synthetic shop: `m` items with Zipf-like true counts.
fn synthetic(m: usize, total: usize) -> (Vec<String>, Vec<u32>) {
    let items: Vec<String> = (0..m).map(|i| format!("item-{i}")).collect();
    let w: Vec<f64> = (0..m).map(|i| 1.0 / (i as f64 + 1.0)).collect();
    let sw: f64 = w.iter().sum();
    let counts = w.iter().map(|x| (x / sw * total as f64).round() as u32).collect();
    (items, counts)
}

fn run(items: &[String], counts: &[u32], eps: f64, rng: &mut Rng) -> Vec<f64> {
    let mut est = Estimator::new();
    let params = Params::new(eps);
    for (item, &c) in items.iter().zip(counts) {
        for _ in 0..c {
            assert!(est.add(&ldp::report_with(item, params, &mut || rng.u32())));
        }
    }
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    est.estimate(&refs)
}

#[test]
fn estimates_are_unbiased_and_their_variance_matches_the_formula() {
    let (items, counts) = synthetic(60, 1200);
    let n: u32 = counts.iter().sum();
    let trials = 300;
    for eps in [1.0, 2.0, 4.0] {
        let params = Params::new(eps);
        let mut rng = Rng(eps.to_bits());
        let mut sum = vec![0.0; items.len()];
        let mut sq = vec![0.0; items.len()];
        for _ in 0..trials {
            for (i, x) in run(&items, &counts, eps, &mut rng).into_iter().enumerate() {
                sum[i] += x;
                sq[i] += x * x;
            }
        }
        let mut ratio = 0.0;
        for i in 0..items.len() {
            let f = counts[i] as f64;
            let mean = sum[i] / trials as f64;
            let var = sq[i] / trials as f64 - mean * mean;
            let theory = params.variance(f, n as f64);
            // Unbiased: the mean of `trials` estimates is within 5 standard errors.
            let se = (theory / trials as f64).sqrt();
            assert!((mean - f).abs() < 5.0 * se, "ε={eps} item {i}: mean {mean:.2} vs true {f} (se {se:.2})");
            ratio += var / theory;
        }
        ratio /= items.len() as f64;
        note(&format!("ε={eps}: empirical/theoretical variance = {ratio:.3} over {} items, {trials} trials\n", items.len()));
        assert!((0.9..1.1).contains(&ratio), "ε={eps}: variance ratio {ratio}");
    }
}

#[test]
fn large_epsilon_converges_to_the_truth() {
    // OLH keeps the true bucket with p ≈ 1/2 at every ε: what a large ε buys is
    // many buckets (22 027 at ε = 10), so other shoppers' reports almost never
    // collide with an item. Items nobody liked estimate ≈ 0 and a liked item's
    // error is the coin of its own likers, √f: relative error → 0 as f grows.
    let (items, counts) = synthetic(60, 1200);
    let mut rng = Rng(7);
    let mae = |eps: f64, rng: &mut Rng| {
        let est = run(&items, &counts, eps, rng);
        est.iter().zip(&counts).map(|(e, &c)| (e - c as f64).abs()).sum::<f64>() / counts.len() as f64
    };
    let (m1, m4, m10) = (mae(1.0, &mut rng), mae(4.0, &mut rng), mae(10.0, &mut rng));
    note(&format!("synthetic MAE per item: ε=1 {m1:.2}, ε=4 {m4:.2}, ε=10 {m10:.2}\n"));
    assert!(m10 < m4 && m4 < m1);
    let p = Params::new(10.0);
    assert!(p.variance(0.0, 1200.0) < 0.25, "noise floor at ε = 10");
    // A heavy item at ε = 10: relative error of a few percent.
    let heavy = vec!["hit".to_string(), "miss".to_string()];
    let est = run(&heavy, &[20_000, 0], 10.0, &mut rng);
    assert!((est[0] - 20_000.0).abs() < 4.0 * 20_000f64.sqrt(), "{est:?}");
    assert!(est[1].abs() < 3.0, "{est:?}");
}

#[test]
fn randomized_response_for_one_bit_is_unbiased() {
    let mut rng = Rng(11);
    for eps in [0.5, 1.0, 3.0] {
        let (n, truly_yes) = (200_000u64, 30_000u64);
        let yes = (0..n).filter(|&i| ldp::rr_bit(i < truly_yes, eps, &mut || rng.u32())).count() as u64;
        let est = ldp::rr_debias(yes, n, eps);
        let x = f64::exp(eps);
        let p = x / (1.0 + x);
        let sd = (n as f64 * p * (1.0 - p)).sqrt() / (2.0 * p - 1.0);
        assert!((est - truly_yes as f64).abs() < 4.0 * sd, "ε={eps}: {est} vs {truly_yes}");
    }
}

// ---------------------------------------------------------------- determinism and odd input

#[test]
fn a_fixed_random_source_gives_fixed_reports() {
    let make = || {
        let mut rng = Rng(42);
        (0..50).map(|i| ldp::report(&format!("SKU-{i}"), 2.0, &mut || rng.u32())).collect::<Vec<_>>()
    };
    assert_eq!(make(), make());
    // Five draws per report: seed, two for the coin, two for the other bucket.
    let mut calls = 0u32;
    let r = ldp::report("SKU-1", 1.0, &mut || {
        calls += 1;
        calls * 0x1000_0001
    });
    assert_eq!(calls, 5);
    assert_eq!(r.seed, 0x1000_0001);
    assert_eq!((r.g, r.e), (4, 100));
}

#[test]
fn odd_input_never_panics_and_epsilon_is_clamped() {
    // ε ≤ 0, NaN → 0.1 (most private); above 10 or infinite → 10. Configuration
    // rejects them up front with `Params::check`.
    for (eps, e) in [(0.0, 10), (-3.0, 10), (f64::NAN, 10), (f64::NEG_INFINITY, 10), (0.001, 10), (f64::INFINITY, 1000), (1e300, 1000), (2.004, 200), (2.006, 201)] {
        assert_eq!(Params::new(eps).e(), e, "ε = {eps}");
    }
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 0.05, 10.5] {
        assert!(Params::check(bad).is_none(), "{bad}");
    }
    assert!(Params::check(1.0).is_some());
    // Degenerate random sources and items.
    let long = "x".repeat(100_000);
    for item in ["", " ", "\u{0}", "ü🙂", long.as_str()] {
        for eps in [f64::NAN, 0.0, 1.0, 10.0, 1e9] {
            for k in [0u32, u32::MAX, 0x8000_0000] {
                let r = ldp::report(item, eps, &mut || k);
                assert!(r.bucket < r.g && r.g >= 2);
                let (sig, back) = ldp::from_event(&ldp::to_event(&r, Signal::View, TS)).expect("round trip");
                assert_eq!((sig, back), (Signal::View, r));
            }
        }
    }
    // An empty estimator, empty candidate lists, malformed reports.
    let mut est = Estimator::new();
    assert_eq!(est.estimate(&["a", ""]), [0.0, 0.0]);
    assert!(est.estimate(&[]).is_empty());
    assert_eq!(est.noise_sd(), 0.0);
    for bad in [
        Report { seed: 1, bucket: 4, g: 4, e: 100 },
        Report { seed: 1, bucket: 0, g: 5, e: 100 },
        Report { seed: 1, bucket: 0, g: 0, e: 100 },
        Report { seed: 1, bucket: 0, g: 2, e: 0 },
        Report { seed: 1, bucket: 0, g: 2, e: 5000 },
    ] {
        assert!(!est.add(&bad), "{bad:?}");
    }
    assert_eq!((est.len(), est.rejected()), (0, 5));
    assert!(est.estimate(&["a"])[0].is_finite());
    assert_eq!(ldp::rr_debias(0, 0, f64::NAN), 0.0);
    assert_eq!(ldp::bucket(1, 2, 0), 0);
}

#[test]
fn mixed_epsilons_stay_unbiased() {
    // A shop that changed ε: each report carries its own, the estimator keeps
    // them apart and adds the estimates.
    let mut rng = Rng(3);
    let trials = 200;
    let mut mean = 0.0;
    let mut sd = 0.0;
    for _ in 0..trials {
        let mut est = Estimator::new();
        for i in 0..600 {
            let (item, eps) = (if i % 3 == 0 { "hot" } else { "other" }, if i % 2 == 0 { 1.0 } else { 4.0 });
            est.add(&ldp::report(item, eps, &mut || rng.u32()));
        }
        mean += est.estimate(&["hot"])[0] / trials as f64;
        sd = est.sd(200.0);
    }
    let se = sd / (trials as f64).sqrt();
    assert!((mean - 200.0).abs() < 5.0 * se, "mean {mean}, se {se}");
}

// ---------------------------------------------------------------- wire

#[test]
fn reports_travel_as_custom_events_through_both_codecs() {
    let mut rng = Rng(5);
    let mut events = Vec::new();
    let mut sent = Vec::new();
    for (i, sig) in [Signal::Like, Signal::View, Signal::Unlike, Signal::Like].into_iter().enumerate() {
        let r = ldp::report(&format!("SKU-{i}"), [1.0, 2.0, 4.0, 10.0][i], &mut || rng.u32());
        let mut ev = ldp::to_event(&r, sig, TS + i as u64);
        ev.id = (7 << 32) | i as u64;
        assert_eq!(ev.validate(), Ok(()));
        assert!(ev.item.is_none() && ev.url.is_none() && ev.category.is_none());
        assert_eq!(ev.ts % ldp::TS_GRAIN_MS, 0);
        assert!(ev.ts <= TS && TS - ev.ts < ldp::TS_GRAIN_MS);
        events.push(ev);
        sent.push((sig, r));
    }
    // Id-free, as in anonymous mode, and mixed with a plain event.
    let mut plain = Event::new(Kind::PageView, TS);
    plain.id = 99;
    events.push(plain);
    let batch = Batch { site: "shop".into(), client: [0; 16], session: 0, dropped: 0, events };
    let bin = codec::decode(&codec::encode(&batch)).expect("binary");
    let json = codec_json::decode_json(&codec_json::encode_json(&batch)).expect("json");
    for back in [bin, json] {
        assert_eq!(back, batch);
        let got: Vec<_> = back.events.iter().filter_map(ldp::from_event).collect();
        assert_eq!(got, sent);
    }
    // Bytes on the wire: 20 like reports vs. 20 plain likes of distinct items.
    let size = |evs: Vec<Event>| codec::encode(&Batch { site: "shop".into(), events: evs, ..Batch::default() }).len();
    let reports: Vec<Event> = (0..20).map(|i| ldp::to_event(&ldp::report(&format!("SKU-{:06}", i), 2.0, &mut || rng.u32()), Signal::Like, TS)).collect();
    let likes: Vec<Event> = (0..20)
        .map(|i| {
            let mut like = Event::new(Kind::Like, TS);
            like.item = Some(format!("SKU-{:06}", i));
            like
        })
        .collect();
    note(&format!("bytes: batch of 20 ldp likes {} vs 20 plain likes {}\n", size(reports), size(likes)));
}

#[test]
fn only_exact_ldp_events_are_read_back() {
    let r = Report { seed: 123, bucket: 3, g: 8, e: 200 };
    let good = ldp::to_event(&r, Signal::Like, TS);
    assert_eq!(ldp::from_event(&good), Some((Signal::Like, r)));
    let mut reordered = good.clone();
    reordered.props.reverse();
    assert_eq!(ldp::from_event(&reordered), Some((Signal::Like, r)));
    let with = |f: &dyn Fn(&mut Event)| {
        let mut e = good.clone();
        f(&mut e);
        ldp::from_event(&e)
    };
    let set = |k: &'static str, v: &'static str| move |e: &mut Event| e.props.iter_mut().filter(|p| p.0 == k).for_each(|p| p.1 = v.into());
    type Edit = Box<dyn Fn(&mut Event)>;
    let cases: Vec<Edit> = vec![
        Box::new(|e| e.kind = Kind::Like),
        Box::new(|e| e.name = Some("ldp2".into())),
        Box::new(|e| e.name = None),
        Box::new(|e| e.item = Some("SKU-1".into())),
        Box::new(|e| e.props.push(("client".into(), "abc".into()))),
        Box::new(|e| {
            e.props.pop();
        }),
        Box::new(|e| e.props[1] = ("k".into(), "view".into())),
        Box::new(set("k", "purchase")),
        Box::new(set("s", "")),
        Box::new(set("s", "+1")),
        Box::new(set("s", "-1")),
        Box::new(set("s", "007")),
        Box::new(set("s", "4294967296")),
        Box::new(set("s", "99999999999")),
        Box::new(set("b", "8")),
        Box::new(set("g", "9")),
        Box::new(set("e", "5")),
        Box::new(set("e", "1001")),
        Box::new(set("b", "3 ")),
    ];
    for (i, f) in cases.iter().enumerate() {
        assert_eq!(with(f.as_ref()), None, "case {i}");
    }
    assert_eq!(with(&set("s", "4294967295")).map(|x| x.1.seed), Some(u32::MAX));
    assert_eq!(with(&set("s", "0")).map(|x| x.1.seed), Some(0));
}

// ---------------------------------------------------------------- estimator speed (informative)

#[test]
fn estimate_speed_is_reported() {
    let items: Vec<String> = (0..55_000).map(|i| format!("{}", 1_000_000 + i * 37)).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let mut rng = Rng(9);
    let mut est = Estimator::new();
    for i in 0..3_000 {
        est.add(&ldp::report(refs[i * 17 % refs.len()], 4.0, &mut || rng.u32()));
    }
    let t = std::time::Instant::now();
    let out = est.estimate(&refs);
    note(&format!(
        "estimate: 55,000 candidates x 3,000 reports in {:.0} ms ({} build)\n",
        t.elapsed().as_secs_f64() * 1e3,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    ));
    assert_eq!(out.len(), refs.len());
}

// ---------------------------------------------------------------- Taobao sample

fn taobao_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/taobao/user_behavior_sample.csv")
}

#[test]
fn taobao_subset_errors_match_the_theory() {
    let Ok(text) = std::fs::read_to_string(taobao_path()) else {
        note(&format!("SKIPPED: ../shared/data not found ({} is absent)\n", taobao_path().display()));
        return;
    };
    // First 30,000 rows: every fav as one like per (user, item); candidates are all
    // items seen in those rows.
    let mut likes = std::collections::BTreeSet::new();
    let mut candidates = std::collections::BTreeSet::new();
    for line in text.lines().take(30_000) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 5, "{line}");
        candidates.insert(f[1]);
        if f[3] == "fav" {
            likes.insert((f[0], f[1]));
        }
    }
    let cands: Vec<&str> = candidates.into_iter().collect();
    let mut truth = std::collections::HashMap::new();
    for &(_, item) in &likes {
        *truth.entry(item).or_insert(0u32) += 1;
    }
    let mut rng = Rng(2017);
    let mut est = Estimator::new();
    let mut bytes = Vec::new();
    for &(_, item) in &likes {
        let r = ldp::report(item, 4.0, &mut || rng.u32());
        // Every report goes through the wire and back.
        let ev = ldp::to_event(&r, Signal::Like, TS);
        let back = codec::decode(&codec::encode(&Batch { site: "t".into(), events: vec![ev], ..Batch::default() })).expect("decodes");
        bytes.push(codec::encode(&back).len());
        assert!(est.add(&ldp::from_event(&back.events[0]).expect("ldp event").1));
    }
    let out = est.estimate(&cands);
    let mae = out.iter().zip(&cands).map(|(e, c)| (e - *truth.get(c).unwrap_or(&0) as f64).abs()).sum::<f64>() / cands.len() as f64;
    // Nearly every candidate has a true count of 0 or 1, so the error is the noise
    // floor: E|N(0, σ)| = σ √(2/π).
    let expected = est.noise_sd() * (2.0 / std::f64::consts::PI).sqrt();
    note(&format!(
        "taobao subset: {} likes, {} candidates, ε=4: MAE {mae:.2} vs theory {expected:.2}; {} bytes per one-report batch\n",
        likes.len(),
        cands.len(),
        bytes[0]
    ));
    assert!(likes.len() > 500 && cands.len() > 15_000);
    assert!((mae / expected - 1.0).abs() < 0.1, "MAE {mae} vs {expected}");
}
