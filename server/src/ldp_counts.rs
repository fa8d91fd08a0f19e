//! Like and view counts de-biased from local-differential-privacy reports.
//!
//! In the optional LDP mode (`docs/ldp.md`, `vitrina::ldp`) a shopper's like, unlike
//! or product view reaches the server as a randomized report — a custom event named
//! `ldp` with a hash seed and one bucket, **no item** — sent under the all-zero
//! client id. This module turns the stored reports into per-item counts for
//! `/v1/popularity` (`popularity.rs` calls it when it builds a snapshot).
//!
//! # Candidates
//!
//! A report names no item, so the server has to ask, item by item, "how many
//! reports support this one?". The items it asks about, the **candidates**, are
//! every item id the store knows from **any** stored event: product views, cart
//! adds, purchase lines, recommendation impressions and clicks, plain likes of
//! clients outside the mode, custom events with an item (see
//! [`Store::ldp_inputs`](crate::store::Store::ldp_inputs)). **An item that no plain
//! event ever named cannot be estimated**: its reports still count in `n` (they
//! raise everyone's noise) but no count is published for it. At most
//! [`MAX_CANDIDATES`] items are candidates (the most often named), which bounds the
//! cost when a client floods the store with invented ids.
//!
//! # Estimation
//!
//! Reports are grouped into **channels**: one per signal (like, unlike, view) and
//! per ε (`e`; `g` follows from it and is checked against it), because the
//! de-biasing constants depend on ε. For a candidate `i` and a channel of `n`
//! reports with parameters `p` and `q = 1/g`, with `C` the reports of the channel
//! that support `i` (`ldp::bucket(ldp::item_hash(i), s, g) == b`):
//!
//! ```text
//! estimate = Σ over the channels of the signal  (C − n·q) / (p − q)
//! variance = Σ over the channels of the signal  Params::variance(f·n/N, n)
//! ```
//!
//! where `N` is the signal's number of reports and `f` the signal's estimate: the
//! same numbers as `vitrina::ldp::Estimator::estimate` and `Estimator::sd` (a test
//! checks it). Then:
//!
//! - **likes** = estimate(like) − estimate(unlike), with variance the sum of the two
//!   variances (at their own estimates);
//! - **views** = estimate(view).
//!
//! # Publication
//!
//! An estimate is noise of standard deviation `sd` around the truth, and `sd` is set
//! by the number of reports of **all** items, not by the item's own. So an estimate
//! is published only when it is at least `max(min_count, Z · sd)`, with [`Z`] = 4.5
//! and `sd` the square root of the variance at the estimate; then it is rounded to
//! a whole number (it is then at least `min_count`, never negative). Below that, the
//! item gets no LDP part at all (not a zero, not a clamp). `popularity.rs` adds the
//! published part to the plain count of the same field (plain likes of clients
//! outside the mode, plain product views), and the sum must still reach `min_count`.
//! With `candidates × P(N(0,1) > 4.5)` ≈ `candidates × 3.4·10⁻⁶`, fewer than one item
//! in a catalogue of 100,000 gets a published count it does not deserve.
//!
//! # Cost
//!
//! Counting support is one hash per (report, candidate) pair: item hashes are
//! computed once per candidate, and [`Counter`] keeps the support counts of every
//! (candidate, channel) between updates. An update reads all reports and candidates
//! (one read, see `store.rs`), compares them with what it counted before, and hashes
//! only what changed: new reports against the candidates it kept, removed reports
//! (retention) subtracted the same way, new candidates against all reports — or
//! everything again when that is cheaper. Large updates are split across threads by
//! candidate. `popularity.rs` updates only when the store's generation changed (new
//! events stored, or deleted by retention), on the blocking pool. Figures are in
//! `docs/ldp.md` (`tests/ldp.rs`, `cost_of_support_counting`).

use std::collections::HashMap;
use std::sync::Mutex;

use vitrina::event::Event;
use vitrina::ldp::{self, Params, Report, Signal};

use crate::store::{LdpInputs, StoredReport};

/// An LDP estimate is published only when it is at least `Z` standard deviations
/// (and at least `min_count`).
pub const Z: f64 = 4.5;

/// Most candidate items (the most often named ones are kept).
pub const MAX_CANDIDATES: usize = 200_000;

/// Below this many (report, candidate) pairs, counting stays on one thread.
const PARALLEL_MIN_PAIRS: u64 = 2_000_000;

/// The signals, in the order of the per-signal arrays below.
const SIGNALS: [Signal; 3] = [Signal::Like, Signal::Unlike, Signal::View];

