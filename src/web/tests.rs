//! Browser tests of the glue, run in headless Chromium:
//! `cargo test --lib --target wasm32-unknown-unknown` (wasm-bindgen-test-runner + chromedriver).
//!
//! The glue's state is a `thread_local` singleton that can be started once per wasm
//! instance, and every test of this crate shares one instance. So only
//! `lifecycle_in_one_started_instance` calls `start` successfully, as one ordered
//! sequence; the others test `storage::Store` and the config checks, which leave no state.
//! Tests that patch browser globals (localStorage, Storage.prototype, console.warn) put
//! them back before asserting anything, so a failure cannot leak into the next test.

use super::storage::Store;
use super::{erase, flush, profile, start, status, track};
use js_sys::{Reflect, JSON};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Evaluates JS in the test page (global scope).
fn js(code: &str) -> JsValue {
    js_sys::eval(code).unwrap_or_else(|e| panic!("JS failed: {code}\n{e:?}"))
}

fn local() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().expect("the test page has localStorage")
}

/// `a.b.0.c` on a JS value (array indices as keys); undefined where missing.
fn at(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |o, k| {
        if o.is_object() {
            Reflect::get(&o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    })
}

fn at_str(v: &JsValue, path: &str) -> Option<String> {
    at(v, path).as_string()
}

fn at_num(v: &JsValue, path: &str) -> Option<f64> {
    at(v, path).as_f64()
}

fn len(v: &JsValue, path: &str) -> u32 {
    let a = at(v, path);
    assert!(js_sys::Array::is_array(&a), "{path} is not an array in {}", stringify(v));
    js_sys::Array::from(&a).length()
}

fn stringify(v: &JsValue) -> String {
    JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_else(|| format!("{v:?}"))
}

fn parse(s: &str) -> JsValue {
    JSON::parse(s).unwrap_or_else(|e| panic!("not JSON: {s}\n{e:?}"))
}

/// Every localStorage key, sorted.
fn local_keys() -> Vec<String> {
    let l = local();
    let mut keys: Vec<String> = (0..l.length().unwrap()).filter_map(|i| l.key(i).unwrap()).collect();
    keys.sort();
    keys
}

fn clear_vitrina_keys() {
    let l = local();
    for k in local_keys().into_iter().filter(|k| k.starts_with("vitrina:")) {
        l.remove_item(&k).unwrap();
    }
}

/// Runs `open` while `window.localStorage` throws from its getter (as browsers do when
/// storage is blocked), then restores the real one.
fn with_throwing_local_storage<R>(open: impl FnOnce() -> R) -> R {
    js("(() => {
        const own = Object.getOwnPropertyDescriptor(window, 'localStorage');
        window.__vitrinaRestoreLS = () => { if (own) Object.defineProperty(window, 'localStorage', own); else delete window.localStorage; };
        Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });
    })()");
    let thrown = js("(() => { try { window.localStorage; return false; } catch (e) { return true; } })()");
    let r = open();
    js("window.__vitrinaRestoreLS(); delete window.__vitrinaRestoreLS;");
    assert_eq!(thrown, JsValue::TRUE, "the patched localStorage getter did not throw");
    assert!(js("typeof window.localStorage.getItem === 'function'").is_truthy(), "localStorage not restored");
    r
}

/// Makes `Storage.prototype.setItem` throw QuotaExceededError (for every key, or only for
/// keys other than the open() probe); `restore_set_item` puts it back.
fn break_set_item(even_probe: bool) {
    js(&format!(
        "(() => {{
            const orig = Storage.prototype.setItem;
            window.__vitrinaRestoreSetItem = () => {{ Storage.prototype.setItem = orig; }};
            Storage.prototype.setItem = function (k, v) {{
                if (!{even_probe} && k === 'vitrina:probe') return orig.call(this, k, v);
                throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            }};
        }})()"
    ));
}

