//! Filling recommendation slots on the device.
//!
//! Inputs, at three levels of data: the items the page knows (marked up, or from
//! a catalogue feed the shop points to), the shopper's profile, and — where the
//! shop runs one — the public item-to-item model, fetched shard by shard. Each
//! level only adds signal: with the page alone, slots rank by the shopper's
//! category, brand and price-band interests and by popularity; a catalogue widens
//! the choice; the model adds "people who looked at this looked at that".
//!
//! The key design decision is that a slot can only show items the page can draw
//! (name, image, link): the model speaks in item ids, and ids that the catalogue
//! does not know are skipped rather than shown half-empty. Shops map SKUs to
//! model ids with [`sku_id`] (FNV-1a, 32 bits), on the server and here alike.
//!
//! ## Ranking cost
//!
//! A catalogue may hold [`MAX_ITEMS`] items, so ranking a slot must not cost a
//! string comparison, an allocation or a scan of the profile's lists per item:
//!
//! - What scoring reads of an item is worked out once, when
//!   [`Recommender::add_item`] brings or changes it: its category path
//!   interned as a node of a tree of levels ("shoes/running" is "running" under
//!   "shoes"), its brand interned, its price band.
//! - Per call, the shopper's interests (at most 96) are looked up once per
//!   name, not per item: a category node's interest is its levels' summed from
//!   the top (likeness to an anchor likewise: the levels it shares). The
//!   exclusions (cart, purchases, session, anchor) are marked from the
//!   profile's short lists. The model's scores come from the seeds' neighbour
//!   lists (see `model_scores`). Then one pass of a few integer lookups per
//!   item gives every score.
//! - The pick with diversity scans the candidates (the items with a score
//!   above 0) once per item shown, a multiplication and a comparison each
//!   (see `pick`). It ran among a preselection of the best `8 × limit` before,
//!   with a check that no item left out could have won each round: faster on
//!   large catalogues (below), but about 1 KB of gzipped wasm, which the size
//!   round of docs/size.md traded for this.
//!
//! The result is the same, to the bit, as scoring and scanning every item as
//! before (tests compare the pick and the model's scores with the full
//! computations). Median time to rank one slot of 8, before and after
//! (`cargo run --release --example rank_bench`, native, minimum of 3 runs on a
//! shared 2-core machine):
//!
//! | items  | slot             |   before |   after |
//! |-------:|------------------|---------:|--------:|
//! |    200 | for-you          | 0.049 ms | 0.016 ms |
//! |    200 | similar          | 0.025 ms | 0.007 ms |
//! |    200 | bought-together  | 0.021 ms | 0.007 ms |
//! |    200 | trending         | 0.017 ms | 0.005 ms |
//! |    200 | cart-complements | 0.028 ms | 0.009 ms |
//! |  2,000 | for-you          | 0.399 ms | 0.041 ms |
//! |  2,000 | similar          | 0.216 ms | 0.023 ms |
//! |  2,000 | bought-together  | 0.170 ms | 0.021 ms |
//! |  2,000 | trending         | 0.143 ms | 0.019 ms |
//! |  2,000 | cart-complements | 0.170 ms | 0.023 ms |
//! | 20,000 | for-you          | 4.279 ms | 0.189 ms |
//! | 20,000 | similar          | 2.544 ms | 0.227 ms |
//! | 20,000 | bought-together  | 2.312 ms | 0.129 ms |
//! | 20,000 | trending         | 1.882 ms | 0.131 ms |
//! | 20,000 | cart-complements | 1.948 ms | 0.154 ms |
//!
//! The same shop in wasm (`opt-level = "z"`, V8 in Node 20), 20,000 items:
//! 0.31 to 0.47 ms per slot (5 to 14 ms before). Harder catalogues of 20,000
//! items, natively: every score equal, or popularity 0 to 3 in 1 to 3
//! categories, 0.10 to 0.14 ms (limit 8 or 50); popularity rising along the
//! catalogue, so that every item enters the preselection, 0.23 to 0.55 ms.
//!
//! With the pick scanning the candidates (the size round), natively, on the
//! same machine: 200 items 0.003 to 0.014 ms, 2,000 items 0.024 to 0.045 ms,
//! 20,000 items 0.25 to 0.37 ms for a slot of 8 (about 0.2 ms more than with
//! the preselection where every item is a candidate); a slot of 50 costs about
//! six times that scan.

use crate::model::Model;
use crate::profile::{self, Profile};
use crate::rank::RankParams;

/// The model id of a SKU: 32-bit FNV-1a of its UTF-8 bytes.
pub fn sku_id(sku: &str) -> u32 {
    fnv(0x811c_9dc5, sku)
}

/// FNV-1a of `s` continuing from the state `h`.
fn fnv(mut h: u32, s: &str) -> u32 {
    // By index: `bytes()` kept its iterator in memory in the wasm (177 B).
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        h = (h ^ b[i] as u32).wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

/// An item the page can show, as [`Recommender::add_item`] takes it (it keeps
/// the SKU, and of the rest what ranking reads, worked out).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Item<'a> {
    /// SKU.
    pub sku: &'a str,
    /// Category path.
    pub category: Option<&'a str>,
    /// Brand.
    pub brand: Option<&'a str>,
    /// Price in hundredths.
    pub price: Option<i64>,
    /// Whether it can be bought now.
    pub in_stock: bool,
    /// Public popularity (any non-negative scale; the feed's recent activity).
    pub popularity: f32,
    /// Whether the server says it is trending.
    pub trending: bool,
}

/// The kinds of slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Personal picks from the session and interests.
    ForYou,
    /// Items like the anchor item.
    Similar,
    /// Items bought or viewed together with what is in the cart (or the anchor).
    BoughtTogether,
    /// What is rising now.
    Trending,
    /// Items from other categories that complete the cart.
    CartComplements,
}

impl Slot {
    /// Parses a slot name as used in `data-vitrina-slot`.
    pub fn parse(s: &str) -> Option<Slot> {
        Some(match s {
            "for-you" => Slot::ForYou,
            "similar" => Slot::Similar,
            "bought-together" => Slot::BoughtTogether,
            "trending" => Slot::Trending,
            "cart-complements" => Slot::CartComplements,
            _ => return None,
        })
    }
}

/// The shop's rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// Items always shown first, in this order (when they pass the exclusions).
    pub pins: Vec<String>,
    /// Category prefixes and multipliers: above 1 boosts, below 1 buries.
    pub boosts: Vec<(String, f32)>,
    /// Show items bought more than this many days ago again (0: never).
    pub buy_again_days: u32,
}

/// Why an item is shown: the text (an [`i18n`](crate::i18n) key) and the
/// catalogue item it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Why {
    /// The text: an index in [`WHY`].
    pub key: u8,
    /// The catalogue index of the item the text names (by its name; for
    /// `why-interest`, the last level of its category), or [`NONE`].
    pub arg: u32,
}

/// The texts of reasons ([`Why::key`]), as [`i18n`](crate::i18n) text numbers
/// (of the keys `why-popular`, `why-because-viewed`, ...). The first, "popular",
/// is also what an item has when no other reason applies.
pub const WHY: [u8; 7] = {
    use crate::i18n::key;
    [
        key("why-popular") as u8,
        key("why-because-viewed") as u8,
        key("why-similar-to") as u8,
        key("why-goes-with") as u8,
        key("why-completes") as u8,
        key("why-interest") as u8,
        key("why-trending") as u8,
    ]
};
const POPULAR: u8 = 0;
const BECAUSE_VIEWED: u8 = 1;
const SIMILAR_TO: u8 = 2;
const GOES_WITH: u8 = 3;
const COMPLETES: u8 = 4;
const INTEREST: u8 = 5;
const TRENDING: u8 = 6;
/// No item named (see [`Why::arg`]).
pub const NONE: u32 = u32::MAX;
const NO_REASON: Why = Why { key: POPULAR, arg: NONE };
/// The reason of an item the model reached, while it is scored; then of one
/// among the best 200 ([`KEPT`]).
const REACHED: u8 = u8::MAX;
const KEPT: u8 = u8::MAX - 1;

/// One recommendation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rec {
    /// Index in the catalogue.
    pub index: usize,
    /// Score (for tests and debugging).
    pub score: f32,
    /// Why.
    pub why: Why,
}

/// One interned name: a level of a category path (`text` under the level
/// `up`, [`NONE`] at the top), or a brand (under [`BRAND`]). The other fields
/// are the last ranking's work on it.
#[derive(Debug)]
struct Node {
    up: u32,
    text: Box<str>,
    /// Interest (summed down the levels of a category), or how many levels a
    /// category shares with the anchor's.
    num: f64,
    /// As a diversity key: items shown, the factor that makes (0.7 per item).
    shown: u32,
    factor: f32,
}

/// What a brand's node is under.
const BRAND: u32 = NONE - 1;

/// Interned names: the levels of category paths as a tree ("shoes/running" is
/// "running" under "shoes"), and brands. Ids are indexes in `nodes`; a level
/// always comes after the level above it.
#[derive(Debug, Default)]
struct Names {
    nodes: Vec<Node>,
    /// (FNV-1a of the text from a state seeded with `up`, id), sorted.
    index: Vec<(u32, u32)>,
}

