//! The public item-to-item model: what the server learns from everyone's sessions
//! and ships to the browser, where [`crate::rank`] combines it with the shopper's
//! private session.
//!
//! A [`Model`] is, per item, a **bounded neighbour list** (at most
//! [`BuildParams::neighbours`] items with a weight each) plus a short list of
//! **popular items** (a prior and the fallback for shoppers whose items the model
//! does not know). Nothing in it is about one shopper.
//!
//! # The key design decision: session-kNN folded into item lists
//!
//! Session-kNN (V-SKNN) is strong on e-commerce sessions but needs every training
//! session at rank time, which a browser cannot have. [`ModelBuilder`] precomputes
//! what makes it strong into the lists instead:
//!
//! - **sequential transitions**: for items `a` before `b` at distance `d` in a
//!   session, `a → b` gains `forward · decay^(d-1)` and `b → a` gains
//!   `backward · decay^(d-1)` (what comes next matters more than what came before);
//! - **co-occurrence**: every pair within [`BuildParams::window`] also gains a flat
//!   `cooccur`; with [`BuildParams::pair_max`] a pair counts once per session (its
//!   strongest occurrence), like a session that contains both items;
//! - **recency**: each training session carries a weight (later sessions weigh
//!   more; [`ModelBuilder::from_sessions`] uses a half-life counted in sessions);
//! - **normalization**: the pair weight is divided by `(count(a) + shrink)^source_norm
//!   · count(b)^target_norm`, where counts are the (weighted) numbers of sessions an
//!   item occurs in: the source term makes lists of frequent and rare items
//!   comparable, the target term damps items that follow everything (IDF-like).
//!
//! The model is then scaled (by a power of two) so that a typical item's strongest
//! neighbour weighs about 1, which gives the ranking parameters (repeat boost,
//! popularity prior) a meaning that does not depend on the normalization.
//!
//! Measured on Diginetica (train on all but the last 15,000 sessions, validate on
//! those, every prefix predicts the next item over all items): HR@20 52.97,
//! MRR@20 19.47 with the default parameters; 96 bytes per item, about 0.4 KB of
//! lists touched by a median session; see `server/src/eval.rs`.
//!
//! Weights are quantized at build time (one byte per neighbour on a logarithmic
//! scale, relative to a per-item `f32` scale), so the model the server evaluates is
//! bit for bit the model the browser decodes.
//!
//! # Wire format and shards
//!
//! [`Model::encode`] writes everything; [`Model::encode_head`] only the popular
//! list; [`Model::encode_shard`] only the lists of the items whose
//! [`shard_of`] is a given bucket. All three decode with [`Model::decode`] and
//! combine with [`Model::merge`], so the browser can load the head once and then
//! only the shards its session's items fall in. Layout (varints are LEB128):
//!
//! ```text
//! "VTM" 1                       magic and version
//! flags: u8                     bit 0: has a popular list
//! [popular]  varint n, f32le scale, n × (varint id, u8 q)
//! varint items, items × (varint id delta, varint n, f32le scale,
//!                        n × (varint neighbour id delta, u8 q))
//! ```
//!
//! Item ids are ascending (the first delta is the id itself, later deltas are
//! at least 1); neighbour ids ascending within a list. A quantized weight is
//! `scale · 2^((q − 255) / 16)`. Decoding never panics, checks every count against
//! the bytes that remain before reserving anything, and rejects non-finite or
//! absurd scales, so every weight of a decoded model is finite and bounded.
//!
//! # Ids
//!
//! Items are `u32` ids. For a shop, the server assigns dense ids to SKUs and
//! publishes that table next to the model; the browser maps the SKUs it sees to ids
//! before ranking and the ranked ids back to SKUs.

use std::collections::HashMap;

/// How [`ModelBuilder`] turns sessions into neighbour lists.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildParams {
    /// Longest neighbour list kept per item (top by weight).
    pub neighbours: usize,
    /// Largest distance between two positions of a session that forms a pair.
    pub window: usize,
    /// Weight of `a → b` when `b` directly follows `a`.
    pub forward: f32,
    /// Weight of `b → a` when `b` directly follows `a`.
    pub backward: f32,
    /// Factor per extra step of distance for `forward` and `backward`.
    pub decay: f32,
    /// Flat weight of every pair within the window, both directions.
    pub cooccur: f32,
    /// Within one session, a pair counts its strongest occurrence (`true`) or the
    /// sum of all of them (`false`).
    pub pair_max: bool,
    /// Exponent of the source item's count in the normalization.
    pub source_norm: f32,
    /// Exponent of the neighbour's count in the normalization (IDF-like damping).
    pub target_norm: f32,
    /// Added to the source item's count before normalizing (damps rare sources).
    pub shrink: f32,
    /// Only the last this many items of a long training session are used.
    pub max_session: usize,
    /// Recency half-life of training sessions, in sessions, for
    /// [`ModelBuilder::from_sessions`] (0 = every session weighs the same).
    pub recency_half_life: f32,
    /// Recency half-life of the popularity counts, in sessions (0 = none).
    pub popular_half_life: f32,
    /// Length of the popular list.
    pub popular: usize,
}

impl Default for BuildParams {
    /// Tuned on Diginetica (train on all but the last 15,000 sessions, validate on
    /// those; see `server/src/eval.rs`).
    fn default() -> Self {
        BuildParams {
            neighbours: 50,
            window: 10,
            forward: 1.0,
            backward: 0.7,
            decay: 0.5,
            cooccur: 0.8,
            pair_max: true,
            source_norm: 0.5,
            target_norm: 0.25,
            shrink: 1.0,
            max_session: 50,
            recency_half_life: 100_000.0,
            popular_half_life: 10_000.0,
            popular: 200,
        }
    }
}

