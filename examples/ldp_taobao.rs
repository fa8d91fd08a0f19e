//! How close do like counts stay to the truth when likes are sent with local
//! differential privacy (`src/ldp.rs`, Optimized Local Hashing)?
//!
//! Replays every `fav` of the Taobao sample (`../shared/data/taobao/
//! user_behavior_sample.csv`, next to the repository; never copied into it) as one
//! like per (shopper, item), makes one randomized report per like with a seeded
//! random source for ε = 1, 2 and 4 (several runs each), de-biases them over every
//! item of the sample, and prints the errors, what a minimum-count rule would publish,
//! the time the estimator takes, and the same for a coarser domain (each like
//! reported as its category instead of its item). Writes `docs/ldp-taobao.svg`.
//!
//! ```text
//! cargo run --release --example ldp_taobao
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use vitrina::ldp::{self, Estimator, Params};

const EPSILONS: [f64; 3] = [1.0, 2.0, 4.0];
const RUNS: u64 = 5;
/// The server's minimum count: smaller counts are never published.
const MIN_COUNT: f64 = 5.0;
/// The noise-aware rule also asks for `Z` noise standard deviations.
const Z: f64 = 4.5;
const COLORS: [&str; 3] = ["#d95f02", "#7570b3", "#1b9e77"];

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// This thread's CPU time in seconds (Linux; 0 elsewhere). The machine may be
/// shared, so wall time alone can mislead.
fn cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/thread-self/stat") else { return 0.0 };
    let f: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn mae(est: &[f64], truth: &[u32], idx: &[usize]) -> f64 {
    mean(&idx.iter().map(|&i| (est[i] - truth[i] as f64).abs()).collect::<Vec<_>>())
}

/// Indexes of the `k` largest true counts (ties by id).
fn top(truth: &[u32], names: &[&str], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..truth.len()).collect();
    idx.sort_by(|&a, &b| truth[b].cmp(&truth[a]).then(names[a].cmp(names[b])));
    idx.truncate(k);
    idx
}

