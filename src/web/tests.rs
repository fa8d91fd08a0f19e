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
const PRICE_TEXT: u8 = 14;
// Number codes: 0 price, 1 quantity, 2 dwell.
const PRICE: u8 = 0;
const QTY: u8 = 1;

fn core() -> Core {
    Core::new("wasm-test", CID, 0x0102_0304)
}

/// One event through the builder, as api.js does; returns the commit result ("" = accepted).
fn commit(c: &mut Core, kind: &str, fields: &[(u8, &str)], nums: &[(u8, f64)], send: bool) -> String {
    assert!(c.begin(kind, NOW), "begin({kind:?}) refused a known kind");
    for (f, v) in fields {
        c.set(*f, v);
    }
    for (f, v) in nums {
        c.num(*f, *v);
    }
    c.commit(NOW, send, 42)
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

fn profile(c: &Core) -> JsValue {
    let s = c.profile_json(NOW);
    json_parse(&s).unwrap_or_else(|e| panic!("profile_json is not JSON: {s}\n{e:?}"))
}

/// The lists of a profile (not `updated`), to compare two profiles.
fn lists(c: &Core) -> String {
    let p = profile(c);
    ["recent", "cart", "likes", "purchases"].iter().map(|k| text(&at(&p, k))).collect::<Vec<_>>().join(" ")
}

#[wasm_bindgen_test]
fn events_are_reflected_in_the_profile_json() {
    let mut c = core();
    assert_eq!(c.client(), CID);
    let p = profile(&c);
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "a new core has an empty {list}");
    }

    let view = [(ITEM, "SKU-1"), (INFO_NAME, "Ridge Boot"), (CATEGORY, "shoes/trail"), (CURRENCY, "EUR")];
    assert_eq!(commit(&mut c, "view", &view, &[(PRICE, 12.5)], false), "");
    let p = profile(&c);
    assert_eq!(len(&p, "recent"), 1, "{}", text(&p));
    assert_eq!(at(&p, "recent.0.item").as_string().as_deref(), Some("SKU-1"));
    assert_eq!(at(&p, "recent.0.name").as_string().as_deref(), Some("Ridge Boot"));
    assert_eq!(at(&p, "recent.0.category").as_string().as_deref(), Some("shoes/trail"));
    assert_eq!(at(&p, "recent.0.price").as_f64(), Some(1250.0));
    assert_eq!(at(&p, "recent.0.views").as_f64(), Some(1.0));
    assert_eq!(c.waiting(), 0, "send=false: applied to the profile, not queued");

    assert_eq!(commit(&mut c, "cart-add", &[(ITEM, "SKU-1"), (PRICE_TEXT, "12,50")], &[(QTY, 2.0)], true), "");
    let p = profile(&c);
    assert_eq!(len(&p, "cart"), 1, "{}", text(&p));
    assert_eq!(at(&p, "cart.0.item").as_string().as_deref(), Some("SKU-1"));
    assert_eq!(at(&p, "cart.0.qty").as_f64(), Some(2.0));
    assert_eq!(at(&p, "cart.0.price").as_f64(), Some(1250.0));

    assert!(!c.likes("SKU-2"));
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-2")], &[], true), "");
    assert!(c.likes("SKU-2"));
    assert_eq!(commit(&mut c, "unlike", &[(ITEM, "SKU-2")], &[], true), "");
    assert!(!c.likes("SKU-2"));

    assert!(c.begin("purchase", NOW));
    c.set(ORDER, "O-1");
    c.num(PRICE, 25.0);
    c.line("SKU-1", 2.0, 12.5);
    assert_eq!(c.commit(NOW, true, 42), "");
    let p = profile(&c);
    assert_eq!(at(&p, "purchases.0.item").as_string().as_deref(), Some("SKU-1"), "{}", text(&p));

    assert!(c.begin("custom", NOW));
    c.set(NAME, "newsletter-signup");
    c.prop("plan", "pro");
    assert_eq!(c.commit(NOW, true, 42), "");
    assert_eq!(c.waiting(), 5, "cart-add, like, unlike, purchase, custom are queued (none sealed yet)");
}

