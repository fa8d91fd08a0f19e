//! Data-driven tests of the on-device profile: small event streams in
//! `tests/fixtures/profile/*.txt` are replayed through `vitrina::engine::Engine`
//! (begin / set / set_num / commit with an explicit `now`) and the resulting profile
//! is summarized and compared with the expected summary at the end of the file.
//!
//! ```text
//! cargo test --test profile_fixtures                        # check every fixture
//! UPDATE_EXPECT=1 cargo test --test profile_fixtures        # rewrite the `== expect` sections
//! ```
//!
//! With `UPDATE_EXPECT=1` the part of each fixture after its `== expect` line is
//! replaced by what the code produces now (rust-analyzer `expect!` style); review the
//! diff with `git diff tests/fixtures/profile` before keeping it. The frozen v1
//! profile (`v1.b64`, `v1.expect`) is never rewritten: see [`frozen_v1_profile_still_decodes`].
//!
//! # The fixture format
//!
//! ```text
//! # comment (also after an event: `+0s view A  # first look`)
//! config retention_days=30 max_bytes=2000 max_recent=24 half_life_days=14
//! show stored                     # add the stored size to the summary
//! +0s   view SKU-1 shoes/running 89.90 Stride name="Trail Runner"
//! +90s  view SKU-1 dwell=1500
//! +2m   cart-add SKU-1 - - - qty=2
//! +1h30m purchase line=SKU-1:2:89.90 order=O-1
//! +3d   search query="Trail SHOES?"
//! +200d reload                    # store, then load in a new engine at this time
//! +210d at                        # only moves the time of the summary
//! == expect
//! recent (1): SKU-1[views=2 dwell=1500 name="Trail Runner"]
//! ...
//! ```
//!
//! * **Time** is an offset from the fixture's start, `T0` = 2023-11-14T22:13:20Z
//!   (1 700 000 000 000 ms): one or more `<number><unit>` with units `ms s m h d w`,
//!   e.g. `+0s`, `+29m59s`, `+2w3d`. It is the event's `now` (begin and commit).
//! * **Kind** is any name `Kind::parse` accepts (`view`, `cart-add`, `cart-remove`,
//!   `purchase`, `like`, `unlike`, `search`, `page`, `share`, `custom`, ...). An unknown
//!   kind is recorded as rejected, exactly like the engine's `begin` refusing it.
//! * **Positional values** after the kind fill, in order: item, category, price,
//!   brand; `-` leaves one out. The price is a JS-style number (`89.90`, `-1`) passed to
//!   `set_num(Num::Price)`.
//! * **`key=value`** sets any other field: `qty=2` (number), `dwell=1500` (number),
//!   `price=-1` (number), `price_text="89,90"` (text, parsed by the core), `name=`,
//!   `image=`, `url=` (item display data; for a `page` event `url=` is the page path),
//!   `currency=EUR`, `query="free text"` (normalized by the core), `term=x` (repeatable),
//!   `order=`, `slot=`, `rec=`, `event=` (custom event name), `item=`, `category=`,
//!   `brand=`, and `line=ITEM:QTY[:PRICE]` (a purchase line, repeatable).
//! * **Values** are bare words or `"quoted"` with the escapes `\\ \" \n \t \r \0 \u{HEX}`;
//!   a value may end with `*N` to repeat it N times: `name="x"*10240` is a 10 kB name.
//! * **Directives**: `+T reload` stores the profile (`profile_bytes()`), then loads it
//!   into a new engine with `load_profile(stored, now = T)`, which applies retention and
//!   shows the size bound's evictions; `+T at` only sets the summary time;
//!   `config k=v ...` (before the first event) sets `profile::Config`; `show stored`
//!   adds the stored size to the summary; `pin` marks a hand-written expectation (the
//!   right behaviour, for a test that fails until a bug is fixed): `UPDATE_EXPECT=1`
//!   never rewrites a pinned fixture.
//!
//! # The summary (the `== expect` section)
//!
//! Taken at the time of the last line. `recent` most recent first, with `views=` when
//! more than one, `dwell=` when non-zero and `name=` (abbreviated past 24 characters);
//! `cart` with quantity and unit price in hundredths; `likes` and `purchases` most recent
//! first; `categories` the five strongest category interests decayed to the summary
//! time (3 decimals); `brands` the three strongest; `sessions` the sessions that have
//! events, current first, as `events[items viewed]`; `queued` the events waiting for
//! delivery and `terms` the normalized terms of queued searches; `rejected` the events
//! the engine refused, with the line and reason.
//!
//! # Invariants checked on every fixture, whatever its expectations
//!
//! * A rejected event changes nothing: the profile and the outbox are exactly as before.
//! * The stored form is within `max_bytes`, decodes, and, when nothing had to be evicted,
//!   gives back the same recent/cart/likes/purchases/sessions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vitrina::codec;
use vitrina::engine::{Config, Engine, Field, Num};
use vitrina::event::{normalize_terms, parse_price};
use vitrina::profile::{self, Profile};

