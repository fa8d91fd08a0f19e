//! Ranking what this shopper wants next, on the device.
//!
//! [`rank`] combines the shopper's private session (item ids in click order) with
//! the public [`Model`]. Each distinct session item `s` gets two weights from the
//! clicks on it, `t` being how many clicks ago (the last click has `t = 0`; an
//! item viewed several times adds its clicks up):
//!
//! - a **position weight** `weight(s) = Σ position_decay^t`: how much its
//!   neighbours count (recent clicks say most about what comes next);
//! - a **repeat weight** `again(s) = Σ repeat_decay^t`: how likely the shopper
//!   goes back to it (re-visits are frequent and reach further back).
//!
//! Then each candidate `j` scores
//!
//! ```text
//! score(j) = Σ_s weight(s) · neighbour_weight(s → j)     (the item-to-item lists)
//!          + repeat · again(j)                            (already in the session)
//!          + popularity · popular_weight(j)               (a small prior)
//! ```
//!
//! The top `k` by score (ties by smaller id) are returned with a cheap
//! [`Reason`]: the one term that contributed most ("because you viewed X").
//! When fewer than `k` items score, popular items fill the rest (score 0), so a
//! shopper the model knows nothing about still gets the best sellers. Excluded
//! items (the closure) are never returned. Session items the model does not know
//! still get the repeat boost (a new product the shopper viewed is a real item);
//! a slot that should not show viewed items excludes them.
//!
//! The browser's slots ([`crate::recommend`]) compute the same scores for what a
//! slot can show without this module (`recommend::model_scores`, checked against
//! [`rank`] by a test), which keeps it out of the wasm; the server's offline
//! evaluation uses it.
//!
//! Cost: one binary search and one pass per distinct session item over its list
//! (bounded by [`RankParams::max_items`] × the list length), accumulated in a
//! small hash table; then a selection of the top `k`. On Diginetica with the
//! default parameters: median 1.9 µs per case natively, a mean of 6–8 µs in wasm
//! (`opt-level = "z"`, V8). No IO, no clock, no randomness: the same input gives
//! the same output, natively and in wasm. Scores are always finite: parameters
//! are clamped, and decoded model weights are bounded (see
//! [`crate::model::MAX_SCALE`]).

use crate::model::Model;

/// How the session and the model are combined. Defaults are tuned on Diginetica
/// (see `server/src/eval.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct RankParams {
    /// Only the last this many clicks of the session are used.
    pub max_items: usize,
    /// Weight factor per click of age (the last click weighs 1).
    pub position_decay: f32,
    /// Boost of items already in the session, times their repeat weight.
    pub repeat: f32,
    /// Repeat weight factor per click of age (re-views reach further back than
    /// what predicts the next item).
    pub repeat_decay: f32,
    /// Weight of the popularity prior (popular weights are in (0, 1]).
    pub popularity: f32,
}

impl Default for RankParams {
    fn default() -> Self {
        RankParams { max_items: 20, position_decay: 0.6, repeat: 2.5, repeat_decay: 0.8, popularity: 0.0 }
    }
}

/// Why an item was recommended: the term that contributed most to its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// "Because you viewed" this session item.
    Viewed(u32),
    /// The shopper already viewed this item in the session.
    Again,
    /// Popular with everyone.
    Popular,
}

/// One recommendation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked {
    /// Item id.
    pub item: u32,
    /// Score: finite, non-negative; 0 for popular fill-ins.
    pub score: f32,
    /// Why.
    pub reason: Reason,
}

#[derive(Clone, Copy, Debug)]
struct Cand {
    item: u32,
    score: f32,
    /// The largest single contribution, and where it came from.
    best: f32,
    why: Reason,
    /// Where it sits in the accumulation table.
    slot: u32,
}

fn reason_key(r: Reason) -> (u8, u32) {
    match r {
        Reason::Viewed(x) => (0, x),
        Reason::Again => (1, 0),
        Reason::Popular => (2, 0),
    }
}

