//! Bytes on the wire per event, measured by replaying shoppers through the engine the
//! browser runs (`vitrina::engine::Engine`), in the binary and the JSON format.
//!
//! ```text
//! cargo run --release --example bytes_taobao
//! ```
//!
//! Workloads:
//! - **1, the standard sequence**: 1 page view, 20 product views of `SKU-000123` in
//!   `shoes/running` at 89.90 EUR (2.5 s of dwell each, 3 s apart), 3 cart adds of it,
//!   1 purchase of 3 lines (the sequence of `docs/wire-format.md`, "Sizes").
//! - **2, Taobao**: the UserBehavior sample (`../shared/data/taobao/user_behavior_sample.csv`,
//!   `user_id,item_id,category_id,behavior,unix_seconds`, read in place, never copied),
//!   one engine per shopper: `pv` is a product view of the item in `cat/<category_id>`,
//!   `cart` a cart add of it (qty 1), `fav` a like of it, `buy` a purchase with that item
//!   as its one line (no order id, no price: the log has none). Timestamps are shifted by
//!   2557 days (into 2024–2025, past the core's earliest plausible timestamp), as in
//!   `tests/taobao_replay.rs`.
//!
//! Each event goes through `begin` / `set` / `set_num` / `add_line` / `commit`, as
//! `www/src/api.js` does. The outbox is flushed (sealed, then `next_request()` answered
//! with `answer(200)` until nothing waits) every 20 events (`Config::flush_count`) and
//! whenever the shopper's next timestamp is more than 30 minutes after the previous one
//! (the browser's time-based flush, for a shopper who comes back later), and at the end.
//! A second Taobao row flushes after every event: what today's widget does when events
//! are recorded in separate tasks (it saves 0 ms after each event, and saving the
//! outbox seals what is pending), for comparison.
//! Ids, client ids, session ids and the page-load nonce are drawn from a fixed-seed
//! generator, so the figures are reproducible.
//!
//! "gzip" is each request body compressed on its own with gzip -9 (no name, no mtime):
//! what a server that accepted `Content-Encoding: gzip` would receive. Vitrina does not
//! gzip request bodies itself (browsers do not compress request bodies, and a
//! Content-Encoding header would cost a CORS preflight), so the raw column is what goes
//! on the wire today. Compression uses a `python3` helper (zlib level 9, the same
//! deflate as GNU gzip -9), or `gzip -9 -n` per request when python3 is missing.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use vitrina::engine::{Config, Engine, Field, Num};

const DAY_MS: u64 = 86_400_000;
/// Added to every Taobao timestamp (2017 → 2024), as in tests/taobao_replay.rs.
const SHIFT_MS: u64 = 2557 * DAY_MS;
/// A gap after which the browser would have flushed what waits.
const GAP_MS: u64 = 30 * 60 * 1000;

// ---------------------------------------------------------------------------------------
// A small deterministic generator (splitmix64) for ids and random draws.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn client(&mut self) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..8].copy_from_slice(&self.next().to_le_bytes());
        c[8..].copy_from_slice(&self.next().to_le_bytes());
        c
    }
}

// ---------------------------------------------------------------------------------------
// gzip -9 of one request body.

enum Gzip {
    /// python3 reading `<len>\n<bytes>` frames and answering `<gzip len>\n`.
    Python { child: Child, stdin: ChildStdin, stdout: BufReader<ChildStdout> },
    /// One `gzip -9 -n -c` per body.
    Binary,
    None,
}

const PY: &str = "import gzip,sys\ni=sys.stdin.buffer\no=sys.stdout\nwhile True:\n l=i.readline()\n if not l: break\n b=i.read(int(l))\n o.write(str(len(gzip.compress(b,9,mtime=0)))+'\\n')\n o.flush()\n";

impl Gzip {
    fn start() -> Gzip {
        if let Ok(mut child) =
            Command::new("python3").args(["-c", PY]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()
        {
            let stdin = child.stdin.take().expect("piped stdin");
            let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            let mut g = Gzip::Python { child, stdin, stdout };
            if g.size(b"probe") == Some(25) {
                return g;
            }
        }
        let mut g = Gzip::Binary;
        if g.size(b"probe") == Some(25) {
            return g;
        }
        Gzip::None
    }

    fn name(&self) -> &'static str {
        match self {
            Gzip::Python { .. } => "python3 gzip.compress(level 9)",
            Gzip::Binary => "gzip -9 -n",
            Gzip::None => "unavailable",
        }
    }

