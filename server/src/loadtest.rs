//! `vitrina-server loadtest`: a bounded load test of `POST /v1/collect`.
//!
//! Opens `connections` keep-alive HTTP/1.1 connections to a running server and,
//! on each, posts batches of `batch` product views back to back (each batch of a
//! fresh, unique set of event ids, so every event is new to the server) until
//! `seconds` have passed; then reports the events the server **accepted** per
//! second (from its answers), the requests per second, and the latency of a
//! request (p50, p99, max), over the time after a warm-up. It stops by itself:
//! no request starts after the deadline, and none may take longer than
//! [`REQUEST_TIMEOUT`].
//!
//! Run the server with `--rate-limit 0`: every connection comes from one address,
//! which the default limit would answer with 429 (counted and reported).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vitrina::codec::{encode, Batch};
use vitrina::codec_json::encode_json;
use vitrina::event::{Event, Kind};

/// Longest a single request may take before the connection is counted as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `http://HOST:PORT[/PATH]`; the path defaults to `/v1/collect`.
    pub url: String,
    /// How long to send (the warm-up included).
    pub duration: Duration,
    /// The first part of `duration`, not measured.
    pub warmup: Duration,
    /// Events per batch.
    pub batch: usize,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Post JSON batches instead of binary ones.
    pub json: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            url: "http://127.0.0.1:8080".into(),
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(1),
            batch: 20,
            connections: 64,
            json: false,
        }
    }
}

/// What a run measured (after the warm-up).
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Seconds measured.
    pub seconds: f64,
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests answered 429.
    pub limited: u64,
    /// Requests answered anything else.
    pub other: u64,
    /// Connections that failed (refused, reset, timed out), reconnected after.
    pub errors: u64,
    /// Events the 2xx answers counted as accepted.
    pub accepted: u64,
    /// Events the 2xx answers counted as duplicates.
    pub duplicates: u64,
    /// Request bytes of an average batch.
    pub batch_bytes: usize,
    /// Request latency percentiles, in milliseconds: p50, p99, max.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
    /// The first status line that was neither 2xx nor 429, if any.
    pub first_other: Option<String>,
}

impl LoadReport {
    /// Accepted events per second.
    pub fn events_per_sec(&self) -> f64 {
        self.accepted as f64 / self.seconds.max(1e-9)
    }

    /// 2xx requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    /// The header of [`LoadReport::row`]'s table (Markdown).
    pub const HEADER: &'static str =
        "| run | events/s accepted | requests/s | p50 ms | p99 ms | max ms | 2xx | 429 | other | errors |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

    /// One row of the table, labelled `label`.
    pub fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {} |",
            self.events_per_sec(),
            self.requests_per_sec(),
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.ok,
            self.limited,
            self.other,
            self.errors
        )
    }
}

/// Splits `http://HOST:PORT[/PATH]` into an address to connect to, the `Host`
/// header and the path.
pub async fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url:?}: only http://HOST:PORT[/PATH] is supported (no TLS)"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = if path.is_empty() || path == "/" { "/v1/collect" } else { path };
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("--url {url:?}: cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("--url {url:?}: {authority} has no address"))?;
    Ok((addr, authority.to_owned(), path.to_owned()))
}

/// 64 random-ish bits (no randomness dependency: the hasher's random keys, the
/// clock and a counter).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.write_u64(N.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Builds the batches of one connection: one client id, ids that never repeat.
struct Batches {
    client: [u8; 16],
    page_load: u64,
    seq: u64,
    size: usize,
    json: bool,
}

impl Batches {
    fn new(size: usize, json: bool) -> Batches {
        let mut client = [0u8; 16];
        client[..8].copy_from_slice(&random_u64().to_le_bytes());
        client[8..].copy_from_slice(&random_u64().to_le_bytes());
        Batches { client, page_load: random_u64() & 0xffff_ffff, seq: 0, size, json }
    }

    fn next(&mut self) -> Vec<u8> {
        let ts = now_ms();
        let events = (0..self.size)
            .map(|i| {
                self.seq += 1;
                if self.seq == u32::MAX as u64 {
                    // A new "page load" after 4 billion events.
                    self.page_load = random_u64() & 0xffff_ffff;
                    self.seq = 1;
                }
                let sku = (self.seq.wrapping_mul(2_654_435_761) >> 7) % 5000;
                Event {
                    id: (self.page_load << 32) | self.seq,
                    item: Some(format!("SKU-{sku:05}")),
                    category: Some(if sku.is_multiple_of(3) { "bags/backpacks" } else { "shoes/running" }.into()),
                    brand: Some("Norte".into()),
                    price: Some(1990 + (sku as i64 % 200) * 50),
                    currency: Some("EUR".into()),
                    dwell_ms: Some(1500 + (i as u32 % 7) * 700),
                    ..Event::new(Kind::ProductView, ts + i as u64)
                }
            })
            .collect();
        let b = Batch { site: "loadtest".into(), client: self.client, session: 1, dropped: 0, events };
        if self.json {
            encode_json(&b).into_bytes()
        } else {
            encode(&b)
        }
    }
}

/// One request's result.
enum Answer {
    Ok { accepted: u64, duplicates: u64 },
    Limited,
    Other(String),
}

