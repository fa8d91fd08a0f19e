//! The wasm binding: a thin class over the core
//! [`Engine`](crate::engine::Engine), exported to JS by [`abi`] as plain wasm
//! functions (no wasm-bindgen: its glue cost 2.5 KB gzip of JS). It converts
//! JS values to core types and back and holds no rule of its own.
//!
//! The browser's I/O (DOM capture and rendering, storage, timers, requests) is
//! done by the JS face in `www/src/`, which calls this class. Keeping the DOM
//! work in JS rather than in web-sys bindings is a size decision: the bindings
//! cost about 40 KB of wasm, the same work in JS a few KB (see ARCHITECTURE.md).
//!
//! Invariant: nothing here panics on any input (the engine validates), so no
//! call can throw into the shop's page.
//!
//! The class has few methods on purpose: each export costs wasm and a wrapper in
//! the JS glue, so the event builder and the settings share `set` (chosen by a
//! code, with the arguments they need), and the getters `state`, `stored` and
//! `batch` (chosen by a number). See docs/size.md.

#[cfg(not(test))]
mod abi;
#[cfg(test)]
mod tests;

use crate::codec;
use crate::consent::{Mode, State};
use crate::engine::{Config, Engine, Field, Next, Num};
#[cfg(doc)]
use crate::event::Invalid;
use crate::i18n;
use crate::model::Model;
use crate::recommend::{Item, Recommender};

/// Vitrina's on-device engine, as seen from JS.
pub struct Core {
    e: Engine,
    r: Recommender,
    batches: Vec<(u64, Vec<u8>)>,
    /// The key of the custom property being set (see `set`).
    key: String,
}

fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

impl Core {
    /// A new engine for `site`, with the stored client id (32 hex digits; a
    /// fresh one must be passed when there is none) and a random per-page nonce.
    pub fn new(site: &str, client: &str, nonce: u32) -> Core {
        let client = codec::parse_client(client).unwrap_or([0; 16]);
        Core { e: Engine::new(Config::new(site), client, nonce), r: Recommender::default(), batches: Vec::new(), key: String::new() }
    }

    /// With `which` 0 (or left out), what the page may and should do now, as
    /// bits: 1 write to the device's storage, 2 send events, 4 send now (enough
    /// events wait). 1: events not yet acknowledged (pending and sealed); 2:
    /// events dropped because the outbox was full, not yet reported.
    pub fn state(&self, which: u32) -> u32 {
        match which {
            1 => self.e.waiting_events() as u32,
            2 => self.e.dropped(),
            _ => {
                let c = &self.e.consent;
                c.may_persist() as u32 | (c.may_send() as u32) << 1 | (self.e.wants_flush() as u32) << 2
            }
        }
    }

