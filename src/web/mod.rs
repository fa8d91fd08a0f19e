//! Browser glue: the `#[wasm_bindgen]` API, DOM capture, rendering, storage,
//! timers and the hand-off to the transport. It converts and delegates to the
//! core; it holds no scoring or encoding rules of its own.
//!
//! Invariant: nothing here throws into the shop's page. Every export catches its
//! own failures, state is only borrowed with `try_borrow_mut` (a re-entrant call
//! is dropped, not a panic), and storage falls back to memory.

mod dom;
mod render;
mod storage;

use crate::codec::{self, Batch};
use crate::event::{Event, ItemInfo, Kind};
use crate::i18n;
use crate::profile::{self, Profile};
use js_sys::{Function, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Batch at most this many events per request.
const MAX_BATCH_EVENTS: usize = 500;
/// Keep each request under the 64 KB keepalive limit with room to spare.
const MAX_BATCH_BYTES: usize = 60_000;
/// Flush once this many events wait.
const FLUSH_COUNT: usize = 20;
/// Otherwise flush this long after the first waiting event.
const FLUSH_DELAY_MS: i32 = 1000;
/// Outbox bound: beyond it the oldest events are dropped (and counted).
const OUTBOX_MAX: usize = 2000;

struct Cfg {
    site: String,
    endpoint: Option<String>,
    debug: bool,
    auto: bool,
    lang: &'static str,
    locale: String,
    min_count: u32,
}

/// The product page being viewed: its view is applied to the profile at once and
/// sent, with the visible time, when the page is hidden or left.
struct View {
    event: Event,
    visible_since: Option<f64>,
    acc_ms: f64,
}

pub(crate) struct State {
    cfg: Cfg,
    pcfg: profile::Config,
    hooks: JsValue,
    store: storage::Store,
    client: [u8; 16],
    nonce: u32,
    seq: u32,
    profile: Profile,
    currency: Option<String>,
    outbox: Vec<Event>,
    inflight: Vec<u64>,
    dropped: u32,
    backoff: u32,
    flush_timer: bool,
    save_timer: bool,
    view: Option<View>,
    scanned: bool,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Runs `f` on the state if Vitrina is started and the state is not already in
/// use further up the stack.
fn with<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|s| s.try_borrow_mut().ok().and_then(|mut g| g.as_mut().map(f)))
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn perf_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let ok = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut b).is_ok());
    if !ok {
        for x in b.iter_mut() {
            *x = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    b
}

fn random_u32() -> u32 {
    u32::from_le_bytes(random_bytes::<4>())
}

pub(crate) fn warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&["[vitrina] ", msg].concat()));
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// Deferred work. One timer callback and one event listener serve every task and
/// event: each distinct Rust closure type costs wasm bytes, so there are three in
/// all (timer, events, send answers), created once and kept for the page's life.
#[derive(Clone, Copy)]
enum Task {
    Flush = 0,
    Save = 1,
    Retry = 2,
    Render = 3,
}

thread_local! {
    static TIMER: Function = Closure::<dyn FnMut(JsValue)>::new(on_task).into_js_value().unchecked_into();
    static EVENTS: Function = Closure::<dyn FnMut(web_sys::Event)>::new(on_event).into_js_value().unchecked_into();
    static SENT: Function = Closure::<dyn FnMut(JsValue)>::new(on_sent).into_js_value().unchecked_into();
}

fn set_timeout(ms: i32, task: Task) {
    if let Some(w) = web_sys::window() {
        TIMER.with(|f| {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_1(f, ms, &JsValue::from(task as u32));
        });
    }
}

fn on_task(v: JsValue) {
    let task = v.as_f64().unwrap_or(-1.0) as i32;
    with(|st| match task {
        0 => {
            st.flush_timer = false;
            st.send(false);
        }
        1 => {
            st.save_timer = false;
            st.save();
        }
        2 => st.send(false),
        3 => render::slots(st),
        _ => {}
    });
}

