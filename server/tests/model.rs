//! The public model: `eval`, `model build` (sessions file and stored events),
//! `GET /v1/model/head` and shards, rebuilds while ingest goes on.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vitrina::codec::{b64_decode, encode, Batch};
use vitrina::event::{Event, Kind};
use vitrina::model::{shard_of, BuildParams, Model, ModelBuilder};
use vitrina_server::model_srv::{self, sku_id, Collected, ModelOptions};
use vitrina_server::store::{Ingest, ModelRow, Store, StoreOptions};
use vitrina_server::RateLimit;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_sessions(path: &Path, sessions: &[Vec<u32>]) {
    let text: String =
        sessions.iter().map(|s| s.iter().map(u32::to_string).collect::<Vec<_>>().join(" ") + "\n").collect();
    std::fs::write(path, text).unwrap();
}

/// Sessions with structure: item `i` is mostly followed by `i + 1` (within a
/// block of 10), sometimes by a random item.
fn structured_sessions(n: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut x = seed.max(1);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let len = 2 + next() % 5;
            let mut it = 1 + (next() % 60) as u32;
            let mut s = vec![it];
            for _ in 1..len {
                it = if next() % 4 == 0 { 1 + (next() % 60) as u32 } else { it / 10 * 10 + (it % 10 + 1) % 10 };
                s.push(it.max(1));
            }
            s
        })
        .collect()
}

/// Decodes a head JSON and every shard it names, merged.
fn merge_files(dir: &Path, version: &str, shards: u32) -> Model {
    let vdir = dir.join(version);
    let mut m = Model::decode(&std::fs::read(vdir.join("head.bin")).unwrap()).unwrap();
    for i in 0..shards {
        let s = Model::decode(&std::fs::read(vdir.join(format!("shard-{i}.bin"))).unwrap()).unwrap();
        assert!(s.items().iter().all(|&it| shard_of(it, shards) == i), "shard {i} holds only its items");
        m.merge(&s);
    }
    m
}

// ---------------------------------------------------------------------------
// Ids.

#[test]
fn sku_ids_are_32_bit_fnv1a_of_the_utf8_bytes() {
    // Published FNV-1a test vectors.
    assert_eq!(sku_id(""), 0x811c_9dc5);
    assert_eq!(sku_id("a"), 0xe40c_292c);
    assert_eq!(sku_id("foobar"), 0xbf9c_f968);
    // UTF-8 bytes, not chars.
    let mut h: u32 = 0x811c_9dc5;
    for b in "zapatilla-ñ".bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    assert_eq!(sku_id("zapatilla-ñ"), h);
    assert_eq!(sku_id("SKU-001"), vitrina::recommend::sku_id("SKU-001"), "the browser's function");
}

// ---------------------------------------------------------------------------
// eval.

