//! The HTTP surface: routes, handlers, CORS, admin auth, static files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use tower_http::services::ServeDir;
use vitrina::codec;
use vitrina::event::Kind;

use crate::store::{EventQuery, Ingest, Store, StoredEvent, StoredLine};
use crate::Settings;

/// Most entries of `errors` in a collect answer.
const MAX_REPORTED_ERRORS: usize = 5;
/// Default and largest `limit` of `/v1/events`.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;
/// Most ids in `/v1/popularity?items=`.
const MAX_ITEMS_FILTER: usize = 1000;

/// Counters since start (the persisted totals live in the store).
#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    client_dropped: AtomicU64,
    refused: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Clone)]
struct AppState {
    store: Store,
    settings: Arc<Settings>,
    stats: Arc<Stats>,
    started: Instant,
    widget: Option<ServeDir>,
    demo: Option<ServeDir>,
}

/// Builds the application: every route, with `store` behind it.
pub fn router(store: Store, settings: Settings) -> Router {
    let state = AppState {
        store,
        widget: settings.widget_dir.as_ref().map(ServeDir::new),
        demo: settings.demo_dir.as_ref().map(|d| ServeDir::new(d).redirect_path_prefix("/shop")),
        settings: Arc::new(settings),
        stats: Arc::default(),
        started: Instant::now(),
    };
    let public_api = Router::new()
        .route("/v1/collect", axum::routing::post(collect).options(preflight))
        .route("/v1/popularity", get(popularity).options(preflight))
        .layer(middleware::from_fn_with_state(state.clone(), cors));
    Router::new()
        .merge(public_api)
        .route("/v1/events", get(events))
        .route("/v1/stats", get(stats))
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(|| async { Redirect::temporary("/shop/") }))
        .fallback(static_files)
        .layer(middleware::map_response(default_headers))
        .with_state(state)
}

// ---------------------------------------------------------------------------
// Helpers.

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    json_response(status, serde_json::to_vec(v).expect("response serializes"))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct E {
        error: String,
    }
    json(status, &E { error: msg.into() })
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Fills in `Cache-Control: no-cache` (static files) where a handler set none.
async fn default_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
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

/// Compares in constant time for equal lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(st: &AppState, headers: &HeaderMap, q: &HashMap<String, String>) -> bool {
    let want = st.settings.admin_token.as_bytes();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    bearer.is_some_and(|t| same_secret(t.as_bytes(), want))
        || q.get("token").is_some_and(|t| same_secret(t.as_bytes(), want))
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "admin token required: send Authorization: Bearer TOKEN or add ?token=TOKEN (the server prints it at start)",
    );
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

// ---------------------------------------------------------------------------
// CORS.

/// Whether `origin` may read responses: listed with `--origin`, or the server's
/// own origin (same host as the request's `Host`).
fn origin_allowed(st: &AppState, origin: &str, headers: &HeaderMap) -> bool {
    let Some(o) = crate::normalize_origin(origin) else { return false };
    if st.settings.origins.contains(&o) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    let authority = o.split_once("://").map(|(_, a)| a);
    matches!((host, authority), (Some(h), Some(a)) if h == a)
}

async fn cors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_owned);
    let allowed = origin.as_deref().filter(|o| origin_allowed(&st, o, req.headers())).map(str::to_owned);
    let mut r = if req.method() == Method::OPTIONS {
        match (&origin, &allowed) {
            (Some(_), Some(_)) => {
                let mut r = StatusCode::NO_CONTENT.into_response();
                let h = r.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
                h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
                r
            }
            (Some(o), None) => {
                error(StatusCode::FORBIDDEN, format!("origin {o} is not allowed: start the server with --origin {o}"))
            }
            (None, _) => StatusCode::NO_CONTENT.into_response(),
        }
    } else {
        next.run(req).await
    };
    let h = r.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = allowed.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    r
}

