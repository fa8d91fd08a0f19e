//! The PostgreSQL backend of [`Store`](super::Store) (`--database postgres://...`).
//!
//! The same tables as SQLite (BYTEA for the client id, BIGINT for times, prices
//! and unsigned 32-bit values). Written to by the shared writer loop through
//! [`PgWriter`], read through a small pool of connections, both with the
//! synchronous `postgres` client, which must not run (nor be dropped) on an async
//! worker thread: it is used on the writer thread and on the blocking pool.
//!
//! **Several servers, one database.** Nothing here assumes this server is alone:
//!
//! - a group commit inserts every event of the group in one statement,
//!   `INSERT ... SELECT FROM UNNEST(arrays) ON CONFLICT (client, id) DO NOTHING
//!   RETURNING client, id`: an event some server already stored is a duplicate,
//!   whichever server stored it; rows are sorted by key first, so two servers
//!   writing overlapping groups take the key locks in the same order;
//! - the totals are counters in the database, updated in a fixed order;
//! - retention deletes with `FOR UPDATE SKIP LOCKED`, so two servers purging at
//!   once share the work instead of waiting on each other;
//! - the schema is created under an advisory lock, so servers may start together.
//!
//! Read queries here are the PostgreSQL forms of the SQLite ones in `store.rs`
//! (same SQL where the dialects agree, with `$n` parameters); `tests/backends.rs`
//! checks that both answer the same on the same data.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement};

use super::{
    sql_item_windows, sql_latest_likes, sql_purchase_windows, DashboardData, DashboardQuery, EventQuery, Extra,
    FlagRule, GroupWriter, ItemCounts, ItemWindows, Job, Mutex, Outcome, Popularity, StoreError, StoredEvent, Totals,
    WindowAcc, WindowStarts, WindowedPopularity, MAX_IDLE_READERS, SQL_FLAGGED,
};
use vitrina::event::{Event, Kind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    client   BYTEA   NOT NULL,
    id       BIGINT  NOT NULL,
    site     TEXT    NOT NULL,
    session  BIGINT  NOT NULL,
    kind     INTEGER NOT NULL,
    ts       BIGINT  NOT NULL,
    item     TEXT,
    category TEXT,
    brand    TEXT,
    price    BIGINT,
    currency TEXT,
    qty      BIGINT,
    url      TEXT,
    slot     TEXT,
    rec      TEXT,
    dwell_ms BIGINT,
    order_id TEXT,
    received BIGINT  NOT NULL,
    extra    TEXT,
    PRIMARY KEY (client, id)
);
CREATE INDEX IF NOT EXISTS events_kind_item ON events (kind, item, category);
CREATE INDEX IF NOT EXISTS events_received ON events (received);
CREATE TABLE IF NOT EXISTS purchase_lines (
    client BYTEA   NOT NULL,
    id     BIGINT  NOT NULL,
    n      INTEGER NOT NULL,
    item   TEXT    NOT NULL,
    qty    BIGINT  NOT NULL,
    price  BIGINT,
    PRIMARY KEY (client, id, n)
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES
    ('batches', 0), ('accepted', 0), ('duplicates', 0), ('rejected', 0), ('client_dropped', 0)
    ON CONFLICT (name) DO NOTHING;
";

/// Advisory lock key held while the schema is created ("vitrina" in ASCII).
const SCHEMA_LOCK: i64 = 0x0076_6974_7269_6e61;

const INSERT_EVENTS: &str = "INSERT INTO events (client, id, site, session, kind, ts, item, category, brand, \
     price, currency, qty, url, slot, rec, dwell_ms, order_id, received, extra) \
     SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::text[], $4::int8[], $5::int4[], $6::int8[], $7::text[], \
        $8::text[], $9::text[], $10::int8[], $11::text[], $12::int8[], $13::text[], $14::text[], $15::text[], \
        $16::int8[], $17::text[], $18::int8[], $19::text[]) \
     ON CONFLICT (client, id) DO NOTHING RETURNING client, id";

const INSERT_LINES: &str = "INSERT INTO purchase_lines (client, id, n, item, qty, price) \
     SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::int4[], $4::text[], $5::int8[], $6::int8[]) \
     ON CONFLICT (client, id, n) DO NOTHING";

const BUMP_COUNTER: &str = "UPDATE counters SET value = value + $1 WHERE name = $2";

const PURGE: &str = "WITH doomed AS ( \
        SELECT client, id FROM events WHERE received < $1 LIMIT $2 FOR UPDATE SKIP LOCKED), \
     gone AS ( \
        DELETE FROM events e USING doomed d WHERE e.client = d.client AND e.id = d.id RETURNING e.client, e.id), \
     lines AS ( \
        DELETE FROM purchase_lines p USING gone g WHERE p.client = g.client AND p.id = g.id RETURNING 1) \
     SELECT COUNT(*) FROM gone";

const SELECT_EVENTS: &str = "SELECT client, id, site, session, kind, ts, item, category, brand, price, \
     currency, qty, url, slot, rec, dwell_ms, order_id, received, extra FROM events";

/// A PostgreSQL error as a sentence: the server's message and SQLSTATE when it
/// answered, else the client's (connection refused, closed, ...).
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(cause) = src {
                let c = cause.to_string();
                if !s.contains(&c) {
                    s = format!("{s}: {c}");
                }
                src = cause.source();
            }
            s
        }
    }
}

