//! The shopper's private profile, kept on the device.
//!
//! A profile is what Vitrina remembers of one shopper: decaying interests
//! (affinities) per category level, brand and price band; recently viewed items;
//! the cart; purchases; likes; and sessions. [`Profile::apply`] folds one event into
//! it; [`Profile::encode`] writes a versioned, compact binary form bounded in size,
//! evicting the least informative data first.
//!
//! The key design decision is that affinities are stored as (score, time of last
//! update) and decayed lazily: reading or bumping a score first brings it to "now"
//! with `score · 2^(-Δt / half_life)`. Nothing ever has to walk the whole profile
//! on a timer.

use crate::codec::{put_varint, DecodeError, Reader, MAX_STRING_LEN};
use crate::event::{Event, ItemInfo, Kind};

/// How the profile behaves. Defaults suit a typical shop.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Half-life of interests, in days.
    pub half_life_days: f64,
    /// Hard bound on the encoded size, in bytes.
    pub max_bytes: usize,
    /// Data older than this many days is purged on load.
    pub retention_days: u32,
    /// Most recently viewed items kept.
    pub max_recent: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { half_life_days: 14.0, max_bytes: 16 * 1024, retention_days: 180, max_recent: 24 }
    }
}

const DAY_MS: f64 = 86_400_000.0;
/// Inactivity that ends a session.
pub const SESSION_GAP_MS: u64 = 30 * 60 * 1000;
/// Past sessions kept.
pub const MAX_PAST_SESSIONS: usize = 8;
const MAX_AFFINITIES: usize = 96;
const MAX_CART: usize = 50;
const MAX_LIKES: usize = 200;
const MAX_PURCHASES: usize = 200;

/// A recently viewed item with what is needed to show it again.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Recent {
    /// Item id.
    pub item: String,
    /// Display data (name, image, url).
    pub info: ItemInfo,
    /// Category path.
    pub category: Option<String>,
    /// Price in hundredths.
    pub price: Option<i64>,
    /// Last viewed, ms since epoch.
    pub ts: u64,
    /// How many times it was viewed.
    pub views: u32,
    /// Visible time accumulated on its page, ms.
    pub dwell_ms: u32,
}

/// A line in the cart.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CartLine {
    /// Item id.
    pub item: String,
    /// Quantity.
    pub qty: u32,
    /// Unit price in hundredths.
    pub price: Option<i64>,
    /// When it was last changed.
    pub ts: u64,
}

/// One interest: a key such as `c:shoes/running`, `b:Stride` or `p:4`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Affinity {
    /// `c:` category path (every level), `b:` brand, `p:` price band.
    pub key: String,
    /// Score as of `ts`.
    pub score: f64,
    /// When the score was last brought up to date.
    pub ts: u64,
}

/// A session: a run of activity without a 30-minute gap.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Session {
    /// Random session number (sent in batch headers).
    pub id: u32,
    /// First event.
    pub start: u64,
    /// Last event.
    pub last: u64,
    /// Events in it.
    pub events: u32,
    /// Items viewed in it, most recent last (bounded).
    pub items: Vec<String>,
}

/// Everything Vitrina keeps about one shopper on one device.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Profile {
    /// Recently viewed, most recent first, de-duplicated.
    pub recent: Vec<Recent>,
    /// The cart.
    pub cart: Vec<CartLine>,
    /// Liked items with when, most recent first.
    pub likes: Vec<(String, u64)>,
    /// Purchased items with when, most recent first.
    pub purchases: Vec<(String, u64)>,
    /// Interests.
    pub affinity: Vec<Affinity>,
    /// The current session.
    pub session: Session,
    /// Past sessions, most recent first.
    pub past: Vec<Session>,
    /// Last change, ms since epoch.
    pub updated: u64,
}

/// Why a stored profile could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// Written by a newer version of Vitrina.
    FutureVersion(u8),
    /// Not a profile, or damaged.
    Corrupt(DecodeError),
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::FutureVersion(v) => write!(f, "stored profile has future version {v}"),
            ProfileError::Corrupt(e) => write!(f, "stored profile is corrupt: {e}"),
        }
    }
}

impl From<DecodeError> for ProfileError {
    fn from(e: DecodeError) -> Self {
        ProfileError::Corrupt(e)
    }
}

/// The price band of a price in hundredths: roughly logarithmic, so 10, 20, 50,
/// 100, 200, 500... units fall in successive bands.
pub fn price_band(price: i64) -> u32 {
    const EDGES: [i64; 10] = [1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];
    EDGES.iter().position(|&e| price < e).unwrap_or(EDGES.len()) as u32
}

/// The position of the first weakest of `n` interests (the j-th is `at(j)`) as
/// of `now`, as `min_by` with `total_cmp` finds it; 0 when there are none.
fn weakest<'a>(n: usize, at: impl Fn(usize) -> Option<&'a Affinity>, now: u64, cfg: &Config) -> usize {
    let score = |j| at(j).map_or(0.0, |a: &Affinity| decay(a.score, a.ts, now, cfg.half_life_days));
    let (mut w, mut low) = (0, score(0));
    for j in 1..n {
        let s = score(j);
        if s.total_cmp(&low).is_lt() {
            (w, low) = (j, s);
        }
    }
    w
}

/// `Vec::retain` as a plain loop: the standard one is large in wasm, and is
/// instantiated once per list type and condition, this one once per type.
pub(crate) fn retain<T>(v: &mut Vec<T>, keep: &mut dyn FnMut(&T) -> bool) {
    let mut i = 0;
    while i < v.len() {
        if keep(&v[i]) {
            i += 1;
        } else {
            remove(v, i);
        }
    }
}

/// `Vec::remove`: the standard one is instantiated per element type with its
/// own checks and moves (about 150 bytes of wasm each), this one is a read and
/// a `memmove`. Panics (a trap in the wasm) when `i` is out of bounds, as the
/// standard one does.
pub(crate) fn remove<T>(v: &mut Vec<T>, i: usize) -> T {
    let len = v.len();
    assert!(i < len);
    // SAFETY: `i < len`: the element is read once, the tail moved over it, and
    // the length shortened, so it is neither dropped twice nor read again.
    unsafe {
        let p = v.as_mut_ptr().add(i);
        let x = core::ptr::read(p);
        core::ptr::copy(p.add(1), p, len - i - 1);
        v.set_len(len - 1);
        x
    }
}

/// `v.insert(0, x)`, as small as [`remove`].
pub(crate) fn push_front<T>(v: &mut Vec<T>, x: T) {
    v.reserve(1);
    let len = v.len();
    // SAFETY: room for one more was reserved; the elements move up by one and
    // the first slot, now a stale copy, is overwritten without being dropped.
    unsafe {
        let p = v.as_mut_ptr();
        core::ptr::copy(p, p.add(1), len);
        core::ptr::write(p, x);
        v.set_len(len + 1);
    }
}

/// Takes `new` when it is there (one function for the four fields of a view).
#[inline(never)]
fn newer(old: &mut Option<String>, new: &Option<String>) {
    if new.is_some() {
        *old = new.clone();
    }
}

fn decay(score: f64, from: u64, to: u64, half_life_days: f64) -> f64 {
    if to <= from || half_life_days <= 0.0 {
        return score;
    }
    let dt = (to - from) as f64 / DAY_MS;
    score * half_power(dt / half_life_days)
}

/// `2^-h` for `h >= 0` (NaN gives 0), as close as libm's `exp(-h · ln 2)` (the
/// two differ by under 1e-15 · (1 + h) relative), with no libm in the wasm (its `exp` and `scalbn` cost 0.6 KB): `2^-h = 2^-n · e^(-f·ln 2)`
/// for the whole and fractional parts of `h`, the second by its Taylor series
/// (19 terms: the last is below 1e-17 for `f·ln 2 < 0.7`), the first by building
/// the float's exponent.
pub(crate) fn half_power(h: f64) -> f64 {
    // Below 2^-1000 every score is nothing (and the exponent below stays normal).
    if !(h < 1000.0) {
        return 0.0;
    }
    let n = h.floor();
    let y = -(h - n) * core::f64::consts::LN_2;
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..20 {
        term *= y / k as f64;
        sum += term;
    }
    sum * f64::from_bits((1023 - n as u64) << 52)
}

