//! The engine: everything Vitrina decides on the device, with the browser's I/O
//! left outside. It builds events from fields, validates them, folds them into
//! the profile, and keeps the outbox: pending events, sealed batches waiting for
//! an acknowledgement, the retry schedule and the bound.
//!
//! The key design decision is that the outbox stores *encoded batches*, not
//! events. A batch is encoded once, when it is sealed, and the same bytes are
//! stored, sent, retried, and sent again by a later page if the answer never
//! came. So the device never decodes its own batches, and a batch that is resent
//! is byte-for-byte the one the server may already have deduplicated.
//!
//! The engine does no I/O and reads no clock: the caller passes `now` and random
//! numbers, stores the strings it hands out, and performs the requests it asks for.

use crate::codec;
use crate::consent::{Consent, State};
use crate::event::{self, Event, ItemInfo, Invalid, Kind, Line, What};
use crate::ldp;
use crate::profile::{self, Profile};

/// Delivery settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The shop's site id.
    pub site: String,
    /// Seal a batch once this many events wait.
    pub flush_count: usize,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Most bytes in one batch (under the 64 KB keepalive limit).
    pub max_batch_bytes: usize,
    /// Most events kept in the outbox; beyond it the oldest batches are dropped.
    pub outbox_max: usize,
    /// Send batches as JSON instead of the binary format.
    pub json: bool,
    /// Searches leave the device with only the category they led to, never their
    /// terms (a search without a category is then not sent at all).
    pub search_category_only: bool,
    /// Local differential privacy for likes, unlikes and views: ε in hundredths,
    /// 0 when off (see [`Engine::set_ldp`]).
    pub ldp_e: u32,
    /// Profile settings.
    pub profile: profile::Config,
}

impl Config {
    /// Defaults for a site.
    pub fn new(site: &str) -> Config {
        Config {
            site: site.to_owned(),
            flush_count: 20,
            max_batch_events: 500,
            max_batch_bytes: 60_000,
            outbox_max: 2000,
            json: false,
            search_category_only: false,
            ldp_e: 0,
            profile: profile::Config::default(),
        }
    }
}

/// String fields the caller can set on the event being built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Field {
    /// Item id.
    Item = 0,
    /// Category path.
    Category = 1,
    /// Brand.
    Brand = 2,
    /// Currency code.
    Currency = 3,
    /// Page path (page views).
    Url = 4,
    /// Recommendation slot.
    Slot = 5,
    /// Recommendation id.
    Rec = 6,
    /// Order id.
    Order = 7,
    /// Custom event name.
    Name = 8,
    /// One search term (already normalized by the caller: the glue reduces a
    /// search query to terms as [`event::normalize_terms`] does, and reads a
    /// price written as text as [`event::parse_price`] does: www/src/text.js).
    Term = 10,
    /// Display name of the item (kept on the device only).
    InfoName = 11,
    /// Image URL of the item (kept on the device only).
    InfoImage = 12,
    /// Product page URL of the item (kept on the device only).
    InfoUrl = 13,
}

impl Field {
    /// From its code.
    pub fn from_code(c: u8) -> Option<Field> {
        use Field::*;
        // 9 and 14 were a search query and a price as text: the glue reads those now.
        [Some(Item), Some(Category), Some(Brand), Some(Currency), Some(Url), Some(Slot), Some(Rec), Some(Order), Some(Name), None, Some(Term), Some(InfoName), Some(InfoImage), Some(InfoUrl)]
            .get(c as usize)
            .copied()
            .flatten()
    }
}

/// Number fields the caller can set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Num {
    /// Unit price (or order value) in currency units, e.g. 89.9.
    Price = 0,
    /// Quantity.
    Qty = 1,
    /// Visible time in milliseconds.
    Dwell = 2,
}

/// What the caller should do after an answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Send the next waiting batch, if any, now.
    SendMore,
    /// Try again after this many milliseconds.
    RetryIn(u32),
}

/// A sealed batch waiting for an acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Id of its first event: unique per client.
    pub id: u64,
    /// How many events it carries.
    pub events: u32,
    /// The encoded batch.
    pub bytes: Vec<u8>,
}

/// Everything the device decides.
pub struct Engine {
    /// Settings.
    pub cfg: Config,
    /// The shopper's profile.
    pub profile: Profile,
    /// Random client id.
    pub client: [u8; 16],
    nonce: u32,
    seq: u32,
    draft: Option<(Event, ItemInfo)>,
    pending: Vec<Event>,
    /// LDP reports waiting to be sealed: they travel in batches of their own,
    /// without the client id or session.
    reports: Vec<Event>,
    prf: ldp::Prf,
    blobs: Vec<Blob>,
    inflight: Option<u64>,
    acked: Vec<u64>,
    dropped: u32,
    backoff: u32,
    /// What the shopper agreed to.
    pub consent: Consent,
    /// The shopper paused personalization: events change nothing in the profile
    /// (they are still delivered as consent allows).
    pub paused: bool,
    /// The stored profile this engine last wrote or read.
    last_stored: Vec<u8>,
    /// Items reported as viewed today (LDP mode) while the profile was paused or
    /// the item fell out of the recently viewed list: `(item hash, day)`.
    reported_views: Vec<(u64, u64)>,
    /// Batches handed to the browser while the page was being left.
    handed: Vec<u64>,
    /// When the shopper last erased everything (ms since epoch; 0: not on this
    /// page). What another tab stores from before it, written by a tab that had
    /// not yet heard of the erase, is not taken in.
    erased_at: u64,
}

const ACKED_MEMORY: usize = 64;
const REPORTED_VIEWS_MEMORY: usize = 256;

impl Engine {
    /// A new engine. `nonce` is random per page load (the high half of event ids).
    pub fn new(cfg: Config, client: [u8; 16], nonce: u32) -> Engine {
        Engine {
            cfg,
            profile: Profile::default(),
            client,
            nonce,
            seq: 0,
            draft: None,
            pending: Vec::new(),
            reports: Vec::new(),
            prf: ldp::Prf::new([nonce, 0, 0, 0]),
            blobs: Vec::new(),
            inflight: None,
            acked: Vec::new(),
            dropped: 0,
            backoff: 0,
            consent: Consent::default(),
            paused: false,
            last_stored: Vec::new(),
            reported_views: Vec::new(),
            erased_at: 0,
            handed: Vec::new(),
        }
    }

    // ------------------------------------------------------------------ events

    /// Starts building an event of `kind` (see [`Kind::parse`]). False for an
    /// unknown kind.
    pub fn begin(&mut self, kind: &str, now: u64) -> bool {
        match Kind::parse(kind) {
            Some(k) => {
                self.draft = Some((Event::new(k, now), ItemInfo::default()));
                true
            }
            None => {
                self.draft = None;
                false
            }
        }
    }

    /// Sets a string field of the event being built.
    pub fn set(&mut self, field: Field, value: &str) {
        let Some((e, info)) = self.draft.as_mut() else { return };
        // Plain text fields pick their slot, and share one assignment.
        let slot = match field {
            Field::Item => &mut e.item,
            Field::Category => &mut e.category,
            Field::Brand => &mut e.brand,
            Field::Currency => &mut e.currency,
            Field::Slot => &mut e.slot,
            Field::Rec => &mut e.rec,
            Field::Order => &mut e.order,
            // A path: the glue cuts the origin, query string and fragment off (event::page_path).
            Field::Url => &mut e.url,
            Field::Name => &mut e.name,
            Field::InfoName => &mut info.name,
            Field::InfoImage => &mut info.image,
            Field::InfoUrl => &mut info.url,
            Field::Term => return e.terms.push(value.to_owned()),
        };
        *slot = Some(value.to_owned());
    }

