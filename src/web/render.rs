//! Drawing on the shop's page: like buttons, badges and recommendation slots.
//! Everything shown is set as text (`textContent`) or as a checked URL attribute,
//! never as HTML, so an item name can never become markup.

use super::dom::{all, attr, document};
use super::State;
use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

fn el(doc: &Document, tag: &str, class: &str) -> Option<Element> {
    let e = doc.create_element(tag).ok()?;
    e.set_class_name(class);
    Some(e)
}

fn text(doc: &Document, tag: &str, class: &str, t: &str) -> Option<Element> {
    let e = el(doc, tag, class)?;
    e.set_text_content(Some(t));
    Some(e)
}

fn int_attr(e: &Element, name: &str) -> u64 {
    attr(e, name).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Like buttons and badges for `only` (or every item when `None`).
pub fn likes(st: &State, only: Option<&str>) {
    let Some(doc) = document() else { return };
    for b in all(&doc, "[data-vitrina-like]") {
        let Some(item) = attr(&b, "like") else { continue };
        if only.is_some_and(|o| o != item) {
            continue;
        }
        let liked = st.profile.likes(&item);
        let count = int_attr(&b, "likes") + liked as u64;
        b.set_text_content(None);
        let _ = b.class_list().add_1("vitrina-like");
        let _ = b.set_attribute("aria-pressed", if liked { "true" } else { "false" });
        if let Some(i) = text(&doc, "span", "vitrina-like-icon", if liked { "♥" } else { "♡" }) {
            let _ = i.set_attribute("aria-hidden", "true");
            let _ = b.append_child(&i);
        }
        if let Some(l) = text(&doc, "span", "vitrina-like-label", st.t(if liked { "liked" } else { "like" })) {
            let _ = b.append_child(&l);
        }
        if count > 0 {
            if let Some(c) = text(&doc, "span", "vitrina-like-count", &st.fmt_count(count)) {
                let _ = b.append_child(&c);
            }
        }
    }
    for b in all(&doc, "[data-vitrina-badge]") {
        let Some(item) = attr(&b, "badge") else { continue };
        if only.is_some_and(|o| o != item) {
            continue;
        }
        let count = int_attr(&b, "likes") + st.profile.likes(&item) as u64;
        let _ = b.class_list().add_1("vitrina-badge");
        // Below the threshold no number is shown: small counts say little and can
        // reveal individual shoppers.
        if count >= st.cfg.min_count as u64 {
            b.set_text_content(Some(&[st.fmt_count(count).as_str(), " ", st.t("likes")].concat()));
            let _ = b.remove_attribute("hidden");
        } else {
            b.set_text_content(None);
            let _ = b.set_attribute("hidden", "");
        }
        let _ = b.set_attribute("aria-live", "polite");
    }
}

/// Every slot on the page.
pub fn slots(st: &State) {
    let Some(doc) = document() else { return };
    for s in all(&doc, "[data-vitrina-slot]") {
        let kind = attr(&s, "slot").unwrap_or_default();
        let limit = attr(&s, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(8).clamp(1, 50);
        match kind.as_str() {
            "recently-viewed" => recently_viewed(st, &doc, &s, limit),
            _ => {
                if st.cfg.debug {
                    super::warn(&["slot kind '", &kind, "' is not available yet; it stays empty"].concat());
                }
            }
        }
    }
}

fn recently_viewed(st: &State, doc: &Document, slot: &Element, limit: usize) {
    let current = st.view.as_ref().map(|v| v.event.item.clone().unwrap_or_default());
    slot.set_text_content(None);
    let _ = slot.class_list().add_1("vitrina-slot");
    let _ = slot.set_attribute("data-vitrina-rendered", "recently-viewed");
    let mut n = 0;
    for r in st.profile.recent.iter().filter(|r| Some(&r.item) != current.as_ref()).take(limit) {
        let Some(card) = el(doc, if r.info.url.is_some() { "a" } else { "div" }, "vitrina-card") else { continue };
        if let Some(u) = &r.info.url {
            let _ = card.set_attribute("href", u);
        }
        let rec = [st.nonce_hex().as_str(), "-", &crate::json::itoa(n)].concat();
        let _ = card.set_attribute("data-vitrina-rec", &rec);
        let _ = card.set_attribute("data-vitrina-rec-item", &r.item);
        let _ = card.set_attribute("data-vitrina-rec-slot", "recently-viewed");
        if let Some(src) = &r.info.image {
            if let Some(img) = el(doc, "img", "vitrina-card-img") {
                let _ = img.set_attribute("src", src);
                let _ = img.set_attribute("alt", "");
                let _ = img.set_attribute("loading", "lazy");
                let _ = card.append_child(&img);
            }
        }
        let name = r.info.name.as_deref().unwrap_or(&r.item);
        if let Some(t) = text(doc, "span", "vitrina-card-name", name) {
            let _ = card.append_child(&t);
        }
        if let Some(p) = r.price {
            let cur = st.currency.as_deref().unwrap_or("EUR");
            if let Some(t) = text(doc, "span", "vitrina-card-price", &st.fmt_money(p, cur)) {
                let _ = card.append_child(&t);
            }
        }
        let reason = if r.views > 1 {
            let t = st.t("viewed-times");
            match t.split_once("{n}") {
                Some((a, b)) => [a, &crate::json::itoa(r.views as u64), b].concat(),
                None => t.to_owned(),
            }
        } else {
            st.t("viewed").to_owned()
        };
        if let Some(t) = text(doc, "span", "vitrina-reason", &reason) {
            let _ = card.append_child(&t);
        }
        let _ = slot.append_child(&card);
        n += 1;
    }
    if n == 0 {
        if let Some(t) = text(doc, "p", "vitrina-empty", st.t("empty-recent")) {
            let _ = slot.append_child(&t);
        }
    }
}

/// Calls a formatting hook from the JS side (`Intl`), falling back to plain digits.
pub fn call_fmt(hooks: &JsValue, name: &str, a: f64, b: &str, lang: &str) -> Option<String> {
    let f: js_sys::Function = js_sys::Reflect::get(hooks, &JsValue::from_str(name)).ok()?.dyn_into().ok()?;
    f.call3(&JsValue::NULL, &JsValue::from_f64(a), &JsValue::from_str(b), &JsValue::from_str(lang)).ok()?.as_string()
}

use wasm_bindgen::JsCast;
