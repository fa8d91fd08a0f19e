//! Grid search over evaluation parameters (development tool, see `server/src/eval.rs`):
//!
//! ```text
//! cargo run --release -p vitrina-server --example tune -- \
//!     --train /tmp/dg_train.txt --test /tmp/dg_valid.txt [name=value ...] [--grid name=v1,v2,...]...
//! ```
//!
//! Builds one model per distinct build configuration and ranks with every ranking
//! configuration on two threads. Prints one line per combination:
//! `hr mrr name=value ...` (only the grid parameters).

use vitrina_server::eval;

use std::path::PathBuf;

const RANK_KEYS: &[&str] = &["k", "max_items", "position_decay", "repeat", "repeat_decay", "popularity"];

fn main() {
    let (mut train, mut test) = (None, None);
    let mut base = eval::EvalOptions { progress: false, ..Default::default() };
    let mut grid: Vec<(String, Vec<String>)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--train" => train = args.next().map(PathBuf::from),
            "--test" => test = args.next().map(PathBuf::from),
            "--grid" => {
                let g = args.next().expect("--grid name=v1,v2");
                let (k, v) = g.split_once('=').expect("--grid name=v1,v2");
                grid.push((k.to_string(), v.split(',').map(str::to_string).collect()));
            }
            s => base.set_all([s]).unwrap_or_else(|e| panic!("{e}")),
        }
    }
    let train_s = eval::read_sessions(&train.expect("--train")).unwrap();
    let test_s = eval::filter_test(&train_s, &eval::read_sessions(&test.expect("--test")).unwrap());
    // Build grid first (outer), rank grid inner.
    let (bgrid, rgrid): (Vec<_>, Vec<_>) = grid.into_iter().partition(|(k, _)| !RANK_KEYS.contains(&k.as_str()));
    let combos = |g: &[(String, Vec<String>)]| -> Vec<Vec<(String, String)>> {
        let mut out = vec![vec![]];
        for (k, vs) in g {
            out = out
                .into_iter()
                .flat_map(|c| {
                    vs.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        out
    };
    for bc in combos(&bgrid) {
        let mut o = base.clone();
        for (k, v) in &bc {
            o.set(k, v).unwrap();
        }
        let (model, bytes, _) = eval::build_model(&train_s, &o.build).unwrap();
        let rcs = combos(&rgrid);
        let results: Vec<(eval::Metrics, Vec<(String, String)>)> = std::thread::scope(|sc| {
            let chunks: Vec<_> = rcs.chunks(rcs.len().div_ceil(2).max(1)).collect();
            let hs: Vec<_> = chunks
                .into_iter()
                .map(|ch| {
                    let (o, model, test_s) = (&o, &model, &test_s);
                    sc.spawn(move || {
                        ch.iter()
                            .map(|rc| {
                                let mut o = o.clone();
                                for (k, v) in rc {
                                    o.set(k, v).unwrap();
                                }
                                (eval::evaluate(model, test_s, &o.rank, o.k, false), rc.clone())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for (m, rc) in results {
            let desc: Vec<String> = bc.iter().chain(rc.iter()).map(|(k, v)| format!("{k}={v}")).collect();
            println!("{:.2} {:.2} bytes={} {}", m.hr, m.mrr, bytes, desc.join(" "));
        }
    }
}