impl Names {
    /// The id of `text` under `up`, interned when `add` ([`NONE`]: unknown).
    fn id(&mut self, up: u32, text: &str, add: bool) -> u32 {
        let h = fnv(0x811c_9dc5 ^ up, text);
        let at = lower(&self.index, h);
        for &(eh, j) in &self.index[at..] {
            let n = &self.nodes[j as usize];
            if eh != h {
                break;
            }
            if n.up == up && *n.text == *text {
                return j;
            }
        }
        if !add {
            return NONE;
        }
        let j = self.nodes.len() as u32;
        self.nodes.push(Node { up, text: text.into(), num: 0.0, shown: 0, factor: 1.0 });
        insert(&mut self.index, at, (h, j));
        j
    }

    /// Interns node `j` of these names, and the levels above it, in `to`:
    /// `map` holds the ids given so far ([`NONE`]: none yet). [`NONE`] and
    /// [`BRAND`] stay as they are.
    fn copy(&self, j: u32, to: &mut Names, map: &mut [u32]) -> u32 {
        let Some(n) = self.nodes.get(j as usize) else { return j };
        if map[j as usize] == NONE {
            let up = self.copy(n.up, to, map);
            map[j as usize] = to.id(up, &n.text, true);
        }
        map[j as usize]
    }

    /// The node of the last level of a category path ([`NONE`]: unknown),
    /// every level interned when `add`.
    fn path(&mut self, path: &str, add: bool) -> u32 {
        let (b, mut j, mut from) = (path.as_bytes(), NONE, 0);
        // A plain loop (no RangeInclusive iterator): up to and with `b.len()`.
        let mut i = 0;
        loop {
            if i == b.len() || b[i] == b'/' {
                j = self.id(j, path.get(from..i).unwrap_or(""), add);
                if j == NONE || i == b.len() {
                    break;
                }
                from = i + 1;
            }
            i += 1;
        }
        j
    }
}

/// What ranking reads of an item, kept in step with it by [`Recommender::add_item`]
/// and [`Recommender::set_popularity`], and its price.
#[derive(Clone, Copy, Debug)]
struct Feat {
    /// Its model id ([`sku_id`]).
    id: u32,
    /// The node of its category's last level, or [`NONE`].
    cat: u32,
    /// Its brand's node, or [`NONE`].
    brand: u32,
    /// Its price band, or [`NO_BAND`].
    band: u8,
    /// Its price in hundredths, or [`NO_PRICE`].
    price: i64,
    in_stock: bool,
    trending: bool,
    popularity: f32,
    /// Excluded by the profile's lists in the ranking under way (false
    /// between rankings).
    skip: bool,
    /// The ranking under way: its score and reason.
    sc: (f32, Why),
    /// The ranking under way: its best contribution from the model.
    top: f32,
}

const NO_BAND: u8 = u8::MAX;
const NO_PRICE: i64 = i64::MIN;

/// A candidate: (score, id, catalogue index).
type Cand = (f32, u32, u32);

/// Whether `a` ranks below `b`: lower score, or the same and a larger id.
fn worse(a: &Cand, b: &Cand) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
}

/// Offers `c` to `best`, the `cap` best candidates best first (by [`worse`]).
fn keep(best: &mut Vec<Cand>, cap: usize, c: Cand) {
    if best.len() < cap || worse(&best[cap - 1], &c) {
        // After those not worse, found by halving: a linear search here (62 B
        // less gzip) made a for-you slot over 20,000 items 0.2 ms slower in wasm.
        let (mut lo, mut hi) = (0, best.len());
        while lo < hi {
            let m = (lo + hi) / 2;
            if worse(&best[m], &c) {
                hi = m;
            } else {
                lo = m + 1;
            }
        }
        insert(best, lo, c);
        best.truncate(cap);
    }
}

/// Step 5 of [`Recommender::recommend`], after the pins: adds to `out`, up to
/// `limit`, the candidates (a finite score above 0 in `feat`) of highest value,
/// first index on equal values. The value
/// is the score times 0.7 per item of the same diversity key (the category
/// node, or `no_cat` without one) picked before (the nodes come with none
/// shown and a factor of 1: `recommend` resets them). Each round scans the
/// candidates, gathered once in `best` (a pick's score there becomes 0).
fn pick(out: &mut Vec<Rec>, limit: usize, feat: &[Feat], nodes: &mut [Node], best: &mut Vec<Cand>, no_cat: u32) {
    // The candidates, in catalogue order: (score, index, key).
    best.clear();
    for (i, f) in feat.iter().enumerate() {
        if f.sc.0 > 0.0 && f.sc.0 < f32::INFINITY {
            best.push((f.sc.0, i as u32, if f.cat == NONE { no_cat } else { f.cat }));
        }
    }
    while out.len() < limit {
        // The first of the highest values: (value, index, key), and where.
        let (mut w, mut at) = ((0.0, NONE, 0), 0);
        for (j, c) in best.iter().enumerate() {
            let v = c.0 * nodes[c.2 as usize].factor;
            if c.0 > 0.0 && (w.1 == NONE || v > w.0) {
                (w, at) = ((v, c.1, c.2), j);
            }
        }
        let (Some(k), Some(f)) = (nodes.get_mut(w.2 as usize), feat.get(w.1 as usize)) else { break };
        best[at].0 = 0.0;
        k.shown += 1;
        k.factor = 0.7f32.powi(k.shown as i32);
        out.push(Rec { index: w.1 as usize, score: w.0, why: f.sc.1 });
    }
}

/// Step 1 of [`Recommender::recommend`]: the model's scores for `seeds`, as
/// [`rank`](crate::rank::rank) gives them with the default [`RankParams`] and
/// the seeds and items the catalogue lacks excluded — the sum over seeds of
/// position weight times neighbour weight, the best 200 by score then id —
/// each divided by the best (returned: see [`relative`]), with the reason
/// `key` naming the seed that contributed most. Only what a slot can show is computed: no repeat boost
/// (seeds are excluded) and no popular fill-ins (they score 0). The same
/// operations in the same order give the same floats (a test checks).
fn model_scores(feat: &mut [Feat], best: &mut Vec<Cand>, by_id: &[(u32, u32)], model: &[Model], seeds: &[u32]) -> f32 {
    let p = RankParams::default();
    // The distinct seeds of the last `max_items`, by id, with their position
    // weights summed (the most recent first): (weight, id, 0), in `best`
    // until the cut.
    let weights = &mut *best;
    weights.clear();
    let mut w = 1.0f32;
    for &s in seeds.iter().rev().take(p.max_items) {
        let at = weights.iter().position(|e| e.1 >= s).unwrap_or(weights.len());
        match weights.get_mut(at) {
            Some(e) if e.1 == s => e.0 += w,
            _ => insert(weights, at, (w, s, 0)),
        }
        w *= p.position_decay;
    }
    for &(ws, s, _) in weights.iter() {
        // Per item reached: `sc` holds the sum, its reason the key [`REACHED`]
        // and the catalogue index of the seed of its best contribution, `top`
        // that contribution.
        let Some((nbr, wt)) = neighbours(model, s) else { continue };
        let src = find(by_id, s);
        for (&n, &wn) in nbr.iter().zip(wt) {
            let v = ws * wn;
            let Some(f) = feat.get_mut(find(by_id, n) as usize).filter(|_| !has(seeds, n)) else { continue };
            if f.sc.1.key != REACHED {
                (f.sc, f.top) = ((v, Why { key: REACHED, arg: src }), v);
            } else {
                f.sc.0 += v;
                // Seeds come by id: on a tie the first, smallest, stays.
                if v > f.top {
                    (f.top, f.sc.1.arg) = (v, src);
                }
            }
        }
    }
    // The best 200 are [`KEPT`]; the others stay [`REACHED`], as if not
    // reached (see [`relative`]).
    best.clear();
    for (i, f) in feat.iter().enumerate() {
        let c = f.sc;
        if c.1.key == REACHED && c.0 > 0.0 && c.0 < f32::INFINITY {
            keep(best, 200, (c.0, f.id, i as u32));
        }
    }
    for b in best.iter() {
        feat[b.2 as usize].sc.1.key = KEPT;
    }
    best.first().map_or(1.0, |c| c.0).max(1e-6)
}

/// An item's model score and reason after [`model_scores`], which gave `top`:
/// for one of the best 200 ([`KEPT`]) relative to the best, with the reason
/// `key`; else none (what the last ranking left in the item is not read).
fn relative(sc: (f32, Why), top: f32, key: u8) -> (f32, Why) {
    if sc.1.key == KEPT {
        (0.0 + sc.0 / top, Why { key, arg: sc.1.arg })
    } else {
        (0.0, NO_REASON)
    }
}

/// The device's recommender: the catalogue the page knows, the model shards
/// fetched so far, and reusable ranking buffers.
#[derive(Debug, Default)]
pub struct Recommender {
    /// The SKUs of the items the page knows.
    skus: Vec<String>,
    /// What ranking reads of each item.
    feat: Vec<Feat>,
    /// Category levels and brands.
    names: Names,
    /// How many names there were after interning every item afresh.
    fresh: usize,
    /// (model id, catalogue index), sorted by id.
    by_id: Vec<(u32, u32)>,
    /// The public model: the head and the shards fetched, as decoded (see
    /// [`Recommender::add_model`]).
    model: Vec<Model>,
    /// Rules.
    pub rules: Rules,
    /// The best of the model's scores, then the candidates of the pick:
    /// reused from call to call.
    best: Vec<Cand>,
}

