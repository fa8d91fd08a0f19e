//! SQLite and PostgreSQL answer every read the same on the same data, and several
//! servers can share one PostgreSQL database.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use vitrina::event::{Event, Kind};
use vitrina::ldp;
use vitrina_server::store::{
    DashboardQuery, EventQuery, FlagRule, Ingest, Store, StoreOptions, StoredEvent, WindowStarts,
};

const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Varied data: every kind, lists, props, several sites and receive times, a
/// client sending far too many events (flagged), repeats (duplicates), and
/// likes taken back.
fn dataset(now: u64) -> Vec<Ingest> {
    let mut out = Vec::new();
    let mut add = |c: u8, received: u64, events: Vec<Event>| {
        let site = if c.is_multiple_of(3) { "other-shop" } else { "demo" };
        out.push(Ingest {
            site: site.into(),
            client: client(c),
            session: c as u32 % 4,
            received,
            rejected: c as u32 % 2,
            dropped: c as u32 % 3,
            events,
        });
    };
    for c in 1..=40u8 {
        let age = (c as u64 % 9) * [MIN, HOUR, 2 * HOUR, DAY, 3 * DAY][c as usize % 5];
        let item = |n: u64| format!("SKU-{:03}", (c as u64 * 7 + n) % 13);
        let cat = |n: u64| ["shoes/running", "shoes/trail", "bags", "Bags/Backpacks"][((c as u64 + n) % 4) as usize];
        let mut events = vec![
            Event { url: Some(format!("/p/{c}")), ..Event::new(Kind::PageView, now - age - 5000) }.with_id(1),
            view(2, &item(0), cat(0)),
            view(3, &item(1), cat(1)),
            Event { qty: Some(1 + c as u32 % 3), ..ev(Kind::CartAdd, 4, &item(0)) },
            ev(Kind::Like, 5, &item(2)),
            Event { slot: Some(["for-you", "similar"][c as usize % 2].into()), ..ev(Kind::Impression, 6, &item(3)) },
            Event {
                terms: vec!["trail".into(), format!("t{}", c % 5), "trail".into()],
                ..Event::new(Kind::Search, now)
            }
            .with_id(8),
        ];
        if c % 2 == 0 {
            events.push(ev(Kind::Unlike, 9, &item(2)));
            events.push(Event { slot: Some("similar".into()), ..ev(Kind::RecClick, 10, &item(3)) });
        }
        if c % 3 == 0 {
            let mut p = purchase(11, &[&item(0), &item(4)]);
            p.currency = Some(["EUR", "USD"][c as usize % 2].into());
            events.push(p);
        }
        if c % 5 == 0 {
            events.push(Event {
                id: (7 << 32) | 12,
                name: Some("newsletter".into()),
                props: vec![("plan".into(), "pro".into()), ("plan".into(), "max".into()), ("x".into(), String::new())],
                ..Event::new(Kind::Custom, now - age)
            });
        }
        for e in &mut events {
            e.ts = e.ts.min(now - age);
        }
        add(c, now - age, events.clone());
        if c % 4 == 0 {
            add(c, now - age + 1000, events); // sent again: duplicates
        }
    }
    // A client far over any plausible rate within one hour: flagged.
    add(99, now - 10 * MIN, (0..300).map(|i| view(1000 + i, "SKU-BOT", "bags")).collect());
    add(99, now - 10 * MIN, (0..40).map(|i| ev(Kind::Like, 2000 + i, &format!("SKU-{:03}", i % 13))).collect());
    // The anonymous client id (all zero) is never flagged.
    out.push(Ingest {
        site: "demo".into(),
        client: [0; 16],
        received: now - 5 * MIN,
        events: (0..300).map(|i| view(i, "SKU-ANON", "bags")).collect(),
        ..Ingest::default()
    });
    // LDP reports (`docs/ldp.md`): 30 well-formed ones from client zero, one
    // malformed (no `e`), and one under a client id (not counted). Stored directly:
    // `/v1/collect` would refuse the last two.
    let mut x: u32 = 12345;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let signals = [ldp::Signal::Like, ldp::Signal::Unlike, ldp::Signal::View];
    let mut reports: Vec<Event> = (0..30u64)
        .map(|i| {
            let r = ldp::report(&format!("SKU-{:03}", i % 13), [1.0, 4.0][i as usize % 2], &mut rand);
            ldp::to_event(&r, signals[i as usize % 3], now - 2 * DAY).with_id((8 << 32) | i)
        })
        .collect();
    let mut malformed = reports[0].clone().with_id((8 << 32) | 99);
    malformed.props.retain(|(k, _)| k != "e");
    reports.push(malformed);
    out.push(Ingest {
        site: "demo".into(),
        client: [0; 16],
        received: now - 2 * DAY,
        events: reports.clone(),
        ..Ingest::default()
    });
    out.push(Ingest {
        site: "demo".into(),
        client: client(7),
        received: now - 2 * DAY,
        events: reports[..1].to_vec(),
        ..Ingest::default()
    });
    out
}

