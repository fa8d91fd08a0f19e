//! The wasm binding (`Core`) tested from inside headless Chromium:
//! `cargo test --lib --target wasm32-unknown-unknown` (wasm-bindgen-test-runner + chromedriver).
//!
//! Since the browser I/O moved to the JS face (www/src/: storage fallback, config checks,
//! DOM capture, rendering), this binding holds no page state: each test builds its own
//! `Core`. The JS glue itself (localStorage throwing or full, a corrupt stored profile,
//! bad configs, erase) is tested in the browser by tests/e2e/glue.test.mjs.
//!
//! Every call goes through the exported class as JS sees it: arguments are JS strings
//! and numbers (NaN and negative values included), results are what JS receives.

use super::Core;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

// The few JS built-ins these tests need (the crate has no js-sys dependency).
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(s: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify)]
    fn json_stringify(v: &JsValue) -> JsValue;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    fn reflect_get(o: &JsValue, k: &JsValue) -> JsValue;
    #[wasm_bindgen(js_namespace = Array, js_name = isArray)]
    fn is_array(v: &JsValue) -> bool;
}

wasm_bindgen_test_configure!(run_in_browser);

const CID: &str = "00112233445566778899aabbccddeeff";
const CID2: &str = "ffeeddccbbaa99887766554433221100";
const NOW: f64 = 1_760_000_000_000.0;
// Field codes of engine::Field, as www/src/api.js uses them.
const ITEM: u8 = 0;
const CATEGORY: u8 = 1;
const CURRENCY: u8 = 3;
const ORDER: u8 = 7;
const NAME: u8 = 8;
const INFO_NAME: u8 = 11;
// Number codes: 15 price, 16 quantity, 17 dwell.
const PRICE: u8 = 15;
const QTY: u8 = 16;
const LINE: u8 = 18;
const BEGIN: u8 = 20;

fn core() -> Core {
    Core::new("wasm-test", CID, 0x0102_0304)
}

/// What a `commit` result says: "" when accepted, else the message that
/// www/src/messages.js gives for its code (the same as `Invalid::message`).
fn said(code: u32) -> String {
    if code == 0 {
        return String::new();
    }
    crate::event::Invalid::from_code(code).map_or_else(|| format!("no such code {code}"), |why| why.message())
}

/// One event through the builder, as api.js does; returns what the commit result says ("" = accepted).
fn commit(c: &mut Core, kind: &str, fields: &[(u8, &str)], nums: &[(u8, f64)], send: bool) -> String {
    assert!(c.set(BEGIN, kind, NOW, f64::NAN), "begin({kind:?}) refused a known kind");
    for (f, v) in fields {
        c.set(*f, v, f64::NAN, f64::NAN);
    }
    for (f, v) in nums {
        c.set(*f, "", *v, f64::NAN);
    }
    said(c.commit(NOW, send as u32, 42))
}

fn at(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |o, k| {
        if o.is_object() {
            reflect_get(&o, &JsValue::from_str(k))
        } else {
            JsValue::UNDEFINED
        }
    })
}

fn len(v: &JsValue, path: &str) -> u32 {
    let a = at(v, path);
    assert!(is_array(&a), "{path} is not an array in {}", text(v));
    at(&a, "length").as_f64().unwrap_or(0.0) as u32
}

fn text(v: &JsValue) -> String {
    json_stringify(v).as_string().unwrap_or_default()
}

fn profile(c: &mut Core) -> JsValue {
    let s = String::from_utf8(c.save_profile(b"", NOW, true)).unwrap();
    json_parse(&s).unwrap_or_else(|e| panic!("save_profile(.., true) is not JSON: {s}\n{e:?}"))
}

/// The lists of a profile (not `updated`), to compare two profiles.
fn lists(c: &mut Core) -> String {
    let p = profile(c);
    ["recent", "cart", "likes", "purchases"].iter().map(|k| text(&at(&p, k))).collect::<Vec<_>>().join(" ")
}