/// Largest per-item scale a decoded model accepts; keeps every score finite.
pub const MAX_SCALE: f32 = 1.0e9;
/// Longest neighbour list a decoded model accepts.
pub const MAX_NEIGHBOURS: usize = 4096;
/// Longest popular list a decoded model accepts.
pub const MAX_POPULAR: usize = 65_536;
const MAGIC: &[u8; 4] = b"VTM\x01";
/// Steps per octave of the one-byte logarithmic weights (16 octaves in all).
const Q_STEPS_PER_OCTAVE: f32 = 16.0;

/// The public model: per item a bounded neighbour list, and the popular items.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Items that have a list, ascending.
    ids: Vec<u32>,
    /// `starts[i]..starts[i + 1]` indexes the list of `ids[i]`.
    starts: Vec<u32>,
    nbr: Vec<u32>,
    wt: Vec<f32>,
    /// Popular items, strongest first, weights in (0, 1].
    popular: Vec<(u32, f32)>,
}

/// Why a byte string is not a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// Not a model, or a version this code does not read.
    BadMagic,
    /// The input ended in the middle of something.
    Truncated(&'static str),
    /// A value is out of range or ids are not ascending.
    Bad(&'static str),
}

impl ModelError {
    /// A readable reason, built without the formatting machinery (kept out of the wasm).
    pub fn message(&self) -> String {
        match self {
            ModelError::BadMagic => "not a model (bad magic or version)".into(),
            ModelError::Truncated(w) => ["truncated ", w].concat(),
            ModelError::Bad(w) => ["bad ", w].concat(),
        }
    }
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// The shard (bucket among `n_shards`) an item's list is published in. A cheap
/// integer hash that the browser side can compute too (`n_shards` 0 counts as 1).
pub fn shard_of(item: u32, n_shards: u32) -> u32 {
    let h = item.wrapping_mul(0x9E37_79B1);
    (h ^ (h >> 16)) % n_shards.max(1)
}

fn quantize(w: f32, scale: f32) -> Option<u8> {
    if w.is_nan() || scale.is_nan() || w <= 0.0 || scale <= 0.0 {
        return None;
    }
    let q = 255.0 + ((w / scale).log2() * Q_STEPS_PER_OCTAVE).round();
    if q < 0.0 {
        None
    } else {
        Some(q.min(255.0) as u8)
    }
}

/// `2^(-i/16)` for `i` in 0..16 (a table: no `exp2` from libm in the wasm).
const FRAC: [f32; 16] = [
    1.0,
    0.957_603_3,
    0.917_004_05,
    0.878_126_1,
    0.840_896_4,
    0.805_245_16,
    0.771_105_4,
    0.738_413_1,
    0.707_106_77,
    0.677_127_8,
    0.648_419_8,
    0.620_928_9,
    0.594_603_54,
    0.569_394_3,
    0.545_253_9,
    0.522_136_87,
];

/// `scale · 2^((q − 255) / 16)`, computed the same way everywhere (exact powers
/// of two times a table entry), so the built and the decoded weights are equal.
fn dequantize(q: u8, scale: f32) -> f32 {
    let steps = 255 - q as u32;
    // 2^-(steps / 16) is exact: an f32 with only the exponent set (steps / 16 <= 15).
    let octaves = f32::from_bits((127 - steps / 16) << 23);
    scale * FRAC[(steps % 16) as usize] * octaves
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// What the decoder reads, as its errors name it: an [`Rd`] error is the
/// index of one of these, plus [`BAD`] for a bad value (else the input ended).
/// Only [`Model::decode`] turns a code into a [`ModelError`], so a caller that
/// wants only "is it a model" (the wasm) carries none of these strings.
const WHAT: [&str; 14] = [
    "flags", "popular", "popular scale", "popular item", "popular weight", "items", "item id", "item order", "neighbours", "scale",
    "neighbour id", "neighbour order", "weight", "trailing bytes",
];
const FLAGS: u8 = 0;
const POPULAR: u8 = 1;
const POPULAR_SCALE: u8 = 2;
const POPULAR_ITEM: u8 = 3;
const POPULAR_WEIGHT: u8 = 4;
const ITEMS: u8 = 5;
const ITEM_ID: u8 = 6;
const NEIGHBOURS: u8 = 8;
const SCALE: u8 = 9;
const NEIGHBOUR_ID: u8 = 10;
const WEIGHT: u8 = 12;
const TRAILING: u8 = 13;
/// Added to a [`WHAT`] index: a bad value.
const BAD: u8 = 16;
/// Not a model (bad magic or version).
const MAGIC_ERR: u8 = 255;

/// The decoder's reader. The first error sticks: reads after it give 0 (and
/// counts 0), so decoding runs on without a check after every read and
/// reports the first error, as if it had stopped there. The error is a code
/// (see [`WHAT`]), [`NO_ERR`] while there is none.
struct Rd<'a> {
    buf: &'a [u8],
    pos: usize,
    err: u8,
}

const NO_ERR: u8 = 254;

impl Rd<'_> {
    fn fail(&mut self, e: u8) {
        if self.err == NO_ERR {
            self.err = e;
        }
    }
    fn byte(&mut self, what: u8) -> u8 {
        let b = self.buf.get(self.pos).copied();
        self.pos += 1;
        if b.is_none() {
            self.fail(what);
        }
        b.unwrap_or(0)
    }
    /// An `f32` scale: finite, above 0 and at most [`MAX_SCALE`].
    fn scale(&mut self, what: u8) -> f32 {
        let mut b = [0; 4];
        for x in &mut b {
            *x = self.byte(what);
        }
        let s = f32::from_le_bytes(b);
        if !(s.is_finite() && s > 0.0 && s <= MAX_SCALE) {
            self.fail(BAD + SCALE);
        }
        s
    }
    fn varint32(&mut self, what: u8) -> u32 {
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.byte(what);
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                if v > u32::MAX as u64 {
                    break;
                }
                return v as u32;
            }
        }
        self.fail(BAD + what);
        0
    }
    /// An id: the first of a list as it is, the next ones as a delta (at
    /// least 1) from the one before; `what`'s order follows it in [`WHAT`].
    fn id(&mut self, first: bool, prev: u32, what: u8) -> u32 {
        let d = self.varint32(what);
        if first {
            return d;
        }
        if d == 0 {
            self.fail(BAD + what + 1);
        }
        prev.checked_add(d).unwrap_or_else(|| {
            self.fail(BAD + what);
            0
        })
    }
    /// A count, checked against `max` and against the bytes left (`min_bytes` each).
    fn count(&mut self, what: u8, max: usize, min_bytes: usize) -> usize {
        let n = self.varint32(what) as usize;
        if n > max {
            self.fail(BAD + what);
        } else if n.saturating_mul(min_bytes) > self.buf.len().saturating_sub(self.pos) {
            self.fail(what);
        }
        if self.err != NO_ERR {
            0
        } else {
            n
        }
    }
}