/// Orders by score descending, then id ascending (total and deterministic).
fn better(a: &Cand, b: &Cand) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.item.cmp(&b.item))
}

fn clamp_param(v: f32, max: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, max)
    } else {
        0.0
    }
}

/// Sorts by a total order. Natively the standard library's sort; in the wasm a
/// Shell sort, which is a few hundred bytes instead of several KB of pattern-
/// defeating quicksort and is fast enough for the hundreds of candidates a
/// slot ranks. Both give the same order for a total order.
#[allow(unused_mut)] // `cmp` is only called mutably in the wasm branch.
fn sort_by<T: Copy>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        v.sort_unstable_by(cmp);
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut gap = v.len() / 2;
        while gap > 0 {
            for i in gap..v.len() {
                let x = v[i];
                let mut j = i;
                while j >= gap && cmp(&v[j - gap], &x) == std::cmp::Ordering::Greater {
                    v[j] = v[j - gap];
                    j -= gap;
                }
                v[j] = x;
            }
            gap = if gap == 2 { 1 } else { gap * 5 / 11 };
        }
    }
}

/// Reusable scratch space for ranking many sessions without reallocating.
#[derive(Debug, Default)]
pub struct Ranker {
    weights: Vec<(u32, f32, f32)>,
    cands: Vec<Cand>,
    /// Hash table of indexes into `cands` (`EMPTY` when free); kept all-free
    /// between calls.
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

/// The accumulation table of one ranking call.
struct Acc<'a> {
    slots: &'a mut Vec<u32>,
    cands: &'a mut Vec<Cand>,
}

impl Acc<'_> {
    fn slot(&self, item: u32) -> usize {
        let mask = self.slots.len().wrapping_sub(1);
        let mut h = (item.wrapping_mul(0x9E37_79B1) as usize) & mask;
        loop {
            match self.slots.get(h) {
                Some(&i) if i != EMPTY && self.cands.get(i as usize).is_some_and(|c| c.item != item) => {
                    h = (h + 1) & mask;
                }
                _ => return h,
            }
        }
    }

    /// Adds one contribution: sums the score; the largest single contribution
    /// names the reason (ties: session items, then "again", then popular).
    fn add(&mut self, item: u32, v: f32, why: Reason) {
        let h = self.slot(item);
        let Some(slot) = self.slots.get_mut(h) else { return };
        if *slot == EMPTY {
            *slot = self.cands.len() as u32;
            self.cands.push(Cand { item, score: v, best: v, why, slot: h as u32 });
        } else if let Some(c) = self.cands.get_mut(*slot as usize) {
            c.score += v;
            if v > c.best || (v == c.best && reason_key(why) < reason_key(c.why)) {
                c.best = v;
                c.why = why;
            }
        }
    }

    /// Frees the slots used by this call.
    fn reset(&mut self) {
        for c in self.cands.iter() {
            if let Some(s) = self.slots.get_mut(c.slot as usize) {
                *s = EMPTY;
            }
        }
    }
}

/// Ranks the top `k` items for `session` (see the module docs), never returning
/// an item for which `exclude` is true.
pub fn rank(
    session: &[u32],
    model: &Model,
    k: usize,
    params: &RankParams,
    exclude: &dyn Fn(u32) -> bool,
) -> Vec<Ranked> {
    Ranker::default().rank(session, model, k, params, exclude)
}

impl Ranker {
    /// Like [`rank`], reusing this ranker's buffers.
    pub fn rank(
        &mut self,
        session: &[u32],
        model: &Model,
        k: usize,
        params: &RankParams,
        exclude: &dyn Fn(u32) -> bool,
    ) -> Vec<Ranked> {
        let mut out = Vec::with_capacity(k.min(1024));
        self.rank_into(session, model, k, params, exclude, &mut out);
        out
    }

