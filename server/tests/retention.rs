//! Retention: events received before the cutoff are deleted, with their purchase
//! lines, in chunks, by the writer; on both backends; and from SQLite's files.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use vitrina::event::Kind;
use vitrina_server::store::{EventQuery, Ingest, Store, StoreOptions};

const DAY: u64 = 86_400_000;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn ingest(client_n: u8, received: u64, events: Vec<vitrina::event::Event>) -> Ingest {
    Ingest { site: "demo".into(), client: client(client_n), session: 1, received, events, ..Ingest::default() }
}

/// Opens a store of backend `b` (on the blocking pool: the PostgreSQL client
/// must not start on an async worker).
async fn open(b: Backend, dir: &Path, opts: StoreOptions) -> Store {
    let url = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database("retention").await),
    };
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || match url {
        Some(u) => Store::open_postgres(&u, opts),
        None => Store::open_sqlite(&dir, opts),
    })
    .await
    .unwrap()
    .expect("store opens")
}

async fn all_events(s: &Store) -> Vec<vitrina_server::store::StoredEvent> {
    s.events(EventQuery { limit: 100_000, kind: None }).await.unwrap()
}

/// Deletes exactly what is older than the cutoff, purchase lines included, in
/// chunks, while batches keep being written between the chunks.
async fn purge_deletes_old_events_and_their_lines(b: Backend) {
    let dir = TempDir::new("purge");
    let opts = StoreOptions { purge_chunk: 7, ..StoreOptions::default() };
    let store = open(b, &dir.path().join("data"), opts).await;
    let now = now_ms();
    // 60 old events over 3 clients (chunks of 7: 9 chunks), 2 of them purchases.
    for c in 1..=3u8 {
        let mut events: Vec<_> = (0..19).map(|i| view(i, &format!("OLD-{c}-{i}"), "shoes")).collect();
        events.push(purchase(100, &["OLD-LINE-A", "OLD-LINE-B"]));
        assert_eq!(store.ingest(ingest(c, now - 200 * DAY, events)).await.unwrap().accepted, 20);
    }
    let fresh = vec![view(1, "NEW", "shoes"), purchase(2, &["NEW-LINE"])];
    store.ingest(ingest(9, now - DAY, fresh)).await.unwrap();

    // A purge and new batches at once: both complete, in any interleaving.
    let (purged, written) = tokio::join!(store.purge_before(now - 180 * DAY), async {
        let mut n = 0;
        for i in 0..20u64 {
            n += store.ingest(ingest(10, now, vec![view(i, "DURING", "shoes")])).await.unwrap().accepted;
        }
        n
    });
    assert_eq!((purged.unwrap(), written), (60, 20));
    let left = all_events(&store).await;
    assert_eq!(left.len(), 2 + 20);
    assert!(left.iter().all(|e| e.received >= now - DAY));
    let pop = store.popularity().await.unwrap();
    assert!(!pop.items.keys().any(|k| k.starts_with("OLD")), "old purchase lines are gone too: {:?}", pop.items.keys());
    assert_eq!(pop.items["NEW-LINE"].purchases, 1);
    assert_eq!(store.writer_stats().purged, 60);
    // Nothing left to delete; the totals (aggregates, no personal data) stay.
    assert_eq!(store.purge_before(now - 180 * DAY).await.unwrap(), 0);
    assert_eq!(store.totals().await.unwrap().accepted, 60 + 2 + 20);
    store.close().await.unwrap();
}

/// The server deletes on its own: at start, then every `retention_every`.
async fn the_server_purges_periodically(b: Backend) {
    let (srv, _dir) = start_on_with(b, |c| {
        c.retention = Some(Duration::from_millis(1500));
        c.retention_every = Duration::from_millis(100);
    })
    .await;
    let a = srv.local_addr();
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(post_ok(a, &batch(2, vec![view(1, "KEPT", "shoes")])).await, (1, 0, 0));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let events = stored_events(a).await;
        if events.len() == 1 {
            assert_eq!(events[0]["item"], json!("KEPT"));
            break;
        }
        assert!(Instant::now() < deadline, "old events still there: {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = admin_get(a, "/v1/stats").await.json();
    assert_eq!(stats["writer"]["purged"], json!(5));
    // A deleted event is gone: sent again, it is stored again (as new).
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    srv.stop().await.unwrap();
}

/// At start, events already past retention are deleted before long.
async fn retention_runs_at_start(b: Backend) {
    let dir = TempDir::new("at-start");
    let data = dir.path().join("data");
    let url = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database("atstart").await),
    };
    {
        let (u, d) = (url.clone(), data.clone());
        let store = tokio::task::spawn_blocking(move || match u {
            Some(u) => Store::open_postgres(&u, StoreOptions::default()),
            None => Store::open_sqlite(&d, StoreOptions::default()),
        })
        .await
        .unwrap()
        .unwrap();
        let now = now_ms();
        store.ingest(ingest(1, now - 181 * DAY, vec![view(1, "EXPIRED", "shoes")])).await.unwrap();
        store.ingest(ingest(2, now - 179 * DAY, vec![view(1, "NOT-YET", "shoes")])).await.unwrap();
        store.close().await.unwrap();
    }
    // The default: 180 days, checked at start.
    let (srv, _d) = start_with(move |c| {
        c.data_dir = data;
        c.database = url;
    })
    .await;
    let a = srv.local_addr();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored_events(a).await.len() != 1 {
        assert!(Instant::now() < deadline, "the expired event was not deleted at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stored_events(a).await[0]["item"], json!("NOT-YET"));
    srv.stop().await.unwrap();
}

on_both_backends!(purge_deletes_old_events_and_their_lines, the_server_purges_periodically, retention_runs_at_start);

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn files_contain(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read(e.path()).is_ok_and(|b| contains(&b, needle.as_bytes())))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// SQLite keeps deleted rows in free pages and in the WAL unless told otherwise:
/// retention overwrites them (`secure_delete`) and truncates the WAL.
#[tokio::test]
async fn sqlite_deleted_events_are_gone_from_the_files() {
    let dir = TempDir::new("secure-delete");
    let data = dir.path().join("data");
    let store = Store::open_sqlite(&data, StoreOptions::default()).unwrap();
    let now = now_ms();
    let secret = "SKU-WHAT-SHOPPER-42-LOOKED-AT";
    let old: Vec<_> = (0..50).map(|i| view(i, secret, "private/category-x")).collect();
    store.ingest(ingest(1, now - 365 * DAY, old)).await.unwrap();
    store.ingest(ingest(2, now, vec![view(1, "SKU-KEPT", "shoes")])).await.unwrap();
    assert!(!files_contain(&data, secret).is_empty(), "the event is on disk before");
    assert_eq!(store.purge_before(now - 180 * DAY).await.unwrap(), 50);
    assert_eq!(files_contain(&data, secret), Vec::<String>::new(), "no file holds the deleted item any more");
    assert_eq!(files_contain(&data, "private/category-x"), Vec::<String>::new());
    assert!(!files_contain(&data, "SKU-KEPT").is_empty(), "kept events are still there");
    store.close().await.unwrap();
    drop(store);
    assert_eq!(files_contain(&data, secret), Vec::<String>::new());
    let reopened = Store::open_sqlite(&data, StoreOptions::default()).unwrap();
    assert_eq!(all_events(&reopened).await.len(), 1);
    assert_eq!(reopened.events(EventQuery { limit: 10, kind: Some(Kind::ProductView) }).await.unwrap().len(), 1);
    reopened.close().await.unwrap();
}
