//! `GET /v1/popularity`: public, thresholded item popularity.
//!
//! # Response
//!
//! ```json
//! {"min_count": 5, "items": {
//!   "SKU-001": {"likes": 37, "views": 912, "views_1h": 12, "views_1d": 140, "views_7d": 610,
//!               "carts": 88, "carts_1d": 14, "carts_7d": 60,
//!               "purchases": 31, "purchases_7d": 22,
//!               "trending": true, "bestseller": {"rank": 1, "category": "shoes"}}}}
//! ```
//!
//! - `likes`: clients whose latest like/unlike of the item is a like (one per client
//!   id, so a client cannot inflate it), **plus** the item's de-biased LDP estimate
//!   (like reports − unlike reports) when that estimate is published (see "Honest
//!   numbers").
//! - `views`, `carts`, `purchases`: all time (within the server's retention).
//!   `purchases` counts orders containing the item, not units. `views` also adds the
//!   published LDP estimate of view reports; the windowed `views_*`, `trending` and
//!   `bestseller` use plain events only.
//! - `_1h`, `_1d`, `_7d`: the same counts over the last hour, 24 hours and 7 days, by
//!   the time the **server received** the event (client clocks are not trusted).
//!   Windows end at the start of the current minute, so the answer (and its ETag) is
//!   stable within a minute when nothing new arrives.
//! - `trending` (present only when true): the item's activity (views + cart adds +
//!   orders) in the last 24 h is at least [`TRENDING_MIN_SCORE`] times its average
//!   daily activity over the 6 days before, floored at 1 a day, **and** at least
//!   `max(min_count, TRENDING_MIN_VOLUME)`; at most [`TRENDING_MAX_ITEMS`] items trend,
//!   the highest ratios first.
//! - `bestseller` (present only for ranks 1 to 3): the item's rank by orders in the
//!   last 7 days within its top-level category (the first segment of the category it
//!   is most often seen with), among items with at least `min_count` such orders;
//!   ties go to more orders all time, then to the smaller item id.
//!
//! # Honest numbers
//!
//! - A count below `min_count` (`--min-count`, default 5) is never published: the field
//!   is left out, and an item with nothing left is left out.
//! - **LDP estimates** (the optional local-differential-privacy mode, `docs/ldp.md`,
//!   `ldp_counts.rs`): like, unlike and view reports carry no item; the server
//!   de-biases them against every item id it knows from any stored event (an item
//!   that no plain event names cannot be estimated). An estimate is noise of
//!   standard deviation `sd` around the truth, `sd` growing with the number of
//!   reports of **all** items, so it is published only if it is at least
//!   `max(min_count, 4.5 · sd)`, `sd` the square root of the estimator's variance at
//!   the estimate (`vitrina::ldp::Params::variance`, summed over the ε of the
//!   reports and, for likes, over likes and unlikes). Then it is rounded (so never
//!   negative) and added to the plain count of the same field; an estimate below
//!   its threshold adds nothing, and the sum must still reach `min_count`. With that
//!   rule, fewer than one item in 100,000 with no true count gets one.
//! - Abnormal clients are left out of **every** count: a client id that sent more than
//!   [`FLAG_RULE`]`.events_per_hour` (1000) events, or more than `likes_per_hour` (100)
//!   likes and unlikes, within one clock hour of server time. Their events stay stored;
//!   the admin sees how many clients are excluded as `flagged_clients` in `/v1/stats`
//!   and `/v1/dashboard`. The all-zero client id (shared by every anonymous-mode
//!   shopper) is never flagged.
//!
//! # Caching
//!
//! One computation serves every request until new events are stored (then at most
//! once per `popularity_refresh`) or the minute changes; while a new one is computed,
//! other requests get the previous one. The response carries a strong
//! `ETag` (a hash of the body) and `Cache-Control: public, max-age=30`; `If-None-Match`
//! gets a 304. `?items=A,B` (at most 1000 ids) and `?category=shoes` (whole path
//! segments) filter the items.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::store::{FlagRule, ItemWindows, Store, StoreError, WindowStarts, ALL_TIME, LAST_DAY, LAST_HOUR, LAST_WEEK};

