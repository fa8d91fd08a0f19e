//! The wasm binding: a thin `#[wasm_bindgen]` class over the core
//! [`Engine`](crate::engine::Engine). It converts JS values to core types and
//! back and holds no rule of its own.
//!
//! The browser's I/O (DOM capture and rendering, storage, timers, requests) is
//! done by the JS face in `www/src/`, which calls this class. Keeping the DOM
//! work in JS rather than in web-sys bindings is a size decision: the bindings
//! cost about 40 KB of wasm, the same work in JS a few KB (see ARCHITECTURE.md).
//!
//! Invariant: nothing here panics on any input (the engine validates), so no
//! call can throw into the shop's page.

#[cfg(test)]
mod tests;

use crate::codec;
use crate::consent::{Mode, State};
use crate::engine::{Config, Engine, Field, Next, Num};
use crate::i18n;
use crate::model::Model;
use crate::recommend::{Item, Recommender};
use wasm_bindgen::prelude::*;

/// Vitrina's on-device engine, as seen from JS.
#[wasm_bindgen]
pub struct Core {
    e: Engine,
    r: Recommender,
    batches: Vec<Vec<u8>>,
}

fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

#[wasm_bindgen]
impl Core {
    /// A new engine for `site`, with the stored client id (32 hex digits; a
    /// fresh one must be passed when there is none) and a random per-page nonce.
    #[wasm_bindgen(constructor)]
    pub fn new(site: &str, client: &str, nonce: u32) -> Core {
        let client = codec::parse_client(client).unwrap_or([0; 16]);
        Core { e: Engine::new(Config::new(site), client, nonce), r: Recommender::default(), batches: Vec::new() }
    }

    /// The shopper paused personalization: events no longer change the profile.
    pub fn set_paused(&mut self, paused: bool) {
        self.e.paused = paused;
    }

    /// Send batches as JSON (`format: 'json'`) instead of the binary format.
    pub fn set_json(&mut self, json: bool) {
        self.e.cfg.json = json;
    }

    /// Send searches with only the category they led to (`search: 'category'`).
    pub fn set_search_category_only(&mut self, on: bool) {
        self.e.cfg.search_category_only = on;
    }

    /// The shop's consent mode: `opt-in`, `opt-out` or `anonymous`; false if unknown.
    pub fn set_consent_mode(&mut self, mode: &str) -> bool {
        match Mode::parse(mode) {
            Some(m) => {
                self.e.consent.mode = m;
                true
            }
            None => false,
        }
    }

    /// Local differential privacy for likes and views at `epsilon` (0.1 to 10; 0
    /// turns it off), keyed by four words from `crypto.getRandomValues`. False
    /// for an ε out of range.
    pub fn set_ldp(&mut self, epsilon: f64, k0: u32, k1: u32, k2: u32, k3: u32) -> bool {
        self.e.set_ldp(epsilon, [k0, k1, k2, k3])
    }

    /// Global Privacy Control or Do Not Track is on.
    pub fn set_browser_signal(&mut self, on: bool) {
        self.e.consent.browser_signal = on;
    }

    /// The shopper's choice: `pending`, `granted`, `granted-by-shopper` or
    /// `denied`; false if unknown. Withdrawing empties the outbox at once.
    pub fn set_consent(&mut self, state: &str) -> bool {
        match State::parse(state) {
            Some(s) => {
                self.e.set_consent(s);
                true
            }
            None => false,
        }
    }

    /// The current choice, as `set_consent` takes it.
    pub fn consent_state(&self) -> String {
        self.e.consent.state.as_str().to_owned()
    }

    /// Whether Vitrina may write to the device's storage.
    pub fn may_persist(&self) -> bool {
        self.e.consent.may_persist()
    }

    /// Whether events may leave the browser.
    pub fn may_send(&self) -> bool {
        self.e.consent.may_send()
    }

    /// Starts an event; false for an unknown kind.
    pub fn begin(&mut self, kind: &str, now: f64) -> bool {
        self.e.begin(kind, ms(now))
    }