#[wasm_bindgen_test]
fn events_are_reflected_in_the_profile_json() {
    let mut c = core();
    assert_eq!(c.client(), CID);
    let p = profile(&mut c);
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "a new core has an empty {list}");
    }

    let view = [(ITEM, "SKU-1"), (INFO_NAME, "Ridge Boot"), (CATEGORY, "shoes/trail"), (CURRENCY, "EUR")];
    assert_eq!(commit(&mut c, "view", &view, &[(PRICE, 12.5)], false), "");
    let p = profile(&mut c);
    assert_eq!(len(&p, "recent"), 1, "{}", text(&p));
    assert_eq!(at(&p, "recent.0.item").as_string().as_deref(), Some("SKU-1"));
    assert_eq!(at(&p, "recent.0.name").as_string().as_deref(), Some("Ridge Boot"));
    assert_eq!(at(&p, "recent.0.category").as_string().as_deref(), Some("shoes/trail"));
    assert_eq!(at(&p, "recent.0.price").as_f64(), Some(1250.0));
    assert_eq!(at(&p, "recent.0.views").as_f64(), Some(1.0));
    assert_eq!(c.state(1), 0, "send=false: applied to the profile, not queued");

    assert_eq!(commit(&mut c, "cart-add", &[(ITEM, "SKU-1")], &[(QTY, 2.0), (PRICE, 12.5)], true), "");
    let p = profile(&mut c);
    assert_eq!(len(&p, "cart"), 1, "{}", text(&p));
    assert_eq!(at(&p, "cart.0.item").as_string().as_deref(), Some("SKU-1"));
    assert_eq!(at(&p, "cart.0.qty").as_f64(), Some(2.0));
    assert_eq!(at(&p, "cart.0.price").as_f64(), Some(1250.0));

    assert!(!c.likes("SKU-2"));
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-2")], &[], true), "");
    assert!(c.likes("SKU-2"));
    assert_eq!(commit(&mut c, "unlike", &[(ITEM, "SKU-2")], &[], true), "");
    assert!(!c.likes("SKU-2"));

    assert!(c.set(BEGIN, "purchase", NOW, f64::NAN));
    c.set(ORDER, "O-1", f64::NAN, f64::NAN);
    c.set(PRICE, "", 25.0, f64::NAN);
    c.set(LINE, "SKU-1", 2.0, 12.5);
    assert_eq!(c.commit(NOW, 1, 42), 0);
    let p = profile(&mut c);
    assert_eq!(at(&p, "purchases.0.item").as_string().as_deref(), Some("SKU-1"), "{}", text(&p));

    assert!(c.set(BEGIN, "custom", NOW, f64::NAN));
    c.set(NAME, "newsletter-signup", f64::NAN, f64::NAN);
    c.set(19, "plan", f64::NAN, f64::NAN);
    c.set(21, "pro", f64::NAN, f64::NAN);
    c.set(19, "a:b\u{0}", f64::NAN, f64::NAN);
    c.set(21, "x", f64::NAN, f64::NAN);
    assert_eq!(said(c.commit(NOW, 1, 42)), "bad prop: empty, too long or has control characters", "a control character in a key is refused");
    assert!(c.set(BEGIN, "custom", NOW, f64::NAN));
    c.set(NAME, "newsletter-signup", f64::NAN, f64::NAN);
    c.set(19, "plan", f64::NAN, f64::NAN);
    c.set(21, "pro", f64::NAN, f64::NAN);
    c.set(19, "n", f64::NAN, f64::NAN);
    c.set(21, "", f64::NAN, f64::NAN);
    assert_eq!(c.commit(NOW, 1, 42), 0);
    assert_eq!(c.state(1), 5, "cart-add, like, unlike, purchase, custom are queued (none sealed yet)");
    let sent = crate::codec::decode(&c.batch(-1).expect("a batch")).expect("a batch");
    let custom = sent.events.last().expect("events");
    assert_eq!(custom.props, [("plan".to_string(), "pro".to_string()), ("n".to_string(), String::new())]);
    assert_eq!(sent.events[3].lines[0].price, Some(1250), "the purchase line's price");
}

