//! The shop owner's dashboard: the page at `/` and its admin JSON at `/v1/dashboard`.
//!
//! The page (`assets/dashboard.html`, `.js`, `.css`, `.svg`, embedded in the binary)
//! holds no data: it asks for the admin token once, keeps it in `sessionStorage`, and
//! calls `/v1/dashboard` and `/v1/stats` with `Authorization: Bearer TOKEN`. It is
//! served under a strict Content-Security-Policy (no inline script or style, nothing
//! from other origins), and it renders every item id, category and search term as
//! text: they come from shoppers' browsers and are not trusted.
//!
//! # `GET /v1/dashboard?range=24h|7d|30d&tz=MINUTES` (admin)
//!
//! `range` (default `24h`) picks the period and its buckets: 24 hourly buckets, or 7
//! or 30 daily ones. `tz` is the viewer's `Date.getTimezoneOffset()` (default 0, UTC),
//! so that days start at the viewer's midnight. Times are when the server received
//! the events. The answer:
//!
//! ```json
//! {"range": "24h", "now": 1700000000000, "from": 1699916400000, "bucket_ms": 3600000, "buckets": 24,
//!  "series": {"view": [0, 3, ...], "cart-add": [...], ...},       // events per bucket, by kind
//!  "kinds": {"view": 812, ...},                                     // totals over the range
//!  "kpis": {"shoppers": 120, "sessions": 160, "orders": 14,
//!           "revenue": [{"currency": "EUR", "orders": 14, "total": 125860}]},
//!  "funnel": [{"step": "view", "shoppers": 110, "events": 812}, {"step": "cart-add", ...},
//!             {"step": "purchase", ...}],
//!  "slots": [{"slot": "recently-viewed", "impressions": 400, "clicks": 22, "ctr": 0.055}],
//!  "delivery": {"totals": {...}, "writer": {...}, "delay": [{"label": "< 2 s", "events": 790}, ...]},
//!  "top_viewed": [{"item": "SKU-001", "views": 80}], "top_searches": [{"term": "boots", "searches": 9}],
//!  "top_liked": [{"item": "SKU-004", "likes": 31, "category": "shoes/running"}],
//!  "trending": [{"item": "SKU-007", "score": 3.4, "last_24h": 41, "daily_before": 12.0, "category": "bags"}],
//!  "bestsellers": [{"category": "shoes", "items": [{"item": "SKU-001", "rank": 1, "orders_7d": 9}]}],
//!  "honesty": {"min_count": 5, "flagged_clients": 1, "events_per_hour": 1000, "likes_per_hour": 100}}
//! ```
//!
//! `top_liked`, `trending` and `bestsellers` are the numbers `/v1/popularity` is built
//! from (abnormal clients already left out, not thresholded: this is the owner's view),
//! not limited to the range; `top_liked` adds the LDP estimates of items where they pass
//! the noise threshold (`ldp_counts.rs`), as `/v1/popularity` does. `ctr` is `null`
//! when a slot has clicks but no impressions. Product lists (`data-vitrina-list`)
//! appear in `slots` under their list name.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use vitrina::event::Kind;

use crate::popularity::{Popular, FLAG_RULE, TRENDING_MIN_SCORE};
use crate::store::{DashboardQuery, Store, LAST_DAY, LAST_WEEK};
use crate::Settings;

const HTML: &str = include_str!("../assets/dashboard.html");
const JS: &str = include_str!("../assets/dashboard.js");
const CSS: &str = include_str!("../assets/dashboard.css");
const ICON: &str = include_str!("../assets/dashboard.svg");

/// The page's Content-Security-Policy: its own script and style files, its own API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

/// What the dashboard handlers need.
#[derive(Clone)]
pub(crate) struct Dash {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub popular: Popular,
}

/// The page, its assets and `/v1/dashboard`, with their own state.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(dash: Dash) -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route("/dashboard.js", get(|| async { asset(JS, "text/javascript; charset=utf-8") }))
        .route("/dashboard.css", get(|| async { asset(CSS, "text/css; charset=utf-8") }))
        .route("/dashboard.svg", get(|| async { asset(ICON, "image/svg+xml") }))
        .route("/v1/dashboard", get(data))
        .with_state(dash)
}