fn on_sent(status: JsValue) {
    let status = status.as_f64().unwrap_or(0.0) as u32;
    with(|st| st.sent(status));
}

fn listen(target: &web_sys::EventTarget, ty: &str) {
    EVENTS.with(|f| {
        let _ = target.add_event_listener_with_callback(ty, f);
    });
}

fn on_event(ev: web_sys::Event) {
    match ev.type_().as_str() {
        "click" => {
            if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                with(|st| st.on_click(t));
            }
        }
        "visibilitychange" => {
            let hidden = dom::document().is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            with(|st| if hidden { st.on_hidden() } else { st.on_visible() });
        }
        "pagehide" => {
            with(|st| st.on_hidden());
        }
        "storage" => {
            let key = ev.dyn_ref::<web_sys::StorageEvent>().and_then(|s| s.key());
            if key.as_deref() == Some("vitrina:profile") {
                with(|st| st.on_storage());
            }
        }
        "online" => {
            with(|st| st.send(false));
        }
        "DOMContentLoaded" => {
            with(|st| st.go());
        }
        _ => {}
    }
}

impl State {
    fn t(&self, key: &'static str) -> &'static str {
        i18n::t(self.cfg.lang, key)
    }

    fn fmt_count(&self, n: u64) -> String {
        render::call_fmt(&self.hooks, "count", n as f64, "", &self.cfg.locale).unwrap_or_else(|| crate::json::itoa(n))
    }

    fn fmt_money(&self, cents: i64, currency: &str) -> String {
        render::call_fmt(&self.hooks, "money", cents as f64 / 100.0, currency, &self.cfg.locale).unwrap_or_else(|| {
            let cents = cents.max(0) as u64;
            let mut s = crate::json::itoa(cents / 100);
            s.push('.');
            let c = cents % 100;
            if c < 10 {
                s.push('0');
            }
            crate::json::push_u64(&mut s, c);
            s.push(' ');
            s.push_str(currency);
            s
        })
    }

    fn nonce_hex(&self) -> String {
        codec::hex(&self.nonce.to_be_bytes())
    }

    fn next_id(&mut self) -> u64 {
        self.seq = self.seq.wrapping_add(1);
        ((self.nonce as u64) << 32) | self.seq as u64
    }

    /// Validates, applies and queues one event. Returns whether it was accepted.
    fn record(&mut self, mut e: Event, info: Option<&ItemInfo>, send: bool) -> bool {
        if let Err(why) = e.validate() {
            if self.cfg.debug {
                warn(&["dropped a '", e.kind.name(), "' event: ", &why.message()].concat());
            }
            return false;
        }
        if e.currency.is_some() {
            self.currency = e.currency.clone();
        }
        self.profile.touch_session(e.ts, random_u32());
        self.profile.apply(&e, info, &self.pcfg);
        self.schedule_save();
        if send {
            e.id = self.next_id();
            self.queue(e);
        }
        true
    }

    fn queue(&mut self, e: Event) {
        self.outbox.push(e);
        if self.outbox.len() > OUTBOX_MAX {
            let n = self.outbox.len() - OUTBOX_MAX;
            self.outbox.drain(..n);
            self.dropped = self.dropped.saturating_add(n as u32);
        }
        let waiting = self.outbox.len() - self.inflight.len();
        if waiting >= FLUSH_COUNT {
            self.send(false);
        } else if !self.flush_timer {
            self.flush_timer = true;
            set_timeout(FLUSH_DELAY_MS, Task::Flush);
        }
    }

    fn schedule_save(&mut self) {
        if !self.save_timer {
            self.save_timer = true;
            set_timeout(0, Task::Save);
        }
    }

    /// Writes the profile and the outbox. The outbox is merged with what other
    /// tabs stored, so no tab's events are overwritten.
    fn save(&mut self) {
        let bytes = self.profile.encode(&self.pcfg);
        self.store.set("profile", &codec::b64_encode(&bytes));
        self.save_outbox();
    }

    fn save_outbox(&mut self) {
        let stored = self.load_outbox();
        for e in stored {
            if !self.outbox.iter().any(|o| o.id == e.id) {
                self.outbox.push(e);
            }
        }
        if self.outbox.is_empty() {
            self.store.remove("outbox");
            return;
        }
        let b = Batch { events: self.outbox.clone(), dropped: self.dropped, ..Batch::default() };
        self.store.set("outbox", &codec::b64_encode(&codec::encode(&b)));
    }

    fn load_outbox(&mut self) -> Vec<Event> {
        let Some(s) = self.store.get("outbox") else { return Vec::new() };
        match codec::b64_decode(&s).map(|b| codec::decode(&b)) {
            Some(Ok(b)) => {
                self.dropped = self.dropped.max(b.dropped);
                b.events
            }
            _ => {
                if self.cfg.debug {
                    warn("the stored outbox was unreadable and has been reset");
                }
                self.store.remove("outbox");
                Vec::new()
            }
        }
    }

    /// Sends what waits in the outbox. `leaving`: the page is being hidden or
    /// unloaded, so hand everything to the browser now (beacon / keepalive).
    fn send(&mut self, leaving: bool) {
        let Some(endpoint) = self.cfg.endpoint.clone() else { return };
        if !self.inflight.is_empty() && !leaving {
            return;
        }
        let mut events: Vec<Event> =
            self.outbox.iter().filter(|e| leaving || !self.inflight.contains(&e.id)).take(MAX_BATCH_EVENTS).cloned().collect();
        if events.is_empty() {
            return;
        }
        let mut bytes;
        loop {
            let b = Batch {
                site: self.cfg.site.clone(),
                client: self.client,
                session: self.profile.session.id,
                dropped: self.dropped,
                events: events.clone(),
            };
            bytes = codec::encode(&b);
            if bytes.len() <= MAX_BATCH_BYTES || events.len() == 1 {
                break;
            }
            events.truncate(events.len() / 2);
        }
        let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
        let Ok(send) = get(&self.hooks, "send").dyn_into::<Function>() else { return };
        let body = Uint8Array::from(bytes.as_slice());
        if leaving {
            // The page may be gone before an answer: the events stay in the stored
            // outbox and are sent again by the next page (the server deduplicates).
            let _ = send.call3(&JsValue::NULL, &JsValue::from_str(&endpoint), &body, &JsValue::NULL);
            return;
        }
        self.inflight = ids;
        let called = SENT.with(|done| send.call3(&JsValue::NULL, &JsValue::from_str(&endpoint), &body, done));
        if called.is_err() {
            self.inflight.clear();
        }
    }

    fn sent(&mut self, status: u32) {
        let ids = std::mem::take(&mut self.inflight);
        let ids = &ids[..];
        let ok = (200..300).contains(&status);
        let retry = status == 0 || status == 429 || status >= 500;
        if ok || !retry {
            if !ok && self.cfg.debug {
                warn(&["the server refused a batch (HTTP ", &crate::json::itoa(status as u64), "); it will not be retried"].concat());
            }
            self.outbox.retain(|e| !ids.contains(&e.id));
            // Remove them from the stored outbox too.
            let mine = std::mem::take(&mut self.outbox);
            let stored = self.load_outbox();
            self.outbox = mine;
            for e in stored {
                if !ids.contains(&e.id) && !self.outbox.iter().any(|o| o.id == e.id) {
                    self.outbox.push(e);
                }
            }
            if ok {
                self.dropped = 0;
            }
            self.backoff = 0;
            self.save_outbox_exact();
            if !self.outbox.is_empty() {
                self.send(false);
            }
        } else {
            // Exponential backoff with jitter, capped at a minute.
            self.backoff = (self.backoff + 1).min(6);
            let base = 1000u32 << self.backoff.min(6);
            let ms = (base / 2 + (js_sys::Math::random() * (base / 2) as f64) as u32).min(60_000);
            set_timeout(ms as i32, Task::Retry);
        }
    }

    /// Writes exactly the in-memory outbox (after an acknowledgement).
    fn save_outbox_exact(&mut self) {
        if self.outbox.is_empty() {
            self.store.remove("outbox");
        } else {
            let b = Batch { events: self.outbox.clone(), dropped: self.dropped, ..Batch::default() };
            self.store.set("outbox", &codec::b64_encode(&codec::encode(&b)));
        }
    }

    /// Ends the current product view: adds the visible time and queues its event.
    fn end_view(&mut self) {
        if let Some(mut v) = self.view.take() {
            if let Some(t) = v.visible_since.take() {
                v.acc_ms += perf_now() - t;
            }
            let mut e = v.event;
            e.dwell_ms = Some(v.acc_ms.clamp(0.0, crate::event::limits::MAX_DWELL_MS as f64) as u32);
            e.ts = now();
            // The view itself was applied when the page opened; this adds the time.
            self.profile.apply(&e, None, &self.pcfg);
            e.id = self.next_id();
            self.queue(e);
        }
    }

    /// Reads the page: page view, the product of the page, likes, slots.
    fn scan(&mut self) {
        let Some(doc) = dom::document() else { return };
        if self.cfg.auto {
            let mut pv = Event::new(Kind::PageView, now());
            pv.url = Some(dom::page_path());
            self.record(pv, None, true);
            // The page's product: an element with data-vitrina-item outside any
            // list, slot or action.
            let product = dom::all(&doc, "[data-vitrina-item]").into_iter().find(|el| {
                el.closest("[data-vitrina-list],[data-vitrina-slot],[data-vitrina-action]").ok().flatten().is_none()
            });
            if let Some(el) = product {
                let (e, info) = dom::item_event(Kind::ProductView, &el, now());
                if self.record(e.clone(), Some(&info), false) {
                    let visible = doc.visibility_state() == web_sys::VisibilityState::Visible;
                    self.view = Some(View { event: e, visible_since: visible.then(perf_now), acc_ms: 0.0 });
                }
            }
        }
        render::likes(self, None);
        render::slots(self);
    }

    fn on_click(&mut self, target: web_sys::Element) {
        let Ok(Some(el)) = target.closest("[data-vitrina-like],[data-vitrina-action],[data-vitrina-rec]") else { return };
        if let Some(item) = dom::attr(&el, "like") {
            let kind = if self.profile.likes(&item) { Kind::Unlike } else { Kind::Like };
            let holder = el.closest("[data-vitrina-item]").ok().flatten().filter(|h| dom::attr(h, "item").as_deref() == Some(&item));
            let mut e = match &holder {
                Some(h) => dom::item_event(kind, h, now()).0,
                None => Event::new(kind, now()),
            };
            e.item = Some(item.clone());
            e.qty = None;
            self.record(e, None, true);
            render::likes(self, Some(&item));
            return;
        }
        if let Some(action) = dom::attr(&el, "action") {
            let kind = match action.as_str() {
                "cart-add" => Kind::CartAdd,
                "cart-remove" => Kind::CartRemove,
                "like" => Kind::Like,
                "share" => Kind::Share,
                other => {
                    if self.cfg.debug {
                        warn(&["unknown data-vitrina-action '", other, "'"].concat());
                    }
                    return;
                }
            };
            let holder = if el.has_attribute("data-vitrina-item") { Some(el.clone()) } else { el.closest("[data-vitrina-item]").ok().flatten() };
            let Some(holder) = holder else {
                if self.cfg.debug {
                    warn("an action button has no data-vitrina-item on it or around it");
                }
                return;
            };
            let (mut e, info) = dom::item_event(kind, &holder, now());
            if matches!(kind, Kind::CartAdd | Kind::CartRemove) {
                let q = dom::attr(&el, "quantity").or_else(|| dom::attr(&holder, "quantity"));
                e.qty = Some(q.and_then(|q| q.parse().ok()).unwrap_or(1));
            }
            self.record(e, Some(&info), true);
            render::slots(self);
            return;
        }
        if let (Some(rec), Some(item)) = (dom::attr(&el, "rec"), dom::attr(&el, "rec-item")) {
            let mut e = Event::new(Kind::RecClick, now());
            e.item = Some(item);
            e.rec = Some(rec);
            e.slot = dom::attr(&el, "rec-slot");
            self.record(e, None, true);
            // The click usually navigates away: hand the event over right now.
            self.save();
            self.send(true);
        }
    }

    fn on_hidden(&mut self) {
        if let Some(v) = &mut self.view {
            if let Some(t) = v.visible_since.take() {
                v.acc_ms += perf_now() - t;
            }
        }
        self.end_view();
        self.save();
        self.send(true);
    }

    fn on_visible(&mut self) {
        if let Some(v) = &mut self.view {
            v.visible_since.get_or_insert_with(perf_now);
        }
    }

    /// Another tab changed the stored profile: take it and redraw.
    fn on_storage(&mut self) {
        if let Some(p) = self.load_profile() {
            if p.updated >= self.profile.updated {
                self.profile = p;
                render::likes(self, None);
                render::slots(self);
            }
        }
    }

    fn load_profile(&mut self) -> Option<Profile> {
        let s = self.store.get("profile")?;
        match codec::b64_decode(&s).ok_or(()).and_then(|b| Profile::decode(&b).map_err(|_| ())) {
            Ok(mut p) => {
                p.purge(now(), &self.pcfg);
                Some(p)
            }
            Err(()) => {
                warn("the stored profile was unreadable (corrupt or from a newer version) and has been reset");
                self.store.remove("profile");
                None
            }
        }
    }
}

fn read_config(cfg: &JsValue) -> Result<Cfg, String> {
    if !cfg.is_object() {
        return Err("init() needs a config object such as { site: 'my-shop', endpoint: '/v1/collect' }".into());
    }
    let site = get(cfg, "site").as_string().unwrap_or_default();
    let site_ok = !site.is_empty()
        && site.len() <= 64
        && site.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !site_ok {
        return Err([
            "config 'site' must be 1-64 letters, digits, '-', '_' or '.', got '",
            &site,
            "' (set data-site on the script tag or site in init())",
        ]
        .concat());
    }
    let endpoint = get(cfg, "endpoint").as_string().filter(|s| !s.is_empty());
    if let Some(e) = &endpoint {
        if dom::clean_url(e).is_none() {
            return Err(["config 'endpoint' must be an http(s) URL or a path, got '", e, "'"].concat());
        }
    }
    let locale = get(cfg, "lang")
        .as_string()
        .or_else(|| dom::document().and_then(|d| d.document_element()).and_then(|h| h.get_attribute("lang")))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "en".into());
    Ok(Cfg {
        site,
        endpoint,
        debug: get(cfg, "debug").is_truthy(),
        auto: get(cfg, "autoCapture").as_bool().unwrap_or(true),
        lang: i18n::pick(&locale),
        locale,
        min_count: get(cfg, "minCount").as_f64().map_or(5, |v| v.clamp(0.0, 1e6) as u32),
    })
}