#[wasm_bindgen_test]
fn invalid_events_are_refused_with_a_reason_and_change_nothing() {
    let mut c = core();
    assert_eq!(commit(&mut c, "like", &[(ITEM, "KEEP")], &[], true), "");
    let before = lists(&c);

    assert!(!c.begin("teleport", NOW), "an unknown kind is refused at begin()");
    assert_ne!(c.commit(NOW, true, 42), "", "commit() after a refused begin() must not commit anything");
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
        ("cart-add", vec![(ITEM, "A"), (PRICE_TEXT, "-1")], vec![], "price"),
        ("cart-add", vec![(ITEM, "A")], vec![(QTY, 0.0)], "quantity"),
        ("purchase", vec![(ORDER, "O-2")], vec![(PRICE, 10.0)], "lines"),
    ];
    for (kind, fields, nums, what) in &cases {
        let why = commit(&mut c, kind, fields, nums, true);
        assert!(why.contains(what), "{kind} {fields:?} {nums:?}: reason {why:?} should mention {what:?}");
    }
    assert!(c.begin("cart-add", NOW));
    c.set(ITEM, "A");
    c.num(QTY, 1.5);
    assert!(c.commit(NOW, true, 42).contains("quantity"), "a fractional quantity is refused");
    assert_eq!(lists(&c), before, "a refused event changed the profile");
    assert_eq!(c.waiting(), 1, "a refused event was queued");
}

#[wasm_bindgen_test]
fn a_corrupt_stored_profile_is_refused_and_leaves_the_profile_alone() {
    let mut c = core();
    assert_eq!(commit(&mut c, "like", &[(ITEM, "KEEP")], &[], true), "");
    let before = lists(&c);
    for bad in ["garbage", "", "AAAA", "////", "VmVyc2lvbiA5OTk="] {
        assert!(!c.load_profile(bad, NOW), "load_profile({bad:?}) accepted garbage");
        assert_eq!(lists(&c), before, "load_profile({bad:?}) changed the profile");
    }
    // A good stored profile, from another core: taken as it is.
    let mut other = core();
    assert_eq!(commit(&mut other, "view", &[(ITEM, "SKU-7"), (INFO_NAME, "Tent")], &[], false), "");
    let stored = other.profile();
    assert!(c.load_profile(&stored, NOW));
    assert_eq!(lists(&c), lists(&other));
    // Damaged in the middle: refused, the loaded profile stays.
    let mut damaged = stored.clone();
    damaged.truncate(stored.len() / 2);
    assert!(!c.load_profile(&damaged, NOW), "a truncated profile was accepted");
    assert_eq!(lists(&c), lists(&other));
}

#[wasm_bindgen_test]
fn delivery_one_batch_in_flight_retry_then_acknowledge() {
    let mut c = core();
    assert_eq!(c.next_request(), None, "nothing to send yet");
    for item in ["A", "B", "C"] {
        assert_eq!(commit(&mut c, "like", &[(ITEM, item)], &[], true), "");
    }
    assert_eq!(c.waiting(), 3);
    assert!(!c.wants_flush(), "3 events are below the flush count");
    let body = c.next_request().expect("a batch to send");
    assert_eq!(body.first(), Some(&0x56), "binary batch format (magic byte 0x56)");
    assert_eq!(c.next_request(), None, "one request at a time");
    // A server error: retry later, keep the events.
    let wait = c.answer(503, -1.0, 0.0);
    assert!((500.0..=60_000.0).contains(&wait), "retry in {wait} ms");
    assert!(c.waiting() > 0, "events kept after a 503");
    // Retry-After is honoured.
    assert_eq!(c.next_request(), Some(body.clone()), "the same batch is sent again");
    let wait = c.answer(429, 7.0, 0.0);
    assert!(wait >= 7000.0, "Retry-After: 7 gave a wait of {wait} ms");
    assert_eq!(c.next_request(), Some(body));
    assert_eq!(c.answer(200, -1.0, 0.5), -1.0, "after a 2xx: send more now");
    assert_eq!(c.waiting(), 0, "acknowledged events are forgotten");
    assert_eq!(c.next_request(), None);
    // A 4xx other than 429 is final: forgotten, not retried.
    assert_eq!(commit(&mut c, "like", &[(ITEM, "D")], &[], true), "");
    assert!(c.next_request().is_some());
    assert_eq!(c.answer(400, -1.0, 0.0), -1.0);
    assert_eq!(c.waiting(), 0);
    // An answer with nothing in flight is harmless.
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
}