/// Most ids in `?items=`.
const MAX_ITEMS_FILTER: usize = 1000;
/// Which clients are left out of public counts (see the module docs).
pub const FLAG_RULE: FlagRule = FlagRule { events_per_hour: 1000, likes_per_hour: 100 };
/// Least 24-hour activity of a trending item (or `min_count` if higher).
pub const TRENDING_MIN_VOLUME: u64 = 10;
/// Least ratio of the last 24 hours to the daily average of the 6 days before.
pub const TRENDING_MIN_SCORE: f64 = 2.0;
/// Most items marked as trending at once.
pub const TRENDING_MAX_ITEMS: usize = 20;
/// Ranks published as `bestseller`.
pub const BESTSELLER_RANKS: usize = 3;

/// One item of a [`Snapshot`]: raw counts (flagged clients already excluded) and
/// what was derived from them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Item {
    /// Counts by window.
    pub w: ItemWindows,
    /// The category the item is most often seen with.
    pub category: Option<String>,
    /// Views + cart adds + orders, by window.
    pub activity: [u64; 4],
    /// Last 24 hours over the daily average of the 6 days before (floored at 1).
    pub score: f64,
    /// Marked as trending.
    pub trending: bool,
    /// Rank (1..=3) within the top-level category, with that category.
    pub bestseller: Option<(u8, String)>,
    /// The de-biased LDP part of `likes` and `views` that passed its threshold
    /// (`ldp_counts.rs`), added to the plain counts when published.
    pub ldp: crate::ldp_counts::Published,
}

/// Popularity of every item at one moment, before the publication threshold.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// By item id.
    pub items: BTreeMap<String, Item>,
    /// Clients left out by [`FLAG_RULE`].
    pub flagged_clients: u64,
    /// The end of the windows (ms since the epoch, start of a minute).
    pub at: u64,
    /// The unfiltered response body and its ETag, built on first use.
    full: OnceLock<(Vec<u8>, String)>,
}

impl Snapshot {
    /// Derives trending and bestseller marks from raw windowed counts, and attaches
    /// the LDP estimates that passed their threshold (an item known only from LDP
    /// reports and, say, impressions gets an entry of its own).
    pub(crate) fn build(
        raw: crate::store::WindowedPopularity,
        ldp: &crate::ldp_counts::Estimates,
        min_count: u64,
        at: u64,
    ) -> Snapshot {
        let min = min_count.max(1);
        let mut items: BTreeMap<String, Item> = raw
            .items
            .into_iter()
            .map(|(id, w)| {
                let activity: [u64; 4] = std::array::from_fn(|i| w.views[i] + w.carts[i] + w.purchases[i]);
                let before = activity[LAST_WEEK].saturating_sub(activity[LAST_DAY]) as f64 / 6.0;
                let score = activity[LAST_DAY] as f64 / before.max(1.0);
                let category = w.categories.first().map(|(c, _)| c.clone());
                let ldp = Default::default();
                (id, Item { w, category, activity, score, trending: false, bestseller: None, ldp })
            })
            .collect();

        let floor = min.max(TRENDING_MIN_VOLUME);
        let mut rising: Vec<(&String, &Item)> =
            items.iter().filter(|(_, it)| it.activity[LAST_DAY] >= floor && it.score >= TRENDING_MIN_SCORE).collect();
        rising.sort_by(|a, b| {
            b.1.score
                .total_cmp(&a.1.score)
                .then_with(|| b.1.activity[LAST_DAY].cmp(&a.1.activity[LAST_DAY]))
                .then_with(|| a.0.cmp(b.0))
        });
        let trending: Vec<String> = rising.into_iter().take(TRENDING_MAX_ITEMS).map(|(id, _)| id.clone()).collect();

        let mut by_top: HashMap<&str, Vec<(&String, &Item)>> = HashMap::new();
        for (id, it) in &items {
            if it.w.purchases[LAST_WEEK] < min {
                continue;
            }
            if let Some(top) = it.category.as_deref().and_then(|c| c.split('/').next()) {
                by_top.entry(top).or_default().push((id, it));
            }
        }
        let mut ranks: Vec<(String, u8, String)> = Vec::new();
        for (top, mut list) in by_top {
            list.sort_by(|a, b| {
                b.1.w.purchases[LAST_WEEK]
                    .cmp(&a.1.w.purchases[LAST_WEEK])
                    .then_with(|| b.1.w.purchases[ALL_TIME].cmp(&a.1.w.purchases[ALL_TIME]))
                    .then_with(|| a.0.cmp(b.0))
            });
            for (i, (id, _)) in list.into_iter().take(BESTSELLER_RANKS).enumerate() {
                ranks.push((id.clone(), i as u8 + 1, top.to_owned()));
            }
        }
        for id in trending {
            if let Some(it) = items.get_mut(&id) {
                it.trending = true;
            }
        }
        for (id, rank, top) in ranks {
            if let Some(it) = items.get_mut(&id) {
                it.bestseller = Some((rank, top));
            }
        }
        for (id, p) in &ldp.published {
            items.entry(id.clone()).or_default().ldp = *p;
        }
        Snapshot { items, flagged_clients: raw.flagged_clients, at, full: OnceLock::new() }
    }
}