impl Profile {
    /// Brings the session up to date for activity at `now`, starting a new one
    /// after 30 minutes of inactivity. `rand` is a random number for the new id.
    pub fn touch_session(&mut self, now: u64, rand: u32) {
        let s = &mut self.session;
        if s.events == 0 || now.saturating_sub(s.last) > SESSION_GAP_MS {
            if s.events > 0 {
                let old = std::mem::take(s);
                push_front(&mut self.past, old);
                self.past.truncate(MAX_PAST_SESSIONS);
            }
            self.session = Session { id: rand, start: now, last: now, events: 0, items: Vec::new() };
        }
        self.session.last = self.session.last.max(now);
        self.session.events += 1;
    }

    /// Adds `weight` to an interest, decaying it to `now` first.
    pub fn bump(&mut self, key: String, weight: f64, now: u64, cfg: &Config) {
        let (p, v) = key.split_at(key.bytes().position(|b| b == b':').map_or(0, |i| i + 1));
        if !self.bump_existing(p, v, weight, now, cfg) {
            self.insert_interest(key, weight, now, cfg);
        }
    }

    /// Bumps `prefix` + `value` if present, without allocating (the hot path of
    /// every event).
    fn bump_existing(&mut self, prefix: &str, value: &str, weight: f64, now: u64, cfg: &Config) -> bool {
        let n = prefix.len() + value.len();
        match self.affinity.iter_mut().find(|a| a.key.len() == n && a.key.starts_with(prefix) && a.key.ends_with(value)) {
            Some(a) => {
                a.score = decay(a.score, a.ts, now, cfg.half_life_days) + weight;
                a.ts = a.ts.max(now);
                true
            }
            None => false,
        }
    }

    fn insert_interest(&mut self, key: String, weight: f64, now: u64, cfg: &Config) {
        self.affinity.push(Affinity { key, score: weight, ts: now });
        if self.affinity.len() > MAX_AFFINITIES {
            // Drop the (first) weakest interest as of now.
            let i = weakest(self.affinity.len(), |j| self.affinity.get(j), now, cfg);
            self.affinity.swap_remove(i);
        }
    }

    fn bump_parts(&mut self, prefix: &str, value: &str, weight: f64, now: u64, cfg: &Config) {
        if !self.bump_existing(prefix, value, weight, now, cfg) {
            self.insert_interest(crate::event::cat(&[prefix, value]), weight, now, cfg);
        }
    }

    fn bump_item(&mut self, e: &Event, weight: f64, now: u64, cfg: &Config) {
        if let Some(c) = &e.category {
            // Every level of the path: `shoes`, `shoes/running`.
            let b = c.as_bytes();
            for i in 0..b.len() + 1 {
                if b.get(i).is_none_or(|&b| b == b'/') {
                    self.bump_parts("c:", c.get(..i).unwrap_or(c), weight, now, cfg);
                }
            }
        }
        if let Some(b) = &e.brand {
            self.bump_parts("b:", b, weight * 0.5, now, cfg);
        }
        if let Some(p) = e.price {
            let band = price_band(p) as usize;
            self.bump_parts("p:", "abcdefghijk".get(band..band + 1).unwrap_or("a"), weight * 0.3, now, cfg);
        }
    }

    /// Folds one (validated) event into the profile. `info` is the item's display
    /// data when the page knows it.
    pub fn apply(&mut self, e: &Event, info: Option<&ItemInfo>, cfg: &Config) {
        let now = e.ts;
        self.updated = self.updated.max(now);
        let item = e.item.as_deref().unwrap_or("");
        match e.kind {
            Kind::ProductView => {
                let pos = self.recent.iter().position(|r| *r.item == *item);
                let mut r = match pos {
                    Some(i) => remove(&mut self.recent, i),
                    None => Recent { item: item.to_owned(), ..Recent::default() },
                };
                // A dwell report for a view already counted only adds time.
                if e.dwell_ms.is_none() || pos.is_none() {
                    r.views += 1;
                    self.bump_item(e, 1.0, now, cfg);
                    if !self.session.items.iter().any(|i| **i == *item) || self.session.items.last().is_none_or(|l| **l != *item) {
                        self.session.items.push(item.to_owned());
                        if self.session.items.len() > 32 {
                            remove(&mut self.session.items, 0);
                        }
                    }
                }
                if let Some(d) = e.dwell_ms {
                    r.dwell_ms = r.dwell_ms.saturating_add(d);
                    // Long looks say more than glances: up to one more point.
                    self.bump_item(e, (d as f64 / 60_000.0).min(1.0), now, cfg);
                }
                if let Some(i) = info {
                    newer(&mut r.info.name, &i.name);
                    newer(&mut r.info.image, &i.image);
                    newer(&mut r.info.url, &i.url);
                }
                newer(&mut r.category, &e.category);
                if e.price.is_some() {
                    r.price = e.price;
                }
                r.ts = now;
                push_front(&mut self.recent, r);
                self.recent.truncate(cfg.max_recent);
            }
            Kind::CartAdd => {
                let qty = e.qty.unwrap_or(1);
                match self.cart.iter_mut().find(|l| *l.item == *item) {
                    Some(l) => {
                        l.qty = l.qty.saturating_add(qty).min(crate::event::limits::MAX_QTY);
                        l.ts = now;
                        if e.price.is_some() {
                            l.price = e.price;
                        }
                    }
                    None => {
                        self.cart.push(CartLine { item: item.to_owned(), qty, price: e.price, ts: now });
                        if self.cart.len() > MAX_CART {
                            remove(&mut self.cart, 0);
                        }
                    }
                }
                self.bump_item(e, 3.0, now, cfg);
            }
            Kind::CartRemove => {
                if let Some(i) = self.cart.iter().position(|l| *l.item == *item) {
                    match e.qty {
                        Some(q) if q < self.cart[i].qty => self.cart[i].qty -= q,
                        _ => {
                            remove(&mut self.cart, i);
                        }
                    }
                }
            }
            Kind::Purchase => {
                for l in &e.lines {
                    retain(&mut self.purchases, &mut |(p, _)| **p != *l.item);
                    push_front(&mut self.purchases, (l.item.clone(), now));
                    retain(&mut self.cart, &mut |c| *c.item != *l.item);
                }
                self.purchases.truncate(MAX_PURCHASES);
            }
            Kind::Like => {
                retain(&mut self.likes, &mut |(l, _)| **l != *item);
                push_front(&mut self.likes, (item.to_owned(), now));
                self.likes.truncate(MAX_LIKES);
                self.bump_item(e, 2.0, now, cfg);
            }
            Kind::Unlike => retain(&mut self.likes, &mut |(l, _)| **l != *item),
            _ => {}
        }
    }

    /// Whether the shopper likes `item`.
    pub fn likes(&self, item: &str) -> bool {
        self.likes.iter().any(|(l, _)| **l == *item)
    }

    /// The strongest interests as of `now` whose keys start with `prefix`
    /// (`"c:"` for categories), strongest first.
    pub fn top(&self, prefix: &str, n: usize, now: u64, cfg: &Config) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = Vec::new();
        for a in &self.affinity {
            if let Some(k) = a.key.strip_prefix(prefix) {
                v.push((k.to_owned(), decay(a.score, a.ts, now, cfg.half_life_days)));
            }
        }
        // Insertion sort: at most a hundred interests, and far smaller in wasm than
        // the standard library's sorts.
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && (v[j].1 > v[j - 1].1 || v[j].1 == v[j - 1].1 && v[j].0 < v[j - 1].0) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        v.truncate(n);
        v
    }

    /// Drops everything older than the retention period, and what was last
    /// touched before `floor` (ms since epoch; an erase in another tab).
    pub fn purge(&mut self, now: u64, cfg: &Config, floor: u64) {
        let cutoff = now.saturating_sub(cfg.retention_days as u64 * 86_400_000).max(floor);
        retain(&mut self.recent, &mut |r| r.ts >= cutoff);
        retain(&mut self.cart, &mut |l| l.ts >= cutoff);
        retain(&mut self.likes, &mut |l| l.1 >= cutoff);
        retain(&mut self.purchases, &mut |p| p.1 >= cutoff);
        retain(&mut self.affinity, &mut |a| a.ts >= cutoff);
        retain(&mut self.past, &mut |s| s.last >= cutoff);
        if self.session.last < cutoff {
            self.session = Session::default();
        }
    }
}

