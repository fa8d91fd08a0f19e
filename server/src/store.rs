//! Storage: one writer thread that group-commits, and a small pool of read
//! connections.
//!
//! [`Store`] is the interface the HTTP layer uses. Today it has one backend, SQLite
//! in WAL mode; PostgreSQL is meant to slot in behind the same methods (the SQL
//! below avoids SQLite-only syntax where a portable form exists: `ON CONFLICT DO
//! NOTHING`, window functions, `substr`). The only SQLite-specific parts are the
//! pragmas and the file lock on the data directory.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use vitrina::event::{Event, Kind};

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
    /// A query failed.
    Sql(rusqlite::Error),
    /// A group commit failed; nothing of it was stored.
    Write(String),
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
            StoreError::Sql(e) => write!(f, "database error: {e}"),
            StoreError::Write(e) => write!(f, "could not store events: {e}"),
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
}

/// Options for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long a computed [`Popularity`] may be reused after new events were
    /// stored (it is always reused while nothing was stored).
    pub popularity_refresh: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { popularity_refresh: Duration::from_secs(1) }
    }
}

enum Msg {
    Write(Ingest, oneshot::Sender<Result<Outcome, StoreError>>),
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
    /// Bumped after every commit that stored something.
    generation: Arc<AtomicU64>,
    popularity: Mutex<Option<(u64, Instant, Arc<Popularity>)>>,
}

enum Backend {
    Sqlite(Sqlite),
}

struct Sqlite {
    path: PathBuf,
    tx: mpsc::Sender<Msg>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    stats: Arc<Mutex<WriterStats>>,
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
             PRAGMA cache_size = -65536;",
        )
        .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(16);

        let generation = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let writer = {
            let (generation, stats) = (generation.clone(), stats.clone());
            std::thread::Builder::new()
                .name("vitrina-writer".into())
                .spawn(move || writer_loop(conn, rx, &generation, &stats))
                .map_err(|e| StoreError::Write(format!("cannot start the writer thread: {e}")))?
        };
        let sqlite =
            Sqlite { path, tx, writer: Mutex::new(Some(writer)), readers: Mutex::new(Vec::new()), stats, _lock: lock };
        Ok(Store {
            inner: Arc::new(Inner { backend: Backend::Sqlite(sqlite), opts, generation, popularity: Mutex::new(None) }),
        })
    }

    /// Queues the events for the writer and waits until they are committed.
    /// Resolves only after the transaction that holds them is durable.
    pub async fn ingest(&self, batch: Ingest) -> Result<Outcome, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(s) => {
                let (reply, rx) = oneshot::channel();
                s.tx.send(Msg::Write(batch, reply)).await.map_err(|_| StoreError::Closed)?;
                rx.await.map_err(|_| StoreError::Closed)?
            }
        }
    }

    /// The newest stored events first.
    pub async fn events(&self, q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |c| query_events(c, &q)).await
    }

    /// Totals kept across restarts.
    pub async fn totals(&self) -> Result<Totals, StoreError> {
        self.read(query_totals).await
    }

    /// The writer's counters since start.
    pub fn writer_stats(&self) -> WriterStats {
        match &self.inner.backend {
            Backend::Sqlite(s) => *s.stats.lock().unwrap_or_else(|e| e.into_inner()),
        }
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
        let p = Arc::new(self.read(query_popularity).await?);
        *self.inner.popularity.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, Instant::now(), p.clone()));
        Ok(p)
    }

    /// Stops the writer after it has committed everything queued, and waits for it.
    /// Later writes fail with [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _ = s.tx.send(Msg::Close).await;
                let handle = s.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(h) = handle {
                    tokio::task::spawn_blocking(move || h.join())
                        .await
                        .map_err(|_| StoreError::Panicked)?
                        .map_err(|_| StoreError::Panicked)?;
                }
                s.readers.lock().unwrap_or_else(|e| e.into_inner()).clear();
                Ok(())
            }
        }
    }

    /// Runs `f` on a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &inner.backend {
            Backend::Sqlite(s) => s.with_reader(f),
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

// ---------------------------------------------------------------------------
// The writer.

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Msg>, generation: &AtomicU64, stats: &Mutex<WriterStats>) {
    let mut closing = false;
    let mut jobs: Vec<(Ingest, oneshot::Sender<Result<Outcome, StoreError>>)> = Vec::new();
    while !closing {
        // Wait for one message, then take everything else already queued.
        match rx.blocking_recv() {
            Some(Msg::Write(i, r)) => jobs.push((i, r)),
            Some(Msg::Close) | None => {
                closing = true;
                rx.close();
            }
        }
        let mut n_events: usize = jobs.iter().map(|j| j.0.events.len()).sum();
        loop {
            if n_events >= MAX_GROUP_EVENTS && !closing {
                break;
            }
            match rx.try_recv() {
                Ok(Msg::Write(i, r)) => {
                    n_events += i.events.len();
                    jobs.push((i, r));
                }
                Ok(Msg::Close) => {
                    // Refuse new writes; what is queued still gets committed.
                    closing = true;
                    rx.close();
                }
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        let t0 = Instant::now();
        let result = write_group(&mut conn, &jobs);
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
                let msg = e.to_string();
                for (_, reply) in jobs.drain(..) {
                    let _ = reply.send(Err(StoreError::Write(msg.clone())));
                }
            }
        }
    }
    if let Err(e) = conn.execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);") {
        eprintln!("vitrina-server: final checkpoint failed: {e}");
    }
}

type Job = (Ingest, oneshot::Sender<Result<Outcome, StoreError>>);

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
                let extra = Extra::of(e);
                let extra = if extra.is_empty() {
                    None
                } else {
                    Some(serde_json::to_string(&extra).expect("extra serializes"))
                };
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
                    extra,
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
            totals.batches += 1;
            totals.accepted += o.accepted as u64;
            totals.duplicates += o.duplicates as u64;
            totals.rejected += b.rejected as u64;
            totals.client_dropped += b.dropped as u64;
            outcomes.push(o);
        }
        let mut bump = tx.prepare_cached(BUMP_COUNTER)?;
        for (name, v) in [
            ("batches", totals.batches),
            ("accepted", totals.accepted),
            ("duplicates", totals.duplicates),
            ("rejected", totals.rejected),
            ("client_dropped", totals.client_dropped),
        ] {
            if v > 0 {
                bump.execute(params![v as i64, name])?;
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
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