#[wasm_bindgen_test]
fn twenty_events_want_a_flush() {
    let mut c = core();
    for i in 0..19 {
        assert_eq!(commit(&mut c, "like", &[(ITEM, &format!("I{i}"))], &[], true), "");
    }
    assert!(!c.wants_flush());
    assert_eq!(commit(&mut c, "like", &[(ITEM, "I19")], &[], true), "");
    assert!(c.wants_flush());
}

#[wasm_bindgen_test]
fn the_stored_outbox_survives_a_page_and_is_not_resent_once_acknowledged() {
    let mut a = core();
    for item in ["A", "B"] {
        assert_eq!(commit(&mut a, "like", &[(ITEM, item)], &[], true), "");
    }
    let stored = a.outbox();
    assert!(!stored.is_empty());
    // The next page (another core, same client) takes them in and sends them.
    let mut b = Core::new("wasm-test", CID, 0x0a0b_0c0d);
    assert!(b.merge_outbox(&stored));
    let once = b.waiting();
    assert!(once > 0);
    assert!(b.merge_outbox(&stored), "merging the same batches twice");
    assert_eq!(b.waiting(), once, "a batch merged twice is kept once");
    assert_eq!(b.outbox(), stored, "the merged outbox is stored as it was");
    // Page being left: everything is handed out, and kept until acknowledged.
    let n = a.leaving();
    assert_eq!(n, 1);
    assert_eq!(a.batch(0).first(), Some(&0x56));
    assert!(a.batch(7).is_empty(), "batch(i) past the end is empty");
    assert!(a.waiting() > 0, "beaconed batches stay until acknowledged");
    // Acknowledged here: another tab's stale copy must not bring them back.
    assert!(a.next_request().is_some());
    assert_eq!(a.answer(200, -1.0, 0.0), -1.0);
    assert!(a.merge_outbox(&stored));
    assert_eq!(a.waiting(), 0, "an acknowledged batch came back from a stale stored outbox");
    // Damaged storage: refused, what was readable is kept.
    let mut d = core();
    assert!(!d.merge_outbox("garbage"));
    assert!(!d.merge_outbox("zz:1:AAAA"));
    assert_eq!(d.waiting(), 0);
    assert!(!d.merge_outbox(&[stored.as_str(), "garbage"].join(" ")));
    assert_eq!(d.outbox(), stored, "the readable part of a damaged outbox is kept");
}

#[wasm_bindgen_test]
fn erase_forgets_everything_and_takes_the_new_client_id() {
    let mut c = core();
    assert_eq!(commit(&mut c, "view", &[(ITEM, "SKU-1")], &[], false), "");
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-1")], &[], true), "");
    assert_eq!(commit(&mut c, "cart-add", &[(ITEM, "SKU-1")], &[(QTY, 1.0)], true), "");
    assert!(c.next_request().is_some());
    assert_eq!(c.leaving(), 0, "the batch in flight (a keepalive request) is not beaconed again");
    c.erase(CID2, 0x0505);
    assert_eq!(c.client(), CID2);
    let p = profile(&c);
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "{list} after erase: {}", text(&p));
    }
    assert_eq!(c.waiting(), 0);
    assert_eq!(c.outbox(), "");
    assert!(c.batch(0).is_empty(), "batches prepared by leaving() are dropped");
    assert!(!c.likes("SKU-1"));
    // The answer to the request in flight before erase() is harmless.
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
    // It keeps working, under the new id.
    assert_eq!(commit(&mut c, "like", &[(ITEM, "SKU-9")], &[], true), "");
    assert!(c.next_request().is_some());
}

