//! Shared helpers: temp dirs, a minimal HTTP/1.1 client, batch builders.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vitrina::codec::{encode, Batch};
use vitrina::event::{Event, Kind, Line};
use vitrina_server::{Config, RunningServer, Server};

/// A fixed, plausible timestamp (2023-11-14).
pub const T: u64 = 1_700_000_000_000;
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A directory under cargo's per-target temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "vitrina-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server on 127.0.0.1:0 over a fresh data dir; `tweak` adjusts the config.
pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> (RunningServer, TempDir) {
    let dir = TempDir::new("srv");
    let mut c = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        admin_token: Some(TOKEN.into()),
        popularity_refresh: Duration::ZERO,
        ..Config::default()
    };
    tweak(&mut c);
    let server = Server::bind(c).await.expect("server starts");
    (server.spawn(), dir)
}

pub async fn start() -> (RunningServer, TempDir) {
    start_with(|_| {}).await
}

pub mod pg;

/// Where a test server stores: the same tests run against both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// For a PostgreSQL test: a URL to a fresh database in this binary's cluster.
pub async fn fresh_database(tag: &'static str) -> String {
    match tokio::task::spawn_blocking(move || pg::fresh_database(tag)).await {
        Ok(url) => url,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A server over a fresh store of backend `b` (a fresh data dir, or a fresh
/// PostgreSQL database); `tweak` adjusts the config.
pub async fn start_on_with(b: Backend, tweak: impl FnOnce(&mut Config)) -> (RunningServer, TempDir) {
    let database = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database("api").await),
    };
    start_with(move |c| {
        c.database = database;
        tweak(c)
    })
    .await
}

pub async fn start_on(b: Backend) -> (RunningServer, TempDir) {
    start_on_with(b, |_| {}).await
}

/// `on_both_backends!(test_a, test_b)`: for each `async fn test_a(b: Backend)`,
/// the tests `sqlite::test_a` and `postgres::test_a`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::common::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::common::Backend::Postgres).await
            })*
        }
    };
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    request_from(None, addr, method, path, headers, body).await
}

/// [`request`] from a chosen local address (any 127.x.y.z reaches a server on
/// 127.0.0.1, which sees that address as the client's).
pub async fn request_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = match from {
        None => tokio::net::TcpStream::connect(addr).await.expect("connect"),
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::new(ip, 0)).expect("bind the source address");
            socket.connect(addr).await.expect("connect")
        }
    };
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
    if !chunked && (!body.is_empty() || method == "POST") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413) before reading everything; ignore a broken pipe.
    let _ = s.write_all(&bytes).await;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read response");
    parse(&raw)
}

pub fn parse(raw: &[u8]) -> Resp {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

pub async fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"").await
}

pub async fn admin_get(addr: SocketAddr, path: &str) -> Resp {
    let auth = format!("Bearer {TOKEN}");
    request(addr, "GET", path, &[("Authorization", &auth)], b"").await
}

pub async fn post(addr: SocketAddr, body: &[u8]) -> Resp {
    request(addr, "POST", "/v1/collect", &[("Content-Type", "text/plain")], body).await
}

/// Posts and expects 200; returns (accepted, duplicates, rejected).
pub async fn post_ok(addr: SocketAddr, body: &[u8]) -> (u64, u64, u64) {
    let r = post(addr, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    let n = |k: &str| j[k].as_u64().unwrap_or_else(|| panic!("{k} in {j}"));
    (n("accepted"), n("duplicates"), n("rejected"))
}

pub async fn stored_events(addr: SocketAddr) -> Vec<serde_json::Value> {
    let r = admin_get(addr, "/v1/events?limit=10000").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["events"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------
// Batches.

pub fn client(n: u8) -> [u8; 16] {
    let mut c = [0x11u8; 16];
    c[15] = n;
    c
}

/// An event of `kind` with id `seq` in tab 7, about `item`.
pub fn ev(kind: Kind, seq: u64, item: &str) -> Event {
    Event { id: (7 << 32) | seq, item: Some(item.into()), ..Event::new(kind, T + seq * 1000) }
}

pub fn view(seq: u64, item: &str, category: &str) -> Event {
    Event {
        category: Some(category.into()),
        price: Some(8990),
        currency: Some("EUR".into()),
        dwell_ms: Some(2500),
        ..ev(Kind::ProductView, seq, item)
    }
}

pub fn purchase(seq: u64, items: &[&str]) -> Event {
    Event {
        id: (7 << 32) | seq,
        order: Some(format!("N-{seq}")),
        price: Some(1000),
        currency: Some("EUR".into()),
        lines: items.iter().map(|i| Line { item: (*i).into(), qty: 1, price: Some(500) }).collect(),
        ..Event::new(Kind::Purchase, T + seq * 1000)
    }
}

pub fn batch(client_n: u8, events: Vec<Event>) -> Vec<u8> {
    encode(&Batch { site: "demo".into(), client: client(client_n), session: 1, dropped: 0, events })
}

/// A varied batch of five valid events.
pub fn sample(client_n: u8) -> Vec<u8> {
    batch(
        client_n,
        vec![
            Event { id: 7 << 32, url: Some("/shop/".into()), ..Event::new(Kind::PageView, T) },
            view(1, "SKU-001", "shoes/running"),
            Event { qty: Some(2), ..ev(Kind::CartAdd, 2, "SKU-001") },
            Event { terms: vec!["trail".into(), "shoe".into()], ..Event::new(Kind::Search, T + 3000) }
                .with_id((7 << 32) | 3),
            purchase(4, &["SKU-001", "SKU-002"]),
        ],
    )
}

pub trait WithId {
    fn with_id(self, id: u64) -> Self;
}

impl WithId for Event {
    fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }
}
