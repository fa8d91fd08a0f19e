//! Vitrina's reference backend: ingests the widget's event batches, deduplicates
//! and stores them, and publishes thresholded item popularity.
//!
//! # The key design decision: one writer, group commit
//!
//! Every write goes through **one writer thread** that owns the only write
//! connection. An HTTP handler decodes and validates a batch on the async runtime,
//! then sends the valid events with a oneshot reply channel over a bounded queue
//! and waits. The writer blocks for the first queued batch, drains everything else
//! already queued (up to a cap), inserts it all in **one transaction** with cached
//! prepared statements, commits, and only then answers every waiting handler. So:
//!
//! - a 2xx answer means the events are committed (SQLite in WAL mode: a commit
//!   survives `kill -9` of the server);
//! - the cost of a commit (the WAL write) is shared by every batch that arrived
//!   while the previous commit ran: the busier the server, the bigger the groups
//!   and the cheaper each batch; there is no lock contention between writers
//!   because there is only one;
//! - deduplication is the primary key `(client, id)` with `ON CONFLICT DO NOTHING`,
//!   checked inside the same transaction, so duplicates within one group are
//!   caught too;
//! - reads (admin listing, popularity, stats) use separate read connections on the
//!   blocking pool and never wait for the writer (WAL readers see the last commit);
//! - when the queue is full, handlers wait on it: back-pressure instead of
//!   unbounded memory.
//!
//! Shutdown stops accepting connections, lets in-flight requests finish, then
//! tells the writer to commit what is queued and stop.
//!
//! The pieces: [`Config`] (what the CLI fills in), [`Server`] (bind, then run or
//! spawn), [`router`] (the HTTP surface), [`store::Store`] (the storage interface:
//! SQLite, or PostgreSQL behind the same methods), [`ratelimit`] (per client
//! network, in memory), [`loadtest`] (the `loadtest` subcommand).
#![deny(missing_docs)]

mod api;
mod dashboard;
pub mod eval;
pub mod ldp_counts;
pub mod loadtest;
pub mod model_cmd;
pub mod model_srv;
mod popularity;
pub mod ratelimit;
pub mod store;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use api::router;
pub use ratelimit::RateLimit;
use store::{Store, StoreError, StoreOptions};