impl Default for Model {
    /// An empty model: no lists, no popular items.
    fn default() -> Self {
        Model { ids: Vec::new(), starts: vec![0], nbr: Vec::new(), wt: Vec::new(), popular: Vec::new() }
    }
}

impl Model {
    /// Number of items that have a neighbour list.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no item has a list and there is no popular list.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.popular.is_empty()
    }

    /// The items that have a neighbour list, ascending.
    pub fn items(&self) -> &[u32] {
        &self.ids
    }

    /// Number of (item, neighbour) entries in all lists.
    pub fn entries(&self) -> usize {
        self.nbr.len()
    }

    /// List `i` (`i < ids.len()`). Every constructor keeps `starts` one
    /// longer than `ids`, ascending, ending at `nbr.len() == wt.len()`: plain
    /// indexing (still checked) finds what the checked `get`s found.
    fn list_at(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        (&self.nbr[a..b], &self.wt[a..b])
    }

    /// The neighbour list of `item` (ids ascending, weights finite and positive),
    /// or `None` when the model (or the shards loaded so far) has no list for it.
    pub fn neighbours(&self, item: u32) -> Option<(&[u32], &[f32])> {
        // A loop: smaller in the wasm than `binary_search`.
        let (mut lo, mut hi) = (0, self.ids.len());
        while lo < hi {
            let m = (lo + hi) / 2;
            if self.ids[m] < item {
                lo = m + 1;
            } else {
                hi = m;
            }
        }
        (self.ids.get(lo) == Some(&item)).then(|| self.list_at(lo))
    }

    /// The popular items, strongest first, weights in (0, 1].
    pub fn popular(&self) -> &[(u32, f32)] {
        &self.popular
    }

    /// Builds a model from explicit lists (ids need not be sorted; non-positive or
    /// non-finite weights and self-references are dropped, later duplicates of an
    /// item replace earlier ones). Weights are quantized like a built model's, so
    /// the result round-trips through [`Model::encode`] exactly. Handy for
    /// fixtures and for servers that compute lists another way.
    pub fn from_lists(lists: Vec<(u32, Vec<(u32, f32)>)>, popular: Vec<(u32, f32)>) -> Model {
        let mut by_item: Vec<(u32, Vec<(u32, f32)>)> = Vec::with_capacity(lists.len());
        for (item, list) in lists {
            by_item.push((item, list.into_iter().filter(|&(n, w)| n != item && w.is_finite() && w > 0.0).collect()));
        }
        // Stable sort keeps the later duplicate last; dedup keeps the first, so reverse.
        by_item.reverse();
        by_item.sort_by_key(|(item, _)| *item);
        by_item.dedup_by_key(|(item, _)| *item);
        let mut m = Model::default();
        for (item, list) in by_item {
            m.push_list(item, list);
        }
        m.set_popular(popular);
        m
    }

    /// Appends the list of `item` (larger than every item so far): keeps the
    /// strongest [`MAX_NEIGHBOURS`], quantizes, sorts by neighbour id.
    fn push_list(&mut self, item: u32, mut list: Vec<(u32, f32)>) {
        list.retain(|&(n, w)| n != item && w.is_finite() && w > 0.0);
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        list.dedup_by_key(|e| e.0);
        list.truncate(MAX_NEIGHBOURS);
        let Some(&(_, max)) = list.first() else { return };
        let scale = max.min(MAX_SCALE);
        let mut q: Vec<(u32, f32)> = list
            .iter()
            .filter_map(|&(n, w)| quantize(w.min(scale), scale).map(|q| (n, dequantize(q, scale))))
            .collect();
        q.sort_by_key(|e| e.0);
        q.dedup_by_key(|e| e.0);
        if q.is_empty() {
            return;
        }
        self.ids.push(item);
        for (n, w) in q {
            self.nbr.push(n);
            self.wt.push(w);
        }
        self.starts.push(self.nbr.len() as u32);
    }

    fn set_popular(&mut self, mut popular: Vec<(u32, f32)>) {
        popular.retain(|&(_, w)| w.is_finite() && w > 0.0);
        popular.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seen = std::collections::HashSet::new();
        popular.retain(|e| seen.insert(e.0));
        popular.truncate(MAX_POPULAR);
        let max = popular.first().map_or(1.0, |e| e.1);
        self.popular =
            popular.into_iter().filter_map(|(i, w)| quantize(w / max, 1.0).map(|q| (i, dequantize(q, 1.0)))).collect();
    }

    /// Everything: popular list and every neighbour list.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(true, |_| true)
    }

    /// The head: only the popular list (load it first).
    pub fn encode_head(&self) -> Vec<u8> {
        self.encode_with(true, |_| false)
    }

    /// The lists of the items with `shard_of(item, n_shards) == shard`.
    pub fn encode_shard(&self, shard: u32, n_shards: u32) -> Vec<u8> {
        self.encode_with(false, |item| shard_of(item, n_shards) == shard)
    }

    fn encode_with(&self, with_popular: bool, keep: impl Fn(u32) -> bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        let with_popular = with_popular && !self.popular.is_empty();
        out.push(with_popular as u8);
        if with_popular {
            put_varint(&mut out, self.popular.len() as u64);
            out.extend_from_slice(&1.0f32.to_le_bytes());
            for &(item, w) in &self.popular {
                put_varint(&mut out, item as u64);
                out.push(quantize(w, 1.0).unwrap_or(0));
            }
        }
        let kept: Vec<usize> = (0..self.ids.len()).filter(|&i| keep(self.ids[i])).collect();
        put_varint(&mut out, kept.len() as u64);
        let mut prev = 0u32;
        for (k, &i) in kept.iter().enumerate() {
            let item = self.ids[i];
            put_varint(&mut out, (if k == 0 { item } else { item - prev }) as u64);
            prev = item;
            self.put_list(&mut out, i);
        }
        out
    }

    fn put_list(&self, out: &mut Vec<u8>, i: usize) {
        let (nbr, wt) = self.list_at(i);
        let scale = wt.iter().copied().fold(0.0f32, f32::max);
        put_varint(out, nbr.len() as u64);
        out.extend_from_slice(&scale.to_le_bytes());
        let mut prev = 0u32;
        for (j, (&n, &w)) in nbr.iter().zip(wt).enumerate() {
            put_varint(out, (if j == 0 { n } else { n - prev }) as u64);
            prev = n;
            out.push(quantize(w, scale).unwrap_or(0));
        }
    }

    /// Decodes anything [`Model::encode`], [`Model::encode_head`] or
    /// [`Model::encode_shard`] wrote. Never panics; allocates at most a small
    /// multiple of the input.
    pub fn decode(buf: &[u8]) -> Result<Model, ModelError> {
        Model::decode_code(buf, true).map_err(|e| match e {
            MAGIC_ERR => ModelError::BadMagic,
            e if e >= BAD => ModelError::Bad(WHAT[(e - BAD) as usize]),
            e => ModelError::Truncated(WHAT[e as usize]),
        })
    }

    /// [`Model::decode`] with the error as a code (see [`WHAT`]); the popular
    /// list is checked but kept only when `popular` (the recommender does not
    /// read it).
    pub(crate) fn decode_code(buf: &[u8], popular: bool) -> Result<Model, u8> {
        if buf.get(..4) != Some(&MAGIC[..]) {
            return Err(MAGIC_ERR);
        }
        let mut r = Rd { buf, pos: 4, err: NO_ERR };
        let flags = r.byte(FLAGS);
        if flags > 1 {
            r.fail(BAD + FLAGS);
        }
        let mut m = Model { ids: Vec::new(), starts: Vec::new(), nbr: Vec::new(), wt: Vec::new(), popular: Vec::new() };
        m.starts.push(0);
        if flags == 1 {
            let n = r.count(POPULAR, MAX_POPULAR, 2);
            let scale = r.scale(POPULAR_SCALE);
            for _ in 0..n {
                let item = r.varint32(POPULAR_ITEM);
                let q = r.byte(POPULAR_WEIGHT);
                if popular {
                    m.popular.push((item, dequantize(q, scale)));
                }
            }
        }
        let n_items = r.count(ITEMS, u32::MAX as usize, 6);
        let mut item = 0;
        for k in 0..n_items {
            item = r.id(k == 0, item, ITEM_ID);
            let n = r.count(NEIGHBOURS, MAX_NEIGHBOURS, 2);
            let scale = r.scale(SCALE);
            let mut nb = 0;
            for j in 0..n {
                nb = r.id(j == 0, nb, NEIGHBOUR_ID);
                let q = r.byte(WEIGHT);
                if nb != item {
                    m.nbr.push(nb);
                    m.wt.push(dequantize(q, scale));
                }
            }
            m.ids.push(item);
            m.starts.push(m.nbr.len() as u32);
        }
        if r.pos != buf.len() {
            r.fail(BAD + TRAILING);
        }
        if r.err != NO_ERR {
            return Err(r.err);
        }
        Ok(m)
    }

    /// Adds what `other` carries: its lists (replacing this model's list of the
    /// same item) and its popular list if it has one. This is how the browser
    /// combines the head and the shards it loaded.
    pub fn merge(&mut self, other: &Model) {
        if !other.popular.is_empty() {
            self.popular = other.popular.clone();
        }
        if other.ids.is_empty() {
            return;
        }
        let mut out = Model { popular: std::mem::take(&mut self.popular), ..Model::default() };
        let (mut i, mut j) = (0, 0);
        let copy = |out: &mut Model, src: &Model, k: usize| {
            let (n, w) = src.list_at(k);
            out.ids.push(src.ids[k]);
            out.nbr.extend_from_slice(n);
            out.wt.extend_from_slice(w);
            out.starts.push(out.nbr.len() as u32);
        };
        while i < self.ids.len() || j < other.ids.len() {
            let a = self.ids.get(i).copied();
            let b = other.ids.get(j).copied();
            match (a, b) {
                (Some(x), Some(y)) if x < y => {
                    copy(&mut out, self, i);
                    i += 1;
                }
                (Some(x), Some(y)) if x == y => {
                    copy(&mut out, other, j);
                    i += 1;
                    j += 1;
                }
                (_, Some(_)) => {
                    copy(&mut out, other, j);
                    j += 1;
                }
                (Some(_), None) => {
                    copy(&mut out, self, i);
                    i += 1;
                }
                (None, None) => break,
            }
        }
        *self = out;
    }

    /// Encoded bytes of the neighbour lists of `items` (each distinct item counted
    /// once; items without a list cost nothing): what a session "touches".
    pub fn bytes_for(&self, items: &[u32]) -> usize {
        let mut distinct: Vec<u32> = items.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        distinct
            .iter()
            .filter_map(|&it| self.ids.binary_search(&it).ok().map(|i| (it, i)))
            .map(|(it, i)| self.list_bytes(it, i))
            .sum()
    }

    /// Encoded size of one item's list (with its id written absolutely: an upper
    /// bound of its size inside a shard).
    fn list_bytes(&self, item: u32, i: usize) -> usize {
        let (nbr, _) = self.list_at(i);
        let mut n = varint_len(item as u64) + varint_len(nbr.len() as u64) + 4;
        let mut prev = 0u32;
        for (j, &x) in nbr.iter().enumerate() {
            n += varint_len(if j == 0 { x } else { x - prev } as u64) + 1;
            prev = x;
        }
        n
    }
}

