//! The real binary: start-up output, crash durability, graceful stop.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;

/// Starts `vitrina-server serve` on port 0 and returns it with its address, once
/// it has printed its listening line.
fn spawn(data: &Path, extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--admin-token", TOKEN, "--data"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("vitrina-server listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr: SocketAddr = url.parse().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("admin token: "), "{line:?}");
    (child, addr)
}

#[tokio::test]
async fn acknowledged_events_survive_kill_9() {
    let dir = TempDir::new("kill9");
    let data = dir.path().join("data");
    let (mut child, a) = spawn(&data, &[]);
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    // Many small batches, so some are still in the WAL when the process dies.
    for c in 2..=30u8 {
        assert_eq!(post_ok(a, &batch(c, vec![view(1, "A", "shoes")])).await.0, 1);
    }
    child.kill().unwrap(); // SIGKILL on Unix: no shutdown code runs
    child.wait().unwrap();

    let (mut child, a) = spawn(&data, &[]);
    assert_eq!(stored_events(a).await.len(), 5 + 29);
    assert_eq!(post_ok(a, &sample(1)).await, (0, 5, 0), "dedup survives the restart too");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn acknowledged_events_survive_kill_9_with_postgres() {
    let dir = TempDir::new("kill9-pg");
    let data = dir.path().join("data");
    let url = fresh_database("kill9").await;
    let db = ["--database", url.as_str()];
    let (mut child, a) = spawn(&data, &db);
    assert_eq!(post_ok(a, &sample(1)).await, (5, 0, 0));
    for c in 2..=30u8 {
        assert_eq!(post_ok(a, &batch(c, vec![view(1, "A", "shoes")])).await.0, 1);
    }
    child.kill().unwrap(); // SIGKILL: the server dies, PostgreSQL has the commits
    child.wait().unwrap();
    assert!(!data.exists(), "with --database nothing is written to the data dir");

    let (mut child, a) = spawn(&data, &db);
    assert_eq!(stored_events(a).await.len(), 5 + 29);
    assert_eq!(post_ok(a, &sample(1)).await, (0, 5, 0), "dedup survives the restart too");
    let stats = admin_get(a, "/v1/stats").await.json();
    assert_eq!(stats["totals"]["accepted"], serde_json::json!(34), "totals are kept in the database");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn an_unreachable_database_is_reported_with_a_fix() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database"])
        .arg(format!("postgres://shop:secret@127.0.0.1:{port}/vitrina"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with(&format!("error: cannot use PostgreSQL at shop@127.0.0.1:{port}/vitrina: ")), "{err}");
    assert!(err.contains("check that it is running"), "{err}");
    assert!(!err.contains("secret"), "the password is never printed: {err}");
    let out = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database", "mysql://nope"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--database is not a PostgreSQL connection string"), "{err}");
}

#[tokio::test]
async fn the_loadtest_subcommand_prints_a_table() {
    let dir = TempDir::new("loadtest");
    let (mut child, a) = spawn(&dir.path().join("data"), &["--rate-limit", "0"]);
    let out = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["loadtest", "--url", &format!("http://{a}"), "--seconds", "1.5", "--warmup", "0.5"])
        .args(["--connections", "4", "--batch", "20", "--label", "sqlite"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("| run | events/s accepted | requests/s | p50 ms | p99 ms |"), "{stdout}");
    let row: Vec<&str> = lines[2].split('|').map(str::trim).collect();
    assert_eq!(row[1], "sqlite", "{stdout}");
    assert!(row[2].parse::<f64>().unwrap() > 0.0, "{stdout}");
    assert_eq!((row[8], row[9], row[10]), ("0", "0", "0"), "no 429, other or errors: {stdout}");
    let stats = admin_get(a, "/v1/stats").await.json();
    assert!(stats["totals"]["accepted"].as_u64().unwrap() > 0);
    assert_eq!(stats["totals"]["duplicates"], serde_json::json!(0), "every load event is new");
    child.kill().unwrap();
    child.wait().unwrap();

    // Nothing listening: a clear error, not a hang.
    let out = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["loadtest", "--url", &format!("http://{a}"), "--seconds", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the server running?"));
}

#[tokio::test]
async fn sigterm_flushes_and_exits_cleanly() {
    let dir = TempDir::new("sigterm");
    let data = dir.path().join("data");
    let (mut child, a) = spawn(&data, &[]);
    post_ok(a, &sample(1)).await;
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("vitrina-server stopped"), "{err}");
    // A clean stop checkpoints the WAL into the database file.
    let wal = data.join("vitrina.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

    let (mut child, a) = spawn(&data, &[]);
    assert_eq!(stored_events(a).await.len(), 5);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_taken_port_is_reported_with_a_fix() {
    let dir = TempDir::new("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["serve", "--addr", &addr.to_string(), "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end(),
        format!("error: port {} is in use: pass --addr 127.0.0.1:{}", addr.port(), addr.port() + 1)
    );
}

#[test]
fn a_generated_admin_token_is_printed() {
    let dir = TempDir::new("token");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrina-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("vitrina-server listening on http://127.0.0.1:"), "{first}");
    let token = lines.next().unwrap().unwrap();
    let token = token.strip_prefix("admin token: ").unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    child.kill().unwrap();
    child.wait().unwrap();
}
