//! The public item-to-item model on the server: built from the stored sessions
//! (or a sessions file), written as immutable versioned files, served in shards,
//! rebuilt in the background while ingest goes on.
//!
//! # Item ids
//!
//! The model ([`vitrina::model`]) speaks `u32` ids. A shop's items are SKU
//! strings; the id of a SKU is the **32-bit FNV-1a hash of its UTF-8 bytes**
//! ([`sku_id`], the same function as `vitrina::recommend::sku_id`, which the
//! browser runs): start with `h = 0x811c9dc5`; for each byte `b`,
//! `h = (h ^ b) * 0x01000193 mod 2^32`. For example `sku_id("") = 0x811c9dc5`,
//! `sku_id("a") = 0xe40c292c`. The browser hashes the SKUs it knows to find their
//! lists and maps ranked ids back through the same table. Two SKUs with the same
//! hash share one list and one popularity; nothing else breaks. With `n` SKUs the
//! expected number of colliding pairs is about `n² / 2^33`: 0.0001 for 1,000 SKUs,
//! 0.01 for 10,000, 1.2 for 100,000.
//!
//! The price of hashing: ids spread over all of `u32`, so an id delta costs 4–5
//! varint bytes where dense ids cost 2–3. On Diginetica (43,000 items) the same
//! lists take 7.5 MB with hashed ids and 4.1 MB with the dataset's dense ids.
//!
//! A sessions file (`model build --sessions FILE`) holds numeric ids already:
//! they are used as they are.
//!
//! # What a session is
//!
//! Per (client, session number): the product views, cart adds and purchase lines
//! (each line of an order is one item, in line order), in the client's time order
//! (`ts`, then event id). Every kind counts as one click on the item. A session
//! weighs `2^(-age / half_life_days)` in the lists and
//! `2^(-age / popular_half_life_days)` in the popular list, where `age` is the time
//! between the newest event of the store and the newest event of the session,
//! both by the **server's** receive time (client clocks order events within a
//! session only). Measuring age from the newest event, not from the wall clock,
//! makes the model a function of the data: the same events give the same model
//! and the same version.
//!
//! # What is public
//!
//! The model is published to everyone, so nothing in it may rest on one shopper:
//!
//! - clients public popularity leaves out (abnormal activity, see
//!   `popularity.rs`) are left out here too;
//! - an item is learned from only when at least [`ModelOptions::min_clients`]
//!   distinct clients viewed, carted or bought it (others are dropped from the
//!   sessions before building, so they are neither in a list nor popular);
//! - a neighbour `a → b` is kept only when at least `min_clients` distinct clients
//!   had `a` and `b` in one session within the pair window.
//!
//! (A sessions file has no clients: these thresholds do not apply to it.)
//!
//! They cost accuracy. On Diginetica, each training session taken as one client
//! (the published protocol, see `eval.rs`), HR@20 / MRR@20 and model size:
//! `min_clients` 1: 52.90 / 19.47, 7.5 MB; 2 (the default): 50.56 / 19.19,
//! 2.7 MB; 3: 47.23 / 18.71, 1.5 MB; 5: 41.37 / 17.82, 0.6 MB (the test
//! `diginetica_accuracy_of_the_events_path` in `tests/model.rs`).
//!
//! # Files
//!
//! ```text
//! DIR/model/current                   the current version, one line
//! DIR/model/<version>/head.bin        Model::encode_head (the popular list)
//! DIR/model/<version>/shard-<i>.bin   Model::encode_shard(i, shards), i in 0..shards
//! DIR/model/<version>/meta.json       version, shards, sizes, parameters, build time
//! ```
//!
//! `<version>` is the first 12 hex digits of the 64-bit FNV-1a hash of the content
//! (a format tag, the shard count, then every file's length and bytes): equal
//! models get equal versions, and a version's files never change. A version is
//! written into a temporary directory and renamed into place, then `current` is
//! replaced by rename: readers see the old model or the new one, never half of
//! one. The newest [`ModelOptions::keep`] versions stay on disk (a page that
//! loaded an older head may still ask for its shards); older ones are deleted.
//! When a version is loaded its hash is checked against its name.
//!
//! The shard count is chosen so that a shard holds about 3 KB of lists (2–4 KB
//! in practice), unless given. An item's list is in shard
//! `vitrina::model::shard_of(id, shards)`.
//!
//! # HTTP
//!
//! - `GET /v1/model/head` (public, CORS like `/v1/popularity`): the current head,
//!   `Cache-Control: no-cache` and `ETag: "<version>"` (so `If-None-Match` costs a
//!   304). Before any model was built: `200 {"version": null, "shards": 0,
//!   "note": "no model yet: ..."}` (a normal state for a new shop: pages rank
//!   without a model). With a model:
//!
//!   ```json
//!   {"version": "3f2a9c0d1e2b", "shards": 1369, "id": "fnv1a32",
//!    "shard_url": "/v1/model/3f2a9c0d1e2b/shard/{i}",
//!    "items": 43105, "entries": 1411208, "popular": 200,
//!    "bytes": 4120437, "head_bytes": 715, "built_at": 1700000000000,
//!    "source": "events", "params": {"neighbours": 50, ...},
//!    "recency": {"half_life_days": 80, "popular_half_life_days": 8, "min_clients": 2},
//!    "head": "<base64 of head.bin: standard alphabet, no padding>"}
//!   ```
//!
//!   `head` decodes with `Model::decode` (the popular list); `items`, `entries`
//!   and `bytes` describe the whole model; `params` are the build parameters,
//!   `recency` how sessions were weighted and thresholded (for a sessions file:
//!   `half_life_sessions`, `popular_half_life_sessions`).
//! - `GET /v1/model/<version>/shard/<i>` (public): the bytes of one shard,
//!   `application/octet-stream`, `Cache-Control: public, max-age=31536000,
//!   immutable`, `ETag: "<version>-<i>"`. `404 {"error": ...}` for a version that
//!   is not kept or a shard out of range: the page should fetch the head again.
//! - `POST /v1/model/rebuild` (admin token): rebuilds now, answers the build
//!   summary (see [`Summary`]).
//!
//! The server keeps the current version (and the two last older ones asked for)
//! in memory. It notices a new `current` written by another process
//! (`vitrina-server model build` beside a running server) on the next head
//! request.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use vitrina::model::{BuildParams, Model, ModelBuilder};