fn signal_index(s: Signal) -> usize {
    match s {
        Signal::Like => 0,
        Signal::Unlike => 1,
        Signal::View => 2,
    }
}

/// Checks an incoming event against the LDP rules of `/v1/collect`: events not
/// named `ldp` pass; an `ldp` event must be exactly what `ldp::to_event` writes
/// (custom kind, the five props once each and nothing else, no item nor any other
/// field, the timestamp a whole day) **and** come from the all-zero client id, so
/// that the server never stores a report next to a client id.
pub fn check_incoming(ev: &Event, client: &[u8; 16]) -> Result<(), &'static str> {
    if ev.name.as_deref() != Some(ldp::EVENT_NAME) {
        return Ok(());
    }
    let Some((signal, report)) = ldp::from_event(ev) else {
        return Err("not a well-formed ldp report (custom event, no item, props k, s, b, g, e: see docs/ldp.md)");
    };
    let mut canonical = ldp::to_event(&report, signal, ev.ts);
    canonical.id = ev.id;
    let mut props = ev.props.clone();
    props.sort();
    canonical.props.sort();
    let same = Event { props, ..ev.clone() } == canonical;
    if !same {
        return Err("an ldp report carries nothing but its five props, and its timestamp is a whole day (UTC)");
    }
    if *client != [0u8; 16] {
        return Err("an ldp report must be sent id-free (client id zero), never under a client id");
    }
    Ok(())
}

/// The published LDP part of one item's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// De-biased likes (likes − unlikes), when they pass the threshold.
    pub likes: Option<u64>,
    /// De-biased product views, when they pass the threshold.
    pub views: Option<u64>,
}

/// One candidate's de-biased numbers, before the threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Estimate of likes − unlikes.
    pub likes: f64,
    /// Its standard deviation.
    pub likes_sd: f64,
    /// Estimate of product views.
    pub views: f64,
    /// Its standard deviation.
    pub views_sd: f64,
}

/// The value to publish for an estimate with standard deviation `sd`: its rounded
/// value when it is at least `max(min_count, Z · sd)`, else `None`.
pub fn publishable(estimate: f64, sd: f64, min_count: u64) -> Option<u64> {
    let floor = (min_count.max(1) as f64).max(Z * sd);
    (estimate.is_finite() && estimate >= floor).then(|| estimate.round() as u64)
}

impl Estimate {
    /// What passes the threshold.
    pub fn published(&self, min_count: u64) -> Published {
        Published {
            likes: publishable(self.likes, self.likes_sd, min_count),
            views: publishable(self.views, self.views_sd, min_count),
        }
    }
}

/// The outcome of an update, for tests and figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Reports counted (like, unlike, view); malformed ones are left out.
    pub reports: [u64; 3],
    /// Candidate items.
    pub candidates: u64,
    /// (report, candidate) pairs hashed by this update.
    pub pairs: u64,
    /// Whether everything was counted again (rather than only what changed).
    pub full: bool,
}

/// The estimates of every candidate, and what is published.
#[derive(Clone, Debug, Default)]
pub struct Estimates {
    /// Items with a published LDP part, by item id.
    pub published: HashMap<String, Published>,
    /// Reports counted per signal (like, unlike, view).
    pub reports: [u64; 3],
    /// The noise floor per signal: the sd of the estimate of an item nobody reported.
    pub noise_sd: [f64; 3],
}

/// The reports of one signal made with one ε.
#[derive(Clone, Copy, Debug)]
struct Channel {
    signal: Signal,
    params: Params,
    n: u64,
}

#[derive(Clone, Debug)]
struct Candidate {
    id: String,
    hash: u64,
    /// Supporting reports, per channel (index into `Counter::channels`).
    support: Vec<u32>,
}

/// Reports of one channel, laid out for counting.
struct Group {
    channel: usize,
    g: u32,
    seeds: Vec<u32>,
    buckets: Vec<u32>,
}

/// Support counts of every (candidate, channel), kept up to date across updates.
#[derive(Clone, Debug)]
pub struct Counter {
    /// The reports counted, by event id.
    reports: Vec<StoredReport>,
    channels: Vec<Channel>,
    /// By item id.
    candidates: Vec<Candidate>,
    threads: usize,
    /// Below this many pairs, counting stays on one thread.
    parallel_min_pairs: u64,
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

impl Counter {
    /// An empty counter that counts on as many threads as the machine has.
    pub fn new() -> Counter {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Counter {
            reports: Vec::new(),
            channels: Vec::new(),
            candidates: Vec::new(),
            threads,
            parallel_min_pairs: PARALLEL_MIN_PAIRS,
        }
    }