    /// Sets a number field. Values that make no sense (negative, fractional
    /// quantities, NaN) are kept in a form validation rejects.
    pub fn set_num(&mut self, field: Num, value: f64) {
        let Some((e, _)) = self.draft.as_mut() else { return };
        match field {
            Num::Price => e.price = Some(event::price_from_f64(value).unwrap_or(-1)),
            Num::Qty => e.qty = Some(whole(value)),
            Num::Dwell => e.dwell_ms = Some(if value >= 0.0 { (value.min(u32::MAX as f64)) as u32 } else { u32::MAX }),
        }
    }

    /// Adds a purchase line to the event being built.
    pub fn add_line(&mut self, item: &str, qty: f64, price: f64) {
        let Some((e, _)) = self.draft.as_mut() else { return };
        let price = if price.is_nan() { None } else { Some(event::price_from_f64(price).unwrap_or(-1)) };
        e.lines.push(Line { item: item.to_owned(), qty: whole(qty), price });
    }

    /// Adds a custom property to the event being built.
    pub fn add_prop(&mut self, key: &str, value: &str) {
        if let Some((e, _)) = self.draft.as_mut() {
            e.props.push((key.to_owned(), value.to_owned()));
        }
    }

    /// Validates the event being built, applies it to the profile and, when
    /// `send`, queues it for delivery. `rand` seeds a new session id if one starts.
    ///
    /// `send` false means the event is sent later (a product view is sent when
    /// the page is left, with its dwell time); in LDP mode its report is queued
    /// now all the same, since a report carries no dwell time.
    pub fn commit(&mut self, now: u64, send: bool, rand: u32) -> Result<(), Invalid> {
        self.commit_as(now, send as u32, rand)
    }

    /// Like [`Engine::commit`] for an event another tab of the shop recorded and
    /// sent: it is applied to this tab's profile only (not queued, and not kept
    /// for replay, since the other tab's own saves carry it).
    pub fn commit_replica(&mut self, now: u64, rand: u32) -> Result<(), Invalid> {
        self.commit_as(now, 2, rand)
    }

    /// [`Engine::commit`] (`mode` 0, or 1 to send) and
    /// [`Engine::commit_replica`] (`mode` 2) in one function, as `Core::commit`
    /// takes them.
    pub fn commit_as(&mut self, now: u64, mode: u32, rand: u32) -> Result<(), Invalid> {
        let (e, info) = self.draft.take().ok_or(Invalid::Missing(What::EventKind))?;
        let replica = mode == 2;
        if replica && now < self.erased_at {
            // Recorded before an erase, by a tab that had not yet heard of it.
            return Ok(());
        }
        self.record_as(e, Some(&info), now, mode == 1, !replica, rand)
    }

    /// Validates, applies and (when `send`) queues an event.
    pub fn record(&mut self, e: Event, info: Option<&ItemInfo>, now: u64, send: bool, rand: u32) -> Result<(), Invalid> {
        self.record_as(e, info, now, send, send, rand)
    }

    /// [`Engine::record`]; `report`: in LDP mode, whether a like, unlike or
    /// view may be reported.
    fn record_as(&mut self, mut e: Event, info: Option<&ItemInfo>, now: u64, send: bool, report: bool, rand: u32) -> Result<(), Invalid> {
        e.validate()?;
        if let Some(i) = info {
            i.validate()?;
        }
        let report = if cfg!(feature = "ldp") && self.cfg.ldp_e > 0 && (send || report) { self.ldp_signal(&e) } else { None };
        if !self.paused {
            self.profile.touch_session(now, rand);
            let info = info.filter(|i| i.name.is_some() || i.image.is_some() || i.url.is_some());
            self.profile.apply(&e, info, &self.cfg.profile);
        }
        if let Some(signal) = report {
            // The plain event never leaves: a report about it does, when this
            // signal is worth one (see `ldp_signal`).
            if self.consent.may_queue() {
                if let (Some(item), Some(signal)) = (e.item.as_deref(), signal) {
                    self.queue_report(item, signal, now);
                }
            }
        } else if send && self.consent.may_queue() && self.shareable(&mut e) {
            self.seq = self.seq.wrapping_add(1);
            e.id = ((self.nonce as u64) << 32) | self.seq as u64;
            self.pending.push(e);
            if self.pending.len() >= self.cfg.max_batch_events {
                self.seal();
            }
        }
        Ok(())
    }

    /// In LDP mode, what becomes of an event: `None` when it is not a like, unlike
    /// or product view (it is handled as usual); `Some(None)` when it is one but
    /// sends nothing (a like of an item already liked, an unlike of one that is
    /// not, a view of an item already reported today); `Some(Some(signal))` when
    /// it sends one report. Called before the event changes the profile.
    fn ldp_signal(&self, e: &Event) -> Option<Option<ldp::Signal>> {
        let item = e.item.as_deref()?;
        let liked = || self.profile.likes.iter().any(|(i, _)| i == item);
        Some(match e.kind {
            Kind::Like => (!liked()).then_some(ldp::Signal::Like),
            Kind::Unlike => liked().then_some(ldp::Signal::Unlike),
            Kind::ProductView => {
                let day = e.ts / ldp::TS_GRAIN_MS;
                let today = self.profile.recent.iter().any(|r| r.item == item && r.ts / ldp::TS_GRAIN_MS == day)
                    || self.reported_views.contains(&(ldp::item_hash(item), day));
                (!today).then_some(ldp::Signal::View)
            }
            _ => return None,
        })
    }

    /// Queues the randomized report of `signal` about `item`, with a random id.
    fn queue_report(&mut self, item: &str, signal: ldp::Signal, now: u64) {
        let prf = &mut self.prf;
        let r = ldp::report_with(item, ldp::Params::from_e(self.cfg.ldp_e), &mut || prf.next32());
        let mut ev = ldp::to_event(&r, signal, now);
        ev.id = self.prf.next64();
        if signal == ldp::Signal::View {
            let day = now / ldp::TS_GRAIN_MS;
            profile::retain(&mut self.reported_views, &mut |&(_, d)| d == day);
            if self.reported_views.len() < REPORTED_VIEWS_MEMORY {
                self.reported_views.push((ldp::item_hash(item), day));
            }
        }
        self.reports.push(ev);
    }

    /// Turns the LDP mode on (`epsilon` from 0.1 to 10) or off (`epsilon` 0), with
    /// 128 bits from a cryptographic source to key the report randomness. False
    /// (and the mode unchanged) for an ε out of range, or when built without the
    /// `ldp` feature.
    pub fn set_ldp(&mut self, epsilon: f64, key: [u32; 4]) -> bool {
        if !cfg!(feature = "ldp") {
            return epsilon == 0.0;
        }
        if epsilon == 0.0 {
            self.cfg.ldp_e = 0;
            return true;
        }
        match ldp::Params::check(epsilon) {
            Some(p) => {
                self.cfg.ldp_e = p.e();
                self.prf = ldp::Prf::new(key);
                true
            }
            None => false,
        }
    }

