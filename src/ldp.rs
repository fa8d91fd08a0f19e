//! Local differential privacy for like and view signals (optional mode).
//!
//! When a shop turns the mode on, a like (or a view, or an unlike) never leaves the
//! browser as "this shopper liked item X". The browser sends a [`Report`]: a random
//! hash seed and one bucket of a small hash space, chosen by randomized response, so
//! that **any** item is almost as likely as the real one to have produced it. The
//! server learns like counts per item only in aggregate, by de-biasing many reports
//! with an [`Estimator`]; it cannot tell which item one shopper liked, and neither can
//! the shop that runs it.
//!
//! The mechanism is Optimized Local Hashing (OLH, Wang et al., USENIX Security 2017),
//! which works for large item domains (tens of thousands of items) where plain k-ary
//! randomized response would be hopeless:
//!
//! - `g = round(e^ε + 1)` buckets (at least 2);
//! - the client draws a seed `s`, computes its item's bucket `h = bucket(s, item, g)`,
//!   keeps it with probability `p = e^ε / (e^ε + g − 1)`, else reports one of the
//!   other `g − 1` buckets uniformly at random;
//! - the server counts, for each candidate item `i`, the reports that "support" it,
//!   `C_i = #{reports r : bucket(s_r, i, g) = b_r}`, and estimates its count as
//!   `(C_i − n/g) / (p − 1/g)`, unbiased, with variance
//!   `(f·p(1−p) + (n−f)·(1/g)(1−1/g)) / (p − 1/g)²` for an item with true count `f`.
//!
//! The hash is specified byte for byte in `docs/ldp.md` (FNV-1a 64 of the item id's
//! UTF-8 bytes, mixed with the seed by the MurmurHash3 64-bit finalizer, reduced to
//! `g` buckets by a multiply-shift) so that any backend can reimplement it.
//!
//! ε travels with every report, in hundredths ([`Report::e`]): reports are
//! self-describing, so a shop can change ε without biasing what was already
//! collected, and the server needs no configuration to de-bias.
//!
//! Reports travel as ordinary custom events ([`to_event`], [`from_event`]): name
//! `ldp`, props `k` (`like`, `unlike` or `view`), `s` (seed), `b` (bucket), `g`
//! (buckets), `e` (ε × 100), all decimal integers; **no item field**, and the
//! timestamp is rounded down to the day ([`TS_GRAIN_MS`]).
//!
//! Like the rest of the core: no IO, no clock, randomness passed in, no float
//! formatting, nothing that can panic.

use crate::event::{Event, Kind};

/// Smallest ε the mode uses, in hundredths (0.1). Smaller (or zero, negative, NaN)
/// values are raised to it: at ε = 0 a report would carry no information at all and
/// the counts could not be de-biased.
pub const MIN_E: u32 = 10;
/// Largest ε the mode uses, in hundredths (10.0, i.e. 22 027 buckets). Larger values
/// are lowered to it.
pub const MAX_E: u32 = 1000;
/// The custom event name that carries a report.
pub const EVENT_NAME: &str = "ldp";
/// Report timestamps are rounded down to a multiple of this (one day, UTC), so the
/// time of a report cannot be matched to the time of a plain event.
pub const TS_GRAIN_MS: u64 = 86_400_000;

/// Which signal a report is about. Each signal has its own counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// The shopper liked an item.
    Like,
    /// The shopper took a like back (the server subtracts these from the likes).
    Unlike,
    /// The shopper viewed an item's page.
    View,
}

impl Signal {
    /// The wire name (`like`, `unlike`, `view`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Like => "like",
            Signal::Unlike => "unlike",
            Signal::View => "view",
        }
    }

    /// Inverse of [`Signal::name`].
    pub fn parse(s: &str) -> Option<Signal> {
        match s {
            "like" => Some(Signal::Like),
            "unlike" => Some(Signal::Unlike),
            "view" => Some(Signal::View),
            _ => None,
        }
    }
}

/// The mechanism's parameters for one ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    e: u32,
    g: u32,
    p: f64,
}

impl Params {
    /// Parameters for ε given in hundredths, clamped into [`MIN_E`]`..=`[`MAX_E`].
    pub fn from_e(e: u32) -> Params {
        let e = e.clamp(MIN_E, MAX_E);
        let x = (e as f64 / 100.0).exp();
        let g = (x + 1.0).round() as u32;
        Params { e, g, p: x / (x + g as f64 - 1.0) }
    }

