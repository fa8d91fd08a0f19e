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

use crate::model::Model;
use crate::profile::{self, Profile};
use crate::rank::{Ranker, RankParams, Reason};

/// The model id of a SKU: 32-bit FNV-1a of its UTF-8 bytes.
pub fn sku_id(sku: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in sku.bytes() {
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

/// The device's recommender: the catalogue the page knows, the model shards
/// fetched so far, and reusable ranking buffers.
#[derive(Debug, Default)]
pub struct Recommender {
    /// Items the page knows.
    pub items: Vec<Item>,
    /// (model id, catalogue index), sorted by id.
    by_id: Vec<(u32, usize)>,
    /// The public model (head plus the shards fetched).
    pub model: Model,
    /// Rules.
    pub rules: Rules,
    ranker: Ranker,
    params: RankParams,
}

const MAX_ITEMS: usize = 20_000;

impl Recommender {
    /// Adds or updates an item (data already on the page wins over nothing).
    pub fn add_item(&mut self, item: Item) {
        let id = sku_id(&item.sku);
        match self.by_id.binary_search_by_key(&id, |&(i, _)| i) {
            Ok(p) => {
                let old = &mut self.items[self.by_id[p].1];
                if old.sku == item.sku {
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
                }
            }
            Err(p) => {
                if self.items.len() < MAX_ITEMS {
                    self.by_id.insert(p, (id, self.items.len()));
                    self.items.push(item);
                }
            }
        }
    }

    /// The catalogue index of a SKU.
    pub fn index_of(&self, sku: &str) -> Option<usize> {
        self.index_of_id(sku_id(sku)).filter(|&i| self.items[i].sku == sku)
    }

    fn index_of_id(&self, id: u32) -> Option<usize> {
        self.by_id.binary_search_by_key(&id, |&(i, _)| i).ok().map(|p| self.by_id[p].1)
    }

    /// Sets an item's public popularity (from the server's feed).
    pub fn set_popularity(&mut self, sku: &str, popularity: f32, trending: bool) {
        if let Some(i) = self.index_of(sku) {
            let it = &mut self.items[i];
            it.popularity = if popularity.is_finite() { popularity.max(0.0) } else { 0.0 };
            it.trending = trending;
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
    /// One pass per step over a fixed array of (score, reason) per catalogue
    /// item: 1. the model, 2. content (interests, or likeness to the anchor),
    /// 3. popularity, 4. rules and exclusions, 5. pins, then the best scores
    /// with diversity.
    pub fn recommend(&mut self, slot: Slot, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config) -> Vec<Rec> {
        let mut out: Vec<Rec> = Vec::new();
        let n = self.items.len();
        if n == 0 || limit == 0 {
            return out;
        }
        let mut sc: Vec<(f32, Why)> = vec![(0.0, NO_REASON); n];
        let anchor_ix = anchor.and_then(|a| self.index_of(a));
        let cart = &profile.cart;

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
        if !seeds.is_empty() && !self.model.is_empty() {
            let by_id = &self.by_id;
            // Skip what the page cannot draw and the seeds themselves (every slot
            // excludes them), so scores are relative to what can be shown.
            let skip = |id: u32| seeds.contains(&id) || by_id.binary_search_by_key(&id, |&(i, _)| i).is_err();
            let ranked = self.ranker.rank(&seeds, &self.model, 200, &self.params, &skip);
            let top = ranked.first().map_or(1.0, |r| r.score).max(1e-6);
            let key = match slot {
                Slot::ForYou => BECAUSE_VIEWED,
                Slot::Similar => SIMILAR_TO,
                Slot::CartComplements => COMPLETES,
                _ => GOES_WITH,
            };
            for r in ranked {
                let Some(i) = self.index_of_id(r.item) else { continue };
                if r.score <= 0.0 {
                    continue;
                }
                let s = &mut sc[i];
                s.0 += r.score / top;
                if let Reason::Viewed(src) = r.reason {
                    s.1 = Why { key, arg: self.index_of_id(src).map_or(NONE, |j| j as u32) };
                }
            }
        }

        // 2. Content: the shopper's interests, or likeness to the anchor. Only
        //    for-you and similar use it (it weighs nothing in the other slots).
        if matches!(slot, Slot::ForYou | Slot::Similar) {
            let interests = profile.top("", 96, now, cfg);
            let max = interests.iter().fold(0f64, |m, x| m.max(x.1)).max(1e-9);
            // The score of the interest `tag` + `val` ("c:" + "shoes"), 0 if none.
            let interest = |tag: &[u8], val: &[u8]| -> f64 {
                for (k, v) in &interests {
                    let k = k.as_bytes();
                    if k.len() == val.len() + 2 && k[..2] == *tag && k[2..] == *val {
                        return *v / max;
                    }
                }
                0.0
            };
            let anchor_item = if slot == Slot::Similar { anchor_ix.map(|a| &self.items[a]) } else { None };
            for (i, (it, s)) in self.items.iter().zip(sc.iter_mut()).enumerate() {
                let content = match anchor_item {
                    Some(a) => likeness(a, it),
                    None => {
                        let mut x = 0.0;
                        if let Some(c) = &it.category {
                            // Every level: "shoes", then "shoes/running".
                            let c = c.as_bytes();
                            for j in 0..=c.len() {
                                if j == c.len() || c[j] == b'/' {
                                    x += interest(b"c:", &c[..j]);
                                }
                            }
                        }
                        if let Some(b) = &it.brand {
                            x += 0.5 * interest(b"b:", b.as_bytes());
                        }
                        if let Some(p) = it.price {
                            x += 0.3 * interest(b"p:", &[b'a' + profile::price_band(p) as u8]);
                        }
                        (x / 2.0).min(1.0)
                    }
                } as f32
                    * 0.5;
                if content > s.0 && s.1.key == POPULAR {
                    s.1 = match (anchor_item, &it.category) {
                        (Some(_), _) => Why { key: SIMILAR_TO, arg: anchor_ix.map_or(NONE, |a| a as u32) },
                        (None, Some(_)) => Why { key: INTEREST, arg: i as u32 },
                        (None, None) => Why { key: INTEREST, arg: NONE },
                    };
                }
                s.0 += content;
            }
        }

        // 3. Popularity: a small prior everywhere, the whole score for trending
        //    (where an item the feed does not call trending is just popular).
        let max_pop = self.items.iter().fold(0f32, |m, it| m.max(it.popularity)).max(1e-6);
        for (it, s) in self.items.iter().zip(sc.iter_mut()) {
            let p = it.popularity / max_pop;
            if slot == Slot::Trending {
                s.0 = if it.trending { 1.0 + p } else { p };
                if it.trending && s.0 > 0.0 {
                    s.1.key = TRENDING;
                }
            } else {
                s.0 += 0.1 * p;
            }
        }

        // 4. Rules and exclusions.
        let mut cart_tops: Vec<&[u8]> = Vec::new();
        for l in cart {
            if let Some(c) = self.index_of(&l.item).and_then(|i| self.items[i].category.as_deref()) {
                cart_tops.push(top_level(c));
            }
        }
        for (i, (it, s)) in self.items.iter().zip(sc.iter_mut()).enumerate() {
            let sku = &it.sku;
            let cat = it.category.as_deref();
            let bought = profile.purchases.iter().find(|p| p.0 == *sku).map(|p| p.1);
            let buy_again = bought.is_some_and(|t| {
                self.rules.buy_again_days > 0 && now.saturating_sub(t) > self.rules.buy_again_days as u64 * 86_400_000
            });
            let excluded = !it.in_stock
                || Some(i) == anchor_ix
                || cart.iter().any(|l| l.item == *sku)
                || (bought.is_some() && !buy_again)
                || (slot == Slot::ForYou && profile.session.items.contains(sku))
                || (slot == Slot::CartComplements && cat.is_some_and(|c| cart_tops.contains(&top_level(c))));
            if excluded {
                s.0 = f32::NEG_INFINITY;
                continue;
            }
            for (prefix, m) in &self.rules.boosts {
                if cat.is_some_and(|c| within(c, prefix)) {
                    s.0 *= if m.is_finite() { m.max(0.0) } else { 1.0 };
                }
            }
        }

        // 5. Pick: pins first, then best scores with diversity — each further
        //    item from an already shown category counts for less.
        for pin in &self.rules.pins {
            if let Some(i) = self.index_of(pin) {
                let s = &mut sc[i];
                // A pin shown already has a score of -inf.
                if s.0.is_finite() && out.len() < limit {
                    out.push(Rec { index: i, score: s.0, why: NO_REASON });
                    s.0 = f32::NEG_INFINITY;
                }
            }
        }
        let cat = |i: usize| self.items[i].category.as_deref().unwrap_or("");
        let mut shown: Vec<&str> = Vec::new();
        while out.len() < limit {
            let mut best = (NONE as usize, 0f32);
            for (i, s) in sc.iter().enumerate() {
                if s.0.partial_cmp(&0.0) != Some(core::cmp::Ordering::Greater) || !s.0.is_finite() {
                    continue;
                }
                let c = cat(i);
                let same = shown.iter().filter(|x| **x == c).count() as i32;
                let v = s.0 * 0.7f32.powi(same);
                if best.0 == NONE as usize || v > best.1 {
                    best = (i, v);
                }
            }
            let (i, v) = best;
            let Some(s) = sc.get_mut(i) else { break };
            shown.push(cat(i));
            out.push(Rec { index: i, score: v, why: s.1 });
            s.0 = f32::NEG_INFINITY;
        }
        out
    }

    /// The name a reason mentions: the named item's name (else its SKU), or for
    /// `why-interest` the last level of its category, "running-shoes" shown as
    /// "running shoes" (then `true`).
    pub fn reason_arg(&self, why: Why) -> Option<(&str, bool)> {
        let it = self.items.get(why.arg as usize)?;
        Some(if why.key == INTEREST {
            let c = it.category.as_deref()?;
            (c.get(c.bytes().rposition(|b| b == b'/').map_or(0, |p| p + 1)..)?, true)
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

/// How alike two items are, from what the page says about them: category
/// (deeper shared levels count more), brand and price band.
fn likeness(a: &Item, b: &Item) -> f64 {
    let mut s = 0.0;
    if let (Some(x), Some(y)) = (&a.category, &b.category) {
        // Levels of x, and how many leading levels x and y share.
        let (x, y) = (x.as_bytes(), y.as_bytes());
        let levels = 1 + x.iter().filter(|&&c| c == b'/').count();
        let (mut shared, mut i, mut j) = (0, 0, 0);
        loop {
            let ei = x[i..].iter().position(|&c| c == b'/').map_or(x.len(), |p| i + p);
            let ej = y[j..].iter().position(|&c| c == b'/').map_or(y.len(), |p| j + p);
            if x[i..ei] != y[j..ej] {
                break;
            }
            shared += 1;
            if ei == x.len() || ej == y.len() {
                break;
            }
            (i, j) = (ei + 1, ej + 1);
        }
        s += shared as f64 / levels as f64;
    }
    if a.brand.is_some() && a.brand == b.brand {
        s += 0.3;
    }
    if let (Some(p), Some(q)) = (a.price, b.price) {
        if profile::price_band(p) == profile::price_band(q) {
            s += 0.2;
        }
    }
    s / 1.5
}

/// The top level of a category path ("shoes" of "shoes/running").
fn top_level(c: &str) -> &[u8] {
    let c = c.as_bytes();
    &c[..c.iter().position(|&b| b == b'/').unwrap_or(c.len())]
}

/// Whether category `c` is `prefix` or under it.
fn within(c: &str, prefix: &str) -> bool {
    let (c, p) = (c.as_bytes(), prefix.as_bytes());
    c.starts_with(p) && (c.len() == p.len() || c[p.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Kind};

    const T: u64 = 1_700_000_000_000;

    fn item(sku: &str, cat: &str, brand: &str, price: i64) -> Item {
        Item {
            sku: sku.into(),
            name: Some(["Name ", sku].concat()),
            category: Some(cat.into()),
            brand: Some(brand.into()),
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
        recs.iter().map(|x| r.items[x.index].sku.clone()).collect()
    }

    #[test]
    fn for_you_follows_the_category_being_browsed_without_a_model() {
        let mut r = shop();
        let cfg = profile::Config::default();
        let p = profile_of(&[(Kind::ProductView, "J1", "apparel/jackets")]);
        let recs = r.recommend(Slot::ForYou, None, 3, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "J2", "{recs:?}");
        assert_eq!((WHY[recs[0].why.key as usize], r.reason_arg(recs[0].why)), ("why-interest", Some(("jackets", true))));
        // Browsing running shoes moves it.
        let p = profile_of(&[(Kind::ProductView, "J1", "apparel/jackets"), (Kind::ProductView, "R1", "shoes/running"), (Kind::ProductView, "R2", "shoes/running")]);
        let recs = r.recommend(Slot::ForYou, None, 2, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "R3", "viewed items are not recommended back: {recs:?}");
    }

    #[test]
    fn the_model_names_the_item_that_led_there() {
        let mut r = shop();
        let cfg = profile::Config::default();
        r.model = Model::from_lists(vec![(sku_id("R1"), vec![(sku_id("B1"), 1.0), (sku_id("UNKNOWN"), 2.0)])], vec![]);
        let p = profile_of(&[(Kind::ProductView, "R1", "shoes/running")]);
        let recs = r.recommend(Slot::ForYou, None, 3, &p, T + 10, &cfg);
        assert_eq!(skus(&r, &recs)[0], "B1");
        assert_eq!((WHY[recs[0].why.key as usize], r.reason_arg(recs[0].why)), ("why-because-viewed", Some(("Name R1", false))));
        assert!(!skus(&r, &recs).contains(&"UNKNOWN".to_string()), "items the page cannot draw are skipped");
    }

    #[test]
    fn exclusions_rules_and_diversity() {
        let mut r = shop();
        let cfg = profile::Config::default();
        let r3 = r.index_of("R3").unwrap();
        r.items[r3].in_stock = false;
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
        r.model = Model::from_lists(vec![(sku_id("R2"), vec![(sku_id("R1"), 3.0), (sku_id("B1"), 1.0)])], vec![]);
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
        assert_eq!(WHY[recs[0].why.key as usize], "why-trending");
        assert_eq!(WHY[recs[1].why.key as usize], "why-popular");
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
                let mut it = item(&["S", &crate::json::itoa(i as u64)].concat(), ["a/b", "a/c", "d"][i % 3], "x", (rnd() % 100_000) as i64);
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
                    let it = &r.items[rec.index];
                    assert!(rec.score.is_finite());
                    assert!(it.in_stock && it.sku != "S1" && !p.cart.iter().any(|l| l.item == it.sku));
                }
            }
        }
    }
}