/// The fixtures' start time: 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000_000;
const CLIENT: [u8; 16] = [0x5a; 16];
const NONCE: u32 = 0x00c0_ffee;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/profile")
}

// ------------------------------------------------------------------------------ parsing

/// Splits a line into tokens: whitespace-separated, `"quoted strings"` kept whole
/// (quotes and escapes still in), a `#` outside quotes starts a comment.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if in_quote {
            cur.push(c);
            if c == '\\' {
                cur.push(chars.next().ok_or("a line ends in an escape")?);
            } else if c == '"' {
                in_quote = false;
            }
        } else if c == '"' {
            in_quote = true;
            cur.push(c);
        } else if c == '#' && cur.is_empty() {
            break;
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if in_quote {
        return Err("unterminated quote".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// A value: bare or quoted with escapes, optionally followed by `*N`.
fn value(raw: &str) -> Result<String, String> {
    let (body, rest) = if let Some(q) = raw.strip_prefix('"') {
        let mut s = String::new();
        let mut it = q.char_indices();
        let mut end = None;
        while let Some((i, c)) = it.next() {
            match c {
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                '\\' => match it.next().map(|x| x.1) {
                    Some('\\') => s.push('\\'),
                    Some('"') => s.push('"'),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some('u') => {
                        let hex: String =
                            it.by_ref().map(|x| x.1).skip_while(|&c| c == '{').take_while(|&c| c != '}').collect();
                        let cp = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad \\u{{{hex}}}"))?;
                        s.push(char::from_u32(cp).ok_or_else(|| format!("bad code point {hex}"))?);
                    }
                    other => return Err(format!("unknown escape \\{other:?} in {raw}")),
                },
                c => s.push(c),
            }
        }
        let end = end.ok_or_else(|| format!("unterminated quote in {raw}"))?;
        (s, &q[end..])
    } else {
        match raw.rfind("*") {
            Some(i) if raw[i + 1..].chars().all(|c| c.is_ascii_digit()) && i + 1 < raw.len() => {
                (raw[..i].to_owned(), &raw[i..])
            }
            _ => (raw.to_owned(), ""),
        }
    };
    match rest.strip_prefix('*') {
        None if rest.is_empty() => Ok(body),
        Some(n) => Ok(body.repeat(n.parse().map_err(|_| format!("bad repeat count in {raw}"))?)),
        None => Err(format!("unexpected {rest:?} after a quoted value in {raw}")),
    }
}

fn offset(t: &str) -> Result<u64, String> {
    let s = t.strip_prefix('+').ok_or_else(|| format!("a line starts with a time such as +0s, not {t:?}"))?;
    let mut total = 0u64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1
        } else {
            match c {
                's' => 1000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 7 * 86_400_000,
                _ => return Err(format!("bad time unit {c:?} in {t}")),
            }
        };
        let n: u64 = num.parse().map_err(|_| format!("bad time {t}"))?;
        total += n * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("bad time {t} (every number needs a unit: ms s m h d w)"));
    }
    Ok(total)
}

/// One line of a fixture, parsed.
enum Step {
    Event { line: usize, at: u64, kind: String, fields: Vec<(String, String)> },
    Reload { at: u64 },
    At { at: u64 },
}