    /// Parameters for ε, rounded to hundredths and clamped: NaN, zero and negative
    /// values give ε = 0.1 (the most private setting), values above 10 give 10.
    /// Configuration code should reject such values with [`Params::check`] first.
    pub fn new(epsilon: f64) -> Params {
        let c = epsilon * 100.0;
        // `as` saturates and maps NaN to 0, so this cannot overflow or panic.
        Params::from_e(if c.is_nan() { 0 } else { (c + 0.5) as u32 })
    }

    /// Parameters for ε, or `None` when ε is not a number within 0.1 ..= 10.
    pub fn check(epsilon: f64) -> Option<Params> {
        (epsilon >= MIN_E as f64 / 100.0 && epsilon <= MAX_E as f64 / 100.0).then(|| Params::new(epsilon))
    }

    /// ε in hundredths, within [`MIN_E`]`..=`[`MAX_E`].
    pub fn e(&self) -> u32 {
        self.e
    }

    /// Number of hash buckets, `round(e^ε + 1)`, at least 2.
    pub fn g(&self) -> u32 {
        self.g
    }

    /// Probability of keeping the true bucket, `e^ε / (e^ε + g − 1)`.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// ε as a number.
    pub fn epsilon(&self) -> f64 {
        self.e as f64 / 100.0
    }

    /// Probability that a report supports an item other than the true one, `1/g`.
    pub fn q(&self) -> f64 {
        1.0 / self.g as f64
    }

    /// Variance of the estimate of one item with true count `f` among `n` reports.
    pub fn variance(&self, f: f64, n: f64) -> f64 {
        let (p, q) = (self.p, self.q());
        let f = f.clamp(0.0, n.max(0.0));
        (f * p * (1.0 - p) + (n - f).max(0.0) * q * (1.0 - q)) / ((p - q) * (p - q))
    }
}

/// One randomized report: what leaves the browser instead of an item id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Report {
    /// The random hash seed.
    pub seed: u32,
    /// The reported bucket, below `g`.
    pub bucket: u32,
    /// The number of buckets.
    pub g: u32,
    /// ε in hundredths.
    pub e: u32,
}