async fn preflight() -> StatusCode {
    // Answered by the `cors` middleware; this only makes the route accept OPTIONS.
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------------------
// POST /v1/collect

#[derive(Serialize)]
struct CollectAnswer {
    accepted: u32,
    duplicates: u32,
    rejected: u32,
    errors: Vec<String>,
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

async fn collect(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let max = st.settings.max_body;
    let refuse = |status: StatusCode, msg: String| {
        st.stats.refused.fetch_add(1, Ordering::Relaxed);
        error(status, msg)
    };
    let too_large = || format!("batch is larger than the limit of {max} bytes (--max-body): send smaller batches");
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
    }
    let bytes: Bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(e) => {
            let e = e.into_inner();
            return if is_length_limit(e.as_ref()) {
                refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large())
            } else {
                refuse(StatusCode::BAD_REQUEST, format!("could not read the request body: {e}"))
            };
        }
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "JSON batches are not supported yet: send the binary batch format (first byte 0x56, see docs/wire-format.md)"
                .into(),
        );
    }
    let batch = match codec::decode(&bytes) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };

    let mut errors = Vec::new();
    let mut rejected = 0u32;
    let total = batch.events.len();
    let mut valid = Vec::with_capacity(total);
    for (i, e) in batch.events.into_iter().enumerate() {
        match e.validate() {
            Ok(()) => valid.push(e),
            Err(why) => {
                rejected += 1;
                if errors.len() < MAX_REPORTED_ERRORS {
                    errors.push(format!("event {i} ({}, id {:016x}): {why}", e.kind.name(), e.id));
                }
            }
        }
    }
    let ingest = Ingest {
        site: batch.site,
        client: batch.client,
        session: batch.session,
        dropped: batch.dropped,
        rejected,
        received: now_ms(),
        events: valid,
    };
    match st.store.ingest(ingest).await {
        Ok(o) => {
            let s = &st.stats;
            s.batches.fetch_add(1, Ordering::Relaxed);
            s.accepted.fetch_add(o.accepted as u64, Ordering::Relaxed);
            s.duplicates.fetch_add(o.duplicates as u64, Ordering::Relaxed);
            s.rejected.fetch_add(rejected as u64, Ordering::Relaxed);
            s.client_dropped.fetch_add(batch.dropped as u64, Ordering::Relaxed);
            s.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            json(StatusCode::OK, &CollectAnswer { accepted: o.accepted, duplicates: o.duplicates, rejected, errors })
        }
        Err(e) => {
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, format!("{e}; retry later"));
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            r
        }
    }
}

// ---------------------------------------------------------------------------
// GET /v1/events

#[derive(Serialize)]
struct EventOut<'a> {
    client: String,
    id: u64,
    id_hex: String,
    site: &'a str,
    session: u32,
    kind: &'static str,
    ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    brand: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qty: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rec: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dwell_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lines: Vec<StoredLine>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    terms: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    props: BTreeMap<&'a str, &'a str>,
    received: u64,
}

impl<'a> EventOut<'a> {
    fn of(s: &'a StoredEvent) -> Self {
        let e = &s.event;
        EventOut {
            client: codec::hex(&s.client),
            id: e.id,
            id_hex: format!("{:016x}", e.id),
            site: &s.site,
            session: s.session,
            kind: e.kind.name(),
            ts: e.ts,
            item: e.item.as_deref(),
            category: e.category.as_deref(),
            brand: e.brand.as_deref(),
            price: e.price,
            currency: e.currency.as_deref(),
            qty: e.qty,
            url: e.url.as_deref(),
            slot: e.slot.as_deref(),
            rec: e.rec.as_deref(),
            dwell_ms: e.dwell_ms,
            order: e.order.as_deref(),
            lines: e.lines.iter().map(|l| StoredLine { item: l.item.clone(), qty: l.qty, price: l.price }).collect(),
            terms: &e.terms,
            name: e.name.as_deref(),
            props: e.props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            received: s.received,
        }
    }
}

