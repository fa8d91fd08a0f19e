//! Replays the Taobao UserBehavior sample (`../shared/data/taobao/user_behavior_sample.csv`,
//! next to the repository) through the core, one `Engine` per shopper, and prints a
//! short table: stored profile sizes (median, p90, max) and how often the profile's top
//! category matches the recency-weighted reference. The replay and the reference live in
//! `tests/taobao_replay.rs`, which asserts on the same figures.
//!
//! ```text
//! cargo run --release --example replay_taobao
//! ```

#[path = "../tests/taobao_replay.rs"]
mod taobao;

fn main() {
    let Some(shoppers) = taobao::load() else {
        println!("SKIPPED: ../shared/data not found ({} is absent)", taobao::data_path().display());
        return;
    };
    let shoppers = match shoppers {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot read {}: {e}", taobao::data_path().display());
            std::process::exit(1);
        }
    };
    let t = std::time::Instant::now();
    let r = taobao::run(&shoppers);
    print!("{}", r.table());
    println!("replayed in {:.2} s", t.elapsed().as_secs_f64());
    if !r.rejected.is_empty() {
        println!("first rejections: {:?}", &r.rejected[..r.rejected.len().min(5)]);
    }
}
