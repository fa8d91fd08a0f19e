//! Storage: one writer thread that group-commits, and a small pool of read
//! connections.
//!
//! [`Store`] is the interface the HTTP layer uses. It has two backends behind the
//! same methods:
//!
//! - **SQLite** (the default, `--data DIR`): one file in WAL mode, a file lock on
//!   the data directory so one server owns it.
//! - **PostgreSQL** (`--database postgres://USER@HOST[:PORT]/DB`, see `pg.rs`): the
//!   same tables. Several servers may share one database: deduplication is the
//!   primary key with `ON CONFLICT DO NOTHING`, the totals are counters in the
//!   database, and what a server keeps in memory is only a cache (computed
//!   popularity, which then expires after `popularity_refresh` even when this
//!   server stored nothing, since another one may have).
//!
//! Both backends share the writer loop below (group commit, chunked retention)
//! through [`GroupWriter`]. Reads are per backend: a read query needs an SQLite
//! form and a PostgreSQL form, joined with [`Store::read_with`]. [`Store::read`]
//! takes the SQLite form alone and fails with [`StoreError::Unsupported`] on
//! PostgreSQL. `tests/backends.rs` runs every read against both backends on the
//! same data and compares the answers.
//!
//! **Retention** ([`StoreOptions::retention`]): at start and then every
//! `retention_every`, the writer deletes the events received before the cutoff,
//! with their purchase lines, in transactions of at most `purge_chunk` events, and
//! writes the queued batches between two chunks. SQLite runs with
//! `secure_delete` (deleted rows are overwritten, not just unlinked) and
//! checkpoints and truncates the WAL after a purge, so the deleted events are
//! gone from the files too; PostgreSQL reclaims the space with (auto)vacuum.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use vitrina::event::{Event, Kind};

#[path = "pg.rs"]
mod pg;

/// Name of the SQLite file inside the data directory.
pub const DB_FILE: &str = "vitrina.db";
/// Name of the lock file that keeps two servers off one data directory.
pub const LOCK_FILE: &str = "vitrina.lock";

/// Batches the writer queue holds before handlers wait (back-pressure).
const QUEUE_BATCHES: usize = 4096;
/// Most events one group commit takes; the rest wait for the next one.
const MAX_GROUP_EVENTS: usize = 20_000;
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 4;
/// How often SQLite's write-ahead log is copied into the database, off the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    client   BLOB    NOT NULL,
    id       INTEGER NOT NULL,
    site     TEXT    NOT NULL,
    session  INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    item     TEXT,
    category TEXT,
    brand    TEXT,
    price    INTEGER,
    currency TEXT,
    qty      INTEGER,
    url      TEXT,
    slot     TEXT,
    rec      TEXT,
    dwell_ms INTEGER,
    order_id TEXT,
    received INTEGER NOT NULL,
    extra    TEXT,
    PRIMARY KEY (client, id)
);
CREATE INDEX IF NOT EXISTS events_kind_item ON events (kind, item, category);
CREATE INDEX IF NOT EXISTS events_received ON events (received);
CREATE TABLE IF NOT EXISTS purchase_lines (
    client BLOB    NOT NULL,
    id     INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    item   TEXT    NOT NULL,
    qty    INTEGER NOT NULL,
    price  INTEGER,
    PRIMARY KEY (client, id, n)
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES
    ('batches', 0), ('accepted', 0), ('duplicates', 0), ('rejected', 0), ('client_dropped', 0)
    ON CONFLICT (name) DO NOTHING;
";

const INSERT_EVENT: &str = "INSERT INTO events (client, id, site, session, kind, ts, item, category, brand, \
     price, currency, qty, url, slot, rec, dwell_ms, order_id, received, extra) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
     ON CONFLICT (client, id) DO NOTHING";

const INSERT_LINE: &str = "INSERT INTO purchase_lines (client, id, n, item, qty, price) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (client, id, n) DO NOTHING";

const BUMP_COUNTER: &str = "UPDATE counters SET value = value + ?1 WHERE name = ?2";

/// One chunk of retention: the oldest-first order is not needed, any `limit` rows
/// received before the cutoff will do (the index on `received` finds them).
const PURGE_EVENTS: &str = "DELETE FROM events WHERE rowid IN \
     (SELECT rowid FROM events WHERE received < ?1 LIMIT ?2) RETURNING client, id, kind";

const PURGE_LINES: &str = "DELETE FROM purchase_lines WHERE client = ?1 AND id = ?2";

const SELECT_EVENTS: &str = "SELECT client, id, site, session, kind, ts, item, category, brand, price, \
     currency, qty, url, slot, rec, dwell_ms, order_id, received, extra FROM events";

/// Why the store failed.
#[derive(Debug)]
pub enum StoreError {
    /// The data directory could not be created.
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the data directory's lock.
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The database could not be opened or its schema created.
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// `--database` is not a PostgreSQL connection string.
    BadDatabaseUrl(String),
    /// PostgreSQL could not be reached, or refused the connection or the schema.
    Connect {
        /// Where (`host:port/db` as user, never the password).
        target: String,
        /// What PostgreSQL or the network said.
        message: String,
    },
    /// A query failed.
    Sql(rusqlite::Error),
    /// A PostgreSQL query failed.
    Postgres(String),
    /// A group commit failed; nothing of it was stored.
    Write(String),
    /// A read this backend does not implement.
    Unsupported(&'static str),
    /// The writer has stopped (the server is shutting down).
    Closed,
    /// A storage task panicked.
    Panicked,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::CreateDir { path, source } => write!(
                f,
                "cannot create data dir {}: {source}; pass --data DIR with a writable directory",
                path.display()
            ),
            StoreError::Locked { path } => write!(
                f,
                "data dir is in use by another vitrina-server (lock held on {}): stop it or pass a different --data DIR",
                path.display()
            ),
            StoreError::Open { path, source } => write!(
                f,
                "cannot open database {}: {source}; check the file, or pass a different --data DIR",
                path.display()
            ),
            StoreError::BadDatabaseUrl(why) => write!(
                f,
                "--database is not a PostgreSQL connection string ({why}): use postgres://USER[:PASSWORD]@HOST[:PORT]/DB"
            ),
            StoreError::Connect { target, message } => write!(
                f,
                "cannot use PostgreSQL at {target}: {message}; check that it is running, that the database exists \
                 (createdb) and the user may create tables in it, and the --database URL"
            ),
            StoreError::Sql(e) => write!(f, "database error: {e}"),
            StoreError::Postgres(e) => write!(f, "database error: {e}"),
            StoreError::Write(e) => write!(f, "could not store events: {e}"),
            StoreError::Unsupported(what) => write!(f, "{what} is not available with this database backend"),
            StoreError::Closed => write!(f, "storage is shutting down"),
            StoreError::Panicked => write!(f, "storage task panicked"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::CreateDir { source, .. } => Some(source),
            StoreError::Open { source, .. } | StoreError::Sql(source) => Some(source),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError::Postgres(pg::describe(&e))
    }
}

/// The valid events of one batch, ready to be written.
#[derive(Clone, Debug, Default)]
pub struct Ingest {
    /// The shop's site id.
    pub site: String,
    /// The client id.
    pub client: [u8; 16],
    /// The session number on that client.
    pub session: u32,
    /// Events the client's outbox dropped before this batch (for the stats).
    pub dropped: u32,
    /// Events of the batch that failed validation (for the stats; not stored).
    pub rejected: u32,
    /// When the server received the batch, in ms since the Unix epoch.
    pub received: u64,
    /// The valid events.
    pub events: Vec<Event>,
}

/// What happened to the events of one [`Ingest`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Newly stored events.
    pub accepted: u32,
    /// Events already stored before (same client and event id).
    pub duplicates: u32,
}

/// One purchase line as stored and returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLine {
    /// Item id.
    pub item: String,
    /// Quantity.
    pub qty: u32,
    /// Unit price in hundredths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

/// The list-valued fields of an event, kept as JSON in the `extra` column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// Purchase lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<StoredLine>,
    /// Search terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
    /// Custom event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Custom properties (a later duplicate key wins).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, String>,
}