struct Fixture {
    /// Everything up to and including the `== expect` line.
    head: String,
    cfg: profile::Config,
    show_stored: bool,
    pinned: bool,
    steps: Vec<Step>,
    expect: String,
}

const SEPARATOR: &str = "== expect";

fn parse(text: &str) -> Result<Fixture, String> {
    let (input, expect) = match text.find(&format!("\n{SEPARATOR}")) {
        Some(i) => {
            let after = &text[i + 1 + SEPARATOR.len()..];
            (&text[..i + 1], after.strip_prefix('\n').unwrap_or(after))
        }
        None => (text, ""),
    };
    let mut head = input.to_owned();
    if !head.ends_with('\n') {
        head.push('\n');
    }
    head.push_str(SEPARATOR);
    head.push('\n');
    let mut f = Fixture {
        head,
        cfg: profile::Config::default(),
        show_stored: false,
        pinned: false,
        steps: Vec::new(),
        expect: expect.to_owned(),
    };
    for (n, line) in input.lines().enumerate() {
        let line_no = n + 1;
        let err = |e: String| format!("line {line_no}: {e}");
        let toks = tokens(line).map_err(err)?;
        let Some(first) = toks.first() else { continue };
        match first.as_str() {
            "config" => {
                for kv in &toks[1..] {
                    let (k, v) = kv.split_once('=').ok_or_else(|| err(format!("config wants key=value, got {kv}")))?;
                    let bad = format!("line {line_no}: bad config value {kv}");
                    match k {
                        "half_life_days" => f.cfg.half_life_days = v.parse().map_err(|_| bad.clone())?,
                        "max_bytes" => f.cfg.max_bytes = v.parse().map_err(|_| bad.clone())?,
                        "retention_days" => f.cfg.retention_days = v.parse().map_err(|_| bad.clone())?,
                        "max_recent" => f.cfg.max_recent = v.parse().map_err(|_| bad.clone())?,
                        _ => return Err(err(format!("unknown config key {k}"))),
                    }
                }
            }
            "show" if toks.get(1).map(String::as_str) == Some("stored") => f.show_stored = true,
            "pin" => f.pinned = true,
            _ => {
                let at = T0 + offset(first).map_err(err)?;
                let kind =
                    toks.get(1).ok_or_else(|| err("a kind (or reload / at) must follow the time".into()))?.clone();
                match kind.as_str() {
                    "reload" => f.steps.push(Step::Reload { at }),
                    "at" => f.steps.push(Step::At { at }),
                    _ => {
                        let mut fields = Vec::new();
                        let positional = ["item", "category", "price", "brand"];
                        let mut pos = 0;
                        for t in &toks[2..] {
                            let is_kv = t
                                .find('=')
                                .is_some_and(|i| i > 0 && t[..i].chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                            if is_kv {
                                let (k, v) = t.split_once('=').unwrap_or_default();
                                fields.push((k.to_owned(), value(v).map_err(err)?));
                            } else {
                                let name = positional
                                    .get(pos)
                                    .ok_or_else(|| err(format!("too many positional values at {t}")))?;
                                pos += 1;
                                if t != "-" {
                                    fields.push(((*name).to_owned(), value(t).map_err(err)?));
                                }
                            }
                        }
                        f.steps.push(Step::Event { line: line_no, at, kind, fields });
                    }
                }
            }
        }
    }
    Ok(f)
}

// ------------------------------------------------------------------------------ replay

fn num(v: &str, key: &str, line: usize) -> f64 {
    v.parse().unwrap_or_else(|_| panic!("line {line}: {key}={v} is not a number"))
}

/// Feeds one event through the engine's builder, as the JS face does.
fn build(e: &mut Engine, line: usize, at: u64, kind: &str, fields: &[(String, String)]) -> bool {
    if !e.begin(kind, at) {
        return false;
    }
    for (k, v) in fields {
        match k.as_str() {
            "item" => e.set(Field::Item, v),
            "category" => e.set(Field::Category, v),
            "brand" => e.set(Field::Brand, v),
            "currency" => e.set(Field::Currency, v),
            "url" if kind == "page" => e.set(Field::Url, v),
            "url" => e.set(Field::InfoUrl, v),
            "slot" => e.set(Field::Slot, v),
            "rec" => e.set(Field::Rec, v),
            "order" => e.set(Field::Order, v),
            "event" => e.set(Field::Name, v),
            // What the glue does with a query and a price as text (www/src/text.js).
            "query" => normalize_terms(v).iter().for_each(|t| e.set(Field::Term, t)),
            "term" => e.set(Field::Term, v),
            "name" => e.set(Field::InfoName, v),
            "image" => e.set(Field::InfoImage, v),
            "price_text" => e.set_num(Num::Price, parse_price(v).map_or(f64::NAN, |c| c as f64 / 100.0)),
            "price" => e.set_num(Num::Price, num(v, k, line)),
            "qty" => e.set_num(Num::Qty, num(v, k, line)),
            "dwell" => e.set_num(Num::Dwell, num(v, k, line)),
            "line" => {
                let mut p = v.split(':');
                let item = p.next().unwrap_or("");
                let qty = p.next().map_or(1.0, |q| num(q, "line qty", line));
                let price = p.next().map_or(f64::NAN, |q| num(q, "line price", line));
                e.add_line(item, qty, price);
            }
            other => panic!("line {line}: unknown field {other}"),
        }
    }
    true
}

fn new_engine(cfg: &profile::Config) -> Engine {
    let mut c = Config::new("fixtures");
    c.profile = cfg.clone();
    Engine::new(c, CLIENT, NONCE)
}

struct Outcome {
    engine: Engine,
    at: u64,
    rejected: Vec<String>,
    queued: usize,
    terms: Vec<String>,
    invariant_failures: Vec<String>,
}

fn replay(f: &Fixture) -> Outcome {
    let mut engine = new_engine(&f.cfg);
    let mut at = T0;
    let mut rejected = Vec::new();
    let mut bad = Vec::new();
    // Events handed to the outbox, and the ones moved out of a replaced engine.
    let mut carried: Vec<vitrina::event::Event> = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        match step {
            Step::Event { line, at: t, kind, fields } => {
                at = *t;
                let before = engine.profile.clone();
                let waiting = engine.waiting_events();
                let rand = 1000 + i as u32;
                let result = if build(&mut engine, *line, at, kind, fields) {
                    engine.commit(at, true, rand).map_err(|e| e.message())
                } else {
                    Err(format!("unknown kind {kind:?}"))
                };
                if let Err(why) = result {
                    rejected.push(format!("L{line} {kind}: {why}"));
                    if engine.profile != before {
                        bad.push(format!("line {line}: the rejected {kind} event changed the profile"));
                    }
                    if engine.waiting_events() != waiting {
                        bad.push(format!("line {line}: the rejected {kind} event was queued"));
                    }
                }
            }
            Step::Reload { at: t } => {
                at = *t;
                let stored = engine.profile_bytes();
                for (_, b) in engine.leaving() {
                    carried.extend(codec::decode(&b).expect("the engine's own batch decodes").events);
                }
                let mut next = new_engine(&f.cfg);
                if let Err(e) = next.load_profile(&stored, at) {
                    bad.push(format!("reload at +{} ms: the stored profile does not load: {e}", at - T0));
                }
                engine = next;
            }
            Step::At { at: t } => at = *t,
        }
    }
    for (_, b) in engine.leaving() {
        carried.extend(codec::decode(&b).expect("the engine's own batch decodes").events);
    }
    let terms = carried.iter().filter(|e| !e.terms.is_empty()).map(|e| e.terms.join(" ")).collect();
    // The stored form: bounded, decodable, and exact when nothing was evicted.
    let bytes = engine.profile.encode(&f.cfg);
    if bytes.len() > f.cfg.max_bytes {
        bad.push(format!("the stored profile is {} bytes, over the bound of {}", bytes.len(), f.cfg.max_bytes));
    }
    match Profile::decode(&bytes) {
        Err(e) => bad.push(format!("the stored profile does not decode: {e}")),
        Ok(q) => {
            let unbounded = profile::Config { max_bytes: usize::MAX, ..f.cfg.clone() };
            let raw = engine.profile.encode(&unbounded).len();
            let p = &engine.profile;
            if raw <= f.cfg.max_bytes
                && (q.recent != p.recent
                    || q.cart != p.cart
                    || q.likes != p.likes
                    || q.purchases != p.purchases
                    || q.session != p.session
                    || q.past != p.past)
            {
                bad.push("the stored profile does not give back the same recent/cart/likes/purchases/sessions".into());
            }
        }
    }
    Outcome { queued: carried.len(), engine, at, rejected, terms, invariant_failures: bad }
}