use crate::store::{ModelRow, Store};

/// The model id of a SKU: 32-bit FNV-1a of its UTF-8 bytes (see the module docs).
pub fn sku_id(sku: &str) -> u32 {
    vitrina::recommend::sku_id(sku)
}

/// Aimed-at bytes of lists per shard when the shard count is chosen.
pub const SHARD_TARGET_BYTES: usize = 3 * 1024;
/// Format tag hashed into every version.
const FORMAT: &[u8] = b"vitrina-model-files-1";

/// How the server builds and publishes the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelOptions {
    /// Build parameters. `recency_half_life` and `popular_half_life` (counted in
    /// sessions) apply to sessions files only; stored events use the two
    /// half-lives in days below.
    pub params: BuildParams,
    /// Half-life of a session's weight in the neighbour lists, in days (0: every
    /// session weighs the same).
    pub half_life_days: f64,
    /// Half-life of a session's weight in the popular list, in days (0: none).
    pub popular_half_life_days: f64,
    /// Distinct clients an item, and a pair, needs before the model shows it.
    pub min_clients: u32,
    /// Number of shards; 0 chooses it (about [`SHARD_TARGET_BYTES`] a shard).
    pub shards: u32,
    /// How often `serve` rebuilds from the stored events (only when something
    /// was stored since the last build); zero never does.
    pub every: Duration,
    /// Versions kept on disk (the current one always is).
    pub keep: usize,
}

impl Default for ModelOptions {
    /// The half-lives are those tuned on Diginetica (100,000 and 10,000 sessions,
    /// at the dataset's ~1,250 sessions a day: 80 and 8 days).
    fn default() -> Self {
        ModelOptions {
            params: BuildParams::default(),
            half_life_days: 80.0,
            popular_half_life_days: 8.0,
            min_clients: 2,
            shards: 0,
            every: Duration::from_secs(3600),
            keep: 5,
        }
    }
}

// ---------------------------------------------------------------------------
// Sessions from stored events.

/// Sessions read from the store ([`Store::model_rows`]), compactly.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every session's items, one after the other.
    items: Vec<u32>,
    /// Per session: end in `items`, client number, newest receive time.
    sessions: Vec<(usize, u32, u64)>,
    /// Per item: distinct clients, and the last client counted (number + 1).
    item_clients: HashMap<u32, (u32, u32)>,
    cur_client: Vec<u8>,
    cur_session: Option<u32>,
    clients: u32,
    rows: u64,
    stop: Option<Arc<AtomicBool>>,
}

impl Collected {
    /// An empty collection; `stop`, when set, ends the read early.
    pub fn new(stop: Option<Arc<AtomicBool>>) -> Collected {
        Collected { stop, ..Collected::default() }
    }

    /// Takes one row (rows come grouped by client and session). Returns false
    /// when asked to stop.
    pub fn push(&mut self, r: ModelRow<'_>) -> bool {
        if self.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            return false;
        }
        let new_client = self.cur_session.is_none() || r.client != self.cur_client.as_slice();
        if new_client {
            self.clients += 1;
            self.cur_client.clear();
            self.cur_client.extend_from_slice(r.client);
        }
        if new_client || self.cur_session != Some(r.session) {
            self.cur_session = Some(r.session);
            self.sessions.push((self.items.len(), self.clients - 1, r.received));
        }
        let id = sku_id(r.item);
        self.items.push(id);
        self.rows += 1;
        if let Some(s) = self.sessions.last_mut() {
            s.0 = self.items.len();
            s.2 = s.2.max(r.received);
        }
        let e = self.item_clients.entry(id).or_insert((0, 0));
        if e.1 != self.clients {
            e.0 += 1;
            e.1 = self.clients;
        }
        true
    }

    /// Rows taken.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Whether no item reaches `min_clients` (the model would be empty).
    pub fn is_empty(&self, opts: &ModelOptions) -> bool {
        let min = opts.min_clients.max(1);
        !self.item_clients.values().any(|e| e.0 >= min)
    }

    /// Sessions: (client number, newest receive time, items).
    fn iter(&self) -> impl Iterator<Item = (u32, u64, &[u32])> + '_ {
        let mut start = 0;
        self.sessions.iter().map(move |&(end, client, received)| {
            let s = &self.items[start..end];
            start = end;
            (client, received, s)
        })
    }
}

