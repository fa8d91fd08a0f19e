//! How long ranking one slot takes as the catalogue the page knows grows.
//!
//! ```sh
//! cargo run --release --example rank_bench                    # 200, 2,000 and 20,000 items
//! cargo run --release --example rank_bench -- 50000           # other sizes
//! cargo run --release --example rank_bench -- 20000 for-you   # some slots only (comma-separated)
//! ```
//!
//! A synthetic shop: items in 40 leaf categories under 8 top-level ones, 30 brands,
//! prices from 5 to 500, a popularity for every item, and an item-to-item model with
//! 30 neighbours per item. The shopper has viewed 12 items, has 2 in the cart, bought
//! 3 and liked 2. Each slot kind is ranked (8 items) repeatedly and the median time
//! per call is printed. Native timings; the same code in wasm (`opt-level = "z"`, V8)
//! measured 2.5 to 3.5 times slower. The figures before and after the ranking work
//! of `recommend` are in the module docs of `src/recommend.rs`. Not a test: it
//! asserts nothing.

use std::time::Instant;

use vitrina::event::{Event, Kind};
use vitrina::model::Model;
use vitrina::profile::{self, Profile};
use vitrina::recommend::{sku_id, Item, Recommender, Slot};

/// A small deterministic generator (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sku(i: u64) -> String {
    format!("SKU-{i:06}")
}

fn category(i: u64) -> String {
    format!("top{}/leaf{}", i % 8, i % 40)
}

fn shop(n: u64, rng: &mut Rng) -> Recommender {
    let mut r = Recommender::default();
    for i in 0..n {
        r.add_item(Item {
            sku: &sku(i),
            category: Some(&category(i)),
            brand: Some(&format!("Brand{}", rng.below(30))),
            price: Some(500 + rng.below(49_500) as i64),
            in_stock: rng.below(20) != 0,
            popularity: rng.below(1000) as f32,
            trending: rng.below(50) == 0,
        });
    }
    let lists = (0..n)
        .map(|i| {
            let mut nb: Vec<(u32, f32)> = (0..30).map(|k| (sku_id(&sku(rng.below(n))), 1.0 / (k + 1) as f32)).collect();
            nb.sort_by_key(|x| x.0);
            nb.dedup_by_key(|x| x.0);
            (sku_id(&sku(i)), nb)
        })
        .collect();
    let popular = (0..50.min(n)).map(|i| (sku_id(&sku(i)), 1.0 - i as f32 / 100.0)).collect();
    r.add_model(Model::from_lists(lists, popular));
    r
}

fn shopper(n: u64, rng: &mut Rng) -> Profile {
    let cfg = profile::Config::default();
    let mut p = Profile::default();
    let t0 = 1_790_000_000_000u64;
    let mut t = t0;
    let ev = |p: &mut Profile, kind: Kind, i: u64, t: u64| {
        let e = Event { item: Some(sku(i)), category: Some(category(i)), qty: Some(1), price: Some(1000), ..Event::new(kind, t) };
        p.touch_session(t, 7);
        p.apply(&e, None, &cfg);
    };
    for _ in 0..12 {
        t += 40_000;
        ev(&mut p, Kind::ProductView, rng.below(n), t);
    }
    for _ in 0..2 {
        t += 40_000;
        ev(&mut p, Kind::CartAdd, rng.below(n), t);
    }
    for _ in 0..2 {
        t += 40_000;
        ev(&mut p, Kind::Like, rng.below(n), t);
    }
    p
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<u64> = match std::env::args().nth(1) {
        Some(s) => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        None => vec![200, 2_000, 20_000],
    };
    let cfg = profile::Config::default();
    let only = std::env::args().nth(2);
    let slots: Vec<(&str, Slot)> = [("for-you", Slot::ForYou), ("similar", Slot::Similar), ("bought-together", Slot::BoughtTogether), ("trending", Slot::Trending), ("cart-complements", Slot::CartComplements)]
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|o| o.split(',').any(|o| o == s.0)))
        .collect();
    println!("{:>8}  {}", "items", slots.iter().map(|s| format!("{:>17}", s.0)).collect::<String>());
    for &n in &sizes {
        let mut rng = Rng(n);
        let mut r = shop(n, &mut rng);
        let p = shopper(n, &mut rng);
        let now = 1_790_000_000_000u64 + 3_600_000;
        let anchor = sku(rng.below(n));
        let mut row = format!("{n:>8}  ");
        for &(_, slot) in &slots {
            let reps = (2_000_000 / n).clamp(20, 2000) as usize;
            let mut times = Vec::with_capacity(reps);
            let mut shown = 0;
            for _ in 0..reps {
                let t = Instant::now();
                let recs = r.recommend(slot, Some(&anchor), 8, &p, now, &cfg);
                times.push(t.elapsed().as_secs_f64() * 1e3);
                shown = recs.len();
            }
            row.push_str(&format!("{:>11.3} ms ({shown})", median(times)));
        }
        println!("{row}");
    }
    println!("median time to rank one slot of 8 (items shown in parentheses), native release build");
}
