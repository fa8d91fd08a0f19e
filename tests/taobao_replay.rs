//! Replays real shoppers through the core: Alibaba's Taobao UserBehavior sample
//! (`../shared/data/taobao/user_behavior_sample.csv`, next to the repository; research
//! use only, never copied into the repository). One `Engine` per shopper, the shopper's
//! own timestamps as `now`, `cat/<category_id>` as the category path, no prices:
//! `pv` is a product view, `cart` a cart add, `fav` a like, `buy` a purchase.
//!
//! ```text
//! cargo test --test taobao_replay                      # asserts; prints the report
//! cargo run --release --example replay_taobao          # the same report as a table
//! ```
//!
//! It checks, for every shopper, that the profile's strongest category (by decayed
//! affinity at the shopper's last event) is the category the shopper interacted with
//! most under the same recency weighting, computed here independently from the raw
//! rows: `Σ weight(kind) · 2^(−(t_last − t) / half_life)`, with the half-life of
//! `profile::Config::default()` and the weights `Profile::apply` gives each kind
//! (`src/profile.rs`: a view bumps 1, a cart add 3, a like 2; a purchase bumps
//! nothing; no dwell here). Ties: any tied category is accepted. The profile is checked
//! twice: in memory, and as stored (`profile_bytes()` loaded into a new engine, where
//! scores keep three decimals, so categories within 0.0011 of the best count as tied).
//! Shoppers whose interests were cut (the in-memory interest cap, or evictions by the
//! 16 KB size bound when stored) are reported apart and not asserted.
//!
//! Timestamps: the log is from November–December 2017, before the core's earliest
//! plausible timestamp (2020-01-01, `event::limits::MIN_TS`), so every timestamp is
//! shifted by the same 2557 days (7 years) into 2024–2025; intervals are unchanged.
//!
//! The whole file (815 shoppers, 84 475 events) is replayed in debug builds too; it
//! takes a few seconds.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;

use vitrina::engine::{Config, Engine, Field};
use vitrina::profile;

const DAY_MS: u64 = 86_400_000;
/// Added to every timestamp: 2557 days, so 2017-11-25 becomes 2024-11-25.
pub const SHIFT_MS: u64 = 2557 * DAY_MS;

/// The weights `Profile::apply` (src/profile.rs) gives each kind when it bumps the
/// item's category: `Kind::ProductView` 1.0 (no dwell here), `Kind::CartAdd` 3.0,
/// `Kind::Like` 2.0; `Kind::Purchase` bumps nothing.
pub const WEIGHT_VIEW: f64 = 1.0;
pub const WEIGHT_CART: f64 = 3.0;
pub const WEIGHT_LIKE: f64 = 2.0;
pub const WEIGHT_BUY: f64 = 0.0;

/// Where the sample lives: `../shared/data` next to the repository root.
pub fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/taobao/user_behavior_sample.csv")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Behavior {
    View,
    Cart,
    Like,
    Buy,
}

impl Behavior {
    fn parse(s: &str) -> Option<Behavior> {
        Some(match s {
            "pv" => Behavior::View,
            "cart" => Behavior::Cart,
            "fav" => Behavior::Like,
            "buy" => Behavior::Buy,
            _ => return None,
        })
    }