/// `2^(-age / half_life)`; 1 when the half-life is 0 (or not finite).
fn decay(age_ms: u64, half_life_days: f64) -> f32 {
    if half_life_days > 0.0 && half_life_days.is_finite() {
        (-(age_ms as f64) / (half_life_days * 86_400_000.0)).exp2() as f32
    } else {
        1.0
    }
}

/// Builds the model from collected sessions (see the module docs): thresholds,
/// day-based recency, then pair support.
pub fn build_from_events(c: &Collected, opts: &ModelOptions) -> Model {
    let min = opts.min_clients.max(1);
    let newest = c.sessions.iter().map(|s| s.2).max().unwrap_or(0);
    let known = |id: &u32| c.item_clients.get(id).is_some_and(|e| e.0 >= min);
    let mut b = ModelBuilder::new(opts.params.clone());
    let mut kept: Vec<u32> = Vec::new();
    for (_, received, s) in c.iter() {
        kept.clear();
        kept.extend(s.iter().copied().filter(known));
        let age = newest.saturating_sub(received);
        b.add(&kept, decay(age, opts.half_life_days), decay(age, opts.popular_half_life_days));
    }
    let model = b.build();
    if min <= 1 {
        return model;
    }
    // Pair support: distinct clients with both items of a list entry in one
    // session, within the window the builder pairs items in.
    let mut support: HashMap<u64, (u32, u32)> = HashMap::with_capacity(model.entries());
    for &it in model.items() {
        if let Some((nbr, _)) = model.neighbours(it) {
            for &n in nbr {
                support.insert((it as u64) << 32 | n as u64, (0, 0));
            }
        }
    }
    let p = &opts.params;
    for (client, _, s) in c.iter() {
        kept.clear();
        kept.extend(s.iter().copied().filter(known));
        let s = &kept[kept.len().saturating_sub(p.max_session.max(1))..];
        for q in 1..s.len() {
            for pp in q.saturating_sub(p.window.max(1))..q {
                let (a, b) = (s[pp], s[q]);
                if a == b {
                    continue;
                }
                for key in [(a as u64) << 32 | b as u64, (b as u64) << 32 | a as u64] {
                    if let Some(e) = support.get_mut(&key) {
                        if e.1 != client + 1 {
                            e.0 += 1;
                            e.1 = client + 1;
                        }
                    }
                }
            }
        }
    }
    // (Building longer lists first, so that supported neighbours past the
    // cut-off replace the dropped ones, changed nothing on Diginetica: not done.)
    if support.values().all(|e| e.0 >= min) {
        return model;
    }
    let lists = model
        .items()
        .iter()
        .filter_map(|&it| {
            let (nbr, wt) = model.neighbours(it)?;
            let list: Vec<(u32, f32)> = nbr
                .iter()
                .zip(wt)
                .filter(|(n, _)| support.get(&((it as u64) << 32 | **n as u64)).is_some_and(|e| e.0 >= min))
                .map(|(&n, &w)| (n, w))
                .collect();
            (!list.is_empty()).then_some((it, list))
        })
        .collect();
    Model::from_lists(lists, model.popular().to_vec())
}

// ---------------------------------------------------------------------------
// Packaging and files.

