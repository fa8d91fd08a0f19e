//! The `eval` and `model` subcommands (the CLI in `main.rs` only dispatches here).
//!
//! ```text
//! vitrina-server eval --train FILE --test FILE [--quiet] [--save-model FILE] [name=value ...]
//! vitrina-server model build [--data DIR | --database URL | --sessions FILE] [--out DIR]
//!                            [--shards N] [--half-life-days D] [--popular-half-life-days D]
//!                            [--min-clients N] [--keep N] [--json] [name=value ...]
//! ```
//!
//! `eval` prints one JSON object on stdout (see [`crate::eval`]), progress on
//! stderr. `model build` writes a model version (see [`crate::model_srv`]) and
//! prints a summary. Both exit with 2 on bad arguments, 1 when the work fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::eval::EvalOptions;
use crate::model_srv::{self, Collected, ModelOptions};
use crate::store::{Store, StoreOptions};

/// `vitrina-server eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Training sessions: one per line, item ids separated by spaces, oldest first.
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Test sessions, same format (every prefix predicts the next item).
    #[arg(long, value_name = "FILE")]
    pub test: PathBuf,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Also write the encoded model built from --train (for benchmarks outside Rust).
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
    /// Build and ranking parameters, e.g. neighbours=30 repeat=2 (see server/src/eval.rs).
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// `vitrina-server model ...`.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: ModelCmd,
}

/// The `model` subcommands.
#[derive(Subcommand, Debug)]
pub enum ModelCmd {
    /// Build the public item-to-item model from the stored events (or a sessions file) and write a new version.
    Build(BuildArgs),
}