/// Starts Vitrina on this page. `hooks` are the JS functions the glue delegates
/// I/O and formatting to (`send`, `money`, `count`). Returns an error message for
/// a bad config; the JS side turns it into one console warning.
#[wasm_bindgen]
pub fn start(config: JsValue, hooks: JsValue) -> Result<(), JsValue> {
    let cfg = read_config(&config).map_err(|m| JsValue::from_str(&m))?;
    if with(|_| ()).is_some() {
        return Err(JsValue::from_str("Vitrina is already started on this page"));
    }
    let store = storage::Store::open();
    if let (Some(why), true) = (store.degraded, cfg.debug) {
        warn(&[why, "; keeping data in memory for this page only"].concat());
    }
    let mut st = State {
        cfg,
        pcfg: profile::Config::default(),
        hooks,
        store,
        client: [0; 16],
        nonce: random_u32(),
        seq: 0,
        profile: Profile::default(),
        currency: None,
        outbox: Vec::new(),
        inflight: Vec::new(),
        dropped: 0,
        backoff: 0,
        flush_timer: false,
        save_timer: false,
        view: None,
        scanned: false,
    };
    st.client = match st.store.get("cid").and_then(|c| codec::parse_client(&c)) {
        Some(c) => c,
        None => {
            let c = random_bytes::<16>();
            st.store.set("cid", &codec::hex(&c));
            c
        }
    };
    if let Some(p) = st.load_profile() {
        st.profile = p;
    }
    st.outbox = st.load_outbox();
    STATE.with(|s| *s.borrow_mut() = Some(st));

    let Some(window) = web_sys::window() else { return Ok(()) };
    let Some(doc) = window.document() else { return Ok(()) };
    for ty in ["click", "visibilitychange"] {
        listen(&doc, ty);
    }
    for ty in ["pagehide", "storage", "online"] {
        listen(&window, ty);
    }
    if doc.ready_state() == "loading" {
        listen(&doc, "DOMContentLoaded");
    } else {
        with(|st| st.go());
    }
    Ok(())
}