// ---------------------------------------------------------------------------
// Serialized form.

/// The version [`Profile::encode`] writes.
pub const PROFILE_VERSION: u8 = 1;

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        Some(s) => {
            put_varint(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
        None => out.push(0),
    }
}

fn put_price(out: &mut Vec<u8>, p: Option<i64>) {
    put_varint(out, p.map_or(0, |p| p.max(0) as u64 + 1));
}

/// What [`Profile::encode`] keeps of each list while it evicts: evicting moves
/// these bounds instead of changing (a copy of) the profile.
struct Kept {
    recent: usize,
    cart_from: usize,
    likes: usize,
    purchases: usize,
    /// Indexes of the interests kept, in the order they are written.
    affinity: Vec<usize>,
    past: usize,
    items_from: usize,
}

/// The writer of [`Profile::walk`]: the binary form (`o`) or JSON (`s`).
struct Out {
    json: bool,
    o: Vec<u8>,
    s: String,
    /// JSON: a value was written in the current object or list (a comma is due).
    sep: bool,
    /// Binary: times are written as ages before this.
    base: u64,
}

impl Out {
    /// JSON: the separator and `"k":` (nothing for an empty key), then the value.
    fn key(&mut self, k: &str) -> &mut String {
        if self.sep {
            self.s.push(',');
        }
        self.sep = true;
        if !k.is_empty() {
            crate::json::push_str(&mut self.s, k);
            self.s.push(':');
        }
        &mut self.s
    }

    /// Opens a list of `n` entries (binary: its count) or an object (binary: nothing).
    fn open(&mut self, k: &str, n: usize, c: char) {
        if self.json {
            self.key(k).push(c);
            self.sep = false;
        } else if c == '[' {
            put_varint(&mut self.o, n as u64);
        }
    }

    fn close(&mut self, c: char) {
        if self.json {
            self.s.push(c);
            self.sep = true;
        }
    }

    fn num(&mut self, k: &str, v: u64) {
        if self.json {
            crate::json::push_i64(self.key(k), v as i64);
        } else {
            put_varint(&mut self.o, v);
        }
    }

    fn text(&mut self, k: &str, v: &str) {
        if self.json {
            crate::json::push_str(self.key(k), v);
        } else {
            put_str(&mut self.o, v);
        }
    }

    /// An optional string: JSON leaves it out, binary writes its length plus one, 0 for none.
    fn opt(&mut self, k: &str, v: &Option<String>) {
        if self.json {
            if let Some(v) = v {
                self.text(k, v);
            }
        } else {
            put_opt(&mut self.o, v);
        }
    }

    fn price(&mut self, p: Option<i64>) {
        if self.json {
            if let Some(p) = p {
                crate::json::push_i64(self.key("price"), p);
            }
        } else {
            put_price(&mut self.o, p);
        }
    }

    /// A time: JSON as it is, binary as an age.
    fn time(&mut self, ts: u64) {
        let v = if self.json { ts } else { self.base.saturating_sub(ts) };
        self.num("ts", v);
    }
}

impl Profile {
    /// The current session (0), then the past ones (from 1): an index, where
    /// `once(..).chain(..)` would be an iterator instance per use.
    fn session_at(&self, n: usize) -> &Session {
        match n {
            0 => &self.session,
            _ => &self.past[n - 1],
        }
    }

    /// Writes the profile in its compact versioned form, evicting the least
    /// informative data until it fits `cfg.max_bytes`.
    pub fn encode(&self, cfg: &Config) -> Vec<u8> {
        let mut k = Kept {
            recent: self.recent.len(),
            cart_from: 0,
            likes: self.likes.len(),
            purchases: self.purchases.len(),
            affinity: Vec::new(),
            past: self.past.len(),
            items_from: 0,
        };
        // A loop, not `collect`: no `FromIterator` for this one use.
        for i in 0..self.affinity.len() {
            k.affinity.push(i);
        }
        loop {
            let out = self.encode_raw(&k);
            if out.len() <= cfg.max_bytes || !self.evict_one(&mut k, cfg) {
                return out;
            }
        }
    }

    /// Removes one piece of the least informative data. Order: old past sessions,
    /// then the oldest recently viewed beyond the newest eight, then the weakest
    /// interests, then old likes and purchases. Returns false when nothing is left.
    fn evict_one(&self, k: &mut Kept, cfg: &Config) -> bool {
        if k.past > 2 {
            k.past -= 1;
        } else if k.recent > 8 {
            k.recent -= 1;
        } else if k.affinity.len() > 16 {
            let i = weakest(k.affinity.len(), |j| self.affinity.get(k.affinity[j]), self.updated, cfg);
            k.affinity.swap_remove(i);
        } else if k.likes > 20 {
            k.likes -= 1;
        } else if k.purchases > 20 {
            k.purchases -= 1;
        } else if k.past > 0 {
            k.past -= 1;
        } else if k.recent > 0 {
            k.recent -= 1;
        } else if k.likes > 0 {
            k.likes -= 1;
        } else if k.purchases > 0 {
            k.purchases -= 1;
        } else if k.affinity.pop().is_some() {
        } else if k.cart_from < self.cart.len() {
            k.cart_from += 1;
        } else if k.items_from < self.session.items.len() {
            k.items_from += 1;
        } else {
            return false;
        }
        true
    }

    fn encode_raw(&self, k: &Kept) -> Vec<u8> {
        self.walk(k, None).o
    }

    /// Everything kept, as JSON, for the shopper's "your data" panel and export.
    /// Scores are given in thousandths, decayed to `now`.
    pub fn to_json(&self, now: u64, cfg: &Config) -> String {
        let k = Kept {
            recent: self.recent.len(),
            cart_from: 0,
            likes: self.likes.len(),
            purchases: self.purchases.len(),
            affinity: Vec::new(),
            past: self.past.len(),
            items_from: 0,
        };
        self.walk(&k, Some((now, cfg))).s
    }

    /// The one walk of the profile behind both of its forms: the stored binary
    /// form of what `k` keeps (`json` `None`), or the public JSON as of `now`
    /// (`json` `Some`), whose interests are decayed and sorted and whose sessions
    /// are those with events. One walk instead of two is smaller in wasm.
    fn walk(&self, k: &Kept, json: Option<(u64, &Config)>) -> Out {
        let mut w = Out { json: json.is_some(), o: Vec::new(), s: String::new(), sep: false, base: self.updated };
        w.open("", 0, '{');
        w.num("version", PROFILE_VERSION as u64);
        w.num("updated", self.updated);
        let recent = &self.recent[..k.recent];
        w.open("recent", recent.len(), '[');
        for r in recent {
            w.open("", 0, '{');
            w.text("item", &r.item);
            w.opt("name", &r.info.name);
            w.opt("image", &r.info.image);
            w.opt("url", &r.info.url);
            w.opt("category", &r.category);
            w.price(r.price);
            w.time(r.ts);
            w.num("views", r.views as u64);
            w.num("dwell_ms", r.dwell_ms as u64);
            w.close('}');
        }
        w.close(']');
        let cart = &self.cart[k.cart_from..];
        w.open("cart", cart.len(), '[');
        for l in cart {
            w.open("", 0, '{');
            w.text("item", &l.item);
            w.num("qty", l.qty as u64);
            w.price(l.price);
            w.time(l.ts);
            w.close('}');
        }
        w.close(']');
        for n in 0..2 {
            let (name, list) = if n == 0 { ("likes", &self.likes[..k.likes]) } else { ("purchases", &self.purchases[..k.purchases]) };
            w.open(name, list.len(), '[');
            for (i, ts) in list {
                w.open("", 0, '{');
                w.text("item", i);
                w.time(*ts);
                w.close('}');
            }
            w.close(']');
        }
        // Stored: the interests kept, as they are. Public: decayed to now, strongest first.
        let top = match json {
            Some((now, cfg)) => self.top("", usize::MAX, now, cfg),
            None => Vec::new(),
        };
        let n = if w.json { top.len() } else { k.affinity.len() };
        w.open("interests", n, '[');
        for i in 0..n {
            let (key, score, ts) = match top.get(i) {
                Some((key, v)) => (key, *v, None),
                None => match self.affinity.get(k.affinity[i]) {
                    Some(a) => (&a.key, a.score, Some(a.ts)),
                    None => continue,
                },
            };
            if w.json && !(score >= 0.001) {
                continue;
            }
            w.open("", 0, '{');
            w.text("key", key);
            // Thousandths are plenty for a ranking signal (JSON: as an i64).
            let m = score.max(0.0) * 1000.0 + 0.5;
            w.num("score_milli", if w.json { m as i64 as u64 } else { m as u64 });
            if let Some(ts) = ts {
                w.time(ts);
            }
            w.close('}');
        }
        w.close(']');
        w.open("sessions", 1 + k.past, '[');
        for n in 0..k.past + 1 {
            let se = self.session_at(n);
            if w.json && se.events == 0 {
                continue;
            }
            w.open("", 0, '{');
            if !w.json {
                put_varint(&mut w.o, se.id as u64);
            }
            w.num("start", if w.json { se.start } else { w.base.saturating_sub(se.start) });
            w.num("last", if w.json { se.last } else { se.last.saturating_sub(se.start) });
            w.num("events", se.events as u64);
            let items = if n == 0 { &se.items[k.items_from..] } else { &se.items[..] };
            w.open("items", items.len(), '[');
            for i in items {
                w.text("", i);
            }
            w.close(']');
            w.close('}');
        }
        w.close(']');
        w.close('}');
        w
    }