fn restore_set_item() {
    js("window.__vitrinaRestoreSetItem(); delete window.__vitrinaRestoreSetItem;");
}

#[wasm_bindgen_test]
fn store_uses_local_storage_when_it_works() {
    clear_vitrina_keys();
    let mut s = Store::open();
    assert!(s.persistent());
    assert_eq!(s.degraded, None);
    assert!(s.set("t-ok", "v1"));
    assert_eq!(local().get_item("vitrina:t-ok").unwrap().as_deref(), Some("v1"), "written under the vitrina: prefix");
    assert_eq!(s.get("t-ok").as_deref(), Some("v1"));
    assert_eq!(local().get_item("vitrina:probe").unwrap(), None, "the open() probe is cleaned up");
    s.remove("t-ok");
    assert_eq!(s.get("t-ok"), None);
    assert_eq!(local().get_item("vitrina:t-ok").unwrap(), None);
}

#[wasm_bindgen_test]
fn store_falls_back_to_memory_when_the_local_storage_getter_throws() {
    clear_vitrina_keys();
    let mut s = with_throwing_local_storage(Store::open);
    assert!(!s.persistent());
    assert_eq!(s.degraded, Some("localStorage is not available"));
    assert!(!s.set("t-mem", "v1"), "set() reports that the value is not persistent");
    assert_eq!(s.get("t-mem").as_deref(), Some("v1"), "the value is kept in memory");
    assert_eq!(local().get_item("vitrina:t-mem").unwrap(), None, "nothing reached localStorage");
    s.set("t-mem2", "v2");
    s.clear_all();
    assert_eq!(s.get("t-mem"), None);
    assert_eq!(s.get("t-mem2"), None);
}

#[wasm_bindgen_test]
fn store_falls_back_to_memory_when_local_storage_refuses_writes() {
    clear_vitrina_keys();
    break_set_item(true);
    let s = Store::open();
    restore_set_item();
    let mut s = s;
    assert!(!s.persistent());
    assert_eq!(s.degraded, Some("localStorage refuses writes"));
    s.set("t-ro", "v1");
    assert_eq!(s.get("t-ro").as_deref(), Some("v1"));
    assert_eq!(local().get_item("vitrina:t-ro").unwrap(), None);
}

/// localStorage that fills up after open(): the value written last must still be the one
/// read back (in memory), never an older one left in localStorage.
#[wasm_bindgen_test]
fn store_reads_back_what_it_kept_in_memory_when_the_quota_is_full() {
    clear_vitrina_keys();
    let mut s = Store::open();
    assert!(s.persistent());
    assert!(s.set("t-quota", "old"));
    break_set_item(false);
    let ok_new = s.set("t-quota", "new");
    let ok_fresh = s.set("t-fresh", "fresh");
    restore_set_item();
    assert!(!ok_new && !ok_fresh, "set() must report the failed write");
    assert_eq!(s.degraded, Some("localStorage is full (quota exceeded)"));
    let (got_new, got_fresh) = (s.get("t-quota"), s.get("t-fresh"));
    clear_vitrina_keys();
    assert_eq!(got_fresh.as_deref(), Some("fresh"), "a value that only fit in memory is lost to get()");
    assert_eq!(got_new.as_deref(), Some("new"), "get() returns the stale localStorage value instead of the newer one kept in memory");
}