async fn open(b: Backend, dir: &std::path::Path) -> Store {
    let url = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_database("parity").await),
    };
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || match url {
        Some(u) => Store::open_postgres(&u, StoreOptions::default()),
        None => Store::open_sqlite(&dir, StoreOptions::default()),
    })
    .await
    .unwrap()
    .expect("store opens")
}

fn sorted(mut v: Vec<StoredEvent>) -> Vec<StoredEvent> {
    v.sort_by_key(|e| (e.client, e.event.id));
    v
}

#[tokio::test]
async fn both_backends_answer_every_read_the_same() {
    let dir = TempDir::new("parity");
    let (sqlite, pg) =
        (open(Backend::Sqlite, &dir.path().join("data")).await, open(Backend::Postgres, dir.path()).await);
    assert_eq!((sqlite.backend_name(), pg.backend_name()), ("sqlite", "postgres"));
    let now = now_ms();
    for batch in dataset(now) {
        let (a, b) = (sqlite.ingest(batch.clone()).await.unwrap(), pg.ingest(batch).await.unwrap());
        assert_eq!(a, b, "same accepted / duplicates");
    }

    let all = EventQuery { limit: 100_000, kind: None };
    let (a, b) = (sqlite.events(all.clone()).await.unwrap(), pg.events(all).await.unwrap());
    assert!(a.len() > 600, "{}", a.len());
    assert_eq!(sorted(a.clone()), sorted(b.clone()), "events");
    // Newest first on both (ties broken alike up to equal (received, ts, id)).
    let key = |e: &StoredEvent| (e.received, e.event.ts, e.event.id);
    assert_eq!(a.iter().map(key).collect::<Vec<_>>(), b.iter().map(key).collect::<Vec<_>>());
    for kind in [Kind::Purchase, Kind::Custom, Kind::Search] {
        let q = EventQuery { limit: 7, kind: Some(kind) };
        let (a, b) = (sqlite.events(q.clone()).await.unwrap(), pg.events(q).await.unwrap());
        assert_eq!(a.iter().map(key).collect::<Vec<_>>(), b.iter().map(key).collect::<Vec<_>>(), "{kind:?}");
    }
    assert_eq!(sqlite.totals().await.unwrap(), pg.totals().await.unwrap(), "totals");
    assert_eq!(*sqlite.popularity().await.unwrap(), *pg.popularity().await.unwrap(), "popularity");
    for cap in [1000, 5] {
        let (a, b) = (sqlite.ldp_inputs(cap).await.unwrap(), pg.ldp_inputs(cap).await.unwrap());
        assert_eq!((a.reports.len(), a.malformed), (30, 1), "client zero's reports only");
        assert_eq!(a.candidates.len() as u64 + a.candidates_dropped, 15, "13 SKUs, the bot's, the anonymous one");
        assert_eq!(a.candidates.len(), 15.min(cap));
        assert_eq!(a, b, "LDP inputs, at most {cap} candidates");
    }

    let rule = FlagRule { events_per_hour: 200, likes_per_hour: 30 };
    for starts in [WindowStarts::ending_at(now), WindowStarts::ending_at(now - 2 * DAY)] {
        let (a, b) = (
            sqlite.windowed_popularity(starts, rule).await.unwrap(),
            pg.windowed_popularity(starts, rule).await.unwrap(),
        );
        assert_eq!(a.flagged_clients, 1, "the bot, not the anonymous id");
        assert!(a.items.len() > 10 && a.items.contains_key("SKU-ANON") && !a.items.contains_key("SKU-BOT"));
        assert_eq!(a, b, "windowed popularity from {starts:?}");
    }
    for q in [
        DashboardQuery { from: now - 7 * DAY, bucket_ms: DAY, shift_ms: 2 * HOUR as i64 },
        DashboardQuery { from: now - DAY, bucket_ms: HOUR, shift_ms: -(5 * HOUR as i64) },
        DashboardQuery { from: now + DAY, bucket_ms: HOUR, shift_ms: 0 },
    ] {
        let (a, b) = (sqlite.dashboard(q).await.unwrap(), pg.dashboard(q).await.unwrap());
        if q.from < now {
            assert!(!a.series.is_empty() && !a.revenue.is_empty() && !a.slots.is_empty() && !a.top_terms.is_empty());
        }
        assert_eq!(a, b, "dashboard {q:?}");
    }

    // Retention deletes the same events.
    let cutoff = now - DAY;
    assert_eq!(sqlite.purge_before(cutoff).await.unwrap(), pg.purge_before(cutoff).await.unwrap());
    let all = EventQuery { limit: 100_000, kind: None };
    assert_eq!(sorted(sqlite.events(all.clone()).await.unwrap()), sorted(pg.events(all).await.unwrap()));
    assert_eq!(*sqlite.popularity().await.unwrap(), *pg.popularity().await.unwrap(), "popularity after retention");
    let (a, b) = (sqlite.ldp_inputs(1000).await.unwrap(), pg.ldp_inputs(1000).await.unwrap());
    assert_eq!(a.reports.len(), 0, "the reports were received two days ago");
    assert_eq!(a, b, "LDP inputs after retention");
    sqlite.close().await.unwrap();
    pg.close().await.unwrap();
}