#[wasm_bindgen_test]
fn invalid_events_are_refused_with_a_reason_and_change_nothing() {
    let mut c = core();
    assert_eq!(commit(&mut c, "like", &[(ITEM, "KEEP")], &[], true), "");
    let before = lists(&mut c);

    assert!(!c.set(BEGIN, "teleport", NOW, f64::NAN), "an unknown kind is refused at begin()");
    assert_eq!(said(c.commit(NOW, 1, 42)), "missing event kind", "commit() after a refused begin() must not commit anything");
    let long = "x".repeat(10_000);
    type Case<'a> = (&'a str, Vec<(u8, &'a str)>, Vec<(u8, f64)>, &'a str);
    let cases: [Case; 10] = [
        ("view", vec![], vec![], "item"),
        ("view", vec![(ITEM, "")], vec![], "item"),
        ("view", vec![(ITEM, long.as_str())], vec![], "item"),
        ("view", vec![(ITEM, "A\u{0}B")], vec![], "item"),
        ("like", vec![(ITEM, "A\nB")], vec![], "item"),
        ("cart-add", vec![(ITEM, "A")], vec![(PRICE, -1.0)], "price"),
        ("cart-add", vec![(ITEM, "A")], vec![(PRICE, f64::NAN)], "price"),
        ("cart-add", vec![(ITEM, "A")], vec![(PRICE, f64::INFINITY)], "price"),
        ("cart-add", vec![(ITEM, "A")], vec![(QTY, 0.0)], "quantity"),
        ("purchase", vec![(ORDER, "O-2")], vec![(PRICE, 10.0)], "lines"),
    ];
    for (kind, fields, nums, what) in &cases {
        let why = commit(&mut c, kind, fields, nums, true);
        assert!(why.contains(what), "{kind} {fields:?} {nums:?}: reason {why:?} should mention {what:?}");
    }
    assert!(c.set(BEGIN, "cart-add", NOW, f64::NAN));
    c.set(ITEM, "A", f64::NAN, f64::NAN);
    c.set(QTY, "", 1.5, f64::NAN);
    assert_eq!(said(c.commit(NOW, 1, 42)), "quantity out of range", "a fractional quantity is refused");
    assert_eq!(lists(&mut c), before, "a refused event changed the profile");
    assert_eq!(c.state(1), 1, "a refused event was queued");
}

#[wasm_bindgen_test]
fn a_corrupt_stored_profile_is_refused_and_leaves_the_profile_alone() {
    let mut c = core();
    assert_eq!(commit(&mut c, "like", &[(ITEM, "KEEP")], &[], true), "");
    let before = lists(&mut c);
    for bad in [&b"garbage"[..], b"", b"\0", b"\x01", b"\x01\0\0", b"Version 999"] {
        assert!(!c.load(bad, NOW, 0), "load_profile({bad:?}) accepted garbage");
        assert_eq!(lists(&mut c), before, "load_profile({bad:?}) changed the profile");
    }
    // A good stored profile, from another core: taken as it is.
    let mut other = core();
    assert_eq!(commit(&mut other, "view", &[(ITEM, "SKU-7"), (INFO_NAME, "Tent")], &[], false), "");
    let stored = other.stored(1);
    assert!(c.load(&stored, NOW, 0));
    assert_eq!(lists(&mut c), lists(&mut other));
    // Damaged in the middle: refused, the loaded profile stays.
    let mut damaged = stored.clone();
    damaged.truncate(stored.len() / 2);
    assert!(!c.load(&damaged, NOW, 0), "a truncated profile was accepted");
    assert_eq!(lists(&mut c), lists(&mut other));
}

#[wasm_bindgen_test]
fn delivery_one_batch_in_flight_retry_then_acknowledge() {
    let mut c = core();
    assert_eq!(c.batch(-1), None, "nothing to send yet");
    for item in ["A", "B", "C"] {
        assert_eq!(commit(&mut c, "like", &[(ITEM, item)], &[], true), "");
    }
    assert_eq!(c.state(1), 3);
    assert!(c.state(0) & 4 == 0, "3 events are below the flush count");
    let body = c.batch(-1).expect("a batch to send");
    assert_eq!(body.first(), Some(&0x56), "binary batch format (magic byte 0x56)");
    assert_eq!(c.batch(-1), None, "one request at a time");
    // A server error: retry later, keep the events.
    let wait = c.answer(503, -1.0, 0.0);
    assert!((500.0..=60_000.0).contains(&wait), "retry in {wait} ms");
    assert!(c.state(1) > 0, "events kept after a 503");
    // Retry-After is honoured.
    assert_eq!(c.batch(-1), Some(body.clone()), "the same batch is sent again");
    let wait = c.answer(429, 7.0, 0.0);
    assert!(wait >= 7000.0, "Retry-After: 7 gave a wait of {wait} ms");
    assert_eq!(c.batch(-1), Some(body));
    assert_eq!(c.answer(200, -1.0, 0.5), -1.0, "after a 2xx: send more now");
    assert_eq!(c.state(1), 0, "acknowledged events are forgotten");
    assert_eq!(c.batch(-1), None);
    // A 4xx other than 429 is final: forgotten, not retried.
    assert_eq!(commit(&mut c, "like", &[(ITEM, "D")], &[], true), "");
    assert!(c.batch(-1).is_some());
    assert_eq!(c.answer(400, -1.0, 0.0), -1.0);
    assert_eq!(c.state(1), 0);
    // An answer with nothing in flight is harmless.
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
}