    /// The reference weight (see the module comment).
    pub fn weight(self) -> f64 {
        match self {
            Behavior::View => WEIGHT_VIEW,
            Behavior::Cart => WEIGHT_CART,
            Behavior::Like => WEIGHT_LIKE,
            Behavior::Buy => WEIGHT_BUY,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Row {
    pub item: String,
    pub category: String,
    pub behavior: Behavior,
    /// Milliseconds since the epoch, shifted by [`SHIFT_MS`].
    pub ts: u64,
}

pub struct Shopper {
    pub user: String,
    pub rows: Vec<Row>,
}

/// The shoppers of the sample in file order, or `None` when the file is absent.
pub fn load() -> Option<Result<Vec<Shopper>, String>> {
    let text = std::fs::read_to_string(data_path()).ok()?;
    Some(parse(&text))
}

fn parse(text: &str) -> Result<Vec<Shopper>, String> {
    let mut out: Vec<Shopper> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.trim().split(',').collect();
        let bad = || format!("line {}: {line:?}", n + 1);
        if f.len() != 5 {
            return Err(bad());
        }
        let secs: u64 = f[4].parse().map_err(|_| bad())?;
        let row = Row {
            item: f[1].to_owned(),
            category: format!("cat/{}", f[2]),
            behavior: Behavior::parse(f[3]).ok_or_else(bad)?,
            ts: secs * 1000 + SHIFT_MS,
        };
        match out.last_mut() {
            Some(s) if s.user == f[0] => s.rows.push(row),
            _ => out.push(Shopper { user: f[0].to_owned(), rows: vec![row] }),
        }
    }
    Ok(out)
}

/// What replaying one shopper gave.
pub struct Replayed {
    pub user: String,
    pub events: usize,
    pub rejected: Vec<String>,
    pub last_ts: u64,
    /// The stored profile's length in localStorage (base64 characters, as `btoa` writes them).
    pub stored_chars: usize,
    /// The encoded profile, bounded (`Profile::encode`).
    pub stored_bytes: usize,
    /// The encoded profile without the bound: over `max_bytes` means the bound evicted.
    pub unbounded_bytes: usize,
    /// Category interests in memory, and how many distinct category keys were bumped.
    pub interests: usize,
    pub interest_keys: usize,
    /// The strongest `cat/<id>` as of `last_ts`: in memory, and after store + load.
    pub top_memory: Option<(String, f64)>,
    pub top_stored: Option<(String, f64)>,
}

impl Replayed {
    /// The in-memory interest cap dropped some interest.
    pub fn capped(&self) -> bool {
        self.interests < self.interest_keys
    }
    /// The size bound evicted something when the profile was stored.
    pub fn evicted(&self, cfg: &profile::Config) -> bool {
        self.unbounded_bytes > cfg.max_bytes
    }
}

pub fn engine_config() -> Config {
    Config::new("taobao")
}

/// Replays one shopper through a fresh engine, as the browser would call it.
pub fn replay(s: &Shopper) -> Replayed {
    let cfg = engine_config();
    let mut e = Engine::new(cfg.clone(), [0x7a; 16], 1);
    let mut rejected = Vec::new();
    let mut keys: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, r) in s.rows.iter().enumerate() {
        let kind = match r.behavior {
            Behavior::View => "view",
            Behavior::Cart => "cart-add",
            Behavior::Like => "like",
            Behavior::Buy => "purchase",
        };
        e.begin(kind, r.ts);
        if r.behavior == Behavior::Buy {
            e.add_line(&r.item, 1.0, f64::NAN);
        } else {
            e.set(Field::Item, &r.item);
            keys.insert(&r.category);
        }
        e.set(Field::Category, &r.category);
        if let Err(why) = e.commit(r.ts, false, i as u32) {
            rejected.push(format!("{} {kind} {}: {}", s.user, r.item, why.message()));
        }
    }
    let last_ts = s.rows.last().map_or(0, |r| r.ts);
    let pc = &cfg.profile;
    let stored = e.profile_bytes();
    let stored_bytes = e.profile.encode(pc).len();
    let unbounded_bytes = e.profile.encode(&profile::Config { max_bytes: usize::MAX, ..pc.clone() }).len();
    let top = |p: &profile::Profile| p.top("c:cat/", 1, last_ts, pc).into_iter().next();
    let top_memory = top(&e.profile);
    let mut loaded = Engine::new(cfg.clone(), [0x7a; 16], 2);
    let top_stored = match loaded.load_profile(&stored, last_ts) {
        Ok(()) => top(&loaded.profile),
        Err(err) => {
            rejected.push(format!("{}: the stored profile does not load: {err}", s.user));
            None
        }
    };
    Replayed {
        user: s.user.clone(),
        events: s.rows.len(),
        rejected,
        last_ts,
        stored_chars: stored.len().div_ceil(3) * 4,
        stored_bytes,
        unbounded_bytes,
        // `c:cat` is bumped with every category: one more key than categories.
        interests: e.profile.affinity.iter().filter(|a| a.key.starts_with("c:cat/")).count(),
        interest_keys: keys.len(),
        top_memory,
        top_stored,
    }
}

// ------------------------------------------------------------------------------ reference

/// Recency-weighted interaction per category as of the shopper's last event,
/// computed from the rows alone (not with the profile's code).
pub fn reference_scores(s: &Shopper) -> HashMap<String, f64> {
    let half_life_ms = profile::Config::default().half_life_days * DAY_MS as f64;
    let last = s.rows.iter().map(|r| r.ts).max().unwrap_or(0);
    let mut m: HashMap<String, f64> = HashMap::new();
    for r in &s.rows {
        let w = r.behavior.weight();
        if w > 0.0 {
            *m.entry(r.category["cat/".len()..].to_owned()).or_default() +=
                w * 0.5f64.powf((last - r.ts) as f64 / half_life_ms);
        }
    }
    m
}

/// Whether `got` is an acceptable top category: its reference score is within `tol`
/// of the best one (relative 1e-9 for exact ties, plus the given absolute tolerance).
pub fn acceptable(scores: &HashMap<String, f64>, got: Option<&str>, tol: f64) -> bool {
    let best = scores.values().cloned().fold(f64::MIN, f64::max);
    match got.and_then(|g| scores.get(g)) {
        Some(&s) => s >= best - best.abs() * 1e-9 - tol,
        None => false,
    }
}

/// Whether the best category is tied (within `tol`) with another.
pub fn tied(scores: &HashMap<String, f64>, tol: f64) -> bool {
    let best = scores.values().cloned().fold(f64::MIN, f64::max);
    scores.values().filter(|&&s| s >= best - best.abs() * 1e-9 - tol).count() > 1
}

/// Tolerance of the stored form: scores are kept to the thousandth.
pub const STORED_TOLERANCE: f64 = 0.0011;

// ------------------------------------------------------------------------------ report

#[derive(Default)]
pub struct Agreement {
    pub checked: usize,
    pub matched: usize,
    pub ties: usize,
    pub mismatches: Vec<String>,
}

pub struct Report {
    pub shoppers: usize,
    pub events: usize,
    pub by_kind: [usize; 4],
    pub rejected: Vec<String>,
    pub chars: [usize; 3],
    pub bytes: [usize; 3],
    pub evicted: usize,
    pub capped: usize,
    pub no_signal: usize,
    /// Shoppers whose reference top category differs from the one with the most
    /// weighted interactions without decay: where recency decides.
    pub recency_decides: usize,
    pub memory: Agreement,
    pub stored: Agreement,
    pub cut_memory: Agreement,
    pub cut_stored: Agreement,
}

/// Median, p90 and max (nearest rank).
fn spread(mut v: Vec<usize>) -> [usize; 3] {
    v.sort_unstable();
    let at = |q: f64| v.get(((q * v.len() as f64).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0);
    [at(0.5), at(0.9), v.last().copied().unwrap_or(0)]
}

fn agree(a: &mut Agreement, user: &str, scores: &HashMap<String, f64>, got: Option<&(String, f64)>, tol: f64) {
    a.checked += 1;
    if tied(scores, tol) {
        a.ties += 1;
    }
    if acceptable(scores, got.map(|g| g.0.as_str()), tol) {
        a.matched += 1;
    } else {
        let (best, bs) =
            scores.iter().max_by(|x, y| x.1.total_cmp(y.1)).map(|(k, v)| (k.clone(), *v)).unwrap_or_default();
        let g = got.map_or("none".to_owned(), |(k, v)| {
            format!("{k} (profile {v:.4}, reference {:.4})", scores.get(k).copied().unwrap_or(0.0))
        });
        a.mismatches.push(format!("shopper {user}: profile says {g}, reference says {best} ({bs:.4})"));
    }
}

pub fn run(shoppers: &[Shopper]) -> Report {
    let cfg = engine_config().profile;
    let mut r = Report {
        shoppers: shoppers.len(),
        events: 0,
        by_kind: [0; 4],
        rejected: Vec::new(),
        chars: [0; 3],
        bytes: [0; 3],
        evicted: 0,
        capped: 0,
        no_signal: 0,
        recency_decides: 0,
        memory: Agreement::default(),
        stored: Agreement::default(),
        cut_memory: Agreement::default(),
        cut_stored: Agreement::default(),
    };
    let (mut chars, mut bytes) = (Vec::new(), Vec::new());
    for s in shoppers {
        for row in &s.rows {
            r.by_kind[row.behavior as usize] += 1;
        }
        let out = replay(s);
        r.events += out.events;
        r.rejected.extend(out.rejected.iter().cloned());
        chars.push(out.stored_chars);
        bytes.push(out.stored_bytes);
        let (capped, evicted) = (out.capped(), out.evicted(&cfg));
        r.capped += capped as usize;
        r.evicted += evicted as usize;
        let scores = reference_scores(s);
        if scores.is_empty() {
            r.no_signal += 1;
            continue;
        }
        let mut flat: HashMap<&str, f64> = HashMap::new();
        for row in &s.rows {
            *flat.entry(&row.category["cat/".len()..]).or_default() += row.behavior.weight();
        }
        let flat_max = flat.values().cloned().fold(f64::MIN, f64::max);
        let reference_best = scores.iter().max_by(|x, y| x.1.total_cmp(y.1)).map(|(k, _)| k.as_str()).unwrap_or("");
        r.recency_decides += (flat.get(reference_best).copied().unwrap_or(0.0) < flat_max) as usize;
        if capped {
            agree(&mut r.cut_memory, &s.user, &scores, out.top_memory.as_ref(), 0.0);
        } else {
            agree(&mut r.memory, &s.user, &scores, out.top_memory.as_ref(), 0.0);
        }
        if capped || evicted {
            agree(&mut r.cut_stored, &s.user, &scores, out.top_stored.as_ref(), STORED_TOLERANCE);
        } else {
            agree(&mut r.stored, &s.user, &scores, out.top_stored.as_ref(), STORED_TOLERANCE);
        }
    }
    r.chars = spread(chars);
    r.bytes = spread(bytes);
    r
}

fn pct(a: &Agreement) -> String {
    if a.checked == 0 {
        return "-".into();
    }
    format!("{}/{} ({:.1}%), {} with ties", a.matched, a.checked, 100.0 * a.matched as f64 / a.checked as f64, a.ties)
}

impl Report {
    pub fn table(&self) -> String {
        let cfg = engine_config().profile;
        let [v, c, l, b] = self.by_kind;
        let mut s = String::new();
        let w = &mut s;
        use std::fmt::Write as _;
        let _ = writeln!(
            w,
            "Taobao UserBehavior sample: {} shoppers, {} events (pv {v}, cart {c}, fav {l}, buy {b}), {} rejected",
            self.shoppers,
            self.events,
            self.rejected.len()
        );
        let _ = writeln!(w, "stored profile per shopper            median      p90      max");
        let _ = writeln!(
            w,
            "  stored length (base64 chars)     {:>10} {:>8} {:>8}",
            self.chars[0], self.chars[1], self.chars[2]
        );
        let _ = writeln!(
            w,
            "  encoded bytes                   {:>10} {:>8} {:>8}   (bound {})",
            self.bytes[0], self.bytes[1], self.bytes[2], cfg.max_bytes
        );
        let _ = writeln!(
            w,
            "  shoppers evicted by the size bound when stored: {}; over the in-memory interest cap: {}",
            self.evicted, self.capped
        );
        let _ = writeln!(
            w,
            "top category vs. reference (half-life {} d; view {WEIGHT_VIEW}, cart {WEIGHT_CART}, like {WEIGHT_LIKE}, buy {WEIGHT_BUY}):",
            cfg.half_life_days
        );
        let _ = writeln!(w, "  in memory                      {}", pct(&self.memory));
        let _ = writeln!(w, "  stored and loaded              {}", pct(&self.stored));
        let _ = writeln!(w, "  truncated shoppers, in memory  {}", pct(&self.cut_memory));
        let _ = writeln!(w, "  truncated shoppers, stored     {}", pct(&self.cut_stored));
        let _ = writeln!(w, "  shoppers with no weighted event (purchases only): {}", self.no_signal);
        let _ = writeln!(
            w,
            "  shoppers whose top category differs without decay (recency decides): {}",
            self.recency_decides
        );
        for m in self.memory.mismatches.iter().chain(&self.stored.mismatches).take(10) {
            let _ = writeln!(w, "  MISMATCH {m}");
        }
        s
    }
}

/// Written straight to stderr so that `cargo test` shows it without `--nocapture`.
fn note(s: &str) {
    let _ = std::io::stderr().write_all(s.as_bytes());
}

#[test]
fn taobao_shoppers_replay_into_bounded_profiles_with_the_right_top_category() {
    let Some(shoppers) = load() else {
        note(&format!("SKIPPED: ../shared/data not found ({} is absent)\n", data_path().display()));
        return;
    };
    let shoppers = shoppers.expect("the sample parses");
    assert!(!shoppers.is_empty());
    let t = std::time::Instant::now();
    let r = run(&shoppers);
    note(&format!("{}  (replayed in {:.1} s)\n", r.table(), t.elapsed().as_secs_f64()));
    let cfg = engine_config().profile;
    assert!(
        r.rejected.is_empty(),
        "the core rejected {} events, e.g. {:?}",
        r.rejected.len(),
        &r.rejected[..r.rejected.len().min(5)]
    );
    assert!(r.bytes[2] <= cfg.max_bytes, "a stored profile is over the bound: {} bytes", r.bytes[2]);
    assert!(r.memory.checked > 0 && r.stored.checked > 0);
    assert!(
        r.memory.mismatches.is_empty(),
        "in memory, {} shoppers' top category differs from the reference:\n  {}",
        r.memory.mismatches.len(),
        r.memory.mismatches.join("\n  ")
    );
    assert!(
        r.stored.mismatches.is_empty(),
        "stored and loaded, {} shoppers' top category differs from the reference:\n  {}",
        r.stored.mismatches.len(),
        r.stored.mismatches.join("\n  ")
    );
}

#[test]
fn the_reference_weighting_is_what_the_module_says() {
    let row = |cat: &str, behavior, days: u64| Row {
        item: "i".into(),
        category: format!("cat/{cat}"),
        behavior,
        ts: SHIFT_MS + days * DAY_MS,
    };
    let s = Shopper {
        user: "u".into(),
        rows: vec![
            row("a", Behavior::Cart, 0),
            row("b", Behavior::View, 14),
            row("b", Behavior::Buy, 28),
            row("c", Behavior::Like, 28),
        ],
    };
    let m = reference_scores(&s);
    // a: 3 two half-lives ago; b: 1 one half-life ago (the purchase adds nothing); c: 2 now.
    assert!((m["a"] - 0.75).abs() < 1e-12 && (m["b"] - 0.5).abs() < 1e-12 && (m["c"] - 2.0).abs() < 1e-12, "{m:?}");
    assert!(acceptable(&m, Some("c"), 0.0) && !acceptable(&m, Some("a"), 0.0) && !tied(&m, 0.0));
}