struct Cached {
    generation: u64,
    minute: u64,
    at: Instant,
    snapshot: Arc<Snapshot>,
}

/// The popularity service: computes and caches [`Snapshot`]s. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Popular {
    store: Store,
    min_count: u64,
    /// The latest snapshot.
    current: Arc<std::sync::Mutex<Option<Cached>>>,
    /// Held while a snapshot is computed: one computation at a time.
    computing: Arc<tokio::sync::Mutex<()>>,
    /// LDP support counts, kept between snapshots (`ldp_counts.rs`).
    ldp: Arc<std::sync::Mutex<LdpState>>,
}

/// The LDP counts and the store generation they were brought up to.
#[derive(Default)]
struct LdpState {
    counter: crate::ldp_counts::Counter,
    generation: Option<u64>,
    estimates: Arc<crate::ldp_counts::Estimates>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Popular {
    pub(crate) fn new(store: Store, min_count: u64) -> Popular {
        Popular { store, min_count, current: Arc::default(), computing: Arc::default(), ldp: Arc::default() }
    }

    /// The LDP estimates for the store at `generation`: the previous ones when
    /// nothing was stored or deleted since; else the reports and candidates are read
    /// again and the support counts brought up to date (only what changed is
    /// hashed), on the blocking pool.
    async fn ldp_estimates(&self, generation: u64) -> Result<Arc<crate::ldp_counts::Estimates>, StoreError> {
        {
            let st = self.ldp.lock().unwrap_or_else(|e| e.into_inner());
            if st.generation == Some(generation) {
                return Ok(st.estimates.clone());
            }
        }
        let inputs = self.store.ldp_inputs(crate::ldp_counts::MAX_CANDIDATES).await?;
        let (state, min_count) = (self.ldp.clone(), self.min_count);
        tokio::task::spawn_blocking(move || {
            let mut st = match state.lock() {
                Ok(st) => st,
                Err(poisoned) => {
                    // An update panicked halfway: start the counts again.
                    state.clear_poison();
                    let mut st = poisoned.into_inner();
                    *st = LdpState::default();
                    st
                }
            };
            st.counter.update(inputs);
            let estimates = Arc::new(st.counter.estimates(min_count));
            st.estimates = estimates.clone();
            st.generation = Some(generation);
            estimates
        })
        .await
        .map_err(|_| StoreError::Panicked)
    }

    /// The current snapshot: reused while nothing new was stored (or for
    /// `popularity_refresh` after something was) within the same minute.
    ///
    /// When it is out of date, the request that notices computes a new one and
    /// waits for it; requests arriving while that computation runs get the previous
    /// snapshot at once instead of queueing behind it (they wait only when there is
    /// none yet).
    pub(crate) async fn snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        loop {
            let minute = now_ms() / 60_000;
            let generation = self.store.generation();
            let previous = {
                let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
                match &*current {
                    Some(c)
                        if c.minute == minute
                            && (c.generation == generation || c.at.elapsed() < self.store.popularity_refresh()) =>
                    {
                        return Ok(c.snapshot.clone());
                    }
                    Some(c) => Some(c.snapshot.clone()),
                    None => None,
                }
            };
            match self.computing.clone().try_lock_owned() {
                Ok(guard) => {
                    // On a task of its own, so that a client going away does not cancel it.
                    let this = self.clone();
                    let task = tokio::spawn(async move {
                        let _guard = guard;
                        // Read before computing: a commit during the computation makes
                        // the next call recompute.
                        let generation = this.store.generation();
                        let minute = now_ms() / 60_000;
                        let end = minute * 60_000;
                        let (raw, ldp) = tokio::try_join!(
                            this.store.windowed_popularity(WindowStarts::ending_at(end), FLAG_RULE),
                            this.ldp_estimates(generation),
                        )?;
                        let snapshot = Arc::new(Snapshot::build(raw, &ldp, this.min_count, end));
                        *this.current.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Cached { generation, minute, at: Instant::now(), snapshot: snapshot.clone() });
                        Ok::<_, StoreError>(snapshot)
                    });
                    return task.await.map_err(|_| StoreError::Panicked)?;
                }
                Err(_) => match previous {
                    Some(p) => return Ok(p),
                    // The first computation is running: wait for it, then look again.
                    None => drop(self.computing.lock().await),
                },
            }
        }
    }
}