/// FNV-1a, 64 bits.
fn fnv1a64(h: &mut u64, data: &[u8]) {
    for &b in data {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// The shard count that puts about [`SHARD_TARGET_BYTES`] of lists in a shard.
pub fn auto_shards(model: &Model) -> u32 {
    let lists = model.encode().len().saturating_sub(model.encode_head().len());
    ((lists + SHARD_TARGET_BYTES / 2) / SHARD_TARGET_BYTES).clamp(1, 1 << 20) as u32
}

/// A model cut into its files, with its version.
#[derive(Clone, Debug)]
pub struct Package {
    /// Content hash (12 hex digits).
    pub version: String,
    /// `Model::encode_head`.
    pub head: Vec<u8>,
    /// `Model::encode_shard(i, shards.len())`.
    pub shards: Vec<Vec<u8>>,
    /// What `meta.json` holds (the head JSON without `head`).
    pub meta: serde_json::Map<String, serde_json::Value>,
}

fn version_of(head: &[u8], shards: &[Vec<u8>]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    fnv1a64(&mut h, FORMAT);
    fnv1a64(&mut h, &(shards.len() as u64).to_le_bytes());
    for part in std::iter::once(head).chain(shards.iter().map(Vec::as_slice)) {
        fnv1a64(&mut h, &(part.len() as u64).to_le_bytes());
        fnv1a64(&mut h, part);
    }
    format!("{:012x}", h >> 16)
}

/// Cuts `model` into a head and `shards` shards (0: [`auto_shards`]).
pub fn package(model: &Model, shards: u32, source: &str, params: &BuildParams, built_at: u64) -> Package {
    let n = if shards == 0 { auto_shards(model) } else { shards };
    let head = model.encode_head();
    let parts: Vec<Vec<u8>> = (0..n).map(|i| model.encode_shard(i, n)).collect();
    let version = version_of(&head, &parts);
    let bytes = head.len() + parts.iter().map(Vec::len).sum::<usize>();
    let json = serde_json::json!({
        "version": version,
        "shards": n,
        "id": "fnv1a32",
        "shard_url": format!("/v1/model/{version}/shard/{{i}}"),
        "items": model.len(),
        "entries": model.entries(),
        "popular": model.popular().len(),
        "bytes": bytes,
        "head_bytes": head.len(),
        "built_at": built_at,
        "source": source,
        "params": params_json(params),
    });
    let meta = match json {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    Package { version, head, shards: parts, meta }
}

fn params_json(p: &BuildParams) -> serde_json::Value {
    // As written in Rust (0.7, not 0.699999988079071).
    let f = |v: f32| v.to_string().parse::<f64>().unwrap_or(0.0);
    serde_json::json!({
        "neighbours": p.neighbours,
        "window": p.window,
        "forward": f(p.forward),
        "backward": f(p.backward),
        "decay": f(p.decay),
        "cooccur": f(p.cooccur),
        "pair_max": p.pair_max,
        "source_norm": f(p.source_norm),
        "target_norm": f(p.target_norm),
        "shrink": f(p.shrink),
        "max_session": p.max_session,
        "popular": p.popular,
    })
}

/// Versions are exactly 12 lower-case hex digits.
fn is_version(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn write_file(path: &Path, data: &[u8], sync: bool) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(data)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Writes the package's version under `dir` (unless it is already there), points
/// `dir/current` at it, and deletes versions beyond the newest `keep`. Returns
/// whether the version is new.
pub fn write_package(dir: &Path, p: &Package, keep: usize) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let final_dir = dir.join(&p.version);
    let fresh = !final_dir.join("meta.json").is_file();
    if fresh {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(".tmp-{}-{}-{nanos}", p.version, std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        write_file(&tmp.join("head.bin"), &p.head, false)?;
        for (i, s) in p.shards.iter().enumerate() {
            write_file(&tmp.join(format!("shard-{i}.bin")), s, false)?;
        }
        let meta = serde_json::to_vec_pretty(&p.meta).unwrap_or_default();
        write_file(&tmp.join("meta.json"), &meta, false)?;
        if final_dir.join("meta.json").is_file() {
            // Another process wrote the same version meanwhile.
            let _ = std::fs::remove_dir_all(&tmp);
        } else {
            if final_dir.exists() {
                // Left half-written by a crash (no meta.json, written last): replace it.
                std::fs::remove_dir_all(&final_dir)?;
            }
            std::fs::rename(&tmp, &final_dir)?;
        }
    } else {
        // Touch it, so that it counts as recent when old versions are pruned.
        let _ = std::fs::File::options()
            .append(true)
            .open(final_dir.join("meta.json"))
            .and_then(|f| f.set_modified(SystemTime::now()));
    }
    let tmp_current = dir.join(format!(".current-{}", std::process::id()));
    write_file(&tmp_current, format!("{}\n", p.version).as_bytes(), true)?;
    std::fs::rename(&tmp_current, dir.join("current"))?;
    prune(dir, &p.version, keep);
    Ok(fresh)
}

/// Deletes versions beyond the newest `keep` (never `current`) and temporary
/// directories older than an hour.
fn prune(dir: &Path, current: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut versions: Vec<(SystemTime, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH);
        if name.starts_with(".tmp-") {
            if modified(&path).elapsed().is_ok_and(|a| a > Duration::from_secs(3600)) {
                let _ = std::fs::remove_dir_all(&path);
            }
        } else if is_version(&name) && name != current && is_version_dir(&path, &name) {
            versions.push((modified(&path.join("meta.json")), path));
        }
    }
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    for (_, path) in versions.into_iter().skip(keep.saturating_sub(1)) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Whether `path` is a version directory this module wrote (nothing else in
/// the model directory is ever deleted).
fn is_version_dir(path: &Path, name: &str) -> bool {
    let meta = std::fs::read(path.join("meta.json")).ok();
    let meta: Option<serde_json::Value> = meta.and_then(|m| serde_json::from_slice(&m).ok());
    meta.is_some_and(|m| m["version"] == name) && path.join("head.bin").is_file()
}

/// The version `dir/current` names, if any.
pub fn current_version(dir: &Path) -> Option<String> {
    let v = std::fs::read_to_string(dir.join("current")).ok()?;
    let v = v.trim();
    is_version(v).then(|| v.to_owned())
}

/// One version in memory, ready to serve.
#[derive(Debug)]
pub struct Loaded {
    /// The version.
    pub version: String,
    /// The `GET /v1/model/head` body.
    pub head_json: Bytes,
    /// The shards' bytes.
    pub shards: Vec<Bytes>,
}

/// Reads a version's files and checks them against its name.
pub fn load_version(dir: &Path, version: &str) -> Result<Loaded, String> {
    if !is_version(version) {
        return Err(format!("{version:?} is not a model version"));
    }
    let vdir = dir.join(version);
    let read = |name: &str| std::fs::read(vdir.join(name)).map_err(|e| format!("{}: {e}", vdir.join(name).display()));
    let meta: serde_json::Value =
        serde_json::from_slice(&read("meta.json")?).map_err(|e| format!("{}/meta.json: {e}", vdir.display()))?;
    let serde_json::Value::Object(mut meta) = meta else {
        return Err(format!("{}/meta.json is not an object", vdir.display()));
    };
    let n = meta.get("shards").and_then(|v| v.as_u64()).filter(|n| (1..=1 << 20).contains(n));
    let n = n.ok_or_else(|| format!("{}/meta.json: no shard count", vdir.display()))?;
    let head = read("head.bin")?;
    let shards: Vec<Vec<u8>> = (0..n).map(|i| read(&format!("shard-{i}.bin"))).collect::<Result<_, _>>()?;
    if version_of(&head, &shards) != version {
        return Err(format!("{}: the files do not match the version (damaged?)", vdir.display()));
    }
    meta.insert("head".into(), vitrina::codec::b64_encode(&head).into());
    let head_json = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
    Ok(Loaded {
        version: version.to_owned(),
        head_json: head_json.into(),
        shards: shards.into_iter().map(Bytes::from).collect(),
    })
}

// ---------------------------------------------------------------------------
// Building.

/// What one build did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The version now current.
    pub version: String,
    /// Whether that version was new (false: the same model was current already
    /// or on disk).
    pub changed: bool,
    /// Where the files are.
    pub dir: String,
    /// `events` or `sessions` (a file).
    pub source: String,
    /// Sessions read.
    pub sessions: u64,
    /// Session items read (views, cart adds, purchase lines; or ids in the file).
    pub rows: u64,
    /// Distinct clients (0 for a file).
    pub clients: u64,
    /// Items with a neighbour list.
    pub items: usize,
    /// Neighbour entries.
    pub entries: usize,
    /// Popular items.
    pub popular: usize,
    /// Head plus every shard, bytes.
    pub bytes: usize,
    /// The head, bytes.
    pub head_bytes: usize,
    /// Shards.
    pub shards: u32,
    /// Smallest shard, bytes.
    pub shard_min: usize,
    /// Median shard, bytes.
    pub shard_median: usize,
    /// Largest shard, bytes.
    pub shard_max: usize,
    /// Reading the sessions, ms.
    pub read_ms: u64,
    /// Building the model, ms.
    pub build_ms: u64,
    /// Writing the files, ms.
    pub write_ms: u64,
}

impl Summary {
    /// A few readable lines.
    pub fn text(&self) -> String {
        format!(
            "model {} ({}) in {}\n\
             from {} sessions, {} items read{}\n\
             {} items with lists, {} neighbour entries, {} popular\n\
             {} bytes in all: head {} bytes, {} shards of {} / {} / {} bytes (min / median / max)\n\
             read {} ms, build {} ms, write {} ms",
            self.version,
            if self.changed { "new" } else { "unchanged" },
            self.dir,
            self.sessions,
            self.rows,
            if self.source == "events" { format!(" ({} clients)", self.clients) } else { " (sessions file)".into() },
            self.items,
            self.entries,
            self.popular,
            self.bytes,
            self.head_bytes,
            self.shards,
            self.shard_min,
            self.shard_median,
            self.shard_max,
            self.read_ms,
            self.build_ms,
            self.write_ms,
        )
    }
}

/// Packages and writes `model` into `dir`; fills in the model part of `s`.
pub fn publish(model: &Model, opts: &ModelOptions, dir: &Path, s: &mut Summary) -> std::io::Result<Package> {
    let t = Instant::now();
    let mut p = package(model, opts.shards, &s.source, &opts.params, now_ms());
    let recency = if s.source == "events" {
        serde_json::json!({
            "half_life_days": opts.half_life_days,
            "popular_half_life_days": opts.popular_half_life_days,
            "min_clients": opts.min_clients.max(1),
        })
    } else {
        let f = |v: f32| v.to_string().parse::<f64>().unwrap_or(0.0);
        serde_json::json!({
            "half_life_sessions": f(opts.params.recency_half_life),
            "popular_half_life_sessions": f(opts.params.popular_half_life),
        })
    };
    p.meta.insert("recency".into(), recency);
    s.changed = write_package(dir, &p, opts.keep)?;
    s.write_ms = t.elapsed().as_millis() as u64;
    let mut sizes: Vec<usize> = p.shards.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    s.version = p.version.clone();
    s.dir = dir.display().to_string();
    s.items = model.len();
    s.entries = model.entries();
    s.popular = model.popular().len();
    s.head_bytes = p.head.len();
    s.bytes = p.head.len() + sizes.iter().sum::<usize>();
    s.shards = sizes.len() as u32;
    s.shard_min = sizes.first().copied().unwrap_or(0);
    s.shard_median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    s.shard_max = sizes.last().copied().unwrap_or(0);
    Ok(p)
}

/// Builds from collected events and publishes into `dir`.
pub fn build_events_into(c: &Collected, opts: &ModelOptions, dir: &Path, read_ms: u64) -> Result<Summary, String> {
    let t = Instant::now();
    let model = build_from_events(c, opts);
    let mut s = Summary {
        source: "events".into(),
        sessions: c.sessions.len() as u64,
        rows: c.rows,
        clients: c.clients as u64,
        read_ms,
        build_ms: t.elapsed().as_millis() as u64,
        ..Summary::default()
    };
    if model.is_empty() {
        return Err(format!(
            "nothing to build from yet: {} sessions, no item seen by {} clients or more",
            s.sessions,
            opts.min_clients.max(1)
        ));
    }
    publish(&model, opts, dir, &mut s).map_err(|e| format!("writing the model into {}: {e}", dir.display()))?;
    Ok(s)
}

/// Builds from a sessions file (numeric ids, one session per line, oldest first;
/// recency counted in sessions, see [`BuildParams::recency_half_life`]) and
/// publishes into `dir`.
pub fn build_file_into(path: &Path, opts: &ModelOptions, dir: &Path) -> Result<Summary, String> {
    let t = Instant::now();
    let sessions = crate::eval::read_sessions(path)?;
    let read_ms = t.elapsed().as_millis() as u64;
    let t = Instant::now();
    let model = ModelBuilder::from_sessions(&sessions, opts.params.clone());
    let mut s = Summary {
        source: "sessions".into(),
        sessions: sessions.len() as u64,
        rows: sessions.iter().map(|s| s.len() as u64).sum(),
        read_ms,
        build_ms: t.elapsed().as_millis() as u64,
        ..Summary::default()
    };
    if model.is_empty() {
        return Err(format!("{}: no sessions to build from", path.display()));
    }
    publish(&model, opts, dir, &mut s).map_err(|e| format!("writing the model into {}: {e}", dir.display()))?;
    Ok(s)
}

// ---------------------------------------------------------------------------
// The service: what `serve` holds.

/// Identity of the `current` file (changes when it is replaced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(&m),
    })
}

#[derive(Default)]
struct Cache {
    current: Option<Arc<Loaded>>,
    stamp: Option<Stamp>,
    /// Older versions asked for, newest use last.
    older: Vec<Arc<Loaded>>,
}

struct Inner {
    dir: PathBuf,
    opts: ModelOptions,
    cache: Mutex<Cache>,
    /// One build at a time; holds the store generation of the last build.
    build: tokio::sync::Mutex<Option<u64>>,
    /// Set at shutdown: a build in progress stops reading.
    stop: Arc<AtomicBool>,
}

/// The model as `serve` publishes it: the files in `dir`, the versions in
/// memory, the builds. Cheap to clone.
#[derive(Clone)]
pub struct Models {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models").field("dir", &self.inner.dir).field("opts", &self.inner.opts).finish()
    }
}

