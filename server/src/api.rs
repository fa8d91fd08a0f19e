//! The HTTP surface: routes, handlers, CORS, admin auth, static files.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use tower_http::services::ServeDir;
use vitrina::event::Kind;
use vitrina::{codec, codec_json};

use crate::ratelimit::{retry_after_secs, Limiter};
use crate::store::{EventQuery, Ingest, Store, StoredEvent, StoredLine};
use crate::Settings;

/// Most entries of `errors` in a collect answer.
const MAX_REPORTED_ERRORS: usize = 5;
/// Default and largest `limit` of `/v1/events`.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;

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
    popular: crate::popularity::Popular,
    /// Per client network, in memory only (`ratelimit.rs`).
    limiter: Arc<Limiter>,
}

/// Builds the application: every route, with `store` behind it.
pub fn router(store: Store, settings: Settings) -> Router {
    let popular = crate::popularity::Popular::new(store.clone(), settings.min_count);
    let limiter = Arc::new(Limiter::new(settings.rate_limit));
    let state = AppState {
        limiter,
        widget: settings.widget_dir.as_ref().map(ServeDir::new),
        demo: settings.demo_dir.as_ref().map(|d| ServeDir::new(d).redirect_path_prefix("/shop")),
        settings: Arc::new(settings),
        stats: Arc::default(),
        started: Instant::now(),
        popular: popular.clone(),
        store,
    };
    let dashboard = crate::dashboard::Dash {
        store: state.store.clone(),
        settings: state.settings.clone(),
        popular: popular.clone(),
    };
    let public_api = Router::new()
        .route("/v1/collect", axum::routing::post(collect).options(preflight).fallback(collect_wrong_method))
        .merge(crate::popularity::routes(popular))
        // The public model: head and immutable shards (`model_srv.rs`).
        .merge(crate::model_srv::public_routes(state.settings.model.clone()))
        .layer(middleware::from_fn_with_state(state.clone(), cors));
    Router::new()
        .merge(public_api)
        .route("/v1/events", get(events))
        .route("/v1/stats", get(stats))
        .route("/healthz", get(|| async { "ok" }))
        // POST /v1/model/rebuild (admin).
        .merge(crate::model_srv::admin_routes(
            state.settings.model.clone(),
            state.store.clone(),
            state.settings.clone(),
        ))
        // The dashboard at `/` (its data needs the admin token) and its assets.
        .merge(crate::dashboard::routes(dashboard))
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

pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    json_response(status, serde_json::to_vec(v).expect("response serializes"))
}

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
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

/// Compares in constant time for equal lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(st: &AppState, headers: &HeaderMap, q: &HashMap<String, String>) -> bool {
    admin_authorized(&st.settings, headers, q)
}

/// Whether the request carries the admin token (`Authorization: Bearer` or `?token=`).
pub(crate) fn admin_authorized(settings: &Settings, headers: &HeaderMap, q: &HashMap<String, String>) -> bool {
    let want = settings.admin_token.as_bytes();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    bearer.is_some_and(|t| same_secret(t.as_bytes(), want))
        || q.get("token").is_some_and(|t| same_secret(t.as_bytes(), want))
}

pub(crate) fn unauthorized() -> Response {
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
        // So that a page's fetch can read how long to wait after a 429 or 503.
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After"));
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

/// Whether a body is a JSON batch: its first byte that is not JSON whitespace
/// is `{` (`docs/wire-format.md`, "Telling the formats apart").
fn is_json(body: &[u8]) -> bool {
    body.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')) == Some(&b'{')
}

/// Decodes a binary or JSON batch; the error is the decoder's message.
fn decode_batch(body: &[u8]) -> Result<codec::Batch, String> {
    if is_json(body) {
        let text = std::str::from_utf8(body).map_err(|_| "JSON batch: not valid UTF-8".to_owned())?;
        codec_json::decode_json(text).map_err(|e| e.to_string())
    } else {
        codec::decode(body).map_err(|e| e.to_string())
    }
}

/// 429 with `Retry-After` (whole seconds) for a client network over its rate.
fn rate_limited(wait: std::time::Duration) -> Response {
    let secs = retry_after_secs(wait);
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many requests from your network: retry after {secs} s (--rate-limit)"),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// The client's address for the rate limit: the last address of
/// `--client-ip-header` when set (the one the proxy in front added; those before
/// it are the client's word), else the peer's.
fn client_ip(settings: &Settings, req: &Request) -> Option<std::net::IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let Some(name) = &settings.client_ip_header else { return peer };
    let last =
        req.headers().get_all(name).iter().last().and_then(|v| v.to_str().ok()).and_then(|v| v.rsplit(',').next());
    let last = last.map(str::trim).unwrap_or_default();
    let parsed = last.parse::<std::net::IpAddr>().ok().or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()));
    parsed.or(peer)
}

async fn collect_wrong_method(method: Method) -> Response {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed here: POST a batch to /v1/collect (see docs/wire-format.md)"),
    );
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    r
}

/// `POST /v1/collect`: rate limit, read the body (bounded in size and time),
/// decode (binary or JSON), validate each event, store the valid ones (dedup by
/// client and event id), answer once they are committed.
async fn collect(State(st): State<AppState>, req: Request) -> Response {
    let refuse = |status: StatusCode, msg: String| {
        st.stats.refused.fetch_add(1, Ordering::Relaxed);
        error(status, msg)
    };
    // The client's address is used here only, truncated to its network by the limiter.
    if let Some(ip) = client_ip(&st.settings, &req) {
        if let Err(wait) = st.limiter.check(ip) {
            st.stats.refused.fetch_add(1, Ordering::Relaxed);
            return rate_limited(wait);
        }
    }
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let max = st.settings.max_body;
    let too_large = || format!("batch is larger than the limit of {max} bytes (--max-body): send smaller batches");
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large());
    }
    let timeout = st.settings.body_timeout;
    let bytes: Bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, max)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let e = e.into_inner();
            return if is_length_limit(e.as_ref()) {
                refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large())
            } else {
                refuse(StatusCode::BAD_REQUEST, format!("could not read the request body: {e}"))
            };
        }
        Err(_) => {
            let mut r = refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {} s", timeout.as_secs_f64()),
            );
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let batch = match decode_batch(&bytes) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };

    let mut errors = Vec::new();
    let mut rejected = 0u32;
    let total = batch.events.len();
    let mut valid = Vec::with_capacity(total);
    let client = batch.client;
    for (i, e) in batch.events.into_iter().enumerate() {
        // The core's rules, then the LDP mode's: a report (custom event `ldp`) is
        // stored only in its exact shape and id-free (`ldp_counts::check_incoming`).
        let verdict = e
            .validate()
            .map_err(|why| why.to_string())
            .and_then(|()| crate::ldp_counts::check_incoming(&e, &client).map_err(str::to_owned));
        match verdict {
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
        /// Clients left out of public popularity (see `popularity.rs`).
        flagged_clients: u64,
    }
    let flagged_clients = match st.popular.snapshot().await {
        Ok(s) => s.flagged_clients,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
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
            flagged_clients,
        },
    )
}

// ---------------------------------------------------------------------------
// GET /v1/popularity: see `popularity.rs`.

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
    fn secrets_compare_exactly() {
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokem"));
        assert!(!same_secret(b"token", b"token2"));
    }
}