    /// Sets a string field (see `engine::Field` for the codes).
    pub fn set(&mut self, field: u8, value: &str) {
        if let Some(f) = Field::from_code(field) {
            self.e.set(f, value);
        }
    }

    /// Sets a number field: 0 price, 1 quantity, 2 dwell ms.
    pub fn num(&mut self, field: u8, value: f64) {
        let f = match field {
            0 => Num::Price,
            1 => Num::Qty,
            _ => Num::Dwell,
        };
        self.e.set_num(f, value);
    }

    /// Adds a purchase line (price NaN when unknown).
    pub fn line(&mut self, item: &str, qty: f64, price: f64) {
        self.e.add_line(item, qty, price);
    }

    /// Adds a custom property.
    pub fn prop(&mut self, key: &str, value: &str) {
        self.e.add_prop(key, value);
    }

    /// Validates, applies and (when `send`) queues the event. Returns "" when
    /// accepted, else why it was rejected.
    pub fn commit(&mut self, now: f64, send: bool, rand: u32) -> String {
        match self.e.commit(ms(now), send, rand) {
            Ok(()) => String::new(),
            Err(why) => why.message(),
        }
    }

    /// Whether enough events wait to send now.
    pub fn wants_flush(&self) -> bool {
        self.e.wants_flush()
    }

    /// Events not yet acknowledged (pending and sealed).
    pub fn waiting(&self) -> u32 {
        self.e.waiting_events() as u32
    }

    /// The next batch to POST, or undefined while one is in flight or none waits.
    pub fn next_request(&mut self) -> Option<Vec<u8>> {
        self.e.next_request().map(|(_, b)| b)
    }

    /// The answer to the batch in flight: HTTP status (0 for a network error)
    /// and Retry-After seconds (negative when absent). Returns -1 to send more
    /// now, else milliseconds to wait before retrying.
    pub fn answer(&mut self, status: u32, retry_after: f64, rand: f64) -> f64 {
        let Some(id) = self.e.inflight() else { return -1.0 };
        let ra = (retry_after >= 0.0).then_some(retry_after as u32);
        match self.e.answer(id, status, ra, rand) {
            Next::SendMore => -1.0,
            Next::RetryIn(w) => w as f64,
        }
    }

    /// Seals everything for a page being left; returns how many batches to
    /// hand to `sendBeacon` (read each with `batch(i)`).
    pub fn leaving(&mut self) -> u32 {
        self.batches = self.e.leaving().into_iter().map(|(_, b)| b).collect();
        self.batches.len() as u32
    }

    /// The page is visible again (batches may be handed over again when left).
    pub fn visible(&mut self) {
        self.e.visible();
    }

    /// Takes another tab's client id.
    pub fn set_client(&mut self, client: &str) {
        if let Some(c) = codec::parse_client(client) {
            self.e.set_client(c);
        }
    }

    /// One of the batches prepared by `leaving`.
    pub fn batch(&self, i: u32) -> Vec<u8> {
        self.batches.get(i as usize).cloned().unwrap_or_default()
    }

    /// The outbox for storage.
    pub fn outbox(&mut self) -> String {
        self.e.outbox_string()
    }

    /// Takes in stored batches (this tab's or another's); false if damaged.
    pub fn merge_outbox(&mut self, stored: &str) -> bool {
        self.e.merge_outbox(stored)
    }

    /// The profile for storage.
    pub fn profile(&self) -> String {
        self.e.profile_string()
    }

    /// The profile to store, given what storage holds now: another tab's writes
    /// are joined in first.
    pub fn save_profile(&mut self, stored: &str, now: f64) -> String {
        self.e.save_profile(stored, ms(now))
    }

    /// Applies an event another tab recorded (and sends): profile only.
    pub fn commit_replica(&mut self, now: f64, rand: u32) -> String {
        match self.e.commit_replica(ms(now), rand) {
            Ok(()) => String::new(),
            Err(why) => why.message(),
        }
    }

    /// Joins a profile another tab stored into this one; false if it cannot be
    /// read.
    pub fn absorb(&mut self, stored: &str, now: f64) -> bool {
        self.e.absorb(stored, ms(now))
    }