#[test]
fn eval_prints_one_json_object_with_accuracy_and_costs() {
    let dir = TempDir::new("eval-cli");
    let (train, test) = (dir.path().join("train.txt"), dir.path().join("test.txt"));
    write_sessions(&train, &structured_sessions(400, 7));
    write_sessions(&test, &[vec![1, 2, 3], vec![11, 12], vec![999, 21, 22]]);
    let (code, out, err) = run(&[
        "eval",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "neighbours=10",
        "shards=4",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("eval: built the model"), "progress goes to stderr: {err}");
    assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    // 999 was never trained on: removed, leaving [21, 22]. Cases: 2 + 1 + 1.
    assert_eq!(v["cases"], 4);
    assert_eq!(v["test_sessions"], 3);
    for key in ["hr20", "mrr20", "us_per_case", "us_p99", "bytes_per_item", "bytes_per_session_touched"] {
        assert!(v[key].as_f64().is_some(), "{key} in {v}");
    }
    for key in ["model_bytes", "head_bytes", "model_items", "model_entries", "shard_bytes", "train_sessions"] {
        assert!(v[key].as_u64().is_some_and(|n| n > 0), "{key} in {v}");
    }
    assert!(v["hr20"].as_f64().unwrap() >= 75.0, "the structure is learned: {v}");
    assert_eq!(v["roundtrip_exact"], true);
    assert_eq!(v["params"]["neighbours"], 10);
    assert_eq!(v["params"]["shards"], 4);

    // --quiet, and --save-model writes the model built from --train.
    let saved = dir.path().join("model.bin");
    let (code, _, err) = run(&[
        "eval",
        "--quiet",
        "--save-model",
        saved.to_str().unwrap(),
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    let m = Model::decode(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(m, ModelBuilder::from_sessions(&structured_sessions(400, 7), BuildParams::default()));
}

#[test]
fn eval_refuses_bad_arguments() {
    let dir = TempDir::new("eval-bad");
    let f = dir.path().join("s.txt");
    write_sessions(&f, &[vec![1, 2]]);
    let f = f.to_str().unwrap();
    let (code, out, err) = run(&["eval", "--train", f, "--test", f, "nope=1"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("unknown parameter \"nope\""), "{err}");
    let (code, _, err) = run(&["eval", "--train", f, "--test", f, "window"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["eval", "--train", "/nonexistent/train.txt", "--test", f]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/train.txt"), "{err}");
    let (code, _, _) = run(&["eval", "--train", f]);
    assert_eq!(code, 2, "--test is required");
}

// ---------------------------------------------------------------------------
// model build from a sessions file.

#[test]
fn model_build_from_a_sessions_file_writes_a_versioned_sharded_model() {
    let dir = TempDir::new("build-file");
    let file = dir.path().join("sessions.txt");
    let sessions = structured_sessions(600, 3);
    write_sessions(&file, &sessions);
    let out = dir.path().join("model");
    let args = ["model", "build", "--sessions", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--json"];
    let (code, stdout, err) = run(&[&args[..], &["--shards", "5", "neighbours=20"]].concat());
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(stdout.trim()).unwrap();
    let version = s["version"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 12);
    assert_eq!(
        (s["shards"].as_u64(), s["changed"].as_bool(), s["source"].as_str()),
        (Some(5), Some(true), Some("sessions"))
    );
    assert_eq!(s["sessions"], 600);
    assert_eq!(std::fs::read_to_string(out.join("current")).unwrap().trim(), version);

    // The files are the model, exactly.
    let want = ModelBuilder::from_sessions(&sessions, BuildParams { neighbours: 20, ..BuildParams::default() });
    assert_eq!(merge_files(&out, &version, 5), want);
    let sizes: Vec<u64> =
        (0..5).map(|i| std::fs::metadata(out.join(&version).join(format!("shard-{i}.bin"))).unwrap().len()).collect();
    let head = std::fs::metadata(out.join(&version).join("head.bin")).unwrap().len();
    assert_eq!(s["bytes"].as_u64().unwrap(), head + sizes.iter().sum::<u64>());
    assert_eq!(s["shard_min"].as_u64(), sizes.iter().min().copied());
    assert_eq!(s["shard_max"].as_u64(), sizes.iter().max().copied());
    assert_eq!(s["items"].as_u64(), Some(want.len() as u64));
    let meta: Value = serde_json::from_slice(&std::fs::read(out.join(&version).join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta["version"].as_str(), meta["shards"].as_u64()), (Some(version.as_str()), Some(5)));
    assert_eq!(meta["params"]["neighbours"], 20);

    // Same input, same version: nothing new is written.
    let (code, stdout, _) = run(&[&args[..], &["--shards", "5", "neighbours=20"]].concat());
    assert_eq!(code, 0);
    let again: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((again["version"].as_str(), again["changed"].as_bool()), (Some(version.as_str()), Some(false)));

    // Other parameters, another version; auto shards for a small model: 1.
    let (code, stdout, _) = run(&args);
    assert_eq!(code, 0);
    let other: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_ne!(other["version"].as_str(), Some(version.as_str()));
    let auto = model_srv::auto_shards(&ModelBuilder::from_sessions(&sessions, BuildParams::default()));
    assert_eq!(other["shards"].as_u64(), Some(auto as u64));
    assert!(other["shard_median"].as_u64().unwrap() <= 4096, "{other}");
    assert!(out.join(&version).is_dir(), "the previous version is kept");

    // Text summary without --json.
    let (code, stdout, _) = run(&args[..6]);
    assert_eq!(code, 0);
    assert!(stdout.contains("bytes in all") && stdout.contains("(min / median / max)"), "{stdout}");

    // Only build parameters are accepted.
    let (code, _, err) = run(&[&args[..], &["repeat=2"]].concat());
    assert_eq!(code, 2);
    assert!(err.contains("not a build parameter"), "{err}");
}

#[test]
fn old_versions_are_pruned_but_current_and_recent_ones_stay() {
    let dir = TempDir::new("prune");
    let out = dir.path().join("model");
    // Directories this module did not write are never deleted.
    for other in ["2024", "abcdefabcdef"] {
        std::fs::create_dir_all(out.join(other)).unwrap();
    }
    let mut versions = Vec::new();
    for n in 0..4u32 {
        let m = Model::from_lists(vec![(1, vec![(2 + n, 1.0)])], vec![(1, 1.0)]);
        let p = model_srv::package(&m, 2, "test", &BuildParams::default(), 0);
        assert!(model_srv::write_package(&out, &p, 2).unwrap());
        versions.push(p.version);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(model_srv::current_version(&out).as_deref(), Some(versions[3].as_str()));
    let kept: BTreeSet<bool> = versions.iter().map(|v| out.join(v).is_dir()).collect();
    assert_eq!(kept.len(), 2);
    assert!(!out.join(&versions[0]).exists() && !out.join(&versions[1]).exists());
    assert!(out.join(&versions[2]).is_dir() && out.join(&versions[3]).is_dir());
    assert!(out.join("2024").is_dir() && out.join("abcdefabcdef").is_dir());
    // A damaged version is refused when loaded.
    let l = model_srv::load_version(&out, &versions[3]).unwrap();
    assert_eq!(l.shards.len(), 2);
    let shard = out.join(&versions[3]).join("shard-0.bin");
    let mut bytes = std::fs::read(&shard).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&shard, bytes).unwrap();
    assert!(model_srv::load_version(&out, &versions[3]).unwrap_err().contains("do not match"));
    assert!(model_srv::load_version(&out, "../etc").is_err());
}

// ---------------------------------------------------------------------------
// Sessions from stored events.

fn row<'a>(client: &'a [u8], session: u32, item: &'a str, received: u64) -> ModelRow<'a> {
    ModelRow { client, session, item, received }
}

#[test]
fn events_need_enough_clients_for_items_and_pairs() {
    let opts =
        ModelOptions { min_clients: 3, half_life_days: 0.0, popular_half_life_days: 0.0, ..ModelOptions::default() };
    let mut c = Collected::new(None);
    // Three clients view A then B; one of them also Z after A; two view A then C.
    for n in 0..3u8 {
        let cl = [n; 16];
        for (i, it) in ["A", "B"].iter().enumerate() {
            assert!(c.push(row(&cl, 1, it, T + i as u64)));
        }
    }
    for it in ["A", "Z"] {
        c.push(row(&[0; 16], 2, it, T));
    }
    for n in 10..12u8 {
        for it in ["A", "C"] {
            c.push(row(&[n; 16], 1, it, T));
        }
    }
    // C is seen by 3 clients (with this one), but the pair A-C by 2 only.
    c.push(row(&[20; 16], 1, "C", T));
    c.push(row(&[20; 16], 1, "B", T));
    assert_eq!(c.rows(), 14);
    let m = model_srv::build_from_events(&c, &opts);
    let (a, b, cc, z) = (sku_id("A"), sku_id("B"), sku_id("C"), sku_id("Z"));
    assert_eq!(m.neighbours(a).unwrap().0, &[b], "A-B has 3 clients, A-C 2, A-Z 1");
    assert!(m.neighbours(z).is_none() && !m.popular().iter().any(|p| p.0 == z), "Z: one client");
    assert!(m.popular().iter().any(|p| p.0 == cc), "C: three clients");
    assert!(m.neighbours(cc).is_none(), "C-A has 2 clients, C-B 1");

    // With a threshold of 1 everything is in.
    let one = model_srv::build_from_events(&c, &ModelOptions { min_clients: 1, ..opts.clone() });
    let (nbr, _) = one.neighbours(a).unwrap();
    assert!(nbr.contains(&b) && nbr.contains(&cc) && nbr.contains(&z));
}

#[test]
fn sessions_are_per_client_and_session_and_recency_is_in_days() {
    let opts =
        ModelOptions { min_clients: 1, half_life_days: 1.0, popular_half_life_days: 0.0, ..ModelOptions::default() };
    const DAY: u64 = 86_400_000;
    let mut c = Collected::new(None);
    // An old session says A → B, a recent one A → C; a session boundary between
    // X and A (same client, next session) makes no pair.
    for n in 0..3u8 {
        for (s, items, at) in [(1, ["A", "B"], T), (2, ["A", "C"], T + 10 * DAY), (3, ["X", "X"], T)] {
            for it in items {
                c.push(row(&[n; 16], s, it, at));
            }
        }
        c.push(row(&[n; 16], 4, "A", T + 10 * DAY));
    }
    let m = model_srv::build_from_events(&c, &opts);
    let (a, b, cc, x) = (sku_id("A"), sku_id("B"), sku_id("C"), sku_id("X"));
    let (nbr, wt) = m.neighbours(a).unwrap();
    let w = |it: u32| nbr.iter().position(|&n| n == it).map(|i| wt[i]).unwrap_or(0.0);
    assert!(w(cc) > 100.0 * w(b), "ten half-lives apart: {nbr:?} {wt:?}");
    assert!(m.neighbours(x).is_none(), "no pair across sessions");
    // Equal data, equal model: age counts from the newest event, not the clock.
    assert_eq!(model_srv::build_from_events(&c, &opts), m);
}

fn session_batch(client_n: u8, session: u32, items: &[&str]) -> Vec<u8> {
    let events = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let kind = if i % 3 == 2 { Kind::CartAdd } else { Kind::ProductView };
            Event {
                id: (session as u64) << 32 | i as u64,
                item: Some((*it).into()),
                ..Event::new(kind, T + i as u64 * 1000)
            }
        })
        .collect();
    encode(&Batch { site: "demo".into(), client: client(client_n), session, dropped: 0, events })
}

#[tokio::test]
async fn model_build_reads_the_database_of_a_running_server() {
    let (server, dir) = start_with(|c| c.model.every = Duration::ZERO).await;
    let a = server.local_addr();
    for n in 1..=4 {
        post_ok(a, &session_batch(n, 1, &["RUN-1", "RUN-2", "SOCK-1"])).await;
    }
    // A purchase: its lines are session items.
    for n in 1..=3 {
        let p = Event {
            id: 9 << 32,
            order: Some(format!("O-{n}")),
            price: Some(100),
            currency: Some("EUR".into()),
            lines: ["TENT-1", "MAT-1"]
                .iter()
                .map(|i| vitrina::event::Line { item: (*i).into(), qty: 1, price: Some(50) })
                .collect(),
            ..Event::new(Kind::Purchase, T)
        };
        post_ok(a, &encode(&Batch { site: "demo".into(), client: client(n), session: 9, dropped: 0, events: vec![p] }))
            .await;
    }
    let data = dir.path().join("data");
    let (code, out, err) = tokio::task::spawn_blocking({
        let data = data.clone();
        move || run(&["model", "build", "--data", data.to_str().unwrap(), "--json"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (s["source"].as_str(), s["clients"].as_u64(), s["sessions"].as_u64()),
        (Some("events"), Some(4), Some(7))
    );
    assert_eq!(s["rows"], 4 * 3 + 3 * 2);
    let version = s["version"].as_str().unwrap();
    let m = merge_files(&data.join("model"), version, s["shards"].as_u64().unwrap() as u32);
    let nbr = |sku: &str| m.neighbours(sku_id(sku)).map(|(n, _)| n.to_vec()).unwrap_or_default();
    assert!(nbr("RUN-1").contains(&sku_id("RUN-2")));
    assert_eq!(nbr("TENT-1"), vec![sku_id("MAT-1")]);
    // The running server picks up a model another process wrote.
    let head = get(a, "/v1/model/head").await;
    assert_eq!(head.status, 200, "{}", head.text());
    assert_eq!(head.json()["version"].as_str(), Some(version));
    server.stop().await.unwrap();

    // No database: a clear error.
    let (code, _, err) = run(&["model", "build", "--data", dir.path().join("nope").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("no database at"), "{err}");
}

#[tokio::test]
async fn model_build_reads_postgres() {
    let url = fresh_database("model_build").await;
    let (server, dir) = start_with({
        let url = url.clone();
        move |c| {
            c.database = Some(url);
            c.model.every = Duration::ZERO;
        }
    })
    .await;
    for n in 1..=2 {
        post_ok(server.local_addr(), &session_batch(n, 1, &["PG-1", "PG-2"])).await;
    }
    let out = dir.path().join("pg-model");
    let (code, stdout, err) = tokio::task::spawn_blocking({
        let out = out.clone();
        move || run(&["model", "build", "--database", &url, "--out", out.to_str().unwrap(), "--json"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((s["clients"].as_u64(), s["rows"].as_u64()), (Some(2), Some(4)));
    let m = merge_files(&out, s["version"].as_str().unwrap(), s["shards"].as_u64().unwrap() as u32);
    assert_eq!(nbrs(&m, "PG-1"), vec![sku_id("PG-2")]);
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------
// Serving and rebuilding.

async fn admin_post(addr: SocketAddr, path: &str) -> Resp {
    let auth = format!("Bearer {TOKEN}");
    request(addr, "POST", path, &[("Authorization", &auth)], b"").await
}

/// Fetches the head and every shard over HTTP and merges them.
async fn fetch_model(a: SocketAddr) -> (Value, Model) {
    let r = get(a, "/v1/model/head").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let head = r.json();
    let version = head["version"].as_str().unwrap().to_owned();
    assert_eq!(r.header("etag"), Some(format!("\"{version}\"").as_str()));
    let mut m = Model::decode(&b64_decode(head["head"].as_str().unwrap()).unwrap()).unwrap();
    let n = head["shards"].as_u64().unwrap();
    for i in 0..n {
        let url = head["shard_url"].as_str().unwrap().replace("{i}", &i.to_string());
        assert_eq!(url, format!("/v1/model/{version}/shard/{i}"));
        let s = get(a, &url).await;
        assert_eq!(s.status, 200, "{}", s.text());
        assert_eq!(s.header("cache-control"), Some("public, max-age=31536000, immutable"));
        assert_eq!(s.header("content-type"), Some("application/octet-stream"));
        assert_eq!(s.header("etag"), Some(format!("\"{version}-{i}\"").as_str()));
        m.merge(&Model::decode(&s.body).unwrap());
    }
    (head, m)
}

fn nbrs(m: &Model, sku: &str) -> Vec<u32> {
    m.neighbours(sku_id(sku)).map(|(n, _)| n.to_vec()).unwrap_or_default()
}

async fn rebuilds_while_ingest_goes_on(b: Backend) {
    let (server, _dir) = start_on_with(b, |c| {
        c.model.every = Duration::ZERO;
        c.rate_limit = RateLimit { per_second: 0.0, burst: 1 };
    })
    .await;
    let a = server.local_addr();

    // Before any model: an empty head (zero shards, pages rank without a model),
    // and a rebuild with nothing to learn says so.
    let r = get(a, "/v1/model/head").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["shards"], 0);
    assert!(r.json()["note"].as_str().unwrap().contains("no model yet"));
    let r = admin_post(a, "/v1/model/rebuild").await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("nothing to build from yet"));
    assert_eq!(request(a, "POST", "/v1/model/rebuild", &[], b"").await.status, 401);

    for n in 1..=5 {
        post_ok(a, &session_batch(n, 1, &["SHOE-1", "SHOE-2", "LACE-1"])).await;
    }

    // Ingest keeps going during the rebuilds: every batch must be committed.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let ingest = tokio::spawn({
        let (stop, accepted) = (stop.clone(), accepted.clone());
        async move {
            let mut session = 100;
            while !stop.load(Ordering::Relaxed) {
                session += 1;
                let r = post(a, &session_batch(200, session, &["BG-1", "BG-2", "BG-3"])).await;
                assert_eq!(r.status, 200, "ingest during a rebuild: {}", r.text());
                accepted.fetch_add(r.json()["accepted"].as_u64().unwrap(), Ordering::Relaxed);
            }
        }
    });

    let r = admin_post(a, "/v1/model/rebuild").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(first["changed"], true);
    let (head, m) = fetch_model(a).await;
    assert_eq!(head["version"], first["version"]);
    assert_eq!((head["id"].as_str(), head["source"].as_str()), (Some("fnv1a32"), Some("events")));
    assert_eq!(head["params"]["neighbours"], 50);
    assert_eq!(head["items"].as_u64(), Some(m.len() as u64));
    assert!(nbrs(&m, "SHOE-1").contains(&sku_id("SHOE-2")), "{:?}", m);
    assert!(nbrs(&m, "SHOE-2").contains(&sku_id("LACE-1")));
    assert!(nbrs(&m, "BG-1").is_empty(), "one client's sessions are not published");
    assert!(m.popular().iter().any(|p| p.0 == sku_id("SHOE-1")));

    // Conditional requests, CORS, 404s.
    let v1 = head["version"].as_str().unwrap().to_owned();
    let etag = format!("\"{v1}\"");
    let r = request(a, "GET", "/v1/model/head", &[("If-None-Match", &etag)], b"").await;
    assert_eq!(r.status, 304);
    let shard0 = format!("/v1/model/{v1}/shard/0");
    let r = request(a, "GET", &shard0, &[("If-None-Match", &format!("\"{v1}-0\""))], b"").await;
    assert_eq!(r.status, 304);
    let origin = format!("http://{a}");
    let r = request(a, "GET", &shard0, &[("Origin", &origin)], b"").await;
    assert_eq!(r.header("access-control-allow-origin"), Some(origin.as_str()));
    let r = request(a, "OPTIONS", "/v1/model/head", &[("Origin", &origin)], b"").await;
    assert_eq!(r.status, 204);
    let r = request(a, "GET", "/v1/model/head", &[("Origin", "https://evil.example")], b"").await;
    assert_eq!((r.status, r.header("access-control-allow-origin")), (200, None));
    for bad in [
        format!("/v1/model/{v1}/shard/{}", head["shards"]),
        format!("/v1/model/{v1}/shard/x"),
        "/v1/model/0123456789ab/shard/0".to_owned(),
        "/v1/model/..%2F..%2Fetc/shard/0".to_owned(),
    ] {
        let r = get(a, &bad).await;
        assert_eq!(r.status, 404, "{bad}");
        assert!(r.json()["error"].is_string(), "{bad}");
    }

    // New sessions, a rebuild, a new version that has them; the old version's
    // shards are still served (a page may have loaded the old head).
    for n in 10..=13 {
        post_ok(a, &session_batch(n, 1, &["TENT-9", "PEG-9"])).await;
    }
    let r = admin_post(a, "/v1/model/rebuild").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (head2, m2) = fetch_model(a).await;
    let v2 = head2["version"].as_str().unwrap();
    assert_ne!(v2, v1);
    assert_eq!(nbrs(&m2, "TENT-9"), vec![sku_id("PEG-9")]);
    assert!(nbrs(&m2, "SHOE-1").contains(&sku_id("SHOE-2")));
    assert_eq!(get(a, &shard0).await.status, 200);

    stop.store(true, Ordering::Relaxed);
    ingest.await.unwrap();
    assert!(accepted.load(Ordering::Relaxed) > 0);
    server.stop().await.unwrap();
}

on_both_backends!(rebuilds_while_ingest_goes_on);

#[tokio::test]
async fn serve_rebuilds_on_its_own_and_serves_the_model_at_start() {
    let dir = TempDir::new("serve-model");
    let data = dir.path().join("data");
    let config = |data: PathBuf, every: Duration| vitrina_server::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data,
        admin_token: Some(TOKEN.into()),
        model: ModelOptions { every, ..ModelOptions::default() },
        ..vitrina_server::Config::default()
    };
    let server = vitrina_server::Server::bind(config(data.clone(), Duration::from_millis(200))).await.unwrap().spawn();
    let a = server.local_addr();
    for n in 1..=3 {
        post_ok(a, &session_batch(n, 1, &["CUP-1", "SAUCER-1"])).await;
    }
    let wait_for = |pred: Box<dyn Fn(&Value) -> bool + Send>| async move {
        let t = Instant::now();
        loop {
            let r = get(a, "/v1/model/head").await;
            if r.status == 200 && r.json()["version"].is_string() && pred(&r.json()) {
                return r.json();
            }
            assert!(t.elapsed() < Duration::from_secs(20), "no rebuild: {}", r.text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let first = wait_for(Box::new(|_| true)).await;
    let v1 = first["version"].as_str().unwrap().to_owned();
    for n in 1..=3 {
        post_ok(a, &session_batch(n, 2, &["CUP-1", "SPOON-1"])).await;
    }
    let v = v1.clone();
    let second = wait_for(Box::new(move |h| h["version"].as_str() != Some(v.as_str()))).await;
    server.stop().await.unwrap();
    assert!(data.join("model").join(&v1).is_dir());

    // Restarted without rebuilds: the current model is served at once.
    let server = vitrina_server::Server::bind(config(data.clone(), Duration::ZERO)).await.unwrap().spawn();
    let (head, m) = fetch_model(server.local_addr()).await;
    assert_eq!(head["version"], second["version"]);
    let (nbr, _) = m.neighbours(sku_id("CUP-1")).unwrap();
    assert!(nbr.contains(&sku_id("SAUCER-1")) && nbr.contains(&sku_id("SPOON-1")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_store_hands_over_sessions_in_order_without_flagged_clients() {
    let dir = TempDir::new("model-rows");
    let store = Store::open_sqlite(dir.path(), StoreOptions::default()).unwrap();
    let ingest = |client: [u8; 16], session: u32, events: Vec<Event>| Ingest {
        site: "demo".into(),
        client,
        session,
        received: T,
        events,
        ..Ingest::default()
    };
    let e =
        |id: u64, kind: Kind, item: &str, ts: u64| Event { id, item: Some(item.into()), ..Event::new(kind, T + ts) };
    // Out of order on the wire; a like and a search are not session items.
    store
        .ingest(ingest(
            client(1),
            1,
            vec![
                e(1, Kind::ProductView, "B", 2),
                e(2, Kind::ProductView, "A", 1),
                e(3, Kind::Like, "A", 3),
                e(4, Kind::CartAdd, "C", 4),
            ],
        ))
        .await
        .unwrap();
    // A robot: more than 1000 events in an hour.
    let robot: Vec<Event> = (0..1001).map(|i| e(i, Kind::ProductView, "R", i)).collect();
    store.ingest(ingest(client(2), 1, robot)).await.unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rule = vitrina_server::store::FlagRule { events_per_hour: 1000, likes_per_hour: 100 };
    let f = {
        let seen = seen.clone();
        move |r: ModelRow<'_>| {
            seen.lock().unwrap().push((r.client[15], r.session, r.item.to_owned(), r.received));
            true
        }
    };
    drop(store.model_rows(rule, f).await.unwrap());
    let seen = seen.lock().unwrap().clone();
    let items: Vec<&str> = seen.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(items, ["A", "B", "C"], "time order, views and cart adds only, no robot: {seen:?}");
    assert!(seen.iter().all(|r| (r.0, r.1, r.3) == (1, 1, T)));
    // Stopping early.
    let n = Arc::new(AtomicU64::new(0));
    let f = {
        let n = n.clone();
        move |_: ModelRow<'_>| n.fetch_add(1, Ordering::Relaxed) < 1
    };
    drop(store.model_rows(rule, f).await.unwrap());
    assert_eq!(n.load(Ordering::Relaxed), 2);
    store.close().await.unwrap();
}

// ---------------------------------------------------------------------------
// At Diginetica's scale (ignored: they need the dataset and a release build):
//
//   cargo test --release -p vitrina-server --test model -- --ignored --nocapture
//
// The dataset is ../shared/data/diginetica/train_sessions.txt next to the
// repository, or $VITRINA_DIGINETICA.

fn diginetica() -> Vec<Vec<u32>> {
    let path = std::env::var_os("VITRINA_DIGINETICA").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/diginetica/train_sessions.txt")
    });
    vitrina_server::eval::read_sessions(&path).unwrap_or_else(|e| panic!("{e} (set VITRINA_DIGINETICA)"))
}

/// Diginetica's ~1,250 sessions a day, as receive times.
const SESSION_MS: u64 = 86_400_000 / 1250;

fn client_of(i: usize) -> [u8; 16] {
    let mut c = [0x33u8; 16];
    c[8..].copy_from_slice(&(i as u64).to_be_bytes());
    c
}

/// The events path (SKU hashes, recency in days, client thresholds) against the
/// sessions-file path, with the published protocol: how much do the privacy
/// thresholds cost?
#[test]
#[ignore]
fn diginetica_accuracy_of_the_events_path() {
    let all = diginetica();
    let (train, test) = all.split_at(all.len() - 15_000);
    let mut c = Collected::new(None);
    for (i, s) in train.iter().enumerate() {
        let cl = client_of(i);
        for it in s {
            c.push(row(&cl, 1, &it.to_string(), T + i as u64 * SESSION_MS));
        }
    }
    let hashed = |s: &[Vec<u32>]| -> Vec<Vec<u32>> {
        s.iter().map(|s| s.iter().map(|i| sku_id(&i.to_string())).collect()).collect()
    };
    let test_h = vitrina_server::eval::filter_test(&hashed(train), &hashed(test));
    let rank = vitrina::rank::RankParams::default();
    let base = ModelBuilder::from_sessions(train, BuildParams::default());
    let test_n = vitrina_server::eval::filter_test(train, test);
    let m = vitrina_server::eval::evaluate(&base, &test_n, &rank, 20, false);
    println!(
        "sessions file:  HR@20 {:.2} MRR@20 {:.2} ({} cases), {} bytes",
        m.hr,
        m.mrr,
        m.cases,
        base.encode().len()
    );
    for min_clients in [1, 2, 3, 5] {
        let t = Instant::now();
        let opts = ModelOptions { min_clients, ..ModelOptions::default() };
        let model = model_srv::build_from_events(&c, &opts);
        let ms = t.elapsed().as_millis();
        let m = vitrina_server::eval::evaluate(&model, &test_h, &rank, 20, false);
        println!(
            "events, min_clients {min_clients}: HR@20 {:.2} MRR@20 {:.2} ({} cases), {} items, {} bytes, built in {ms} ms",
            m.hr,
            m.mrr,
            m.cases,
            model.len(),
            model.encode().len()
        );
    }
}

/// Every Diginetica session stored as a client's product views; a rebuild
/// through the server while batches keep arriving: how long it takes, and what
/// it does to ingest latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn diginetica_rebuild_beside_ingest() {
    let sessions = diginetica();
    let dir = TempDir::new("dg-rebuild");
    let data = dir.path().join("data");
    let store = Store::open_sqlite(&data, StoreOptions::default()).unwrap();
    let t = Instant::now();
    let store = Arc::new(store);
    for chunk in sessions.chunks(2000).enumerate().collect::<Vec<_>>() {
        let (c, chunk) = chunk;
        let mut tasks = Vec::new();
        for (j, s) in chunk.iter().enumerate() {
            let i = c * 2000 + j;
            let events: Vec<Event> = s
                .iter()
                .enumerate()
                .map(|(k, it)| Event {
                    id: k as u64,
                    item: Some(it.to_string()),
                    ..Event::new(Kind::ProductView, T + i as u64 * SESSION_MS + k as u64)
                })
                .collect();
            let b = Ingest {
                site: "dg".into(),
                client: client_of(i),
                session: 1,
                received: T + i as u64 * SESSION_MS,
                events,
                ..Ingest::default()
            };
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.ingest(b).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    println!("stored {} sessions in {:?}", sessions.len(), t.elapsed());
    Arc::into_inner(store).unwrap().close().await.unwrap();

    let (server, _) = (
        vitrina_server::Server::bind(vitrina_server::Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.clone(),
            admin_token: Some(TOKEN.into()),
            rate_limit: RateLimit { per_second: 0.0, burst: 1 },
            retention: None,
            model: ModelOptions { every: Duration::ZERO, ..ModelOptions::default() },
            ..vitrina_server::Config::default()
        })
        .await
        .unwrap()
        .spawn(),
        (),
    );
    let a = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let ingest = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut lat = Vec::new();
            let mut s = 0;
            while !stop.load(Ordering::Relaxed) {
                s += 1;
                let t = Instant::now();
                let r = post(a, &session_batch(77, s, &["X-1", "X-2", "X-3"])).await;
                assert_eq!(r.status, 200);
                lat.push((t, t.elapsed().as_secs_f64() * 1000.0));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            lat
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    let r = admin_post(a, "/v1/model/rebuild").await;
    let took = start.elapsed();
    let end = Instant::now();
    assert_eq!(r.status, 200, "{}", r.text());
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let lat = ingest.await.unwrap();
    println!("rebuild: {} in {took:?}", r.text());
    let report = |what: &str, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let p = |q: f64| v.get(((v.len().max(1) - 1) as f64 * q) as usize).copied().unwrap_or(0.0);
        println!(
            "ingest {what}: {} batches, latency ms p50 {:.2} p99 {:.2} max {:.2}",
            v.len(),
            p(0.5),
            p(0.99),
            p(1.0)
        );
    };
    report("before the rebuild", lat.iter().filter(|l| l.0 < start).map(|l| l.1).collect());
    report("during the rebuild", lat.iter().filter(|l| l.0 >= start && l.0 < end).map(|l| l.1).collect());
    let (head, m) = fetch_model(a).await;
    assert_eq!(head["items"].as_u64(), Some(m.len() as u64));
    server.stop().await.unwrap();
}