impl Extra {
    fn of(e: &Event) -> Extra {
        Extra {
            lines: e.lines.iter().map(|l| StoredLine { item: l.item.clone(), qty: l.qty, price: l.price }).collect(),
            terms: e.terms.clone(),
            name: e.name.clone(),
            props: e.props.iter().cloned().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.terms.is_empty() && self.name.is_none() && self.props.is_empty()
    }

    /// The `extra` column of `e`: JSON, or `None` when there is nothing to keep.
    fn column(e: &Event) -> Option<String> {
        let extra = Extra::of(e);
        (!extra.is_empty()).then(|| serde_json::to_string(&extra).expect("extra serializes"))
    }

    /// Restores the list fields of `event` from an `extra` column.
    fn restore(column: Option<String>, event: &mut Event) {
        let extra: Extra = column.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        event.lines = extra
            .lines
            .into_iter()
            .map(|l| vitrina::event::Line { item: l.item, qty: l.qty, price: l.price })
            .collect();
        event.terms = extra.terms;
        event.name = extra.name;
        event.props = extra.props.into_iter().collect();
    }
}

/// One stored event, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Client id.
    pub client: [u8; 16],
    /// The site it came from.
    pub site: String,
    /// The client's session number.
    pub session: u32,
    /// When the server received it, ms since the Unix epoch.
    pub received: u64,
    /// The event (lists and name restored from `extra`).
    pub event: Event,
}

/// Filter for [`Store::events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Most events returned.
    pub limit: u32,
    /// Only events of this kind.
    pub kind: Option<Kind>,
}

/// Raw counts for one item (before the publication threshold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Clients whose latest like/unlike of the item is a like.
    pub likes: u64,
    /// Product views.
    pub views: u64,
    /// Cart additions.
    pub carts: u64,
    /// Purchase lines naming the item.
    pub purchases: u64,
    /// Every category the item was seen with.
    pub categories: Vec<String>,
}

/// Raw popularity of every item, computed from the stored events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Popularity {
    /// Counts by item id.
    pub items: BTreeMap<String, ItemCounts>,
}

/// Totals kept in the database, across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Batches written.
    pub batches: u64,
    /// Events stored.
    pub accepted: u64,
    /// Duplicate events dropped.
    pub duplicates: u64,
    /// Invalid events rejected.
    pub rejected: u64,
    /// Events clients reported dropping from full outboxes.
    pub client_dropped: u64,
}

/// Counters of the writer since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: u64,
    /// Batches written by those transactions.
    pub batches: u64,
    /// Most batches one transaction took.
    pub largest_group: u64,
    /// Transactions that failed and were rolled back.
    pub failures: u64,
    /// Time spent writing and committing, in microseconds (busy time / uptime is
    /// the writer's utilization).
    pub busy_us: u64,
    /// Events deleted by retention.
    pub purged: u64,
}

/// Options for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long a computed [`Popularity`] may be reused after new events were
    /// stored (it is always reused while nothing was stored, unless the database
    /// is shared with other servers).
    pub popularity_refresh: Duration,
    /// Events received longer ago than this are deleted; `None` keeps them forever.
    pub retention: Option<Duration>,
    /// How often retention runs (it also runs when the store opens).
    pub retention_every: Duration,
    /// Most events one retention transaction deletes; the writer goes back to the
    /// queued batches between two chunks.
    pub purge_chunk: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            popularity_refresh: Duration::from_secs(1),
            retention: None,
            retention_every: Duration::from_secs(3600),
            purge_chunk: 2000,
        }
    }
}

/// A retention request: delete events received before `cutoff` (ms); the reply,
/// if any, gets how many were deleted.
type PurgeReply = oneshot::Sender<Result<u64, StoreError>>;

enum Msg {
    Write(Ingest, oneshot::Sender<Result<Outcome, StoreError>>),
    Purge(u64, Option<PurgeReply>),
    Close,
}

/// The event store. Cheap to clone; every clone talks to the same writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    opts: StoreOptions,
    /// Bumped after every commit that stored or deleted something (and, when the
    /// database is shared, every `popularity_refresh`: another server may have
    /// written).
    generation: Arc<AtomicU64>,
    popularity: Mutex<Option<(u64, Instant, Arc<Popularity>)>>,
    tx: mpsc::Sender<Msg>,
    writer: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Mutex<WriterStats>>,
    /// Background threads (retention and `generation` ticks; SQLite's
    /// checkpoints), and how to stop each.
    maintenance: Mutex<Vec<(std::sync::mpsc::Sender<()>, JoinHandle<()>)>>,
}

enum Backend {
    Sqlite(Sqlite),
    Postgres(Box<pg::Pg>),
}

struct Sqlite {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the SQLite store in `dir`, takes the directory's
    /// lock and starts the writer thread.
    pub fn open_sqlite(dir: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Locked { path: lock_path });
        }
        let path = dir.join(DB_FILE);
        let open_err = |source| StoreError::Open { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536;
             PRAGMA secure_delete = ON;",
        )
        .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        // Checkpoints run on a thread of their own (`checkpoint_loop`), so the
        // writer only appends to the log; this is a backstop (64 MB of log).
        conn.execute_batch("PRAGMA wal_autocheckpoint = 16384;").map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(16);
        let checkpoints = Connection::open(&path).map_err(open_err)?;
        let sqlite = Sqlite { path, readers: Mutex::new(Vec::new()), _lock: lock };
        let store = Store::start(Backend::Sqlite(sqlite), SqliteWriter { conn }, opts, false)?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("vitrina-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoints, &stopped))
            .map_err(|e| StoreError::Write(format!("cannot start the checkpoint thread: {e}")))?;
        store.inner.maintenance.lock().unwrap_or_else(|e| e.into_inner()).push((stop, handle));
        Ok(store)
    }

    /// Connects to the PostgreSQL database named by `url`
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or `key=value` pairs), creates
    /// the tables if they are missing and starts the writer thread. Several servers
    /// may open the same database.
    pub fn open_postgres(url: &str, opts: StoreOptions) -> Result<Store, StoreError> {
        let (backend, writer) = pg::open(url)?;
        Store::start(Backend::Postgres(Box::new(backend)), writer, opts, true)
    }

    fn start(
        backend: Backend,
        writer: impl GroupWriter,
        opts: StoreOptions,
        shared: bool,
    ) -> Result<Store, StoreError> {
        let generation = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let writer = {
            let (generation, stats, chunk) = (generation.clone(), stats.clone(), opts.purge_chunk.max(1));
            std::thread::Builder::new()
                .name("vitrina-writer".into())
                .spawn(move || writer_loop(writer, rx, &generation, &stats, chunk))
                .map_err(|e| StoreError::Write(format!("cannot start the writer thread: {e}")))?
        };
        // Another server may write to a shared database: computed popularity must
        // then expire by time alone, which ticking the generation achieves.
        let tick = shared.then(|| opts.popularity_refresh.max(Duration::from_millis(100)));
        let retention = opts.retention.filter(|r| !r.is_zero());
        let mut maintenance = Vec::new();
        if retention.is_some() || tick.is_some() {
            let (stop, stopped) = std::sync::mpsc::channel();
            let (tx, generation, every) = (tx.clone(), generation.clone(), opts.retention_every);
            let handle = std::thread::Builder::new()
                .name("vitrina-maintenance".into())
                .spawn(move || maintenance_loop(&tx, &generation, retention, every, tick, &stopped))
                .map_err(|e| StoreError::Write(format!("cannot start the maintenance thread: {e}")))?;
            maintenance.push((stop, handle));
        }
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                opts,
                generation,
                popularity: Mutex::new(None),
                tx,
                writer: Mutex::new(Some(writer)),
                stats,
                maintenance: Mutex::new(maintenance),
            }),
        })
    }

    /// Which backend this is: `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &self.inner.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Queues the events for the writer and waits until they are committed.
    /// Resolves only after the transaction that holds them is durable.
    pub async fn ingest(&self, batch: Ingest) -> Result<Outcome, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Msg::Write(batch, reply)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Deletes every event received before `cutoff` (ms since the Unix epoch),
    /// with its purchase lines, in chunks between the writes; resolves with how
    /// many events were deleted once none is left. (Retention calls this
    /// periodically; tests call it with a chosen cutoff.)
    pub async fn purge_before(&self, cutoff: u64) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Msg::Purge(cutoff, Some(reply))).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// The newest stored events first.
    pub async fn events(&self, q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let q2 = q.clone();
        self.read_with(move |c| query_events(c, &q), move |c| pg::query_events(c, &q2)).await
    }

    /// Totals kept across restarts.
    pub async fn totals(&self) -> Result<Totals, StoreError> {
        self.read_with(query_totals, pg::query_totals).await
    }

    /// The writer's counters since start.
    pub fn writer_stats(&self) -> WriterStats {
        *self.inner.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Raw popularity of every item. Computed at most once per
    /// `popularity_refresh` while events keep arriving, and reused while none do.
    pub async fn popularity(&self) -> Result<Arc<Popularity>, StoreError> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        if let Some((g, at, p)) = &*self.inner.popularity.lock().unwrap_or_else(|e| e.into_inner()) {
            if *g == generation || at.elapsed() < self.inner.opts.popularity_refresh {
                return Ok(p.clone());
            }
        }
        let p = Arc::new(self.read_with(query_popularity, pg::query_popularity).await?);
        *self.inner.popularity.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, Instant::now(), p.clone()));
        Ok(p)
    }

    /// Stops retention, then the writer after it has committed everything queued,
    /// and waits for it. Later writes fail with [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        let maintenance = std::mem::take(&mut *self.inner.maintenance.lock().unwrap_or_else(|e| e.into_inner()));
        for (stop, handle) in maintenance {
            drop(stop);
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|_| StoreError::Panicked)?
                .map_err(|_| StoreError::Panicked)?;
        }
        let _ = self.inner.tx.send(Msg::Close).await;
        let handle = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            tokio::task::spawn_blocking(move || h.join())
                .await
                .map_err(|_| StoreError::Panicked)?
                .map_err(|_| StoreError::Panicked)?;
        }
        match &self.inner.backend {
            Backend::Sqlite(s) => s.readers.lock().unwrap_or_else(|e| e.into_inner()).clear(),
            Backend::Postgres(p) => p.close_readers(),
        }
        Ok(())
    }

    /// Runs `f` on an SQLite read connection on the blocking pool. Fails with
    /// [`StoreError::Unsupported`] on PostgreSQL: use [`Store::read_with`] for a
    /// read both backends answer.
    #[allow(dead_code)] // every read has both forms today
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &inner.backend {
            Backend::Sqlite(s) => s.with_reader(f),
            Backend::Postgres(_) => Err(StoreError::Unsupported("this query (it has no PostgreSQL form yet)")),
        })
        .await
        .map_err(|_| StoreError::Panicked)?
    }

    /// Runs the form of a read query for this backend on a read connection, on
    /// the blocking pool: `sqlite` on SQLite, `pg` on PostgreSQL.
    async fn read_with<T, F, G>(&self, sqlite: F, pg: G) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        G: FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &inner.backend {
            Backend::Sqlite(s) => s.with_reader(sqlite),
            Backend::Postgres(p) => p.with_reader(pg),
        })
        .await
        .map_err(|_| StoreError::Panicked)?
    }
}