    /// Reads a stored profile, migrating from earlier versions.
    pub fn decode(buf: &[u8]) -> Result<Profile, ProfileError> {
        let mut r = In { r: Reader::new(buf), err: None };
        let version = r.r.byte(named("version"))?;
        match version {
            0 => return Err(ProfileError::Corrupt(DecodeError::UnsupportedVersion(0))),
            PROFILE_VERSION => {}
            v => return Err(ProfileError::FutureVersion(v)),
        }
        let mut p = Profile { updated: r.var("updated"), ..Profile::default() };
        let base = p.updated;
        for _ in 0..r.count("recent", 1000, 8) {
            let item = r.text();
            let info = ItemInfo { name: r.opt(), image: r.opt(), url: r.opt() };
            p.recent.push(Recent {
                item,
                info,
                category: r.opt(),
                price: r.price(),
                ts: r.at(base),
                views: r.var32("views"),
                dwell_ms: r.var32("dwell"),
            });
        }
        for _ in 0..r.count("cart", 1000, 4) {
            p.cart.push(CartLine { item: r.text(), qty: r.var32("qty"), price: r.price(), ts: r.at(base) });
        }
        for k in 0..2 {
            let n = r.count("likes", 10_000, 2);
            let list = if k == 0 { &mut p.likes } else { &mut p.purchases };
            for _ in 0..n {
                list.push((r.text(), r.at(base)));
            }
        }
        for _ in 0..r.count("affinity", 10_000, 3) {
            p.affinity.push(Affinity { key: r.text(), score: r.var("score") as f64 / 1000.0, ts: r.at(base) });
        }
        let n = r.count("sessions", 1000, 5);
        for i in 0..n {
            let id = r.var32("session id");
            let start = r.at(base);
            let last = start.saturating_add(r.var("session length"));
            let events = r.var32("session events");
            let mut items = Vec::new();
            for _ in 0..r.count("session items", 1000, 1) {
                items.push(r.text());
            }
            let sess = Session { id, start, last, events, items };
            if i == 0 {
                p.session = sess;
            } else {
                p.past.push(sess);
            }
        }
        if let Some(e) = r.err {
            return Err(ProfileError::Corrupt(e));
        }
        if r.r.remaining() != 0 {
            return Err(ProfileError::Corrupt(DecodeError::TrailingBytes(r.r.remaining())));
        }
        Ok(p)
    }
}

/// A reader of stored profiles with a sticky error: after the first error every
/// read gives an empty value (a count of 0 ends every loop) and the error is
/// reported at the end. No early return means no cleanup path per field, which
/// keeps [`Profile::decode`] small in wasm.
struct In<'a> {
    r: Reader<'a>,
    err: Option<DecodeError>,
}

/// What a decode error names. In the wasm no such error is ever shown (a
/// profile that cannot be read is `false`), so it names nothing there and the
/// names cost no data.
fn named(what: &'static str) -> &'static str {
    if cfg!(target_arch = "wasm32") {
        ""
    } else {
        what
    }
}

impl In<'_> {
    fn take<T: Default>(&mut self, v: Result<T, DecodeError>) -> T {
        match v {
            Ok(v) => v,
            Err(e) => {
                self.err = Some(e);
                T::default()
            }
        }
    }

    fn var(&mut self, what: &'static str) -> u64 {
        if self.err.is_some() {
            return 0;
        }
        let v = self.r.varint(named(what));
        self.take(v)
    }

    fn var32(&mut self, what: &'static str) -> u32 {
        let v = self.var(what);
        if self.err.is_none() && v > u32::MAX as u64 {
            self.err = Some(DecodeError::BadVarint(named(what)));
        }
        v as u32
    }

    fn count(&mut self, what: &'static str, max: usize, min_bytes: usize) -> usize {
        if self.err.is_some() {
            return 0;
        }
        let v = self.r.count(named(what), max, min_bytes);
        self.take(v)
    }

    /// A time stored as an age before `base`.
    fn at(&mut self, base: u64) -> u64 {
        base.saturating_sub(self.var("age"))
    }

    /// A string: its length (at most [`MAX_STRING_LEN`] bytes), then its bytes.
    fn text(&mut self) -> String {
        let n = self.var("string");
        if n > MAX_STRING_LEN as u64 {
            self.take::<()>(Err(DecodeError::TooMany(named("bytes in a string"))));
        }
        self.bytes(n).unwrap_or_default()
    }

    /// An optional string: its length plus one, 0 for none.
    fn opt(&mut self) -> Option<String> {
        let n = self.var("string");
        if n == 0 {
            return None;
        }
        self.bytes(n - 1)
    }

    /// `n` bytes of UTF-8 (`None` after an error).
    fn bytes(&mut self, n: u64) -> Option<String> {
        if self.err.is_some() {
            return None;
        }
        let v = self.r.bytes(n.min(usize::MAX as u64) as usize, named("string")).and_then(|b| crate::codec::utf8(b).map(str::to_owned).ok_or(DecodeError::BadUtf8));
        self.take(v.map(Some))
    }

    /// A price in hundredths plus one, 0 for none.
    fn price(&mut self) -> Option<i64> {
        let p = self.var("price");
        if p == 0 {
            None
        } else {
            Some((p - 1).min(i64::MAX as u64) as i64)
        }
    }
}