/// Records an event from the API: `track('cart-add', { item, price, quantity })`.
/// Returns false (and warns in debug mode) when the event is invalid.
#[wasm_bindgen]
pub fn track(kind: &str, props: JsValue) -> bool {
    let t = now();
    with(|st| match dom::api_event(kind, &props, t) {
        Ok((e, info)) => {
            let is_view = e.kind == Kind::ProductView;
            let ok = st.record(e, Some(&info), true);
            if ok && matches!(kind, "cart-add" | "cart-remove" | "purchase") || is_view {
                st.schedule_render();
            }
            ok
        }
        Err(m) => {
            if st.cfg.debug {
                warn(&m);
            }
            false
        }
    })
    .unwrap_or(false)
}

impl State {
    fn schedule_render(&mut self) {
        set_timeout(0, Task::Render);
    }

    /// First look at the page, once the DOM is parsed.
    fn go(&mut self) {
        if self.scanned {
            return;
        }
        self.scanned = true;
        self.scan();
        if !self.outbox.is_empty() {
            self.send(false);
        }
    }
}

/// Sends everything waiting now (for example before a navigation the shop makes).
#[wasm_bindgen]
pub fn flush() {
    with(|st| {
        st.save();
        st.send(false);
    });
}

/// The profile kept on this device, as JSON.
#[wasm_bindgen]
pub fn profile() -> String {
    with(|st| st.profile.to_json(now(), &st.pcfg)).unwrap_or_else(|| "null".into())
}