#[wasm_bindgen_test]
fn start_refuses_a_bad_config_with_a_clear_message() {
    let hooks = js("({ send(url, body, done) { if (done) setTimeout(() => done(200), 0); } })");
    let cases: [(&str, &[&str]); 7] = [
        ("null", &["config object"]),
        ("'demo'", &["config object"]),
        ("({})", &["'site'", "data-site"]),
        ("({ site: 'bad site!' })", &["'site'", "bad site!"]),
        ("({ site: 'x'.repeat(65) })", &["'site'", "1-64"]),
        ("({ site: 'ok', endpoint: 'javascript:alert(1)' })", &["'endpoint'", "javascript:alert(1)"]),
        ("({ site: 'ok', endpoint: 'data:text/plain,x' })", &["'endpoint'", "http(s)"]),
    ];
    for (config, want) in cases {
        let err = match start(js(config), hooks.clone()) {
            Ok(()) => panic!("start({config}) accepted a bad config"),
            Err(e) => e.as_string().unwrap_or_else(|| panic!("start({config}) error is not a string: {e:?}")),
        };
        for w in want {
            assert!(err.contains(w), "start({config}): error {err:?} does not mention {w:?}");
        }
    }
    // A refused config starts nothing.
    assert_eq!(profile(), "null");
    assert_eq!(status(), "null");
    assert!(!track("view", js("({ item: 'SKU-X' })")));
}

