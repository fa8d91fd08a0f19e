//! The recommender as it was before the size round (docs/size.md): kept,
//! test-only, as the reference the rewrite is compared with (same
//! recommendations, same order, same reasons; `recommend::tests`).
#![allow(dead_code)]

use crate::model::Model;
use crate::profile::{self, Profile};
use crate::rank::RankParams;

/// The model id of a SKU: 32-bit FNV-1a of its UTF-8 bytes.
pub fn sku_id(sku: &str) -> u32 {
    fnv(0x811c_9dc5, sku)
}

/// FNV-1a of `s` continuing from the state `h`.
fn fnv(mut h: u32, s: &str) -> u32 {
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// An item the page can show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    /// SKU.
    pub sku: String,
    /// Display name.
    pub name: Option<String>,
    /// Image URL.
    pub image: Option<String>,
    /// Product page URL.
    pub url: Option<String>,
    /// Category path.
    pub category: Option<String>,
    /// Brand.
    pub brand: Option<String>,
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

/// The texts of reasons ([`Why::key`]), as [`i18n`](crate::i18n) keys. The
/// first, "popular", is also what an item has when no other reason applies.
pub const WHY: [&str; 7] =
    ["why-popular", "why-because-viewed", "why-similar-to", "why-goes-with", "why-completes", "why-interest", "why-trending"];
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
    /// As a diversity key: items shown, the factor that makes (0.7 per item);
    /// of the candidates left out of the preselection, the best score, the
    /// first index of those with it, and the best score below it.
    shown: u32,
    factor: f32,
    left: f32,
    first: u32,
    rest: f32,
    /// How many candidates of this key the preselection holds, and the last
    /// of them when that is as many as a key may have there.
    kept: u32,
    last: Cand,
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
        let at = self.index.partition_point(|e| e.0 < h);
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
        self.nodes.push(Node { up, text: text.into(), num: 0.0, shown: 0, factor: 1.0, left: 0.0, first: NONE, rest: 0.0, kept: 0, last: (0.0, NONE, NONE) });
        self.index.insert(at, (h, j));
        j
    }

    /// The node of the last level of a category path ([`NONE`]: unknown),
    /// every level interned when `add`.
    fn path(&mut self, path: &str, add: bool) -> u32 {
        let (b, mut j, mut from) = (path.as_bytes(), NONE, 0);
        for i in 0..=b.len() {
            if i == b.len() || b[i] == b'/' {
                j = self.id(j, path.get(from..i).unwrap_or(""), add);
                if j == NONE {
                    break;
                }
                from = i + 1;
            }
        }
        j
    }
}

/// What ranking reads of an item, kept in step with it by [`Recommender::add_item`]
/// and [`Recommender::set_popularity`].
#[derive(Clone, Copy, Debug)]
struct Feat {
    /// The node of its category's last level, or [`NONE`].
    cat: u32,
    /// Its brand's node, or [`NONE`].
    brand: u32,
    /// Its price band, or [`NO_BAND`].
    band: u8,
    in_stock: bool,
    trending: bool,
    popularity: f32,
}

const NO_BAND: u8 = u8::MAX;
/// Marks an item the profile's lists exclude, in the reason of its score
/// before the pass (never a reason shown).
const EXCLUDED: u8 = u8::MAX;

/// A candidate of the final pick: (value, catalogue index, diversity key).
type Cand = (f32, u32, u32);

/// Whether `a` ranks below `b`: lower value, or the same and a later index.
fn worse(a: &Cand, b: &Cand) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
}

/// Where `c` goes in `best` (best first): after those better than it.
fn place(best: &[Cand], c: &Cand) -> usize {
    best.partition_point(|x| !worse(x, c))
}

/// Offers `c` to `best`, the `cap` best candidates best first (by [`worse`]):
/// returns what is left out (`c`, or the candidate it pushed out), if any.
fn keep(best: &mut Vec<Cand>, cap: usize, c: Cand) -> Option<Cand> {
    if best.len() >= cap && !worse(&best[cap - 1], &c) {
        return Some(c);
    }
    best.insert(place(best, &c), c);
    if best.len() > cap {
        best.pop()
    } else {
        None
    }
}