/// Sends one request on `s` and reads the answer.
async fn exchange(s: &mut BufReader<TcpStream>, head: &str, body: &[u8]) -> std::io::Result<Answer> {
    let mut req = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    req.extend_from_slice(body);
    s.get_mut().write_all(&req).await?;
    let mut status = String::new();
    if s.read_line(&mut status).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let (mut line, mut len, mut close) = (String::new(), 0usize, false);
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().map_err(|_| std::io::Error::other("bad Content-Length"))?;
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
    }
    let mut buf = vec![0; len];
    s.read_exact(&mut buf).await?;
    if close {
        // The server will close: count this answer, then reconnect.
        let _ = s.get_mut().shutdown().await;
    }
    let code = status.split(' ').nth(1).unwrap_or("");
    Ok(match code {
        "200" => {
            let j: serde_json::Value = serde_json::from_slice(&buf).unwrap_or_default();
            let n = |k: &str| j[k].as_u64().unwrap_or(0);
            Answer::Ok { accepted: n("accepted"), duplicates: n("duplicates") }
        }
        "429" => Answer::Limited,
        _ => Answer::Other(status.trim_end().to_owned()),
    })
}

#[derive(Default)]
struct ConnResult {
    report: LoadReport,
    latencies_us: Vec<u32>,
}

async fn one_connection(
    addr: SocketAddr,
    head: String,
    opts: LoadOptions,
    measure_from: Instant,
    deadline: Instant,
) -> ConnResult {
    let mut out = ConnResult::default();
    let mut batches = Batches::new(opts.batch, opts.json);
    let mut conn: Option<BufReader<TcpStream>> = None;
    let (mut bytes, mut sent) = (0usize, 0usize);
    while Instant::now() < deadline {
        let s = match &mut conn {
            Some(s) => s,
            None => match tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    let _ = tcp.set_nodelay(true);
                    conn.insert(BufReader::new(tcp))
                }
                _ => {
                    out.report.errors += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let body = batches.next();
        bytes += body.len();
        sent += 1;
        let t0 = Instant::now();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, exchange(s, &head, &body)).await;
        let took = t0.elapsed();
        let measured = t0 >= measure_from;
        let answer = match answer {
            Ok(Ok(a)) => a,
            _ => {
                conn = None;
                out.report.errors += u64::from(measured);
                continue;
            }
        };
        if !measured {
            continue;
        }
        out.latencies_us.push(took.as_micros().min(u32::MAX as u128) as u32);
        let r = &mut out.report;
        match answer {
            Answer::Ok { accepted, duplicates } => {
                r.ok += 1;
                r.accepted += accepted;
                r.duplicates += duplicates;
            }
            Answer::Limited => r.limited += 1,
            Answer::Other(status) => {
                r.other += 1;
                r.first_other.get_or_insert(status);
            }
        }
    }
    out.report.batch_bytes = bytes / sent.max(1);
    out
}

/// Runs the load test; `Err` only when the server cannot be reached at all.
pub async fn run(opts: LoadOptions) -> Result<LoadReport, String> {
    let (addr, authority, path) = parse_url(&opts.url).await?;
    // Fail early and clearly when nothing listens there.
    TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}: is the server running?", opts.url))?;
    let head = format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\n");
    let start = Instant::now();
    let warmup = opts.warmup.min(opts.duration / 2);
    let (measure_from, deadline) = (start + warmup, start + opts.duration);
    let tasks: Vec<_> = (0..opts.connections.max(1))
        .map(|_| tokio::spawn(one_connection(addr, head.clone(), opts.clone(), measure_from, deadline)))
        .collect();
    let mut report = LoadReport::default();
    let mut latencies: Vec<u32> = Vec::new();
    let mut batch_bytes = Vec::new();
    for t in tasks {
        let c = t.await.map_err(|e| format!("a load connection panicked: {e}"))?;
        let r = c.report;
        report.ok += r.ok;
        report.limited += r.limited;
        report.other += r.other;
        report.errors += r.errors;
        report.accepted += r.accepted;
        report.duplicates += r.duplicates;
        if report.first_other.is_none() {
            report.first_other = r.first_other;
        }
        batch_bytes.push(r.batch_bytes);
        latencies.extend(c.latencies_us);
    }
    // Measured from the end of the warm-up to the last answer.
    report.seconds = measure_from.elapsed().as_secs_f64();
    report.batch_bytes = batch_bytes.iter().sum::<usize>() / batch_bytes.len().max(1);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    (report.p50_ms, report.p99_ms, report.max_ms) = (pct(0.50), pct(0.99), pct(1.0));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_split_with_the_default_path() {
        let (a, host, path) = parse_url("http://127.0.0.1:9000").await.unwrap();
        assert_eq!((a.port(), host.as_str(), path.as_str()), (9000, "127.0.0.1:9000", "/v1/collect"));
        let (_, _, path) = parse_url("http://127.0.0.1:9000/other/collect").await.unwrap();
        assert_eq!(path, "/other/collect");
        assert!(parse_url("https://127.0.0.1:9000").await.unwrap_err().contains("no TLS"));
    }

    #[test]
    fn batches_never_repeat_an_id_and_are_valid() {
        let mut b = Batches::new(20, false);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10 {
            let batch = vitrina::codec::decode(&b.next()).unwrap();
            assert_eq!(batch.events.len(), 20);
            for e in batch.events {
                e.validate().unwrap();
                assert!(seen.insert(e.id));
            }
        }
        let json = Batches::new(5, true).next();
        assert_eq!(json[0], b'{');
    }
}