#[wasm_bindgen_test]
fn twenty_events_want_a_flush() {
    let mut c = core();
    for i in 0..19 {
        assert_eq!(commit(&mut c, "like", &[(ITEM, &format!("I{i}"))], &[], true), "");
    }
    assert!(c.state(0) & 4 == 0);
    assert_eq!(commit(&mut c, "like", &[(ITEM, "I19")], &[], true), "");
    assert!(c.state(0) & 4 != 0);
}

#[wasm_bindgen_test]
fn the_stored_outbox_survives_a_page_and_is_not_resent_once_acknowledged() {
    let mut a = core();
    for item in ["A", "B"] {
        assert_eq!(commit(&mut a, "like", &[(ITEM, item)], &[], true), "");
    }
    let stored = a.stored(0);
    assert!(!stored.is_empty());
    // The next page (another core, same client) takes them in and sends them.
    let mut b = Core::new("wasm-test", CID, 0x0a0b_0c0d);
    assert!(b.load(&stored, 0.0, 2));
    let once = b.state(1);
    assert!(once > 0);
    assert!(b.load(&stored, 0.0, 2), "merging the same batches twice");
    assert_eq!(b.state(1), once, "a batch merged twice is kept once");
    assert_eq!(b.stored(0), stored, "the merged outbox is stored as it was");
    // Page being left: everything is handed out, and kept until acknowledged.
    let n = (0..).take_while(|&i| a.batch(if i == 0 { -2 } else { i }).is_some()).count();
    assert_eq!(n, 1);
    assert_eq!(a.batch(0).and_then(|b| b.first().copied()), Some(0x56));
    assert_eq!(a.batch(7), None, "batch(i) past the end is undefined");
    assert!(a.state(1) > 0, "beaconed batches stay until acknowledged");
    // Acknowledged here: another tab's stale copy must not bring them back.
    assert!(a.batch(-1).is_some());
    assert_eq!(a.answer(200, -1.0, 0.0), -1.0);
    assert!(a.load(&stored, 0.0, 2));
    assert_eq!(a.state(1), 0, "an acknowledged batch came back from a stale stored outbox");
    // Damaged storage: refused, what was readable is kept.
    let mut d = core();
    assert!(!d.load(b"garbage", 0.0, 2));
    assert!(!d.load(b"zz:1:AAAA", 0.0, 2));
    assert_eq!(d.state(1), 0);
    assert!(!d.load(&[&stored[..], b"garbage"].concat(), 0.0, 2));
    assert_eq!(d.stored(0), stored, "the readable part of a damaged outbox is kept");
}

#[wasm_bindgen_test]
fn erase_forgets_everything_and_takes_the_new_client_id() {
    let mut c = core();
    assert_eq!(commit(&mut c, "view", &[(ITEM, "SKU-1")], &[], false), "");
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-1")], &[], true), "");
    assert_eq!(commit(&mut c, "cart-add", &[(ITEM, "SKU-1")], &[(QTY, 1.0)], true), "");
    assert!(c.batch(-1).is_some());
    assert_eq!(c.batch(-2), None, "the batch in flight (a keepalive request) is not beaconed again");
    assert!(c.set(34, CID2, 0x0505 as f64, 0.0), "erase");
    assert_eq!(c.client(), CID2);
    let p = profile(&mut c);
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "{list} after erase: {}", text(&p));
    }
    assert_eq!(c.state(1), 0);
    assert!(c.stored(0).is_empty());
    assert_eq!(c.batch(0), None, "batches prepared by leaving() are dropped");
    assert!(!c.likes("SKU-1"));
    // The answer to the request in flight before erase() is harmless.
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
    // It keeps working, under the new id.
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-9")], &[], true), "");
    assert!(c.batch(-1).is_some());
}