/// Notes in `n`, the node of key `k`, its last candidate in `best` when it
/// has `per_key` there.
fn last_of(best: &[Cand], n: &mut Node, k: u32, per_key: u32) {
    if n.kept == per_key {
        if let Some(x) = best.iter().rev().find(|x| x.2 == k) {
            n.last = *x;
        }
    }
}

/// Keeps in `best` the `cap` best candidates (score above 0) by their value
/// now (score times their key's factor), best first and at most `per_key` of a
/// key (no key can show more), and in the keys' nodes what is left out.
fn select(best: &mut Vec<Cand>, nodes: &mut [Node], sc: &[(f32, Why)], feat: &[Feat], no_cat: u32, cap: usize, per_key: u32) {
    best.clear();
    for k in nodes.iter_mut() {
        (k.left, k.first, k.rest, k.kept) = (0.0, NONE, 0.0, 0);
    }
    for (i, (f, &(s, _))) in feat.iter().zip(sc).enumerate() {
        if s > 0.0 && s < f32::INFINITY {
            let k = if f.cat == NONE { no_cat } else { f.cat };
            let mut c = (s * nodes[k as usize].factor, i as u32, k);
            // Most are left out at once: not better than the last kept, or
            // than the last of its key when it has `per_key`.
            let n = &mut nodes[k as usize];
            if best.len() < cap || worse(&best[cap - 1], &c) {
                if n.kept < per_key {
                    n.kept += 1;
                    let out = keep(best, cap, c);
                    if let Some(x) = out {
                        nodes[x.2 as usize].kept -= 1;
                    }
                    last_of(best, &mut nodes[k as usize], k, per_key);
                    match out {
                        Some(x) => c = x,
                        None => continue,
                    }
                } else if worse(&n.last, &c) {
                    // Instead of the last of its key (which comes after it).
                    let (to, from) = (place(best, &c), place(best, &n.last) - 1);
                    let out = best[from];
                    best.copy_within(to..from, to + 1);
                    (best[to], c) = (c, out);
                    last_of(best, n, k, per_key);
                }
            }
            // Left out: `c`.
            let (k, s) = (&mut nodes[c.2 as usize], sc[c.1 as usize].0);
            if s > k.left {
                (k.rest, k.left, k.first) = (k.left, s, c.1);
            } else if s == k.left {
                k.first = k.first.min(c.1);
            } else if s > k.rest {
                k.rest = s;
            }
        }
    }
}

/// Step 5 of [`Recommender::recommend`], after the pins: adds to `out`, up to
/// `limit`, the candidates (a finite score above 0 in `sc`) of highest value,
/// first index on equal values, each pick's score then set to -inf. The value
/// is the score times 0.7 per item of the same diversity key (the category
/// node in `feat`, or `no_cat` without one) picked before.
///
/// Picking the best value among every item at each round costs `limit`
/// passes over the catalogue; the rounds run instead among the candidates
/// [`select`] keeps, and a round is sure when no candidate left out could beat
/// its winner: a left-out candidate's value is at most the best left-out score
/// of its key times that key's factor, and on equal values the first index
/// wins. When a round is not sure, `select` keeps the best by the values of
/// now, and its best is the winner: the pick is the full scan's (a test
/// compares them on adversarial scores). A round is rarely unsure: the
/// preselection holds `8 × limit` candidates, at most `limit` of a key (no key
/// can show more).
fn pick(out: &mut Vec<Rec>, limit: usize, sc: &mut [(f32, Why)], feat: &[Feat], nodes: &mut [Node], best: &mut Vec<Cand>, no_cat: u32) {
    for x in nodes.iter_mut() {
        (x.shown, x.factor) = (0, 1.0);
    }
    let (cap, per_key) = (limit.saturating_mul(8).max(32), limit.min(NONE as usize) as u32);
    select(best, nodes, sc, feat, no_cat, cap, per_key);
    while out.len() < limit {
        let mut fresh = false;
        let (v, i, k) = loop {
            // The best preselected: highest value, then first index.
            let mut w = (0.0, NONE, NONE);
            for &(_, i, k) in best.iter() {
                let s = sc[i as usize].0;
                if s > 0.0 && s < f32::INFINITY {
                    let c = (s * nodes[k as usize].factor, i, k);
                    if w.1 == NONE || worse(&w, &c) {
                        w = c;
                    }
                }
            }
            // A key's left-out candidates with its best left-out score lose
            // (first index on equal values); those below it could only tie,
            // by rounding, and then the round is not sure.
            let lose = |k: &Node| k.left <= 0.0 || (w.1 != NONE && worse(&(k.left * k.factor, k.first, 0), &w) && k.rest * k.factor < w.0);
            if fresh || nodes.iter().all(lose) {
                break w;
            }
            select(best, nodes, sc, feat, no_cat, cap, per_key);
            fresh = true;
        };
        let Some(key) = nodes.get_mut(k as usize) else { break };
        key.shown += 1;
        key.factor = 0.7f32.powi(key.shown as i32);
        let s = &mut sc[i as usize];
        out.push(Rec { index: i as usize, score: v, why: s.1 });
        s.0 = f32::NEG_INFINITY;
    }
}