// ------------------------------------------------------------------------------ summary

fn abbrev(s: &str) -> String {
    let shown: String = s.chars().take(24).collect();
    let esc = |x: &str| x.escape_debug().to_string();
    if shown.len() < s.len() {
        format!("\"{}…\"({} bytes)", esc(&shown), s.len())
    } else {
        format!("\"{}\"", esc(s))
    }
}

fn list<T>(out: &mut String, label: &str, items: &[T], f: impl Fn(&T) -> String) {
    let body: Vec<String> = items.iter().map(f).collect();
    let _ = writeln!(out, "{label} ({}):{}{}", items.len(), if body.is_empty() { "" } else { " " }, body.join(" | "));
}

/// The profile as the fixtures' `== expect` section shows it, at time `now`.
fn summary(p: &Profile, cfg: &profile::Config, now: u64) -> String {
    let mut s = String::new();
    list(&mut s, "recent", &p.recent, |r| {
        let mut d = Vec::new();
        if r.views != 1 {
            d.push(format!("views={}", r.views));
        }
        if r.dwell_ms > 0 {
            d.push(format!("dwell={}", r.dwell_ms));
        }
        if let Some(n) = &r.info.name {
            d.push(format!("name={}", abbrev(n)));
        }
        if d.is_empty() {
            r.item.clone()
        } else {
            format!("{}[{}]", r.item, d.join(" "))
        }
    });
    list(&mut s, "cart", &p.cart, |l| match l.price {
        Some(pr) => format!("{} qty={} price={pr}", l.item, l.qty),
        None => format!("{} qty={}", l.item, l.qty),
    });
    list(&mut s, "likes", &p.likes, |l| l.0.clone());
    list(&mut s, "purchases", &p.purchases, |l| l.0.clone());
    let top = |prefix: &str, n: usize| -> Vec<String> {
        p.top(prefix, n, now, cfg)
            .into_iter()
            .filter(|(_, v)| *v >= 0.0005)
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect()
    };
    let _ = writeln!(s, "categories: {}", top("c:", 5).join(" | "));
    let _ = writeln!(s, "brands: {}", top("b:", 3).join(" | "));
    let sessions: Vec<&profile::Session> =
        std::iter::once(&p.session).chain(&p.past).filter(|x| x.events > 0).collect();
    list(&mut s, "sessions", &sessions, |x| format!("{}[{}]", x.events, x.items.join(" ")));
    s
}