#[derive(Default)]
struct PerEps {
    mae_liked: Vec<f64>,
    mae_all: Vec<f64>,
    mae_top: Vec<f64>,
    rmse_zero: Vec<f64>,
    noise_sd: f64,
    naive_pub: Vec<f64>,
    naive_false: Vec<f64>,
    z_pub: Vec<f64>,
    z_false: Vec<f64>,
    /// Estimates of items by true count (0, 1, 2, ...), pooled over runs.
    by_count: Vec<Vec<f64>>,
    est_secs: Vec<f64>,
    est_cpu: Vec<f64>,
    report_us: Vec<f64>,
    cat_mae_top: Vec<f64>,
    cat_top10: Vec<f64>,
    cat_noise_sd: f64,
    cat_points: Vec<(u32, f64)>,
}

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/taobao/user_behavior_sample.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("SKIPPED: ../shared/data not found ({} is absent)", path.display());
        return;
    };

    // ---- replay: one like per (shopper, item); candidates = every item of the sample.
    let mut item_ix: HashMap<&str, usize> = HashMap::new();
    let mut items: Vec<&str> = Vec::new();
    let mut cat_ix: HashMap<&str, usize> = HashMap::new();
    let mut cats: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut likes: Vec<(usize, usize)> = Vec::new(); // (item, category), in file order
    let (mut favs, mut views) = (0usize, BTreeSet::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 5 {
            eprintln!("bad row: {line}");
            std::process::exit(1);
        }
        let n = items.len();
        let i = *item_ix.entry(f[1]).or_insert(n);
        if i == n {
            items.push(f[1]);
        }
        let n = cats.len();
        let c = *cat_ix.entry(f[2]).or_insert(n);
        if c == n {
            cats.push(f[2]);
        }
        match f[3] {
            "fav" => {
                favs += 1;
                if seen.insert((f[0], f[1])) {
                    likes.push((i, c));
                }
            }
            "pv" => {
                views.insert((f[0], f[1]));
            }
            _ => {}
        }
    }
    let mut truth = vec![0u32; items.len()];
    let mut cat_truth = vec![0u32; cats.len()];
    for &(i, c) in &likes {
        truth[i] += 1;
        cat_truth[c] += 1;
    }
    let n = likes.len();
    let max_true = *truth.iter().max().unwrap_or(&0) as usize;
    let liked: Vec<usize> = (0..items.len()).filter(|&i| truth[i] > 0).collect();
    let all: Vec<usize> = (0..items.len()).collect();
    let top20 = top(&truth, &items, 20);
    let cat_top20 = top(&cat_truth, &cats, 20);
    let truly_pub = truth.iter().filter(|&&t| t as f64 >= MIN_COUNT).count();
    println!("Taobao sample: {} rows, {favs} favs -> {n} likes (one per shopper and item)", text.lines().count());
    println!(
        "{} candidate items, {} liked; true likes per liked item: max {max_true}, {} items with >= {MIN_COUNT} (publishable)",
        items.len(),
        liked.len(),
        truly_pub
    );
    println!(
        "{} categories, {} liked; top category {} likes, 20th {}",
        cats.len(),
        cat_truth.iter().filter(|&&t| t > 0).count(),
        cat_truth[cat_top20[0]],
        cat_truth[cat_top20[19]]
    );
    println!();

    // ---- simulate, de-bias, measure.
    let mut res: Vec<PerEps> = Vec::new();
    for (k, &eps) in EPSILONS.iter().enumerate() {
        let params = Params::new(eps);
        let mut r = PerEps { by_count: vec![Vec::new(); max_true + 1], ..PerEps::default() };
        for run in 0..RUNS {
            let mut rng = Rng(0x7a0_ba0 + 1000 * run + k as u64);
            let mut est = Estimator::new();
            let mut cat_est = Estimator::new();
            let t = Instant::now();
            for &(i, _) in &likes {
                est.add(&ldp::report_with(items[i], params, &mut || rng.u32()));
            }
            r.report_us.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
            for &(_, c) in &likes {
                cat_est.add(&ldp::report_with(cats[c], params, &mut || rng.u32()));
            }

            let (t, c0) = (Instant::now(), cpu_seconds());
            let e = est.estimate(&items);
            r.est_secs.push(t.elapsed().as_secs_f64());
            r.est_cpu.push(cpu_seconds() - c0);

            r.noise_sd = est.noise_sd();
            r.mae_liked.push(mae(&e, &truth, &liked));
            r.mae_all.push(mae(&e, &truth, &all));
            r.mae_top.push(mae(&e, &truth, &top20));
            let zeros: Vec<f64> = all.iter().filter(|&&i| truth[i] == 0).map(|&i| e[i] * e[i]).collect();
            r.rmse_zero.push(mean(&zeros).sqrt());
            let thr = MIN_COUNT.max(Z * est.noise_sd());
            let count = |limit: f64, false_only: bool| {
                all.iter().filter(|&&i| e[i] >= limit && (!false_only || (truth[i] as f64) < MIN_COUNT)).count() as f64
            };
            r.naive_pub.push(count(MIN_COUNT, false));
            r.naive_false.push(count(MIN_COUNT, true));
            r.z_pub.push(count(thr, false));
            r.z_false.push(count(thr, true));
            for &i in &all {
                r.by_count[truth[i] as usize].push(e[i]);
            }

            let ce = cat_est.estimate(&cats);
            r.cat_noise_sd = cat_est.noise_sd();
            r.cat_mae_top.push(mae(&ce, &cat_truth, &cat_top20));
            let mut order: Vec<usize> = (0..cats.len()).collect();
            order.sort_by(|&a, &b| ce[b].total_cmp(&ce[a]));
            let true10: BTreeSet<usize> = top(&cat_truth, &cats, 10).into_iter().collect();
            r.cat_top10.push(order[..10].iter().filter(|c| true10.contains(c)).count() as f64);
            if run == 0 {
                r.cat_points = (0..cats.len()).filter(|&c| cat_truth[c] >= 5).map(|c| (cat_truth[c], ce[c])).collect();
            }
        }
        res.push(r);
    }

    // ---- tables.
    let base_liked = mean(&liked.iter().map(|&i| truth[i] as f64).collect::<Vec<_>>());
    let base_all = n as f64 / items.len() as f64;
    let base_top = mean(&top20.iter().map(|&i| truth[i] as f64).collect::<Vec<_>>());
    let base_cat = mean(&cat_top20.iter().map(|&c| cat_truth[c] as f64).collect::<Vec<_>>());
    println!("Mean absolute error of the published like count, per item ({RUNS} runs per ε, mean ± sd over runs)");
    println!();
    println!("| ε | g | p | noise sd (theory) | RMSE, unliked items | MAE, liked items ({}) | MAE, all items ({}) | MAE, top-20 items |", liked.len(), items.len());
    println!("|---|---|---|---|---|---|---|---|");
    let pm = |v: &[f64]| {
        let m = mean(v);
        let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64).sqrt();
        format!("{m:.1} ± {sd:.1}")
    };
    for (k, r) in res.iter().enumerate() {
        let p = Params::new(EPSILONS[k]);
        println!(
            "| {} | {} | {:.3} | {:.1} | {:.1} | {} | {} | {} |",
            EPSILONS[k],
            p.g(),
            p.p(),
            r.noise_sd,
            mean(&r.rmse_zero),
            pm(&r.mae_liked),
            pm(&r.mae_all),
            pm(&r.mae_top)
        );
    }
    println!("| reference: publish 0 for every item | | | | 0 | {base_liked:.2} | {base_all:.3} | {base_top:.2} |");
    println!();
    println!("What the server would publish (mean per run; {truly_pub} items truly have >= {MIN_COUNT} likes)");
    println!();
    println!("| ε | rule: estimate >= {MIN_COUNT} | of which false (true < {MIN_COUNT}) | rule: estimate >= max({MIN_COUNT}, {Z} × noise sd) | threshold | of which false |");
    println!("|---|---|---|---|---|---|");
    for (k, r) in res.iter().enumerate() {
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.0} | {:.1} |",
            EPSILONS[k],
            mean(&r.naive_pub),
            mean(&r.naive_false),
            mean(&r.z_pub),
            MIN_COUNT.max(Z * r.noise_sd),
            mean(&r.z_false)
        );
    }
    println!();
    println!("Same likes, each reported as its category instead of its item ({} candidate categories)", cats.len());
    println!();
    println!("| ε | noise sd | MAE, top-20 categories (mean true {base_cat:.1}) | true top-10 found in estimated top-10 |");
    println!("|---|---|---|---|");
    for (k, r) in res.iter().enumerate() {
        println!("| {} | {:.1} | {} | {:.1} / 10 |", EPSILONS[k], r.cat_noise_sd, pm(&r.cat_mae_top), mean(&r.cat_top10));
    }
    println!();
    println!("Scale: the noise sd of one item's count, and the count an item needs to clear max({MIN_COUNT}, {Z} × sd), for n reports");
    println!();
    println!("| reports n | ε = 1 | ε = 2 | ε = 4 |");
    println!("|---|---|---|---|");
    let vn = views.len();
    for (label, nn) in [
        (format!("{n} (these likes)"), n as f64),
        (format!("{vn} (this sample's views, one per shopper and item)"), vn as f64),
        ("100,000".into(), 1e5),
        ("1,000,000".into(), 1e6),
        ("10,000,000".into(), 1e7),
    ] {
        let cells: Vec<String> = EPSILONS
            .iter()
            .map(|&e| {
                let sd = Params::new(e).variance(0.0, nn).sqrt();
                format!("sd {sd:.0}, needs {:.0}", MIN_COUNT.max(Z * sd))
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!();
    println!("Timing (this machine may be shared: CPU time of the estimating thread is the fairer figure)");
    for (k, r) in res.iter().enumerate() {
        let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "  ε = {}: estimate {} items × {n} reports: wall {:.0} ms (best of {RUNS}), CPU {:.2} s; one report {:.2} µs",
            EPSILONS[k],
            items.len(),
            min(&r.est_secs) * 1e3,
            mean(&r.est_cpu),
            min(&r.report_us)
        );
    }

    let svg = plot(&res, n, items.len(), liked.len(), &[base_liked, base_all, base_top, base_cat], cats.len());
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/ldp-taobao.svg");
    std::fs::write(&out, svg).expect("write the plot");
    println!();
    println!("wrote {}", out.display());
}

// ------------------------------------------------------------------ the plot

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

struct Axis {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
}

impl Axis {
    fn at(&self, v: f64) -> f64 {
        self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a)
    }
}