/// When `serve` first builds, if no model exists (or after `every` if shorter).
const FIRST_BUILD_AFTER: Duration = Duration::from_secs(10);

/// Most older versions kept in memory.
const OLDER_IN_MEMORY: usize = 2;

impl Models {
    /// The model published from `dir` (`DATA/model`). Loads the current version,
    /// if there is one (a damaged one is reported and not served).
    pub async fn open(dir: PathBuf, opts: ModelOptions) -> Models {
        let m = Models {
            inner: Arc::new(Inner {
                dir,
                opts,
                cache: Mutex::default(),
                build: tokio::sync::Mutex::new(None),
                stop: Arc::new(AtomicBool::new(false)),
            }),
        };
        m.current().await;
        m
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options.
    pub fn options(&self) -> &ModelOptions {
        &self.inner.opts
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current version, reloaded when `current` was replaced (by a build
    /// here or by another process).
    pub async fn current(&self) -> Option<Arc<Loaded>> {
        let path = self.inner.dir.join("current");
        let st = stamp(&path);
        {
            let c = self.cache();
            if st.is_some() && c.stamp == st {
                return c.current.clone();
            }
            if st.is_none() {
                return c.current.clone();
            }
        }
        let dir = self.inner.dir.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let v =
                current_version(&dir).ok_or_else(|| format!("{}: no version in it", dir.join("current").display()))?;
            load_version(&dir, &v)
        })
        .await
        .unwrap_or_else(|_| Err("loading the model panicked".into()));
        let mut c = self.cache();
        match loaded {
            Ok(l) => {
                let l = Arc::new(l);
                Self::set_locked(&mut c, l.clone());
                c.stamp = st;
                Some(l)
            }
            Err(e) => {
                // Keep serving what was loaded; do not retry until `current` changes.
                eprintln!("vitrina-server: cannot load the model: {e}");
                c.stamp = st;
                c.current.clone()
            }
        }
    }

    fn set_locked(c: &mut Cache, l: Arc<Loaded>) {
        if let Some(old) = c.current.take() {
            if old.version != l.version {
                c.older.retain(|o| o.version != old.version && o.version != l.version);
                c.older.push(old);
                let excess = c.older.len().saturating_sub(OLDER_IN_MEMORY);
                c.older.drain(..excess);
            }
        }
        c.current = Some(l);
    }

    /// A version by name: the current one, one in memory, or one still on disk.
    async fn version(&self, version: &str) -> Option<Arc<Loaded>> {
        if let Some(cur) = self.current().await.filter(|c| c.version == version) {
            return Some(cur);
        }
        {
            let mut c = self.cache();
            if let Some(i) = c.older.iter().position(|o| o.version == version) {
                let l = c.older.remove(i);
                c.older.push(l.clone());
                return Some(l);
            }
        }
        if !is_version(version) || !self.inner.dir.join(version).join("meta.json").is_file() {
            return None;
        }
        let (dir, v) = (self.inner.dir.clone(), version.to_owned());
        let l = Arc::new(tokio::task::spawn_blocking(move || load_version(&dir, &v)).await.ok()?.ok()?);
        let mut c = self.cache();
        c.older.retain(|o| o.version != l.version);
        c.older.push(l.clone());
        let excess = c.older.len().saturating_sub(OLDER_IN_MEMORY);
        c.older.drain(..excess);
        Some(l)
    }

    /// Rebuilds from the stored events now (waiting for a build in progress
    /// first), writes the new version, makes it current.
    pub async fn rebuild(&self, store: &Store) -> Result<Summary, RebuildError> {
        let mut last = self.inner.build.lock().await;
        let generation = store.generation();
        let r = self.rebuild_locked(store).await;
        if matches!(r, Ok(_) | Err(RebuildError::Empty(_))) {
            *last = Some(generation);
        }
        r
    }

    async fn rebuild_locked(&self, store: &Store) -> Result<Summary, RebuildError> {
        let t = Instant::now();
        let sink = Arc::new(Mutex::new(Collected::new(Some(self.inner.stop.clone()))));
        let f = {
            let sink = sink.clone();
            move |r: ModelRow<'_>| sink.lock().unwrap_or_else(|e| e.into_inner()).push(r)
        };
        let f = store
            .model_rows(crate::popularity::FLAG_RULE, f)
            .await
            .map_err(|e| RebuildError::Failed(format!("reading the sessions: {e}")))?;
        drop(f);
        if self.inner.stop.load(Ordering::Relaxed) {
            return Err(RebuildError::Stopped);
        }
        let collected = match Arc::try_unwrap(sink) {
            Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            Err(_) => return Err(RebuildError::Failed("the session reader is still running".into())),
        };
        let read_ms = t.elapsed().as_millis() as u64;
        let (dir, opts) = (self.inner.dir.clone(), self.inner.opts.clone());
        let built = tokio::task::spawn_blocking(move || {
            if collected.is_empty(&opts) {
                return Err(RebuildError::Empty(format!(
                    "nothing to build from yet: {} sessions, no item seen by {} clients or more",
                    collected.sessions.len(),
                    opts.min_clients.max(1)
                )));
            }
            let s = build_events_into(&collected, &opts, &dir, read_ms).map_err(RebuildError::Failed)?;
            let l = load_version(&dir, &s.version).map_err(RebuildError::Failed)?;
            Ok((s, l))
        })
        .await
        .map_err(|_| RebuildError::Failed("the model build panicked".into()))?;
        let (s, l) = built?;
        let mut c = self.cache();
        Self::set_locked(&mut c, Arc::new(l));
        c.stamp = stamp(&self.inner.dir.join("current"));
        Ok(s)
    }

    /// Whether events were stored since the last build (or none was made).
    async fn stale(&self, store: &Store) -> bool {
        let last = *self.inner.build.lock().await;
        last != Some(store.generation())
    }

    /// Starts the background rebuilds: shortly after start when no model exists
    /// (10 s, or `every` if shorter), then every [`ModelOptions::every`] when
    /// events were stored since the last build.
    /// Nothing runs when `every` is zero.
    pub fn spawn_rebuilds(&self, store: Store) -> Rebuilds {
        let every = self.inner.opts.every;
        let task = (!every.is_zero()).then(|| {
            let m = self.clone();
            tokio::spawn(async move {
                // Not at the very start: let the server settle (and a short-lived
                // server never build).
                tokio::time::sleep(every.min(FIRST_BUILD_AFTER)).await;
                if m.current().await.is_none() {
                    m.rebuild_logged(&store).await;
                }
                loop {
                    tokio::time::sleep(every).await;
                    if m.stale(&store).await {
                        m.rebuild_logged(&store).await;
                    }
                }
            })
        });
        Rebuilds { task, stop: self.inner.stop.clone() }
    }

    async fn rebuild_logged(&self, store: &Store) {
        match self.rebuild(store).await {
            Err(RebuildError::Empty(_) | RebuildError::Stopped) => {}
            Ok(s) if s.changed => eprintln!(
                "vitrina-server: model {}: {} items, {} bytes in {} shards, built in {} ms",
                s.version,
                s.items,
                s.bytes,
                s.shards,
                s.read_ms + s.build_ms + s.write_ms
            ),
            Ok(_) => {}
            Err(e) => eprintln!("vitrina-server: model not rebuilt: {e}"),
        }
    }
}

/// Why [`Models::rebuild`] made no new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RebuildError {
    /// No item reaches the thresholds yet (nothing is written).
    Empty(String),
    /// The server is stopping.
    Stopped,
    /// Reading, building or writing failed.
    Failed(String),
}