async fn events(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !authorized(&st, &headers, &q) {
        return unauthorized();
    }
    let limit = match q.get("limit").map(|l| l.trim().parse::<u32>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) => n.min(MAX_LIMIT),
        Some(Err(_)) => {
            return error(StatusCode::BAD_REQUEST, format!("limit must be a number from 0 to {MAX_LIMIT}"));
        }
    };
    let kind = match q.get("kind").map(|k| k.trim()).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match Kind::parse(k) {
            Some(k) => Some(k),
            None => {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                return error(StatusCode::BAD_REQUEST, format!("unknown kind {k:?}: use one of {}", names.join(", ")));
            }
        },
    };
    match st.store.events(EventQuery { limit, kind }).await {
        Ok(list) => {
            #[derive(Serialize)]
            struct Out<'a> {
                events: Vec<EventOut<'a>>,
            }
            json(StatusCode::OK, &Out { events: list.iter().map(EventOut::of).collect() })
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

// ---------------------------------------------------------------------------
// GET /v1/stats

async fn stats(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !authorized(&st, &headers, &q) {
        return unauthorized();
    }
    let totals = match st.store.totals().await {
        Ok(t) => t,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    #[derive(Serialize)]
    struct SinceStart {
        batches: u64,
        accepted: u64,
        duplicates: u64,
        rejected: u64,
        client_dropped: u64,
        refused: u64,
        bytes: u64,
    }
    #[derive(Serialize)]
    struct Out {
        uptime_s: u64,
        since_start: SinceStart,
        totals: crate::store::Totals,
        writer: crate::store::WriterStats,
    }
    let s = &st.stats;
    let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
    json(
        StatusCode::OK,
        &Out {
            uptime_s: st.started.elapsed().as_secs(),
            since_start: SinceStart {
                batches: l(&s.batches),
                accepted: l(&s.accepted),
                duplicates: l(&s.duplicates),
                rejected: l(&s.rejected),
                client_dropped: l(&s.client_dropped),
                refused: l(&s.refused),
                bytes: l(&s.bytes),
            },
            totals,
            writer: st.store.writer_stats(),
        },
    )
}

// ---------------------------------------------------------------------------
// GET /v1/popularity

#[derive(Serialize, Default)]
struct Published {
    #[serde(skip_serializing_if = "Option::is_none")]
    likes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    views: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchases: Option<u64>,
}

/// Whether `category` is `prefix` or lies under it (`shoes` matches `shoes` and
/// `shoes/running`, not `shoestrings`).
fn in_category(category: &str, prefix: &str) -> bool {
    category.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag))
}

async fn popularity(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let pop = match st.store.popularity().await {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let wanted: Option<HashSet<&str>> =
        q.get("items").map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_ITEMS_FILTER).collect());
    let category = q.get("category").map(|c| c.trim().trim_matches('/')).filter(|c| !c.is_empty());
    let min = st.settings.min_count.max(1);
    let publish = |n: u64| (n >= min).then_some(n);
    let mut items: BTreeMap<&str, Published> = BTreeMap::new();
    for (item, c) in &pop.items {
        if wanted.as_ref().is_some_and(|w| !w.contains(item.as_str())) {
            continue;
        }
        if category.is_some_and(|p| !c.categories.iter().any(|cat| in_category(cat, p))) {
            continue;
        }
        let p = Published {
            likes: publish(c.likes),
            views: publish(c.views),
            carts: publish(c.carts),
            purchases: publish(c.purchases),
        };
        if p.likes.is_some() || p.views.is_some() || p.carts.is_some() || p.purchases.is_some() {
            items.insert(item, p);
        }
    }
    #[derive(Serialize)]
    struct Out<'a> {
        min_count: u64,
        items: BTreeMap<&'a str, Published>,
    }
    let body = serde_json::to_vec(&Out { min_count: st.settings.min_count, items }).expect("serializes");
    let etag = format!("\"{:016x}\"", fnv1a(&body));
    let mut r = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex etag is a valid header"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"));
    r
}

// ---------------------------------------------------------------------------
// Static files: the widget at the root, the demo shop under /shop/.

async fn static_files(State(st): State<AppState>, req: Request) -> Response {
    let uri_path = req.uri().path().to_owned();
    let path = uri_path.as_str();
    if path == "/shop" && st.demo.is_some() {
        return Redirect::permanent("/shop/").into_response();
    }
    let (dir, req) = match (path.strip_prefix("/shop"), &st.demo) {
        (Some(rest), Some(demo)) if rest.starts_with('/') => {
            let rest = match req.uri().query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            let (mut parts, body) = req.into_parts();
            parts.uri = rest.parse::<Uri>().unwrap_or_else(|_| Uri::from_static("/"));
            (demo, Request::from_parts(parts, body))
        }
        _ => match &st.widget {
            Some(w) => (w, req),
            None => return error(StatusCode::NOT_FOUND, format!("no such page: {path}")),
        },
    };
    match dir.clone().try_call(req).await {
        Ok(r) => r.map(Body::new),
        Err(e) if is_not_found(&e) => error(StatusCode::NOT_FOUND, format!("no such file: {}", uri_path)),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read file: {e}")),
    }
}

/// Missing, unreadable, or a path through a file ("not a directory").
fn is_not_found(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), NotFound | PermissionDenied | NotADirectory | InvalidFilename)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokem"));
        assert!(!same_secret(b"token", b"token2"));
    }
}
