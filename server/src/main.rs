//! `vitrina-server`: the command line around the `vitrina_server` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vitrina_server::loadtest::{LoadOptions, LoadReport};
use vitrina_server::{Config, RateLimit, Server};

#[derive(Parser)]
#[command(
    name = "vitrina-server",
    version,
    about = "Vitrina's reference backend: ingests event batches, publishes popularity."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP server.
    Serve(Serve),
    /// Load-test a running server's POST /v1/collect for a bounded time (run the server with --rate-limit 0).
    Loadtest(Loadtest),
    /// Evaluate the model and the ranking offline on session files; prints one JSON object.
    Eval(vitrina_server::model_cmd::EvalArgs),
    /// The public item-to-item model (model build).
    Model(vitrina_server::model_cmd::ModelArgs),
}

#[derive(Args)]
struct Serve {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Data directory, created if missing; the database is DIR/vitrina.db.
    #[arg(long, value_name = "DIR", default_value = ".vitrina-data")]
    data: PathBuf,
    /// Widget files served at the root (/vitrina.js, /vitrina-core.js, /vitrina_core_bg.wasm and
    /// /vitrina_core_full_bg.wasm).
    #[arg(long, value_name = "DIR")]
    widget: Option<PathBuf>,
    /// Demo shop served under /shop/.
    #[arg(long, value_name = "DIR")]
    demo: Option<PathBuf>,
    /// Token for the admin endpoints; a random one is generated and printed if absent.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Shop origin allowed by CORS, e.g. https://shop.example.com (repeatable).
    #[arg(long = "origin", value_name = "URL")]
    origins: Vec<String>,
    /// Largest accepted batch, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// Smallest count /v1/popularity publishes; smaller counts are left out.
    #[arg(long, value_name = "N", default_value_t = 5)]
    min_count: u64,
    /// Store in PostgreSQL instead of SQLite, e.g. postgres://vitrina@127.0.0.1/vitrina (several servers may share it).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Requests per second each client network (IPv4 /24, IPv6 /48) may make to /v1/collect; 0 disables the limit.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    rate_limit: f64,
    /// Requests a client network may make at once before --rate-limit applies.
    #[arg(long, value_name = "N", default_value_t = 200)]
    rate_burst: u32,
    /// Behind a reverse proxy: rate-limit by the last address in this header (e.g. X-Forwarded-For) instead of the peer's. Only if every request comes through the proxy.
    #[arg(long, value_name = "NAME")]
    client_ip_header: Option<String>,
    /// Delete events received more than N days ago (checked at start and hourly); 0 keeps them forever.
    #[arg(long, value_name = "N", default_value_t = 180)]
    retention_days: u32,
    /// Rebuild the public model from the stored events every N minutes (when events arrived); 0 never does.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    model_every: u64,
}