    /// Whether an event may leave the device under the consent mode, stripping
    /// it to an id-free signal in anonymous mode: the item and what happened to
    /// it, nothing that links it to a page, a search, an order or a person.
    fn shareable(&self, e: &mut Event) -> bool {
        if e.kind == Kind::Search && self.cfg.search_category_only {
            e.terms.clear();
            if e.category.is_none() {
                return false;
            }
        }
        if !self.consent.id_free() {
            return true;
        }
        if !matches!(e.kind, Kind::ProductView | Kind::CartAdd | Kind::Purchase | Kind::Like | Kind::Unlike | Kind::RecClick) {
            return false;
        }
        e.url = None;
        e.rec = None;
        e.dwell_ms = None;
        e.order = None;
        e.terms.clear();
        e.props.clear();
        e.name = None;
        true
    }

    /// Applies the shopper's (or the consent manager's) choice. When sending
    /// stops, everything waiting to be sent is dropped at once.
    pub fn set_consent(&mut self, state: State) {
        if self.consent.set(state) {
            self.pending.clear();
            self.reports.clear();
            self.blobs.clear();
            self.inflight = None;
        }
    }

    // ------------------------------------------------------------------ outbox

    /// Whether enough events wait that they should be sent now.
    pub fn wants_flush(&self) -> bool {
        self.pending.len() + self.reports.len() >= self.cfg.flush_count
    }

    /// Events waiting to be sealed, and sealed batches waiting to be acknowledged.
    pub fn waiting(&self) -> (usize, usize) {
        (self.pending.len() + self.reports.len(), self.blobs.len())
    }

    /// Events not yet acknowledged: pending ones and those in sealed batches.
    pub fn waiting_events(&self) -> usize {
        self.pending.len() + self.reports.len() + self.sealed_events()
    }

    /// The events in sealed batches (a loop: no `Map`/`sum` instance).
    fn sealed_events(&self) -> usize {
        let mut n = 0;
        for b in &self.blobs {
            n += b.events as usize;
        }
        n
    }

    /// Whether batch `id` is the one in flight.
    fn flying(&self, id: u64) -> bool {
        matches!(self.inflight, Some(f) if f == id)
    }

    /// The id of the batch in flight.
    pub fn inflight(&self) -> Option<u64> {
        self.inflight
    }

    /// Events dropped because the outbox was full, not yet reported.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Encodes the pending events into sealed batches.
    pub fn seal(&mut self) {
        let plain = core::mem::take(&mut self.pending);
        self.seal_events(plain, false);
        let reports = core::mem::take(&mut self.reports);
        self.seal_events(reports, true);
        self.bound();
    }

    /// Seals `events` into batches; `reports` (LDP reports) go without the
    /// client id, the session and the dropped count, so nothing ties them to the
    /// shopper or to the plain batches.
    fn seal_events(&mut self, events: Vec<Event>, reports: bool) {
        let mut rest = &events[..];
        while !rest.is_empty() {
            let mut n = rest.len().min(self.cfg.max_batch_events);
            let id_free = reports || self.consent.id_free();
            let client = if id_free { [0; 16] } else { self.client };
            let session = if id_free { 0 } else { self.profile.session.id };
            let dropped = if reports { 0 } else { self.dropped };
            let bytes = loop {
                let (site, evs) = (&self.cfg.site, &rest[..n]);
                let bytes = if cfg!(feature = "json") && self.cfg.json {
                    crate::codec_json::encode_json_parts(site, &client, session, dropped, evs).into_bytes()
                } else {
                    codec::encode_parts(site, &client, session, dropped, evs)
                };
                if bytes.len() <= self.cfg.max_batch_bytes || n == 1 {
                    break bytes;
                }
                n = n.div_ceil(2);
            };
            if !reports {
                self.dropped = 0;
            }
            self.blobs.push(Blob { id: rest[0].id, events: n as u32, bytes });
            rest = &rest[n..];
        }
    }

    /// Drops the oldest batches (never the one in flight) beyond the bound.
    fn bound(&mut self) {
        let mut total = self.sealed_events();
        while total > self.cfg.outbox_max {
            let Some(i) = self.blobs.iter().position(|b| !self.flying(b.id)) else { break };
            let b = profile::remove(&mut self.blobs, i);
            total -= b.events as usize;
            // Its own events, and the earlier drops it was carrying.
            self.dropped = self.dropped.saturating_add(b.events).saturating_add(codec::peek(&b.bytes).map_or(0, |h| h.0));
        }
    }

    /// The next request to make: seals what is pending and returns the oldest
    /// batch not in flight (`None` while one is in flight or nothing waits).
    pub fn next_request(&mut self) -> Option<(u64, Vec<u8>)> {
        self.seal();
        if self.inflight.is_some() || !self.consent.may_send() {
            return None;
        }
        let b = self.blobs.first()?;
        self.inflight = Some(b.id);
        Some((b.id, b.bytes.clone()))
    }

    /// Everything waiting but the batch in flight (a keepalive request that
    /// outlives the page), for a page that is being left: sent with a beacon, the
    /// batches stay stored until a later answer acknowledges them.
    ///
    /// A batch is handed over once per page visit: a page that is hidden and then
    /// unloaded does not send it twice (see [`Engine::visible`]).
    pub fn leaving(&mut self) -> Vec<(u64, Vec<u8>)> {
        self.seal();
        if !self.consent.may_send() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for b in &self.blobs {
            if !self.flying(b.id) && !has(&self.handed, b.id) {
                self.handed.push(b.id);
                out.push((b.id, b.bytes.clone()));
            }
        }
        out
    }

    /// The page is visible again: batches handed over when it was hidden may be
    /// handed over again when it is next left.
    pub fn visible(&mut self) {
        self.handed.clear();
    }

    /// Takes another tab's client id (the tabs of a first visit agree on one).
    pub fn set_client(&mut self, client: [u8; 16]) {
        self.client = client;
    }

    /// The answer to the request for batch `id`: an HTTP status (0 for a network
    /// error) and the server's `Retry-After` in seconds, if any. `rand` in
    /// [0, 1) jitters the backoff.
    pub fn answer(&mut self, id: u64, status: u32, retry_after_s: Option<u32>, rand: f64) -> Next {
        if self.flying(id) {
            self.inflight = None;
        }
        // 408 (the server gave up waiting for the body) and 429 mean "again later".
        let retry = status == 0 || status == 408 || status == 429 || status >= 500;
        if !retry {
            // Delivered (2xx), or refused for good (other 4xx): forget it.
            self.forget(id);
            self.backoff = 0;
            return Next::SendMore;
        }
        self.backoff = (self.backoff + 1).min(7);
        let base = 500u32 << self.backoff; // 1 s, 2 s, 4 s ... 64 s
        let jittered = (base as f64 * (0.5 + rand.clamp(0.0, 1.0) / 2.0)) as u32;
        let wait = match retry_after_s {
            Some(s) => (s.min(3600) * 1000).max(jittered.min(60_000)),
            None => jittered.min(60_000),
        };
        Next::RetryIn(wait)
    }

    fn forget(&mut self, id: u64) {
        profile::retain(&mut self.blobs, &mut |b| b.id != id);
        if !has(&self.acked, id) {
            self.acked.push(id);
            if self.acked.len() > ACKED_MEMORY {
                profile::remove(&mut self.acked, 0);
            }
        }
    }