    /// Sets one thing, chosen by `code`: the fields of the event being built
    /// and the settings, in one export (each export costs wasm and JS glue).
    /// Returns false only where said.
    ///
    /// The event being built: 20 starts one, of kind `text` at time `num`
    /// (false for an unknown kind); 0 to 14 set a string field (see
    /// `engine::Field`) to `text`; 15 price, 16 quantity and 17 dwell ms set a
    /// number field to `num`; 18 adds a purchase line of item `text`, quantity
    /// `num` and unit price `price` (NaN when unknown); 19 names a custom
    /// property, 21 adds it with the value `text`.
    ///
    /// Settings: 22 takes another tab's client id `text`; 23 the shopper's
    /// consent choice `text` (`pending`, `granted`, `granted-by-shopper`,
    /// `denied`; withdrawing empties the outbox at once) and 24 the shop's
    /// consent mode (`opt-in`, `opt-out`, `anonymous`), false if unknown; 25
    /// the shopper paused personalization (events no longer change the
    /// profile), 26 batches as JSON (`format: 'json'`; false in a build without
    /// the `json` feature), 27 searches leave with
    /// only the category they led to (`search: 'category'`) and 28 Global
    /// Privacy Control or Do Not Track is on, each when `num` is not 0; 29 the
    /// page is visible again (batches may be handed over again when it is left).
    ///
    /// The shop's rules: 30 pins the SKU `text`, 31 boosts the category `text`
    /// by the factor `num`, 32 recommends bought items again after `num` days.
    ///
    /// 33: local differential privacy for likes and views at ε `num` (0.1 to
    /// 10; 0 turns it off), keyed by `text`, 32 hex digits from
    /// `crypto.getRandomValues` (false for an ε out of range, or in a build
    /// without the `ldp` feature). 34: forgets
    /// everything and takes the new client id `text` and per-page nonce `num`;
    /// `price` is when the erase happened (ms since epoch; another tab's erase
    /// is heard a moment later).
    pub fn set(&mut self, code: u8, text: &str, num: f64, price: f64) -> bool {
        let on = num != 0.0;
        match code {
            15 => self.e.set_num(Num::Price, num),
            16 => self.e.set_num(Num::Qty, num),
            17 => self.e.set_num(Num::Dwell, num),
            18 => self.e.add_line(text, num, price),
            19 => self.key = text.to_owned(),
            20 => return self.e.begin(text, ms(num)),
            21 => self.e.add_prop(&self.key, text),
            22 => {
                if let Some(c) = codec::parse_client(text) {
                    self.e.set_client(c);
                }
            }
            23 => {
                let Some(s) = State::parse(text) else { return false };
                self.e.set_consent(s);
            }
            24 => {
                let Some(m) = Mode::parse(text) else { return false };
                self.e.consent.mode = m;
            }
            25 => self.e.paused = on,
            26 => {
                if on && !cfg!(feature = "json") {
                    return false;
                }
                self.e.cfg.json = on;
            }
            27 => self.e.cfg.search_category_only = on,
            28 => self.e.consent.browser_signal = on,
            29 => self.e.visible(),
            30 => self.rule_pin(text),
            31 => self.rule_boost(text, num),
            32 => self.rule_buy_again_days(num as u32),
            33 => {
                let k = codec::parse_client(text).unwrap_or([0; 16]);
                let w = |i: usize| u32::from_be_bytes([k[i], k[i + 1], k[i + 2], k[i + 3]]);
                return self.e.set_ldp(num, [w(0), w(4), w(8), w(12)]);
            }
            34 => {
                self.e.erase_all(codec::parse_client(text).unwrap_or([0; 16]), num as u32, ms(price));
                self.batches.clear();
            }
            _ => {
                if let Some(f) = Field::from_code(code) {
                    self.e.set(f, text);
                }
            }
        }
        true
    }