/// `user@host:port/db` (never the password), for messages.
fn describe_target(c: &postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("{user}{host}:{port}/{}", c.get_dbname().unwrap_or(c.get_user().unwrap_or("")))
}

/// A connection that may be dropped anywhere. Dropping the synchronous client
/// blocks on its private runtime, which panics on an async worker thread; there
/// (and on the blocking pool, which cannot be told apart) it is dropped on a
/// thread of its own.
pub(super) struct Conn(Option<Client>);

impl Conn {
    fn get(&mut self) -> &mut Client {
        self.0.as_mut().expect("a connection until dropped")
    }

    fn is_closed(&self) -> bool {
        self.0.as_ref().is_none_or(|c| c.is_closed())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new().name("vitrina-pg-close".into()).spawn(move || drop(c));
            }
        }
    }
}

fn connect(config: &postgres::Config) -> Result<Conn, postgres::Error> {
    config.connect(NoTls).map(|c| Conn(Some(c)))
}

/// The read side: where to connect, and idle read connections.
pub(super) struct Pg {
    config: postgres::Config,
    readers: Mutex<Vec<Conn>>,
}

/// Parses `url`, connects, creates the schema; returns the read side and the
/// writer's connection.
pub(super) fn open(url: &str) -> Result<(Pg, PgWriter), StoreError> {
    let mut config: postgres::Config =
        url.parse().map_err(|e: postgres::Error| StoreError::BadDatabaseUrl(describe(&e)))?;
    if config.get_application_name().is_none() {
        config.application_name("vitrina-server");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let target = describe_target(&config);
    let failed = |e: postgres::Error| StoreError::Connect { target: target.clone(), message: describe(&e) };
    let mut conn = connect(&config).map_err(failed)?;
    {
        let mut tx = conn.get().transaction().map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).map_err(failed)?;
        tx.batch_execute(SCHEMA).map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    let writer = PgWriter::new(conn, config.clone()).map_err(failed)?;
    Ok((Pg { config, readers: Mutex::new(Vec::new()) }, writer))
}

impl Pg {
    /// Runs `f` on an idle read connection (or a new one).
    pub(super) fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let idle = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match idle {
            Some(c) if !c.is_closed() => c,
            _ => connect(&self.config)?,
        };
        let out = f(conn.get());
        if !conn.is_closed() {
            let mut idle = self.readers.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        Ok(out?)
    }

    /// Closes the idle read connections.
    pub(super) fn close_readers(&self) {
        let idle = std::mem::take(&mut *self.readers.lock().unwrap_or_else(|e| e.into_inner()));
        drop(idle);
    }
}

// ---------------------------------------------------------------------------
// The writer.

struct Statements {
    insert_events: Statement,
    insert_lines: Statement,
    bump: Statement,
    purge: Statement,
}

/// The writer thread's connection, reconnected when PostgreSQL restarts.
pub(super) struct PgWriter {
    config: postgres::Config,
    conn: Conn,
    st: Statements,
}

impl PgWriter {
    fn new(mut conn: Conn, config: postgres::Config) -> Result<PgWriter, postgres::Error> {
        let st = Self::prepare(conn.get())?;
        Ok(PgWriter { config, conn, st })
    }

    fn prepare(c: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            insert_events: c.prepare(INSERT_EVENTS)?,
            insert_lines: c.prepare(INSERT_LINES)?,
            bump: c.prepare(BUMP_COUNTER)?,
            purge: c.prepare(PURGE)?,
        })
    }

    /// Reconnects if the connection was lost (the failed group was answered 503
    /// and will be sent again).
    fn ensure(&mut self) -> Result<(), postgres::Error> {
        if self.conn.is_closed() {
            let mut conn = connect(&self.config)?;
            self.st = Self::prepare(conn.get())?;
            self.conn = conn;
        }
        Ok(())
    }

    fn try_write(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>, postgres::Error> {
        self.ensure()?;
        // Every event of the group, sorted by key (stable: for a key sent twice
        // in the group, the first in arrival order is the one inserted).
        let mut rows: Vec<(&super::Ingest, &Event)> =
            jobs.iter().flat_map(|(b, _)| b.events.iter().map(move |e| (b, e))).collect();
        rows.sort_by_key(|(b, e)| (b.client, e.id as i64));
        let n = rows.len();
        let mut client: Vec<&[u8]> = Vec::with_capacity(n);
        let mut id: Vec<i64> = Vec::with_capacity(n);
        let mut site: Vec<&str> = Vec::with_capacity(n);
        let mut session: Vec<i64> = Vec::with_capacity(n);
        let mut kind: Vec<i32> = Vec::with_capacity(n);
        let mut ts: Vec<i64> = Vec::with_capacity(n);
        let mut text: [Vec<Option<&str>>; 8] = Default::default();
        let mut num: [Vec<Option<i64>>; 3] = Default::default();
        let mut received: Vec<i64> = Vec::with_capacity(n);
        let mut extra: Vec<Option<String>> = Vec::with_capacity(n);
        for (b, e) in &rows {
            client.push(&b.client);
            id.push(e.id as i64);
            site.push(&b.site);
            session.push(b.session as i64);
            kind.push(e.kind.code() as i32);
            ts.push(e.ts as i64);
            let texts = [&e.item, &e.category, &e.brand, &e.currency, &e.url, &e.slot, &e.rec, &e.order];
            for (col, v) in text.iter_mut().zip(texts) {
                col.push(v.as_deref());
            }
            for (col, v) in num.iter_mut().zip([e.price, e.qty.map(i64::from), e.dwell_ms.map(i64::from)]) {
                col.push(v);
            }
            received.push(b.received as i64);
            extra.push(Extra::column(e));
        }
        let [item, category, brand, currency, url, slot, rec, order] = &text;
        let [price, qty, dwell] = &num;

        let mut tx = self.conn.0.as_mut().expect("connected").transaction()?;
        let mut inserted: HashSet<([u8; 16], i64)> = HashSet::new();
        if n > 0 {
            let params: [&(dyn ToSql + Sync); 19] = [
                &client, &id, &site, &session, &kind, &ts, item, category, brand, price, currency, qty, url, slot, rec,
                dwell, order, &received, &extra,
            ];
            for r in tx.query(&self.st.insert_events, &params)? {
                let mut c = [0u8; 16];
                let raw: &[u8] = r.get(0);
                if raw.len() == 16 {
                    c.copy_from_slice(raw);
                }
                inserted.insert((c, r.get(1)));
            }
        }
        // Attribute in arrival order: the first occurrence of a stored key is the
        // accepted one, every other is a duplicate.
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut totals = Totals::default();
        let mut l_client: Vec<&[u8]> = Vec::new();
        let (mut l_id, mut l_n, mut l_qty) = (Vec::<i64>::new(), Vec::<i32>::new(), Vec::<i64>::new());
        let (mut l_item, mut l_price) = (Vec::<&str>::new(), Vec::<Option<i64>>::new());
        for (b, _) in jobs {
            let mut o = Outcome::default();
            for e in &b.events {
                if !inserted.remove(&(b.client, e.id as i64)) {
                    o.duplicates += 1;
                    continue;
                }
                o.accepted += 1;
                if e.kind == Kind::Purchase {
                    for (i, l) in e.lines.iter().enumerate() {
                        l_client.push(&b.client);
                        l_id.push(e.id as i64);
                        l_n.push(i as i32);
                        l_item.push(&l.item);
                        l_qty.push(l.qty as i64);
                        l_price.push(l.price);
                    }
                }
            }
            totals.add(b, o);
            outcomes.push(o);
        }
        if !l_client.is_empty() {
            tx.execute(&self.st.insert_lines, &[&l_client, &l_id, &l_n, &l_item, &l_qty, &l_price])?;
        }
        for (name, v) in totals.named() {
            if v > 0 {
                tx.execute(&self.st.bump, &[&(v as i64), &name])?;
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }
}

impl GroupWriter for PgWriter {
    fn write_group(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>, String> {
        self.try_write(jobs).map_err(|e| describe(&e))
    }

    fn purge_chunk(&mut self, cutoff: u64, limit: usize) -> Result<usize, String> {
        let run = |w: &mut PgWriter| -> Result<usize, postgres::Error> {
            w.ensure()?;
            let cutoff = cutoff.min(i64::MAX as u64) as i64;
            let row = w.conn.get().query_one(&w.st.purge, &[&cutoff, &(limit as i64)])?;
            Ok(row.get::<_, i64>(0) as usize)
        };
        run(self).map_err(|e| describe(&e))
    }
}

// ---------------------------------------------------------------------------
// Reads: the PostgreSQL forms of the queries in `store.rs`.

/// `?n` placeholders (SQLite) to `$n` (PostgreSQL).
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn u64_of(r: &Row, i: usize) -> u64 {
    r.get::<_, Option<i64>>(i).unwrap_or(0).max(0) as u64
}

fn kind_of(r: &Row, i: usize) -> Option<Kind> {
    u8::try_from(r.get::<_, i32>(i)).ok().and_then(Kind::from_code)
}

fn read_only(c: &mut Client) -> Result<postgres::Transaction<'_>, postgres::Error> {
    c.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()
}

pub(super) fn query_events(c: &mut Client, q: &EventQuery) -> Result<Vec<StoredEvent>, postgres::Error> {
    let order = "ORDER BY received DESC, ts DESC, id DESC";
    let limit = q.limit as i64;
    let rows = match q.kind {
        Some(k) => {
            let sql = format!("{SELECT_EVENTS} WHERE kind = $1 {order} LIMIT $2");
            c.query(&sql, &[&(k.code() as i32), &limit])?
        }
        None => c.query(&format!("{SELECT_EVENTS} {order} LIMIT $1"), &[&limit])?,
    };
    let opt_u32 = |r: &Row, i: usize| r.get::<_, Option<i64>>(i).map(|v| v as u32);
    Ok(rows
        .iter()
        .map(|r| {
            let mut client = [0u8; 16];
            let raw: &[u8] = r.get(0);
            if raw.len() == 16 {
                client.copy_from_slice(raw);
            }
            let mut event = Event {
                id: r.get::<_, i64>(1) as u64,
                kind: kind_of(r, 4).unwrap_or_default(),
                ts: r.get::<_, i64>(5) as u64,
                item: r.get(6),
                category: r.get(7),
                brand: r.get(8),
                price: r.get(9),
                currency: r.get(10),
                qty: opt_u32(r, 11),
                url: r.get(12),
                slot: r.get(13),
                rec: r.get(14),
                dwell_ms: opt_u32(r, 15),
                order: r.get(16),
                ..Event::default()
            };
            Extra::restore(r.get(18), &mut event);
            StoredEvent {
                client,
                site: r.get(2),
                session: r.get::<_, i64>(3) as u32,
                received: r.get::<_, i64>(17) as u64,
                event,
            }
        })
        .collect())
}

pub(super) fn query_totals(c: &mut Client) -> Result<Totals, postgres::Error> {
    let mut t = Totals::default();
    for r in c.query("SELECT name, value FROM counters", &[])? {
        t.set(r.get(0), r.get::<_, i64>(1) as u64);
    }
    Ok(t)
}

pub(super) fn query_popularity(c: &mut Client) -> Result<Popularity, postgres::Error> {
    let mut tx = read_only(c)?;
    let mut items: HashMap<String, ItemCounts> = HashMap::new();
    // In SQLite's order (its covering index), so `categories` lists alike.
    for r in tx.query(
        "SELECT kind, item, category, COUNT(*) FROM events WHERE item IS NOT NULL \
         GROUP BY kind, item, category ORDER BY kind, item COLLATE \"C\", category COLLATE \"C\" NULLS FIRST",
        &[],
    )? {
        let e = items.entry(r.get(1)).or_default();
        let n = u64_of(&r, 3);
        match kind_of(&r, 0) {
            Some(Kind::ProductView) => e.views += n,
            Some(Kind::CartAdd) => e.carts += n,
            _ => {}
        }
        if let Some(cat) = r.get::<_, Option<String>>(2) {
            if !e.categories.contains(&cat) {
                e.categories.push(cat);
            }
        }
    }
    let (like, unlike) = (Kind::Like.code() as i32, Kind::Unlike.code() as i32);
    for r in tx.query(&dollars(&sql_latest_likes(false)), &[&like, &unlike])? {
        items.entry(r.get(0)).or_default().likes = u64_of(&r, 1);
    }
    for r in tx.query("SELECT item, COUNT(*) FROM purchase_lines GROUP BY item", &[])? {
        items.entry(r.get(0)).or_default().purchases = u64_of(&r, 1);
    }
    tx.commit()?;
    Ok(Popularity { items: items.into_iter().collect() })
}

/// Adds (`sign` = 1) or removes (`sign` = -1) the windowed counts of every
/// client, or of one (the PostgreSQL form of `accumulate_windows`).
fn accumulate_windows(
    tx: &mut postgres::Transaction<'_>,
    client: Option<&[u8]>,
    s: WindowStarts,
    sign: i64,
    items: &mut HashMap<String, WindowAcc>,
) -> Result<(), postgres::Error> {
    let (h, d, w) = (s.hour as i64, s.day as i64, s.week as i64);
    let n = |r: &Row, i: usize| r.get::<_, Option<i64>>(i).unwrap_or(0);
    let rows = match client {
        Some(cl) => tx.query(&dollars(&sql_item_windows(true)), &[&h, &d, &w, &cl])?,
        None => tx.query(&dollars(&sql_item_windows(false)), &[&h, &d, &w])?,
    };
    for r in rows {
        let counts = [n(&r, 3), n(&r, 4), n(&r, 5), n(&r, 6)];
        let e = items.entry(r.get(0)).or_default();
        let target = match kind_of(&r, 1) {
            Some(Kind::ProductView) => Some(&mut e.views),
            Some(Kind::CartAdd) => Some(&mut e.carts),
            _ => None,
        };
        if let Some(t) = target {
            for (t, v) in t.iter_mut().zip(counts) {
                *t += sign * v;
            }
        }
        if let Some(cat) = r.get::<_, Option<String>>(2) {
            match e.categories.iter_mut().find(|(c, _)| *c == cat) {
                Some((_, k)) => *k += sign * counts[0],
                None => e.categories.push((cat, sign * counts[0])),
            }
        }
    }
    let (like, unlike) = (Kind::Like.code() as i32, Kind::Unlike.code() as i32);
    let rows = match client {
        Some(cl) => tx.query(&dollars(&sql_latest_likes(true)), &[&like, &unlike, &cl])?,
        None => tx.query(&dollars(&sql_latest_likes(false)), &[&like, &unlike])?,
    };
    for r in rows {
        items.entry(r.get(0)).or_default().likes += sign * n(&r, 1);
    }
    let rows = match client {
        Some(cl) => tx.query(&dollars(&sql_purchase_windows(true)), &[&h, &d, &w, &cl])?,
        None => tx.query(&dollars(&sql_purchase_windows(false)), &[&h, &d, &w])?,
    };
    for r in rows {
        let e = items.entry(r.get(0)).or_default();
        for (i, t) in e.purchases.iter_mut().enumerate() {
            *t += sign * n(&r, i + 1);
        }
    }
    Ok(())
}

pub(super) fn windowed_popularity(
    c: &mut Client,
    s: WindowStarts,
    rule: FlagRule,
) -> Result<WindowedPopularity, postgres::Error> {
    let mut tx = read_only(c)?;
    let (like, unlike) = (Kind::Like.code() as i32, Kind::Unlike.code() as i32);
    let anonymous: &[u8] = &[0u8; 16];
    let flagged: Vec<Vec<u8>> = tx
        .query(
            &dollars(SQL_FLAGGED),
            &[&like, &unlike, &anonymous, &(rule.events_per_hour as i64), &(rule.likes_per_hour as i64)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut acc: HashMap<String, WindowAcc> = HashMap::new();
    accumulate_windows(&mut tx, None, s, 1, &mut acc)?;
    for client in &flagged {
        accumulate_windows(&mut tx, Some(client), s, -1, &mut acc)?;
    }
    tx.commit()?;
    // As `query_windowed_popularity` finishes.
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

pub(super) fn dashboard(c: &mut Client, q: DashboardQuery) -> Result<DashboardData, postgres::Error> {
    use std::collections::HashSet;
    // The PostgreSQL form of `query_dashboard`: the same single pass over the
    // range, aggregated the same way.
    let mut tx = read_only(c)?;
    let rows = tx.query(
        "SELECT received, kind, client, session, ts, item, slot, price, currency, extra \
         FROM events WHERE received >= $1",
        &[&(q.from as i64)],
    )?;
    tx.commit()?;
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
    let mut terms: HashMap<String, u64> = HashMap::new();
    for r in &rows {
        let received: i64 = r.get(0);
        let kind = r.get::<_, i32>(1) as u8;
        let mut client = [0u8; 16];
        let raw: &[u8] = r.get(2);
        if raw.len() == 16 {
            client.copy_from_slice(raw);
        }
        let session = r.get::<_, i64>(3) as u32;
        let ts: i64 = r.get(4);
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
                if let Some(item) = r.get::<_, Option<&str>>(5) {
                    *viewed.entry(item.to_owned()).or_default() += 1;
                }
            }
            Some(k @ (Kind::Impression | Kind::RecClick)) => {
                let e = slots.entry(r.get(6)).or_default();
                if k == Kind::Impression {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            Some(Kind::Purchase) => {
                let e = revenue.entry(r.get(8)).or_default();
                e.0 += 1;
                e.1 += r.get::<_, Option<i64>>(7).unwrap_or(0);
            }
            Some(Kind::Search) => {
                let extra: Option<String> = r.get(9);
                let extra: Extra = extra.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
                let mut seen: Vec<&String> = Vec::new();
                for t in &extra.terms {
                    if !seen.contains(&t) {
                        seen.push(t);
                        *terms.entry(t.clone()).or_default() += 1;
                    }
                }
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars() {
        assert_eq!(dollars("a = ?1 AND b IN (?2, ?10) AND c = '?'"), "a = $1 AND b IN ($2, $10) AND c = '?'");
    }

    #[test]
    fn targets_never_show_the_password() {
        let c: postgres::Config = "postgres://shop:s3cret@db.internal:6543/vitrina".parse().unwrap();
        assert_eq!(describe_target(&c), "shop@db.internal:6543/vitrina");
        let c: postgres::Config = "host=/run/pg user=v dbname=x password=p".parse().unwrap();
        assert_eq!(describe_target(&c), "v@/run/pg:5432/x");
    }
}