/// How long a graceful shutdown waits for open requests before closing the store.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything the server needs to start; the CLI fills it in.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Data directory (created if missing); the database is `DIR/vitrina.db`.
    pub data_dir: PathBuf,
    /// Widget files served at the root (`/vitrina.js`, ...), if any.
    pub widget_dir: Option<PathBuf>,
    /// Demo shop served under `/shop/`, if any.
    pub demo_dir: Option<PathBuf>,
    /// Admin token; a random one is generated when `None`.
    pub admin_token: Option<String>,
    /// Shop origins allowed by CORS (`https://shop.example.com`).
    pub origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Smallest count published by `/v1/popularity`.
    pub min_count: u64,
    /// How long computed popularity may be reused while events keep arriving.
    pub popularity_refresh: Duration,
    /// PostgreSQL connection string (`postgres://USER@HOST[:PORT]/DB`); `None`
    /// stores in SQLite under `data_dir`.
    pub database: Option<String>,
    /// Requests per second (and burst) per client network on `/v1/collect`.
    pub rate_limit: RateLimit,
    /// Behind a reverse proxy: the header whose last address is the client's
    /// (`X-Forwarded-For`, `X-Real-IP`), for the rate limit only.
    pub client_ip_header: Option<String>,
    /// Events received longer ago are deleted; `None` keeps them forever.
    pub retention: Option<Duration>,
    /// How often retention runs (also once at start).
    pub retention_every: Duration,
    /// Longest time a client may take to send a request body (408 after it).
    pub body_timeout: Duration,
    /// The public model: how it is built, where rebuilds happen (files in
    /// `data_dir/model`, see [`model_srv`]).
    pub model: model_srv::ModelOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(".vitrina-data"),
            widget_dir: None,
            demo_dir: None,
            admin_token: None,
            origins: Vec::new(),
            max_body: 1 << 20,
            min_count: 5,
            popularity_refresh: Duration::from_secs(1),
            database: None,
            rate_limit: RateLimit::default(),
            client_ip_header: None,
            retention: Some(Duration::from_secs(180 * 86_400)),
            retention_every: Duration::from_secs(3600),
            body_timeout: Duration::from_secs(10),
            model: model_srv::ModelOptions::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The address is already taken.
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Binding failed for another reason.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A static directory does not exist or is not a directory.
    StaticDir {
        /// Which flag (`--widget`, `--demo`).
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// An `--origin` that is not `scheme://host[:port]`.
    BadOrigin(String),
    /// An empty or malformed admin token.
    BadToken,
    /// A `--client-ip-header` that is not a header name.
    BadHeaderName(String),
    /// The store could not be opened.
    Store(StoreError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AddrInUse { addr } => {
                let mut next = *addr;
                next.set_port(addr.port().checked_add(1).unwrap_or(8081));
                write!(f, "port {} is in use: pass --addr {next}", addr.port())
            }
            StartError::Bind { addr, source } if source.kind() == std::io::ErrorKind::PermissionDenied => write!(
                f,
                "cannot listen on {addr}: permission denied; pass --addr with a port above 1023, e.g. 127.0.0.1:8080"
            ),
            StartError::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source}; pass --addr with an address of this machine, e.g. 127.0.0.1:8080"
            ),
            StartError::StaticDir { flag, path } => write!(
                f,
                "{flag} {} is not a directory: build it first (npm run build writes www/dist) or fix the path",
                path.display()
            ),
            StartError::BadOrigin(o) => write!(
                f,
                "--origin {o:?} is not an origin: use scheme://host[:port], e.g. --origin https://shop.example.com"
            ),
            StartError::BadHeaderName(h) => {
                write!(f, "--client-ip-header {h:?} is not a header name: use e.g. --client-ip-header X-Forwarded-For")
            }
            StartError::BadToken => write!(
                f,
                "--admin-token must be 1 to 200 visible ASCII characters, no spaces (or leave it out to get a random one)"
            ),
            StartError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. } => Some(source),
            StartError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// Why the server stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    /// The HTTP server failed.
    Io(std::io::Error),
    /// The store failed to flush and close.
    Store(StoreError),
    /// The server task panicked.
    Panicked,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Io(e) => write!(f, "server error: {e}"),
            ServeError::Store(e) => write!(f, "{e}"),
            ServeError::Panicked => write!(f, "server task panicked"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Settings the request handlers read, resolved from a [`Config`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// The admin token (given or generated).
    pub admin_token: String,
    /// Allowed CORS origins, normalized (no trailing slash, lower-case scheme and host).
    pub origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Smallest count published by `/v1/popularity`.
    pub min_count: u64,
    /// Widget files served at the root.
    pub widget_dir: Option<PathBuf>,
    /// Demo shop served under `/shop/`.
    pub demo_dir: Option<PathBuf>,
    /// Requests per second (and burst) per client network on `/v1/collect`.
    pub rate_limit: RateLimit,
    /// The header that carries the client's address, when behind a proxy.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Longest time a client may take to send a request body.
    pub body_timeout: Duration,
    /// The public model (files, versions in memory, builds).
    pub model: model_srv::Models,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    store: Store,
    settings: Settings,
    token_generated: bool,
}

impl Server {
    /// Checks the configuration, binds the address and opens the store.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        for (flag, dir) in [("--widget", &config.widget_dir), ("--demo", &config.demo_dir)] {
            if let Some(d) = dir {
                if !d.is_dir() {
                    return Err(StartError::StaticDir { flag, path: d.clone() });
                }
            }
        }
        let origins = config
            .origins
            .iter()
            .map(|o| normalize_origin(o).ok_or_else(|| StartError::BadOrigin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let (admin_token, token_generated) = match &config.admin_token {
            Some(t) if !t.is_empty() && t.len() <= 200 && t.bytes().all(|b| b.is_ascii_graphic()) => (t.clone(), false),
            Some(_) => return Err(StartError::BadToken),
            None => (random_token(), true),
        };
        let client_ip_header = match &config.client_ip_header {
            Some(h) => Some(
                axum::http::HeaderName::from_bytes(h.trim().as_bytes())
                    .map_err(|_| StartError::BadHeaderName(h.clone()))?,
            ),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                StartError::AddrInUse { addr: config.addr }
            } else {
                StartError::Bind { addr: config.addr, source }
            }
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.addr, source })?;
        let opts = StoreOptions {
            popularity_refresh: config.popularity_refresh,
            retention: config.retention,
            retention_every: config.retention_every,
            ..StoreOptions::default()
        };
        let (data_dir, database) = (config.data_dir.clone(), config.database.clone());
        let store = tokio::task::spawn_blocking(move || match database {
            Some(url) => Store::open_postgres(&url, opts),
            None => Store::open_sqlite(&data_dir, opts),
        })
        .await
        .map_err(|_| StartError::Store(StoreError::Panicked))?
        .map_err(StartError::Store)?;
        let settings = Settings {
            admin_token,
            origins,
            max_body: config.max_body,
            min_count: config.min_count,
            widget_dir: config.widget_dir,
            demo_dir: config.demo_dir,
            rate_limit: config.rate_limit,
            client_ip_header,
            body_timeout: config.body_timeout,
            model: model_srv::Models::open(config.data_dir.join("model"), config.model).await,
        };
        Ok(Server { listener, addr, store, settings, token_generated })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin token in force.
    pub fn admin_token(&self) -> &str {
        &self.settings.admin_token
    }

    /// Whether the admin token was generated (not given in the config).
    pub fn token_generated(&self) -> bool {
        self.token_generated
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish (for at
    /// most [`SHUTDOWN_GRACE`]), then flushes and closes the store: every batch
    /// already queued for the writer is committed before this returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let rebuilds = self.settings.model.spawn_rebuilds(self.store.clone());
        let app = router(self.store.clone(), self.settings);
        // Small request/response exchanges: never let Nagle hold back a packet.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let signalled = std::sync::Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let shutdown = async move {
            shutdown.await;
            notify.notify_one();
        };
        // The peer address reaches the rate limiter only (truncated there, never stored).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown);
        // A client that never finishes its request must not hold the shutdown.
        let deadline = async {
            signalled.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let served = tokio::select! {
            r = serve => r,
            () = deadline => {
                eprintln!("vitrina-server: connections still open after {SHUTDOWN_GRACE:?}; closing anyway");
                Ok(())
            }
        };
        rebuilds.stop().await;
        let closed = self.store.close().await;
        served.map_err(ServeError::Io)?;
        closed.map_err(ServeError::Store)
    }

    /// Serves on a background task (for tests and embedding); stop it with
    /// [`RunningServer::stop`].
    pub fn spawn(self) -> RunningServer {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let addr = self.addr;
        let admin_token = self.settings.admin_token.clone();
        let task = tokio::spawn(self.run_until(async {
            let _ = stopped.await;
        }));
        RunningServer { addr, admin_token, stop: Some(stop), task }
    }
}

/// A server running on a background task.
pub struct RunningServer {
    addr: SocketAddr,
    admin_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin token in force.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Shuts down gracefully and waits until the store is closed.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.map_err(|_| ServeError::Panicked)?
    }
}