/// `vitrina-server model build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Data directory of the server (its database DIR/vitrina.db is only read, so a server may be running).
    #[arg(long, value_name = "DIR", default_value = ".vitrina-data")]
    pub data: PathBuf,
    /// Read the events from PostgreSQL instead of DIR/vitrina.db.
    #[arg(long, value_name = "URL", conflicts_with = "sessions")]
    pub database: Option<String>,
    /// Build from a sessions file instead (numeric ids separated by spaces, one session per line, oldest first).
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,
    /// Where the versions are written (default DIR/model, where serve looks).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Number of shards; 0 chooses it so that a shard holds about 3 KB.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub shards: u32,
    /// Half-life of a session's weight in the lists, in days (stored events; 0: no decay).
    #[arg(long, value_name = "DAYS", default_value_t = ModelOptions::default().half_life_days)]
    pub half_life_days: f64,
    /// Half-life of a session's weight in the popular list, in days (stored events; 0: no decay).
    #[arg(long, value_name = "DAYS", default_value_t = ModelOptions::default().popular_half_life_days)]
    pub popular_half_life_days: f64,
    /// Distinct clients an item, and a pair of items, needs to be in the model (stored events).
    #[arg(long, value_name = "N", default_value_t = ModelOptions::default().min_clients)]
    pub min_clients: u32,
    /// Versions kept on disk.
    #[arg(long, value_name = "N", default_value_t = ModelOptions::default().keep)]
    pub keep: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Build parameters, e.g. neighbours=30 window=5 (see vitrina::model::BuildParams).
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// Runs `eval`.
pub fn eval(a: EvalArgs) -> ExitCode {
    let mut opts = EvalOptions { progress: !a.quiet, ..EvalOptions::default() };
    if let Err(e) = opts.set_all(a.params.iter().map(String::as_str)) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if let Some(path) = &a.save_model {
        let saved = crate::eval::read_sessions(&a.train).and_then(|s| {
            let model = vitrina::model::ModelBuilder::from_sessions(&s, opts.build.clone());
            std::fs::write(path, model.encode()).map_err(|e| format!("{}: {e}", path.display()))
        });
        if let Err(e) = saved {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    match crate::eval::run_eval(&a.train, &a.test, &opts) {
        Ok(r) => {
            println!("{}", r.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `model ...`.
pub async fn model(a: ModelArgs) -> ExitCode {
    match a.cmd {
        ModelCmd::Build(b) => build(b).await,
    }
}

fn options_of(b: &BuildArgs) -> Result<ModelOptions, String> {
    let mut o = EvalOptions::default();
    for p in &b.params {
        let (k, _) = p.split_once('=').ok_or_else(|| format!("expected name=value, got {p:?}"))?;
        if !EvalOptions::BUILD_KEYS.contains(&k.trim()) {
            return Err(format!(
                "{:?} is not a build parameter (known: {})",
                k.trim(),
                EvalOptions::BUILD_KEYS.join(", ")
            ));
        }
        o.set_all([p.as_str()])?;
    }
    let finite = |name: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("--{name} must be a number of days, 0 or more"))
        }
    };
    Ok(ModelOptions {
        params: o.build,
        half_life_days: finite("half-life-days", b.half_life_days)?,
        popular_half_life_days: finite("popular-half-life-days", b.popular_half_life_days)?,
        min_clients: b.min_clients,
        shards: b.shards,
        keep: b.keep.max(1),
        ..ModelOptions::default()
    })
}

async fn build(b: BuildArgs) -> ExitCode {
    let opts = match options_of(&b) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let out = b.out.clone().unwrap_or_else(|| b.data.join("model"));
    let built = match (&b.sessions, &b.database) {
        (Some(file), _) => {
            let (file, out, opts) = (file.clone(), out.clone(), opts.clone());
            tokio::task::spawn_blocking(move || model_srv::build_file_into(&file, &opts, &out))
                .await
                .unwrap_or_else(|_| Err("the build panicked".into()))
        }
        (None, Some(url)) => build_from_postgres(url, &opts, &out).await,
        (None, None) => {
            let (data, out, opts) = (b.data.clone(), out.clone(), opts.clone());
            tokio::task::spawn_blocking(move || build_from_sqlite(&data, &opts, &out))
                .await
                .unwrap_or_else(|_| Err("the build panicked".into()))
        }
    };
    match built {
        Ok(s) => {
            if b.json {
                println!("{}", serde_json::to_string(&s).unwrap_or_default());
            } else {
                println!("{}", s.text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `DATA/vitrina.db` read-only (no lock: a server may be writing it).
fn build_from_sqlite(
    data: &std::path::Path,
    opts: &ModelOptions,
    out: &std::path::Path,
) -> Result<model_srv::Summary, String> {
    use rusqlite::{Connection, OpenFlags};
    let path = data.join(crate::store::DB_FILE);
    if !path.is_file() {
        return Err(format!(
            "no database at {}: pass the server's --data DIR (or --database URL, or --sessions FILE)",
            path.display()
        ));
    }
    let t = Instant::now();
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .and_then(|c| c.execute_batch("PRAGMA busy_timeout = 5000;").map(|()| c))
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut c = Collected::new(None);
    crate::store::read_model_rows(&conn, crate::popularity::FLAG_RULE, &mut |r| c.push(r))
        .map_err(|e| format!("reading the sessions from {}: {e}", path.display()))?;
    model_srv::build_events_into(&c, opts, out, t.elapsed().as_millis() as u64)
}

async fn build_from_postgres(
    url: &str,
    opts: &ModelOptions,
    out: &std::path::Path,
) -> Result<model_srv::Summary, String> {
    let t = Instant::now();
    let url = url.to_owned();
    let store = tokio::task::spawn_blocking(move || Store::open_postgres(&url, StoreOptions::default()))
        .await
        .map_err(|_| "connecting panicked".to_string())?
        .map_err(|e| e.to_string())?;
    let sink = std::sync::Arc::new(std::sync::Mutex::new(Collected::new(None)));
    let f = {
        let sink = sink.clone();
        move |r: crate::store::ModelRow<'_>| sink.lock().unwrap_or_else(|e| e.into_inner()).push(r)
    };
    let read = store.model_rows(crate::popularity::FLAG_RULE, f).await.map(drop);
    let _ = store.close().await;
    read.map_err(|e| format!("reading the sessions: {e}"))?;
    let c = std::sync::Arc::try_unwrap(sink)
        .map_err(|_| "the session reader is still running".to_string())?
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let (opts, out, read_ms) = (opts.clone(), out.to_owned(), t.elapsed().as_millis() as u64);
    tokio::task::spawn_blocking(move || model_srv::build_events_into(&c, &opts, &out, read_ms))
        .await
        .unwrap_or_else(|_| Err("the build panicked".into()))
}