fn asset(body: &'static str, mime: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn page(State(d): State<Dash>) -> Response {
    let demo = if d.settings.demo_dir.is_some() {
        r#"<a class="demo-link" href="/shop/">Demo shop <span aria-hidden="true">↗</span></a>"#
    } else {
        ""
    };
    let mut r = HTML.replace("<!--demo-link-->", demo).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `(bucket width, number of buckets)` of a range name.
fn range_spec(name: &str) -> Option<(u64, u64)> {
    match name {
        "24h" => Some((HOUR, 24)),
        "7d" => Some((DAY, 7)),
        "30d" => Some((DAY, 30)),
        _ => None,
    }
}

/// The buckets of a range ending at `now`: `(from, first bucket index, shift)`.
fn buckets(now: u64, bucket_ms: u64, n: u64, tz_minutes: i64) -> (u64, i64, i64) {
    let shift = -tz_minutes * 60_000;
    let b = bucket_ms as i64;
    let current = (now as i64 + shift).div_euclid(b);
    let first = current - (n as i64 - 1);
    let from = (first * b - shift).max(0) as u64;
    (from, first, shift)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

async fn data(State(d): State<Dash>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !crate::api::admin_authorized(&d.settings, &headers, &q) {
        return crate::api::unauthorized();
    }
    let range = q.get("range").map(|r| r.trim()).filter(|r| !r.is_empty()).unwrap_or("24h");
    let Some((bucket_ms, n)) = range_spec(range) else {
        return crate::api::error(StatusCode::BAD_REQUEST, format!("unknown range {range:?}: use 24h, 7d or 30d"));
    };
    let tz = match q.get("tz").map(|t| t.trim().parse::<i64>()) {
        None => 0,
        Some(Ok(t)) if (-1440..=1440).contains(&t) => t,
        Some(_) => {
            return crate::api::error(
                StatusCode::BAD_REQUEST,
                "tz must be minutes from -1440 to 1440 (Date.getTimezoneOffset())",
            )
        }
    };
    let now = now_ms();
    let (from, first, shift) = buckets(now, bucket_ms, n, tz);
    let query = DashboardQuery { from, bucket_ms, shift_ms: shift };
    let (raw, totals, snap) = match tokio::try_join!(d.store.dashboard(query), d.store.totals(), d.popular.snapshot()) {
        Ok(x) => x,
        Err(e) => return crate::api::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };

    // Events per bucket and kind, in wire order of kinds.
    let mut series: BTreeMap<u8, Vec<u64>> = BTreeMap::new();
    for (bucket, code, count) in &raw.series {
        let i = bucket - first;
        if (0..n as i64).contains(&i) {
            series.entry(*code).or_insert_with(|| vec![0; n as usize])[i as usize] += count;
        }
    }
    let name = |code: u8| Kind::from_code(code).map_or("unknown", Kind::name);
    let kind_total = |k: Kind| series.get(&k.code()).map_or(0, |v| v.iter().sum::<u64>());
    let series_json: serde_json::Map<String, Value> =
        series.iter().map(|(c, v)| (name(*c).to_owned(), json!(v))).collect();
    let kinds_json: serde_json::Map<String, Value> =
        series.iter().map(|(c, v)| (name(*c).to_owned(), json!(v.iter().sum::<u64>()))).collect();

    let orders: u64 = raw.revenue.iter().map(|r| r.1).sum();
    let revenue: Vec<Value> =
        raw.revenue.iter().map(|(c, n, t)| json!({"currency": c, "orders": n, "total": t})).collect();
    let funnel: Vec<Value> = [Kind::ProductView, Kind::CartAdd, Kind::Purchase]
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"step": k.name(), "shoppers": raw.funnel_clients[i], "events": kind_total(*k)}))
        .collect();
    let slots: Vec<Value> = raw
        .slots
        .iter()
        .map(|(slot, imp, clicks)| {
            let ctr = (*imp > 0).then(|| (*clicks as f64 / *imp as f64 * 10_000.0).round() / 10_000.0);
            json!({"slot": slot.as_deref().unwrap_or("(no slot)"), "impressions": imp, "clicks": clicks, "ctr": ctr})
        })
        .collect();
    let delay_labels = ["< 2 s", "2–10 s", "10 s–1 min", "1 min–1 h", "> 1 h"];
    let delay: Vec<Value> =
        delay_labels.iter().zip(raw.delays).map(|(l, n)| json!({"label": l, "events": n})).collect();

    // Plain likes plus the published LDP estimate (as /v1/popularity adds them).
    let likes_of = |it: &crate::popularity::Item| it.w.likes + it.ldp.likes.unwrap_or(0);
    let mut liked: Vec<(&String, &crate::popularity::Item)> =
        snap.items.iter().filter(|(_, it)| likes_of(it) > 0).collect();
    liked.sort_by(|a, b| likes_of(b.1).cmp(&likes_of(a.1)).then_with(|| a.0.cmp(b.0)));
    let top_liked: Vec<Value> = liked
        .iter()
        .take(10)
        .map(|(id, it)| json!({"item": id, "likes": likes_of(it), "category": it.category}))
        .collect();
    let mut rising: Vec<(&String, &crate::popularity::Item)> =
        snap.items.iter().filter(|(_, it)| it.trending).collect();
    rising.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then_with(|| a.0.cmp(b.0)));
    let trending: Vec<Value> = rising
        .iter()
        .take(10)
        .map(|(id, it)| {
            let before = it.activity[LAST_WEEK].saturating_sub(it.activity[LAST_DAY]) as f64 / 6.0;
            json!({"item": id, "score": round1(it.score), "last_24h": it.activity[LAST_DAY],
                   "daily_before": round1(before), "category": it.category})
        })
        .collect();
    let mut best: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut ranked: Vec<(&String, &crate::popularity::Item)> =
        snap.items.iter().filter(|(_, it)| it.bestseller.is_some()).collect();
    ranked.sort_by_key(|(id, it)| (it.bestseller.as_ref().map(|b| b.0), *id));
    for (id, it) in ranked {
        if let Some((rank, top)) = &it.bestseller {
            best.entry(top.as_str()).or_default().push(json!({
                "item": id, "rank": rank, "orders_7d": it.w.purchases[LAST_WEEK]
            }));
        }
    }
    let bestsellers: Vec<Value> =
        best.into_iter().map(|(category, items)| json!({"category": category, "items": items})).collect();

    let body = json!({
        "range": range,
        "now": now,
        "from": from,
        "bucket_ms": bucket_ms,
        "buckets": n,
        "tz": tz,
        "series": series_json,
        "kinds": kinds_json,
        "kpis": {
            "shoppers": raw.shoppers,
            "sessions": raw.sessions,
            "views": kind_total(Kind::ProductView),
            "orders": orders,
            "revenue": revenue,
        },
        "funnel": funnel,
        "slots": slots,
        "delivery": {"totals": totals, "writer": d.store.writer_stats(), "delay": delay},
        "top_viewed": raw.top_viewed.iter().map(|(i, n)| json!({"item": i, "views": n})).collect::<Vec<_>>(),
        "top_searches": raw.top_terms.iter().map(|(t, n)| json!({"term": t, "searches": n})).collect::<Vec<_>>(),
        "top_liked": top_liked,
        "trending": trending,
        "bestsellers": bestsellers,
        "honesty": {
            "min_count": d.settings.min_count,
            "flagged_clients": snap.flagged_clients,
            "events_per_hour": FLAG_RULE.events_per_hour,
            "likes_per_hour": FLAG_RULE.likes_per_hour,
            "trending_min_score": TRENDING_MIN_SCORE,
            "popularity_at": snap.at,
        },
    });
    crate::api::json(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_end_with_the_current_one_and_follow_the_viewer_clock() {
        // 2023-11-14 22:13:20 UTC.
        let now = 1_700_000_000_000u64;
        let (from, first, shift) = buckets(now, HOUR, 24, 0);
        assert_eq!(shift, 0);
        assert_eq!(from, (now / HOUR - 23) * HOUR);
        assert_eq!(first, (now / HOUR) as i64 - 23);
        // Days at UTC+2 (getTimezoneOffset() = -120) start at 22:00 UTC.
        let (from, _, shift) = buckets(now, DAY, 7, -120);
        assert_eq!(shift, 7_200_000);
        assert_eq!((from + 7_200_000) % DAY, 0);
        assert!(now - from < 7 * DAY && now - from >= 6 * DAY);
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        assert!(!HTML.contains("<style"), "inline <style>");
        assert!(!HTML.contains(" style="), "inline style attribute");
        for tag in HTML.split("<script").skip(1) {
            let open = &tag[..tag.find('>').unwrap()];
            assert!(open.contains("src="), "inline <script>: {open}");
        }
        assert!(!HTML.contains("http://") && !HTML.contains("https://"), "external resource");
        assert!(!JS.contains("innerHTML") && !JS.contains("insertAdjacentHTML"), "HTML built from strings");
        assert!(!JS.contains("setAttribute('style'") && !JS.contains(".style."), "inline styles from JS");
    }
}