#[tokio::test]
async fn two_servers_share_one_postgres_database() {
    let url = fresh_database("shared").await;
    let tweak = |u: String| {
        move |c: &mut vitrina_server::Config| {
            c.database = Some(u);
            c.min_count = 1;
        }
    };
    let (one, _d1) = start_with(tweak(url.clone())).await;
    let (two, _d2) = start_with(tweak(url.clone())).await;
    let (a, b) = (one.local_addr(), two.local_addr());

    // Dedup across servers: the batch stored by one is a duplicate at the other.
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    assert_eq!(post_ok(b, &sample(1)).await, (0, 5, 0));

    // The same batches sent to both at once: each event stored exactly once.
    let mut tasks = Vec::new();
    for c in 10..40u8 {
        let body = batch(c, (0..20).map(|i| view(i, &format!("SKU-{}", i % 5), "shoes")).collect());
        for addr in [a, b] {
            let body = body.clone();
            tasks.push(tokio::spawn(async move { post_ok(addr, &body).await }));
        }
    }
    let (mut accepted, mut duplicates) = (0, 0);
    for t in tasks {
        let (acc, dup, _) = t.await.unwrap();
        accepted += acc;
        duplicates += dup;
    }
    assert_eq!((accepted, duplicates), (30 * 20, 30 * 20));
    for addr in [a, b] {
        let s = admin_get(addr, "/v1/stats").await.json();
        assert_eq!(s["totals"]["accepted"], json!(5 + 600), "totals live in the database");
        assert_eq!(s["totals"]["duplicates"], json!(5 + 600));
        assert_eq!(stored_events(addr).await.len(), 605);
    }

    // Popularity: what one server stored shows at the other (its cache expires
    // even though it stored nothing itself).
    let views = |j: serde_json::Value| j["items"]["LATE"]["views"].as_u64();
    assert_eq!(views(get(b, "/v1/popularity").await.json()), None);
    post_ok(a, &batch(50, vec![view(1, "LATE", "bags")])).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while views(get(b, "/v1/popularity").await.json()) != Some(1) {
        assert!(Instant::now() < deadline, "server two never saw server one's event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    one.stop().await.unwrap();
    two.stop().await.unwrap();
}

#[tokio::test]
async fn the_server_reconnects_when_postgres_drops_its_connections() {
    let url = fresh_database("reconnect").await;
    let db = url.rsplit('/').next().unwrap().to_owned();
    let (srv, _dir) = start_with({
        let url = url.clone();
        move |c| c.database = Some(url)
    })
    .await;
    let a = srv.local_addr();
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    assert_eq!(stored_events(a).await.len(), 5);

    // As a PostgreSQL restart or failover would: every connection to the database dies.
    let admin = url.replace(&format!("/{db}"), "/postgres");
    let killed = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        let sql = "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1";
        c.query_one(sql, &[&db]).unwrap().get::<_, i64>(0)
    })
    .await
    .unwrap();
    assert!(killed >= 2, "the writer's and a reader's connections: {killed}");

    // A batch in flight then fails with 503 (the client retries it); the next
    // one goes through on a new connection.
    let mut answers = Vec::new();
    loop {
        let r = post(a, &sample(2)).await;
        answers.push(r.status);
        if r.status == 200 {
            assert_eq!(r.json()["accepted"], json!(5));
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(answers.len() < 3, "no reconnection: {answers:?}");
    }
    // Reads recover too (an idle reader found dead is replaced).
    let mut tries = 0;
    loop {
        let r = admin_get(a, "/v1/events?limit=100").await;
        if r.status == 200 {
            assert_eq!(r.json()["events"].as_array().unwrap().len(), 10);
            break;
        }
        tries += 1;
        assert!(tries < 3, "{}", r.text());
    }
    srv.stop().await.unwrap();
}
