//! Runs the offline evaluation (see `server/src/eval.rs`) until it is wired into
//! the server CLI as `vitrina-server eval`:
//!
//! ```text
//! cargo run --release -p vitrina-server --example eval -- \
//!     --train /tmp/dg_train.txt --test /tmp/dg_valid.txt [name=value ...]
//! ```
//!
//! Prints one JSON object on stdout; progress on stderr.

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
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train = args.next().map(PathBuf::from),
            "--test" => test = args.next().map(PathBuf::from),
            "--quiet" => opts.progress = false,
            _ => sets.push(a),
        }
    }
    let (Some(train), Some(test)) = (train, test) else {
        eprintln!("usage: eval --train FILE --test FILE [--quiet] [name=value ...]");
        eprintln!("parameters: {}", eval::EvalOptions::KEYS.join(", "));
        std::process::exit(2);
    };
    if let Err(e) = opts.set_all(sets.iter().map(String::as_str)) {
        eprintln!("eval: {e}");
        std::process::exit(2);
    }
    match eval::run_eval(&train, &test, &opts) {
        Ok(report) => println!("{}", report.to_json()),
        Err(e) => {
            eprintln!("eval: {e}");
            std::process::exit(1);
        }
    }
}