    /// Validates and applies the event; `mode` 1 queues it for sending, 2 it is
    /// an event another tab recorded (and sends): profile only. Returns 0 when
    /// accepted, else why it was rejected as an [`Invalid::code`]
    /// (`www/src/messages.js` has its texts, shown with `debug` on: the wasm
    /// carries no field names).
    pub fn commit(&mut self, now: f64, mode: u32, rand: u32) -> u32 {
        match self.e.commit_as(ms(now), mode, rand) {
            Ok(()) => 0,
            Err(why) => why.code(),
        }
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

    /// With `i` -1, the next batch to POST (undefined while one is in flight or
    /// none waits). With -2, the page is being left: everything is sealed and
    /// the batches to hand to `sendBeacon` are prepared; returns the first.
    /// With `i` from 0, the `i`-th of those (undefined past the last).
    pub fn batch(&mut self, i: i32) -> Option<Vec<u8>> {
        match i {
            -1 => return self.e.next_request().map(|(_, b)| b),
            -2 => self.batches = self.e.leaving(),
            _ => {}
        }
        self.batches.get(i.max(0) as usize).map(|b| b.1.clone())
    }

    /// What to store, by `which`: 0 (or left out) the outbox and 1 the profile,
    /// as bytes (the glue keeps them as base64); 2 the shopper's consent
    /// choice, as `set` (23) takes it, and 3 the client id (see
    /// [`Core::client`]), as text.
    pub fn stored(&mut self, which: u32) -> Vec<u8> {
        match which {
            1 => self.e.profile_bytes(),
            2 => self.e.consent.state.as_str().into(),
            3 => self.client().into_bytes(),
            _ => self.e.outbox_bytes(),
        }
    }

    /// The profile to store, given what storage holds now (`stored`): another
    /// tab's writes are joined in first. Or (`json`; false when left out)
    /// everything kept on this device, as JSON.
    pub fn save_profile(&mut self, stored: &[u8], now: f64, json: bool) -> Vec<u8> {
        if json {
            self.e.profile.to_json(ms(now), &self.e.cfg.profile).into_bytes()
        } else {
            self.e.save_profile(stored, ms(now))
        }
    }

    /// Takes in what storage holds, by `what`: 0 (or left out) loads a stored
    /// profile; 1 joins one another tab stored into this one; 2 takes in stored
    /// batches (this tab's or another's). False if it cannot be read (a profile
    /// then stays as it was; of batches, what could be read is kept). With
    /// `what` 3, reads nothing: whether the shopper likes the item `stored`
    /// (see [`Core::likes`]; one export for both).
    pub fn load(&mut self, stored: &[u8], now: f64, what: u32) -> bool {
        match what {
            2 => self.e.merge_outbox(stored),
            3 => self.likes(codec::utf8(stored).unwrap_or("")),
            _ => self.e.take_in(stored, ms(now), what == 1),
        }
    }

    /// Whether the shopper likes `item`.
    pub fn likes(&self, item: &str) -> bool {
        self.e.profile.likes(item)
    }

    /// The client id (hex).
    pub fn client(&self) -> String {
        codec::hex(&self.e.client)
    }

    /// Adds an item the page can show (price in currency units, NaN if
    /// unknown), or updates it: returns its catalogue index (the glue keeps its
    /// name, image and link under it), -1 when it is not taken.
    pub fn add_item(&mut self, sku: &str, category: Option<&str>, brand: Option<&str>, price: f64, in_stock: bool) -> i32 {
        if sku.is_empty() || sku.len() > crate::event::limits::ID_LEN {
            return -1;
        }
        let price = crate::event::price_from_f64(price);
        let item = Item { sku, category, brand, price, in_stock, popularity: 0.0, trending: false };
        self.r.add_item(item).map_or(-1, |i| i as i32)
    }

    /// Takes in model bytes (the head or a shard); false if damaged.
    pub fn add_model(&mut self, bytes: &[u8]) -> bool {
        match Model::decode_code(bytes, false) {
            Ok(m) => {
                self.r.add_model(m);
                true
            }
            Err(_) => false,
        }
    }

    /// The model shards (among `n`) that ranking this shopper would read and
    /// that are not loaded yet.
    pub fn shards_needed(&self, anchor: Option<&str>, n: u32) -> Vec<u32> {
        self.r.shards_needed(&self.e.profile, anchor, n)
    }

    /// Ranks a slot (`for-you`, `similar`, `bought-together`, `trending`,
    /// `cart-complements`) for the glue, which builds the page's
    /// `[{item, name, image, url, price, reason, rec}]` from it (see
    /// [`Recommender::answer`]): the reason as the number of its text, which
    /// the glue asks [`Core::text`] for in the page's language.
    pub fn recommend(&mut self, slot: &str, anchor: Option<&str>, limit: u32, now: f64) -> String {
        self.r.answer(slot, anchor, limit.min(50) as usize, &self.e.profile, ms(now), &self.e.cfg.profile)
    }

    /// A shopper-facing text in the page's language, by its number in
    /// src/i18n.rs (`i18n::key`; named in `www/src/render.js`); "" for a number
    /// with no text.
    pub fn text(lang: &str, key: u32) -> String {
        i18n::text_in(i18n::which(lang), key as usize).to_owned()
    }

    /// The language Vitrina uses for a page language (`es-ES` → `es`).
    pub fn lang(lang: &str) -> String {
        i18n::pick(lang).to_owned()
    }
}

// The shop's rules, set through `Core::set` (30 to 32): one export for all
// setters.
impl Core {
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
}