/// The one successful start of this wasm instance, as an ordered sequence: corrupt stored
/// profile -> start -> track -> flush -> erase.
#[wasm_bindgen_test]
fn lifecycle_in_one_started_instance() {
    // -- before start: a corrupt profile, a stray vitrina key, a key of the shop.
    clear_vitrina_keys();
    let l = local();
    l.set_item("vitrina:profile", "garbage").unwrap();
    l.set_item("vitrina:stray", "x").unwrap();
    l.set_item("shop-key", "keep").unwrap();
    js("window.__warns = []; window.__origWarn = console.warn;
        console.warn = function () { window.__warns.push([].map.call(arguments, String).join(' ')); };
        window.__sent = [];");
    let hooks = js("({
        send(url, body, done) {
            window.__sent.push({ url, bytes: body.length, leaving: !done });
            if (done) setTimeout(() => done(200), 0);
        },
        money(v, currency) { return v.toFixed(2) + ' ' + currency; },
        count(n) { return String(n); },
    })");
    let config = js("({ site: 'wasm-test', endpoint: '/collect', autoCapture: false })");
    let started = start(config.clone(), hooks.clone());
    let again = start(config, hooks);
    js("console.warn = window.__origWarn; delete window.__origWarn;");
    let warns: Vec<String> = js_sys::Array::from(&js("window.__warns")).iter().filter_map(|w| w.as_string()).collect();

    // -- corrupt profile: start works, with an empty profile and exactly one warning.
    assert!(started.is_ok(), "start failed: {started:?}");
    assert_eq!(warns.len(), 1, "exactly one warning for the corrupt profile, got {warns:?}");
    assert!(warns[0].starts_with("[vitrina] ") && warns[0].contains("profile"), "warning: {}", warns[0]);
    assert_ne!(l.get_item("vitrina:profile").unwrap().as_deref(), Some("garbage"), "the corrupt profile is still stored");
    let p = parse(&profile());
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "{list} of a reset profile: {}", stringify(&p));
    }
    let again = again.expect_err("a second start must be refused");
    assert!(again.as_string().unwrap_or_default().contains("already started"), "{again:?}");

    // -- status: the client id is the stored one, storage is persistent.
    let st = parse(&status());
    let client = at_str(&st, "client").expect("status.client");
    assert_eq!(client.len(), 32, "client id {client}");
    assert!(client.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(l.get_item("vitrina:cid").unwrap().as_deref(), Some(client.as_str()));
    assert_eq!(at(&st, "persistent"), JsValue::TRUE);

    // -- track: the profile JSON reflects each event.
    assert!(track("view", js("({ item: 'SKU-1', name: 'Ridge Boot', price: 12.5, category: 'shoes/trail', currency: 'EUR' })")));
    let p = parse(&profile());
    assert_eq!(len(&p, "recent"), 1, "{}", stringify(&p));
    assert_eq!(at_str(&p, "recent.0.item").as_deref(), Some("SKU-1"));
    assert_eq!(at_str(&p, "recent.0.name").as_deref(), Some("Ridge Boot"));
    assert_eq!(at_str(&p, "recent.0.category").as_deref(), Some("shoes/trail"));
    assert_eq!(at_num(&p, "recent.0.price"), Some(1250.0));
    assert_eq!(at_num(&p, "recent.0.views"), Some(1.0));

    assert!(track("cart-add", js("({ item: 'SKU-1', quantity: 2, price: '12.50' })")));
    let p = parse(&profile());
    assert_eq!(len(&p, "cart"), 1, "{}", stringify(&p));
    assert_eq!(at_str(&p, "cart.0.item").as_deref(), Some("SKU-1"));
    assert_eq!(at_num(&p, "cart.0.qty"), Some(2.0));
    assert_eq!(at_num(&p, "cart.0.price"), Some(1250.0));

    assert!(track("like", js("({ item: 'SKU-2' })")));
    let p = parse(&profile());
    assert_eq!(at_str(&p, "likes.0.item").as_deref(), Some("SKU-2"), "{}", stringify(&p));

    // -- invalid events: false, nothing changes.
    let before = profile();
    for (kind, props) in [
        ("view", "({ item: '' })"),
        ("view", "({ item: 'x'.repeat(10000) })"),
        ("view", "({ item: 'A\\u0000B' })"),
        ("cart-add", "({ item: 'SKU-3', price: -1 })"),
        ("cart-add", "({ item: 'SKU-3', quantity: 0 })"),
        ("teleport", "({ item: 'SKU-3' })"),
        ("purchase", "({ order: 'O-1', value: 10 })"),
    ] {
        assert!(!track(kind, js(props)), "track({kind:?}, {props}) accepted an invalid event");
    }
    let after = profile();
    // `updated` may move; compare the lists.
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(stringify(&at(&parse(&after), list)), stringify(&at(&parse(&before), list)), "{list} changed");
    }

    // -- flush: saves the profile and hands the three events to the send hook.
    flush();
    let stored = l.get_item("vitrina:profile").unwrap().expect("profile saved by flush()");
    assert_ne!(stored, "garbage");
    let sent = js("window.__sent");
    assert_eq!(js_sys::Array::from(&sent).length(), 1, "one send: {}", stringify(&sent));
    assert_eq!(at_str(&sent, "0.url").as_deref(), Some("/collect"));
    assert_eq!(at(&sent, "0.leaving"), JsValue::FALSE);
    assert!(at_num(&sent, "0.bytes").unwrap_or(0.0) > 0.0);

    // -- erase: every vitrina: key goes, the shop's keys stay, a new client id is written.
    l.set_item("vitrina:stray2", "y").unwrap();
    erase();
    let keys = local_keys();
    let left: Vec<&String> = keys.iter().filter(|k| k.starts_with("vitrina:") && *k != "vitrina:cid").collect();
    let new_cid = l.get_item("vitrina:cid").unwrap();
    let shop = l.get_item("shop-key").unwrap();
    l.remove_item("shop-key").unwrap();
    assert!(left.is_empty(), "vitrina keys left after erase(): {left:?}");
    assert_eq!(shop.as_deref(), Some("keep"), "erase() removed a key of the shop");
    let new_cid = new_cid.expect("a new client id is stored");
    assert_ne!(new_cid, client, "erase() kept the client id");
    assert_eq!(new_cid.len(), 32);
    let st = parse(&status());
    assert_eq!(at_str(&st, "client").as_deref(), Some(new_cid.as_str()));
    assert_eq!(at_num(&st, "outbox"), Some(0.0));
    let p = parse(&profile());
    for list in ["recent", "cart", "likes", "purchases"] {
        assert_eq!(len(&p, list), 0, "{list} after erase(): {}", stringify(&p));
    }
    // Still working after erase.
    assert!(track("view", js("({ item: 'SKU-9' })")));
    assert_eq!(at_str(&parse(&profile()), "recent.0.item").as_deref(), Some("SKU-9"));
    js("delete window.__warns; delete window.__sent;");
}
