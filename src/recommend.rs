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

/// Why an item is shown: a text key (see `i18n`) and the name it mentions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    /// `because-viewed`, `similar-to`, `goes-with`, `completes`, `interest`,
    /// `trending` or `popular`.
    pub key: &'static str,
    /// The item or category named in the text, if any.
    pub arg: Option<String>,
}

/// One recommendation.
#[derive(Clone, Debug, PartialEq)]
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
                    let keep = std::mem::take(old);
                    *old = Item {
                        name: item.name.or(keep.name),
                        image: item.image.or(keep.image),
                        url: item.url.or(keep.url),
                        category: item.category.or(keep.category),
                        brand: item.brand.or(keep.brand),
                        price: item.price.or(keep.price),
                        popularity: item.popularity.max(keep.popularity),
                        trending: item.trending || keep.trending,
                        ..item
                    };
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
            self.items[i].popularity = if popularity.is_finite() { popularity.max(0.0) } else { 0.0 };
            self.items[i].trending = trending;
        }
    }

    /// The model shards the ranking of this profile (and `anchor`) would read,
    /// among `n_shards`, that are not loaded yet.
    pub fn shards_needed(&self, profile: &Profile, anchor: Option<&str>, n_shards: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let skus = profile.session.items.iter().rev().take(20).map(String::as_str);
        let skus = skus.chain(profile.cart.iter().map(|l| l.item.as_str())).chain(anchor);
        for sku in skus {
            let id = sku_id(sku);
            if self.model.neighbours(id).is_some() {
                continue;
            }
            let s = crate::model::shard_of(id, n_shards);
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// Ranks a slot. `anchor` is the item a `similar` slot is about (or the
    /// product of the page).
    pub fn recommend(&mut self, slot: Slot, anchor: Option<&str>, limit: usize, profile: &Profile, now: u64, cfg: &profile::Config) -> Vec<Rec> {
        let n = self.items.len();
        if n == 0 || limit == 0 {
            return Vec::new();
        }
        let mut score = vec![0f32; n];
        let mut why: Vec<Option<Why>> = vec![None; n];
        let anchor_ix = anchor.and_then(|a| self.index_of(a));
        let cart: Vec<&str> = profile.cart.iter().map(|l| l.item.as_str()).collect();

        // 1. The model: "people who looked at this looked at that".
        let seeds: Vec<String> = match slot {
            Slot::ForYou => profile.session.items.iter().rev().take(20).rev().cloned().collect(),
            Slot::Similar => anchor.map(|a| vec![a.to_owned()]).unwrap_or_default(),
            Slot::BoughtTogether | Slot::CartComplements => {
                if cart.is_empty() {
                    anchor.map(|a| vec![a.to_owned()]).unwrap_or_default()
                } else {
                    cart.iter().map(|s| (*s).to_owned()).collect()
                }
            }
            Slot::Trending => Vec::new(),
        };
        if !seeds.is_empty() && !self.model.is_empty() {
            let ids: Vec<u32> = seeds.iter().map(|s| sku_id(s)).collect();
            let by_id = &self.by_id;
            // Skip what the page cannot draw and the seeds themselves (every slot
            // excludes them), so scores are relative to what can be shown.
            let skip = |id: u32| ids.contains(&id) || by_id.binary_search_by_key(&id, |&(i, _)| i).is_err();
            let ranked = self.ranker.rank(&ids, &self.model, 200, &self.params, &skip);
            let top = ranked.first().map_or(1.0, |r| r.score).max(1e-6);
            for r in ranked {
                let Some(i) = self.index_of_id(r.item) else { continue };
                if r.score <= 0.0 {
                    continue;
                }
                score[i] += r.score / top;
                if let Reason::Viewed(src) = r.reason {
                    let name = self.index_of_id(src).map(|j| self.display(j));
                    let key = match slot {
                        Slot::ForYou => "because-viewed",
                        Slot::Similar => "similar-to",
                        Slot::CartComplements => "completes",
                        _ => "goes-with",
                    };
                    why[i] = Some(Why { key, arg: name });
                }
            }
        }

        // 2. Content: the shopper's interests, or likeness to the anchor.
        let interests = profile.top("", 96, now, cfg);
        let max_interest = interests.iter().map(|x| x.1).fold(0f64, f64::max).max(1e-9);
        let interest = |key: &str| -> f64 { interests.iter().find(|(k, _)| k == key).map_or(0.0, |x| x.1) / max_interest };
        let anchor_item = anchor_ix.map(|i| self.items[i].clone());
        for (i, it) in self.items.iter().enumerate() {
            let content = match (slot, &anchor_item) {
                (Slot::Similar, Some(a)) => likeness(a, it),
                (Slot::BoughtTogether | Slot::CartComplements, _) => 0.0,
                _ => {
                    let mut s = 0.0;
                    if let Some(c) = &it.category {
                        for (j, _) in c.match_indices('/').chain(std::iter::once((c.len(), ""))) {
                            s += interest(&["c:", c.get(..j).unwrap_or(c)].concat());
                        }
                    }
                    if let Some(b) = &it.brand {
                        s += 0.5 * interest(&["b:", b].concat());
                    }
                    if let Some(p) = it.price {
                        let band = [b'a' + profile::price_band(p) as u8];
                        s += 0.3 * interest(&["p:", core::str::from_utf8(&band).unwrap_or("a")].concat());
                    }
                    (s / 2.0).min(1.0)
                }
            };
            let content = content as f32;
            let weight = if slot == Slot::Trending { 0.0 } else { 0.5 };
            if content * weight > score[i] && why[i].is_none() {
                why[i] = Some(match (slot, &anchor_item) {
                    (Slot::Similar, Some(a)) => Why { key: "similar-to", arg: Some(self.display_item(a)) },
                    _ => Why { key: "interest", arg: it.category.as_deref().map(leaf) },
                });
            }
            score[i] += content * weight;
        }

        // 3. Popularity: a small prior everywhere, the whole score for trending.
        let max_pop = self.items.iter().map(|i| i.popularity).fold(0f32, f32::max).max(1e-6);
        for (i, it) in self.items.iter().enumerate() {
            let p = it.popularity / max_pop;
            if slot == Slot::Trending {
                score[i] = if it.trending { 1.0 + p } else { p };
                if score[i] > 0.0 {
                    why[i] = Some(Why { key: if it.trending { "trending" } else { "popular" }, arg: None });
                }
            } else {
                score[i] += 0.1 * p;
                if why[i].is_none() && p > 0.0 {
                    why[i] = Some(Why { key: "popular", arg: None });
                }
            }
        }

        // 4. Rules and exclusions.
        let viewed_now: Vec<&str> = profile.session.items.iter().map(String::as_str).collect();
        let cart_tops: Vec<&str> = cart
            .iter()
            .filter_map(|s| self.index_of(s))
            .filter_map(|i| self.items[i].category.as_deref())
            .map(top_level)
            .collect();
        for (i, it) in self.items.iter().enumerate() {
            let bought = profile.purchases.iter().find(|(p, _)| *p == it.sku).map(|x| x.1);
            let buy_again = bought.is_some_and(|t| {
                self.rules.buy_again_days > 0 && now.saturating_sub(t) > self.rules.buy_again_days as u64 * 86_400_000
            });
            let excluded = !it.in_stock
                || Some(i) == anchor_ix
                || cart.contains(&it.sku.as_str())
                || (bought.is_some() && !buy_again)
                || (slot == Slot::ForYou && viewed_now.contains(&it.sku.as_str()))
                || (slot == Slot::CartComplements
                    && it.category.as_deref().is_some_and(|c| cart_tops.contains(&top_level(c))));
            if excluded {
                score[i] = f32::NEG_INFINITY;
                continue;
            }
            for (prefix, m) in &self.rules.boosts {
                if it.category.as_deref().is_some_and(|c| c == prefix || c.starts_with(&[prefix.as_str(), "/"].concat())) {
                    score[i] *= if m.is_finite() { m.max(0.0) } else { 1.0 };
                }
            }
        }

        // 5. Pick: pins first, then best scores with diversity — each further
        //    item from an already shown category counts for less.
        let mut out: Vec<Rec> = Vec::new();
        for pin in &self.rules.pins {
            if let Some(i) = self.index_of(pin) {
                if score[i].is_finite() && out.len() < limit && !out.iter().any(|r| r.index == i) {
                    out.push(Rec { index: i, score: score[i], why: Why { key: "popular", arg: None } });
                    score[i] = f32::NEG_INFINITY;
                }
            }
        }
        let mut shown: Vec<&str> = Vec::new();
        while out.len() < limit {
            let mut best: Option<(usize, f32)> = None;
            for i in 0..n {
                if !(score[i] > 0.0) || !score[i].is_finite() {
                    continue;
                }
                let cat = self.items[i].category.as_deref().unwrap_or("");
                let same = shown.iter().filter(|c| **c == cat).count() as i32;
                let s = score[i] * 0.7f32.powi(same);
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((i, s));
                }
            }
            let Some((i, s)) = best else { break };
            shown.push(self.items[i].category.as_deref().unwrap_or(""));
            let w = why[i].take().unwrap_or(Why { key: "popular", arg: None });
            out.push(Rec { index: i, score: s, why: w });
            score[i] = f32::NEG_INFINITY;
        }
        out
    }

    fn display(&self, i: usize) -> String {
        self.display_item(&self.items[i])
    }

    fn display_item(&self, it: &Item) -> String {
        it.name.clone().unwrap_or_else(|| it.sku.clone())
    }
}

/// How alike two items are, from what the page says about them: category
/// (deeper shared levels count more), brand and price band.
fn likeness(a: &Item, b: &Item) -> f64 {
    let mut s = 0.0;
    if let (Some(x), Some(y)) = (&a.category, &b.category) {
        let xs: Vec<&str> = x.split('/').collect();
        let shared = xs.iter().zip(y.split('/')).take_while(|(p, q)| **p == *q).count();
        s += shared as f64 / xs.len().max(1) as f64;
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

fn top_level(c: &str) -> &str {
    c.split('/').next().unwrap_or(c)
}

/// The last level of a category path, as shown in reasons ("running").
fn leaf(c: &str) -> String {
    c.rsplit('/').next().unwrap_or(c).replace(['-', '_'], " ")
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
        assert_eq!(recs[0].why, Why { key: "interest", arg: Some("jackets".into()) });
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
        assert_eq!(recs[0].why, Why { key: "because-viewed", arg: Some("Name R1".into()) });
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
        assert_eq!(recs[0].why.key, "trending");
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