impl Sqlite {
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                c.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = 1;")?;
                c
            }
        };
        let out = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        Ok(out?)
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Copies SQLite's write-ahead log into the database every [`CHECKPOINT_EVERY`]
/// (passive: never waits for the writer or the readers), until `stop` is dropped.
fn checkpoint_loop(conn: &Connection, stop: &std::sync::mpsc::Receiver<()>) {
    loop {
        match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            eprintln!("vitrina-server: checkpoint failed (the next one retries): {e}");
        }
    }
}

/// Sends a retention request at start and every `every`, and ticks `generation`
/// every `tick`, until `stop` is dropped.
fn maintenance_loop(
    tx: &mpsc::Sender<Msg>,
    generation: &AtomicU64,
    retention: Option<Duration>,
    every: Duration,
    tick: Option<Duration>,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    let every = every.max(Duration::from_millis(10));
    let start = Instant::now();
    let (mut next_purge, mut next_tick) = (start, tick.map(|t| start + t));
    loop {
        let now = Instant::now();
        if let Some(keep) = retention {
            if now >= next_purge {
                let cutoff = now_ms().saturating_sub(keep.as_millis() as u64);
                next_purge = match tx.try_send(Msg::Purge(cutoff, None)) {
                    Ok(()) => now + every,
                    // The queue is full of batches: try again soon.
                    Err(mpsc::error::TrySendError::Full(_)) => now + Duration::from_secs(1).min(every),
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                };
            }
        }
        if let (Some(t), Some(at)) = (tick, next_tick) {
            if now >= at {
                generation.fetch_add(1, Ordering::Release);
                next_tick = Some(now + t);
            }
        }
        let mut wake = next_tick.unwrap_or(now + Duration::from_secs(3600));
        if retention.is_some() {
            wake = wake.min(next_purge);
        }
        match stop.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

// ---------------------------------------------------------------------------
// The writer.

type Job = (Ingest, oneshot::Sender<Result<Outcome, StoreError>>);

/// What the writer thread needs from a backend's write connection.
trait GroupWriter: Send + 'static {
    /// Writes every job in one transaction, all or nothing; one outcome per job.
    fn write_group(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>, String>;
    /// Deletes at most `limit` events received before `cutoff` (ms) and their
    /// purchase lines, in one transaction; returns how many events.
    fn purge_chunk(&mut self, cutoff: u64, limit: usize) -> Result<usize, String>;
    /// Called when a purge has finished, if it deleted anything.
    fn purged(&mut self) {}
    /// Called once when the writer stops, after the last commit.
    fn close(&mut self) {}
}

/// A retention request being worked through, one chunk per turn of the loop.
struct PendingPurge {
    cutoff: u64,
    deleted: u64,
    replies: Vec<PurgeReply>,
}

fn writer_loop(
    mut w: impl GroupWriter,
    mut rx: mpsc::Receiver<Msg>,
    generation: &AtomicU64,
    stats: &Mutex<WriterStats>,
    chunk: usize,
) {
    let mut closing = false;
    let mut jobs: Vec<Job> = Vec::new();
    let mut purge: Option<PendingPurge> = None;
    while !closing {
        // Wait for one message (unless a purge has chunks left), then take
        // everything else already queued.
        let mut next = if purge.is_some() {
            match rx.try_recv() {
                Ok(m) => Some(m),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => Some(Msg::Close),
            }
        } else {
            Some(rx.blocking_recv().unwrap_or(Msg::Close))
        };
        let mut n_events: usize = 0;
        while let Some(m) = next.take() {
            match m {
                Msg::Write(i, r) => {
                    n_events += i.events.len();
                    jobs.push((i, r));
                }
                Msg::Purge(cutoff, reply) => {
                    let p = purge.get_or_insert(PendingPurge { cutoff, deleted: 0, replies: Vec::new() });
                    p.cutoff = p.cutoff.max(cutoff);
                    p.replies.extend(reply);
                }
                Msg::Close => {
                    // Refuse new writes; what is queued still gets committed.
                    closing = true;
                    rx.close();
                }
            }
            if n_events >= MAX_GROUP_EVENTS && !closing {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !jobs.is_empty() {
            commit_group(&mut w, &mut jobs, generation, stats);
        }
        let Some(p) = purge.as_mut() else { continue };
        if closing {
            // Retention starts again with the next start.
            for r in purge.take().into_iter().flat_map(|p| p.replies) {
                let _ = r.send(Err(StoreError::Closed));
            }
            continue;
        }
        let t0 = Instant::now();
        let result = w.purge_chunk(p.cutoff, chunk);
        let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
        st.busy_us += t0.elapsed().as_micros() as u64;
        match result {
            Ok(n) => {
                st.purged += n as u64;
                drop(st);
                p.deleted += n as u64;
                if n > 0 {
                    generation.fetch_add(1, Ordering::Release);
                }
                if n < chunk {
                    let p = purge.take().expect("a purge is pending");
                    if p.deleted > 0 {
                        w.purged();
                        eprintln!("vitrina-server: retention deleted {} events", p.deleted);
                    }
                    for r in p.replies {
                        let _ = r.send(Ok(p.deleted));
                    }
                }
            }
            Err(e) => {
                st.failures += 1;
                drop(st);
                eprintln!("vitrina-server: retention failed (it runs again later): {e}");
                for r in purge.take().into_iter().flat_map(|p| p.replies) {
                    let _ = r.send(Err(StoreError::Write(e.clone())));
                }
            }
        }
    }
    w.close();
}

/// Writes `jobs` in one transaction and answers each of them.
fn commit_group(w: &mut impl GroupWriter, jobs: &mut Vec<Job>, generation: &AtomicU64, stats: &Mutex<WriterStats>) {
    let t0 = Instant::now();
    let result = w.write_group(jobs);
    let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
    st.busy_us += t0.elapsed().as_micros() as u64;
    match result {
        Ok(outcomes) => {
            st.commits += 1;
            st.batches += jobs.len() as u64;
            st.largest_group = st.largest_group.max(jobs.len() as u64);
            drop(st);
            if outcomes.iter().any(|o| o.accepted > 0) {
                generation.fetch_add(1, Ordering::Release);
            }
            for ((_, reply), o) in jobs.drain(..).zip(outcomes) {
                let _ = reply.send(Ok(o));
            }
        }
        Err(e) => {
            st.failures += 1;
            drop(st);
            eprintln!("vitrina-server: group commit of {} batches failed: {e}", jobs.len());
            for (_, reply) in jobs.drain(..) {
                let _ = reply.send(Err(StoreError::Write(e.clone())));
            }
        }
    }
}

/// The SQLite write connection.
struct SqliteWriter {
    conn: Connection,
}

impl GroupWriter for SqliteWriter {
    fn write_group(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>, String> {
        write_group(&mut self.conn, jobs).map_err(|e| e.to_string())
    }

    fn purge_chunk(&mut self, cutoff: u64, limit: usize) -> Result<usize, String> {
        purge_chunk(&mut self.conn, cutoff, limit).map_err(|e| e.to_string())
    }

    fn purged(&mut self) {
        // secure_delete overwrote the rows in the pages; move those pages from
        // the WAL into the database file and empty the WAL, whose older frames
        // still hold the rows as they were.
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            eprintln!("vitrina-server: checkpoint after retention failed: {e}");
        }
    }

    fn close(&mut self) {
        if let Err(e) = self.conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);") {
            eprintln!("vitrina-server: final checkpoint failed: {e}");
        }
    }
}

/// Writes every job in one transaction; all or nothing.
fn write_group(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<Outcome>> {
    let tx = conn.transaction()?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut totals = Totals::default();
    {
        let mut ins = tx.prepare_cached(INSERT_EVENT)?;
        let mut line = tx.prepare_cached(INSERT_LINE)?;
        for (b, _) in jobs {
            let mut o = Outcome::default();
            let client: &[u8] = &b.client;
            for e in &b.events {
                let n = ins.execute(params![
                    client,
                    e.id as i64,
                    b.site,
                    b.session,
                    e.kind.code(),
                    e.ts as i64,
                    e.item,
                    e.category,
                    e.brand,
                    e.price,
                    e.currency,
                    e.qty,
                    e.url,
                    e.slot,
                    e.rec,
                    e.dwell_ms,
                    e.order,
                    b.received as i64,
                    Extra::column(e),
                ])?;
                if n == 0 {
                    o.duplicates += 1;
                    continue;
                }
                o.accepted += 1;
                if e.kind == Kind::Purchase {
                    for (i, l) in e.lines.iter().enumerate() {
                        line.execute(params![client, e.id as i64, i as i64, l.item, l.qty, l.price])?;
                    }
                }
            }
            totals.add(b, o);
            outcomes.push(o);
        }
        let mut bump = tx.prepare_cached(BUMP_COUNTER)?;
        for (name, v) in totals.named() {
            if v > 0 {
                bump.execute(params![v as i64, name])?;
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Deletes one chunk of expired events and their purchase lines.
fn purge_chunk(conn: &mut Connection, cutoff: u64, limit: usize) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let n = {
        let mut events = tx.prepare_cached(PURGE_EVENTS)?;
        let gone = events
            .query_map(params![cutoff.min(i64::MAX as u64) as i64, limit as i64], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, u8>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut lines = tx.prepare_cached(PURGE_LINES)?;
        for (client, id, kind) in &gone {
            if *kind == Kind::Purchase.code() {
                lines.execute(params![client, id])?;
            }
        }
        gone.len()
    };
    tx.commit()?;
    Ok(n)
}

impl Totals {
    /// Counts one written batch.
    fn add(&mut self, b: &Ingest, o: Outcome) {
        self.batches += 1;
        self.accepted += o.accepted as u64;
        self.duplicates += o.duplicates as u64;
        self.rejected += b.rejected as u64;
        self.client_dropped += b.dropped as u64;
    }

    /// The counters by their names in the `counters` table, in a fixed order.
    fn named(&self) -> [(&'static str, u64); 5] {
        [
            ("accepted", self.accepted),
            ("batches", self.batches),
            ("client_dropped", self.client_dropped),
            ("duplicates", self.duplicates),
            ("rejected", self.rejected),
        ]
    }

    /// Sets the counter called `name`.
    fn set(&mut self, name: &str, v: u64) {
        match name {
            "batches" => self.batches = v,
            "accepted" => self.accepted = v,
            "duplicates" => self.duplicates = v,
            "rejected" => self.rejected = v,
            "client_dropped" => self.client_dropped = v,
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Reads.

fn query_events(c: &Connection, q: &EventQuery) -> rusqlite::Result<Vec<StoredEvent>> {
    let order = "ORDER BY received DESC, ts DESC, id DESC LIMIT ?";
    let mut out = Vec::new();
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<StoredEvent> {
        let client_blob: Vec<u8> = r.get(0)?;
        let mut client = [0u8; 16];
        if client_blob.len() == 16 {
            client.copy_from_slice(&client_blob);
        }
        let code: u8 = r.get(4)?;
        let extra: Option<String> = r.get(18)?;
        let extra: Extra = extra.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let event = Event {
            id: r.get::<_, i64>(1)? as u64,
            kind: Kind::from_code(code).unwrap_or_default(),
            ts: r.get::<_, i64>(5)? as u64,
            item: r.get(6)?,
            category: r.get(7)?,
            brand: r.get(8)?,
            price: r.get(9)?,
            currency: r.get(10)?,
            qty: r.get(11)?,
            url: r.get(12)?,
            slot: r.get(13)?,
            rec: r.get(14)?,
            dwell_ms: r.get(15)?,
            order: r.get(16)?,
            lines: extra
                .lines
                .into_iter()
                .map(|l| vitrina::event::Line { item: l.item, qty: l.qty, price: l.price })
                .collect(),
            terms: extra.terms,
            name: extra.name,
            props: extra.props.into_iter().collect(),
        };
        Ok(StoredEvent { client, site: r.get(2)?, session: r.get(3)?, received: r.get::<_, i64>(17)? as u64, event })
    };
    match q.kind {
        Some(k) => {
            let mut st = c.prepare_cached(&format!("{SELECT_EVENTS} WHERE kind = ? {order}"))?;
            for e in st.query_map(params![k.code(), q.limit], map)? {
                out.push(e?);
            }
        }
        None => {
            let mut st = c.prepare_cached(&format!("{SELECT_EVENTS} {order}"))?;
            for e in st.query_map(params![q.limit], map)? {
                out.push(e?);
            }
        }
    }
    Ok(out)
}

fn query_totals(c: &Connection) -> rusqlite::Result<Totals> {
    let mut t = Totals::default();
    let mut st = c.prepare_cached("SELECT name, value FROM counters")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let v = r.get::<_, i64>(1)? as u64;
        match name.as_str() {
            "batches" => t.batches = v,
            "accepted" => t.accepted = v,
            "duplicates" => t.duplicates = v,
            "rejected" => t.rejected = v,
            "client_dropped" => t.client_dropped = v,
            _ => {}
        }
    }
    Ok(t)
}

fn query_popularity(c: &Connection) -> rusqlite::Result<Popularity> {
    let mut items: HashMap<String, ItemCounts> = HashMap::new();
    // Views, carts and every item's categories: one pass over the covering index.
    {
        let mut st = c.prepare_cached(
            "SELECT kind, item, category, COUNT(*) FROM events WHERE item IS NOT NULL \
             GROUP BY kind, item, category",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let kind = Kind::from_code(r.get(0)?);
            let item: String = r.get(1)?;
            let category: Option<String> = r.get(2)?;
            let n = r.get::<_, i64>(3)? as u64;
            let e = items.entry(item).or_default();
            match kind {
                Some(Kind::ProductView) => e.views += n,
                Some(Kind::CartAdd) => e.carts += n,
                _ => {}
            }
            if let Some(cat) = category {
                if !e.categories.contains(&cat) {
                    e.categories.push(cat);
                }
            }
        }
    }
    // Likes: per (client, item), the latest like or unlike decides.
    {
        let mut st = c.prepare_cached(
            "SELECT item, COUNT(*) FROM ( \
                SELECT item, kind, ROW_NUMBER() OVER ( \
                    PARTITION BY client, item ORDER BY ts DESC, id DESC) AS rn \
                FROM events WHERE kind IN (?1, ?2) \
             ) latest WHERE rn = 1 AND kind = ?1 GROUP BY item",
        )?;
        let mut rows = st.query(params![Kind::Like.code(), Kind::Unlike.code()])?;
        while let Some(r) = rows.next()? {
            let item: String = r.get(0)?;
            items.entry(item).or_default().likes = r.get::<_, i64>(1)? as u64;
        }
    }
    {
        let mut st = c.prepare_cached("SELECT item, COUNT(*) FROM purchase_lines GROUP BY item")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let item: String = r.get(0)?;
            items.entry(item).or_default().purchases = r.get::<_, i64>(1)? as u64;
        }
    }
    Ok(Popularity { items: items.into_iter().collect() })
}

// ---- dashboard & popularity queries
//
// Read-only queries for `/v1/popularity` (rolling windows, abnormal clients) and the
// admin dashboard (`/v1/dashboard`). Owned by the dashboard/popularity work; the rest
// of this file is the ingest/storage core.
//
// Portability: plain SQL only (CASE, window functions, sub-selects, JOIN, integer
// division of two integers). Times are `received` (the server's clock, ms since the
// epoch; BIGINT in PostgreSQL, where `received / 3600000` is integer division too).
// Each read runs in one read transaction so the numbers agree with each other
// (PostgreSQL: `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`).

/// Index of the all-time count in the `[u64; 4]` arrays of [`ItemWindows`].
pub const ALL_TIME: usize = 0;
/// Index of the last-hour count.
pub const LAST_HOUR: usize = 1;
/// Index of the last-24-hours count.
pub const LAST_DAY: usize = 2;
/// Index of the last-7-days count.
pub const LAST_WEEK: usize = 3;

/// Where the rolling windows start: an event counts in a window when the server
/// received it at or after the start (ms since the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowStarts {
    /// Start of the last hour.
    pub hour: u64,
    /// Start of the last 24 hours.
    pub day: u64,
    /// Start of the last 7 days.
    pub week: u64,
}

impl WindowStarts {
    /// The windows ending at `now` (ms).
    pub fn ending_at(now: u64) -> WindowStarts {
        const H: u64 = 3_600_000;
        WindowStarts {
            hour: now.saturating_sub(H),
            day: now.saturating_sub(24 * H),
            week: now.saturating_sub(7 * 24 * H),
        }
    }
}

/// When a client id is abnormal: more than `events_per_hour` events, or more than
/// `likes_per_hour` likes and unlikes, received within one clock hour (UTC, server
/// time). The all-zero client id (the shared id of anonymous-mode shoppers) is never
/// flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagRule {
    /// Most events per hour a client may send and still count.
    pub events_per_hour: u64,
    /// Most likes + unlikes per hour a client may send and still count.
    pub likes_per_hour: u64,
}

/// Counts for one item by window (`[all time, last hour, last 24 h, last 7 days]`,
/// see [`ALL_TIME`]...), with flagged clients already left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemWindows {
    /// Clients whose latest like/unlike of the item is a like (not windowed).
    pub likes: u64,
    /// Product views.
    pub views: [u64; 4],
    /// Cart additions.
    pub carts: [u64; 4],
    /// Purchase lines naming the item (orders containing it).
    pub purchases: [u64; 4],
    /// Every category the item was seen with, and how many events named it.
    pub categories: Vec<(String, u64)>,
}

/// Windowed popularity of every item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowedPopularity {
    /// Counts by item id (items with nothing left after exclusion are absent).
    pub items: BTreeMap<String, ItemWindows>,
    /// Client ids left out of every count by the [`FlagRule`].
    pub flagged_clients: u64,
}

/// What [`Store::dashboard`] aggregates: events received in `[from, ∞)`, in
/// buckets of `bucket_ms` shifted by `shift_ms` (the viewer's UTC offset, so days
/// start at local midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DashboardQuery {
    /// Earliest `received`, ms since the epoch.
    pub from: u64,
    /// Bucket width, ms (> 0).
    pub bucket_ms: u64,
    /// Added to `received` before dividing by `bucket_ms`.
    pub shift_ms: i64,
}

/// Raw dashboard aggregates for one range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DashboardData {
    /// `(bucket, kind code, events)`, bucket = `(received + shift_ms) / bucket_ms`.
    pub series: Vec<(i64, u8, u64)>,
    /// Distinct clients with at least one product view, cart add, purchase.
    pub funnel_clients: [u64; 3],
    /// Distinct clients.
    pub shoppers: u64,
    /// Distinct (client, session) pairs.
    pub sessions: u64,
    /// Per currency (`None` when absent): orders and the sum of order values (hundredths).
    pub revenue: Vec<(Option<String>, u64, i64)>,
    /// Per recommendation slot (`None` when absent): impressions and clicks.
    pub slots: Vec<(Option<String>, u64, u64)>,
    /// Events by delivery delay (`received - ts`): < 2 s, < 10 s, < 1 min, < 1 h, later.
    pub delays: [u64; 5],
    /// Most viewed items: (item, views), at most 10.
    pub top_viewed: Vec<(String, u64)>,
    /// Most frequent search terms of the newest [`DASHBOARD_SEARCHES`] searches:
    /// (term, searches containing it), at most 12.
    pub top_terms: Vec<(String, u64)>,
}

/// How many of the newest searches [`Store::dashboard`] reads for the top terms.
pub const DASHBOARD_SEARCHES: u32 = 20_000;

impl Store {
    /// Bumped after every commit that stored something: equal numbers mean equal data.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// How long computed popularity may be reused while events keep arriving.
    pub fn popularity_refresh(&self) -> Duration {
        self.inner.opts.popularity_refresh
    }

    /// Popularity of every item in rolling windows, without the clients `rule`
    /// flags. Not cached: callers cache (see `popularity.rs`).
    pub async fn windowed_popularity(
        &self,
        starts: WindowStarts,
        rule: FlagRule,
    ) -> Result<WindowedPopularity, StoreError> {
        self.read_with(
            move |c| query_windowed_popularity(c, starts, rule),
            move |c| pg::windowed_popularity(c, starts, rule),
        )
        .await
    }

    /// The admin dashboard's aggregates for one range.
    pub async fn dashboard(&self, q: DashboardQuery) -> Result<DashboardData, StoreError> {
        self.read_with(move |c| query_dashboard(c, q), move |c| pg::dashboard(c, q)).await
    }
}

/// Signed accumulator: flagged clients' counts are subtracted from everyone's.
#[derive(Default)]
struct WindowAcc {
    likes: i64,
    views: [i64; 4],
    carts: [i64; 4],
    purchases: [i64; 4],
    categories: Vec<(String, i64)>,
}

const SQL_FLAGGED: &str = "SELECT DISTINCT client FROM ( \
        SELECT client, COUNT(*) AS n, SUM(CASE WHEN kind IN (?1, ?2) THEN 1 ELSE 0 END) AS l \
        FROM events WHERE client <> ?3 GROUP BY client, received / 3600000 \
     ) per_hour WHERE n > ?4 OR l > ?5";

/// `?4` is the client when `one_client`.
fn sql_item_windows(one_client: bool) -> String {
    format!(
        "SELECT item, kind, category, COUNT(*), \
            SUM(CASE WHEN received >= ?1 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN received >= ?2 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN received >= ?3 THEN 1 ELSE 0 END) \
         FROM events WHERE item IS NOT NULL{} GROUP BY item, kind, category",
        if one_client { " AND client = ?4" } else { "" }
    )
}

/// `?3` is the client when `one_client`.
fn sql_latest_likes(one_client: bool) -> String {
    format!(
        "SELECT item, COUNT(*) FROM ( \
            SELECT item, kind, ROW_NUMBER() OVER ( \
                PARTITION BY client, item ORDER BY ts DESC, id DESC) AS rn \
            FROM events WHERE kind IN (?1, ?2){} \
         ) latest WHERE rn = 1 AND kind = ?1 GROUP BY item",
        if one_client { " AND client = ?3" } else { "" }
    )
}

/// `?4` is the client when `one_client`.
fn sql_purchase_windows(one_client: bool) -> String {
    format!(
        "SELECT l.item, COUNT(*), \
            SUM(CASE WHEN e.received >= ?1 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN e.received >= ?2 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN e.received >= ?3 THEN 1 ELSE 0 END) \
         FROM purchase_lines l JOIN events e ON e.client = l.client AND e.id = l.id{} \
         GROUP BY l.item",
        if one_client { " WHERE l.client = ?4" } else { "" }
    )
}

/// Adds (`sign` = 1) or removes (`sign` = -1) the counts of every client, or of one.
/// `with_events`: also the views, cart adds and categories (`sql_item_windows`);
/// without, only likes and purchases.
fn accumulate_windows(
    c: &Connection,
    client: Option<&[u8]>,
    s: WindowStarts,
    sign: i64,
    items: &mut HashMap<String, WindowAcc>,
    with_events: bool,
) -> rusqlite::Result<()> {
    let (h, d, w) = (s.hour as i64, s.day as i64, s.week as i64);
    let n = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
    if with_events {
        let mut st = c.prepare_cached(&sql_item_windows(client.is_some()))?;
        let mut rows = match client {
            Some(cl) => st.query(params![h, d, w, cl])?,
            None => st.query(params![h, d, w])?,
        };
        while let Some(r) = rows.next()? {
            let kind = Kind::from_code(r.get(1)?);
            let item: String = r.get(0)?;
            let category: Option<String> = r.get(2)?;
            let counts = [n(r, 3)?, n(r, 4)?, n(r, 5)?, n(r, 6)?];
            let e = items.entry(item).or_default();
            let target = match kind {
                Some(Kind::ProductView) => Some(&mut e.views),
                Some(Kind::CartAdd) => Some(&mut e.carts),
                _ => None,
            };
            if let Some(t) = target {
                for (t, v) in t.iter_mut().zip(counts) {
                    *t += sign * v;
                }
            }
            if let Some(cat) = category {
                match e.categories.iter_mut().find(|(c, _)| *c == cat) {
                    Some((_, k)) => *k += sign * counts[0],
                    None => e.categories.push((cat, sign * counts[0])),
                }
            }
        }
    }
    {
        let mut st = c.prepare_cached(&sql_latest_likes(client.is_some()))?;
        let (like, unlike) = (Kind::Like.code(), Kind::Unlike.code());
        let mut rows = match client {
            Some(cl) => st.query(params![like, unlike, cl])?,
            None => st.query(params![like, unlike])?,
        };
        while let Some(r) = rows.next()? {
            let item: String = r.get(0)?;
            items.entry(item).or_default().likes += sign * n(r, 1)?;
        }
    }
    {
        let mut st = c.prepare_cached(&sql_purchase_windows(client.is_some()))?;
        let mut rows = match client {
            Some(cl) => st.query(params![h, d, w, cl])?,
            None => st.query(params![h, d, w])?,
        };
        while let Some(r) = rows.next()? {
            let item: String = r.get(0)?;
            let e = items.entry(item).or_default();
            for (i, t) in e.purchases.iter_mut().enumerate() {
                *t += sign * n(r, i + 1)?;
            }
        }
    }
    Ok(())
}

/// Views, cart adds and categories of every item by window (into `acc`), and the
/// clients [`FlagRule`] flags, from one scan of `events`.
fn scan_events_and_flag(
    c: &Connection,
    s: WindowStarts,
    rule: FlagRule,
    acc: &mut HashMap<String, WindowAcc>,
) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut per_hour: HashMap<([u8; 16], i64), (u64, u64)> = HashMap::new();
    let mut st = c.prepare_cached("SELECT client, received, kind, item, category FROM events")?;
    let mut rows = st.query([])?;
    let (like, unlike) = (Kind::Like.code(), Kind::Unlike.code());
    let (view, cart) = (Kind::ProductView.code(), Kind::CartAdd.code());
    while let Some(r) = rows.next()? {
        let mut client = [0u8; 16];
        if let Ok(b) = r.get_ref(0)?.as_blob() {
            if b.len() == 16 {
                client.copy_from_slice(b);
            }
        }
        let received: i64 = r.get(1)?;
        let kind: u8 = r.get(2)?;
        if client != [0u8; 16] {
            let e = per_hour.entry((client, received / 3_600_000)).or_default();
            e.0 += 1;
            if kind == like || kind == unlike {
                e.1 += 1;
            }
        }
        let Some(item) = r.get_ref(3)?.as_str_or_null()? else { continue };
        let e = match acc.get_mut(item) {
            Some(e) => e,
            None => acc.entry(item.to_owned()).or_default(),
        };
        let received = received as u64;
        let inc = [1, (received >= s.hour) as i64, (received >= s.day) as i64, (received >= s.week) as i64];
        let target = if kind == view {
            Some(&mut e.views)
        } else if kind == cart {
            Some(&mut e.carts)
        } else {
            None
        };
        if let Some(t) = target {
            for (t, v) in t.iter_mut().zip(inc) {
                *t += v;
            }
        }
        if let Some(cat) = r.get_ref(4)?.as_str_or_null()? {
            match e.categories.iter_mut().find(|(c, _)| c == cat) {
                Some((_, k)) => *k += 1,
                None => e.categories.push((cat.to_owned(), 1)),
            }
        }
    }
    let mut flagged: Vec<Vec<u8>> = per_hour
        .into_iter()
        .filter(|(_, (n, l))| *n > rule.events_per_hour || *l > rule.likes_per_hour)
        .map(|((client, _), _)| client.to_vec())
        .collect();
    flagged.sort_unstable();
    flagged.dedup();
    Ok(flagged)
}

fn query_windowed_popularity(c: &Connection, s: WindowStarts, rule: FlagRule) -> rusqlite::Result<WindowedPopularity> {
    // One snapshot for every statement below, so the subtraction is exact.
    let tx = c.unchecked_transaction()?;
    let mut acc: HashMap<String, WindowAcc> = HashMap::new();
    // SQLite: `SQL_FLAGGED` and `sql_item_windows(false)` in one sequential pass over
    // the table (through an index, each row costs a random table lookup). Same
    // numbers as the SQL forms, which PostgreSQL runs as they are.
    let flagged = scan_events_and_flag(c, s, rule, &mut acc)?;
    accumulate_windows(c, None, s, 1, &mut acc, false)?;
    for client in &flagged {
        accumulate_windows(c, Some(client), s, -1, &mut acc, true)?;
    }
    tx.finish()?;
    let pos = |v: i64| v.max(0) as u64;
    let arr = |a: [i64; 4]| a.map(pos);
    let items = acc
        .into_iter()
        .filter_map(|(item, a)| {
            let mut categories: Vec<(String, u64)> =
                a.categories.into_iter().filter(|(_, n)| *n > 0).map(|(c, n)| (c, n as u64)).collect();
            categories.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
            let w = ItemWindows {
                likes: pos(a.likes),
                views: arr(a.views),
                carts: arr(a.carts),
                purchases: arr(a.purchases),
                categories,
            };
            let empty = w.likes == 0 && w.views[0] == 0 && w.carts[0] == 0 && w.purchases[0] == 0;
            (!empty).then_some((item, w))
        })
        .collect();
    Ok(WindowedPopularity { items, flagged_clients: flagged.len() as u64 })
}

fn query_dashboard(c: &Connection, q: DashboardQuery) -> rusqlite::Result<DashboardData> {
    use std::collections::HashSet;
    // One pass over the range (the `events_received` index), aggregated here: one
    // plain SELECT instead of a query per chart keeps it fast and trivially portable.
    let mut st = c.prepare_cached(
        "SELECT received, kind, client, session, ts, item, slot, price, currency \
         FROM events WHERE received >= ?1",
    )?;
    let mut rows = st.query(params![q.from as i64])?;
    let bucket = q.bucket_ms.max(1) as i64;
    let steps = [Kind::ProductView.code(), Kind::CartAdd.code(), Kind::Purchase.code()];
    let mut series: HashMap<(i64, u8), u64> = HashMap::new();
    let mut funnel: [HashSet<[u8; 16]>; 3] = Default::default();
    let mut shoppers: HashSet<[u8; 16]> = HashSet::new();
    let mut sessions: HashSet<([u8; 16], u32)> = HashSet::new();
    let mut revenue: HashMap<Option<String>, (u64, i64)> = HashMap::new();
    let mut slots: HashMap<Option<String>, (u64, u64)> = HashMap::new();
    let mut delays = [0u64; 5];
    let mut viewed: HashMap<String, u64> = HashMap::new();
    let text = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<Option<String>> { r.get(i) };
    while let Some(r) = rows.next()? {
        let received: i64 = r.get(0)?;
        let kind: u8 = r.get(1)?;
        let mut client = [0u8; 16];
        if let Ok(b) = r.get_ref(2)?.as_blob() {
            if b.len() == 16 {
                client.copy_from_slice(b);
            }
        }
        let session: u32 = r.get(3)?;
        let ts: i64 = r.get(4)?;
        *series.entry(((received + q.shift_ms).div_euclid(bucket), kind)).or_default() += 1;
        if let Some(i) = steps.iter().position(|s| *s == kind) {
            funnel[i].insert(client);
        }
        shoppers.insert(client);
        sessions.insert((client, session));
        let late = received - ts;
        delays[match late {
            l if l < 2_000 => 0,
            l if l < 10_000 => 1,
            l if l < 60_000 => 2,
            l if l < 3_600_000 => 3,
            _ => 4,
        }] += 1;
        match Kind::from_code(kind) {
            Some(Kind::ProductView) => {
                if let Some(item) = r.get_ref(5)?.as_str_or_null()? {
                    match viewed.get_mut(item) {
                        Some(n) => *n += 1,
                        None => {
                            viewed.insert(item.to_owned(), 1);
                        }
                    }
                }
            }
            Some(k @ (Kind::Impression | Kind::RecClick)) => {
                let e = slots.entry(text(r, 6)?).or_default();
                if k == Kind::Impression {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            Some(Kind::Purchase) => {
                let e = revenue.entry(text(r, 8)?).or_default();
                e.0 += 1;
                e.1 += r.get::<_, Option<i64>>(7)?.unwrap_or(0);
            }
            _ => {}
        }
    }
    drop(rows);
    // Search terms live in `extra`: only the newest searches are read.
    let mut terms: HashMap<String, u64> = HashMap::new();
    {
        let mut st = c.prepare_cached(
            "SELECT extra FROM events WHERE kind = ?2 AND received >= ?1 ORDER BY received DESC LIMIT ?3",
        )?;
        let mut rows = st.query(params![q.from as i64, Kind::Search.code(), DASHBOARD_SEARCHES])?;
        while let Some(r) = rows.next()? {
            let extra: Option<String> = r.get(0)?;
            let extra: Extra = extra.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
            let mut seen: Vec<&String> = Vec::new();
            for t in &extra.terms {
                if !seen.contains(&t) {
                    seen.push(t);
                    *terms.entry(t.clone()).or_default() += 1;
                }
            }
        }
    }
    let top = |m: HashMap<String, u64>, n: usize| {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    };
    let mut series: Vec<(i64, u8, u64)> = series.into_iter().map(|((b, k), n)| (b, k, n)).collect();
    series.sort_unstable();
    let mut revenue: Vec<(Option<String>, u64, i64)> = revenue.into_iter().map(|(c, (n, t))| (c, n, t)).collect();
    revenue.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut slots: Vec<(Option<String>, u64, u64)> = slots.into_iter().map(|(s, (i, k))| (s, i, k)).collect();
    slots.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
    Ok(DashboardData {
        series,
        funnel_clients: funnel.map(|s| s.len() as u64),
        shoppers: shoppers.len() as u64,
        sessions: sessions.len() as u64,
        revenue,
        slots,
        delays,
        top_viewed: top(viewed, 10),
        top_terms: top(terms, 12),
    })
}

// ---- model build: the sessions the item-to-item model learns from
//
// Owned by the model work (`model_srv.rs`); the rest of this file is not. One read,
// in one snapshot, of every product view, cart add and purchase line, in session
// order, for `vitrina-server model build` and the rebuilds of `serve`. It runs on a
// read connection (SQLite WAL: it never waits for the writer nor holds it up;
// PostgreSQL: REPEATABLE READ READ ONLY). Abnormal clients, by the same rule as
// public popularity, are left out.

/// One item of a shopper's session, as [`Store::model_rows`] hands it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelRow<'a> {
    /// Client id.
    pub client: &'a [u8],
    /// The client's session number.
    pub session: u32,
    /// The item (SKU) viewed, added to the cart, or one line of a purchase.
    pub item: &'a str,
    /// When the server received the event, ms since the Unix epoch.
    pub received: u64,
}

/// `?1` view, `?2` cart add, `?3` purchase: purchases become one row per line, in
/// line order. Rows come grouped by (client, session), in the client's time order.
const SQL_MODEL_ROWS: &str = "SELECT e.client, e.session, COALESCE(l.item, e.item), e.received \
     FROM events e LEFT JOIN purchase_lines l ON e.kind = ?3 AND l.client = e.client AND l.id = e.id \
     WHERE e.kind IN (?1, ?2, ?3) \
     ORDER BY e.client, e.session, e.ts, e.id, l.n";

/// The clients [`FlagRule`] leaves out (as in public popularity): `?1` like, `?2`
/// unlike, `?3` the anonymous client (never flagged), `?4` events and `?5` likes
/// per clock hour.
const SQL_MODEL_FLAGGED: &str = "SELECT DISTINCT client FROM ( \
        SELECT client, COUNT(*) AS n, SUM(CASE WHEN kind IN (?1, ?2) THEN 1 ELSE 0 END) AS l \
        FROM events WHERE client <> ?3 GROUP BY client, received / 3600000 \
     ) per_hour WHERE n > ?4 OR l > ?5";

/// [`Store::model_rows`] on an SQLite connection (the `model build` command opens
/// the database read-only, so it runs beside a serving server).
pub fn read_model_rows(
    c: &Connection,
    rule: FlagRule,
    f: &mut dyn FnMut(ModelRow<'_>) -> bool,
) -> rusqlite::Result<()> {
    let tx = c.unchecked_transaction()?;
    let flagged: std::collections::HashSet<Vec<u8>> = {
        let mut st = c.prepare(SQL_MODEL_FLAGGED)?;
        let rows = st.query_map(
            params![
                Kind::Like.code(),
                Kind::Unlike.code(),
                &[0u8; 16][..],
                rule.events_per_hour as i64,
                rule.likes_per_hour as i64
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    {
        let mut st = c.prepare(SQL_MODEL_ROWS)?;
        let mut rows = st.query(params![Kind::ProductView.code(), Kind::CartAdd.code(), Kind::Purchase.code()])?;
        while let Some(r) = rows.next()? {
            let client = r.get_ref(0)?.as_blob()?;
            if flagged.contains(client) {
                continue;
            }
            let Some(item) = r.get_ref(2)?.as_str_or_null()? else { continue };
            let session = r.get::<_, i64>(1)? as u32;
            let received = r.get::<_, i64>(3)?.max(0) as u64;
            if !f(ModelRow { client, session, item, received }) {
                break;
            }
        }
    }
    tx.finish()
}

/// The PostgreSQL form of [`read_model_rows`] (rows are streamed, not collected).
fn pg_model_rows(
    c: &mut postgres::Client,
    rule: FlagRule,
    f: &mut dyn FnMut(ModelRow<'_>) -> bool,
) -> Result<(), postgres::Error> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut tx =
        c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
    let (like, unlike) = (Kind::Like.code() as i32, Kind::Unlike.code() as i32);
    let anonymous: &[u8] = &[0u8; 16];
    let flagged: std::collections::HashSet<Vec<u8>> = tx
        .query(
            &SQL_MODEL_FLAGGED.replace('?', "$"),
            &[&like, &unlike, &anonymous, &(rule.events_per_hour as i64), &(rule.likes_per_hour as i64)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let kinds = [Kind::ProductView.code() as i32, Kind::CartAdd.code() as i32, Kind::Purchase.code() as i32];
    let params: Vec<&(dyn postgres::types::ToSql + Sync)> = kinds.iter().map(|k| k as _).collect();
    let mut rows = tx.query_raw(&SQL_MODEL_ROWS.replace('?', "$"), params)?;
    while let Some(r) = rows.next()? {
        let client: &[u8] = r.get(0);
        if flagged.contains(client) {
            continue;
        }
        let Some(item) = r.get::<_, Option<&str>>(2) else { continue };
        let session = r.get::<_, i64>(1) as u32;
        let received = r.get::<_, i64>(3).max(0) as u64;
        if !f(ModelRow { client, session, item, received }) {
            break;
        }
    }
    drop(rows);
    tx.commit()
}

impl Store {
    /// Hands every item of every stored session to `f`, in order: grouped by
    /// (client, session), in the client's time order within a session (`ts`, then
    /// event id; purchase lines in line order). Product views, cart adds and
    /// purchase lines only; clients `rule` flags are left out. One snapshot, on a
    /// read connection on the blocking pool; `f` returns false to stop early.
    /// Returns `f` when done.
    pub async fn model_rows<F>(&self, rule: FlagRule, f: F) -> Result<F, StoreError>
    where
        F: FnMut(ModelRow<'_>) -> bool + Send + 'static,
    {
        // Only one of the two forms runs; both need `f`.
        let cell = Arc::new(Mutex::new(Some(f)));
        let pg_cell = cell.clone();
        let take = |c: &Mutex<Option<F>>| c.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.read_with(
            move |c| {
                let mut f = take(&cell).expect("only one backend form runs");
                read_model_rows(c, rule, &mut f).map(|()| f)
            },
            move |c| {
                let mut f = take(&pg_cell).expect("only one backend form runs");
                pg_model_rows(c, rule, &mut f).map(|()| f)
            },
        )
        .await
    }
}

// ---- LDP reports: what `ldp_counts.rs` de-biases
//
// Owned by the LDP work. One read, in one snapshot, of the like / unlike / view reports
// of the optional local-differential-privacy mode (custom events named `ldp`, from the
// all-zero client id, with no item; `docs/ldp.md`) and of every item id the store
// knows, the candidates the reports are de-biased against. `/v1/collect` stores only
// well-formed reports sent id-free; what is read back is checked again here
// (`vitrina::ldp::from_event`), so a malformed row is counted, never used.

/// One stored LDP report: the event id (the client id is always the all-zero one,
/// so the id alone identifies the report) and the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredReport {
    /// The event id.
    pub id: u64,
    /// Like, unlike or view.
    pub signal: vitrina::ldp::Signal,
    /// Seed, bucket, bucket count and ε.
    pub report: vitrina::ldp::Report,
}

/// What the LDP estimation reads: see [`Store::ldp_inputs`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LdpInputs {
    /// The well-formed reports of the all-zero client id, by event id.
    pub reports: Vec<StoredReport>,
    /// Stored `ldp` events of the all-zero client id that are not well-formed reports
    /// (only a direct [`Store::ingest`] can store them: `/v1/collect` refuses them).
    pub malformed: u64,
    /// Every item id named by a stored event (any kind, any client) or purchase line,
    /// in byte order; the most often named ones when there are more than asked for.
    pub candidates: Vec<String>,
    /// Item ids left out of `candidates` by the limit.
    pub candidates_dropped: u64,
}

/// `?1` the all-zero client id, `?2` the custom kind, `?3` a LIKE pattern that keeps
/// out most other custom events before their `extra` is parsed.
const SQL_LDP_REPORTS: &str =
    "SELECT id, extra FROM events WHERE client = ?1 AND kind = ?2 AND item IS NULL AND extra LIKE ?3";
/// The LIKE pattern of [`SQL_LDP_REPORTS`] (the event name as `Extra` serializes it).
const LDP_EXTRA_PATTERN: &str = "%\"name\":\"ldp\"%";
/// Item ids and how many events name them: `GROUP BY kind, item` follows the
/// `events_kind_item` index, so SQLite needs no sort (the kinds are summed here).
const SQL_LDP_EVENT_ITEMS: &str = "SELECT item, COUNT(*) FROM events WHERE item IS NOT NULL GROUP BY kind, item";
const SQL_LDP_LINE_ITEMS: &str = "SELECT item, COUNT(*) FROM purchase_lines GROUP BY item";

/// Reads an LDP report back from an `extra` column: `None` when the event is not
/// named `ldp`, `Some(None)` when it is but is not a well-formed report.
fn stored_report(extra: Option<&str>) -> Option<Option<(vitrina::ldp::Signal, vitrina::ldp::Report)>> {
    let extra: Extra = extra.and_then(|s| serde_json::from_str(s).ok())?;
    if extra.name.as_deref() != Some(vitrina::ldp::EVENT_NAME) {
        return None;
    }
    let ev = Event { name: extra.name, props: extra.props.into_iter().collect(), ..Event::new(Kind::Custom, 0) };
    Some(vitrina::ldp::from_event(&ev))
}

/// Collects the rows of both queries into [`LdpInputs`] (shared by both backends, so
/// the order and the limit are applied alike).
struct LdpAcc {
    reports: Vec<StoredReport>,
    malformed: u64,
    items: HashMap<String, u64>,
}

impl LdpAcc {
    fn new() -> LdpAcc {
        LdpAcc { reports: Vec::new(), malformed: 0, items: HashMap::new() }
    }

    fn report(&mut self, id: u64, extra: Option<&str>) {
        match stored_report(extra) {
            Some(Some((signal, report))) => self.reports.push(StoredReport { id, signal, report }),
            Some(None) => self.malformed += 1,
            None => {}
        }
    }

    fn item(&mut self, item: &str, n: u64) {
        match self.items.get_mut(item) {
            Some(c) => *c += n,
            None => {
                self.items.insert(item.to_owned(), n);
            }
        }
    }

    fn finish(mut self, max_candidates: usize) -> LdpInputs {
        self.reports.sort_unstable_by_key(|r| r.id);
        let mut items: Vec<(String, u64)> = self.items.into_iter().collect();
        let mut dropped = 0;
        if items.len() > max_candidates {
            items.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            dropped = (items.len() - max_candidates) as u64;
            items.truncate(max_candidates);
        }
        let mut candidates: Vec<String> = items.into_iter().map(|(i, _)| i).collect();
        candidates.sort_unstable();
        LdpInputs { reports: self.reports, malformed: self.malformed, candidates, candidates_dropped: dropped }
    }
}

fn query_ldp_inputs(c: &Connection, max_candidates: usize) -> rusqlite::Result<LdpInputs> {
    let tx = c.unchecked_transaction()?;
    let mut acc = LdpAcc::new();
    {
        let mut st = c.prepare_cached(SQL_LDP_REPORTS)?;
        let mut rows = st.query(params![&[0u8; 16][..], Kind::Custom.code(), LDP_EXTRA_PATTERN])?;
        while let Some(r) = rows.next()? {
            let id = r.get::<_, i64>(0)? as u64;
            acc.report(id, r.get_ref(1)?.as_str_or_null()?);
        }
    }
    for sql in [SQL_LDP_EVENT_ITEMS, SQL_LDP_LINE_ITEMS] {
        let mut st = c.prepare_cached(sql)?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(item) = r.get_ref(0)?.as_str_or_null()? {
                acc.item(item, r.get::<_, i64>(1)?.max(0) as u64);
            }
        }
    }
    tx.finish()?;
    Ok(acc.finish(max_candidates))
}

/// The PostgreSQL form of [`query_ldp_inputs`].
fn pg_ldp_inputs(c: &mut postgres::Client, max_candidates: usize) -> Result<LdpInputs, postgres::Error> {
    let mut tx =
        c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
    let mut acc = LdpAcc::new();
    let zero: &[u8] = &[0u8; 16];
    let custom = Kind::Custom.code() as i32;
    for r in tx.query(&SQL_LDP_REPORTS.replace('?', "$"), &[&zero, &custom, &LDP_EXTRA_PATTERN])? {
        acc.report(r.get::<_, i64>(0) as u64, r.get::<_, Option<&str>>(1));
    }
    for sql in [SQL_LDP_EVENT_ITEMS, SQL_LDP_LINE_ITEMS] {
        for r in tx.query(sql, &[])? {
            if let Some(item) = r.get::<_, Option<&str>>(0) {
                acc.item(item, r.get::<_, i64>(1).max(0) as u64);
            }
        }
    }
    tx.commit()?;
    Ok(acc.finish(max_candidates))
}

impl Store {
    /// The inputs of the LDP estimation, in one snapshot: every well-formed report
    /// of the all-zero client id (reports under another client id are not counted:
    /// `/v1/collect` refuses them) and the candidate items, at most
    /// `max_candidates` of them (the most often named). Not cached: the caller
    /// keeps its counts up to date (`ldp_counts.rs`).
    pub async fn ldp_inputs(&self, max_candidates: usize) -> Result<LdpInputs, StoreError> {
        self.read_with(move |c| query_ldp_inputs(c, max_candidates), move |c| pg_ldp_inputs(c, max_candidates)).await
    }
}