/// The public route, with its own state (`S` is the outer router's state).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(popular: Popular) -> Router<S> {
    Router::new()
        .route(
            "/v1/popularity",
            // OPTIONS is answered by the CORS middleware around this router.
            get(handler).options(|| async { StatusCode::NO_CONTENT }),
        )
        .with_state(popular)
}

#[derive(Serialize)]
struct Bestseller<'a> {
    rank: u8,
    category: &'a str,
}

/// One item as published: every count at least `min_count`, absent otherwise.
#[derive(Serialize, Default)]
struct Published<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    likes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views_1h: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views_1d: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views_7d: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carts_1h: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carts_1d: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carts_7d: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchases: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchases_1h: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchases_1d: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchases_7d: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    trending: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bestseller: Option<Bestseller<'a>>,
}

impl<'a> Published<'a> {
    /// `None` when nothing of the item reaches `min_count`.
    fn of(it: &'a Item, min_count: u64) -> Option<Published<'a>> {
        let min = min_count.max(1);
        let p = |n: u64| (n >= min).then_some(n);
        let w = &it.w;
        let out = Published {
            likes: p(w.likes + it.ldp.likes.unwrap_or(0)),
            views: p(w.views[ALL_TIME] + it.ldp.views.unwrap_or(0)),
            views_1h: p(w.views[LAST_HOUR]),
            views_1d: p(w.views[LAST_DAY]),
            views_7d: p(w.views[LAST_WEEK]),
            carts: p(w.carts[ALL_TIME]),
            carts_1h: p(w.carts[LAST_HOUR]),
            carts_1d: p(w.carts[LAST_DAY]),
            carts_7d: p(w.carts[LAST_WEEK]),
            purchases: p(w.purchases[ALL_TIME]),
            purchases_1h: p(w.purchases[LAST_HOUR]),
            purchases_1d: p(w.purchases[LAST_DAY]),
            purchases_7d: p(w.purchases[LAST_WEEK]),
            trending: it.trending,
            bestseller: it.bestseller.as_ref().map(|(rank, category)| Bestseller { rank: *rank, category }),
        };
        // Windows never exceed all time (LDP parts only add to all time), so checking
        // the all-time counts is enough (trending and bestseller imply counts of at
        // least `min_count`).
        (out.likes.is_some() || out.views.is_some() || out.carts.is_some() || out.purchases.is_some()).then_some(out)
    }
}

/// The response body for the snapshot, filtered.
fn body(snap: &Snapshot, min_count: u64, wanted: Option<&HashSet<&str>>, category: Option<&str>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a> {
        min_count: u64,
        items: BTreeMap<&'a str, Published<'a>>,
    }
    let mut items = BTreeMap::new();
    for (id, it) in &snap.items {
        if wanted.is_some_and(|w| !w.contains(id.as_str())) {
            continue;
        }
        if category.is_some_and(|p| !it.w.categories.iter().any(|(cat, _)| in_category(cat, p))) {
            continue;
        }
        if let Some(p) = Published::of(it, min_count) {
            items.insert(id.as_str(), p);
        }
    }
    serde_json::to_vec(&Out { min_count, items }).expect("popularity serializes")
}

fn etag_of(body: &[u8]) -> String {
    format!("\"{:016x}\"", fnv1a(body))
}

async fn handler(State(p): State<Popular>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let snap = match p.snapshot().await {
        Ok(s) => s,
        Err(e) => return crate::api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let wanted: Option<HashSet<&str>> =
        q.get("items").map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_ITEMS_FILTER).collect());
    let category = q.get("category").map(|c| c.trim().trim_matches('/')).filter(|c| !c.is_empty());
    let filtered;
    let (body, etag): (&[u8], &str) = if wanted.is_none() && category.is_none() {
        let (b, e) = snap.full.get_or_init(|| {
            let b = body(&snap, p.min_count, None, None);
            let e = etag_of(&b);
            (b, e)
        });
        (b, e)
    } else {
        let b = body(&snap, p.min_count, wanted.as_ref(), category);
        let e = etag_of(&b);
        filtered = (b, e);
        (&filtered.0, &filtered.1)
    };
    let mut r = if if_none_match(&headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (StatusCode::OK, body.to_vec()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex etag is a valid header"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"));
    r
}