/// Step 1 of [`Recommender::recommend`]: the model's scores for `seeds`, as
/// [`rank`](crate::rank::rank) gives them with the default [`RankParams`] and
/// the seeds and items the catalogue lacks excluded — the sum over seeds of
/// position weight times neighbour weight, the best 200 by score then id —
/// each divided by the best, with the reason `key` naming the seed that
/// contributed most. Only what a slot can show is computed: no repeat boost
/// (seeds are excluded) and no popular fill-ins (they score 0). The same
/// operations in the same order give the same floats (a test checks).
fn model_scores(sc: &mut [(f32, Why)], best: &mut Vec<Cand>, by_id: &[(u32, usize)], model: &Model, seeds: &[u32], key: u8) {
    let p = RankParams::default();
    // The distinct seeds of the last `max_items`, by id, with their position
    // weights summed (the most recent first).
    let mut weights: Vec<(u32, f32)> = Vec::new();
    let mut w = 1.0f32;
    for &s in seeds.iter().rev().take(p.max_items) {
        match weights.binary_search_by_key(&s, |e| e.0) {
            Ok(i) => weights[i].1 += w,
            Err(i) => weights.insert(i, (s, w)),
        }
        w *= p.position_decay;
    }
    // Per item reached: (model id, catalogue index, best contribution, the
    // index of its seed); `sc` holds the sum and, in the reason, the place here.
    let mut got: Vec<(u32, u32, f32, u32)> = Vec::new();
    for &(s, ws) in &weights {
        let Some((nbr, wt)) = model.neighbours(s) else { continue };
        let src = find(by_id, s).map_or(NONE, |j| j as u32);
        for (&n, &wn) in nbr.iter().zip(wt) {
            let v = ws * wn;
            let Some(i) = find(by_id, n).filter(|_| !seeds.contains(&n)) else { continue };
            let c = &mut sc[i];
            if c.1.key == POPULAR {
                *c = (v, Why { key, arg: got.len() as u32 });
                got.push((n, i as u32, v, src));
            } else if let Some(g) = got.get_mut(c.1.arg as usize) {
                c.0 += v;
                // Seeds come by id: on a tie the first, smallest, stays.
                if v > g.2 {
                    (g.2, g.3) = (v, src);
                }
            }
        }
    }
    best.clear();
    for &(n, i, _, _) in &got {
        let s = sc[i as usize].0;
        if s > 0.0 && s < f32::INFINITY {
            keep(best, 200, (s, n, i));
        }
        sc[i as usize].1.key = POPULAR;
    }
    // The best 200 keep their reason's key; the others are as if not reached.
    for b in best.iter() {
        sc[b.2 as usize].1.key = key;
    }
    let top = best.first().map_or(1.0, |c| c.0).max(1e-6);
    for &(_, i, _, _) in &got {
        let c = &mut sc[i as usize];
        *c = match c.1.key {
            POPULAR => (0.0, NO_REASON),
            _ => (0.0 + c.0 / top, Why { key, arg: got[c.1.arg as usize].3 }),
        };
    }
}