    /// The same, on at most `threads` threads.
    pub fn with_threads(threads: usize) -> Counter {
        Counter { threads: threads.max(1), ..Counter::new() }
    }

    /// Brings the counts to `inputs` (the current reports and candidates), hashing
    /// only what changed since the last update when that is cheaper.
    pub fn update(&mut self, mut inputs: LdpInputs) -> Update {
        inputs.reports.sort_unstable_by_key(|r| r.id);
        inputs.reports.dedup_by_key(|r| r.id);
        inputs.candidates.sort_unstable();
        inputs.candidates.dedup();
        let new_reports = inputs.reports;

        // Reports: what is gone, what is new (by event id; a changed report is both).
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        {
            let (mut i, mut j) = (0, 0);
            let old = &self.reports;
            while i < old.len() || j < new_reports.len() {
                match (old.get(i), new_reports.get(j)) {
                    (Some(a), Some(b)) if a.id == b.id => {
                        if a != b {
                            removed.push(*a);
                            added.push(*b);
                        }
                        i += 1;
                        j += 1;
                    }
                    (Some(a), Some(b)) if a.id < b.id => {
                        removed.push(*a);
                        i += 1;
                    }
                    (Some(a), None) => {
                        removed.push(*a);
                        i += 1;
                    }
                    (_, Some(b)) => {
                        added.push(*b);
                        j += 1;
                    }
                    (None, None) => break,
                }
            }
        }
        // Candidates: kept ones keep their counts, new ones start from nothing.
        let old = std::mem::take(&mut self.candidates);
        let mut kept: Vec<Candidate> = Vec::with_capacity(old.len());
        let mut fresh: Vec<Candidate> = Vec::new();
        {
            let mut old = old.into_iter().peekable();
            for id in inputs.candidates {
                while old.peek().is_some_and(|c| c.id < id) {
                    old.next();
                }
                match old.next_if(|c| c.id == id) {
                    Some(c) => kept.push(c),
                    None => fresh.push(Candidate { hash: ldp::item_hash(&id), id, support: Vec::new() }),
                }
            }
        }

        let n_all = new_reports.len() as u64;
        let changed = (added.len() + removed.len()) as u64;
        let incremental = changed * kept.len() as u64 + n_all * fresh.len() as u64;
        let full_cost = n_all * (kept.len() + fresh.len()) as u64;
        let full = incremental >= full_cost && changed > 0;
        let mut pairs = 0;
        if full {
            self.channels.clear();
            let groups = self.groups(&new_reports);
            kept.append(&mut fresh);
            for c in &mut kept {
                c.support.clear();
                c.support.resize(self.channels.len(), 0);
            }
            pairs += count(&mut kept, &groups, false, self.threads, self.parallel_min_pairs);
        } else {
            let plus = self.groups(&added);
            let minus = self.groups(&removed);
            let all = if fresh.is_empty() { Vec::new() } else { self.groups(&new_reports) };
            for c in kept.iter_mut().chain(fresh.iter_mut()) {
                c.support.resize(self.channels.len(), 0);
            }
            pairs += count(&mut kept, &minus, true, self.threads, self.parallel_min_pairs);
            pairs += count(&mut kept, &plus, false, self.threads, self.parallel_min_pairs);
            pairs += count(&mut fresh, &all, false, self.threads, self.parallel_min_pairs);
            kept.append(&mut fresh);
            kept.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        for ch in &mut self.channels {
            ch.n = 0;
        }
        let mut reports = [0u64; 3];
        for r in &new_reports {
            let Report { bucket, g, e, .. } = r.report;
            let ch = self.channels.iter_mut().find(|ch| ch.signal == r.signal && ch.params.e() == e);
            if let Some(ch) = ch.filter(|ch| ch.params.g() == g && bucket < g) {
                ch.n += 1;
                reports[signal_index(r.signal)] += 1;
            }
        }
        self.candidates = kept;
        self.reports = new_reports;
        Update { reports, candidates: self.candidates.len() as u64, pairs, full }
    }

    /// Lays `reports` out by channel, creating channels as needed. Reports whose
    /// `g` does not match their `e` are skipped (the store returns none).
    fn groups(&mut self, reports: &[StoredReport]) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for r in reports {
            let (signal, Report { bucket, g, e, .. }) = (r.signal, r.report);
            let channel = match self.channels.iter().position(|ch| ch.signal == signal && ch.params.e() == e) {
                Some(i) => i,
                None => {
                    let params = Params::from_e(e);
                    if params.e() != e {
                        continue;
                    }
                    self.channels.push(Channel { signal, params, n: 0 });
                    self.channels.len() - 1
                }
            };
            if self.channels[channel].params.g() != g || bucket >= g {
                continue;
            }
            let gi = match groups.iter().position(|gr| gr.channel == channel) {
                Some(i) => i,
                None => {
                    groups.push(Group { channel, g: r.report.g, seeds: Vec::new(), buckets: Vec::new() });
                    groups.len() - 1
                }
            };
            groups[gi].seeds.push(r.report.seed);
            groups[gi].buckets.push(r.report.bucket);
        }
        groups
    }