    /// Loads a stored profile; false (profile unchanged) if corrupt or newer.
    pub fn load_profile(&mut self, stored: &str, now: f64) -> bool {
        self.e.load_profile(stored, ms(now)).is_ok()
    }

    /// Everything kept on this device, as JSON.
    pub fn profile_json(&self, now: f64) -> String {
        self.e.profile.to_json(ms(now), &self.e.cfg.profile)
    }

    /// Whether the shopper likes `item`.
    pub fn likes(&self, item: &str) -> bool {
        self.e.profile.likes(item)
    }

    /// Events dropped because the outbox was full, not yet reported.
    pub fn dropped(&self) -> u32 {
        self.e.dropped()
    }

    /// The client id (hex).
    pub fn client(&self) -> String {
        codec::hex(&self.e.client)
    }

    /// Forgets everything and takes the new client id and per-page nonce.
    pub fn erase(&mut self, client: &str, nonce: u32) {
        self.e.erase_all(codec::parse_client(client).unwrap_or([0; 16]), nonce);
        self.batches.clear();
    }

    /// Adds an item the page can show (price in currency units, NaN if unknown).
    #[allow(clippy::too_many_arguments)]
    pub fn add_item(
        &mut self,
        sku: &str,
        name: Option<String>,
        image: Option<String>,
        url: Option<String>,
        category: Option<String>,
        brand: Option<String>,
        price: f64,
        in_stock: bool,
    ) {
        if sku.is_empty() || sku.len() > crate::event::limits::ID_LEN {
            return;
        }
        let price = crate::event::price_from_f64(price);
        let item = Item { sku: sku.to_owned(), name, image, url, category, brand, price, in_stock, ..Item::default() };
        self.r.add_item(item);
    }

    /// The shop's rules: `pin` a SKU first in every slot it qualifies for.
    pub fn rule_pin(&mut self, sku: &str) {
        if !sku.is_empty() && !self.r.rules.pins.iter().any(|p| p == sku) {
            self.r.rules.pins.push(sku.to_owned());
        }
    }

    /// The shop's rules: multiply the scores of a category (and its
    /// sub-categories) by `factor`: above 1 boosts, below 1 buries, 0 hides.
    pub fn rule_boost(&mut self, category: &str, factor: f64) {
        if !category.is_empty() && factor.is_finite() && factor >= 0.0 {
            self.r.rules.boosts.push((category.to_owned(), factor as f32));
        }
    }

    /// The shop's rules: recommend bought items again after this many days (0: never).
    pub fn rule_buy_again_days(&mut self, days: u32) {
        self.r.rules.buy_again_days = days;
    }

    /// Takes in model bytes (the head or a shard); false if damaged.
    pub fn add_model(&mut self, bytes: &[u8]) -> bool {
        match Model::decode(bytes) {
            Ok(m) => {
                self.r.model.merge(&m);
                true
            }
            Err(_) => false,
        }
    }

    /// The model shards (among `n`) that ranking this shopper would read and
    /// that are not loaded yet.
    pub fn shards_needed(&self, anchor: Option<String>, n: u32) -> Vec<u32> {
        self.r.shards_needed(&self.e.profile, anchor.as_deref(), n)
    }

    /// Ranks a slot (`for-you`, `similar`, `bought-together`, `trending`,
    /// `cart-complements`) as JSON: `[{item, name, image, url, price, reason, rec}]`,
    /// the reason in the page's language, `rec` an id for click attribution.
    pub fn recommend(&mut self, slot: &str, anchor: Option<String>, limit: u32, lang: &str, now: f64) -> String {
        self.r.recommend_json(slot, anchor.as_deref(), limit.min(50) as usize, &self.e.profile, ms(now), &self.e.cfg.profile, i18n::pick(lang))
    }

    /// A shopper-facing text in the page's language.
    pub fn text(lang: &str, key: &str) -> String {
        i18n::t(i18n::pick(lang), key).to_owned()
    }

    /// The language Vitrina uses for a page language (`es-ES` → `es`).
    pub fn lang(lang: &str) -> String {
        i18n::pick(lang).to_owned()
    }
}