/// Accumulates weighted sessions, then builds a [`Model`].
#[derive(Debug)]
pub struct ModelBuilder {
    params: BuildParams,
    /// (source << 32 | neighbour, weight); compacted (sorted, merged) when large.
    pairs: Vec<(u64, f32)>,
    compacted: usize,
    /// Per item: weighted sessions it occurs in (for normalization), popularity.
    counts: HashMap<u32, (f32, f32)>,
    scratch: Vec<(u64, f32)>,
}

const COMPACT_AT: usize = 1 << 24;

/// Sorts by key and merges equal keys (sum, or max when `use_max`).
fn compact(pairs: &mut Vec<(u64, f32)>, use_max: bool) {
    pairs.sort_unstable_by_key(|e| e.0);
    let mut w = 0usize;
    for r in 0..pairs.len() {
        if w > 0 && pairs[w - 1].0 == pairs[r].0 {
            let v = pairs[r].1;
            let acc = &mut pairs[w - 1].1;
            *acc = if use_max { acc.max(v) } else { *acc + v };
        } else {
            pairs[w] = pairs[r];
            w += 1;
        }
    }
    pairs.truncate(w);
}

impl ModelBuilder {
    /// An empty builder.
    pub fn new(params: BuildParams) -> ModelBuilder {
        ModelBuilder { params, pairs: Vec::new(), compacted: 0, counts: HashMap::new(), scratch: Vec::new() }
    }