    // ------------------------------------------------------------------ storage

    /// The outbox for storage (pending events are sealed first), as bytes the
    /// glue keeps in localStorage as base64 (the browser's own `btoa`). One
    /// entry after another, each a batch id (8 bytes, big-endian) and a varint:
    /// 0 for the tombstone of a batch recently acknowledged (it tells other tabs
    /// not to send that batch again), else the events a waiting batch carries,
    /// then its length (varint) and its bytes. Empty when there is nothing.
    pub fn outbox_bytes(&mut self) -> Vec<u8> {
        self.seal();
        let mut s = Vec::new();
        for id in &self.acked {
            s.extend_from_slice(&id.to_be_bytes());
            s.push(0);
        }
        for b in &self.blobs {
            s.extend_from_slice(&b.id.to_be_bytes());
            codec::put_varint(&mut s, b.events as u64);
            codec::put_varint(&mut s, b.bytes.len() as u64);
            s.extend_from_slice(&b.bytes);
        }
        s
    }

    /// Takes in batches stored by this or another tab ([`Engine::outbox_bytes`]):
    /// those not known and not acknowledged here are added. Returns false if the
    /// bytes were damaged (what could be read before the damage is kept).
    pub fn merge_outbox(&mut self, stored: &[u8]) -> bool {
        let mut r = codec::Reader::new(stored);
        let ok = (|| {
            while r.remaining() > 0 {
                let id = u64::from_be_bytes(r.array8().ok()?);
                let events = r.varint("").ok()?;
                if events == 0 {
                    if !self.flying(id) {
                        self.forget(id);
                    }
                    continue;
                }
                let n = r.varint("").ok()?;
                let bytes = r.bytes(usize::try_from(n).ok()?, "").ok()?;
                let events = u32::try_from(events).ok()?;
                if !matches!(bytes.first(), Some(&codec::MAGIC) | Some(&b'{')) {
                    return None;
                }
                // A batch begun before an erase was written by a tab that had not heard of it.
                let old = codec::peek(bytes).is_some_and(|h| h.1 < self.erased_at);
                if !old && !has(&self.acked, id) && !self.blobs.iter().any(|x| x.id == id) {
                    self.blobs.push(Blob { id, events, bytes: bytes.to_vec() });
                }
            }
            Some(())
        })()
        .is_some();
        // Oldest first within each tab (insertion sort: a handful of batches, and
        // far smaller in wasm than the standard sorts).
        for i in 1..self.blobs.len() {
            let mut j = i;
            while j > 0 && self.blobs[j].id < self.blobs[j - 1].id && self.blobs[j].id >> 32 == self.blobs[j - 1].id >> 32 {
                self.blobs.swap(j, j - 1);
                j -= 1;
            }
        }
        self.bound();
        ok
    }

    /// The profile for storage: its bounded binary form (kept as base64 by the glue).
    pub fn profile_bytes(&self) -> Vec<u8> {
        self.profile.encode(&self.cfg.profile)
    }

    /// The profile to store, given what storage holds now (`stored`): if
    /// another tab wrote since this engine last did, its profile is joined into
    /// this one first ([`Profile::merge`]), so concurrent tabs lose nothing.
    pub fn save_profile(&mut self, stored: &[u8], now: u64) -> Vec<u8> {
        if !stored.is_empty() && stored != self.last_stored {
            self.absorb(stored, now);
        }
        self.last_stored = self.profile_bytes();
        self.last_stored.clone()
    }

    /// Joins a profile another tab stored into this one. False (nothing
    /// changed) if it cannot be read.
    pub fn absorb(&mut self, stored: &[u8], now: u64) -> bool {
        self.take_in(stored, now, true)
    }

    /// [`Engine::absorb`] (`join`) or [`Engine::load_profile`] in one function,
    /// as `Core::load` takes them: false (nothing changed) if the profile
    /// cannot be read.
    pub fn take_in(&mut self, stored: &[u8], now: u64, join: bool) -> bool {
        let Ok(p) = self.read_stored(stored, now) else { return false };
        if join {
            self.profile.merge(&p, &self.cfg.profile);
        } else {
            self.profile = p;
        }
        true
    }

    /// Loads a stored profile and purges what is past retention. Errors leave
    /// the current profile as it is.
    pub fn load_profile(&mut self, stored: &[u8], now: u64) -> Result<(), profile::ProfileError> {
        self.profile = self.read_stored(stored, now)?;
        Ok(())
    }

    /// A stored profile, decoded and purged of what is past retention;
    /// remembered as the last one read.
    fn read_stored(&mut self, stored: &[u8], now: u64) -> Result<Profile, profile::ProfileError> {
        let mut p = Profile::decode(stored)?;
        p.purge(now, &self.cfg.profile, self.erased_at);
        self.last_stored = stored.to_owned();
        Ok(p)
    }

    /// Forgets everything and takes a new client id.
    /// Forgets everything and takes a new client id and a new per-page `nonce`,
    /// so that no id sent afterwards can be linked to one sent before.
    /// `at`: when the erase happened (ms since epoch), in this tab or another.
    pub fn erase_all(&mut self, client: [u8; 16], nonce: u32, at: u64) {
        self.erase(client);
        self.erased_at = at;
        self.nonce = nonce;
        self.seq = 0;
        self.acked.clear();
    }

    fn erase(&mut self, client: [u8; 16]) {
        self.profile = Profile::default();
        self.last_stored.clear();
        self.pending.clear();
        self.reports.clear();
        self.reported_views.clear();
        self.blobs.clear();
        self.inflight = None;
        self.dropped = 0;
        self.backoff = 0;
        self.client = client;
    }
}

/// Whether `v` holds `x` (a loop: `<[u64]>::contains` is unrolled, 170 bytes of wasm).
fn has(v: &[u64], x: u64) -> bool {
    v.iter().any(|&y| y == x)
}