#[wasm_bindgen_test]
fn state_reports_what_consent_allows() {
    let mut c = core();
    assert_eq!(c.state(0), 3, "opt-out by default: keep and send");
    assert!(c.set(24, "opt-in", 0.0, 0.0));
    assert_eq!(c.state(0), 0, "opt-in before a choice: nothing kept or sent");
    assert!(c.set(23, "granted", 0.0, 0.0));
    assert_eq!(c.state(0), 3);
    c.set(28, "", 1.0, 0.0);
    assert_eq!(c.state(0), 1, "GPC: a consent manager's grant keeps but does not send");
    assert!(!c.set(23, "opt-in", 0.0, 0.0), "a mode is not a choice");
    assert!(!c.set(24, "granted", 0.0, 0.0), "a choice is not a mode");
    assert!(!c.set(24, "nonsense", 0.0, 0.0));
    assert_eq!(c.stored(2), b"granted");
    assert_eq!(c.state(2), 0, "nothing dropped");
}

#[wasm_bindgen_test]
fn flags_replicas_and_joins() {
    // Paused: the profile learns nothing, the event is still queued.
    let mut c = core();
    c.set(25, "", 1.0, 0.0);
    assert_eq!(commit(&mut c, "like", &[(ITEM, "A")], &[], true), "");
    assert!(!c.likes("A"));
    assert_eq!(c.state(1), 1);
    c.set(25, "", 0.0, 0.0);
    // JSON batches.
    c.set(26, "", 1.0, 0.0);
    assert_eq!(c.batch(-1).and_then(|b| b.first().copied()), Some(b'{'));
    c.set(99, "x", 1.0, 0.0); // unknown: ignored
    // Another tab's client id; a malformed one is ignored.
    assert!(c.set(22, CID2, 0.0, 0.0));
    assert_eq!(c.client(), CID2);
    c.set(22, "zz", 0.0, 0.0);
    assert_eq!(c.client(), CID2);
    // The shop's rules.
    for (code, text, num) in [(30, "SKU-2", 0.0), (30, "SKU-2", 0.0), (30, "", 0.0), (31, "bags", 2.0), (31, "x", f64::NAN), (31, "y", -1.0), (32, "", 30.0)] {
        assert!(c.set(code, text, num, 0.0));
    }
    assert_eq!(c.r.rules.pins, ["SKU-2"]);
    assert_eq!(c.r.rules.boosts, [("bags".to_string(), 2.0f32)]);
    assert_eq!(c.r.rules.buy_again_days, 30);
    // Local differential privacy: likes leave as reports, without the client id.
    let mut l = core();
    assert!(!l.set(33, CID, 99.0, 0.0), "ε out of range");
    assert!(l.set(33, CID, 2.0, 0.0));
    assert_eq!(commit(&mut l, "like", &[(ITEM, "A")], &[], true), "");
    let b = crate::codec::decode(&l.batch(-1).expect("a report")).expect("a batch");
    assert_eq!((b.client, b.events.len()), ([0; 16], 1), "one report, without the client id");
    assert_eq!(crate::ldp::from_event(&b.events[0]).map(|(_, r)| r.e), Some(200));
    // Another tab's event (mode 2): applied to the profile, not queued.
    let mut r = core();
    assert!(r.set(BEGIN, "like", NOW, f64::NAN));
    r.set(ITEM, "R", f64::NAN, f64::NAN);
    assert_eq!(r.commit(NOW, 2, 1), 0);
    assert!(r.likes("R"));
    assert_eq!(r.state(1), 0);
    // Joining another tab's stored profile keeps both; loading replaces.
    let mut a = core();
    assert_eq!(commit(&mut a, "like", &[(ITEM, "A")], &[], false), "");
    let stored = r.stored(1);
    assert!(a.load(&stored, NOW, 1));
    assert!(a.likes("A") && a.likes("R"));
    assert!(!a.load(b"garbage", NOW, 1));
    assert!(a.load(&stored, NOW, 0));
    assert!(!a.likes("A") && a.likes("R"));
}

#[wasm_bindgen_test]
fn languages_and_texts() {
    assert_eq!(Core::lang("es-ES"), "es");
    assert_eq!(Core::lang("en_GB"), "en");
    assert_eq!(Core::lang("xx"), "en");
    assert_eq!(Core::lang(""), "en");
    // By number, as www/src/render.js names them (LIKES 3, LIKE 0).
    assert_eq!(Core::text("en", 3), "likes");
    assert_eq!(Core::text("es", 0), "Me gusta");
    assert_eq!(Core::text("es-ES", 20), "Popular ahora");
    assert_eq!(Core::text("fr", 12), "Personalization is paused.");
    assert_eq!(Core::text("es", 21), "", "no such text");
}