    /// Builds from sessions in time order (oldest first): session `i` of `n` weighs
    /// `2^(-(n-1-i) / recency_half_life)` for the lists and
    /// `2^(-(n-1-i) / popular_half_life)` for popularity.
    pub fn from_sessions<S: AsRef<[u32]>>(sessions: &[S], params: BuildParams) -> Model {
        let n = sessions.len();
        let decay = |hl: f32, i: usize| -> f32 {
            if hl > 0.0 && hl.is_finite() {
                (-((n - 1 - i) as f64) / hl as f64).exp2() as f32
            } else {
                1.0
            }
        };
        let (rh, ph) = (params.recency_half_life, params.popular_half_life);
        let mut b = ModelBuilder::new(params);
        for (i, s) in sessions.iter().enumerate() {
            b.add(s.as_ref(), decay(rh, i), decay(ph, i));
        }
        b.build()
    }

    /// Adds one session (items in click order) with its weight for the lists and
    /// its weight for popularity. Non-finite or negative weights count as 0.
    pub fn add(&mut self, session: &[u32], weight: f32, popularity_weight: f32) {
        let sw = if weight.is_finite() && weight > 0.0 { weight } else { 0.0 };
        let pw = if popularity_weight.is_finite() && popularity_weight > 0.0 { popularity_weight } else { 0.0 };
        let p = &self.params;
        let s = &session[session.len().saturating_sub(p.max_session.max(1))..];
        // Counts: each distinct item once per session.
        let mut distinct: Vec<u32> = s.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        for &it in &distinct {
            let c = self.counts.entry(it).or_insert((0.0, 0.0));
            c.0 += sw;
            c.1 += pw;
        }
        if sw == 0.0 {
            return;
        }
        let sc = &mut self.scratch;
        sc.clear();
        for q in 1..s.len() {
            for pp in q.saturating_sub(p.window.max(1))..q {
                let (a, b) = (s[pp], s[q]);
                if a == b {
                    continue;
                }
                let f = p.decay.powi((q - pp - 1) as i32);
                let fw = sw * (p.forward * f + p.cooccur);
                let bw = sw * (p.backward * f + p.cooccur);
                if fw > 0.0 && fw.is_finite() {
                    sc.push(((a as u64) << 32 | b as u64, fw));
                }
                if bw > 0.0 && bw.is_finite() {
                    sc.push(((b as u64) << 32 | a as u64, bw));
                }
            }
        }
        compact(sc, p.pair_max);
        self.pairs.extend_from_slice(sc);
        if self.pairs.len() >= self.compacted.max(COMPACT_AT / 2) * 2 {
            compact(&mut self.pairs, false);
            self.compacted = self.pairs.len();
        }
    }