/// The device's recommender: the catalogue the page knows, the model shards
/// fetched so far, and reusable ranking buffers.
#[derive(Debug, Default)]
pub struct Recommender {
    /// Items the page knows.
    items: Vec<Item>,
    /// What ranking reads of each item.
    feat: Vec<Feat>,
    /// Category levels and brands.
    names: Names,
    /// How many names there were after interning every item afresh.
    fresh: usize,
    /// (model id, catalogue index), sorted by id.
    by_id: Vec<(u32, usize)>,
    /// The public model (head plus the shards fetched).
    pub model: Model,
    /// Rules.
    pub rules: Rules,
    /// (score, reason) per catalogue item, and the preselection (best
    /// first): reused from call to call.
    sc: Vec<(f32, Why)>,
    best: Vec<Cand>,
}

/// The most items a [`Recommender`] holds; further new items are ignored.
pub const MAX_ITEMS: usize = 20_000;

fn find(by_id: &[(u32, usize)], id: u32) -> Option<usize> {
    by_id.binary_search_by_key(&id, |&(i, _)| i).ok().map(|p| by_id[p].1)
}

/// The catalogue index of a SKU.
fn find_sku(by_id: &[(u32, usize)], items: &[Item], sku: &str) -> Option<usize> {
    find(by_id, sku_id(sku)).filter(|&i| items[i].sku == sku)
}

impl Recommender {
    /// Adds or updates an item (data already on the page wins over nothing).
    /// What ranking needs of it (its category levels and brand, interned) is
    /// worked out here, once.
    pub fn add_item(&mut self, item: Item) {
        let id = sku_id(&item.sku);
        let i = match self.by_id.binary_search_by_key(&id, |&(i, _)| i) {
            Ok(p) => {
                let i = self.by_id[p].1;
                let old = &mut self.items[i];
                if old.sku != item.sku {
                    return;
                }
                // Field by field: what the new data says, else what was known.
                if item.name.is_some() {
                    old.name = item.name;
                }
                if item.image.is_some() {
                    old.image = item.image;
                }
                if item.url.is_some() {
                    old.url = item.url;
                }
                if item.category.is_some() {
                    old.category = item.category;
                }
                if item.brand.is_some() {
                    old.brand = item.brand;
                }
                if item.price.is_some() {
                    old.price = item.price;
                }
                old.in_stock = item.in_stock;
                old.popularity = item.popularity.max(old.popularity);
                old.trending |= item.trending;
                i
            }
            Err(p) => {
                if self.items.len() >= MAX_ITEMS {
                    return;
                }
                self.by_id.insert(p, (id, self.items.len()));
                self.items.push(item);
                self.items.len() - 1
            }
        };
        self.work_out(i);
        // Names no item uses any more pile up when items keep changing category
        // or brand: once they could be half, intern afresh (no id is kept from
        // one ranking to the next).
        if self.names.nodes.len() > 2 * self.fresh + 4096 {
            self.names = Names::default();
            for j in 0..self.items.len() {
                self.work_out(j);
            }
            self.fresh = self.names.nodes.len();
        }
    }

    /// Works out what ranking reads of item `i` (see [`Feat`]).
    fn work_out(&mut self, i: usize) {
        let it = &self.items[i];
        let f = Feat {
            cat: it.category.as_deref().map_or(NONE, |c| self.names.path(c, true)),
            brand: it.brand.as_deref().map_or(NONE, |b| self.names.id(BRAND, b, true)),
            band: it.price.map_or(NO_BAND, |p| profile::price_band(p) as u8),
            in_stock: it.in_stock,
            trending: it.trending,
            popularity: it.popularity,
        };
        match self.feat.get_mut(i) {
            Some(x) => *x = f,
            None => self.feat.push(f),
        }
    }