    /// The estimate of each candidate, by item id.
    pub fn estimates_by_item(&self) -> impl Iterator<Item = (&str, Estimate)> + '_ {
        self.candidates.iter().map(|c| (c.id.as_str(), self.estimate(&c.support)))
    }

    /// The raw support count of `item` for `signal` (all ε together): how many
    /// reports "support" it before any de-biasing. `None` if it is not a candidate.
    pub fn raw_support(&self, item: &str, signal: Signal) -> Option<u64> {
        let c = self.candidates.binary_search_by(|c| c.id.as_str().cmp(item)).ok()?;
        let c = &self.candidates[c];
        Some(self.channels.iter().zip(&c.support).filter(|(ch, _)| ch.signal == signal).map(|(_, &s)| s as u64).sum())
    }

    /// Estimate and variance of one signal from a candidate's support counts.
    fn signal(&self, support: &[u32], signal: Signal) -> (f64, f64) {
        let chans = || self.channels.iter().zip(support).filter(move |(ch, _)| ch.signal == signal && ch.n > 0);
        let est: f64 = chans()
            .map(|(ch, &c)| {
                let (n, q) = (ch.n as f64, ch.params.q());
                (c as f64 - n * q) / (ch.params.p() - q)
            })
            .sum();
        (est, self.variance(signal, est))
    }

    /// Variance of a `signal` estimate whose true count is `f`, split across the ε
    /// channels in proportion to their sizes (as `ldp::Estimator::sd`).
    fn variance(&self, signal: Signal, f: f64) -> f64 {
        let total: u64 = self.channels.iter().filter(|ch| ch.signal == signal).map(|ch| ch.n).sum();
        if total == 0 {
            return 0.0;
        }
        self.channels
            .iter()
            .filter(|ch| ch.signal == signal && ch.n > 0)
            .map(|ch| ch.params.variance(f * ch.n as f64 / total as f64, ch.n as f64))
            .sum()
    }

    fn estimate(&self, support: &[u32]) -> Estimate {
        let (like, like_var) = self.signal(support, Signal::Like);
        let (unlike, unlike_var) = self.signal(support, Signal::Unlike);
        let (views, views_var) = self.signal(support, Signal::View);
        Estimate { likes: like - unlike, likes_sd: (like_var + unlike_var).sqrt(), views, views_sd: views_var.sqrt() }
    }

    /// Every candidate's estimate, and what passes `max(min_count, Z · sd)`.
    pub fn estimates(&self, min_count: u64) -> Estimates {
        let mut published = HashMap::new();
        for c in &self.candidates {
            let p = self.estimate(&c.support).published(min_count);
            if p != Published::default() {
                published.insert(c.id.clone(), p);
            }
        }
        let mut reports = [0u64; 3];
        for ch in &self.channels {
            reports[signal_index(ch.signal)] += ch.n;
        }
        let noise_sd = SIGNALS.map(|s| self.variance(s, 0.0).sqrt());
        Estimates { published, reports, noise_sd }
    }
}

/// Adds (or subtracts) the support of every report of `groups` to every candidate;
/// returns the number of pairs hashed.
fn count(cands: &mut [Candidate], groups: &[Group], subtract: bool, threads: usize, min_pairs: u64) -> u64 {
    let per_cand: u64 = groups.iter().map(|g| g.seeds.len() as u64).sum();
    let pairs = per_cand * cands.len() as u64;
    if pairs == 0 {
        return 0;
    }
    let threads = if pairs < min_pairs { 1 } else { threads.clamp(1, cands.len()) };
    if threads == 1 {
        count_chunk(cands, groups, subtract);
        return pairs;
    }
    // Parts are taken by whichever thread comes first, this one included: a thread
    // that cannot be started only leaves more parts to the others.
    let chunk = cands.len().div_ceil(threads * 4);
    let parts: Vec<Mutex<Option<&mut [Candidate]>>> = cands.chunks_mut(chunk).map(|p| Mutex::new(Some(p))).collect();
    let work = || {
        for p in &parts {
            let taken = p.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(part) = taken {
                count_chunk(part, groups, subtract);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            let _ = std::thread::Builder::new().name("vitrina-ldp".into()).spawn_scoped(s, work);
        }
        work();
    });
    pairs
}