    /// Normalizes, keeps the strongest neighbours of each item, quantizes.
    pub fn build(mut self) -> Model {
        compact(&mut self.pairs, false);
        let p = &self.params;
        let count = |it: u32| self.counts.get(&it).map_or(0.0, |c| c.0);
        let norm = |c: f32, e: f32| if e == 0.0 { 1.0 } else { c.max(1e-12).powf(e) };
        let mut m = Model::default();
        let mut list: Vec<(u32, f32)> = Vec::new();
        let mut i = 0;
        let k = p.neighbours.clamp(1, MAX_NEIGHBOURS);
        while i < self.pairs.len() {
            let src = (self.pairs[i].0 >> 32) as u32;
            let ns = norm(count(src) + p.shrink.max(0.0), p.source_norm);
            list.clear();
            while i < self.pairs.len() && (self.pairs[i].0 >> 32) as u32 == src {
                let (key, w) = self.pairs[i];
                let nb = key as u32;
                let v = w / (ns * norm(count(nb), p.target_norm));
                if v.is_finite() && v > 0.0 {
                    list.push((nb, v));
                }
                i += 1;
            }
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            list.truncate(k);
            m.push_list(src, std::mem::take(&mut list));
        }
        // Scale so that a typical item's strongest neighbour weighs about 1: then
        // the ranking parameters (repeat, popularity) mean the same whatever the
        // normalization. A power of two keeps the quantized values exact.
        let mut maxima: Vec<f32> =
            (0..m.ids.len()).map(|i| m.list_at(i).1.iter().copied().fold(0.0, f32::max)).collect();
        maxima.sort_by(f32::total_cmp);
        let median = maxima.get(maxima.len() / 2).copied().unwrap_or(1.0);
        let top = maxima.last().copied().unwrap_or(1.0);
        if median > 0.0 && top > 0.0 {
            // Never let the largest weight reach MAX_SCALE.
            let e = (-median.log2().round()).min((MAX_SCALE / 2.0).log2().floor() - top.log2().ceil());
            let f = e.exp2();
            for w in &mut m.wt {
                *w *= f;
            }
        }
        let mut pop: Vec<(u32, f32)> = self.counts.iter().map(|(&i, c)| (i, c.1)).collect();
        pop.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        pop.truncate(p.popular);
        m.set_popular(pop);
        m
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator for property loops (no dependency, runs in wasm).
    pub(crate) struct XorShift(pub u64);
    impl XorShift {
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    pub(crate) fn random_sessions(rng: &mut XorShift, n: usize, items: u64) -> Vec<Vec<u32>> {
        (0..n).map(|_| (0..2 + rng.below(8)).map(|_| 1 + rng.below(items) as u32).collect()).collect()
    }

    fn sample() -> Model {
        let mut rng = XorShift(7);
        ModelBuilder::from_sessions(&random_sessions(&mut rng, 400, 60), BuildParams::default())
    }

    #[test]
    fn builds_bounded_lists_without_self_references() {
        let p = BuildParams { neighbours: 5, ..BuildParams::default() };
        let mut rng = XorShift(3);
        let m = ModelBuilder::from_sessions(&random_sessions(&mut rng, 300, 40), p);
        assert!(m.len() > 30);
        for &it in m.items() {
            let (n, w) = m.neighbours(it).unwrap();
            assert!(!n.is_empty() && n.len() <= 5);
            assert!(n.windows(2).all(|x| x[0] < x[1]), "ascending ids");
            assert!(!n.contains(&it));
            assert!(w.iter().all(|w| w.is_finite() && *w > 0.0 && *w <= MAX_SCALE));
        }
        assert!(m.neighbours(10_000).is_none());
        assert!(!m.popular().is_empty() && m.popular().len() <= 200);
        assert!(m.popular().windows(2).all(|x| x[0].1 >= x[1].1));
        assert_eq!(m.popular()[0].1, 1.0);
    }

    #[test]
    fn encode_decode_is_exact() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(Model::decode(&bytes).unwrap(), m);
        let empty = Model::default();
        assert_eq!(Model::decode(&empty.encode()).unwrap(), empty);
        let lists =
            Model::from_lists(vec![(5, vec![(1, 0.5), (9, 2.0), (5, 1.0)]), (3, vec![(4, 1.0)])], vec![(9, 3.0)]);
        assert_eq!(lists.items(), &[3, 5]);
        assert_eq!(lists.neighbours(5).unwrap().0, &[1, 9]);
        assert_eq!(Model::decode(&lists.encode()).unwrap(), lists);
    }

    #[test]
    fn head_and_shards_merge_back_to_the_model() {
        let m = sample();
        let n = 7;
        let mut merged = Model::decode(&m.encode_head()).unwrap();
        assert_eq!(merged.len(), 0);
        assert_eq!(merged.popular(), m.popular());
        // Out of order on purpose: merging is order-independent.
        for s in (0..n).rev() {
            let shard = Model::decode(&m.encode_shard(s, n)).unwrap();
            assert!(shard.popular().is_empty());
            assert!(shard.items().iter().all(|&i| shard_of(i, n) == s));
            merged.merge(&shard);
        }
        assert_eq!(merged, m);
        let total: usize = (0..n).map(|s| m.encode_shard(s, n).len()).sum();
        assert!(total < m.encode().len() + 6 * n as usize);
    }

    #[test]
    fn bytes_for_counts_each_list_once() {
        let m = sample();
        let a = m.items()[0];
        let b = m.items()[1];
        let one = m.bytes_for(&[a]);
        assert!(one > 4);
        assert_eq!(m.bytes_for(&[a, a, a]), one);
        assert_eq!(m.bytes_for(&[a, b]), one + m.bytes_for(&[b]));
        assert_eq!(m.bytes_for(&[]), 0);
        assert_eq!(m.bytes_for(&[u32::MAX]), 0);
        assert!(m.bytes_for(m.items()) <= m.encode().len());
    }

    #[test]
    fn quantization_keeps_order_and_is_close() {
        for &(w, s) in &[(1.0f32, 1.0f32), (0.5, 1.0), (0.013, 0.2), (3.0, 7.0)] {
            let q = quantize(w, s).unwrap();
            let d = dequantize(q, s);
            assert!((d / w - 1.0).abs() < 0.025, "{w} {s} {d}");
        }
        assert_eq!(quantize(0.0, 1.0), None);
        assert_eq!(quantize(f32::NAN, 1.0), None);
        assert_eq!(quantize(1e-9, 1.0), None, "below the range is dropped");
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        assert_eq!(Model::decode(b""), Err(ModelError::BadMagic));
        assert_eq!(Model::decode(b"VTM\x02\x00\x00"), Err(ModelError::BadMagic));
        assert!(Model::decode(b"VTM\x01\x02\x00").is_err(), "unknown flags");
        assert!(Model::decode(b"VTM\x01\x00\x00\x00").is_err(), "trailing bytes");
        // A huge count with no bytes behind it must not allocate.
        assert!(Model::decode(b"VTM\x01\x00\xff\xff\xff\xff\x0f").is_err());
        // Items not ascending.
        let mut bad = Vec::from(&b"VTM\x01\x00\x02"[..]);
        for _ in 0..2 {
            bad.extend_from_slice(&[5, 1]);
            bad.extend_from_slice(&1.0f32.to_le_bytes());
            bad.extend_from_slice(&[1, 255]);
        }
        bad[6] = 5;
        bad[6 + 8] = 0; // delta 0
        assert_eq!(Model::decode(&bad), Err(ModelError::Bad("item order")));
        // Non-finite scale.
        let mut nan = Vec::from(&b"VTM\x01\x00\x01\x05\x01"[..]);
        nan.extend_from_slice(&f32::NAN.to_le_bytes());
        nan.extend_from_slice(&[1, 255]);
        assert_eq!(Model::decode(&nan), Err(ModelError::Bad("scale")));

        let good = sample().encode();
        for cut in 0..good.len() {
            assert!(Model::decode(&good[..cut]).is_err());
        }
        let mut rng = XorShift(11);
        for _ in 0..2000 {
            let mut b = good.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len() as u64) as usize;
                b[i] = rng.next() as u8;
            }
            if let Ok(m) = Model::decode(&b) {
                for &it in m.items() {
                    let (n, w) = m.neighbours(it).unwrap();
                    assert_eq!(n.len(), w.len());
                    assert!(w.iter().all(|w| w.is_finite() && *w > 0.0 && *w <= MAX_SCALE));
                }
                assert!(m.popular().iter().all(|p| p.1.is_finite() && p.1 <= MAX_SCALE));
            }
        }
    }

    #[test]
    fn building_is_deterministic_and_ignores_bad_weights() {
        let mut rng = XorShift(5);
        let s = random_sessions(&mut rng, 200, 30);
        assert_eq!(
            ModelBuilder::from_sessions(&s, BuildParams::default()),
            ModelBuilder::from_sessions(&s, BuildParams::default())
        );
        let mut b = ModelBuilder::new(BuildParams::default());
        b.add(&[1, 2], f32::NAN, f32::INFINITY);
        b.add(&[1, 2], -1.0, -1.0);
        b.add(&[], 1.0, 1.0);
        b.add(&[3], 1.0, 1.0);
        let m = b.build();
        assert_eq!(m.len(), 0);
        assert_eq!(m.popular().iter().map(|p| p.0).collect::<Vec<_>>(), vec![3]);
        let empty: &[Vec<u32>] = &[];
        assert!(ModelBuilder::from_sessions(empty, BuildParams::default()).is_empty());
    }

    #[test]
    fn shard_of_is_stable_and_in_range() {
        assert_eq!(shard_of(12345, 0), 0);
        for i in 0..1000 {
            assert!(shard_of(i, 16) < 16);
            assert_eq!(shard_of(i, 16), shard_of(i, 16));
        }
        // Spread: no bucket gets more than twice its share.
        let mut c = [0u32; 16];
        for i in 1..=16_000 {
            c[shard_of(i, 16) as usize] += 1;
        }
        assert!(c.iter().all(|&n| n > 500 && n < 2000), "{c:?}");
    }

    /// The decoder before the size round (docs/size.md), the reference of
    /// `decode_is_the_decoder_of_before`.
    mod old {
        use super::super::*;

        struct Rd<'a> {
            buf: &'a [u8],
            pos: usize,
        }

        impl<'a> Rd<'a> {
            fn remaining(&self) -> usize {
                self.buf.len().saturating_sub(self.pos)
            }
            fn byte(&mut self, what: &'static str) -> Result<u8, ModelError> {
                let b = *self.buf.get(self.pos).ok_or(ModelError::Truncated(what))?;
                self.pos += 1;
                Ok(b)
            }
            fn f32(&mut self, what: &'static str) -> Result<f32, ModelError> {
                let b = self.buf.get(self.pos..self.pos.saturating_add(4)).ok_or(ModelError::Truncated(what))?;
                self.pos += 4;
                Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            fn varint32(&mut self, what: &'static str) -> Result<u32, ModelError> {
                let mut v: u64 = 0;
                for i in 0..5 {
                    let b = self.byte(what)?;
                    v |= ((b & 0x7f) as u64) << (7 * i);
                    if b & 0x80 == 0 {
                        return u32::try_from(v).map_err(|_| ModelError::Bad(what));
                    }
                }
                Err(ModelError::Bad(what))
            }
            /// A count, checked against `max` and against the bytes left (`min_bytes` each).
            fn count(&mut self, what: &'static str, max: usize, min_bytes: usize) -> Result<usize, ModelError> {
                let n = self.varint32(what)? as usize;
                if n > max {
                    return Err(ModelError::Bad(what));
                }
                if n.saturating_mul(min_bytes) > self.remaining() {
                    return Err(ModelError::Truncated(what));
                }
                Ok(n)
            }
        }

        fn check_scale(s: f32) -> Result<f32, ModelError> {
            if s.is_finite() && s > 0.0 && s <= MAX_SCALE {
                Ok(s)
            } else {
                Err(ModelError::Bad("scale"))
            }
        }


        /// Decodes anything [`Model::encode`], [`Model::encode_head`] or
        /// [`Model::encode_shard`] wrote. Never panics; allocates at most a small
        /// multiple of the input.
        pub fn decode(buf: &[u8]) -> Result<Model, ModelError> {
            if buf.get(..4) != Some(&MAGIC[..]) {
                return Err(ModelError::BadMagic);
            }
            let mut r = Rd { buf, pos: 4 };
            let flags = r.byte("flags")?;
            if flags > 1 {
                return Err(ModelError::Bad("flags"));
            }
            let mut m = Model::default();
            if flags & 1 == 1 {
                let n = r.count("popular", MAX_POPULAR, 2)?;
                let scale = check_scale(r.f32("popular scale")?)?;
                m.popular.reserve(n);
                for _ in 0..n {
                    let item = r.varint32("popular item")?;
                    let q = r.byte("popular weight")?;
                    m.popular.push((item, dequantize(q, scale)));
                }
            }
            let n_items = r.count("items", u32::MAX as usize, 6)?;
            m.ids.reserve(n_items);
            m.starts.reserve(n_items);
            let mut prev = 0u32;
            for k in 0..n_items {
                let d = r.varint32("item id")?;
                let item = if k == 0 {
                    d
                } else if d == 0 {
                    return Err(ModelError::Bad("item order"));
                } else {
                    prev.checked_add(d).ok_or(ModelError::Bad("item id"))?
                };
                prev = item;
                let n = r.count("neighbours", MAX_NEIGHBOURS, 2)?;
                let scale = check_scale(r.f32("scale")?)?;
                m.nbr.reserve(n);
                m.wt.reserve(n);
                let mut pn = 0u32;
                for j in 0..n {
                    let d = r.varint32("neighbour id")?;
                    let nb = if j == 0 {
                        d
                    } else if d == 0 {
                        return Err(ModelError::Bad("neighbour order"));
                    } else {
                        pn.checked_add(d).ok_or(ModelError::Bad("neighbour id"))?
                    };
                    pn = nb;
                    let q = r.byte("weight")?;
                    if nb != item {
                        m.nbr.push(nb);
                        m.wt.push(dequantize(q, scale));
                    }
                }
                m.ids.push(item);
                m.starts.push(m.nbr.len() as u32);
            }
            if r.remaining() != 0 {
                return Err(ModelError::Bad("trailing bytes"));
            }
            Ok(m)
        }

    }

    /// `list_at` by plain indexing finds what the checked `get`s found (and
    /// the invariant that makes it so holds).
    fn lists_are_those_of_before(m: &Model) {
        fn old_list_at(m: &Model, i: usize) -> (&[u32], &[f32]) {
            let a = m.starts.get(i).copied().unwrap_or(0) as usize;
            let b = m.starts.get(i + 1).copied().unwrap_or(0) as usize;
            match (m.nbr.get(a..b), m.wt.get(a..b)) {
                (Some(n), Some(w)) => (n, w),
                _ => (&[], &[]),
            }
        }
        assert_eq!(m.starts.len(), m.ids.len() + 1);
        assert_eq!((m.starts[m.ids.len()] as usize, m.nbr.len()), (m.wt.len(), m.wt.len()));
        assert!(m.starts.windows(2).all(|x| x[0] <= x[1]));
        for (i, &id) in m.ids.iter().enumerate() {
            assert_eq!(m.list_at(i), old_list_at(m, i));
            assert_eq!(m.neighbours(id), Some(old_list_at(m, i)));
        }
    }

    #[test]
    fn decode_is_the_decoder_of_before() {
        // The same model or error; without the popular list (the wasm's
        // decoding), the same but for that list.
        fn same(b: &[u8]) {
            let want = old::decode(b);
            assert_eq!(Model::decode(b), want, "{b:?}");
            if let Ok(m) = Model::decode_code(b, false) {
                lists_are_those_of_before(&m);
                let mut both = sample();
                both.merge(&m);
                lists_are_those_of_before(&both);
            }
            let lists = Model::decode_code(b, false).map(|m| (m.ids, m.starts, m.nbr, m.wt, m.popular.len()));
            assert_eq!(lists.ok(), want.ok().map(|m| (m.ids, m.starts, m.nbr, m.wt, 0)), "{b:?}");
        }
        let mut rng = XorShift(0xDEC0_DE00_0BAD_F00D);
        let mut seeds: Vec<Vec<u8>> = vec![sample().encode(), sample().encode_head(), sample().encode_shard(2, 5), Model::default().encode()];
        let lists = Model::from_lists(vec![(5, vec![(1, 0.5), (9, 2.0)]), (3, vec![(4, 1.0), (3, 2.0)]), (u32::MAX, vec![(u32::MAX - 1, 1.0)])], vec![(9, 3.0)]);
        seeds.push(lists.encode());
        // Hand-written edge cases: a list naming its own item (dropped), ids that
        // overflow, order errors, over-long varints, huge counts, bad scales.
        let one = 1.0f32.to_le_bytes();
        let mut raw = |parts: &[&[u8]]| seeds.push([&b"VTM\x01"[..]].iter().chain(parts).copied().flatten().copied().collect());
        raw(&[&[0, 1, 5, 2], &one, &[5, 255, 1, 200]]);
        raw(&[&[0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1], &one, &[1, 255, 1, 1], &one, &[1, 255]]);
        raw(&[&[0, 1, 5, 2], &one, &[0xff, 0xff, 0xff, 0xff, 0x0f, 255, 1, 255]]);
        raw(&[&[0, 1, 5, 2], &one, &[3, 255, 0, 255]]);
        raw(&[&[0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]);
        raw(&[&[0, 1, 0xff, 0xff, 0xff, 0xff, 0x1f, 1], &one, &[1, 255]]);
        raw(&[&[1, 2], &f32::INFINITY.to_le_bytes(), &[1, 255, 2, 255, 0]]);
        raw(&[&[1, 1], &0f32.to_le_bytes(), &[1, 255, 0]]);
        raw(&[&[1, 0xff, 0xff, 0x7f], &one]);
        raw(&[&[0, 1, 1, 0xff, 0x7f], &one]);
        raw(&[&[0, 1, 1, 1], &2e9f32.to_le_bytes(), &[7, 1]]);
        raw(&[&[2]]);
        raw(&[&[0, 0, 0]]);
        raw(&[&[]]);
        let mut cases = 0;
        for s in &seeds {
            for cut in 0..=s.len() {
                same(&s[..cut]);
                cases += 1;
            }
            for _ in 0..3000 {
                let mut b = s.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        2 => b[i] ^ 1,
                        _ => rng.next() as u8,
                    };
                }
                if rng.below(4) == 0 {
                    b.truncate(rng.below(b.len() as u64 + 1) as usize);
                }
                same(&b);
                cases += 1;
            }
        }
        for _ in 0..20_000 {
            let b: Vec<u8> = b"VTM\x01".iter().copied().chain((0..rng.below(40)).map(|_| [0, 1, 2, 0x80, 0xff, rng.next() as u8][rng.below(6) as usize])).collect();
            same(&b);
            cases += 1;
        }
        assert!(cases > 60_000);
    }
}