    /// The items the page knows, by catalogue index (the order they came in).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The catalogue index of a SKU.
    pub fn index_of(&self, sku: &str) -> Option<usize> {
        find_sku(&self.by_id, &self.items, sku)
    }

    /// Sets an item's public popularity (from the server's feed).
    pub fn set_popularity(&mut self, sku: &str, popularity: f32, trending: bool) {
        if let Some(i) = self.index_of(sku) {
            let it = &mut self.items[i];
            it.popularity = if popularity.is_finite() { popularity.max(0.0) } else { 0.0 };
            it.trending = trending;
            (self.feat[i].popularity, self.feat[i].trending) = (it.popularity, trending);
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
            if self.model.neighbours(id).is_none() && !out.contains(&s) {
                out.push(s);
            }
        };
        for sku in profile.session.items.iter().rev().take(20) {
            add(sku);
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
    /// module docs for the cost, and for why the pick among a preselection is
    /// the pick among every item.
    pub fn recommend(&mut self, slot: Slot, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config) -> Vec<Rec> {
        let mut out: Vec<Rec> = Vec::new();
        let n = self.items.len();
        if n == 0 || limit == 0 {
            return out;
        }
        let Recommender { items, feat, names, by_id, model, rules, sc, best, .. } = self;
        let index_of = |sku: &str| find_sku(by_id, items, sku);
        let anchor_ix = anchor.and_then(index_of);
        let cart = &profile.cart;
        sc.clear();
        sc.resize(n, (0.0, NO_REASON));
        // The diversity key of an item without a category: category "".
        let no_cat = names.id(NONE, "", true);
        let nodes = &mut names.nodes;
        for x in nodes.iter_mut() {
            x.num = 0.0;
        }

        // 1. The model: "people who looked at this looked at that", seeded by
        //    the session (for-you), the anchor (similar), the cart or else the
        //    anchor (bought-together, cart-complements).
        let mut seeds: Vec<u32> = Vec::new();
        match slot {
            Slot::ForYou => {
                let s = &profile.session.items;
                for sku in &s[s.len().saturating_sub(20)..] {
                    seeds.push(sku_id(sku));
                }
            }
            Slot::Trending => {}
            Slot::BoughtTogether | Slot::CartComplements if !cart.is_empty() => {
                for l in cart {
                    seeds.push(sku_id(&l.item));
                }
            }
            _ => {
                if let Some(a) = anchor {
                    seeds.push(sku_id(a));
                }
            }
        }
        if !seeds.is_empty() && !model.is_empty() {
            let key = match slot {
                Slot::ForYou => BECAUSE_VIEWED,
                Slot::Similar => SIMILAR_TO,
                Slot::CartComplements => COMPLETES,
                _ => GOES_WITH,
            };
            // Scores relative to what can be shown: the seeds themselves (every
            // slot excludes them) and what the page cannot draw are skipped.
            model_scores(sc, best, by_id, model, &seeds, key);
        }

        // 2. Content: the shopper's interests, or likeness to the anchor. Only
        //    for-you and similar use it (it weighs nothing in the other slots).
        //    Worked out per name, not per item: `num` of a category node is the
        //    interests of its levels summed from the top (as an item's levels
        //    were added one by one), of a brand its interest, `bands` per price
        //    band; or, for likeness, how many leading levels a category shares
        //    with the anchor's (`chain`, its levels from the last).
        let like = if slot == Slot::Similar { anchor_ix.map(|a| feat[a]) } else { None };
        let content = matches!(slot, Slot::ForYou | Slot::Similar);
        let mut bands = [0f64; 11];
        let mut chain = Vec::new();
        let up = |j: u32| nodes.get(j as usize).map_or(NONE, |x| x.up);
        if let Some(a) = like {
            let mut j = a.cat;
            while j != NONE {
                chain.push(j);
                j = up(j);
            }
        } else if content {
            let interests = profile.top("", 96, now, cfg);
            let max = interests.iter().fold(0f64, |m, x| m.max(x.1)).max(1e-9);
            // Backwards, so that the first of equal keys wins.
            for (k, v) in interests.iter().rev() {
                let (b, v) = (k.as_bytes(), *v / max);
                let j = match k.get(..2) {
                    Some("c:") => names.path(&k[2..], false),
                    Some("b:") => names.id(BRAND, &k[2..], false),
                    _ => NONE,
                };
                if let Some(x) = names.nodes.get_mut(j as usize) {
                    x.num = v;
                } else if b.len() == 3 && b.starts_with(b"p:") && b[2].wrapping_sub(b'a') < 11 {
                    bands[(b[2] - b'a') as usize] = v;
                }
            }
        }
        // (Rules: the categories boosted.)
        let mut boosts: Vec<(u32, f32)> = Vec::new();
        for (prefix, m) in &rules.boosts {
            let j = names.path(prefix, false);
            if j != NONE {
                boosts.push((j, if m.is_finite() { m.max(0.0) } else { 1.0 }));
            }
        }
        let nodes = &mut names.nodes;
        for j in 0..nodes.len() {
            let up = nodes.get(nodes[j].up as usize).map_or(0.0, |x| x.num);
            nodes[j].num = match chain.iter().position(|&c| c as usize == j) {
                Some(p) => (chain.len() - p) as f64,
                None if like.is_some() => up,
                None => up + nodes[j].num,
            };
        }
        let levels = chain.len() as f64;
        let nodes = &*nodes;
        let up = |j: u32| nodes.get(j as usize).map_or(NONE, |x| x.up);
        let num = |j: u32| nodes.get(j as usize).map(|x| x.num);

        // 3. Popularity: a small prior everywhere, the whole score for trending
        //    (where an item the feed does not call trending is just popular).
        let max_pop = feat.iter().fold(0f32, |m, f| m.max(f.popularity)).max(1e-6);

        // 4. Rules and exclusions. The profile's lists are marked once, in the
        //    reasons (the first purchase of an item decides whether it may be
        //    bought again); for cart complements, the top levels of the cart's
        //    categories too.
        let top_of = |mut j: u32| {
            while up(j) != NONE {
                j = up(j);
            }
            j
        };
        let mut seen = Vec::new();
        for (sku, t) in &profile.purchases {
            if let Some(i) = index_of(sku) {
                if !seen.contains(&i) {
                    seen.push(i);
                    let days = rules.buy_again_days as u64;
                    if days == 0 || now.saturating_sub(*t) <= days * 86_400_000 {
                        sc[i].1.key = EXCLUDED;
                    }
                }
            }
        }
        let mut tops: Vec<u32> = Vec::new();
        for l in cart {
            if let Some(i) = index_of(&l.item) {
                sc[i].1.key = EXCLUDED;
                if slot == Slot::CartComplements && feat[i].cat != NONE {
                    tops.push(top_of(feat[i].cat));
                }
            }
        }
        let session: &[String] = if slot == Slot::ForYou { &profile.session.items } else { &[] };
        for sku in session.iter().map(String::as_str).chain(anchor) {
            if let Some(i) = index_of(sku) {
                sc[i].1.key = EXCLUDED;
            }
        }
        for (i, (f, s)) in feat.iter().zip(sc.iter_mut()).enumerate() {
            let (mut x, mut why) = *s;
            let excluded = why.key == EXCLUDED;
            if content {
                let c = match like {
                    Some(a) => {
                        let mut c = 0.0;
                        if let (true, Some(x)) = (a.cat != NONE, num(f.cat)) {
                            c += x / levels;
                        }
                        if a.brand != NONE && a.brand == f.brand {
                            c += 0.3;
                        }
                        if a.band != NO_BAND && a.band == f.band {
                            c += 0.2;
                        }
                        c / 1.5
                    }
                    None => {
                        let mut c = num(f.cat).unwrap_or(0.0);
                        if let Some(b) = num(f.brand) {
                            c += 0.5 * b;
                        }
                        if let Some(p) = bands.get(f.band as usize) {
                            c += 0.3 * p;
                        }
                        (c / 2.0).min(1.0)
                    }
                } as f32
                    * 0.5;
                if c > x && why.key == POPULAR {
                    why = match (like, f.cat) {
                        (Some(_), _) => Why { key: SIMILAR_TO, arg: anchor_ix.map_or(NONE, |a| a as u32) },
                        (None, NONE) => Why { key: INTEREST, arg: NONE },
                        _ => Why { key: INTEREST, arg: i as u32 },
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
            if excluded || !f.in_stock || (!tops.is_empty() && tops.contains(&top_of(f.cat))) {
                x = f32::NEG_INFINITY;
            } else {
                for &(b, m) in &boosts {
                    let mut j = f.cat;
                    while j != NONE && j != b {
                        j = up(j);
                    }
                    if j == b {
                        x *= m;
                    }
                }
            }
            *s = (x, why);
        }

        // 5. Pick: pins first, then best scores with diversity — each further
        //    item from an already shown category (its diversity key; an item
        //    without one counts as category "") counts for less.
        for pin in &rules.pins {
            if let Some(i) = index_of(pin) {
                let s = &mut sc[i];
                // A pin shown already has a score of -inf.
                if s.0.is_finite() && out.len() < limit {
                    out.push(Rec { index: i, score: s.0, why: NO_REASON });
                    s.0 = f32::NEG_INFINITY;
                }
            }
        }
        pick(&mut out, limit, sc, feat, &mut names.nodes, best, no_cat);
        out
    }

    /// The name a reason mentions: the named item's name (else its SKU), or for
    /// `why-interest` the last level of its category, "running-shoes" shown as
    /// "running shoes" (then `true`).
    pub fn reason_arg(&self, why: Why) -> Option<(&str, bool)> {
        let it = self.items.get(why.arg as usize)?;
        Some(if why.key == INTEREST {
            // The last level: the text of its category's node.
            (&*self.names.nodes.get(self.feat[why.arg as usize].cat as usize)?.text, true)
        } else {
            (it.name.as_deref().unwrap_or(&it.sku), false)
        })
    }

    /// Ranks a slot (see [`Slot::parse`]) as JSON, as the page draws it:
    /// `[{item, name, image, url, price, reason, rec}]`, the reason in `lang`
    /// (an [`i18n::pick`](crate::i18n::pick) result), `rec` an id for click
    /// attribution (`slot.position.sku`); `[]` for an unknown slot.
    #[allow(clippy::too_many_arguments)]
    pub fn recommend_json(&mut self, slot: &str, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config, lang: &str) -> String {
        use crate::json::{esc, push_esc, push_u64, Obj};
        let mut out = String::from("[");
        if let Some(kind) = Slot::parse(slot) {
            for (n, rec) in self.recommend(kind, anchor, limit, profile, now, cfg).into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                let it = &self.items[rec.index];
                let mut o = Obj::new(&mut out);
                o.str("item", &it.sku).opt_str("name", &it.name).opt_str("image", &it.image).opt_str("url", &it.url);
                if let Some(p) = it.price {
                    o.int("price", p);
                }
                // The text, with {x} replaced by the name it mentions (without
                // one, the plain "popular" text).
                let mut text = crate::i18n::t(lang, WHY[rec.why.key as usize]);
                let mut arg = None;
                if let Some(k) = text.as_bytes().windows(3).position(|w| w == b"{x}") {
                    match self.reason_arg(rec.why) {
                        Some(x) => arg = Some((k, x)),
                        None => text = crate::i18n::t(lang, WHY[0]),
                    }
                }
                let v = o.key("reason");
                v.push('"');
                match arg {
                    Some((k, (x, leaf))) => {
                        push_esc(v, text.get(..k).unwrap_or(""));
                        for c in x.chars() {
                            esc(v, if leaf && (c == '-' || c == '_') { ' ' } else { c });
                        }
                        push_esc(v, text.get(k + 3..).unwrap_or(""));
                    }
                    None => push_esc(v, text),
                }
                v.push('"');
                let v = o.key("rec");
                v.push('"');
                v.push_str(slot);
                v.push('.');
                push_u64(v, n as u64);
                v.push('.');
                push_esc(v, &it.sku);
                v.push('"');
                o.end();
            }
        }
        out.push(']');
        out
    }
}