fn render(f: &Fixture, o: &Outcome) -> String {
    let mut s = summary(&o.engine.profile, &f.cfg, o.at);
    let _ = writeln!(s, "queued: {}", o.queued);
    if !o.terms.is_empty() {
        let _ = writeln!(s, "terms: {}", o.terms.join(" | "));
    }
    if !o.rejected.is_empty() {
        s.push_str("rejected:\n");
        for r in &o.rejected {
            let _ = writeln!(s, "  {r}");
        }
    }
    if f.show_stored {
        let bytes = o.engine.profile.encode(&f.cfg).len();
        let _ = writeln!(s, "stored: {bytes} bytes (bound {})", f.cfg.max_bytes);
    }
    s
}

// ------------------------------------------------------------------------------ checking

fn updating() -> bool {
    std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1")
}

/// Line-by-line difference, for a readable failure.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {
                let _ = writeln!(out, "   {a}");
            }
            (a, b) => {
                if let Some(a) = a {
                    let _ = writeln!(out, " - {a}");
                }
                if let Some(b) = b {
                    let _ = writeln!(out, " + {b}");
                }
            }
        }
    }
    out
}

/// Replays `tests/fixtures/profile/<name>.txt` and compares (or, with
/// `UPDATE_EXPECT=1`, rewrites) its expected summary.
fn check(name: &str) {
    let path = dir().join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let o = replay(&f);
    assert!(o.invariant_failures.is_empty(), "{name}: invariants broken:\n  {}", o.invariant_failures.join("\n  "));
    let got = render(&f, &o);
    if got == f.expect {
        return;
    }
    if updating() && !f.pinned {
        std::fs::write(&path, format!("{}{}", f.head, got)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("updated {}", path.display());
        return;
    }
    let hint = if f.pinned {
        "This fixture is pinned: its expectation is the right behaviour, written by hand; fix the code, not the fixture."
    } else {
        "If the change is intended, run `UPDATE_EXPECT=1 cargo test --test profile_fixtures` and review the diff."
    };
    panic!(
        "fixture {name} ({}): the profile differs from `{SEPARATOR}` (- expected, + got).\n{hint}\n{}",
        path.display(),
        diff(&f.expect, &got)
    );
}

macro_rules! fixtures {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { check(stringify!($name)); } )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

fixtures!(
    decay_over_weeks,
    recent_dedup,
    recent_bounded,
    cart_quantities,
    purchase_clears_cart,
    like_unlike,
    session_split,
    sessions_bounded,
    retention_purge_on_load,
    size_bound_eviction,
    size_bound_tight,
    invalid_events_dropped,
    invalid_item_info,
    search_terms_normalized,
    dwell_reports,
);

#[test]
fn every_fixture_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/fixtures/profile")
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".txt").map(str::to_owned))
        .collect();
    files.sort();
    let missing: Vec<&String> = files.iter().filter(|f| !NAMES.contains(&f.as_str())).collect();
    assert!(missing.is_empty(), "fixtures without a test (add them to `fixtures!`): {missing:?}");
    assert!(NAMES.len() >= 10);
}