impl Profile {
    /// Joins another copy of this shopper's profile (another tab's) into this
    /// one, losing what neither has: recently viewed, cart, likes, purchases,
    /// interests and sessions are united item by item, keeping the newer or
    /// larger of two versions. Joining is idempotent and order-independent, so
    /// tabs can exchange whole profiles as often as they like without counting
    /// anything twice. (An unlike or a cart removal made in one tab can come back
    /// from a copy the other tab wrote before it saw it; it goes again at the
    /// next change of that item.)
    pub fn merge(&mut self, other: &Profile, cfg: &Config) {
        for r in &other.recent {
            match self.recent.iter_mut().find(|x| x.item == r.item) {
                Some(x) => {
                    if r.ts > x.ts {
                        x.info = r.info.clone();
                        x.category = r.category.clone().or(x.category.take());
                        x.price = r.price.or(x.price);
                        x.ts = r.ts;
                    }
                    x.views = x.views.max(r.views);
                    x.dwell_ms = x.dwell_ms.max(r.dwell_ms);
                }
                None => self.recent.push(r.clone()),
            }
        }
        // Newest first (insertion sort: short list, small wasm).
        for i in 1..self.recent.len() {
            let mut j = i;
            while j > 0 && self.recent[j].ts > self.recent[j - 1].ts {
                self.recent.swap(j, j - 1);
                j -= 1;
            }
        }
        self.recent.truncate(cfg.max_recent);
        for l in &other.cart {
            match self.cart.iter_mut().find(|x| x.item == l.item) {
                Some(x) if l.ts > x.ts => *x = l.clone(),
                Some(_) => {}
                None => self.cart.push(l.clone()),
            }
        }
        self.cart.truncate(MAX_CART);
        // By index, not over an array (no `IndexRange` iterator in the wasm).
        for n in 0..2 {
            let (list, theirs, max) = if n == 0 { (&mut self.likes, &other.likes, MAX_LIKES) } else { (&mut self.purchases, &other.purchases, MAX_PURCHASES) };
            for (item, ts) in theirs {
                match list.iter_mut().find(|x| x.0 == *item) {
                    Some(x) => x.1 = x.1.max(*ts),
                    None => list.push((item.clone(), *ts)),
                }
            }
            list.truncate(max);
        }
        let now = self.updated.max(other.updated);
        for a in &other.affinity {
            let theirs = decay(a.score, a.ts, now, cfg.half_life_days);
            match self.affinity.iter_mut().find(|x| x.key == a.key) {
                Some(x) => {
                    let mine = decay(x.score, x.ts, now, cfg.half_life_days);
                    if theirs > mine {
                        x.score = theirs;
                        x.ts = now;
                    }
                }
                None => self.affinity.push(a.clone()),
            }
        }
        for n in 0..other.past.len() + 1 {
            let s = other.session_at(n);
            if s.events == 0 {
                continue;
            }
            let (cur_last, cur_events) = (self.session.last, self.session.events);
            let mut mine = None;
            for j in 0..self.past.len() + 1 {
                let x = self.session_at(j);
                if x.id == s.id && x.events > 0 {
                    mine = Some(j);
                    break;
                }
            }
            match mine {
                Some(j) => {
                    let x = if j == 0 { &mut self.session } else { &mut self.past[j - 1] };
                    x.start = x.start.min(s.start);
                    x.last = x.last.max(s.last);
                    x.events = x.events.max(s.events);
                    for i in &s.items {
                        if !x.items.iter().any(|o| o == i) {
                            x.items.push(i.clone());
                        }
                    }
                }
                None if s.last > cur_last || cur_events == 0 => {
                    let old = std::mem::replace(&mut self.session, s.clone());
                    if old.events > 0 {
                        push_front(&mut self.past, old);
                    }
                }
                None => self.past.push(s.clone()),
            }
        }
        for i in 1..self.past.len() {
            let mut j = i;
            while j > 0 && self.past[j].last > self.past[j - 1].last {
                self.past.swap(j, j - 1);
                j -= 1;
            }
        }
        self.past.truncate(MAX_PAST_SESSIONS);
        self.updated = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Line;

    #[test]
    fn half_power_is_libms_to_the_last_bits() {
        let mut worst = 0f64;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut hs: Vec<f64> = vec![1e-12, 0.5, 1.0, 1.5, 2.0, 13.999, 100.0, 999.9];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hs.push((x >> 11) as f64 / (1u64 << 53) as f64 * [0.001, 1.0, 30.0, 1000.0][(x & 3) as usize]);
        }
        for h in hs {
            let want = (-h * core::f64::consts::LN_2).exp();
            let rel = ((half_power(h) - want) / want).abs();
            worst = worst.max(rel);
            // libm's result carries the rounding of `h · ln 2` too, relative 1e-16 · h.
            assert!(rel < 1e-15 * (1.0 + h), "2^-{h}: {} vs {want}", half_power(h));
        }
        assert_eq!(half_power(0.0), 1.0);
        assert_eq!(half_power(f64::NAN), 0.0);
        assert_eq!(half_power(f64::INFINITY), 0.0);
        assert_eq!(half_power(2000.0), 0.0);
        println!("largest relative difference to exp: {worst:e}");
    }

    const T: u64 = 1_700_000_000_000;
    const H: u64 = 3_600_000;

    fn ev(kind: Kind, item: &str, cat: &str, ts: u64) -> Event {
        Event {
            item: Some(item.into()),
            category: Some(cat.into()),
            brand: Some("Stride".into()),
            price: Some(8990),
            ..Event::new(kind, ts)
        }
    }

    fn replay(events: &[Event]) -> Profile {
        let cfg = Config::default();
        let mut p = Profile::default();
        for e in events {
            p.touch_session(e.ts, 7);
            p.apply(e, Some(&ItemInfo { name: Some(format!("Name of {}", e.item.as_deref().unwrap_or(""))), ..ItemInfo::default() }), &cfg);
        }
        p
    }

    impl Profile {
    /// `merge` before its sessions were walked by index, as a reference.
    pub fn old_merge(&mut self, other: &Profile, cfg: &Config) {
        for r in &other.recent {
            match self.recent.iter_mut().find(|x| x.item == r.item) {
                Some(x) => {
                    if r.ts > x.ts {
                        x.info = r.info.clone();
                        x.category = r.category.clone().or(x.category.take());
                        x.price = r.price.or(x.price);
                        x.ts = r.ts;
                    }
                    x.views = x.views.max(r.views);
                    x.dwell_ms = x.dwell_ms.max(r.dwell_ms);
                }
                None => self.recent.push(r.clone()),
            }
        }
        // Newest first (insertion sort: short list, small wasm).
        for i in 1..self.recent.len() {
            let mut j = i;
            while j > 0 && self.recent[j].ts > self.recent[j - 1].ts {
                self.recent.swap(j, j - 1);
                j -= 1;
            }
        }
        self.recent.truncate(cfg.max_recent);
        for l in &other.cart {
            match self.cart.iter_mut().find(|x| x.item == l.item) {
                Some(x) if l.ts > x.ts => *x = l.clone(),
                Some(_) => {}
                None => self.cart.push(l.clone()),
            }
        }
        self.cart.truncate(MAX_CART);
        for (list, theirs, max) in [(&mut self.likes, &other.likes, MAX_LIKES), (&mut self.purchases, &other.purchases, MAX_PURCHASES)] {
            for (item, ts) in theirs {
                match list.iter_mut().find(|x| x.0 == *item) {
                    Some(x) => x.1 = x.1.max(*ts),
                    None => list.push((item.clone(), *ts)),
                }
            }
            list.truncate(max);
        }
        let now = self.updated.max(other.updated);
        for a in &other.affinity {
            let theirs = decay(a.score, a.ts, now, cfg.half_life_days);
            match self.affinity.iter_mut().find(|x| x.key == a.key) {
                Some(x) => {
                    let mine = decay(x.score, x.ts, now, cfg.half_life_days);
                    if theirs > mine {
                        x.score = theirs;
                        x.ts = now;
                    }
                }
                None => self.affinity.push(a.clone()),
            }
        }
        for s in std::iter::once(&other.session).chain(&other.past).filter(|s| s.events > 0) {
            let (cur_last, cur_events) = (self.session.last, self.session.events);
            let mine = std::iter::once(&mut self.session).chain(self.past.iter_mut()).find(|x| x.id == s.id && x.events > 0);
            match mine {
                Some(x) => {
                    x.start = x.start.min(s.start);
                    x.last = x.last.max(s.last);
                    x.events = x.events.max(s.events);
                    for i in &s.items {
                        if !x.items.contains(i) {
                            x.items.push(i.clone());
                        }
                    }
                }
                None if s.last > cur_last || cur_events == 0 => {
                    let old = std::mem::replace(&mut self.session, s.clone());
                    if old.events > 0 {
                        push_front(&mut self.past, old);
                    }
                }
                None => self.past.push(s.clone()),
            }
        }
        for i in 1..self.past.len() {
            let mut j = i;
            while j > 0 && self.past[j].last > self.past[j - 1].last {
                self.past.swap(j, j - 1);
                j -= 1;
            }
        }
        self.past.truncate(MAX_PAST_SESSIONS);
        self.updated = now;
    }