#[wasm_bindgen_test]
fn languages_and_texts() {
    assert_eq!(Core::lang("es-ES"), "es");
    assert_eq!(Core::lang("en_GB"), "en");
    assert_eq!(Core::lang("xx"), "en");
    assert_eq!(Core::lang(""), "en");
    assert_eq!(Core::text("en", "likes"), "likes");
    assert_eq!(Core::text("es", "like"), "Me gusta");
    assert_eq!(Core::text("es", "no-such-key"), "no-such-key");
}

#[wasm_bindgen_test]
fn nothing_panics_on_hostile_input() {
    let mut c = core();
    // Setting fields without begin(), unknown codes, odd numbers: ignored, no panic.
    c.set(ITEM, "A");
    c.set(200, "x");
    c.num(9, f64::INFINITY);
    c.line("A", f64::NAN, f64::NEG_INFINITY);
    c.prop("k", "v");
    assert_ne!(c.commit(f64::NAN, true, 0), "");
    assert!(c.begin("view", f64::NAN));
    c.set(ITEM, "A");
    assert_ne!(c.commit(-1.0, true, 0), "", "an event at time 0 is out of range");
    assert!(!c.load_profile(&"\u{1F600}".repeat(1000), NOW));
    assert!(!c.merge_outbox(&"1:".repeat(1000)));
    let _ = profile(&c);
    let z = Core::new("", "not hex", 0);
    assert_eq!(z.client().len(), 32);
}

/// `Core::waiting()` is documented as "events not yet acknowledged (pending and sealed)" and
/// feeds `status().outbox`: it must count events, also once they are sealed into a batch.
#[wasm_bindgen_test]
fn waiting_counts_events_not_batches() {
    let mut c = core();
    for item in ["A", "B", "C"] {
        assert_eq!(commit(&mut c, "like", &[(ITEM, item)], &[], true), "");
    }
    assert_eq!(c.waiting(), 3, "3 pending events");
    let _ = c.outbox(); // seals the 3 events into one batch
    assert_eq!(c.waiting(), 3, "3 events sealed into one batch are still 3 events waiting");
    assert!(c.next_request().is_some());
    assert_eq!(c.waiting(), 3, "3 events in flight");
    assert_eq!(c.answer(200, -1.0, 0.0), -1.0);
    assert_eq!(c.waiting(), 0);
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
            c.add_item(&sku, Some(["Item ", &sku].concat()), Some("/i.png".into()), Some("/p".into()), Some(cat.into()), None, 10.0, true);
        }
        let kind = ["view", "view", "like", "cart-add", "view", "unlike", "cart-remove"][round as usize % 7];
        let why = commit(&mut c, kind, &[(ITEM, &sku), (INFO_NAME, "A long enough item name"), (CATEGORY, "shoes/trail")], &[(PRICE, 12.5)], true);
        assert_eq!(why, "", "{kind} {sku}");
        if round % 20 == 19 {
            while c.next_request().is_some() {
                c.answer(200, -1.0, 0.5);
            }
        }
        if round % 5 == 0 {
            let p = c.save_profile("", NOW);
            assert!(!p.is_empty());
            let _ = c.outbox();
            let _ = c.recommend("for-you", None, 8, "es", NOW);
            let _ = c.profile_json(NOW);
        }
        if round % 200 == 199 {
            for i in 0..c.leaving() {
                assert!(!c.batch(i).is_empty());
            }
            c.visible();
        }
        if round == 1000 {
            warm = pages();
        }
    }
    assert!(warm > 0);
    assert_eq!(pages(), warm, "the memory grew after the session's working set was reached");
}