    /// Like [`rank`], writing into `out` (cleared first).
    pub fn rank_into(
        &mut self,
        session: &[u32],
        model: &Model,
        k: usize,
        params: &RankParams,
        exclude: &dyn Fn(u32) -> bool,
        out: &mut Vec<Ranked>,
    ) {
        out.clear();
        if k == 0 {
            return;
        }
        let decay = clamp_param(params.position_decay, 1.0);
        let repeat = clamp_param(params.repeat, 1.0e6);
        let repeat_decay = clamp_param(params.repeat_decay, 1.0);
        let popularity = clamp_param(params.popularity, 1.0e6);
        let max_items = params.max_items.clamp(1, 1000);

        // Distinct session items with their summed position weights.
        let tail = &session[session.len().saturating_sub(max_items)..];
        self.weights.clear();
        let (mut w, mut rw) = (1.0f32, 1.0f32);
        for &it in tail.iter().rev() {
            self.weights.push((it, w, rw));
            w *= decay;
            rw *= repeat_decay;
        }
        sort_by(&mut self.weights, |a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        self.weights.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 += later.1;
                kept.2 += later.2;
                true
            } else {
                false
            }
        });

        // Candidates are accumulated in an open-addressing table (linear probing)
        // sized for every contribution: no sorting of contributions, O(1) each.
        let mut bound = self.weights.len() + if popularity > 0.0 { model.popular().len() } else { 0 };
        for &(s, ws, _) in &self.weights {
            if ws > 0.0 {
                bound += model.neighbours(s).map_or(0, |(n, _)| n.len());
            }
        }
        let want = (bound * 2).next_power_of_two().max(16);
        if self.slots.len() < want {
            self.slots = vec![EMPTY; want];
        }
        let mut acc = Acc { slots: &mut self.slots, cands: &mut self.cands };
        acc.cands.clear();
        for &(s, ws, rs) in &self.weights {
            if ws > 0.0 {
                if let Some((nbr, wt)) = model.neighbours(s) {
                    for (&n, &wn) in nbr.iter().zip(wt) {
                        acc.add(n, ws * wn, Reason::Viewed(s));
                    }
                }
            }
            if repeat > 0.0 && rs > 0.0 {
                acc.add(s, repeat * rs, Reason::Again);
            }
        }
        if popularity > 0.0 {
            for &(p, wp) in model.popular() {
                acc.add(p, popularity * wp, Reason::Popular);
            }
        }
        acc.reset();
        let cands = &mut self.cands;
        cands.retain(|c| c.score > 0.0 && c.score.is_finite() && !exclude(c.item));

        #[cfg(not(target_arch = "wasm32"))]
        if cands.len() > k {
            cands.select_nth_unstable_by(k - 1, better);
            cands.truncate(k);
        }
        sort_by(cands, better);
        cands.truncate(k);
        out.extend(cands.iter().map(|c| Ranked { item: c.item, score: c.score, reason: c.why }));

        // Fill with popular items the shopper has not been given yet.
        if out.len() < k {
            let mut given: Vec<u32> = out.iter().map(|r| r.item).collect();
            sort_by(&mut given, |a, b| a.cmp(b));
            for &(p, _) in model.popular() {
                if out.len() >= k {
                    break;
                }
                if given.binary_search(&p).is_err() && !exclude(p) {
                    out.push(Ranked { item: p, score: 0.0, reason: Reason::Popular });
                    if let Err(pos) = given.binary_search(&p) {
                        given.insert(pos, p);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BuildParams, ModelBuilder};

    fn ids(r: &[Ranked]) -> Vec<u32> {
        r.iter().map(|r| r.item).collect()
    }

    fn no(_: u32) -> bool {
        false
    }

    /// Only the signal under test: no recency, no popularity, no repeat boost.
    fn plain() -> BuildParams {
        BuildParams {
            forward: 1.0,
            backward: 0.0,
            decay: 0.5,
            cooccur: 0.0,
            pair_max: false,
            source_norm: 0.0,
            target_norm: 0.0,
            shrink: 0.0,
            recency_half_life: 0.0,
            popular_half_life: 0.0,
            ..BuildParams::default()
        }
    }

    fn no_repeat() -> RankParams {
        RankParams { repeat: 0.0, popularity: 0.0, ..RankParams::default() }
    }

    struct Fixture {
        name: &'static str,
        train: &'static [&'static [u32]],
        build: fn() -> BuildParams,
        rank: fn() -> RankParams,
        session: &'static [u32],
        expect: &'static [u32],
    }

    /// One fixture per signal: training sessions, the session to rank, the
    /// expected order of the top of the ranking.
    const FIXTURES: &[Fixture] = &[
        Fixture {
            name: "transitions: what follows more often ranks first",
            train: &[&[1, 2], &[1, 2], &[1, 3]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[2, 3],
        },
        Fixture {
            name: "transitions: forward beats backward",
            train: &[&[1, 2], &[3, 1]],
            build: || BuildParams { backward: 0.5, ..plain() },
            rank: no_repeat,
            session: &[1],
            expect: &[2, 3],
        },
        Fixture {
            name: "transitions: backward only when asked for",
            train: &[&[1, 2], &[3, 1]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[2],
        },
        Fixture {
            name: "transitions: the next click beats a later one",
            train: &[&[1, 4, 2], &[1, 3]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[3, 4, 2],
        },
        Fixture {
            name: "sequence only: a far pair counts little",
            train: &[&[1, 9, 9, 9, 9, 2], &[1, 9, 9, 9, 9, 2], &[1, 9, 9, 9, 9, 2], &[1, 3]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[9, 3, 2],
        },
        Fixture {
            name: "co-occurrence: pairs within the window count whatever the distance",
            train: &[&[1, 9, 9, 9, 9, 2], &[1, 9, 9, 9, 9, 2], &[1, 9, 9, 9, 9, 2], &[1, 3]],
            build: || BuildParams { forward: 0.0, cooccur: 1.0, pair_max: true, ..plain() },
            rank: no_repeat,
            session: &[1],
            expect: &[2, 9, 3],
        },
        Fixture {
            name: "normalization: an item that follows everything is damped",
            // 2 follows 1 twice but follows everything; 3 follows 1 once and nothing else.
            train: &[&[1, 2], &[1, 2], &[1, 3], &[4, 2], &[5, 2], &[6, 2], &[7, 2], &[8, 2], &[10, 2], &[11, 2]],
            build: || BuildParams { target_norm: 1.0, ..plain() },
            rank: no_repeat,
            session: &[1],
            expect: &[3, 2],
        },
        Fixture {
            name: "normalization off: the frequent follower wins",
            train: &[&[1, 2], &[1, 2], &[1, 3], &[4, 2], &[5, 2], &[6, 2], &[7, 2], &[8, 2], &[10, 2], &[11, 2]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[2, 3],
        },
        Fixture {
            name: "recency: recent sessions outweigh older ones",
            train: &[&[1, 2], &[1, 2], &[1, 2], &[1, 3], &[1, 3]],
            build: || BuildParams { recency_half_life: 1.0, ..plain() },
            rank: no_repeat,
            session: &[1],
            expect: &[3, 2],
        },
        Fixture {
            name: "recency off: counts decide",
            train: &[&[1, 2], &[1, 2], &[1, 2], &[1, 3], &[1, 3]],
            build: plain,
            rank: no_repeat,
            session: &[1],
            expect: &[2, 3],
        },
        Fixture {
            name: "position: the last click weighs most",
            train: &[&[10, 11], &[20, 21]],
            build: plain,
            rank: no_repeat,
            session: &[10, 20],
            expect: &[21, 11],
        },
        Fixture {
            name: "position: a repeated item counts each time",
            train: &[&[10, 11], &[20, 21]],
            build: plain,
            rank: no_repeat,
            session: &[10, 10, 10, 20],
            expect: &[11, 21],
        },
        Fixture {
            name: "position: items agreeing add up",
            train: &[&[5, 12], &[10, 12], &[20, 12], &[30, 31]],
            build: plain,
            rank: no_repeat,
            session: &[5, 10, 20, 30],
            expect: &[12, 31],
        },
        Fixture {
            name: "repeat boost: items already viewed come back first",
            train: &[&[10, 11], &[20, 21]],
            build: plain,
            rank: || RankParams { repeat: 10.0, popularity: 0.0, ..RankParams::default() },
            session: &[10, 20],
            expect: &[20, 10, 21, 11],
        },
        Fixture {
            name: "popularity: fallback for unknown items",
            train: &[&[1, 2], &[3, 2], &[4, 2], &[5, 6], &[7, 6], &[8, 9]],
            build: plain,
            rank: no_repeat,
            session: &[12345],
            expect: &[2, 6],
        },
        Fixture {
            name: "popularity: an unknown item the shopper viewed still comes back first",
            train: &[&[1, 2], &[3, 2], &[4, 2], &[5, 6], &[7, 6], &[8, 9]],
            build: plain,
            rank: RankParams::default,
            session: &[12345],
            expect: &[12345, 2, 6],
        },
        Fixture {
            name: "popularity: fills after the neighbours",
            train: &[&[1, 2], &[3, 2], &[4, 2], &[5, 6], &[7, 6], &[8, 9]],
            build: plain,
            rank: no_repeat,
            session: &[8],
            expect: &[9, 2, 6],
        },
    ];

    #[test]
    fn fixtures_give_the_expected_orders() {
        for f in FIXTURES {
            let model = ModelBuilder::from_sessions(f.train, (f.build)());
            let got = rank(f.session, &model, f.expect.len(), &(f.rank)(), &no);
            assert_eq!(ids(&got), f.expect, "{}: {got:?}", f.name);
        }
    }

    #[test]
    fn reasons_name_the_strongest_contribution() {
        let model = ModelBuilder::from_sessions(&[[10u32, 11], [20, 21]], plain());
        let p = RankParams { repeat: 10.0, ..no_repeat() };
        let r = rank(&[10, 20], &model, 5, &p, &no);
        let why = |item: u32| r.iter().find(|x| x.item == item).map(|x| x.reason);
        assert_eq!(why(21), Some(Reason::Viewed(20)));
        assert_eq!(why(11), Some(Reason::Viewed(10)));
        assert_eq!(why(20), Some(Reason::Again));
        let r = rank(&[999], &model, 2, &no_repeat(), &no);
        assert!(r.iter().all(|x| x.reason == Reason::Popular && x.score == 0.0));
    }

    #[test]
    fn exclusion_removes_items_and_fills_from_popular() {
        let model = ModelBuilder::from_sessions(&[[1u32, 2], [1, 3], [4, 2], [5, 6]], plain());
        let p = RankParams::default();
        let all = rank(&[1], &model, 10, &p, &no);
        assert!(ids(&all).contains(&2));
        let ex = |i: u32| i == 2 || i == 1;
        let r = rank(&[1], &model, 10, &p, &ex);
        assert!(!ids(&r).contains(&2) && !ids(&r).contains(&1));
        assert_eq!(r.first().map(|x| x.item), Some(3));
        assert!(rank(&[1], &model, 10, &p, &|_| true).is_empty());
        assert!(rank(&[1], &model, 0, &p, &no).is_empty());
        assert!(rank(&[], &Model::default(), 5, &p, &no).is_empty());
    }

    #[test]
    fn absurd_parameters_still_give_finite_scores() {
        let model = ModelBuilder::from_sessions(&[[1u32, 2, 3], [2, 3, 4]], BuildParams::default());
        for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0, 0.0, 1e30] {
            let p = RankParams { max_items: usize::MAX, position_decay: v, repeat: v, repeat_decay: v, popularity: v };
            let r = rank(&[1, 2, 3, 2, 1], &model, 10, &p, &no);
            assert!(!r.is_empty());
            assert!(r.iter().all(|x| x.score.is_finite() && x.score >= 0.0), "{v}: {r:?}");
        }
    }

    /// Checks the invariants of one ranking call; used by both property tests.
    pub(crate) fn check(model: &Model, session: &[u32], k: usize, p: &RankParams, banned: &[u32]) {
        let ex = |i: u32| banned.contains(&i);
        let a = rank(session, model, k, p, &ex);
        let mut ranker = Ranker::default();
        let _ = ranker.rank(&[7, 7, 3], model, 3, p, &no); // dirty the scratch space
        let b = ranker.rank(session, model, k, p, &ex);
        assert_eq!(a, b, "deterministic, whatever the scratch state");
        assert!(a.len() <= k);
        let mut seen: Vec<u32> = ids(&a);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), a.len(), "no duplicates");
        for w in a.windows(2) {
            assert!(w[0].score >= w[1].score, "descending: {a:?}");
        }
        for r in &a {
            assert!(r.score.is_finite() && r.score >= 0.0);
            assert!(!banned.contains(&r.item), "excluded {} returned", r.item);
            if let Reason::Viewed(s) = r.reason {
                assert!(session.contains(&s));
            }
        }
    }

    #[test]
    fn random_sessions_keep_the_invariants() {
        use crate::model::tests::{random_sessions, XorShift};
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..40 {
            let (n, items) = (50 + rng.below(200) as usize, 5 + rng.below(60));
            let train = random_sessions(&mut rng, n, items);
            let bp = BuildParams {
                neighbours: 1 + rng.below(20) as usize,
                window: 1 + rng.below(6) as usize,
                pair_max: round % 2 == 0,
                ..BuildParams::default()
            };
            let model = ModelBuilder::from_sessions(&train, bp);
            let model = if round % 3 == 0 { Model::decode(&model.encode()).unwrap() } else { model };
            for _ in 0..25 {
                let session: Vec<u32> = (0..rng.below(30)).map(|_| rng.below(80) as u32).collect();
                let banned: Vec<u32> = (0..rng.below(10)).map(|_| rng.below(80) as u32).collect();
                let p = RankParams {
                    max_items: rng.below(40) as usize,
                    position_decay: rng.below(100) as f32 / 100.0,
                    repeat: rng.below(5) as f32,
                    repeat_decay: rng.below(100) as f32 / 100.0,
                    popularity: rng.below(3) as f32 / 10.0,
                };
                check(&model, &session, rng.below(30) as usize, &p, &banned);
            }
        }
    }
}

/// Property tests with proptest (native only; the seeded loop above also runs in wasm).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::tests::check;
    use super::*;
    use crate::model::{BuildParams, ModelBuilder};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn rank_invariants(
            train in proptest::collection::vec(proptest::collection::vec(0u32..50, 0..12), 0..80),
            session in proptest::collection::vec(0u32..60, 0..40),
            banned in proptest::collection::vec(0u32..60, 0..8),
            k in 0usize..40,
            decay in 0.0f32..1.0,
            repeat in 0.0f32..10.0,
            popularity in 0.0f32..1.0,
            window in 1usize..8,
            pair_max in any::<bool>(),
        ) {
            let model = ModelBuilder::from_sessions(&train, BuildParams { window, pair_max, ..BuildParams::default() });
            let p = RankParams { position_decay: decay, repeat, popularity, ..RankParams::default() };
            check(&model, &session, k, &p, &banned);
            let decoded = Model::decode(&model.encode()).unwrap();
            prop_assert_eq!(rank(&session, &decoded, k, &p, &|_| false), rank(&session, &model, k, &p, &|_| false));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = b"VTM\x01".to_vec();
            b.extend_from_slice(&bytes);
            if let Ok(m) = Model::decode(&b) {
                let r = rank(&[1, 2, 3], &m, 10, &RankParams::default(), &|_| false);
                prop_assert!(r.iter().all(|x| x.score.is_finite()));
            }
            let _ = Model::decode(&bytes);
        }
    }
}