/// Whether `category` is `prefix` or lies under it (`shoes` matches `shoes` and
/// `shoes/running`, not `shoestrings`).
pub(crate) fn in_category(category: &str, prefix: &str) -> bool {
    category.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// FNV-1a, 64 bits: a stable, dependency-free hash for ETags.
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WindowedPopularity;

    #[test]
    fn categories_match_whole_segments() {
        assert!(in_category("shoes", "shoes"));
        assert!(in_category("shoes/running", "shoes"));
        assert!(in_category("shoes/running/trail", "shoes/running"));
        assert!(!in_category("shoestrings", "shoes"));
        assert!(!in_category("bags", "shoes"));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(if_none_match(&h("\"abc\""), "\"abc\""));
        assert!(if_none_match(&h("\"x\", W/\"abc\""), "\"abc\""));
        assert!(if_none_match(&h("*"), "\"abc\""));
        assert!(!if_none_match(&h("\"abd\""), "\"abc\""));
        assert!(!if_none_match(&HeaderMap::new(), "\"abc\""));
    }

    fn item(views: [u64; 4], purchases: [u64; 4], category: &str) -> ItemWindows {
        ItemWindows { views, purchases, categories: vec![(category.into(), views[0].max(1))], ..Default::default() }
    }

    #[test]
    fn trending_needs_volume_and_velocity() {
        let mut raw = WindowedPopularity::default();
        // 30 in the last day vs 60 over the 6 days before (10/day): ratio 3.
        raw.items.insert("rising".into(), item([90, 2, 30, 90], [0; 4], "a"));
        // Steady: 10 today, 10 a day before.
        raw.items.insert("steady".into(), item([70, 1, 10, 70], [0; 4], "a"));
        // Fast but tiny: 6 today, nothing before (ratio 6, volume below 10).
        raw.items.insert("tiny".into(), item([6, 6, 6, 6], [0; 4], "a"));
        // New and busy: 12 today, nothing before.
        raw.items.insert("new".into(), item([12, 0, 12, 12], [0; 4], "a"));
        let s = Snapshot::build(raw, &Default::default(), 5, 0);
        let trending: Vec<&str> = s.items.iter().filter(|(_, i)| i.trending).map(|(k, _)| k.as_str()).collect();
        assert_eq!(trending, ["new", "rising"]);
        assert!((s.items["rising"].score - 3.0).abs() < 1e-9);
        assert!((s.items["steady"].score - 1.0).abs() < 1e-9);
    }

    #[test]
    fn at_most_twenty_items_trend() {
        let mut raw = WindowedPopularity::default();
        for i in 0..30u64 {
            raw.items.insert(format!("i{i:02}"), item([20 + i, 0, 20 + i, 20 + i], [0; 4], "a"));
        }
        let s = Snapshot::build(raw, &Default::default(), 5, 0);
        let trending: Vec<&str> = s.items.iter().filter(|(_, i)| i.trending).map(|(k, _)| k.as_str()).collect();
        assert_eq!(trending.len(), TRENDING_MAX_ITEMS);
        assert!(trending.contains(&"i29") && !trending.contains(&"i00"), "the busiest win ties: {trending:?}");
    }

    #[test]
    fn bestsellers_rank_within_the_top_level_category_above_min_count() {
        let mut raw = WindowedPopularity::default();
        raw.items.insert("s1".into(), item([50; 4], [9, 0, 2, 9], "shoes/running"));
        raw.items.insert("s2".into(), item([50; 4], [30, 0, 2, 7], "shoes/trail"));
        raw.items.insert("s3".into(), item([50; 4], [7, 0, 0, 7], "shoes"));
        raw.items.insert("s4".into(), item([50; 4], [6, 0, 0, 6], "shoes"));
        raw.items.insert("s5".into(), item([50; 4], [100, 0, 0, 4], "shoes")); // below min in 7 d
        raw.items.insert("b1".into(), item([50; 4], [5, 0, 0, 5], "bags"));
        let s = Snapshot::build(raw, &Default::default(), 5, 0);
        let rank = |id: &str| s.items[id].bestseller.clone();
        assert_eq!(rank("s1"), Some((1, "shoes".into())));
        assert_eq!(rank("s2"), Some((2, "shoes".into())), "7 d ties go to more orders all time");
        assert_eq!(rank("s3"), Some((3, "shoes".into())));
        assert_eq!(rank("s4"), None);
        assert_eq!(rank("s5"), None);
        assert_eq!(rank("b1"), Some((1, "bags".into())));
    }

    #[test]
    fn nothing_below_min_count_is_published() {
        let mut it = Item::default();
        it.w.views = [4, 1, 2, 3];
        it.w.likes = 4;
        assert!(Published::of(&it, 5).is_none());
        it.w.views = [9, 1, 5, 7];
        let j = serde_json::to_value(Published::of(&it, 5).unwrap()).unwrap();
        assert_eq!(j, serde_json::json!({"views": 9, "views_1d": 5, "views_7d": 7}));
    }

    #[test]
    fn published_ldp_estimates_add_to_the_plain_counts() {
        let mut raw = WindowedPopularity::default();
        raw.items.insert("plain".into(), item([3, 0, 0, 3], [0; 4], "a"));
        raw.items.get_mut("plain").unwrap().likes = 2;
        let mut ldp = crate::ldp_counts::Estimates::default();
        let lp = |likes, views| crate::ldp_counts::Published { likes, views };
        ldp.published.insert("plain".into(), lp(Some(61), None));
        // Known from an impression only (no plain count), estimated from reports.
        ldp.published.insert("reports-only".into(), lp(None, Some(250)));
        let s = Snapshot::build(raw, &ldp, 5, 0);
        let of = |id: &str| serde_json::to_value(Published::of(&s.items[id], 5).unwrap()).unwrap();
        // 3 plain views stay under min_count; 2 plain likes + 61 estimated.
        assert_eq!(of("plain"), serde_json::json!({"likes": 63}));
        assert_eq!(of("reports-only"), serde_json::json!({"views": 250}));
    }
}
