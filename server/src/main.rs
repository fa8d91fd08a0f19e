//! `vitrina-server`: the command line around the `vitrina_server` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vitrina_server::{Config, Server};

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
}

#[derive(Args)]
struct Serve {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Data directory, created if missing; the database is DIR/vitrina.db.
    #[arg(long, value_name = "DIR", default_value = ".vitrina-data")]
    data: PathBuf,
    /// Widget files served at the root (/vitrina.js, /vitrina-core.js, /vitrina_core_bg.wasm).
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let Cmd::Serve(a) = Cli::parse().cmd;
    let config = Config {
        addr: a.addr,
        data_dir: a.data,
        widget_dir: a.widget,
        demo_dir: a.demo,
        admin_token: a.admin_token,
        origins: a.origins,
        max_body: a.max_body,
        min_count: a.min_count,
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
        let Cmd::Serve(a) = Cli::try_parse_from(["vitrina-server", "serve"]).unwrap().cmd;
        assert_eq!(a.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(a.data, PathBuf::from(".vitrina-data"));
        assert_eq!((a.max_body, a.min_count), (1 << 20, 5));
        let Cmd::Serve(a) = Cli::try_parse_from([
            "vitrina-server",
            "serve",
            "--origin",
            "https://a.example",
            "--origin",
            "https://b.example",
        ])
        .unwrap()
        .cmd;
        assert_eq!(a.origins, ["https://a.example", "https://b.example"]);
    }
}