fn whole(v: f64) -> u32 {
    if v.fract() == 0.0 && (1.0..=event::limits::MAX_QTY as f64).contains(&v) {
        v as u32
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn engine() -> Engine {
        Engine::new(Config::new("demo"), [7; 16], 0xabcd)
    }

    /// A search query, as the glue sets it: its normalized terms (www/src/text.js).
    fn query(e: &mut Engine, q: &str) {
        for t in event::normalize_terms(q) {
            e.set(Field::Term, &t);
        }
    }

    fn view(e: &mut Engine, item: &str, t: u64) -> Result<(), Invalid> {
        e.begin("view", t);
        e.set(Field::Item, item);
        e.set(Field::Category, "shoes/running");
        e.set_num(Num::Price, 89.9);
        e.set(Field::InfoName, "Trail Runner");
        e.commit(t, true, 1)
    }

    #[test]
    fn builds_validates_and_applies() {
        let mut e = engine();
        assert!(view(&mut e, "SKU-1", T).is_ok());
        assert_eq!(e.waiting_events(), 1);
        assert_eq!(e.profile.recent[0].info.name.as_deref(), Some("Trail Runner"));
        assert_eq!(e.profile.recent[0].price, Some(8990));
        // Rejected events change nothing and queue nothing.
        assert_eq!(view(&mut e, "", T), Err(Invalid::BadText(What::Item)));
        e.begin("cart-add", T);
        e.set(Field::Item, "A");
        e.set_num(Num::Price, -3.0);
        assert_eq!(e.commit(T, true, 1), Err(Invalid::OutOfRange(What::Price)));
        e.begin("cart-add", T);
        e.set(Field::Item, "A");
        e.set_num(Num::Qty, 1.5);
        assert_eq!(e.commit(T, true, 1), Err(Invalid::OutOfRange(What::Quantity)));
        assert!(!e.begin("nonsense", T));
        assert_eq!(e.commit(T, true, 1), Err(Invalid::Missing(What::EventKind)));
        assert_eq!(e.waiting(), (1, 0));
        // Search queries become normalized terms; page URLs lose their query.
        e.begin("search", T);
        query(&mut e, "Trail SHOES?");
        e.commit(T, true, 1).unwrap();
        e.begin("page", T);
        e.set(Field::Url, &event::page_path("/p?email=a@b.c#x"));
        e.commit(T, true, 1).unwrap();
        e.begin("page", T);
        e.set(Field::Url, &event::page_path("https://shop.example/q/r?token=1"));
        e.commit(T, true, 1).unwrap();
        let (_, bytes) = e.next_request().unwrap();
        let b = codec::decode(&bytes).unwrap();
        assert_eq!(b.events[1].terms, ["trail", "shoes"]);
        assert_eq!(b.events[2].url.as_deref(), Some("/p"));
        assert_eq!(b.events[3].url.as_deref(), Some("/q/r"));
        assert_eq!(b.events.iter().map(|e| e.id & 0xffff_ffff).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    /// The stored outbox read plainly, as `docs/privacy.md` describes it:
    /// `(id, events, batch)` per entry (events 0 and no batch for a tombstone),
    /// or `None` where it is damaged.
    fn entries(mut s: &[u8]) -> Vec<Option<(u64, u64, Vec<u8>)>> {
        fn varint(s: &mut &[u8]) -> Option<u64> {
            let mut v = 0u64;
            for i in 0..10 {
                let (&b, rest) = s.split_first()?;
                *s = rest;
                if i == 9 && b > 1 {
                    return None;
                }
                v |= ((b & 0x7f) as u64) << (7 * i);
                if b & 0x80 == 0 {
                    return Some(v);
                }
            }
            None
        }
        let mut out = Vec::new();
        while !s.is_empty() {
            let entry = (|| {
                let id = u64::from_be_bytes(s.get(..8)?.try_into().ok()?);
                s = &s[8..];
                let events = varint(&mut s)?;
                if events == 0 {
                    return Some((id, 0, Vec::new()));
                }
                let n = usize::try_from(varint(&mut s)?).ok()?;
                let bytes = s.get(..n)?.to_vec();
                s = &s[n..];
                Some((id, events, bytes))
            })();
            out.push(entry.clone());
            if entry.is_none() {
                break;
            }
        }
        out
    }

    #[test]
    fn the_stored_outbox_holds_tombstones_then_batches() {
        let mut e = engine();
        for i in 0..5 {
            view(&mut e, "A", T + i).unwrap();
            e.seal();
        }
        let (id, _) = e.next_request().unwrap();
        e.answer(id, 200, None, 0.0);
        view(&mut e, "B", T + 9).unwrap();
        let got = entries(&e.outbox_bytes());
        let mut want: Vec<_> = e.acked.iter().map(|&id| Some((id, 0, Vec::new()))).collect();
        want.extend(e.blobs.iter().map(|b| Some((b.id, b.events as u64, b.bytes.clone()))));
        assert_eq!(got, want);
        assert_eq!((e.acked.len(), e.blobs.len()), (1, 5));
        // Read back by another tab: the same batches and tombstones.
        let mut f = engine();
        assert!(f.merge_outbox(&e.outbox_bytes()));
        assert_eq!((f.acked.clone(), f.blobs.clone()), (e.acked.clone(), e.blobs.clone()));
        assert_eq!(f.outbox_bytes(), e.outbox_bytes());
        // Nothing waiting, nothing acknowledged: nothing to store.
        assert!(engine().outbox_bytes().is_empty());
    }

    #[test]
    fn take_in_is_load_profile_or_absorb() {
        let mut src = engine();
        for i in 0..30 {
            view(&mut src, &["S", &crate::json::itoa(i % 7)].concat(), T + i * 1000).unwrap();
        }
        let good = src.profile_bytes();
        let mut cases = vec![good.clone(), Vec::new(), b"!!".to_vec(), good[..good.len() / 2].to_vec()];
        for k in 0..good.len() {
            let mut b = good.clone();
            b[k] = [0, 1, 2, 0x7f, 0x80, 0xff][k % 6];
            cases.push(b);
        }
        for stored in &cases {
            let fresh = || {
                let mut e = engine();
                view(&mut e, "MINE", T + 5).unwrap();
                e
            };
            let (mut a, mut b) = (fresh(), fresh());
            assert_eq!(a.take_in(stored, T + 99, false), b.load_profile(stored, T + 99).is_ok());
            assert_eq!(a.profile, b.profile);
            let (mut a, mut b) = (fresh(), fresh());
            // `absorb` before it was `take_in`, as a reference.
            let old_absorb = |e: &mut Engine| match e.read_stored(stored, T + 99) {
                Ok(p) => {
                    e.profile.old_merge(&p, &e.cfg.profile);
                    true
                }
                Err(_) => false,
            };
            assert_eq!(a.take_in(stored, T + 99, true), old_absorb(&mut b));
            assert_eq!(a.profile, b.profile);
        }
    }

    #[test]
    fn digits_are_read_as_the_standard_library_reads_them() {
        for c in 0..=255u8 {
            for r in [10, 16] {
                assert_eq!(codec::digit(c, r), (c as char).to_digit(r as u32).map(u64::from), "{c} {r}");
            }
        }
    }

    /// The stored-outbox reader written plainly, over [`entries`], as a reference.
    fn ref_merge_outbox(e: &mut Engine, stored: &[u8]) -> bool {
        let mut ok = true;
        for entry in entries(stored) {
            let Some((id, events, bytes)) = entry else {
                ok = false;
                break;
            };
            if events == 0 {
                if Some(id) != e.inflight {
                    e.forget(id);
                }
                continue;
            }
            let Ok(events) = u32::try_from(events) else {
                ok = false;
                break;
            };
            if !matches!(bytes.first(), Some(&codec::MAGIC) | Some(&b'{')) {
                ok = false;
                break;
            }
            if !e.acked.contains(&id) && !e.blobs.iter().any(|x| x.id == id) {
                e.blobs.push(Blob { id, events, bytes });
            }
        }
        for i in 1..e.blobs.len() {
            let mut j = i;
            while j > 0 && e.blobs[j].id < e.blobs[j - 1].id && e.blobs[j].id >> 32 == e.blobs[j - 1].id >> 32 {
                e.blobs.swap(j, j - 1);
                j -= 1;
            }
        }
        e.bound();
        ok
    }

    #[test]
    fn stored_outboxes_are_read_as_the_reference_reads_them() {
        let mut a = engine();
        for i in 0..3 {
            view(&mut a, "A", T + i).unwrap();
            a.seal();
        }
        let (id, _) = a.next_request().unwrap();
        a.answer(id, 200, None, 0.0);
        let good = a.outbox_bytes();
        // Its entries, written apart, and damaged pieces.
        let parts: Vec<Vec<u8>> = entries(&good)
            .into_iter()
            .map(|e| {
                let (id, events, bytes) = e.unwrap();
                let mut p = id.to_be_bytes().to_vec();
                codec::put_varint(&mut p, events);
                if events > 0 {
                    codec::put_varint(&mut p, bytes.len() as u64);
                    p.extend_from_slice(&bytes);
                }
                p
            })
            .collect();
        assert_eq!(parts.concat(), good);
        assert_eq!(parts.len(), 3, "one tombstone and two batches");
        let pieces: [&[u8]; 12] = [
            b"", b"\0", b"\0\0\0\0\0\0\0\x07", b"\0\0\0\0\0\0\0\x07\0", b"\0\0\0\0\0\0\0\x07\x01\x01V",
            b"\0\0\0\0\0\0\0\x07\x01\x01{", b"\0\0\0\0\0\0\0\x07\x01\x01x", b"\0\0\0\0\0\0\0\x07\x01\x05V",
            b"\0\0\0\0\0\0\0\x07\xff\xff\xff\xff\xff\x01\x01V", b"\xff\xff\xff\xff\xff\xff\xff\xff\x80",
            b"\0\0\0\0\0\0\0\x07\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01V", b"\0\0\0\0\0\0\0\x07\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02",
        ];
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        for _ in 0..3000 {
            let mut s = Vec::new();
            for _ in 0..(x % 5) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.extend_from_slice(if x.is_multiple_of(3) { pieces[(x >> 8) as usize % pieces.len()] } else { &parts[(x >> 8) as usize % parts.len()] });
            }
            let (mut n, mut o) = (engine(), engine());
            view(&mut n, "B", T).unwrap();
            view(&mut o, "B", T).unwrap();
            assert_eq!(n.merge_outbox(&s), ref_merge_outbox(&mut o, &s), "{s:?}");
            assert_eq!(n.outbox_bytes(), o.outbox_bytes(), "{s:?}");
            assert_eq!((n.waiting(), n.dropped()), (o.waiting(), o.dropped()), "{s:?}");
        }
    }

    #[test]
    fn delivers_once_and_retries_with_backoff() {
        let mut e = engine();
        for i in 0..3 {
            view(&mut e, "SKU-1", T + i).unwrap();
        }
        let (id, bytes) = e.next_request().unwrap();
        assert_eq!(codec::decode(&bytes).unwrap().events.len(), 3);
        assert_eq!((e.waiting(), e.waiting_events()), ((0, 1), 3));
        // One request at a time.
        view(&mut e, "SKU-2", T + 5).unwrap();
        assert!(e.next_request().is_none());
        // A 503 keeps it, with growing waits; Retry-After is honoured.
        let Next::RetryIn(w1) = e.answer(id, 503, None, 0.0) else { panic!() };
        let (id2, bytes2) = e.next_request().unwrap();
        assert_eq!((id2, &bytes2), (id, &bytes), "the same bytes are retried");
        let Next::RetryIn(w2) = e.answer(id, 0, None, 0.0) else { panic!() };
        assert!(w2 > w1, "{w1} {w2}");
        e.next_request().unwrap();
        assert_eq!(e.answer(id, 429, Some(30), 0.0), Next::RetryIn(30_000));
        // 2xx forgets it; the next batch follows.
        e.next_request().unwrap();
        assert_eq!(e.answer(id, 200, None, 0.0), Next::SendMore);
        let (id3, b3) = e.next_request().unwrap();
        assert_ne!(id3, id);
        assert_eq!(codec::decode(&b3).unwrap().events[0].item.as_deref(), Some("SKU-2"));
        // 408: the server gave up on a slow body; try again.
        assert!(matches!(e.answer(id3, 408, None, 0.0), Next::RetryIn(_)));
        e.next_request().unwrap();
        // A 400 is not retried.
        assert_eq!(e.answer(id3, 400, None, 0.0), Next::SendMore);
        assert!(e.next_request().is_none());
    }

    #[test]
    fn after_an_erase_what_another_tab_stored_from_before_it_is_not_taken_in() {
        // Tab b has not heard of the erase yet: it stores its old profile and outbox.
        let mut b = Engine::new(Config::new("demo"), [7; 16], 0x1234);
        view(&mut b, "OLD", T).unwrap();
        let (old_profile, old_outbox) = (b.profile_bytes(), b.outbox_bytes());
        assert_eq!(codec::peek(&entries(&old_outbox)[0].as_ref().unwrap().2).map(|h| h.1), Some(T));
        let mut a = engine();
        view(&mut a, "KEPT", T).unwrap();
        a.erase_all([2; 16], 77, T + 10);
        assert!(a.absorb(&old_profile, T + 20), "readable");
        assert!(a.profile.recent.is_empty() && a.profile.affinity.is_empty(), "{:?}", a.profile);
        let mine = a.save_profile(&old_profile, T + 21);
        assert!(mine != old_profile && a.profile.recent.is_empty());
        assert!(a.merge_outbox(&old_outbox));
        assert_eq!(a.waiting(), (0, 0), "a batch from before the erase was taken in");
        // Nor an event b recorded before it and tells the other tabs of.
        a.begin("cart-add", T + 5);
        a.set(Field::Item, "OLD-CART");
        a.commit_replica(T + 5, 1).unwrap();
        assert!(a.profile.cart.is_empty());
        // What a tab stores after the erase is joined as before.
        let mut c = Engine::new(Config::new("demo"), [2; 16], 0x5678);
        view(&mut c, "NEW", T + 30).unwrap();
        assert!(a.absorb(&c.profile_bytes(), T + 40));
        assert_eq!(a.profile.recent.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(), ["NEW"]);
        a.begin("cart-add", T + 41);
        a.set(Field::Item, "NEW-CART");
        a.commit_replica(T + 41, 1).unwrap();
        assert_eq!(a.profile.cart.len(), 1);
        assert!(a.merge_outbox(&c.outbox_bytes()));
        assert_eq!(a.waiting(), (0, 1));
        // A tab that never erased takes in everything.
        let mut d = engine();
        assert!(d.absorb(&old_profile, T + 20) && d.merge_outbox(&old_outbox));
        assert_eq!((d.profile.recent.len(), d.waiting()), (1, (0, 1)));
    }

    #[test]
    fn outbox_survives_storage_and_merges_across_tabs() {
        let mut a = engine();
        view(&mut a, "A", T).unwrap();
        let stored = a.outbox_bytes();
        // Another tab (same client, other nonce) loads it and adds its own.
        let mut b = Engine::new(Config::new("demo"), [7; 16], 0x1234);
        assert!(b.merge_outbox(&stored));
        view(&mut b, "B", T + 1).unwrap();
        let both = b.outbox_bytes();
        assert!(a.merge_outbox(&both));
        assert_eq!(a.waiting(), (0, 2));
        // Tab b delivers everything; its stored outbox is only tombstones now, and
        // tab a, reading it, will not send those batches again.
        while let Some((id, _)) = b.next_request() {
            b.answer(id, 200, None, 0.0);
        }
        let after = b.outbox_bytes();
        assert!(entries(&after).iter().all(|e| matches!(e, Some((_, 0, _)))), "{after:?}");
        assert!(a.merge_outbox(&after));
        assert_eq!(a.waiting(), (0, 0));
        assert!(a.next_request().is_none());
        // Acknowledged batches are not taken back from stale storage.
        assert!(b.merge_outbox(&both));
        assert_eq!(b.waiting(), (0, 0));
        // Damaged storage is reported and skipped.
        let mut c = engine();
        assert!(!c.merge_outbox(b"zz:1:%%% 00:1:AAAA"));
        assert_eq!(c.waiting(), (0, 0));
    }

    #[test]
    fn outbox_is_bounded_and_counts_what_it_drops() {
        let mut e = Engine::new(Config { outbox_max: 50, flush_count: 10, ..Config::new("demo") }, [1; 16], 9);
        for i in 0..120 {
            view(&mut e, "X", T + i).unwrap();
            if e.wants_flush() {
                e.seal();
            }
        }
        e.seal();
        let (_, blobs) = e.waiting();
        assert!(blobs * 10 <= 50, "{blobs}");
        // Every dropped event is counted exactly once: either still waiting to be
        // reported, or carried in the header of a batch that will be sent.
        view(&mut e, "Y", T + 500).unwrap();
        let batches = e.leaving();
        let reported: u32 = batches.iter().map(|(_, b)| codec::decode(b).unwrap().dropped).sum();
        let kept: usize = batches.iter().map(|(_, b)| codec::decode(b).unwrap().events.len()).sum();
        assert!(kept <= 50);
        assert_eq!(reported as usize + e.dropped() as usize, 121 - kept);
    }

    #[test]
    fn consent_gates_queueing_and_sending() {
        use crate::consent::Mode;
        // Opt-in, no choice yet: personalization works, nothing is queued.
        let mut e = engine();
        e.consent.mode = Mode::OptIn;
        view(&mut e, "A", T).unwrap();
        assert_eq!(e.profile.recent.len(), 1);
        assert_eq!(e.waiting_events(), 0);
        assert!(e.next_request().is_none());
        // Granted: events flow.
        e.set_consent(State::Granted);
        view(&mut e, "B", T + 1).unwrap();
        assert!(e.next_request().is_some());
        // Withdrawn: the outbox is emptied at once and stays empty.
        view(&mut e, "C", T + 2).unwrap();
        e.set_consent(State::Denied);
        assert_eq!(e.waiting_events(), 0);
        view(&mut e, "D", T + 3).unwrap();
        assert_eq!(e.waiting_events(), 0);
        assert!(e.leaving().is_empty());
        // GPC: a consent manager's grant does not override it, the shopper's does.
        let mut g = engine();
        g.consent = Consent { mode: Mode::OptOut, state: State::Pending, browser_signal: true };
        view(&mut g, "A", T).unwrap();
        g.set_consent(State::Granted);
        view(&mut g, "B", T).unwrap();
        assert_eq!(g.waiting_events(), 0);
        g.set_consent(State::GrantedByShopper);
        view(&mut g, "C", T).unwrap();
        assert_eq!(g.waiting_events(), 1);
    }

    #[test]
    fn searches_can_leave_with_only_their_category() {
        let mut e = engine();
        e.cfg.search_category_only = true;
        let search = |e: &mut Engine, q: &str, cat: Option<&str>| {
            e.begin("search", T);
            query(e, q);
            if let Some(c) = cat {
                e.set(Field::Category, c);
            }
            e.commit(T, true, 1)
        };
        search(&mut e, "jane doe trail shoes", Some("shoes/trail")).unwrap();
        search(&mut e, "my address", None).unwrap(); // accepted, kept on the device, not sent
        assert!(search(&mut e, "", None).is_err(), "a search of nothing is still invalid");
        let (_, bytes) = e.next_request().unwrap();
        let b = codec::decode(&bytes).unwrap();
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].category.as_deref(), Some("shoes/trail"));
        assert!(b.events[0].terms.is_empty());
    }

    #[test]
    fn anonymous_mode_sends_only_id_free_signals() {
        use crate::consent::Mode;
        let mut e = engine();
        e.consent.mode = Mode::Anonymous;
        view(&mut e, "A", T).unwrap();
        e.begin("search", T);
        query(&mut e, "my name");
        e.commit(T, true, 1).unwrap();
        e.begin("page", T);
        e.set(Field::Url, "/p");
        e.commit(T, true, 1).unwrap();
        let (_, bytes) = e.next_request().unwrap();
        let b = codec::decode(&bytes).unwrap();
        assert_eq!(b.client, [0; 16]);
        assert_eq!(b.session, 0);
        assert_eq!(b.events.len(), 1, "searches and page views stay on the device");
        assert_eq!(b.events[0].item.as_deref(), Some("A"));
        assert_eq!(b.events[0].url, None);
    }

    #[test]
    #[cfg(feature = "ldp")]
    fn ldp_mode_sends_reports_instead_of_likes_and_views() {
        let mut e = engine();
        assert!(!e.set_ldp(-1.0, [1, 2, 3, 4]), "ε out of range is refused");
        assert!(e.set_ldp(2.0, [1, 2, 3, 4]));
        let act = |e: &mut Engine, kind: &str, item: &str, t: u64| {
            e.begin(kind, t);
            e.set(Field::Item, item);
            e.commit(t, true, 1).unwrap();
        };
        act(&mut e, "like", "A", T); // report
        act(&mut e, "like", "A", T + 1); // already liked: nothing
        view(&mut e, "A", T + 2).unwrap(); // report
        view(&mut e, "A", T + 3).unwrap(); // viewed today: nothing
        view(&mut e, "B", T + 4).unwrap(); // report
        act(&mut e, "unlike", "A", T + 5); // report
        act(&mut e, "unlike", "A", T + 6); // not liked: nothing
        act(&mut e, "cart_add", "C", T + 7); // plain, as usual
        e.begin("view", T + 8); // a page's product: applied now, sent when the page is left
        e.set(Field::Item, "D");
        e.commit(T + 8, false, 1).unwrap(); // report (now)
        view(&mut e, "D", T + 9).unwrap(); // the same view, with its dwell time: nothing
        e.begin("like", T + 10); // another tab's like: that tab reports it
        e.set(Field::Item, "E");
        e.commit_replica(T + 10, 1).unwrap();
        view(&mut e, "A", T + ldp::TS_GRAIN_MS).unwrap(); // the next day: report
        assert_eq!(e.profile.recent.len(), 3, "the profile learns as usual");

        let mut plain = Vec::new();
        let mut reports = Vec::new();
        while let Some((id, bytes)) = e.next_request() {
            let b = codec::decode(&bytes).unwrap();
            if b.client == [0; 16] {
                assert_eq!((b.session, b.dropped), (0, 0));
                reports.extend(b.events);
            } else {
                plain.extend(b.events);
            }
            e.answer(id, 200, None, 0.5);
        }
        assert_eq!(plain.len(), 1, "only the cart add travels in plain");
        assert_eq!(plain[0].kind, Kind::CartAdd);
        let signals: Vec<ldp::Signal> = reports
            .iter()
            .map(|ev| {
                assert_eq!(ev.item, None);
                assert_eq!(ev.ts % ldp::TS_GRAIN_MS, 0, "report times are whole days");
                let (signal, r) = ldp::from_event(ev).expect("a well-formed report");
                assert_eq!(r.e, 200);
                signal
            })
            .collect();
        use ldp::Signal::*;
        assert_eq!(signals, vec![Like, View, View, Unlike, View, View]);
        let mut ids: Vec<u64> = reports.iter().map(|ev| ev.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 6, "every report has its own random id");
        assert!(ids.iter().all(|id| id >> 32 != 0xabcd), "report ids do not carry the page nonce");
    }

    #[test]
    #[cfg(feature = "ldp")]
    fn ldp_reports_follow_consent() {
        let mut e = engine();
        e.set_ldp(1.0, [9, 9, 9, 9]);
        e.consent.mode = crate::consent::Mode::OptIn;
        view(&mut e, "A", T).unwrap();
        assert_eq!(e.waiting_events(), 0, "nothing queued before consent");
        e.set_consent(State::Granted);
        view(&mut e, "B", T).unwrap();
        assert_eq!(e.waiting_events(), 1);
        e.set_consent(State::Denied);
        assert_eq!(e.waiting_events(), 0, "withdrawing drops waiting reports");
    }

    #[test]
    fn paused_personalization_learns_nothing() {
        let mut e = engine();
        e.paused = true;
        view(&mut e, "A", T).unwrap();
        assert!(e.profile.recent.is_empty() && e.profile.affinity.is_empty());
        assert_eq!(e.waiting_events(), 1, "delivery is consent's business, not the pause's");
        e.paused = false;
        view(&mut e, "B", T + 1).unwrap();
        assert_eq!(e.profile.recent.len(), 1);
    }

    // The default browser build (`--no-default-features`, scripts/build.mjs)
    // refuses what it was built without, so the page can say so; the rest works.
    #[test]
    #[cfg(not(feature = "ldp"))]
    fn without_the_ldp_feature_ldp_is_refused_and_likes_leave_as_usual() {
        let mut e = engine();
        assert!(!e.set_ldp(2.0, [1, 2, 3, 4]), "LDP cannot be turned on");
        assert!(e.set_ldp(0.0, [1, 2, 3, 4]), "turning it off is fine");
        assert!(e.begin("like", T));
        e.set(Field::Item, "SKU-1");
        e.commit(T, true, 7).unwrap();
        let (_, batch) = e.next_request().expect("the like is sent");
        let b = codec::decode(&batch).unwrap();
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].kind, Kind::Like);
        assert_eq!(b.events[0].item.as_deref(), Some("SKU-1"), "sent as a plain like, not a report");
    }

    #[test]
    #[cfg(not(feature = "json"))]
    fn without_the_json_feature_batches_stay_binary() {
        let mut e = engine();
        e.cfg.json = true;
        view(&mut e, "SKU-1", T).unwrap();
        let (_, batch) = e.next_request().expect("a batch");
        assert_eq!(batch[0], codec::MAGIC, "the binary format");
        assert_eq!(codec::decode(&batch).unwrap().events[0].item.as_deref(), Some("SKU-1"));
    }

    #[test]
    #[cfg(feature = "json")]
    fn json_batches_carry_the_same_information() {
        let mut bin = engine();
        let mut json = Engine::new(Config { json: true, ..Config::new("demo") }, [7; 16], 0xabcd);
        for e in [&mut bin, &mut json] {
            view(e, "SKU-1", T).unwrap();
        }
        let (_, b) = bin.next_request().unwrap();
        let (_, j) = json.next_request().unwrap();
        assert_eq!(j[0], b'{');
        let from_json = crate::codec_json::decode_json(std::str::from_utf8(&j).unwrap()).unwrap();
        assert_eq!(from_json, codec::decode(&b).unwrap());
    }

    #[test]
    fn leaving_does_not_resend_the_batch_in_flight() {
        let mut e = engine();
        view(&mut e, "A", T).unwrap();
        let (id, _) = e.next_request().unwrap();
        view(&mut e, "B", T + 1).unwrap();
        let out = e.leaving();
        assert_eq!(out.len(), 1);
        assert_ne!(out[0].0, id);
        assert!(e.leaving().is_empty(), "hidden then unloaded: handed over once");
        e.visible();
        assert_eq!(e.leaving().len(), 1);
    }

    #[test]
    fn big_batches_are_split_under_the_keepalive_limit() {
        let mut e = Engine::new(Config { max_batch_bytes: 2000, ..Config::new("demo") }, [1; 16], 9);
        for i in 0..300 {
            view(&mut e, &["SKU-", &crate::json::itoa(i)].concat(), T + i).unwrap();
        }
        let reqs = e.leaving();
        assert!(reqs.len() > 1);
        let mut n = 0;
        for (_, b) in &reqs {
            assert!(b.len() <= 2000, "{}", b.len());
            n += codec::decode(b).unwrap().events.len();
        }
        assert_eq!(n, 300);
    }

    #[test]
    fn two_tabs_writing_at_once_lose_nothing() {
        let mut a = engine();
        let mut b = Engine::new(Config::new("demo"), [7; 16], 0x99);
        let mut stored = Vec::new();
        // Interleaved: each tab views its items and saves against what is stored.
        for i in 0..5u64 {
            view(&mut a, &["A", &crate::json::itoa(i)].concat(), T + 2 * i).unwrap();
            stored = a.save_profile(&stored, T + 2 * i);
            view(&mut b, &["B", &crate::json::itoa(i)].concat(), T + 2 * i + 1).unwrap();
            // b has not seen a's write yet; a views again before seeing b's.
            if i % 2 == 0 {
                view(&mut a, "A-extra", T + 2 * i + 1).unwrap();
            }
            stored = b.save_profile(&stored, T + 2 * i + 1);
        }
        stored = a.save_profile(&stored, T + 20);
        let mut c = engine();
        c.load_profile(&stored, T + 21).unwrap();
        let mut items: Vec<&str> = c.profile.recent.iter().map(|r| r.item.as_str()).collect();
        items.sort_unstable();
        assert_eq!(items, ["A-extra", "A0", "A1", "A2", "A3", "A4", "B0", "B1", "B2", "B3", "B4"]);
        // A tab that only reads takes others' writes and keeps its own unsaved events.
        let mut d = engine();
        view(&mut d, "D", T + 30).unwrap();
        assert!(d.absorb(&stored, T + 31));
        assert_eq!(d.profile.recent.len(), 12);
        assert!(!d.absorb(b"garbage", T + 31));
        assert_eq!(d.profile.recent.len(), 12);
    }

    #[test]
    fn profile_round_trips_through_storage_and_erase_forgets() {
        let mut e = engine();
        view(&mut e, "A", T).unwrap();
        let s = e.profile_bytes();
        let mut f = engine();
        f.load_profile(&s, T + 1).unwrap();
        assert_eq!(f.profile.recent[0].item, "A");
        assert!(f.load_profile(b"%%%", T).is_err());
        assert!(f.load_profile(&[99, 1, 2], T).is_err());
        assert_eq!(f.profile.recent[0].item, "A", "a failed load keeps the profile");
        f.erase_all([2; 16], 77, T + 2);
        assert!(f.profile.recent.is_empty());
        assert!(f.outbox_bytes().is_empty());
        view(&mut f, "B", T + 2).unwrap();
        let (id, _) = f.next_request().unwrap();
        assert_eq!(id, (77 << 32) | 1, "ids after an erase share nothing with those before");
        assert_eq!(f.client, [2; 16]);
    }
}