impl std::fmt::Display for RebuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RebuildError::Empty(m) | RebuildError::Failed(m) => f.write_str(m),
            RebuildError::Stopped => f.write_str("the server is stopping"),
        }
    }
}

/// The background rebuilds of a running server.
pub struct Rebuilds {
    task: Option<tokio::task::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Rebuilds {
    /// Stops them: a build still reading stops and writes nothing (one already
    /// past reading finishes writing its files on the blocking pool).
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.task {
            t.abort();
            let _ = t.await;
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP.

/// `GET /v1/model/head` and `GET /v1/model/{version}/shard/{i}`: public; the
/// caller wraps them in the CORS layer of `/v1/popularity`.
pub(crate) fn public_routes<S: Clone + Send + Sync + 'static>(models: Models) -> Router<S> {
    // OPTIONS is answered by the CORS middleware around this router.
    let options = || async { StatusCode::NO_CONTENT };
    Router::new()
        .route("/v1/model/head", get(head).options(options))
        .route("/v1/model/{version}/shard/{index}", get(shard).options(options))
        .with_state(models)
}

#[derive(Clone)]
struct Admin {
    models: Models,
    store: Store,
    settings: Arc<crate::Settings>,
}

/// `POST /v1/model/rebuild` (admin token).
pub(crate) fn admin_routes<S: Clone + Send + Sync + 'static>(
    models: Models,
    store: Store,
    settings: Arc<crate::Settings>,
) -> Router<S> {
    Router::new().route("/v1/model/rebuild", post(rebuild)).with_state(Admin { models, store, settings })
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag))
}

