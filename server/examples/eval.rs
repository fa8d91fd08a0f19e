//! Runs the offline evaluation (see `server/src/eval.rs`) until it is wired into
//! the server CLI as `vitrina-server eval`:
//!
//! ```text
//! cargo run --release -p vitrina-server --example eval -- \
//!     --train /tmp/dg_train.txt --test /tmp/dg_valid.txt [name=value ...]
//! ```
//!
//! Prints one JSON object on stdout; progress on stderr. `--save-model FILE` also
//! writes the encoded model (for benchmarks outside Rust, e.g. the wasm build).

#[path = "../src/eval.rs"]
#[allow(dead_code)]
mod eval;

use std::path::PathBuf;

fn main() {
    let mut train = None;
    let mut test = None;
    let mut opts = eval::EvalOptions::default();
    let mut args = std::env::args().skip(1);
    let mut sets = Vec::new();
    let mut save_model: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train = args.next().map(PathBuf::from),
            "--test" => test = args.next().map(PathBuf::from),
            "--quiet" => opts.progress = false,
            "--save-model" => save_model = args.next().map(PathBuf::from),
            _ => sets.push(a),
        }
    }
    let (Some(train), Some(test)) = (train, test) else {
        eprintln!("usage: eval --train FILE --test FILE [--quiet] [--save-model FILE] [name=value ...]");
        eprintln!("parameters: {}", eval::EvalOptions::KEYS.join(", "));
        std::process::exit(2);
    };
    if let Err(e) = opts.set_all(sets.iter().map(String::as_str)) {
        eprintln!("eval: {e}");
        std::process::exit(2);
    }
    if let Some(path) = save_model {
        let sessions = eval::read_sessions(&train).unwrap_or_else(|e| {
            eprintln!("eval: {e}");
            std::process::exit(1)
        });
        let model = vitrina::model::ModelBuilder::from_sessions(&sessions, opts.build.clone());
        if let Err(e) = std::fs::write(&path, model.encode()) {
            eprintln!("eval: {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    match eval::run_eval(&train, &test, &opts) {
        Ok(report) => println!("{}", report.to_json()),
        Err(e) => {
            eprintln!("eval: {e}");
            std::process::exit(1);
        }
    }
}