#[test]
fn the_fixture_format_parses_what_the_header_documents() {
    assert_eq!(offset("+0s"), Ok(0));
    assert_eq!(offset("+29m59s"), Ok(29 * 60_000 + 59_000));
    assert_eq!(offset("+2w3d"), Ok(17 * 86_400_000));
    assert_eq!(offset("+1500ms"), Ok(1500));
    assert!(offset("+5").is_err() && offset("5s").is_err());
    assert_eq!(value(r#""a\"b\u{7}""#).unwrap(), "a\"b\u{7}");
    assert_eq!(value(r#""xy"*3"#).unwrap(), "xyxyxy");
    assert_eq!(value("x*4").unwrap(), "xxxx");
    assert_eq!(value("89.90").unwrap(), "89.90");
    assert_eq!(
        tokens(r#"+0s view "a b" name="c # d" # comment"#).unwrap(),
        ["+0s", "view", "\"a b\"", "name=\"c # d\""]
    );
}

// ------------------------------------------------------------------------------ frozen v1

/// A version-1 profile stored by a browser must stay readable by every later version
/// (shoppers keep it in localStorage for months). `v1.b64` was written once, on
/// 2026-11-22, by [`write_frozen_v1`] from the stream in `v1.source`; `v1.expect` is
/// its summary at the time of its last event. Neither is ever regenerated: a format
/// change must keep a migration that decodes this string to the same profile.
#[test]
fn frozen_v1_profile_still_decodes() {
    let b64 = std::fs::read_to_string(dir().join("v1.b64")).expect("tests/fixtures/profile/v1.b64");
    let want = std::fs::read_to_string(dir().join("v1.expect")).expect("tests/fixtures/profile/v1.expect");
    let bytes = codec::b64_decode(b64.trim()).expect("v1.b64 is base64");
    assert_eq!(bytes.first(), Some(&1), "v1.b64 is a version-1 profile");
    let cfg = profile::Config::default();
    let mut e = new_engine(&cfg);
    let at = Profile::decode(&bytes)
        .map(|p| p.updated)
        .unwrap_or_else(|err| panic!("the frozen v1 profile no longer decodes: {err}"));
    e.load_profile(&bytes, at).expect("Engine::load_profile of the frozen v1 profile");
    let got = summary(&e.profile, &cfg, at);
    assert!(
        got == want,
        "the frozen v1 profile decodes to a different profile (- v1.expect, + got):\n{}",
        diff(&want, &got)
    );
    // Field by field, what the summary leaves out.
    let p = &e.profile;
    assert_eq!(p.updated, T0 + 26 * 86_400_000 + 40 * 60_000);
    let r = &p.recent[0];
    assert_eq!((r.item.as_str(), r.category.as_deref(), r.price), ("SKU-7", Some("outdoor/tents"), Some(24900)));
    assert_eq!(r.info.image.as_deref(), Some("/img/SKU-7.svg"));
    assert_eq!(r.info.url.as_deref(), Some("/shop/product.html?sku=SKU-7"));
    let first = p.recent.last().expect("six recent items");
    assert_eq!(
        (first.item.as_str(), first.category.as_deref(), first.price, first.views, first.dwell_ms),
        ("SKU-1", Some("shoes/running"), Some(8990), 1, 45_000)
    );
    assert_eq!(
        (first.info.image.as_deref(), first.info.url.as_deref()),
        (Some("/img/SKU-1.svg"), Some("/shop/product.html?sku=SKU-1"))
    );
    assert_eq!((first.ts, p.recent[2].info.name.as_deref()), (T0 + 2 * 60_000, Some("Çatı Şişe 0,75 l")));
    assert_eq!(
        (p.cart[0].item.as_str(), p.cart[0].qty, p.cart[0].price, p.cart[0].ts),
        ("SKU-4", 3, Some(1250), T0 + 2 * 86_400_000 + 5 * 60_000)
    );
    assert_eq!(p.likes, [("SKU-5".to_owned(), T0 + 9 * 86_400_000 + 60_000), ("SKU-2".to_owned(), T0 + 6 * 60_000)]);
    assert_eq!(p.purchases, [("SKU-1".to_owned(), T0 + 2 * 86_400_000)]);
    assert_eq!(
        (p.session.start, p.session.last, p.session.events, p.past.len()),
        (T0 + 26 * 86_400_000 + 30 * 60_000, p.updated, 3, 3)
    );
    let keys: Vec<&str> = p.affinity.iter().map(|a| a.key.as_str()).collect();
    for k in ["c:shoes", "c:shoes/running", "c:outdoor/tents", "b:Stride", "b:Peak"] {
        assert!(keys.contains(&k), "interest {k} missing from {keys:?}");
    }
    assert!(keys.iter().any(|k| k.starts_with("p:")), "price bands missing from {keys:?}");
}

/// The frozen v1 fixture exists (it must never be regenerated). With
/// `WRITE_FROZEN_V1=1` and no fixture yet, writes `v1.b64` and `v1.expect` from
/// `v1.source`, once.
#[test]
fn write_frozen_v1() {
    let (b64, expect) = (dir().join("v1.b64"), dir().join("v1.expect"));
    if std::env::var_os("WRITE_FROZEN_V1").is_none() {
        assert!(b64.exists() && expect.exists(), "the frozen v1 fixture is missing: it must be committed");
        return;
    }
    assert!(!b64.exists() && !expect.exists(), "the frozen v1 fixture exists and must never be regenerated");
    let f = parse(&std::fs::read_to_string(dir().join("v1.source")).expect("v1.source")).expect("v1.source parses");
    let o = replay(&f);
    assert!(o.rejected.is_empty() && o.invariant_failures.is_empty());
    // The expectation is what the stored string decodes to (scores kept to the thousandth).
    let stored = codec::b64_encode(&o.engine.profile_bytes());
    let mut e = new_engine(&f.cfg);
    e.load_profile(&o.engine.profile_bytes(), o.engine.profile.updated).expect("the new v1 profile loads");
    std::fs::write(&b64, format!("{stored}\n")).unwrap();
    std::fs::write(&expect, summary(&e.profile, &f.cfg, e.profile.updated)).unwrap();
}