fn text(s: &mut String, x: f64, y: f64, anchor: &str, extra: &str, t: &str) {
    let _ = writeln!(s, r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" {extra}>{}</text>"#, esc(t));
}

fn line(s: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
    let _ = writeln!(s, r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#);
}

/// Frame, grid and tick labels of one panel.
fn frame(s: &mut String, x: &Axis, y: &Axis, xt: &[(f64, String)], yt: &[f64]) {
    for &v in yt {
        let py = y.at(v);
        line(s, x.a, py, x.b, py, r##"stroke="#e4e4e4""##);
        text(s, x.a - 6.0, py + 4.0, "end", r#"class="tick""#, &format!("{v}"));
    }
    line(s, x.a, y.at(0.0), x.b, y.at(0.0), r##"stroke="#999""##);
    for (v, l) in xt {
        text(s, x.at(*v), y.a + 18.0, "middle", r#"class="tick""#, l);
    }
    let _ = writeln!(s, r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##, x.a, y.b, x.b - x.a, y.a - y.b);
}

fn plot(res: &[PerEps], n: usize, m: usize, liked: usize, base: &[f64; 4], ncats: usize) -> String {
    let (w, h) = (1180.0, 860.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="13">
<style>.tick{{font-size:12px;fill:#333}} .lab{{font-size:13px;fill:#111}} .ttl{{font-size:15px;font-weight:bold;fill:#111}} .note{{font-size:12px;fill:#555}}</style>
<rect width="100%" height="100%" fill="white"/>"##
    );
    text(&mut s, 24.0, 30.0, "start", r#"font-size="19" font-weight="bold""#, "Like counts under local differential privacy (OLH) — Taobao sample replay");
    text(
        &mut s,
        24.0,
        52.0,
        "start",
        r#"class="note""#,
        &format!("{n} likes (fav, one per shopper and item), {m} candidate items, {} runs per ε. Estimates are unbiased; the question is how noisy.", RUNS),
    );
    // Legend.
    let mut lx = 760.0;
    for (k, c) in COLORS.iter().enumerate() {
        let _ = writeln!(s, r#"<rect x="{lx}" y="68" width="14" height="14" fill="{c}"/>"#);
        text(&mut s, lx + 20.0, 80.0, "start", r#"class="lab""#, &format!("ε = {}  (g = {})", EPSILONS[k], Params::new(EPSILONS[k]).g()));
        lx += 138.0;
    }

    // Panel A: items, estimate distribution per true count.
    let maxc = res[0].by_count.len() - 1;
    let xa = Axis { lo: -0.5, hi: maxc as f64 + 0.5, a: 90.0, b: 540.0 };
    let ya = Axis { lo: -200.0, hi: 250.0, a: 480.0, b: 110.0 };
    text(&mut s, 90.0, 100.0, "start", r#"class="ttl""#, "A. Per item: estimated vs true like count");
    let xt: Vec<(f64, String)> = (0..=maxc)
        .map(|c| {
            let k = res[0].by_count[c].len() / RUNS as usize;
            (c as f64, format!("{c}  ({k} items)"))
        })
        .collect();
    frame(&mut s, &xa, &ya, &xt, &[-200.0, -150.0, -100.0, -50.0, 0.0, 50.0, 100.0, 150.0, 200.0, 250.0]);
    // Thresholds: min count and y = x (labelled in the panel's key, top left).
    line(&mut s, xa.a, ya.at(MIN_COUNT), xa.b, ya.at(MIN_COUNT), r##"stroke="#000" stroke-dasharray="2 3""##);
    line(&mut s, xa.a, ya.at(-0.5), xa.b, ya.at(maxc as f64 + 0.5), r##"stroke="#000" stroke-width="1.5""##);
    for (k, r) in res.iter().enumerate() {
        for (c, v) in r.by_count.iter().enumerate() {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            let cx = xa.at(c as f64) + (k as f64 - 1.0) * 34.0;
            let (q05, q25, q50, q75, q95) = (quantile(&v, 0.05), quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75), quantile(&v, 0.95));
            let col = COLORS[k];
            line(&mut s, cx, ya.at(q05), cx, ya.at(q95), &format!(r#"stroke="{col}" stroke-width="2""#));
            for q in [q05, q95] {
                line(&mut s, cx - 6.0, ya.at(q), cx + 6.0, ya.at(q), &format!(r#"stroke="{col}" stroke-width="2""#));
            }
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="22" height="{:.1}" fill="{col}" fill-opacity="0.25" stroke="{col}" stroke-width="1.5"/>"#,
                cx - 11.0,
                ya.at(q75),
                ya.at(q25) - ya.at(q75)
            );
            line(&mut s, cx - 11.0, ya.at(q50), cx + 11.0, ya.at(q50), &format!(r#"stroke="{col}" stroke-width="2""#));
            let _ = writeln!(s, r##"<circle cx="{cx:.1}" cy="{:.1}" r="3.5" fill="#fff" stroke="#000"/>"##, ya.at(mean(&v)));
        }
    }
    text(&mut s, (xa.a + xa.b) / 2.0, ya.a + 40.0, "middle", r#"class="lab""#, "true like count of the item (number of items)");
    let _ = writeln!(s, r#"<text transform="translate(38,{:.1}) rotate(-90)" text-anchor="middle" class="lab">estimated like count</text>"#, (ya.a + ya.b) / 2.0);
    text(&mut s, xa.a + 8.0, ya.b + 18.0, "start", r#"class="note""#, "box: 25–75 %, whiskers: 5–95 % of the items' estimates,");
    text(&mut s, xa.a + 8.0, ya.b + 34.0, "start", r#"class="note""#, "bar: median, ○ mean (unbiased: on the truth)");
    line(&mut s, xa.a + 8.0, ya.b + 50.0, xa.a + 36.0, ya.b + 50.0, r##"stroke="#000" stroke-width="1.5""##);
    text(&mut s, xa.a + 42.0, ya.b + 54.0, "start", r#"class="note""#, "y = x (the truth)");
    line(&mut s, xa.a + 160.0, ya.b + 50.0, xa.a + 188.0, ya.b + 50.0, r##"stroke="#000" stroke-dasharray="2 3""##);
    text(&mut s, xa.a + 194.0, ya.b + 54.0, "start", r#"class="note""#, "5: min count to publish");

    // Panel B: categories, scatter.
    let maxcat = res[0].cat_points.iter().map(|p| p.0).max().unwrap_or(10) as f64;
    let xb = Axis { lo: 0.0, hi: (maxcat / 10.0).ceil() * 10.0, a: 680.0, b: 1140.0 };
    let yb = Axis { lo: -100.0, hi: 250.0, a: 480.0, b: 110.0 };
    text(&mut s, 680.0, 100.0, "start", r#"class="ttl""#, "B. Same likes reported per category instead");
    let xt: Vec<(f64, String)> = (0..=(xb.hi as usize / 10)).map(|i| ((i * 10) as f64, format!("{}", i * 10))).collect();
    frame(&mut s, &xb, &yb, &xt, &[-100.0, -50.0, 0.0, 50.0, 100.0, 150.0, 200.0, 250.0]);
    line(&mut s, xb.at(0.0), yb.at(0.0), xb.at(xb.hi), yb.at(xb.hi), r##"stroke="#000" stroke-width="1.5""##);
    text(&mut s, xb.at(xb.hi) - 4.0, yb.at(xb.hi) + 16.0, "end", r#"class="note""#, "y = x");
    for (k, r) in res.iter().enumerate() {
        for &(t, e) in &r.cat_points {
            let _ = writeln!(s, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}" fill-opacity="0.6"/>"#, xb.at(t as f64), yb.at(e.clamp(yb.lo, yb.hi)), COLORS[k]);
        }
    }
    text(&mut s, (xb.a + xb.b) / 2.0, yb.a + 40.0, "middle", r#"class="lab""#, &format!("true like count of the category ({} categories with ≥ 5 likes, run 1)", res[0].cat_points.len()));
    let _ = writeln!(s, r#"<text transform="translate(632,{:.1}) rotate(-90)" text-anchor="middle" class="lab">estimated like count</text>"#, (yb.a + yb.b) / 2.0);
    text(&mut s, xb.a + 8.0, yb.b + 18.0, "start", r#"class="note""#, &format!("one report per like over {ncats} categories: same noise, larger counts"));

    // Panel C: MAE bars.
    type Metric<'a> = (String, &'a dyn Fn(&PerEps) -> f64, f64);
    let groups: [Metric; 4] = [
        (format!("liked items ({liked})"), &|r: &PerEps| mean(&r.mae_liked), base[0]),
        (format!("all items ({m})"), &|r: &PerEps| mean(&r.mae_all), base[1]),
        ("top-20 most-liked items".into(), &|r: &PerEps| mean(&r.mae_top), base[2]),
        ("top-20 categories (panel B)".into(), &|r: &PerEps| mean(&r.cat_mae_top), base[3]),
    ];
    let yc = Axis { lo: 0.0, hi: 80.0, a: 790.0, b: 590.0 };
    let (x0, gw) = (90.0, 262.0);
    text(&mut s, 90.0, 572.0, "start", r#"class="ttl""#, "C. Mean absolute error of the estimate (mean over runs)");
    for v in [0.0, 20.0, 40.0, 60.0, 80.0] {
        line(&mut s, x0, yc.at(v), x0 + gw * 4.0, yc.at(v), r##"stroke="#e4e4e4""##);
        text(&mut s, x0 - 6.0, yc.at(v) + 4.0, "end", r#"class="tick""#, &format!("{v}"));
    }
    let _ = writeln!(s, r#"<text transform="translate(48,{:.1}) rotate(-90)" text-anchor="middle" class="lab">MAE (likes)</text>"#, (yc.a + yc.b) / 2.0);
    for (gi, (label, f, b)) in groups.iter().enumerate() {
        let gx = x0 + gi as f64 * gw + 40.0;
        for (k, r) in res.iter().enumerate() {
            let v = f(r);
            let bx = gx + k as f64 * 52.0;
            let _ = writeln!(s, r#"<rect x="{bx:.1}" y="{:.1}" width="44" height="{:.1}" fill="{}"/>"#, yc.at(v), yc.a - yc.at(v), COLORS[k]);
            text(&mut s, bx + 22.0, yc.at(v) - 5.0, "middle", r#"class="tick""#, &format!("{v:.1}"));
        }
        let by = yc.at(*b);
        line(&mut s, gx - 8.0, by, gx + 3.0 * 52.0, by, r##"stroke="#000" stroke-width="2" stroke-dasharray="5 3""##);
        text(&mut s, gx + 3.0 * 52.0 + 2.0, by - 4.0, "start", r#"class="tick""#, &if *b < 10.0 { format!("{b:.2}") } else { format!("{b:.1}") });
        text(&mut s, gx + 74.0, yc.a + 18.0, "middle", r#"class="lab""#, label);
    }
    line(&mut s, x0, yc.a, x0 + gw * 4.0, yc.a, r##"stroke="#444""##);
    line(&mut s, 760.0, 566.0, 790.0, 566.0, r##"stroke="#000" stroke-width="2" stroke-dasharray="5 3""##);
    text(&mut s, 796.0, 570.0, "start", r#"class="note""#, "reference: error of publishing 0 for everything");
    text(
        &mut s,
        24.0,
        842.0,
        "start",
        r#"class="note""#,
        "Generated by `cargo run --release --example ldp_taobao` (vitrina, src/ldp.rs). Estimates clipped to the plotted range in panel B.",
    );
    s.push_str("</svg>\n");
    s
}