/// `https://Shop.example.com/` → `https://shop.example.com`; `None` if it is not
/// `scheme://host[:port]`.
pub fn normalize_origin(o: &str) -> Option<String> {
    let o = o.trim().trim_end_matches('/');
    let (scheme, rest) = o.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !(scheme == "http" || scheme == "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// 32 random hex digits from the OS (falling back to hashed time and process
/// state where `/dev/urandom` is missing).
fn random_token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_ok();
    if !ok {
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
            );
            h.write_u32(std::process::id());
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    vitrina::codec::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized() {
        assert_eq!(normalize_origin("https://Shop.Example.com/").as_deref(), Some("https://shop.example.com"));
        assert_eq!(normalize_origin("http://localhost:5173").as_deref(), Some("http://localhost:5173"));
        for bad in ["shop.example.com", "ftp://x", "https://", "https://a/b", "https://u@a"] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = StartError::AddrInUse { addr: "127.0.0.1:8080".parse().unwrap() };
        assert_eq!(e.to_string(), "port 8080 is in use: pass --addr 127.0.0.1:8081");
        let e = StartError::Store(StoreError::CreateDir {
            path: "/nope/data".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert!(e.to_string().starts_with("cannot create data dir /nope/data: "), "{e}");
    }

    #[test]
    fn generated_tokens_are_random_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