#[derive(Args)]
struct Loadtest {
    /// The server, http://HOST:PORT (the path defaults to /v1/collect).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// How long to send, warm-up included.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    seconds: f64,
    /// The first seconds, not measured.
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    warmup: f64,
    /// Events per batch.
    #[arg(long, value_name = "N", default_value_t = 20)]
    batch: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, value_name = "N", default_value_t = 64)]
    connections: usize,
    /// Post JSON batches instead of binary ones.
    #[arg(long)]
    json: bool,
    /// Label of the result row (e.g. the backend).
    #[arg(long, default_value = "run")]
    label: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = match Cli::parse().cmd {
        Cmd::Serve(a) => a,
        Cmd::Loadtest(l) => return loadtest(l).await,
        Cmd::Eval(e) => return vitrina_server::model_cmd::eval(e),
        Cmd::Model(m) => return vitrina_server::model_cmd::model(m).await,
    };
    let config = Config {
        addr: a.addr,
        data_dir: a.data,
        widget_dir: a.widget,
        demo_dir: a.demo,
        admin_token: a.admin_token,
        origins: a.origins,
        max_body: a.max_body,
        min_count: a.min_count,
        database: a.database,
        rate_limit: RateLimit { per_second: a.rate_limit.max(0.0), burst: a.rate_burst.max(1) },
        client_ip_header: a.client_ip_header,
        retention: (a.retention_days > 0).then(|| Duration::from_secs(u64::from(a.retention_days) * 86_400)),
        model: vitrina_server::model_srv::ModelOptions {
            every: Duration::from_secs(a.model_every.min(1 << 32) * 60),
            ..Default::default()
        },
        ..Config::default()
    };
    let server = match Server::bind(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("vitrina-server listening on {}", server.url());
    if server.token_generated() {
        println!("admin token: {}", server.admin_token());
    } else {
        println!("admin token: (given with --admin-token)");
    }
    match server.run_until(shutdown_signal()).await {
        Ok(()) => {
            eprintln!("vitrina-server stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn loadtest(l: Loadtest) -> ExitCode {
    let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 86_400.0));
    let opts = LoadOptions {
        url: l.url,
        duration: secs(l.seconds),
        warmup: secs(l.warmup),
        batch: l.batch.clamp(1, 10_000),
        connections: l.connections.clamp(1, 10_000),
        json: l.json,
    };
    eprintln!(
        "loadtest: {} for {:?} ({:?} warm-up), {} connections, batches of {} events ({})",
        opts.url,
        opts.duration,
        opts.warmup.min(opts.duration / 2),
        opts.connections,
        opts.batch,
        if opts.json { "JSON" } else { "binary" }
    );
    match vitrina_server::loadtest::run(opts).await {
        Ok(r) => {
            println!("{}\n{}", LoadReport::HEADER, r.row(&l.label));
            println!("(batches of {} bytes; {} duplicates)", r.batch_bytes, r.duplicates);
            if r.limited > 0 {
                eprintln!(
                    "loadtest: {} requests were refused with 429: start the server with --rate-limit 0",
                    r.limited
                );
            }
            if let Some(s) = &r.first_other {
                eprintln!("loadtest: {} requests got another answer, first: {s}", r.other);
            }
            if r.ok == 0 {
                eprintln!("loadtest: no request succeeded");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("vitrina-server: shutting down, flushing pending writes");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent_and_has_the_documented_defaults() {
        Cli::command().debug_assert();
        let Cmd::Serve(a) = Cli::try_parse_from(["vitrina-server", "serve"]).unwrap().cmd else { panic!("serve") };
        assert_eq!(a.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(a.data, PathBuf::from(".vitrina-data"));
        assert_eq!((a.max_body, a.min_count), (1 << 20, 5));
        assert_eq!((a.database, a.rate_limit, a.rate_burst, a.retention_days), (None, 50.0, 200, 180));
        let Cmd::Loadtest(l) = Cli::try_parse_from(["vitrina-server", "loadtest"]).unwrap().cmd else {
            panic!("loadtest")
        };
        assert_eq!((l.url.as_str(), l.seconds, l.batch, l.connections), ("http://127.0.0.1:8080", 10.0, 20, 64));
        let Cmd::Serve(a) = Cli::try_parse_from([
            "vitrina-server",
            "serve",
            "--origin",
            "https://a.example",
            "--origin",
            "https://b.example",
        ])
        .unwrap()
        .cmd
        else {
            panic!("serve")
        };
        assert_eq!(a.origins, ["https://a.example", "https://b.example"]);
    }

    #[test]
    fn model_commands_parse() {
        use vitrina_server::model_cmd::ModelCmd;
        let Cmd::Serve(a) = Cli::try_parse_from(["vitrina-server", "serve"]).unwrap().cmd else { panic!("serve") };
        assert_eq!(a.model_every, 60);
        let Cmd::Eval(e) =
            Cli::try_parse_from(["vitrina-server", "eval", "--train", "a", "--test", "b", "k=10", "repeat=2"])
                .unwrap()
                .cmd
        else {
            panic!("eval")
        };
        assert_eq!((e.train.to_str(), e.test.to_str(), e.params.len()), (Some("a"), Some("b"), 2));
        let Cmd::Model(m) =
            Cli::try_parse_from(["vitrina-server", "model", "build", "--sessions", "s.txt", "neighbours=20"])
                .unwrap()
                .cmd
        else {
            panic!("model")
        };
        let ModelCmd::Build(b) = m.cmd;
        assert_eq!(
            (b.data, b.shards, b.min_clients, b.params),
            (PathBuf::from(".vitrina-data"), 0, 2, vec!["neighbours=20".into()])
        );
        assert!(
            Cli::try_parse_from(["vitrina-server", "model", "build", "--sessions", "s", "--database", "x"]).is_err()
        );
    }
}