#[wasm_bindgen_test]
fn nothing_panics_on_hostile_input() {
    let mut c = core();
    // Setting fields without begin(), unknown codes, odd numbers: ignored, no panic.
    c.set(ITEM, "A", f64::NAN, f64::NAN);
    c.set(200, "x", f64::NAN, f64::NAN);
    c.set(99, "", f64::INFINITY, f64::NAN);
    c.set(PRICE, "x", f64::INFINITY, f64::NAN);
    c.set(LINE, "A", f64::NAN, f64::NEG_INFINITY);
    c.set(19, "k", f64::NAN, f64::NAN);
    c.set(21, "v", f64::NAN, f64::NAN);
    assert_eq!(said(c.commit(f64::NAN, 1, 0)), "missing event kind", "nothing begun");
    assert!(c.set(BEGIN, "view", f64::NAN, f64::NAN));
    c.set(ITEM, "A", f64::NAN, f64::NAN);
    assert_eq!(said(c.commit(-1.0, 1, 0)), "timestamp out of range", "an event at time 0 is out of range");
    assert!(!c.load("\u{1F600}".repeat(1000).as_bytes(), NOW, 0));
    assert!(!c.load("1:".repeat(1000).as_bytes(), 0.0, 2));
    let _ = profile(&mut c);
    let z = Core::new("", "not hex", 0);
    assert_eq!(z.client().len(), 32);
}

/// `Core::state(1)` is documented as "events not yet acknowledged (pending and sealed)" and
/// feeds `status().outbox`: it must count events, also once they are sealed into a batch.
#[wasm_bindgen_test]
fn waiting_counts_events_not_batches() {
    let mut c = core();
    for item in ["A", "B", "C"] {
        assert_eq!(commit(&mut c, "like", &[(ITEM, item)], &[], true), "");
    }
    assert_eq!(c.state(1), 3, "3 pending events");
    let _ = c.stored(0); // seals the 3 events into one batch
    assert_eq!(c.state(1), 3, "3 events sealed into one batch are still 3 events waiting");
    assert!(c.batch(-1).is_some());
    assert_eq!(c.state(1), 3, "3 events in flight");
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
    assert_eq!(c.state(1), 0);
}

/// The allocator (src/heap.rs) over a long session: events recorded and sent in
/// batches, the profile and the outbox stored, slots ranked, pages left, over and
/// over. Once the working set is reached, the wasm memory stops growing.
#[wasm_bindgen_test]
fn a_long_session_stops_growing_the_memory() {
    let pages = || core::arch::wasm32::memory_size(0);
    let mut c = core();
    let mut warm = 0;
    for round in 0..6000u32 {
        let sku = ["SKU-", &(round % 60).to_string()].concat();
        if round < 60 {
            let cat = ["shoes/trail", "bags", "apparel/jackets"][round as usize % 3];
            c.add_item(&sku, Some(cat), None, 10.0, true);
        }
        let kind = ["view", "view", "like", "cart-add", "view", "unlike", "cart-remove"][round as usize % 7];
        let why = commit(&mut c, kind, &[(ITEM, &sku), (INFO_NAME, "A long enough item name"), (CATEGORY, "shoes/trail")], &[(PRICE, 12.5)], true);
        assert_eq!(why, "", "{kind} {sku}");
        if round % 20 == 19 {
            while c.batch(-1).is_some() {
                c.answer(200, -1.0, 0.5);
            }
        }
        if round % 5 == 0 {
            let p = c.save_profile(b"", NOW, false);
            assert!(!p.is_empty());
            let _ = c.stored(0);
            let _ = c.recommend("for-you", None, 8, NOW);
            let _ = c.save_profile(b"", NOW, true);
        }
        if round % 200 == 199 {
            let n = (0..).take_while(|&i| c.batch(if i == 0 { -2 } else { i }).is_some()).count();
            for i in 0..n {
                assert!(c.batch(i as i32).is_some_and(|b| !b.is_empty()));
            }
            c.set(29, "", 0.0, 0.0);
        }
        if round == 1000 {
            warm = pages();
        }
    }
    assert!(warm > 0);
    assert_eq!(pages(), warm, "the memory grew after the session's working set was reached");
}