    fn size(&mut self, body: &[u8]) -> Option<usize> {
        match self {
            Gzip::Python { stdin, stdout, .. } => {
                stdin.write_all(format!("{}\n", body.len()).as_bytes()).ok()?;
                stdin.write_all(body).ok()?;
                stdin.flush().ok()?;
                let mut line = String::new();
                stdout.read_line(&mut line).ok()?;
                line.trim().parse().ok()
            }
            Gzip::Binary => {
                let mut child = Command::new("gzip")
                    .args(["-9", "-n", "-c"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()?;
                let mut stdin = child.stdin.take()?;
                let data = body.to_vec();
                let writer = std::thread::spawn(move || stdin.write_all(&data));
                let mut out = Vec::new();
                child.stdout.take()?.read_to_end(&mut out).ok()?;
                writer.join().ok()?.ok()?;
                child.wait().ok()?;
                Some(out.len())
            }
            Gzip::None => None,
        }
    }
}

impl Drop for Gzip {
    fn drop(&mut self) {
        if let Gzip::Python { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// What was sent.

#[derive(Default)]
struct Tally {
    events: usize,
    rejected: usize,
    requests: usize,
    bytes: usize,
    gzip: Option<usize>,
    largest: usize,
}

impl Tally {
    /// Seals what waits and answers every request with 200, as the browser's pump does.
    fn flush(&mut self, e: &mut Engine, gz: &mut Gzip) {
        while let Some((id, body)) = e.next_request() {
            self.requests += 1;
            self.bytes += body.len();
            self.largest = self.largest.max(body.len());
            self.gzip = match (self.gzip, gz.size(&body)) {
                (Some(total), Some(n)) => Some(total + n),
                _ => None,
            };
            e.answer(id, 200, None, 0.5);
        }
    }

    fn commit(&mut self, e: &mut Engine, now: u64, rng: &mut Rng) {
        match e.commit(now, true, rng.u32()) {
            Ok(()) => self.events += 1,
            Err(_) => self.rejected += 1,
        }
    }
}

fn engine(json: bool, rng: &mut Rng) -> Engine {
    let site = "shop";
    let cfg = if json { Config { json: true, ..Config::new(site) } } else { Config::new(site) };
    Engine::new(cfg, rng.client(), rng.u32())
}

// ---------------------------------------------------------------------------------------
// Workload 1: the standard sequence.

const T1: u64 = 1_718_000_000_000;

fn workload1(json: bool, one_batch: bool, gz: &mut Gzip) -> Tally {
    let mut rng = Rng(1);
    let mut e = engine(json, &mut rng);
    let mut t = Tally { gzip: Some(0), ..Tally::default() };
    let mut after = |t: &mut Tally, e: &mut Engine| {
        if !one_batch && e.wants_flush() {
            t.flush(e, gz);
        }
    };
    e.begin("page", T1);
    e.set(Field::Url, "/shop/");
    t.commit(&mut e, T1, &mut rng);
    after(&mut t, &mut e);
    let item = |e: &mut Engine, kind: &str, now: u64| {
        e.begin(kind, now);
        e.set(Field::Item, "SKU-000123");
        e.set(Field::Category, "shoes/running");
        e.set_num(Num::Price, 89.9);
        e.set(Field::Currency, "EUR");
    };
    for n in 1..=20u64 {
        let now = T1 + n * 3_000;
        item(&mut e, "view", now);
        e.set_num(Num::Dwell, 2_500.0);
        t.commit(&mut e, now, &mut rng);
        after(&mut t, &mut e);
    }
    for n in 21..24u64 {
        let now = T1 + n * 3_000;
        item(&mut e, "cart-add", now);
        e.set_num(Num::Qty, 1.0);
        t.commit(&mut e, now, &mut rng);
        after(&mut t, &mut e);
    }
    let now = T1 + 100_000;
    e.begin("purchase", now);
    e.set(Field::Order, "N-1");
    e.set_num(Num::Price, 269.7);
    e.set(Field::Currency, "EUR");
    e.add_line("SKU-000123", 1.0, 89.9);
    e.add_line("SKU-000124", 2.0, 89.9);
    e.add_line("SKU-000125", 1.0, f64::NAN);
    t.commit(&mut e, now, &mut rng);
    t.flush(&mut e, gz);
    t
}

// ---------------------------------------------------------------------------------------
// Workload 2: Taobao.

struct Row {
    item: String,
    category: String,
    behavior: u8, // b'v' view, b'c' cart, b'f' fav, b'b' buy
    ts: u64,
}

fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/taobao/user_behavior_sample.csv")
}

/// Shoppers in file order (rows of one user are contiguous in the sample).
fn load(text: &str) -> Result<Vec<Vec<Row>>, String> {
    let mut out: Vec<(String, Vec<Row>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("line {}: {line:?}", n + 1);
        if f.len() != 5 {
            return Err(bad());
        }
        let behavior = match f[3] {
            "pv" => b'v',
            "cart" => b'c',
            "fav" => b'f',
            "buy" => b'b',
            _ => return Err(bad()),
        };
        let secs: u64 = f[4].parse().map_err(|_| bad())?;
        let row = Row { item: f[1].to_owned(), category: format!("cat/{}", f[2]), behavior, ts: secs * 1000 + SHIFT_MS };
        match out.last_mut() {
            Some((u, rows)) if u == f[0] => rows.push(row),
            _ => out.push((f[0].to_owned(), vec![row])),
        }
    }
    Ok(out.into_iter().map(|(_, rows)| rows).collect())
}

fn workload2(shoppers: &[Vec<Row>], json: bool, every: usize, gz: &mut Gzip) -> Tally {
    let mut rng = Rng(2);
    let mut t = Tally { gzip: Some(0), ..Tally::default() };
    for rows in shoppers {
        let mut e = engine(json, &mut rng);
        let mut last: Option<u64> = None;
        for r in rows {
            if last.is_some_and(|l| r.ts > l + GAP_MS) {
                t.flush(&mut e, gz);
            }
            last = Some(r.ts);
            match r.behavior {
                b'v' | b'c' | b'f' => {
                    e.begin(
                        match r.behavior {
                            b'v' => "view",
                            b'c' => "cart-add",
                            _ => "like",
                        },
                        r.ts,
                    );
                    e.set(Field::Item, &r.item);
                    e.set(Field::Category, &r.category);
                    if r.behavior == b'c' {
                        e.set_num(Num::Qty, 1.0);
                    }
                }
                _ => {
                    e.begin("purchase", r.ts);
                    e.add_line(&r.item, 1.0, f64::NAN);
                }
            }
            t.commit(&mut e, r.ts, &mut rng);
            if e.wants_flush() || e.waiting().0 >= every {
                t.flush(&mut e, gz);
            }
        }
        t.flush(&mut e, gz);
    }
    t
}

// ---------------------------------------------------------------------------------------

fn row(out: &mut Vec<[String; 9]>, workload: &str, format: &str, t: &Tally) {
    let per = |n: usize| if t.events == 0 { "-".to_owned() } else { format!("{:.2}", n as f64 / t.events as f64) };
    out.push([
        workload.to_owned(),
        format.to_owned(),
        t.events.to_string(),
        t.requests.to_string(),
        format!("{:.1}", t.events as f64 / t.requests.max(1) as f64),
        t.bytes.to_string(),
        per(t.bytes),
        t.gzip.map_or("n/a".to_owned(), |g| g.to_string()),
        t.gzip.map_or("n/a".to_owned(), per),
    ]);
}

fn main() {
    let t0 = Instant::now();
    let mut gz = Gzip::start();
    let mut rows: Vec<[String; 9]> = Vec::new();

    for (label, one) in [("1: standard sequence, flushed every 20", false), ("1: standard sequence, one batch", true)] {
        for json in [false, true] {
            let t = workload1(json, one, &mut gz);
            row(&mut rows, label, if json { "JSON" } else { "binary" }, &t);
        }
    }

    let path = data_path();
    let taobao_note: String;
    match std::fs::read_to_string(&path) {
        Err(_) => taobao_note = format!("workload 2 SKIPPED: {} not found (../shared/data next to the repository)", path.display()),
        Ok(text) => match load(&text) {
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                std::process::exit(1);
            }
            Ok(shoppers) => {
                let mut summary = None;
                for (label, every) in [("2: Taobao sample", usize::MAX), ("2: Taobao, one event per request", 1)] {
                    for json in [false, true] {
                        let t2 = Instant::now();
                        let t = workload2(&shoppers, json, every, &mut gz);
                        row(&mut rows, label, if json { "JSON" } else { "binary" }, &t);
                        if every == usize::MAX {
                            summary = Some((t.rejected, t.largest));
                        }
                        eprintln!("[bytes_taobao] {label} {} replayed in {:.2} s", if json { "JSON" } else { "binary" }, t2.elapsed().as_secs_f64());
                    }
                }
                let (rejected, largest) = summary.unwrap_or_default();
                taobao_note = format!(
                    "workload 2: {} shoppers, {} rows from {}; {} events refused by validation; largest request {} B (JSON)",
                    shoppers.len(),
                    shoppers.iter().map(Vec::len).sum::<usize>(),
                    path.display(),
                    rejected,
                    largest
                );
            }
        },
    }

    let head = ["workload", "format", "events", "requests", "events/request", "raw bytes", "raw B/event", "gzip bytes", "gzip B/event"];
    let w: Vec<usize> = (0..head.len()).map(|i| rows.iter().map(|r| r[i].len()).chain([head[i].len()]).max().unwrap_or(0)).collect();
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            if i < 2 {
                s.push_str(&format!(" {:<1$} |", c, w[i]));
            } else {
                s.push_str(&format!(" {:>1$} |", c, w[i]));
            }
        }
        s
    };
    println!("{}", line(&head.map(str::to_owned)));
    println!("|{}", w.iter().enumerate().map(|(i, n)| if i < 2 { format!(" {} |", "-".repeat(*n)) } else { format!(" {}: |", "-".repeat(n - 1)) }).collect::<String>());
    for r in &rows {
        println!("{}", line(r));
    }
    println!();
    println!("flush policy: every 20 events, on a > 30 min gap in the shopper's timestamps, and at the end; every request answered 200");
    println!("\"one event per request\": the same replay flushed after every event, which is what the widget does today when events are not");
    println!("recorded in the same task (www/src/api.js saves the outbox 0 ms after each event, and saving seals the pending events)");
    println!("gzip: each request body on its own, gzip -9 ({}); Vitrina does not gzip request bodies, the raw columns are what goes on the wire", gz.name());
    println!("{taobao_note}");
    println!("done in {:.2} s", t0.elapsed().as_secs_f64());
}