/// FNV-1a 64 of the item id's UTF-8 bytes (offset basis `0xcbf29ce484222325`,
/// prime `0x100000001b3`).
pub fn item_hash(item: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in item.as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The seed's contribution to the mix: `seed × 0x9e3779b97f4a7c15` (mod 2^64).
#[inline]
fn seed_key(seed: u32) -> u64 {
    (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// MurmurHash3's 64-bit finalizer of `h ^ key`, top 32 bits.
#[inline]
fn mix_top(h: u64, key: u64) -> u64 {
    let mut x = h ^ key;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x >> 32
}

/// The bucket of an item (given its [`item_hash`]) under `seed`, in `0..g`
/// (`0` when `g` is 0).
pub fn bucket(h: u64, seed: u32, g: u32) -> u32 {
    ((mix_top(h, seed_key(seed)) * g as u64) >> 32) as u32
}

/// A uniform 64-bit value from two draws (first draw is the high half).
fn draw64(rand: &mut impl FnMut() -> u32) -> u64 {
    let hi = rand() as u64;
    (hi << 32) | rand() as u64
}

/// Makes the report for `item` at `epsilon` (clamped as in [`Params::new`]). Draws
/// five values from `rand`: the seed, two for the keep-or-not coin (53 bits), two for
/// the other bucket (a 64-bit multiply-shift, bias below 2^-48).
pub fn report(item: &str, epsilon: f64, rand: &mut impl FnMut() -> u32) -> Report {
    report_with(item, Params::new(epsilon), rand)
}

/// [`report`] with parameters already computed.
pub fn report_with(item: &str, params: Params, rand: &mut impl FnMut() -> u32) -> Report {
    let Params { e, g, p } = params;
    let seed = rand();
    let truth = bucket(item_hash(item), seed, g);
    let coin = (draw64(rand) >> 11) as f64 / (1u64 << 53) as f64;
    let other = ((draw64(rand) as u128 * (g - 1) as u128) >> 64) as u32;
    let b = if coin < p {
        truth
    } else if other >= truth {
        other + 1
    } else {
        other
    };
    Report { seed, bucket: b, g, e }
}

/// Randomized response for one yes/no answer about something already known to the
/// server (for example "did you like the item of this page?"): the true answer with
/// probability `e^ε / (1 + e^ε)`, else its opposite. ε as in [`Params::new`].
pub fn rr_bit(bit: bool, epsilon: f64, rand: &mut impl FnMut() -> u32) -> bool {
    let x = Params::new(epsilon).epsilon().exp();
    let coin = (draw64(rand) >> 11) as f64 / (1u64 << 53) as f64;
    if coin < x / (1.0 + x) {
        bit
    } else {
        !bit
    }
}

/// Unbiased estimate of how many of `n` [`rr_bit`] answers were truly "yes", given
/// that `yes` of them came out "yes": `(yes − n(1−p)) / (2p − 1)`.
pub fn rr_debias(yes: u64, n: u64, epsilon: f64) -> f64 {
    let x = Params::new(epsilon).epsilon().exp();
    let p = x / (1.0 + x);
    (yes as f64 - n as f64 * (1.0 - p)) / (2.0 * p - 1.0)
}

/// The custom event that carries `report` on the wire: kind `Custom`, name `ldp`,
/// props `k`, `s`, `b`, `g`, `e` (decimal), no item, `ts` rounded down to the day.
pub fn to_event(report: &Report, signal: Signal, ts: u64) -> Event {
    let mut ev = Event::new(Kind::Custom, ts - ts % TS_GRAIN_MS);
    ev.name = Some(EVENT_NAME.into());
    let values = [signal.name().into(), dec(report.seed), dec(report.bucket), dec(report.g), dec(report.e)];
    for (i, v) in values.into_iter().enumerate() {
        ev.props.push(("ksbge".get(i..i + 1).unwrap_or("").to_owned(), v));
    }
    ev
}

/// Reads a report back from an event. `None` unless the event is exactly what
/// [`to_event`] writes: a custom `ldp` event with no item, the five props once
/// each (any order) and nothing else, canonical decimals, `e` within range, `g`
/// the bucket count of `e`, and `b < g`.
pub fn from_event(ev: &Event) -> Option<(Signal, Report)> {
    if ev.kind != Kind::Custom || ev.name.as_deref() != Some(EVENT_NAME) || ev.item.is_some() || ev.props.len() != 5 {
        return None;
    }
    let (mut k, mut s, mut b, mut g, mut e) = (None, None, None, None, None);
    for (key, v) in &ev.props {
        let slot = match key.as_str() {
            "k" => {
                if k.replace(Signal::parse(v)?).is_some() {
                    return None;
                }
                continue;
            }
            "s" => &mut s,
            "b" => &mut b,
            "g" => &mut g,
            "e" => &mut e,
            _ => return None,
        };
        if slot.replace(parse_dec(v)?).is_some() {
            return None;
        }
    }
    let (k, seed, bucket, g, e) = (k?, s?, b?, g?, e?);
    if !(MIN_E..=MAX_E).contains(&e) || Params::from_e(e).g != g || bucket >= g {
        return None;
    }
    Some((k, Report { seed, bucket, g, e }))
}

/// The browser's source of randomness for reports: SipHash-2-4 keyed by 128 bits
/// from `crypto.getRandomValues`, over a counter. A report's seed is visible to the
/// server, so the draws must not be predictable from earlier ones (a plain
/// xorshift's state could be read back from a few seeds, and with it every
/// keep-or-flip coin); a keyed PRF's cannot without the key.
#[derive(Clone, Debug)]
pub struct Prf {
    k0: u64,
    k1: u64,
    n: u64,
}

impl Prf {
    /// A generator keyed by four random words.
    pub fn new(key: [u32; 4]) -> Prf {
        Prf { k0: (key[0] as u64) << 32 | key[1] as u64, k1: (key[2] as u64) << 32 | key[3] as u64, n: 0 }
    }

    /// The next 64 random bits.
    pub fn next64(&mut self) -> u64 {
        self.n = self.n.wrapping_add(1);
        siphash24(self.k0, self.k1, self.n)
    }

    /// The next 32 random bits.
    pub fn next32(&mut self) -> u32 {
        (self.next64() >> 32) as u32
    }
}

/// SipHash-2-4 of one 8-byte little-endian message `m` (Aumasson and Bernstein).
fn siphash24(k0: u64, k1: u64, m: u64) -> u64 {
    let mut v = [k0 ^ 0x736f_6d65_7073_6575, k1 ^ 0x646f_7261_6e64_6f6d, k0 ^ 0x6c79_6765_6e65_7261, k1 ^ 0x7465_6462_7974_6573];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    // The message block, then the final block holding the length (8) in its top byte.
    for b in [m, 8u64 << 56] {
        v[3] ^= b;
        round(&mut v);
        round(&mut v);
        v[0] ^= b;
    }
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// A `u32` in decimal, without `core::fmt`.
fn dec(v: u32) -> String {
    crate::json::itoa(v as u64)
}

/// A canonical decimal `u32`: digits only, no leading zero (except `0` itself).
fn parse_dec(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    let mut v: u32 = 0;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u32)?;
    }
    Some(v)
}

/// Reports of one ε. A report supports an item when the top 32 bits of the item's
/// mix fall in the report's bucket, `[⌈b·2³²/g⌉, ⌈(b+1)·2³²/g⌉)`: one subtraction and
/// one comparison instead of the reduction's multiply.
#[derive(Clone, Debug)]
struct Group {
    params: Params,
    /// Per report: the seed key, the bucket's first top value and its width.
    reports: Vec<(u64, u64, u64)>,
}

/// `⌈b·2³²/g⌉`.
fn bucket_start(b: u32, g: u32) -> u64 {
    ((b as u64) << 32).div_ceil(g as u64)
}

/// The server-side aggregator of one signal's reports: takes reports, returns
/// unbiased count estimates for any candidate items.
///
/// Reports made with different ε are kept apart and their estimates added, so a
/// change of ε stays unbiased. The cost of [`Estimator::estimate`] is one hash per
/// (candidate, report) pair, single-threaded; a backend that wants more speed can
/// split the candidates across threads (the estimator is immutable while estimating).
#[derive(Clone, Debug, Default)]
pub struct Estimator {
    groups: Vec<Group>,
    rejected: u64,
}

impl Estimator {
    /// An empty estimator.
    pub fn new() -> Estimator {
        Estimator::default()
    }

    /// Adds one report. Returns false (and counts it as rejected) when it is not
    /// well-formed: `e` out of range, `g` not the bucket count of `e`, `b ≥ g`.
    pub fn add(&mut self, r: &Report) -> bool {
        let i = match self.groups.iter().position(|gr| gr.params.e == r.e) {
            Some(i) => i,
            None if (MIN_E..=MAX_E).contains(&r.e) => {
                self.groups.push(Group { params: Params::from_e(r.e), reports: Vec::new() });
                self.groups.len() - 1
            }
            None => usize::MAX,
        };
        match self.groups.get_mut(i) {
            Some(gr) if gr.params.g == r.g && r.bucket < r.g => {
                let lo = bucket_start(r.bucket, r.g);
                gr.reports.push((seed_key(r.seed), lo, bucket_start(r.bucket + 1, r.g) - lo));
                true
            }
            _ => {
                self.rejected += 1;
                false
            }
        }
    }

    /// Number of reports accepted.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.reports.len()).sum()
    }

    /// Whether no report was accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of reports refused by [`Estimator::add`].
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// How many reports support `item` in each ε group, `C_i`.
    fn support(&self, h: u64, out: &mut [u32]) {
        for (gr, c) in self.groups.iter().zip(out.iter_mut()) {
            *c = gr.reports.iter().map(|&(k, lo, w)| (mix_top(h, k).wrapping_sub(lo) < w) as u32).sum();
        }
    }

    /// The unbiased count estimate of each item, in order. Estimates are real
    /// numbers and can be negative or fractional; an estimator without reports
    /// gives zeros.
    pub fn estimate(&self, items: &[&str]) -> Vec<f64> {
        let mut c = vec![0u32; self.groups.len()];
        items
            .iter()
            .map(|item| {
                self.support(item_hash(item), &mut c);
                self.groups
                    .iter()
                    .zip(&c)
                    .map(|(gr, &ci)| {
                        let (n, q) = (gr.reports.len() as f64, gr.params.q());
                        (ci as f64 - n * q) / (gr.params.p - q)
                    })
                    .sum()
            })
            .collect()
    }

    /// Standard deviation of the estimate of an item whose true count is `f`
    /// (split across ε groups in proportion to their sizes).
    pub fn sd(&self, f: f64) -> f64 {
        let n = self.len() as f64;
        if n == 0.0 {
            return 0.0;
        }
        self.groups
            .iter()
            .map(|gr| {
                let ng = gr.reports.len() as f64;
                gr.params.variance(f * ng / n, ng)
            })
            .sum::<f64>()
            .sqrt()
    }

    /// Standard deviation of the estimate of an item nobody reported: the noise
    /// floor. Publishing only estimates above `z × noise_sd()` keeps false
    /// publications to about `candidates × P(N(0,1) > z)`.
    pub fn noise_sd(&self) -> f64 {
        self.sd(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_matches_the_reference_vector() {
        // The paper's test vector for an 8-byte message 00..07 under key 00..0f.
        assert_eq!(siphash24(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908, 0x0706_0504_0302_0100), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn prf_draws_differ_by_key_and_step() {
        let mut a = Prf::new([1, 2, 3, 4]);
        let mut b = Prf::new([1, 2, 3, 5]);
        let (a1, a2, b1) = (a.next64(), a.next64(), b.next64());
        assert_ne!(a1, a2);
        assert_ne!(a1, b1);
        assert_eq!(Prf::new([1, 2, 3, 4]).next64(), a1);
    }
}