/// The most items a [`Recommender`] holds; further new items are ignored.
pub const MAX_ITEMS: usize = 20_000;

/// Whether `v` holds `x` (smaller in the wasm than the standard library's
/// `contains`, unrolled for speed).
#[allow(clippy::manual_contains)]
fn has(v: &[u32], x: u32) -> bool {
    v.iter().any(|&y| y == x)
}

/// The neighbour list of `id` in the model's parts: the last part's that has
/// one, as [`Model::merge`] would have combined them.
fn neighbours(model: &[Model], id: u32) -> Option<(&[u32], &[f32])> {
    let mut k = model.len();
    while k > 0 {
        k -= 1;
        if let Some(l) = model[k].neighbours(id) {
            return Some(l);
        }
    }
    None
}

/// `v.insert(i, x)` for the plain pairs and candidates here: a reserve and one
/// move (the standard one's checked moves are instantiated per type, about
/// 110 B each in the wasm); `i` past the end still panics.
fn insert<T: Copy>(v: &mut Vec<T>, i: usize, x: T) {
    let len = v.len();
    assert!(i <= len);
    v.reserve(1);
    // SAFETY: `i <= len` and room for one more was reserved: the tail moves up
    // by one and `x` is written in the gap (`T: Copy`: nothing to drop).
    unsafe {
        let p = v.as_mut_ptr().add(i);
        core::ptr::copy(p, p.add(1), len - i);
        core::ptr::write(p, x);
        v.set_len(len + 1);
    }
}

/// Where `h` goes in `v`, sorted by its first field: the first place not
/// below it (`by_id` and the names' index, so one function for both).
fn lower(v: &[(u32, u32)], h: u32) -> usize {
    let (mut lo, mut hi) = (0, v.len());
    while lo < hi {
        let m = (lo + hi) / 2;
        if v[m].0 < h {
            lo = m + 1;
        } else {
            hi = m;
        }
    }
    lo
}

/// The catalogue index of a model id ([`NONE`]: not in the catalogue).
fn find(by_id: &[(u32, u32)], id: u32) -> u32 {
    match by_id.get(lower(by_id, id)) {
        Some(&(x, i)) if x == id => i,
        _ => NONE,
    }
}

/// The catalogue index of a SKU ([`NONE`]: not in the catalogue).
fn find_sku(by_id: &[(u32, u32)], skus: &[String], sku: &str) -> u32 {
    let i = find(by_id, sku_id(sku));
    match skus.get(i as usize) {
        Some(s) if s == sku => i,
        _ => NONE,
    }
}

impl Recommender {
    /// Adds or updates an item (data already on the page wins over nothing).
    /// What ranking needs of it (its category levels and brand, interned) is
    /// worked out here, once.
    pub fn add_item(&mut self, item: Item) -> Option<usize> {
        let id = sku_id(item.sku);
        let p = lower(&self.by_id, id);
        let i = match self.by_id.get(p) {
            Some(&(x, i)) if x == id => {
                if self.skus[i as usize] != item.sku {
                    return None;
                }
                i as usize
            }
            _ => {
                let i = self.skus.len();
                if i >= MAX_ITEMS {
                    return None;
                }
                insert(&mut self.by_id, p, (id, i as u32));
                self.skus.push(item.sku.into());
                let (popularity, trending) = (item.popularity, item.trending);
                self.feat.push(Feat { id, cat: NONE, brand: NONE, band: NO_BAND, price: NO_PRICE, in_stock: false, trending, popularity, skip: false, sc: (0.0, NO_REASON), top: 0.0 });
                i
            }
        };
        // Field by field: what the new data says, else what was known.
        let f = &mut self.feat[i];
        if let Some(c) = item.category {
            f.cat = self.names.path(c, true);
        }
        if let Some(b) = item.brand {
            f.brand = self.names.id(BRAND, b, true);
        }
        if let Some(p) = item.price {
            (f.price, f.band) = (p, profile::price_band(p) as u8);
        }
        f.in_stock = item.in_stock;
        f.popularity = item.popularity.max(f.popularity);
        f.trending |= item.trending;
        // Names no item uses any more pile up when items keep changing category
        // or brand: once they could be half, intern afresh those in use (no id
        // is kept from one ranking to the next).
        if self.names.nodes.len() > 2 * self.fresh + 4096 {
            let old = core::mem::take(&mut self.names);
            let mut map = vec![NONE; old.nodes.len()];
            for f in self.feat.iter_mut() {
                f.cat = old.copy(f.cat, &mut self.names, &mut map);
                f.brand = old.copy(f.brand, &mut self.names, &mut map);
            }
            self.fresh = self.names.nodes.len();
        }
        Some(i)
    }

    /// Takes in a part of the public model (the head or a shard). A later
    /// part's list of an item replaces an earlier one's, as [`Model::merge`]
    /// would: the parts are kept as they are, which keeps the merging out of
    /// the wasm (the recommender reads only the lists).
    pub fn add_model(&mut self, m: Model) {
        self.model.push(m);
    }

    /// The SKU of the item at a catalogue index (the order they came in).
    pub fn sku(&self, i: usize) -> &str {
        &self.skus[i]
    }

    /// The catalogue index of a SKU.
    pub fn index_of(&self, sku: &str) -> Option<usize> {
        let i = find_sku(&self.by_id, &self.skus, sku);
        (i != NONE).then_some(i as usize)
    }

    /// Sets an item's public popularity (from the server's feed).
    pub fn set_popularity(&mut self, sku: &str, popularity: f32, trending: bool) {
        if let Some(i) = self.index_of(sku) {
            let f = &mut self.feat[i];
            f.popularity = if popularity.is_finite() { popularity.max(0.0) } else { 0.0 };
            f.trending = trending;
        }
    }

    /// The model shards the ranking of this profile (and `anchor`) would read,
    /// among `n_shards`, that are not loaded yet: those of the last 20 items of
    /// the session (most recent first), the cart, then `anchor`.
    pub fn shards_needed(&self, profile: &Profile, anchor: Option<&str>, n_shards: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut add = |sku: &str| {
            let id = sku_id(sku);
            let s = crate::model::shard_of(id, n_shards);
            if neighbours(&self.model, id).is_none() && !has(&out, s) {
                out.push(s);
            }
        };
        // The last 20 of the session, most recent first (by index: no
        // Rev<Take> iterator in the wasm).
        let items = &profile.session.items;
        let mut k = items.len();
        while k > items.len().saturating_sub(20) {
            k -= 1;
            add(&items[k]);
        }
        for l in &profile.cart {
            add(&l.item);
        }
        if let Some(a) = anchor {
            add(a);
        }
        out
    }

