//! Reading the shop's markup: `data-vitrina-*` attributes and explicit API
//! arguments become core events. Conversion only; every rule lives in the core.

use crate::event::{self, Event, ItemInfo, Kind, Line};
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

pub fn document() -> Option<Document> {
    web_sys::window()?.document()
}

pub fn attr(el: &Element, name: &str) -> Option<String> {
    el.get_attribute(&["data-vitrina-", name].concat()).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Elements matching a selector, as a vector.
pub fn all(root: &Document, sel: &str) -> Vec<Element> {
    let mut v = Vec::new();
    if let Ok(list) = root.query_selector_all(sel) {
        for i in 0..list.length() {
            if let Some(el) = list.get(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                v.push(el);
            }
        }
    }
    v
}

/// Resolves a URL from the page to a same-origin path (or an absolute http(s)
/// URL); anything else (`javascript:`, `data:`) is refused.
pub fn clean_url(u: &str) -> Option<String> {
    let doc = document()?;
    let base = doc.base_uri().ok().flatten()?;
    let url = web_sys::Url::new_with_base(u, &base).ok()?;
    let proto = url.protocol();
    if proto != "http:" && proto != "https:" {
        return None;
    }
    let here = web_sys::window()?.location().origin().ok()?;
    if url.origin() == here {
        Some([url.pathname(), url.search()].concat())
    } else {
        Some(url.href())
    }
}

/// The current page path without query string or fragment.
pub fn page_path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_else(|| "/".into())
}

/// Builds an item event from an element carrying `data-vitrina-item` (and its
/// optional category, brand, price, currency, quantity), with display data.
pub fn item_event(kind: Kind, el: &Element, ts: u64) -> (Event, ItemInfo) {
    let mut e = Event::new(kind, ts);
    e.item = attr(el, "item");
    e.category = attr(el, "category");
    e.brand = attr(el, "brand");
    e.price = attr(el, "price").and_then(|p| event::parse_price(&p));
    e.currency = attr(el, "currency").map(|c| c.to_ascii_uppercase());
    let info = ItemInfo {
        name: attr(el, "name"),
        image: attr(el, "image").and_then(|u| clean_url(&u)),
        url: attr(el, "url").and_then(|u| clean_url(&u)),
    };
    (e, info)
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn s(o: &JsValue, k: &str) -> Option<String> {
    let v = get(o, k);
    if let Some(s) = v.as_string() {
        return Some(s);
    }
    // Numeric ids are common ("item: 123").
    v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| crate::json::itoa(f as u64))
}

fn price(v: &JsValue) -> Option<i64> {
    match v.as_f64() {
        Some(f) => event::price_from_f64(f).or(Some(-1)),
        None => v.as_string().map(|s| event::parse_price(&s).unwrap_or(-1)),
    }
}

fn qty(o: &JsValue) -> Option<u32> {
    let mut v = get(o, "quantity");
    if v.is_undefined() {
        v = get(o, "qty");
    }
    let f = v.as_f64().or_else(|| v.as_string().map(|s| parse_uint(&s)))?;
    // Out-of-range values become 0 so validation rejects them loudly.
    Some(if f.fract() == 0.0 && f >= 1.0 && f <= event::limits::MAX_QTY as f64 { f as u32 } else { 0 })
}

/// Builds an event from `vitrina.track(kind, props)` arguments. Unknown kinds and
/// malformed values come back as errors or as values validation will reject.
pub fn api_event(kind: &str, p: &JsValue, ts: u64) -> Result<(Event, ItemInfo), String> {
    let kind = Kind::parse(kind).ok_or_else(|| ["unknown event kind '", kind, "'"].concat())?;
    let p = if p.is_object() { p.clone() } else { JsValue::from(js_sys::Object::new()) };
    let mut e = Event::new(kind, ts);
    e.item = s(&p, "item");
    e.category = s(&p, "category");
    e.brand = s(&p, "brand");
    e.price = price(&get(&p, if kind == Kind::Purchase { "value" } else { "price" }));
    e.currency = s(&p, "currency");
    e.qty = qty(&p);
    e.slot = s(&p, "slot");
    e.rec = s(&p, "rec");
    e.order = s(&p, "order");
    if kind == Kind::PageView {
        e.url = s(&p, "url").map(|u| strip_query(&u)).or_else(|| Some(page_path()));
    }
    if kind == Kind::Custom {
        e.name = s(&p, "event").or_else(|| s(&p, "name"));
        let props = get(&p, "props");
        if props.is_object() {
            for entry in js_sys::Object::entries(props.unchecked_ref()).iter() {
                let pair: Array = entry.unchecked_into();
                let v = pair.get(1);
                let v = v
                    .as_string()
                    .or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| crate::json::itoa(f as u64)))
                    .or_else(|| v.as_bool().map(|b| if b { "true" } else { "false" }.to_owned()));
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), v) {
                    e.props.push((k, v));
                }
            }
        }
    }
    if kind == Kind::Search {
        e.terms = match s(&p, "query") {
            Some(q) => event::normalize_terms(&q),
            None => {
                let t = get(&p, "terms");
                if Array::is_array(&t) {
                    Array::from(&t).iter().filter_map(|v| v.as_string()).collect()
                } else {
                    Vec::new()
                }
            }
        };
    }
    let lines = get(&p, "lines");
    if Array::is_array(&lines) {
        for l in Array::from(&lines).iter() {
            e.lines.push(Line {
                item: s(&l, "item").unwrap_or_default(),
                qty: qty(&l).unwrap_or(1),
                price: price(&get(&l, "price")),
            });
        }
    }
    let info = ItemInfo {
        name: if kind == Kind::Custom { None } else { s(&p, "name") },
        image: s(&p, "image").and_then(|u| clean_url(&u)),
        url: if kind == Kind::PageView { None } else { s(&p, "url").and_then(|u| clean_url(&u)) },
    };
    Ok((e, info))
}

/// Parses a small non-negative integer without the float parser; anything else
/// gives -1 (rejected by validation).
pub fn parse_uint(s: &str) -> f64 {
    let s = s.trim();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return -1.0;
    }
    s.bytes().fold(0.0, |a, b| a * 10.0 + (b - b'0') as f64)
}

/// Drops the query string and fragment of a URL or path.
pub fn strip_query(u: &str) -> String {
    u.split(['?', '#']).next().unwrap_or("").to_owned()
}
