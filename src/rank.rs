//! Ranking what this shopper wants next, on the device.
//!
//! [`rank`] combines the shopper's private session (item ids in click order) with
//! the public [`Model`]: every distinct session item gets a **position weight**
//! (`position_decay^t`, `t` = how many clicks ago it was last-but-`t`; an item
//! viewed several times adds its weights up), then each candidate scores
//!
//! ```text
//! score(j) = Σ_s weight(s) · neighbour_weight(s → j)      (the item-to-item lists)
//!          + repeat · weight(j)                            (already in the session)
//!          + popularity · popular_weight(j)                (a small prior)
//! ```
//!
//! The top `k` by score (ties by smaller id) are returned with a cheap
//! [`Reason`]: the one term that contributed most. When fewer than `k` items
//! score, popular items fill the rest (score 0), so a shopper the model knows
//! nothing about still gets the best sellers. Excluded items (the closure) are
//! never returned.
//!
//! Cost: one binary search and one pass per distinct session item over its list
//! (bounded by [`RankParams::max_items`] × the list length), one sort of the
//! candidates. No IO, no clock, no randomness: the same input gives the same
//! output, natively and in wasm. Scores are always finite: parameters are
//! clamped, and decoded model weights are bounded (see [`crate::model::MAX_SCALE`]).

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

/// Reusable scratch space for ranking many sessions without reallocating.
#[derive(Debug, Default)]
pub struct Ranker {
    weights: Vec<(u32, f32, f32)>,
    cands: Vec<Cand>,
}

/// Ranks the top `k` items for `session` (see the module docs), never returning
/// an item for which `exclude` is true.
pub fn rank(session: &[u32], model: &Model, k: usize, params: &RankParams, exclude: &dyn Fn(u32) -> bool) -> Vec<Ranked> {
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
        self.weights.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        self.weights.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 += later.1;
                kept.2 += later.2;
                true
            } else {
                false
            }
        });

        let cands = &mut self.cands;
        cands.clear();
        for &(s, ws, rs) in &self.weights {
            if ws > 0.0 {
                if let Some((nbr, wt)) = model.neighbours(s) {
                    for (&n, &wn) in nbr.iter().zip(wt) {
                        let v = ws * wn;
                        cands.push(Cand { item: n, score: v, best: v, why: Reason::Viewed(s) });
                    }
                }
            }
            if repeat > 0.0 && rs > 0.0 {
                let v = repeat * rs;
                cands.push(Cand { item: s, score: v, best: v, why: Reason::Again });
            }
        }
        if popularity > 0.0 {
            for &(p, wp) in model.popular() {
                let v = popularity * wp;
                cands.push(Cand { item: p, score: v, best: v, why: Reason::Popular });
            }
        }

        // Merge duplicates: sum scores, keep the reason of the largest contribution.
        // The full order makes the summation order (hence the floats) deterministic.
        cands.sort_unstable_by(|a, b| {
            a.item.cmp(&b.item).then(b.best.total_cmp(&a.best)).then(reason_key(a.why).cmp(&reason_key(b.why)))
        });
        let mut n = 0usize;
        for r in 0..cands.len() {
            let c = cands[r];
            if n > 0 && cands[n - 1].item == c.item {
                // Sorted by best descending within an item: the first one keeps the reason.
                cands[n - 1].score += c.score;
            } else {
                cands[n] = c;
                n += 1;
            }
        }
        cands.truncate(n);
        cands.retain(|c| c.score > 0.0 && c.score.is_finite() && !exclude(c.item));

        if cands.len() > k {
            cands.select_nth_unstable_by(k - 1, better);
            cands.truncate(k);
        }
        cands.sort_unstable_by(better);
        out.extend(cands.iter().map(|c| Ranked { item: c.item, score: c.score, reason: c.why }));

        // Fill with popular items the shopper has not been given yet.
        if out.len() < k {
            let mut given: Vec<u32> = out.iter().map(|r| r.item).collect();
            given.sort_unstable();
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