    /// Ranks a slot. `anchor` is the item a `similar` slot is about (or the
    /// product of the page).
    ///
    /// The score of an item sums 1. the model, 2. content (interests, or
    /// likeness to the anchor) and 3. popularity; then 4. rules and exclusions,
    /// and 5. the pick: pins first, then the best scores with diversity. Steps
    /// 2 to 4 are one pass over the catalogue of a few lookups per item; see the
    /// module docs for the cost.
    pub fn recommend(&mut self, slot: Slot, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config) -> Vec<Rec> {
        let mut out: Vec<Rec> = Vec::new();
        if self.skus.is_empty() || limit == 0 {
            return out;
        }
        // The diversity key of an item without a category: category "".
        let no_cat = self.names.id(NONE, "", true);
        let Recommender { skus, feat, names, by_id, model, rules, best, .. } = self;
        let ix = |sku: &str| find_sku(by_id, skus, sku);
        let anchor_ix = anchor.map_or(NONE, ix);
        let cart = &profile.cart;
        let (for_you, similar) = (slot == Slot::ForYou, slot == Slot::Similar);

        // 1. The model: "people who looked at this looked at that", seeded by
        //    the session (for-you), the anchor (similar), the cart or else the
        //    anchor (bought-together, cart-complements).
        let mut seeds: Vec<u32> = Vec::new();
        let mut key = BECAUSE_VIEWED;
        let session: &[String] = if for_you { &profile.session.items } else { &[] };
        if for_you {
            for sku in &session[session.len().saturating_sub(20)..] {
                seeds.push(sku_id(sku));
            }
        } else if slot != Slot::Trending {
            key = if similar { SIMILAR_TO } else if slot == Slot::CartComplements { COMPLETES } else { GOES_WITH };
            if !similar && !cart.is_empty() {
                for l in cart {
                    seeds.push(sku_id(&l.item));
                }
            } else if let Some(a) = anchor {
                seeds.push(sku_id(a));
            }
        }
        // Scores relative to what can be shown: the seeds themselves (every
        // slot excludes them) and what the page cannot draw are skipped.
        let top = if seeds.is_empty() { 1.0 } else { model_scores(feat, best, by_id, model, &seeds) };

        // 2. Content: the shopper's interests, or likeness to the anchor. Only
        //    for-you and similar use it (it weighs nothing in the other slots).
        //    Worked out per name, not per item: `num` of a category node is the
        //    interests of its levels summed from the top (as an item's levels
        //    were added one by one), of a brand its interest, `bands` per price
        //    band; or, for likeness, how many leading levels a category shares
        //    with the anchor's (its own levels numbered from the top first).
        let like = feat.get(anchor_ix as usize).copied().filter(|_| similar);
        let content = for_you || similar;
        let mut bands = [0f64; 11];
        let mut levels = 0.0;
        for x in names.nodes.iter_mut() {
            (x.num, x.shown, x.factor) = (0.0, 0, 1.0);
        }
        let up = |nodes: &[Node], j: u32| nodes.get(j as usize).map_or(NONE, |x| x.up);
        if let Some(a) = like {
            let mut j = a.cat;
            while j != NONE {
                levels += 1.0;
                j = up(&names.nodes, j);
            }
            let (mut j, mut l) = (a.cat, levels);
            while let Some(x) = names.nodes.get_mut(j as usize) {
                (x.num, j, l) = (l, x.up, l - 1.0);
            }
        } else if content {
            let interests = profile.top("", 96, now, cfg);
            let max = interests.iter().fold(0f64, |m, x| m.max(x.1)).max(1e-9);
            // Backwards, so that the first of equal keys wins.
            for (k, v) in interests.iter().rev() {
                let (b, v) = (k.as_bytes(), *v / max);
                let rest = k.get(2..).unwrap_or("");
                let j = match b.get(..2) {
                    Some(b"c:") => names.path(rest, false),
                    Some(b"b:") => names.id(BRAND, rest, false),
                    _ => NONE,
                };
                if let Some(x) = names.nodes.get_mut(j as usize) {
                    x.num = v;
                } else if b.len() == 3 && b[0] == b'p' && b[1] == b':' && b[2].wrapping_sub(b'a') < 11 {
                    bands[(b[2] - b'a') as usize] = v;
                }
            }
        }
        // (Rules: the categories boosted.)
        // (In `best`, free until the pick: (factor, node, 0).)
        let boosts = best;
        boosts.clear();
        for (prefix, m) in &rules.boosts {
            let j = names.path(prefix, false);
            if j != NONE {
                boosts.push((if m.is_finite() { m.max(0.0) } else { 1.0 }, j, 0));
            }
        }
        let nodes = &mut names.nodes;
        for j in 0..nodes.len() {
            let up = nodes.get(nodes[j].up as usize).map_or(0.0, |x| x.num);
            // With an anchor, the levels it shares keep their number.
            let x = &mut nodes[j].num;
            if like.is_none() || *x == 0.0 {
                *x += up;
            }
        }
        let nodes = &*nodes;
        let num = |j: u32| nodes.get(j as usize).map_or(0.0, |x| x.num);

        // 3. Popularity: a small prior everywhere, the whole score for trending
        //    (where an item the feed does not call trending is just popular).
        let max_pop = feat.iter().fold(0f32, |m, f| m.max(f.popularity)).max(1e-6);

        // 4. Rules and exclusions. The profile's lists are marked once, in the
        //    items (the first purchase of an item decides whether it may be
        //    bought again); for cart complements, the top levels of the cart's
        //    categories too.
        let top_of = |mut j: u32| {
            while up(nodes, j) != NONE {
                j = up(nodes, j);
            }
            j
        };
        // Backwards, so that the first purchase of an item writes last.
        for (sku, t) in profile.purchases.iter().rev() {
            if let Some(f) = feat.get_mut(ix(sku) as usize) {
                let days = rules.buy_again_days as u64;
                f.skip = days == 0 || now.saturating_sub(*t) <= days * 86_400_000;
            }
        }
        let mut tops: Vec<u32> = Vec::new();
        for l in cart {
            if let Some(f) = feat.get_mut(ix(&l.item) as usize) {
                f.skip = true;
                if slot == Slot::CartComplements && f.cat != NONE {
                    tops.push(top_of(f.cat));
                }
            }
        }
        for sku in session {
            if let Some(f) = feat.get_mut(ix(sku) as usize) {
                f.skip = true;
            }
        }
        if let Some(f) = feat.get_mut(anchor_ix as usize) {
            f.skip = true;
        }
        for (i, f) in feat.iter_mut().enumerate() {
            let (mut x, mut why) = relative(f.sc, top, key);
            let excluded = core::mem::take(&mut f.skip);
            if content {
                // A term that does not apply adds 0 (no sum here is -0).
                let c = match like {
                    Some(a) => {
                        let c = if a.cat != NONE { num(f.cat) / levels } else { 0.0 };
                        let b = if a.brand != NONE && a.brand == f.brand { 0.3 } else { 0.0 };
                        (c + b + if a.band != NO_BAND && a.band == f.band { 0.2 } else { 0.0 }) / 1.5
                    }
                    None => ((num(f.cat) + 0.5 * num(f.brand) + 0.3 * bands.get(f.band as usize).unwrap_or(&0.0)) / 2.0).min(1.0),
                } as f32
                    * 0.5;
                if c > x && why.key == POPULAR {
                    why = if like.is_some() {
                        Why { key: SIMILAR_TO, arg: anchor_ix }
                    } else {
                        Why { key: INTEREST, arg: if f.cat == NONE { NONE } else { i as u32 } }
                    };
                }
                x += c;
            }
            let p = f.popularity / max_pop;
            if slot == Slot::Trending {
                x = if f.trending { 1.0 + p } else { p };
                if f.trending && x > 0.0 {
                    why.key = TRENDING;
                }
            } else {
                x += 0.1 * p;
            }
            if excluded || !f.in_stock || (!tops.is_empty() && has(&tops, top_of(f.cat))) {
                x = f32::NEG_INFINITY;
            } else {
                for &(m, b, _) in boosts.iter() {
                    let mut j = f.cat;
                    while j != NONE && j != b {
                        j = up(nodes, j);
                    }
                    if j == b {
                        x *= m;
                    }
                }
            }
            f.sc = (x, why);
        }

        // 5. Pick: pins first, then best scores with diversity — each further
        //    item from an already shown category (its diversity key; an item
        //    without one counts as category "") counts for less.
        for pin in &rules.pins {
            let i = ix(pin);
            if let Some(s) = feat.get_mut(i as usize).map(|f| &mut f.sc) {
                // A pin shown already has a score of -inf.
                if s.0.is_finite() && out.len() < limit {
                    out.push(Rec { index: i as usize, score: s.0, why: NO_REASON });
                    s.0 = f32::NEG_INFINITY;
                }
            }
        }
        pick(&mut out, limit, feat, &mut names.nodes, boosts, no_cat);
        out
    }

    /// Ranks a slot (see [`Slot::parse`]; none for an unknown slot) for the
    /// glue, which holds the items' names, images and links and builds the
    /// page's objects from this: a JSON array of `[index, named, price,
    /// reason]` per item shown: its catalogue index; what goes where the
    /// reason has `{x}`: the catalogue index of the item whose name (else SKU)
    /// it gives, or the last level of a category, as text (the glue shows
    /// "running-shoes" as "running shoes"), or null; its price in hundredths,
    /// or null; the reason, as the number of its text ([`WHY`], an
    /// [`i18n::key`](crate::i18n::key)), which the glue asks for in the page's
    /// language. A text with `{x}` and nothing to name is the plain "popular"
    /// one.
    pub fn answer(&mut self, slot: &str, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config) -> String {
        use crate::json::{push_i64, push_u64};
        let mut out = String::from("[");
        if let Some(kind) = Slot::parse(slot) {
            for rec in &self.recommend(kind, anchor, limit, profile, now, cfg) {
                if out.len() > 1 {
                    out.push(',');
                }
                out.push('[');
                push_u64(&mut out, rec.index as u64);
                out.push(',');
                let Why { mut key, arg } = rec.why;
                if arg != NONE && key == INTEREST {
                    // The last level of the item's own category.
                    let leaf = &self.names.nodes[self.feat[arg as usize].cat as usize].text;
                    crate::json::push_str(&mut out, leaf);
                } else if arg != NONE {
                    push_u64(&mut out, arg as u64);
                } else {
                    out.push_str("null");
                    // Only the texts between "popular" and "trending" have an
                    // `{x}` (a test checks); without a name, "popular".
                    if key != TRENDING {
                        key = POPULAR;
                    }
                }
                out.push(',');
                match self.feat[rec.index].price {
                    NO_PRICE => out.push_str("null"),
                    p => push_i64(&mut out, p),
                }
                out.push(',');
                push_u64(&mut out, WHY[key as usize] as u64);
                out.push(']');
            }
        }
        out.push(']');
        out
    }
}