fn count_chunk(cands: &mut [Candidate], groups: &[Group], subtract: bool) {
    for c in cands {
        for gr in groups {
            let n = support(c.hash, gr);
            let slot = &mut c.support[gr.channel];
            *slot = if subtract { slot.wrapping_sub(n) } else { slot.wrapping_add(n) };
        }
    }
}

/// How many reports of `gr` support the item whose hash is `h`.
fn support(h: u64, gr: &Group) -> u32 {
    gr.seeds.iter().zip(&gr.buckets).map(|(&s, &b)| (ldp::bucket(h, s, gr.g) == b) as u32).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrina::ldp::Estimator;

    /// SplitMix64, top half.
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

    fn items(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("SKU-{i:04}")).collect()
    }

    /// Reports over `items` (skewed towards the first ones), at the given ε values.
    fn reports(items: &[String], n: usize, eps: &[f64], seed: u64) -> Vec<StoredReport> {
        let mut r = rng(seed);
        (0..n)
            .map(|i| {
                let signal = SIGNALS[r() as usize % 3];
                let item = &items[(r() as usize % items.len()).min(r() as usize % items.len())];
                let report = ldp::report(item, eps[i % eps.len()], &mut r);
                StoredReport { id: ((r() as u64) << 32) | i as u64, signal, report }
            })
            .collect()
    }

    fn inputs(reports: &[StoredReport], candidates: &[String]) -> LdpInputs {
        LdpInputs { reports: reports.to_vec(), candidates: candidates.to_vec(), ..LdpInputs::default() }
    }

    fn supports(c: &Counter) -> Vec<(String, Vec<u64>)> {
        c.candidates
            .iter()
            .map(|cand| (cand.id.clone(), SIGNALS.iter().map(|&s| c.raw_support(&cand.id, s).unwrap()).collect()))
            .collect()
    }

    #[test]
    fn estimates_are_the_core_estimators() {
        let items = items(300);
        let reps = reports(&items, 3000, &[1.0, 2.0, 4.0, 4.0], 1);
        let mut c = Counter::with_threads(2);
        let u = c.update(inputs(&reps, &items));
        assert!(u.full && u.pairs == 3000 * 300, "{u:?}");
        assert_eq!(u.reports.iter().sum::<u64>(), 3000);
        let refs: Vec<&str> = items.iter().map(String::as_str).collect();
        let mut est: Vec<Estimator> = (0..3).map(|_| Estimator::new()).collect();
        for r in &reps {
            assert!(est[signal_index(r.signal)].add(&r.report));
        }
        let want: Vec<Vec<f64>> = est.iter().map(|e| e.estimate(&refs)).collect();
        let got: Vec<(&str, Estimate)> = c.estimates_by_item().collect();
        assert_eq!(got.len(), items.len());
        for (i, (id, e)) in got.iter().enumerate() {
            assert_eq!(*id, items[i]);
            assert!(
                (e.likes - (want[0][i] - want[1][i])).abs() < 1e-6,
                "{id}: {} vs {}",
                e.likes,
                want[0][i] - want[1][i]
            );
            assert!((e.views - want[2][i]).abs() < 1e-6, "{id}");
            let sd_like = est[0].sd(want[0][i]);
            let sd_unlike = est[1].sd(want[1][i]);
            assert!((e.likes_sd - (sd_like * sd_like + sd_unlike * sd_unlike).sqrt()).abs() < 1e-6, "{id}");
            assert!((e.views_sd - est[2].sd(want[2][i])).abs() < 1e-6, "{id}");
        }
        let all = c.estimates(5);
        for (s, e) in all.noise_sd.iter().zip(&est) {
            assert!((s - e.noise_sd()).abs() < 1e-9);
        }
        assert_eq!(all.reports, [0, 1, 2].map(|i| est[i].len() as u64));
    }

    #[test]
    fn updates_count_only_what_changed_and_agree_with_counting_again() {
        let items = items(400);
        let reps = reports(&items, 4000, &[2.0, 4.0], 2);
        // Several threads on the incremental side, one on the other.
        let mut inc = Counter::with_threads(3);
        inc.parallel_min_pairs = 0;
        inc.update(inputs(&reps[..3000], &items[..300]));

        // New reports and new candidates; some reports and candidates gone.
        let now_reports: Vec<StoredReport> = reps[200..].to_vec();
        let now_items: Vec<String> = items[50..].to_vec();
        let u = inc.update(inputs(&now_reports, &now_items));
        assert!(!u.full, "{u:?}");
        // Removed 200 and added 1000 reports against 250 kept candidates, all 3800
        // against 100 new ones.
        assert_eq!(u.pairs, 1200 * 250 + 3800 * 100);
        let mut again = Counter::with_threads(1);
        again.update(inputs(&now_reports, &now_items));
        assert_eq!(supports(&inc), supports(&again));
        let (a, b) = (inc.estimates(5), again.estimates(5));
        assert_eq!(a.published, b.published);
        assert_eq!(a.reports, b.reports);

        // Nothing new: nothing hashed.
        let u = inc.update(inputs(&now_reports, &now_items));
        assert_eq!((u.pairs, u.full), (0, false));
        // Everything new: counted again from scratch.
        let u = inc.update(inputs(&reps[..100], &now_items));
        assert!(u.full, "{u:?}");
        let mut again = Counter::with_threads(1);
        again.update(inputs(&reps[..100], &now_items));
        assert_eq!(supports(&inc), supports(&again));
        // And everything gone.
        inc.update(inputs(&[], &now_items));
        assert!(supports(&inc).iter().all(|(_, s)| s.iter().all(|&n| n == 0)));
        assert_eq!(inc.estimates(5).reports, [0; 3]);
    }

    #[test]
    fn only_estimates_well_above_their_noise_are_published() {
        assert_eq!(publishable(100.4, 20.0, 5), Some(100));
        assert_eq!(publishable(89.0, 20.0, 5), None, "below 4.5 sd");
        assert_eq!(publishable(4.6, 0.5, 5), None, "below min_count");
        assert_eq!(publishable(5.0, 0.5, 5), Some(5));
        assert_eq!(publishable(-50.0, 1.0, 5), None);
        assert_eq!(publishable(f64::NAN, 1.0, 5), None);
        assert_eq!(publishable(0.6, 0.0, 0), None, "min_count 0 still means at least 1");
    }

    #[test]
    fn collect_stores_only_exact_id_free_reports() {
        let mut r = rng(3);
        let report = ldp::report("SKU-1", 2.0, &mut r);
        let day = 1_699_920_000_000;
        let ok = ldp::to_event(&report, Signal::Like, day + 5000).with_id(42);
        assert_eq!(ok.ts, day);
        let zero = [0u8; 16];
        assert_eq!(check_incoming(&ok, &zero), Ok(()));
        // Props in another order are the same report.
        let mut shuffled = ok.clone();
        shuffled.props.reverse();
        assert_eq!(check_incoming(&shuffled, &zero), Ok(()));
        // Under a client id: refused.
        assert!(check_incoming(&ok, &[1u8; 16]).unwrap_err().contains("id-free"));
        // Anything more than the report: refused.
        let bad = [
            Event { item: Some("SKU-1".into()), ..ok.clone() },
            Event { url: Some("/p/SKU-1".into()), ..ok.clone() },
            Event { category: Some("shoes".into()), ..ok.clone() },
            Event { ts: day + 1, ..ok.clone() },
            Event { props: ok.props[..4].to_vec(), ..ok.clone() },
            Event { props: [ok.props.clone(), vec![("x".into(), "1".into())]].concat(), ..ok.clone() },
            Event { props: [ok.props.clone(), vec![("k".into(), "view".into())]].concat(), ..ok.clone() },
        ];
        for b in &bad {
            assert!(check_incoming(b, &zero).is_err(), "{b:?}");
        }
        // Other events are not this module's business.
        let other = Event { name: Some("newsletter".into()), ..Event::new(vitrina::event::Kind::Custom, day + 5) };
        assert_eq!(check_incoming(&other, &[1u8; 16]), Ok(()));
    }

    trait WithId {
        fn with_id(self, id: u64) -> Self;
    }
    impl WithId for Event {
        fn with_id(mut self, id: u64) -> Self {
            self.id = id;
            self
        }
    }
}