fn cached(
    headers: &HeaderMap,
    etag: &str,
    cache_control: &'static str,
    content_type: &'static str,
    body: Bytes,
) -> Response {
    let mut r = if if_none_match(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    r
}

async fn head(State(m): State<Models>, headers: HeaderMap) -> Response {
    match m.current().await {
        Some(l) => cached(&headers, &format!("\"{}\"", l.version), "no-cache", "application/json", l.head_json.clone()),
        // No model yet is a normal state for a new shop, not an error: pages
        // see zero shards and rank without a model.
        None => {
            let body = serde_json::json!({
                "version": null,
                "shards": 0,
                "note": "no model yet: the server builds one from the stored events (serve --model-every), \
                         or run vitrina-server model build",
            });
            let mut r = crate::api::json(StatusCode::OK, &body);
            r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache"));
            r
        }
    }
}

async fn shard(
    State(m): State<Models>,
    UrlPath((version, index)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(l) = m.version(&version).await else {
        return crate::api::error(
            StatusCode::NOT_FOUND,
            format!("no model version {version:?} (it was replaced): fetch /v1/model/head again"),
        );
    };
    let body = index.parse::<usize>().ok().and_then(|i| l.shards.get(i).cloned());
    let Some(body) = body else {
        return crate::api::error(
            StatusCode::NOT_FOUND,
            format!("no shard {index:?} in model {version}: shards are 0 to {}", l.shards.len().saturating_sub(1)),
        );
    };
    cached(
        &headers,
        &format!("\"{version}-{index}\""),
        "public, max-age=31536000, immutable",
        "application/octet-stream",
        body,
    )
}

async fn rebuild(State(a): State<Admin>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !crate::api::admin_authorized(&a.settings, &headers, &q) {
        return crate::api::unauthorized();
    }
    match a.models.rebuild(&a.store).await {
        Ok(s) => crate::api::json(StatusCode::OK, &s),
        Err(e @ RebuildError::Empty(_)) => crate::api::error(StatusCode::CONFLICT, e.to_string()),
        Err(e) => crate::api::error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