/// Diagnostics for tests and the panel: client id, outbox size, storage mode.
#[wasm_bindgen]
pub fn status() -> String {
    with(|st| {
        let mut s = String::new();
        let mut o = crate::json::Obj::new(&mut s);
        o.str("client", &codec::hex(&st.client))
            .int("outbox", st.outbox.len() as i64)
            .int("inflight", st.inflight.len() as i64)
            .int("dropped", st.dropped as i64)
            .bool("persistent", st.store.persistent())
            .str("lang", st.cfg.lang);
        o.end();
        s
    })
    .unwrap_or_else(|| "null".into())
}

/// Reads the page again (after a shop re-rendered it without a navigation).
#[wasm_bindgen]
pub fn refresh() {
    with(|st| {
        st.end_view();
        st.scan();
    });
}

/// Erases everything Vitrina keeps on this device (profile, outbox, client id)
/// and starts afresh with a new random client id.
#[wasm_bindgen]
pub fn erase() {
    with(|st| {
        st.store.clear_all();
        st.profile = Profile::default();
        st.outbox.clear();
        st.inflight.clear();
        st.view = None;
        st.client = random_bytes::<16>();
        st.store.set("cid", &codec::hex(&st.client));
        render::likes(st, None);
        render::slots(st);
    });
}