    /// `to_json` before it shared the stored form's walk, as a reference.
    pub fn old_to_json(&self, now: u64, cfg: &Config) -> String {
        use crate::json::{push_str, Obj};
        let mut s = String::with_capacity(2048);
        let mut o = Obj::new(&mut s);
        o.int("version", PROFILE_VERSION as i64).int("updated", self.updated as i64);
        let out = o.key("recent");
        out.push('[');
        for (i, r) in self.recent.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut x = Obj::new(out);
            x.str("item", &r.item).opt_str("name", &r.info.name).opt_str("image", &r.info.image);
            x.opt_str("url", &r.info.url).opt_str("category", &r.category);
            if let Some(p) = r.price {
                x.int("price", p);
            }
            x.int("ts", r.ts as i64).int("views", r.views as i64).int("dwell_ms", r.dwell_ms as i64);
            x.end();
        }
        out.push(']');
        let out = o.key("cart");
        out.push('[');
        for (i, l) in self.cart.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut x = Obj::new(out);
            x.str("item", &l.item).int("qty", l.qty as i64);
            if let Some(p) = l.price {
                x.int("price", p);
            }
            x.int("ts", l.ts as i64);
            x.end();
        }
        out.push(']');
        for (k, list) in [("likes", &self.likes), ("purchases", &self.purchases)] {
            let out = o.key(k);
            out.push('[');
            for (i, (item, ts)) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let mut x = Obj::new(out);
                x.str("item", item).int("ts", *ts as i64);
                x.end();
            }
            out.push(']');
        }
        let out = o.key("interests");
        out.push('[');
        let mut all: Vec<(String, f64)> = self.top("", usize::MAX, now, cfg);
        retain(&mut all, &mut |(_, v)| *v >= 0.001);
        for (i, (k, v)) in all.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut x = Obj::new(out);
            x.str("key", k).int("score_milli", (v * 1000.0 + 0.5) as i64);
            x.end();
        }
        out.push(']');
        let out = o.key("sessions");
        out.push('[');
        for (i, se) in std::iter::once(&self.session).chain(&self.past).filter(|s| s.events > 0).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut x = Obj::new(out);
            x.int("start", se.start as i64).int("last", se.last as i64).int("events", se.events as i64);
            let items = x.key("items");
            items.push('[');
            for (j, it) in se.items.iter().enumerate() {
                if j > 0 {
                    items.push(',');
                }
                push_str(items, it);
            }
            items.push(']');
            x.end();
        }
        out.push(']');
        o.end();
        s
    }

    }

    /// The encoder and decoder before the size work, as references.
    mod reference {
        #![allow(clippy::all)]
        use super::super::*;
        fn get_opt(r: &mut Reader<'_>) -> Result<Option<String>, DecodeError> {
            let n = r.varint("string")?;
            if n == 0 {
                return Ok(None);
            }
            let b = r.bytes((n - 1).min(usize::MAX as u64) as usize, "string")?;
            Ok(Some(std::str::from_utf8(b).map_err(|_| DecodeError::BadUtf8)?.to_owned()))
        }

        fn get_price(r: &mut Reader<'_>) -> Result<Option<i64>, DecodeError> {
            let p = r.varint("price")?;
            Ok(if p == 0 { None } else { Some((p - 1).min(i64::MAX as u64) as i64) })
        }

            /// Writes the profile in its compact versioned form, evicting the least
            /// informative data until it fits `cfg.max_bytes`.
            pub fn encode(this: &Profile, cfg: &Config) -> Vec<u8> {
                let mut p = this.clone();
                loop {
                    let out = encode_raw(&p);
                    if out.len() <= cfg.max_bytes || !evict_one(&mut p, cfg) {
                        return out;
                    }
                }
            }

            /// Removes one piece of the least informative data. Order: old past sessions,
            /// then the oldest recently viewed beyond the newest eight, then the weakest
            /// interests, then old likes and purchases. Returns false when nothing is left.
            pub fn evict_one(this: &mut Profile, cfg: &Config) -> bool {
                let s = this;
                if s.past.len() > 2 {
                    s.past.pop();
                } else if s.recent.len() > 8 {
                    s.recent.pop();
                } else if s.affinity.len() > 16 {
                    let now = s.updated;
                    if let Some((i, _)) = s
                        .affinity
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (i, decay(a.score, a.ts, now, cfg.half_life_days)))
                        .min_by(|a, b| a.1.total_cmp(&b.1))
                    {
                        s.affinity.swap_remove(i);
                    }
                } else if s.likes.len() > 20 {
                    s.likes.pop();
                } else if s.purchases.len() > 20 {
                    s.purchases.pop();
                } else if !s.past.is_empty() {
                    s.past.pop();
                } else if !s.recent.is_empty() {
                    s.recent.pop();
                } else if !s.likes.is_empty() {
                    s.likes.pop();
                } else if !s.purchases.is_empty() {
                    s.purchases.pop();
                } else if !s.affinity.is_empty() {
                    s.affinity.pop();
                } else if !s.cart.is_empty() {
                    s.cart.remove(0);
                } else if !s.session.items.is_empty() {
                    s.session.items.remove(0);
                } else {
                    return false;
                }
                true
            }

            pub fn encode_raw(this: &Profile) -> Vec<u8> {
                let s = this;
                let mut o = Vec::with_capacity(1024);
                o.push(PROFILE_VERSION);
                put_varint(&mut o, s.updated);
                let base = s.updated;
                let age = |ts: u64| base.saturating_sub(ts);
                put_varint(&mut o, s.recent.len() as u64);
                for r in &s.recent {
                    put_str(&mut o, &r.item);
                    put_opt(&mut o, &r.info.name);
                    put_opt(&mut o, &r.info.image);
                    put_opt(&mut o, &r.info.url);
                    put_opt(&mut o, &r.category);
                    put_price(&mut o, r.price);
                    put_varint(&mut o, age(r.ts));
                    put_varint(&mut o, r.views as u64);
                    put_varint(&mut o, r.dwell_ms as u64);
                }
                put_varint(&mut o, s.cart.len() as u64);
                for l in &s.cart {
                    put_str(&mut o, &l.item);
                    put_varint(&mut o, l.qty as u64);
                    put_price(&mut o, l.price);
                    put_varint(&mut o, age(l.ts));
                }
                for list in [&s.likes, &s.purchases] {
                    put_varint(&mut o, list.len() as u64);
                    for (i, ts) in list {
                        put_str(&mut o, i);
                        put_varint(&mut o, age(*ts));
                    }
                }
                put_varint(&mut o, s.affinity.len() as u64);
                for a in &s.affinity {
                    put_str(&mut o, &a.key);
                    // Thousandths are plenty for a ranking signal.
                    put_varint(&mut o, (a.score.max(0.0) * 1000.0 + 0.5) as u64);
                    put_varint(&mut o, age(a.ts));
                }
                put_varint(&mut o, 1 + s.past.len() as u64);
                for s in std::iter::once(&s.session).chain(&s.past) {
                    put_varint(&mut o, s.id as u64);
                    put_varint(&mut o, age(s.start));
                    put_varint(&mut o, s.last.saturating_sub(s.start));
                    put_varint(&mut o, s.events as u64);
                    put_varint(&mut o, s.items.len() as u64);
                    for i in &s.items {
                        put_str(&mut o, i);
                    }
                }
                o
            }

            /// Reads a stored profile, migrating from earlier versions.
            pub fn decode(buf: &[u8]) -> Result<Profile, ProfileError> {
                let mut r = Reader::new(buf);
                let version = r.byte("version")?;
                match version {
                    0 => return Err(ProfileError::Corrupt(DecodeError::UnsupportedVersion(0))),
                    PROFILE_VERSION => {}
                    v => return Err(ProfileError::FutureVersion(v)),
                }
                let mut p = Profile { updated: r.varint("updated")?, ..Profile::default() };
                let base = p.updated;
                let at = |r: &mut Reader<'_>| -> Result<u64, DecodeError> { Ok(base.saturating_sub(r.varint("age")?)) };
                let s = |r: &mut Reader<'_>| -> Result<String, DecodeError> { Ok(r.string("string")?.to_owned()) };
                for _ in 0..r.count("recent", 1000, 8)? {
                    let item = s(&mut r)?;
                    let info = ItemInfo { name: get_opt(&mut r)?, image: get_opt(&mut r)?, url: get_opt(&mut r)? };
                    p.recent.push(Recent {
                        item,
                        info,
                        category: get_opt(&mut r)?,
                        price: get_price(&mut r)?,
                        ts: at(&mut r)?,
                        views: r.varint32("views")?,
                        dwell_ms: r.varint32("dwell")?,
                    });
                }
                for _ in 0..r.count("cart", 1000, 4)? {
                    p.cart.push(CartLine { item: s(&mut r)?, qty: r.varint32("qty")?, price: get_price(&mut r)?, ts: at(&mut r)? });
                }
                for k in 0..2 {
                    let n = r.count("likes", 10_000, 2)?;
                    let list = if k == 0 { &mut p.likes } else { &mut p.purchases };
                    for _ in 0..n {
                        list.push((s(&mut r)?, at(&mut r)?));
                    }
                }
                for _ in 0..r.count("affinity", 10_000, 3)? {
                    p.affinity.push(Affinity { key: s(&mut r)?, score: r.varint("score")? as f64 / 1000.0, ts: at(&mut r)? });
                }
                let n = r.count("sessions", 1000, 5)?;
                for i in 0..n {
                    let id = r.varint32("session id")?;
                    let start = at(&mut r)?;
                    let last = start.saturating_add(r.varint("session length")?);
                    let events = r.varint32("session events")?;
                    let mut items = Vec::new();
                    for _ in 0..r.count("session items", 1000, 1)? {
                        items.push(s(&mut r)?);
                    }
                    let sess = Session { id, start, last, events, items };
                    if i == 0 {
                        p.session = sess;
                    } else {
                        p.past.push(sess);
                    }
                }
                if r.remaining() != 0 {
                    return Err(ProfileError::Corrupt(DecodeError::TrailingBytes(r.remaining())));
                }
                Ok(p)
            }
    }

    #[test]
    fn remove_and_push_front_do_what_the_standard_ones_do() {
        let mut x: u64 = 99;
        let (mut mine, mut std): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for n in 0..20_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (x >> 40) % 3 == 0 && !std.is_empty() {
                let i = (x >> 20) as usize % std.len();
                assert_eq!(remove(&mut mine, i), std.remove(i));
            } else {
                push_front(&mut mine, n.to_string());
                std.insert(0, n.to_string());
            }
            assert_eq!(mine, std);
        }
        retain(&mut mine, &mut |s| s.len() % 2 == 0);
        std.retain(|s| s.len() % 2 == 0);
        assert_eq!(mine, std);
        assert!(std::panic::catch_unwind(move || remove(&mut mine.clone(), mine.len())).is_err());
    }

    #[test]
    fn weakest_is_the_first_minimum_like_min_by() {
        let cfg = Config::default();
        let mut x: u64 = 77;
        for _ in 0..2000 {
            let list: Vec<Affinity> = (0..(x % 9))
                .map(|i| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    Affinity { key: String::new(), score: [0.0, -0.0, 1.0, 2.5, f64::NAN, 1e-300][(x >> 33) as usize % 6], ts: T + (x >> 40) % 3 + i }
                })
                .collect();
            let want = list
                .iter()
                .enumerate()
                .map(|(i, a)| (i, decay(a.score, a.ts, T + 9, cfg.half_life_days)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |m| m.0);
            assert_eq!(weakest(list.len(), |j| list.get(j), T + 9, &cfg), want, "{list:?}");
        }
    }

    #[test]
    fn codec_matches_the_reference_on_random_profiles() {
        let cfg = Config::default();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for round in 0..300u64 {
            let mut evs = Vec::new();
            let mut t = T;
            for _ in 0..rnd(400) {
                t += rnd(3 * H);
                let kind = [Kind::ProductView, Kind::ProductView, Kind::CartAdd, Kind::Like, Kind::Unlike, Kind::CartRemove, Kind::Purchase][rnd(7) as usize];
                let item = ["SKU-", &rnd(300).to_string()].concat();
                let mut e = ev(kind, &item, &["c", &rnd(20).to_string(), "/s", &rnd(5).to_string()].concat(), t);
                e.brand = Some(["B", &rnd(9).to_string()].concat());
                e.price = Some(rnd(2_000_000) as i64);
                if kind == Kind::Purchase {
                    e.lines = vec![Line { item: item.clone(), qty: 1, price: None }];
                }
                if rnd(3) == 0 {
                    e.dwell_ms = Some(rnd(100_000) as u32);
                }
                evs.push(e);
            }
            let p = replay(&evs);
            // The public JSON is the one of before, at any time (interests decay).
            for now in [T, t, t + rnd(90 * 24 * H), u64::MAX] {
                assert_eq!(p.to_json(now, &cfg), p.old_to_json(now, &cfg), "round {round}");
            }
            let mut cut = p.clone();
            cut.session = Session::default();
            cut.past.truncate(rnd(3) as usize);
            // Scores of every magnitude, around the 0.001 the JSON leaves out and at the edges.
            for a in &mut cut.affinity {
                a.score = [0.001, 0.000_999_9, 0.0005, -1.0, 0.0, f64::NAN, 1e300][rnd(8) as usize % 7].max(10f64.powf(-(rnd(70) as f64) / 10.0) * rnd(2) as f64);
            }
            assert_eq!(cut.to_json(t, &cfg), cut.old_to_json(t, &cfg), "round {round}");
            for max_bytes in [16 * 1024, 3000, 700, 120, 20] {
                let c = Config { max_bytes, ..cfg.clone() };
                let bytes = p.encode(&c);
                assert_eq!(bytes, reference::encode(&p, &c), "round {round}, bound {max_bytes}");
                assert_eq!(Profile::decode(&bytes), reference::decode(&bytes));
                // Damaged copies fail the same way.
                for _ in 0..20 {
                    let mut b = bytes.clone();
                    if b.is_empty() {
                        break;
                    }
                    let i = rnd(b.len() as u64) as usize;
                    b[i] = rnd(256) as u8;
                    let cut = rnd(b.len() as u64 + 1) as usize;
                    assert_eq!(Profile::decode(&b[..cut]), reference::decode(&b[..cut]));
                    assert_eq!(Profile::decode(&b), reference::decode(&b));
                    // Damaged copies that still read give any values: the JSON is the one of before.
                    if let Ok(q) = Profile::decode(&b) {
                        assert_eq!(q.to_json(t, &cfg), q.old_to_json(t, &cfg), "round {round}");
                    }
                }
            }
        }
    }

    #[test]
    fn recently_viewed_is_deduplicated_and_bounded() {
        let mut evs: Vec<Event> = (0..40).map(|i| ev(Kind::ProductView, &format!("S{i}"), "shoes/running", T + i)).collect();
        evs.push(ev(Kind::ProductView, "S39", "shoes/running", T + 100));
        evs.push(ev(Kind::ProductView, "S20", "shoes/running", T + 101));
        let p = replay(&evs);
        let ids: Vec<&str> = p.recent.iter().map(|r| r.item.as_str()).take(3).collect();
        assert_eq!(ids, ["S20", "S39", "S38"]);
        assert_eq!(p.recent.len(), Config::default().max_recent);
        assert_eq!(p.recent[1].views, 2);
        assert_eq!(p.recent[0].info.name.as_deref(), Some("Name of S20"));
    }

    #[test]
    fn cart_likes_and_purchases() {
        let mut add = ev(Kind::CartAdd, "A", "shoes/trail", T);
        add.qty = Some(2);
        let mut rm = ev(Kind::CartRemove, "A", "shoes/trail", T + 1);
        rm.qty = Some(1);
        let buy = Event { lines: vec![Line { item: "A".into(), qty: 1, price: None }], ..Event::new(Kind::Purchase, T + 2) };
        let p = replay(&[add.clone(), rm.clone()]);
        assert_eq!(p.cart.len(), 1);
        assert_eq!(p.cart[0].qty, 1);
        let p = replay(&[add, rm, buy]);
        assert!(p.cart.is_empty());
        assert_eq!(p.purchases[0].0, "A");
        let p = replay(&[ev(Kind::Like, "B", "x", T), ev(Kind::Like, "C", "x", T + 1), ev(Kind::Unlike, "B", "x", T + 2)]);
        assert!(p.likes("C") && !p.likes("B"));
    }

    #[test]
    fn interests_cover_every_level_and_decay() {
        let cfg = Config::default();
        let mut evs: Vec<Event> = (0..5).map(|i| ev(Kind::ProductView, "R", "shoes/running", T + i)).collect();
        // Later, one strong look at tents: a cart add weighs three views.
        evs.push(ev(Kind::CartAdd, "T", "camping/tents", T + 10));
        let p = replay(&evs);
        let top = p.top("c:", 4, T + 10, &cfg);
        assert_eq!(top[0].0, "shoes");
        assert_eq!(top[1].0, "shoes/running");
        // Four weeks later (two half-lives) the scores are a quarter.
        let later = p.top("c:", 1, T + 10 + 28 * 24 * H, &cfg);
        assert!((later[0].1 - top[0].1 / 4.0).abs() < 0.01, "{later:?} vs {top:?}");
    }

    #[test]
    fn sessions_end_after_thirty_minutes() {
        let p = replay(&[
            ev(Kind::ProductView, "A", "x", T),
            ev(Kind::ProductView, "B", "x", T + 29 * 60_000),
            ev(Kind::ProductView, "C", "x", T + 29 * 60_000 + 31 * 60_000),
        ]);
        assert_eq!(p.past.len(), 1);
        assert_eq!(p.past[0].items, ["A", "B"]);
        assert_eq!(p.session.items, ["C"]);
    }

    #[test]
    fn encode_round_trips_and_stays_bounded() {
        let cfg = Config::default();
        let mut evs = Vec::new();
        for i in 0..500u64 {
            evs.push(ev(Kind::ProductView, &format!("SKU-{i:06}"), &format!("cat{}/sub{}", i % 13, i % 7), T + i * H));
            if i % 10 == 0 {
                evs.push(ev(Kind::CartAdd, &format!("SKU-{i:06}"), "cat/x", T + i * H + 1));
                evs.push(ev(Kind::Like, &format!("SKU-{i:06}"), "cat/x", T + i * H + 2));
            }
        }
        let p = replay(&evs);
        let bytes = p.encode(&cfg);
        assert!(bytes.len() <= cfg.max_bytes, "{}", bytes.len());
        let q = Profile::decode(&bytes).unwrap();
        assert_eq!(q.recent.len(), p.recent.len());
        assert_eq!(q.cart, p.cart.iter().map(|l| CartLine { ts: l.ts, ..l.clone() }).collect::<Vec<_>>());
        // Small profiles round-trip exactly (scores to the thousandth).
        let small = replay(&evs[..5]);
        let q = Profile::decode(&small.encode(&cfg)).unwrap();
        assert_eq!(q.recent, small.recent);
        assert_eq!(q.session, small.session);
        // A tiny bound still yields something decodable.
        let tiny = Config { max_bytes: 200, ..cfg };
        let b = p.encode(&tiny);
        assert!(b.len() <= 200);
        assert!(Profile::decode(&b).is_ok());
    }

    #[test]
    fn corrupt_and_future_data_are_refused() {
        assert_eq!(Profile::decode(&[9, 0]), Err(ProfileError::FutureVersion(9)));
        assert!(Profile::decode(b"garbage!").is_err());
        assert!(Profile::decode(&[]).is_err());
        let good = replay(&[ev(Kind::ProductView, "A", "x", T)]).encode(&Config::default());
        for cut in 0..good.len() {
            assert!(Profile::decode(&good[..cut]).is_err());
        }
    }

    #[test]
    fn exports_json() {
        let p = replay(&[ev(Kind::ProductView, "A<b>", "shoes/running", T), ev(Kind::Like, "A<b>", "shoes/running", T + 1)]);
        let j = p.to_json(T + 1, &Config::default());
        assert!(j.starts_with(r#"{"version":1,"updated":1700000000001,"recent":[{"item":"A\u003cb>","name":"Name of A\u003cb>""#), "{j}");
        assert!(j.contains(r#""likes":[{"item":"A\u003cb>","ts":1700000000001}]"#), "{j}");
        assert!(j.contains(r#"{"key":"c:shoes","score_milli":3000}"#), "{j}");
    }

    #[test]
    fn every_level_of_a_category_is_an_interest_as_before() {
        let cfg = Config::default();
        for c in ["a", "shoes/running", "a/b/c", "ü/ñ", "x/", "/x", "a//b", "abc/def/ghi/jkl", "é"] {
            let mut want: Vec<String> = Vec::new();
            // The loop before (an iterator chain), as a reference.
            for (i, b) in c.bytes().chain(Some(b'/')).enumerate() {
                if b == b'/' {
                    want.push(["c:", c.get(..i).unwrap_or(c)].concat());
                }
            }
            let mut p = Profile::default();
            let e = Event { category: Some(c.into()), ..Event::new(Kind::Like, T) };
            p.bump_item(&e, 1.0, T, &cfg);
            let got: Vec<String> = p.affinity.iter().map(|a| a.key.clone()).collect();
            want.dedup();
            assert_eq!(got, want, "{c:?}");
        }
    }

    #[test]
    fn merge_is_the_one_of_before() {
        let cfg = Config::default();
        let mut x: u64 = 0xD1B5_4A32_D192_ED03;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for round in 0..400 {
            let mut tabs = Vec::new();
            for _ in 0..2 {
                let mut p = Profile::default();
                let mut t = T + rnd(5 * H);
                for _ in 0..rnd(120) {
                    t += rnd(2 * H);
                    let kind = [Kind::ProductView, Kind::CartAdd, Kind::Like, Kind::Purchase, Kind::CartRemove][rnd(5) as usize];
                    let item = ["S", &rnd(30).to_string()].concat();
                    let mut e = ev(kind, &item, ["a", "a/b", "c"][rnd(3) as usize], t);
                    if kind == Kind::Purchase {
                        e.lines = vec![Line { item: item.clone(), qty: 1, price: None }];
                    }
                    // Tabs share session ids now and then.
                    p.touch_session(t, rnd(4) as u32);
                    p.apply(&e, None, &cfg);
                }
                tabs.push(p);
            }
            let (a, b) = (&tabs[0], &tabs[1]);
            for (x, y) in [(a, b), (b, a), (a, a)] {
                let (mut new, mut old) = (x.clone(), x.clone());
                new.merge(y, &cfg);
                old.old_merge(y, &cfg);
                assert_eq!(new, old, "round {round}");
            }
        }
    }

    #[test]
    fn merging_two_tabs_loses_nothing_and_counts_nothing_twice() {
        let cfg = Config::default();
        let a = replay(&[ev(Kind::ProductView, "A1", "shoes/running", T), ev(Kind::Like, "L", "x", T + 2)]);
        let b = replay(&[ev(Kind::ProductView, "B1", "camping/tents", T + 1), ev(Kind::CartAdd, "C", "x", T + 3)]);
        let mut ab = a.clone();
        ab.merge(&b, &cfg);
        let mut ba = b.clone();
        ba.merge(&a, &cfg);
        let items = |p: &Profile| p.recent.iter().map(|r| r.item.clone()).collect::<Vec<_>>();
        assert_eq!(items(&ab), ["B1", "A1"]);
        assert_eq!(items(&ab), items(&ba));
        assert!(ab.likes("L") && ab.cart.len() == 1);
        // Idempotent: merging again changes nothing (no double counting).
        let mut again = ab.clone();
        again.merge(&b, &cfg);
        again.merge(&a, &cfg);
        assert_eq!(again, ab);
        assert_eq!(ab.recent[1].views, 1);
    }

    #[test]
    fn purge_drops_old_data() {
        let cfg = Config { retention_days: 30, ..Config::default() };
        let mut p = replay(&[ev(Kind::ProductView, "OLD", "x", T), ev(Kind::ProductView, "NEW", "x", T + 40 * 24 * H)]);
        p.purge(T + 41 * 24 * H, &cfg, 0);
        assert_eq!(p.recent.len(), 1);
        assert_eq!(p.recent[0].item, "NEW");
    }
}