/// The recommender before the size round, as the reference of `tests`.
#[cfg(test)]
#[path = "recommend_old.rs"]
mod old;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Kind};

    const T: u64 = 1_700_000_000_000;

    #[test]
    fn keep_keeps_what_partition_point_kept() {
        let mut x: u64 = 11;
        for cap in [1usize, 3, 200] {
            let (mut mine, mut std): (Vec<Cand>, Vec<Cand>) = (Vec::new(), Vec::new());
            for i in 0..5_000u32 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Few distinct scores and ids: many ties on both.
                let c = (((x >> 40) % 50) as f32 / 7.0, ((x >> 20) % 300) as u32, i);
                keep(&mut mine, cap, c);
                if std.len() < cap || worse(&std[cap - 1], &c) {
                    std.insert(std.partition_point(|y| !worse(y, &c)), c);
                    std.truncate(cap);
                }
                assert_eq!(mine, std);
            }
        }
    }

    #[test]
    fn fnv_is_the_fnv_of_before() {
        fn old_fnv(mut h: u32, s: &str) -> u32 {
            for b in s.bytes() {
                h ^= b as u32;
                h = h.wrapping_mul(0x0100_0193);
            }
            h
        }
        let mut x: u64 = 3;
        for n in 0..20_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let s: String = (0..(x >> 58) as u32).map(|k| char::from_u32(((x >> (k % 40)) as u32 ^ k) % 0x800).unwrap_or('x')).collect();
            assert_eq!(fnv(n.wrapping_mul(0x9e37_79b1), &s), old_fnv(n.wrapping_mul(0x9e37_79b1), &s), "{s:?}");
        }
        // The published value: FNV-1a 32 of "a".
        assert_eq!(sku_id("a"), 0xe40c_292c);
    }

    #[test]
    fn shards_needed_take_the_last_20_most_recent_first() {
        let r = shop();
        for n in [0usize, 1, 19, 20, 21, 45] {
            let ev: Vec<String> = (0..n).map(|k| ["S", &crate::json::itoa(k as u64 * 7 % 60)].concat()).collect();
            let mut evs: Vec<(Kind, &str, &str)> = ev.iter().map(|s| (Kind::ProductView, s.as_str(), "a/b")).collect();
            evs.push((Kind::CartAdd, "C9", "a"));
            let p = profile_of(&evs);
            // The previous walk: an iterator chain.
            let mut want: Vec<u32> = Vec::new();
            let skus = p.session.items.iter().rev().take(20).chain(p.cart.iter().map(|l| &l.item)).map(|s| s.as_str()).chain(Some("R1"));
            for sku in skus {
                let s = crate::model::shard_of(sku_id(sku), 16);
                if neighbours(&r.model, sku_id(sku)).is_none() && !want.contains(&s) {
                    want.push(s);
                }
            }
            assert_eq!(r.shards_needed(&p, Some("R1"), 16), want, "{n}");
        }
    }

    #[test]
    fn path_interns_what_it_did_before() {
        fn old_path(n: &mut Names, path: &str, add: bool) -> u32 {
            let (b, mut j, mut from) = (path.as_bytes(), NONE, 0);
            for i in 0..=b.len() {
                if i == b.len() || b[i] == b'/' {
                    j = n.id(j, path.get(from..i).unwrap_or(""), add);
                    if j == NONE {
                        break;
                    }
                    from = i + 1;
                }
            }
            j
        }
        let (mut a, mut b) = (Names::default(), Names::default());
        let mut x: u64 = 17;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let p: String = (0..(x >> 60) as usize).map(|k| ["a", "b", "/", "", "\u{e9}", "/"][x.rotate_right(4 * k as u32 + 8) as usize % 6]).collect();
            let add = !(x >> 3).is_multiple_of(3);
            assert_eq!(a.path(&p, add), old_path(&mut b, &p, add), "{p:?}");
            assert_eq!((a.nodes.len(), &a.index), (b.nodes.len(), &b.index));
        }
        assert!(a.nodes.len() > 20);
    }

    #[test]
    fn insert_does_what_vec_insert_does() {
        let mut x: u64 = 7;
        let (mut a, mut b): (Vec<Cand>, Vec<Cand>) = (Vec::new(), Vec::new());
        let (mut c, mut d) = (Vec::<(u32, u32)>::new(), Vec::<(u32, u32)>::new());
        for n in 0..20_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % (a.len() + 1);
            insert(&mut a, i, (n as f32 / 3.0, n, (x >> 7) as u32));
            b.insert(i, (n as f32 / 3.0, n, (x >> 7) as u32));
            let j = (x >> 20) as usize % (c.len() + 1);
            insert(&mut c, j, (n, (x >> 3) as u32));
            d.insert(j, (n, (x >> 3) as u32));
            if n % 997 == 0 {
                a.truncate(n as usize % 50);
                b.truncate(n as usize % 50);
            }
            assert_eq!(a, b);
            assert_eq!(c, d);
        }
        let len = c.len();
        assert!(std::panic::catch_unwind(move || insert(&mut c, len + 1, (0, 0))).is_err());
    }

    fn item<'a>(sku: &'a str, cat: &'a str, brand: &'a str, price: i64) -> Item<'a> {
        Item {
            sku,
            category: Some(cat),
            brand: Some(brand),
            price: Some(price),
            in_stock: true,
            ..Item::default()
        }
    }

    fn shop() -> Recommender {
        let mut r = Recommender::default();
        for (s, c, b, p) in [
            ("R1", "shoes/running", "Stride", 8990),
            ("R2", "shoes/running", "Stride", 9990),
            ("R3", "shoes/running", "Cairn", 12990),
            ("T1", "shoes/trail", "Cairn", 11990),
            ("J1", "apparel/jackets", "Northwind", 22900),
            ("J2", "apparel/jackets", "Northwind", 19900),
            ("B1", "bags/backpacks", "Cairn", 7990),
            ("C1", "camping/tents", "Lumo", 29900),
        ] {
            r.add_item(item(s, c, b, p));
        }
        r
    }

    fn profile_of(events: &[(Kind, &str, &str)]) -> Profile {
        let cfg = profile::Config::default();
        let mut p = Profile::default();
        for (k, (kind, sku, cat)) in events.iter().enumerate() {
            let e = Event {
                item: Some((*sku).into()),
                category: Some((*cat).into()),
                qty: Some(1),
                ..Event::new(*kind, T + k as u64)
            };
            p.touch_session(e.ts, 1);
            p.apply(&e, None, &cfg);
        }
        p
    }

    fn skus(r: &Recommender, recs: &[Rec]) -> Vec<String> {
        recs.iter().map(|x| r.sku(x.index).to_string()).collect()
    }

    #[test]
    fn for_you_follows_the_category_being_browsed_without_a_model() {
        let mut r = shop();
        let cfg = profile::Config::default();
        let p = profile_of(&[(Kind::ProductView, "J1", "apparel/jackets")]);
        let recs = r.recommend(Slot::ForYou, None, 3, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "J2", "{recs:?}");
        // The reason names the last level of the item's own category.
        assert_eq!((WHY[recs[0].why.key as usize] as usize, recs[0].why.arg as usize), (crate::i18n::key("why-interest"), recs[0].index));
        // Browsing running shoes moves it.
        let p = profile_of(&[(Kind::ProductView, "J1", "apparel/jackets"), (Kind::ProductView, "R1", "shoes/running"), (Kind::ProductView, "R2", "shoes/running")]);
        let recs = r.recommend(Slot::ForYou, None, 2, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "R3", "viewed items are not recommended back: {recs:?}");
    }

    #[test]
    fn the_model_names_the_item_that_led_there() {
        let mut r = shop();
        let cfg = profile::Config::default();
        r.add_model(Model::from_lists(vec![(sku_id("R1"), vec![(sku_id("B1"), 1.0), (sku_id("UNKNOWN"), 2.0)])], vec![]));
        let p = profile_of(&[(Kind::ProductView, "R1", "shoes/running")]);
        let recs = r.recommend(Slot::ForYou, None, 3, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "B1");
        assert_eq!((WHY[recs[0].why.key as usize] as usize, recs[0].why.arg as usize), (crate::i18n::key("why-because-viewed"), r.index_of("R1").unwrap()));
        assert!(!skus(&r, &recs).contains(&"UNKNOWN".to_string()), "items the page cannot draw are skipped");
    }

    #[test]
    fn exclusions_rules_and_diversity() {
        let mut r = shop();
        let cfg = profile::Config::default();
        r.add_item(Item { sku: "R3", in_stock: false, ..Item::default() });
        assert!(!r.feat[r.index_of("R3").unwrap()].in_stock);
        let p = profile_of(&[(Kind::ProductView, "R1", "shoes/running"), (Kind::CartAdd, "R2", "shoes/running")]);
        let got = r.recommend(Slot::ForYou, None, 8, &p, T + 10, &cfg);
        let recs = skus(&r, &got);
        for gone in ["R1", "R2", "R3"] {
            assert!(!recs.contains(&gone.to_string()), "{gone} in {recs:?}");
        }
        // Burying shoes and pinning a tent.
        r.rules.boosts.push(("shoes".into(), 0.0));
        r.rules.pins.push("C1".into());
        let got = r.recommend(Slot::ForYou, None, 3, &p, T + 10, &cfg);
        let recs = skus(&r, &got);
        assert_eq!(recs[0], "C1");
        assert!(!recs.contains(&"T1".to_string()), "{recs:?}");
        // Similar: same leaf category first, then the same top level.
        r.rules = Rules::default();
        let got = r.recommend(Slot::Similar, Some("J1"), 2, &Profile::default(), T, &cfg);
        let recs = skus(&r, &got);
        assert_eq!(recs[0], "J2");
        // Cart complements come from other top-level categories than the cart.
        r.add_model(Model::from_lists(vec![(sku_id("R2"), vec![(sku_id("R1"), 3.0), (sku_id("B1"), 1.0)])], vec![]));
        let got = r.recommend(Slot::CartComplements, None, 3, &p, T + 10, &cfg);
        let recs = skus(&r, &got);
        assert_eq!(recs.first().map(String::as_str), Some("B1"), "{recs:?}");
        assert!(recs.iter().all(|s| !s.starts_with('R') && s != "T1"), "{recs:?}");
    }

    #[test]
    fn trending_uses_only_what_the_feed_says() {
        let mut r = shop();
        let cfg = profile::Config::default();
        assert!(r.recommend(Slot::Trending, None, 4, &Profile::default(), T, &cfg).is_empty(), "nothing invented");
        r.set_popularity("C1", 10.0, true);
        r.set_popularity("B1", 50.0, false);
        let recs = r.recommend(Slot::Trending, None, 4, &Profile::default(), T, &cfg);
        assert_eq!(skus(&r, &recs), ["C1", "B1"]);
        assert_eq!(WHY[recs[0].why.key as usize] as usize, crate::i18n::key("why-trending"));
        assert_eq!(WHY[recs[1].why.key as usize] as usize, crate::i18n::key("why-popular"));
    }

    /// `feat` with the scores and reasons `sc`.
    fn with_sc(feat: &[Feat], sc: &[(f32, Why)]) -> Vec<Feat> {
        feat.iter().zip(sc).map(|(f, &sc)| Feat { sc, ..*f }).collect()
    }

    /// The pick by a full scan, written apart.
    fn pick_by_scan(out: &mut Vec<Rec>, limit: usize, sc: &mut [(f32, Why)], keys: &[u32]) {
        let mut shown = vec![0; keys.iter().max().map_or(0, |&k| k as usize + 1)];
        while out.len() < limit {
            let mut best = (NONE as usize, 0f32);
            for (i, s) in sc.iter().enumerate() {
                if s.0.partial_cmp(&0.0) != Some(core::cmp::Ordering::Greater) || !s.0.is_finite() {
                    continue;
                }
                let v = s.0 * 0.7f32.powi(shown[keys[i] as usize]);
                if best.0 == NONE as usize || v > best.1 {
                    best = (i, v);
                }
            }
            let (i, v) = best;
            let Some(s) = sc.get_mut(i) else { break };
            shown[keys[i] as usize] += 1;
            out.push(Rec { index: i, score: v, why: s.1 });
            s.0 = f32::NEG_INFINITY;
        }
    }

    #[test]
    fn the_pick_is_the_full_scans() {
        use crate::model::tests::XorShift;
        // Eight categories of 20 (limit 20); once each is shown, the ninth
        // category's one item wins (this filled the preselection of before).
        let mut names = Names::default();
        for k in 0..10 {
            names.id(NONE, &crate::json::itoa(k), true);
        }
        let feat: Vec<Feat> = (0..161).map(|i| Feat { id: 0, cat: (i / 20).min(8), brand: NONE, band: NO_BAND, price: NO_PRICE, in_stock: true, trending: false, popularity: 0.0, skip: false, sc: (0.0, NO_REASON), top: 0.0 }).collect();
        let mut sc: Vec<(f32, Why)> = (0..161).map(|i| (if i < 160 { 2.0 - i as f32 / 1000.0 } else { 1.5 }, NO_REASON)).collect();
        let keys: Vec<u32> = feat.iter().map(|f| f.cat).collect();
        let (mut want, mut got, sc2) = (Vec::new(), Vec::new(), sc.clone());
        pick_by_scan(&mut want, 20, &mut sc, &keys);
        pick(&mut got, 20, &with_sc(&feat, &sc2), &mut names.nodes, &mut Vec::new(), 9);
        assert_eq!(want[8].index, 160);
        assert_eq!(got, want);

        // A candidate below the best score of its key that 0.7 rounds to the
        // winner's value, with a smaller index, wins.
        let mut x = 1.0f32;
        while (f32::from_bits(x.to_bits() - 1) * 0.7) != x * 0.7 {
            x = f32::from_bits(x.to_bits() + 1);
        }
        let mut feat = feat[..13].to_vec();
        let mut sc = vec![(0f32, NO_REASON); 13];
        for (i, s) in [(3, f32::from_bits(x.to_bits() - 1)), (5, 10.0), (9, x), (12, x)] {
            (sc[i].0, feat[i].cat) = (s, 0);
        }
        let keys: Vec<u32> = feat.iter().map(|f| f.cat).collect();
        let (mut want, mut got, sc2) = (Vec::new(), Vec::new(), sc.clone());
        pick_by_scan(&mut want, 2, &mut sc, &keys);
        for x in names.nodes.iter_mut() {
            (x.shown, x.factor) = (0, 1.0);
        }
        pick(&mut got, 2, &with_sc(&feat, &sc2), &mut names.nodes, &mut Vec::new(), 9);
        assert_eq!(want[1].index, 3);
        assert_eq!(got, want);

        let mut rng = XorShift(0x5EED_1234_ABCD_0001);
        // Ties, near ties (one unit in the last place), values that 0.7 maps
        // onto each other, and what is never a candidate.
        let specials = [0.0, -0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-45, 1e-40, f32::MAX, 0.7, 0.49, 0.343];
        for case in 0..1200 {
            let n = rng.below([5, 40, 300, 1000][case % 4]) as usize;
            let nk = 1 + rng.below([1, 3, 8, 60][(case / 4) % 4]) as u32;
            let mut names = Names::default();
            for k in 0..=nk {
                names.id(NONE, &crate::json::itoa(k as u64), true);
            }
            let base: Vec<f32> = (0..1 + rng.below(6)).map(|_| (1 + rng.below(1000)) as f32 / 997.0).collect();
            // In half the cases a few categories dominate, so that after those
            // are shown the best left-out candidates of others win.
            let lead: Vec<f32> = (0..nk).map(|k| if case % 2 == 0 { 1.0 } else { 1.0 + 4.0 / (1 + k) as f32 }).collect();
            let mut sc = Vec::new();
            let mut feat = Vec::new();
            for _ in 0..n {
                let b = base[rng.below(base.len() as u64) as usize];
                let s = match rng.below(10) {
                    0 => specials[rng.below(specials.len() as u64) as usize],
                    1 => f32::from_bits(b.to_bits() + rng.below(3) as u32),
                    2 => b * 0.7,
                    3..=5 => b,
                    _ => rng.below(1_000_000) as f32 / 1e6,
                };
                let cat = if rng.below(8) == 0 { NONE } else { rng.below(nk as u64) as u32 };
                let s = if cat == NONE || rng.below(10) == 0 { s } else { s * lead[cat as usize] };
                sc.push((s, Why { key: rng.below(7) as u8, arg: rng.below(9) as u32 }));
                feat.push(Feat { id: 0, cat, brand: NONE, band: NO_BAND, price: NO_PRICE, in_stock: true, trending: false, popularity: 0.0, skip: false, sc: (0.0, NO_REASON), top: 0.0 });
            }
            let no_cat = nk;
            let keys: Vec<u32> = feat.iter().map(|f| if f.cat == NONE { no_cat } else { f.cat }).collect();
            let limit = [1, 2, 3, 8, 8, 20, 50, if n > 300 { 60 } else { 5000 }][rng.below(8) as usize];
            // Pins may have taken some places.
            let pins = rng.below(3) as usize;
            let (mut want, mut got) = (vec![Rec { index: 0, score: 0.0, why: NO_REASON }; pins], Vec::new());
            got.clone_from(&want);
            let feat = with_sc(&feat, &sc);
            pick_by_scan(&mut want, limit, &mut sc, &keys);
            // The scratch space is dirty.
            let mut best = vec![(1.0, 0, 0); rng.below(100) as usize];
            pick(&mut got, limit, &feat, &mut names.nodes, &mut best, no_cat);
            let bits = |r: &[Rec]| r.iter().map(|x| (x.index, x.score.to_bits(), x.why)).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "case {case}: n {n}, keys {nk}, limit {limit}");
        }
    }

    #[test]
    fn model_scores_are_the_rankers() {
        use crate::model::tests::{random_sessions, XorShift};
        use crate::model::{BuildParams, ModelBuilder};
        use crate::rank::rank;
        let mut rng = XorShift(0x0DDB_A115_5EED);
        for case in 0..400 {
            let items = 5 + rng.below(80);
            let model = if case % 2 == 0 {
                let sessions = 50 + rng.below(300) as usize;
                let train = random_sessions(&mut rng, sessions, items);
                ModelBuilder::from_sessions(&train, BuildParams { neighbours: 1 + rng.below(30) as usize, ..BuildParams::default() })
            } else {
                // Equal weights, so that reasons and the cut at 200 meet ties.
                let lists = (1..=items as u32)
                    .map(|i| (i, (0..rng.below(40)).map(|_| (1 + rng.below(items + 5) as u32, [0.5, 1.0, 0.25][rng.below(3) as usize])).collect()))
                    .collect();
                Model::from_lists(lists, vec![(1, 1.0)])
            };
            // A catalogue of some of the model's items (and others), as (model id, index).
            let mut by_id: Vec<(u32, u32)> = (1..=items as u32 + 5).filter(|_| rng.below(4) != 0).map(|id| (id, 0)).collect();
            let n = by_id.len();
            for (j, x) in by_id.iter_mut().enumerate() {
                x.1 = (n - 1 - j) as u32;
            }
            // What ranking reads of them: only their ids matter here.
            let mut feat = vec![Feat { id: 0, cat: NONE, brand: NONE, band: NO_BAND, price: NO_PRICE, in_stock: true, trending: false, popularity: 0.0, skip: false, sc: (0.0, NO_REASON), top: 0.0 }; n];
            for &(id, i) in &by_id {
                feat[i as usize].id = id;
            }
            let find = |id: u32| by_id.iter().find(|x| x.0 == id).map(|x| x.1 as usize);
            let seeds: Vec<u32> = (0..rng.below(30)).map(|_| 1 + rng.below(items + 8) as u32).collect();
            let key = 1 + rng.below(4) as u8;
            // As `recommend` did with the ranker.
            let mut want = vec![(0f32, NO_REASON); n];
            let skip = |id: u32| seeds.contains(&id) || find(id).is_none();
            let ranked = rank(&seeds, &model, 200, &RankParams::default(), &skip);
            let top = ranked.first().map_or(1.0, |r| r.score).max(1e-6);
            for r in ranked {
                let Some(i) = find(r.item) else { continue };
                if r.score <= 0.0 {
                    continue;
                }
                want[i].0 += r.score / top;
                if let crate::rank::Reason::Viewed(src) = r.reason {
                    want[i].1 = Why { key, arg: find(src).map_or(NONE, |j| j as u32) };
                }
            }
            let top = model_scores(&mut feat, &mut Vec::new(), &by_id, std::slice::from_ref(&model), &seeds);
            let got: Vec<(f32, Why)> = feat.iter().map(|f| relative(f.sc, top, key)).collect();
            let bits = |v: &[(f32, Why)]| v.iter().map(|x| (x.0.to_bits(), x.1)).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "case {case}");
        }
    }

    #[test]
    fn shards_needed_are_those_of_session_and_cart_items_not_loaded() {
        let r = shop();
        let p = profile_of(&[(Kind::ProductView, "R1", "shoes/running"), (Kind::CartAdd, "B1", "bags/backpacks")]);
        let need = r.shards_needed(&p, Some("J1"), 64);
        let mut want: Vec<u32> = ["R1", "B1", "J1"].iter().map(|s| crate::model::shard_of(sku_id(s), 64)).collect();
        want.dedup();
        for s in &want {
            assert!(need.contains(s));
        }
        assert!(need.len() <= 3);
        assert_eq!(sku_id(""), 0x811c_9dc5);
        assert_eq!(sku_id("a"), 0xe40c_292c);
    }

    #[test]
    fn property_no_panics_finite_scores_no_excluded_items_deterministic() {
        let cfg = profile::Config::default();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let mut r = Recommender::default();
            let n = (rnd() % 40) as usize;
            for i in 0..n {
                let sku = ["S", &crate::json::itoa(i as u64)].concat();
                let mut it = item(&sku, ["a/b", "a/c", "d"][i % 3], "x", (rnd() % 100_000) as i64);
                it.in_stock = rnd() % 5 != 0;
                it.popularity = (rnd() % 10) as f32;
                r.add_item(it);
            }
            let ev: Vec<(Kind, String)> = (0..(rnd() % 8)).map(|_| (if rnd() % 3 == 0 { Kind::CartAdd } else { Kind::ProductView }, ["S", &crate::json::itoa(rnd() % 50)].concat())).collect();
            let evs: Vec<(Kind, &str, &str)> = ev.iter().map(|(k, s)| (*k, s.as_str(), "a/b")).collect();
            let p = profile_of(&evs);
            for slot in [Slot::ForYou, Slot::Similar, Slot::BoughtTogether, Slot::Trending, Slot::CartComplements] {
                let a = r.recommend(slot, Some("S1"), 6, &p, T + 100, &cfg);
                let b = r.recommend(slot, Some("S1"), 6, &p, T + 100, &cfg);
                assert_eq!(a, b);
                for rec in &a {
                    let sku = r.sku(rec.index);
                    assert!(rec.score.is_finite());
                    assert!(r.feat[rec.index].in_stock && sku != "S1" && !p.cart.iter().any(|l| l.item == sku));
                }
            }
        }
    }

    /// What the glue (`www/src/vitrina_core.js`) keeps of an item: SKU, name,
    /// image and link, merged as `add_item` merges.
    #[derive(Clone, Default)]
    struct Glue {
        sku: String,
        f: [Option<String>; 3],
    }

    /// A value of `answer`'s JSON.
    #[derive(Debug, PartialEq)]
    enum V {
        Null,
        Num(i64),
        Str(String),
    }

    /// `answer`'s JSON: an array of arrays of numbers, strings and nulls.
    fn parse_answer(s: &str) -> Vec<Vec<V>> {
        let b: Vec<char> = s.chars().collect();
        let (mut out, mut row, mut i) = (Vec::new(), Vec::new(), 1);
        assert_eq!((b[0], b[b.len() - 1]), ('[', ']'), "{s}");
        while i < b.len() - 1 {
            match b[i] {
                '[' | ',' => i += 1,
                ']' => {
                    out.push(std::mem::take(&mut row));
                    i += 1;
                }
                'n' => {
                    assert_eq!(b[i..i + 4].iter().collect::<String>(), "null");
                    row.push(V::Null);
                    i += 4;
                }
                '"' => {
                    let mut t = String::new();
                    i += 1;
                    while b[i] != '"' {
                        if b[i] == '\\' {
                            i += 1;
                            t.push(match b[i] {
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                'u' => {
                                    let h: String = b[i + 1..i + 5].iter().collect();
                                    i += 4;
                                    char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap()
                                }
                                c => c,
                            });
                        } else {
                            t.push(b[i]);
                        }
                        i += 1;
                    }
                    row.push(V::Str(t));
                    i += 1;
                }
                _ => {
                    let e = (i..b.len()).find(|&k| b[k] == ',' || b[k] == ']').unwrap();
                    row.push(V::Num(b[i..e].iter().collect::<String>().parse().unwrap()));
                    i = e;
                }
            }
        }
        out
    }

    /// The page's objects as the glue builds them from `answer` (the same
    /// steps as `Core.recommend` in `www/src/vitrina_core.js`), written as the
    /// JSON the wasm answered before.
    /// What the glue makes of an answer, the texts in the language `lang` (an
    /// index in `LANGS`).
    fn as_glue(answer: &str, glue: &[Glue], slot: &str, lang: usize) -> String {
        use crate::json::Obj;
        let mut out = String::from("[");
        for (n, row) in parse_answer(answer).into_iter().enumerate() {
            let [V::Num(i), j, price, V::Num(t)] = &row[..] else { panic!("{answer}") };
            let text = crate::i18n::text_in(lang, *t as usize);
            assert!(WHY.contains(&(*t as u8)), "{answer}");
            let it = &glue[*i as usize];
            if n > 0 {
                out.push(',');
            }
            let mut o = Obj::new(&mut out);
            o.str("item", &it.sku);
            for (k, f) in ["name", "image", "url"].iter().zip(&it.f) {
                o.opt_str(k, f);
            }
            match price {
                V::Num(p) => o.int("price", *p),
                V::Null => &mut o,
                _ => panic!("{answer}"),
            };
            let x = match j {
                V::Num(j) => glue[*j as usize].f[0].clone().unwrap_or_else(|| glue[*j as usize].sku.clone()),
                V::Str(leaf) => leaf.replace(['-', '_'], " "),
                V::Null => String::new(),
            };
            assert!(*j != V::Null || !text.contains("{x}"), "{answer}");
            o.str("reason", &text.replacen("{x}", &x, 1));
            o.str("rec", &[slot, ".", &n.to_string(), ".", &it.sku].concat());
            o.end();
        }
        out.push(']');
        out
    }

    /// The reasons have texts in every language, plain ones (the glue puts them
    /// on the page as they are), and the glue fills `{x}` only when an item is
    /// named.
    #[test]
    fn reason_texts_need_no_escaping() {
        for lang in 0..crate::i18n::LANGS.len() {
            for k in WHY {
                let t = crate::i18n::text_in(lang, k as usize);
                assert_ne!(t, "", "{lang} lacks {k}");
                assert!(!t.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20), "{lang} {k}: {t}");
            }
            for (i, k) in WHY.iter().enumerate() {
                let has = crate::i18n::text_in(lang, *k as usize).contains("{x}");
                assert_eq!(has, i != POPULAR as usize && i != TRENDING as usize, "{lang} {k}: `answer` knows which texts name something");
            }
        }
    }

    /// Items that keep changing category and brand make the names be
    /// interned afresh, more than once: rankings stay those of before.
    #[test]
    fn names_interned_afresh_rank_the_same() {
        use crate::model::tests::XorShift;
        let mut rng = XorShift(0xF2E5_4A11_0000_0007);
        let (mut old, mut new) = (old::Recommender::default(), Recommender::default());
        let cfg = profile::Config::default();
        let mut p = Profile::default();
        let cat = |rng: &mut XorShift, k: u64| ["t", &crate::json::itoa(rng.below(5)), "/c", &crate::json::itoa(k), "/d", &crate::json::itoa(rng.below(3))].concat();
        for sku in ["A", "B", "C", "D"] {
            p.session.items.push(sku.into());
        }
        let mut refreshed = 0;
        for k in 0..9000u64 {
            let sku = ["S", &crate::json::itoa(rng.below(300))].concat();
            let (c, b) = (cat(&mut rng, k), ["b", &crate::json::itoa(k % 700)].concat());
            let (c, b) = ((rng.below(4) != 0).then_some(c), (rng.below(3) != 0).then_some(b));
            let (price, pop) = (Some(rng.below(30_000) as i64), rng.below(9) as f32);
            let before = new.names.nodes.len();
            old.add_item(old::Item { sku: sku.clone(), category: c.clone(), brand: b.clone(), price, in_stock: true, popularity: pop, ..old::Item::default() });
            new.add_item(Item { sku: &sku, category: c.as_deref(), brand: b.as_deref(), price, in_stock: true, popularity: pop, trending: false });
            let fresh = new.names.nodes.len() < before;
            refreshed += fresh as u32;
            if k % 1500 == 1499 || fresh {
                p.affinity.clear();
                for _ in 0..20 {
                    let key = match rng.below(3) {
                        0 => {
                            let j = rng.below(k);
                            ["c:", &cat(&mut rng, j)].concat()
                        }
                        1 => ["c:t", &crate::json::itoa(rng.below(5))].concat(),
                        _ => ["b:b", &crate::json::itoa(rng.below(700))].concat(),
                    };
                    p.affinity.push(profile::Affinity { key, score: 1.0 + rng.below(5) as f64, ts: T });
                }
                for slot in ["for-you", "similar", "cart-complements"] {
                    let anchor = ["S", &crate::json::itoa(rng.below(300))].concat();
                    let a = old.recommend(old::Slot::parse(slot).unwrap(), Some(&anchor), 20, &p, T, &cfg);
                    let b = new.recommend(Slot::parse(slot).unwrap(), Some(&anchor), 20, &p, T, &cfg);
                    let bits = |v: Vec<(usize, u32, u8, u32)>| v;
                    assert_eq!(
                        bits(b.iter().map(|r| (r.index, r.score.to_bits(), r.why.key, r.why.arg)).collect()),
                        bits(a.iter().map(|r| (r.index, r.score.to_bits(), r.why.key, r.why.arg)).collect()),
                        "{k} {slot}"
                    );
                    assert!(!b.is_empty());
                }
            }
        }
        assert!(refreshed >= 2, "{refreshed}");
    }

    #[test]
    fn the_answer_is_the_json_of_before() {
        use crate::model::tests::XorShift;
        let mut rng = XorShift(0xC0FF_EE00_1234_5678);
        let pick = |rng: &mut XorShift, v: &[&'static str]| v[rng.below(v.len() as u64) as usize];
        // K47199 and K1168204 have the same FNV-1a: the one added second is not taken.
        let skus = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K47199", "K1168204", "L\"q", "M<", "N\u{e9}", "O", "P", "Q", "R", "S"];
        let cats = ["shoes", "shoes/running", "shoes/running-trail", "shoes/trail_x", "bags", "bags/back-packs", "a//b", "", "x/", "\u{e9}t\u{e9}/c\u{f4}t\u{e9}", "apparel/jackets/rain", "apparel", "{x}/y"];
        let brands = ["Stride", "Cairn", "", "N\u{f6}rd"];
        let names = ["Trail \"Pro\"", "Tent <2p>", "Bag\nnew", "Caf\u{e9} {x} $&", "Plain", ""];
        let (mut runs, mut nonempty) = (0, 0);
        for case in 0..3000 {
            let mut old = old::Recommender::default();
            let mut new = Recommender::default();
            let mut glue: Vec<Glue> = Vec::new();
            let nsku = 1 + rng.below(skus.len() as u64) as usize;
            for _ in 0..rng.below(40) {
                let sku = skus[rng.below(nsku as u64) as usize];
                let o = |rng: &mut XorShift, v: &[&'static str]| (rng.below(3) != 0).then(|| pick(rng, v).to_owned());
                let (name, image, url) = (o(&mut rng, &names), o(&mut rng, &["/i.png", "/j\"k.png"]), o(&mut rng, &["/p", "/q?a=1&b=<2>"]));
                let (category, brand) = (o(&mut rng, &cats), o(&mut rng, &brands));
                let price = match rng.below(5) {
                    0 => None,
                    1 => Some(rng.below(2_000_000) as i64),
                    _ => Some([500, 999, 1000, 4999, 5000, 19_999, 100_000, 0][rng.below(8) as usize]),
                };
                let (in_stock, popularity, trending) = (rng.below(6) != 0, [0.0, 1.0, 5.0, 0.5][rng.below(4) as usize], rng.below(5) == 0);
                old.add_item(old::Item { sku: sku.into(), name: name.clone(), image: image.clone(), url: url.clone(), category: category.clone(), brand: brand.clone(), price, in_stock, popularity, trending });
                let got = new.add_item(Item { sku, category: category.as_deref(), brand: brand.as_deref(), price, in_stock, popularity, trending });
                assert_eq!(got, old.index_of(sku), "case {case}: {sku}");
                if let Some(i) = got {
                    if i == glue.len() {
                        glue.push(Glue { sku: sku.into(), ..Glue::default() });
                    }
                    for (f, v) in glue[i].f.iter_mut().zip([name, image, url]) {
                        if v.is_some() {
                            *f = v;
                        }
                    }
                }
            }
            for _ in 0..rng.below(4) {
                let (sku, pop, tr) = (pick(&mut rng, &skus), [0.0, 3.0, 50.0, f32::NAN, -1.0][rng.below(5) as usize], rng.below(2) == 0);
                old.set_popularity(sku, pop, tr);
                new.set_popularity(sku, pop, tr);
            }
            // The model: lists between catalogue items and others, in parts
            // (as the head and shards come), a later part's list of an item
            // replacing an earlier one's.
            for _ in 0..rng.below(4) {
                let id = |rng: &mut XorShift| if rng.below(6) == 0 { 1 + rng.below(50) as u32 } else { sku_id(skus[rng.below(skus.len() as u64) as usize]) };
                let lists = (0..rng.below(12)).map(|_| (id(&mut rng), (0..rng.below(10)).map(|_| (id(&mut rng), [1.0, 0.5, 0.25, 2.0, 0.3][rng.below(5) as usize])).collect())).collect();
                let popular = (0..rng.below(5)).map(|_| (id(&mut rng), 1.0)).collect();
                let m = Model::from_lists(lists, popular);
                old.model.merge(&m);
                new.add_model(m);
            }
            // The rules.
            let mut rules = Rules::default();
            for _ in 0..rng.below(3) {
                rules.pins.push(pick(&mut rng, &skus).into());
            }
            for _ in 0..rng.below(3) {
                rules.boosts.push((pick(&mut rng, &["shoes", "shoes/running", "bags", "a", "", "apparel/jackets", "nope"]).into(), [0.0, 0.5, 2.0, f32::NAN, f32::INFINITY, -1.0][rng.below(6) as usize]));
            }
            rules.buy_again_days = [0, 0, 1, 30][rng.below(4) as usize];
            old.rules = old::Rules { pins: rules.pins.clone(), boosts: rules.boosts.clone(), buy_again_days: rules.buy_again_days };
            new.rules = rules;
            // The profile.
            let now = T + rng.below(90) * 86_400_000;
            let mut p = Profile::default();
            let ts = |rng: &mut XorShift| T + rng.below(60) * 86_400_000;
            for _ in 0..rng.below(25) {
                p.session.items.push(if rng.below(8) == 0 { "unknown".into() } else { pick(&mut rng, &skus).into() });
            }
            for _ in 0..rng.below(3) {
                p.cart.push(profile::CartLine { item: pick(&mut rng, &skus).into(), qty: 1, price: None, ts: ts(&mut rng) });
            }
            for _ in 0..rng.below(3) {
                p.purchases.push((pick(&mut rng, &skus).into(), ts(&mut rng)));
            }
            for _ in 0..rng.below(12) {
                let key = match rng.below(6) {
                    0 | 1 => ["c:", pick(&mut rng, &cats)].concat(),
                    2 => ["b:", pick(&mut rng, &brands)].concat(),
                    3 => ["p:", pick(&mut rng, &["a", "b", "c", "d", "k", "l", "", "ab"])].concat(),
                    4 => pick(&mut rng, &["x:y", "c", ""]).into(),
                    _ => ["c:", pick(&mut rng, &["shoes", "bags", "apparel", "zzz"])].concat(),
                };
                p.affinity.push(profile::Affinity { key, score: [1.0, 2.5, 0.3, 1.0, 0.0, -0.0, -1.0, f64::INFINITY, f64::NAN][rng.below(9) as usize], ts: ts(&mut rng) });
            }
            let cfg = profile::Config::default();
            for _ in 0..4 {
                let slot = pick(&mut rng, &["for-you", "similar", "bought-together", "trending", "cart-complements", "nope"]);
                let anchor = match rng.below(4) {
                    0 => None,
                    1 => Some("unknown"),
                    _ => Some(pick(&mut rng, &skus)),
                };
                let limit = [0, 1, 2, 3, 5, 8, 8, 12, 50][rng.below(9) as usize];
                let lang = pick(&mut rng, &["en", "es"]);
                if let Some(kind) = Slot::parse(slot) {
                    let a = old.recommend(old::Slot::parse(slot).unwrap(), anchor, limit, &p, now, &cfg);
                    let b = new.recommend(kind, anchor, limit, &p, now, &cfg);
                    let bits = |v: Vec<(usize, u32, u8, u32)>| v;
                    assert_eq!(
                        bits(b.iter().map(|r| (r.index, r.score.to_bits(), r.why.key, r.why.arg)).collect()),
                        bits(a.iter().map(|r| (r.index, r.score.to_bits(), r.why.key, r.why.arg)).collect()),
                        "case {case}: {slot} {anchor:?} {limit}"
                    );
                }
                let want = old.recommend_json(slot, anchor, limit, &p, now, &cfg, lang);
                let got = new.answer(slot, anchor, limit, &p, now, &cfg);
                assert_eq!(as_glue(&got, &glue, slot, crate::i18n::which(lang)), want, "case {case}: {slot} {anchor:?} {limit} {lang}\n{got}");
                runs += 1;
                nonempty += (want.len() > 2) as u32;
            }
        }
        assert!(nonempty > runs / 2, "{nonempty} of {runs}");
    }
}
