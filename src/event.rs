//! The one event model shared by the browser and the server.
//!
//! Every interaction Vitrina observes becomes an [`Event`]: a kind, an id, a
//! timestamp and a handful of optional fields. The same struct is applied to the
//! on-device profile, queued in the outbox, encoded on the wire and decoded and
//! stored by the server. Validation lives here too, so that nothing malformed is
//! ever stored or sent, whichever door it came through.
//!
//! Money is carried in hundredths of the currency unit (`8990` is 89.90) so that no
//! float formatting is needed anywhere on the device.

use std::fmt;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum Kind {
    /// A page was shown (first load or an SPA route change).
    #[default]
    PageView = 1,
    /// A product page was shown; carries the dwell time when it ends.
    ProductView = 2,
    /// A recommendation was seen in a slot.
    Impression = 3,
    /// A recommendation was clicked.
    RecClick = 4,
    /// Items were added to the cart.
    CartAdd = 5,
    /// Items were removed from the cart.
    CartRemove = 6,
    /// An order was placed.
    Purchase = 7,
    /// The shopper liked an item.
    Like = 8,
    /// The shopper took a like back.
    Unlike = 9,
    /// The shopper searched; carries normalized terms.
    Search = 10,
    /// The shopper shared an item.
    Share = 11,
    /// A shop-defined event with a small property map.
    Custom = 12,
}

impl Kind {
    /// Every kind, in wire order.
    pub const ALL: [Kind; 12] = [
        Kind::PageView,
        Kind::ProductView,
        Kind::Impression,
        Kind::RecClick,
        Kind::CartAdd,
        Kind::CartRemove,
        Kind::Purchase,
        Kind::Like,
        Kind::Unlike,
        Kind::Search,
        Kind::Share,
        Kind::Custom,
    ];

    /// The public name used by the JS API and the JSON format.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PageView => "page",
            Kind::ProductView => "view",
            Kind::Impression => "impression",
            Kind::RecClick => "rec-click",
            Kind::CartAdd => "cart-add",
            Kind::CartRemove => "cart-remove",
            Kind::Purchase => "purchase",
            Kind::Like => "like",
            Kind::Unlike => "unlike",
            Kind::Search => "search",
            Kind::Share => "share",
            Kind::Custom => "custom",
        }
    }

    /// Parses a public name (see [`Kind::name`]); a few common aliases are accepted.
    pub fn parse(s: &str) -> Option<Kind> {
        // The names of each kind, in wire order, kinds separated by '|' (a byte
        // loop over one string: far smaller in wasm than a `match` on strings).
        const NAMES: &[u8] = b"page pageview page-view page_view|view product product-view product_view|impression|rec-click click|cart-add add-to-cart cart_add|cart-remove remove-from-cart cart_remove|purchase order|like|unlike|search|share|custom|";
        let (mut kind, mut start) = (0, 0);
        for (i, &c) in NAMES.iter().enumerate() {
            if c == b' ' || c == b'|' {
                if &NAMES[start..i] == s.as_bytes() {
                    return Kind::ALL.get(kind).copied();
                }
                start = i + 1;
                kind += (c == b'|') as usize;
            }
        }
        None
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Kind::code`].
    pub fn from_code(c: u8) -> Option<Kind> {
        Kind::ALL.get((c as usize).wrapping_sub(1)).copied()
    }

    /// Whether an item id is required for this kind.
    pub fn needs_item(self) -> bool {
        matches!(
            self,
            Kind::ProductView
                | Kind::Impression
                | Kind::RecClick
                | Kind::CartAdd
                | Kind::CartRemove
                | Kind::Like
                | Kind::Unlike
                | Kind::Share
        )
    }
}

/// One line of a purchase.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Line {
    /// Item id.
    pub item: String,
    /// Quantity, at least 1.
    pub qty: u32,
    /// Unit price in hundredths.
    pub price: Option<i64>,
}

/// One observed interaction. Optional fields are `None`/empty when absent.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// Unique per client: the high 32 bits identify the page load (tab), the low 32
    /// bits count events within it. The server deduplicates on (client, id).
    pub id: u64,
    /// What happened.
    pub kind: Kind,
    /// When, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// Item id (SKU).
    pub item: Option<String>,
    /// Category path such as `shoes/running`.
    pub category: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Price (unit price, or order value for purchases) in hundredths.
    pub price: Option<i64>,
    /// ISO 4217 currency code.
    pub currency: Option<String>,
    /// Quantity (cart events).
    pub qty: Option<u32>,
    /// Page path, without query string or fragment.
    pub url: Option<String>,
    /// Recommendation slot (`for-you`, `similar`, ...).
    pub slot: Option<String>,
    /// Recommendation id, for click attribution.
    pub rec: Option<String>,
    /// Visible time on a product page, in milliseconds.
    pub dwell_ms: Option<u32>,
    /// Order id (purchases).
    pub order: Option<String>,
    /// Purchase lines.
    pub lines: Vec<Line>,
    /// Normalized search terms.
    pub terms: Vec<String>,
    /// Custom event name.
    pub name: Option<String>,
    /// Custom event properties.
    pub props: Vec<(String, String)>,
}

/// Limits that make an event "absurd" and therefore rejected.
pub mod limits {
    /// Longest id (item, order, recommendation).
    pub const ID_LEN: usize = 100;
    /// Longest free text (category path, brand, url, names, property values).
    pub const TEXT_LEN: usize = 256;
    /// Highest price or value in hundredths (10 million units).
    pub const MAX_PRICE: i64 = 1_000_000_000;
    /// Highest quantity.
    pub const MAX_QTY: u32 = 10_000;
    /// Most purchase lines.
    pub const MAX_LINES: usize = 100;
    /// Most search terms.
    pub const MAX_TERMS: usize = 16;
    /// Most custom properties.
    pub const MAX_PROPS: usize = 16;
    /// Longest dwell time recorded (one day).
    pub const MAX_DWELL_MS: u32 = 86_400_000;
    /// Earliest plausible timestamp (2020-01-01).
    pub const MIN_TS: u64 = 1_577_836_800_000;
    /// Latest plausible timestamp (2100-01-01).
    pub const MAX_TS: u64 = 4_102_444_800_000;
}

/// Why an event was rejected: what is wrong, and with which field ([`What`]).
///
/// In the wasm it leaves as a number ([`Invalid::code`]) that the JS's
/// on-demand `www/src/messages.js` turns into the text [`Invalid::message`]
/// gives natively: the field names are data the wasm does not carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// A required field is missing.
    Missing(What),
    /// A text field is empty, too long, or has control characters.
    BadText(What),
    /// A number is out of range.
    OutOfRange(What),
    /// Too many entries in a list.
    TooMany(What),
}

/// What an [`Invalid`] names: a field of an event (or of its item's display
/// data), by its number in [`What::NAMES`] (and in `www/src/messages.js`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum What {
    /// event kind
    EventKind,
    /// timestamp
    Timestamp,
    /// item
    Item,
    /// category
    Category,
    /// brand
    Brand,
    /// price
    Price,
    /// currency
    Currency,
    /// quantity
    Quantity,
    /// url
    Url,
    /// slot
    Slot,
    /// rec
    Rec,
    /// dwell
    Dwell,
    /// order
    Order,
    /// name
    Name,
    /// lines
    Lines,
    /// terms
    Terms,
    /// line item
    LineItem,
    /// line quantity
    LineQuantity,
    /// line price
    LinePrice,
    /// term
    Term,
    /// props
    Props,
    /// prop
    Prop,
    /// image
    Image,
}

impl What {
    /// Every field, by number.
    pub const ALL: [What; 23] = [
        What::EventKind,
        What::Timestamp,
        What::Item,
        What::Category,
        What::Brand,
        What::Price,
        What::Currency,
        What::Quantity,
        What::Url,
        What::Slot,
        What::Rec,
        What::Dwell,
        What::Order,
        What::Name,
        What::Lines,
        What::Terms,
        What::LineItem,
        What::LineQuantity,
        What::LinePrice,
        What::Term,
        What::Props,
        What::Prop,
        What::Image,
    ];

    /// The names, by number. Only native code reads them ([`Invalid::message`]);
    /// the wasm passes the number ([`Invalid::code`]).
    pub const NAMES: [&'static str; 23] = [
        "event kind",
        "timestamp",
        "item",
        "category",
        "brand",
        "price",
        "currency",
        "quantity",
        "url",
        "slot",
        "rec",
        "dwell",
        "order",
        "name",
        "lines",
        "terms",
        "line item",
        "line quantity",
        "line price",
        "term",
        "props",
        "prop",
        "image",
    ];

    /// The field's name, as messages give it.
    pub fn name(self) -> &'static str {
        What::NAMES[self as usize]
    }
}

impl Invalid {
    /// The wasm's form (`Core::commit`): (what is wrong, from 1) × 32 + the
    /// field's number, so never 0; [`Invalid::from_code`] reads it back.
    pub fn code(self) -> u32 {
        let (v, w) = match self {
            Invalid::Missing(w) => (1, w),
            Invalid::BadText(w) => (2, w),
            Invalid::OutOfRange(w) => (3, w),
            Invalid::TooMany(w) => (4, w),
        };
        v << 5 | w as u32
    }

    /// The error of a [`Invalid::code`] (none for a number no error has).
    pub fn from_code(code: u32) -> Option<Invalid> {
        let w = code & 31;
        if w as usize >= What::NAMES.len() {
            return None;
        }
        let w = What::ALL[w as usize];
        Some(match code >> 5 {
            1 => Invalid::Missing(w),
            2 => Invalid::BadText(w),
            3 => Invalid::OutOfRange(w),
            4 => Invalid::TooMany(w),
            _ => return None,
        })
    }

    /// A readable reason, built without the formatting machinery.
    pub fn message(&self) -> String {
        match *self {
            Invalid::Missing(w) => cat(&["missing ", w.name()]),
            Invalid::BadText(w) => cat(&["bad ", w.name(), ": empty, too long or has control characters"]),
            Invalid::OutOfRange(w) => cat(&[w.name(), " out of range"]),
            Invalid::TooMany(w) => cat(&["too many ", w.name()]),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// `[..].concat()` of strings, smaller in wasm than the standard library's.
#[inline(never)]
pub(crate) fn cat(parts: &[&str]) -> String {
    let mut s = String::new();
    for p in parts {
        s.push_str(p);
    }
    s
}

#[inline(never)]
fn text_ok(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !has_control(s)
}

/// Whether `s` has a control character (`char::is_control`: U+0000 to U+001F
/// and U+007F to U+009F), read from the UTF-8 bytes.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| c < 0x20 || c == 0x7f || c == 0xc2 && matches!(b.get(i + 1), Some(0x80..=0x9f)))
}

/// Whether an optional text is present and bad (empty, too long, control
/// characters). A flag rather than a `Result`: the caller builds the error,
/// with no error value passed back through memory per field (smaller wasm).
#[inline(never)]
fn bad_text(v: &Option<String>, max: usize) -> bool {
    matches!(v, Some(s) if !text_ok(s, max))
}

fn bad_price(v: Option<i64>) -> bool {
    matches!(v, Some(p) if !(0..=limits::MAX_PRICE).contains(&p))
}

impl Event {
    /// A new event of `kind` at `ts`, with every optional field empty.
    pub fn new(kind: Kind, ts: u64) -> Event {
        Event { kind, ts, ..Event::default() }
    }

    /// Checks the event against the rules every door shares: required fields,
    /// lengths, control characters, ranges.
    pub fn validate(&self) -> Result<(), Invalid> {
        use limits::*;
        if !(MIN_TS..=MAX_TS).contains(&self.ts) {
            return Err(Invalid::OutOfRange(What::Timestamp));
        }
        if self.kind.needs_item() && self.item.is_none() {
            return Err(Invalid::Missing(What::Item));
        }
        if bad_text(&self.item, ID_LEN) {
            return Err(Invalid::BadText(What::Item));
        }
        if bad_text(&self.category, TEXT_LEN) {
            return Err(Invalid::BadText(What::Category));
        }
        if let Some(c) = &self.category {
            // No empty level: no leading, trailing or doubled '/'.
            let mut prev = b'/';
            for &b in c.as_bytes() {
                if b == b'/' && prev == b'/' {
                    return Err(Invalid::BadText(What::Category));
                }
                prev = b;
            }
            if prev == b'/' {
                return Err(Invalid::BadText(What::Category));
            }
        }
        if bad_text(&self.brand, TEXT_LEN) {
            return Err(Invalid::BadText(What::Brand));
        }
        if bad_price(self.price) {
            return Err(Invalid::OutOfRange(What::Price));
        }
        if let Some(c) = &self.currency {
            if !matches!(c.as_bytes(), [a, b, d] if a.is_ascii_uppercase() && b.is_ascii_uppercase() && d.is_ascii_uppercase()) {
                return Err(Invalid::BadText(What::Currency));
            }
        }
        if let Some(q) = self.qty {
            if q == 0 || q > MAX_QTY {
                return Err(Invalid::OutOfRange(What::Quantity));
            }
        }
        if bad_text(&self.url, TEXT_LEN) {
            return Err(Invalid::BadText(What::Url));
        }
        if bad_text(&self.slot, ID_LEN) {
            return Err(Invalid::BadText(What::Slot));
        }
        if bad_text(&self.rec, ID_LEN) {
            return Err(Invalid::BadText(What::Rec));
        }
        if let Some(d) = self.dwell_ms {
            if d > MAX_DWELL_MS {
                return Err(Invalid::OutOfRange(What::Dwell));
            }
        }
        if bad_text(&self.order, ID_LEN) {
            return Err(Invalid::BadText(What::Order));
        }
        if bad_text(&self.name, ID_LEN) {
            return Err(Invalid::BadText(What::Name));
        }
        match self.kind {
            Kind::Purchase if self.lines.is_empty() => return Err(Invalid::Missing(What::Lines)),
            // A search names its terms, or (when the shop sends only where searches
            // lead) the category it led to.
            Kind::Search if self.terms.is_empty() && self.category.is_none() => return Err(Invalid::Missing(What::Terms)),
            Kind::Custom if self.name.is_none() => return Err(Invalid::Missing(What::Name)),
            _ => {}
        }
        if self.lines.len() > MAX_LINES {
            return Err(Invalid::TooMany(What::Lines));
        }
        for l in &self.lines {
            if !text_ok(&l.item, ID_LEN) {
                return Err(Invalid::BadText(What::LineItem));
            }
            if l.qty == 0 || l.qty > MAX_QTY {
                return Err(Invalid::OutOfRange(What::LineQuantity));
            }
            if bad_price(l.price) {
                return Err(Invalid::OutOfRange(What::LinePrice));
            }
        }
        if self.terms.len() > MAX_TERMS {
            return Err(Invalid::TooMany(What::Terms));
        }
        if self.terms.iter().any(|t| !text_ok(t, ID_LEN)) {
            return Err(Invalid::BadText(What::Term));
        }
        if self.props.len() > MAX_PROPS {
            return Err(Invalid::TooMany(What::Props));
        }
        for (k, v) in &self.props {
            if !text_ok(k, ID_LEN) || v.len() > TEXT_LEN || has_control(v) {
                return Err(Invalid::BadText(What::Prop));
            }
        }
        Ok(())
    }
}

/// Display data for an item, kept on the device to render slots. Never sent.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ItemInfo {
    /// Name shown to the shopper.
    pub name: Option<String>,
    /// Image URL.
    pub image: Option<String>,
    /// Product page URL.
    pub url: Option<String>,
}

impl ItemInfo {
    /// The same rules as every other text of an event: at most
    /// [`limits::TEXT_LEN`] bytes, no control characters.
    pub fn validate(&self) -> Result<(), Invalid> {
        if bad_text(&self.name, limits::TEXT_LEN) {
            return Err(Invalid::BadText(What::Name));
        }
        if bad_text(&self.image, limits::TEXT_LEN) {
            return Err(Invalid::BadText(What::Image));
        }
        if bad_text(&self.url, limits::TEXT_LEN) {
            return Err(Invalid::BadText(What::Url));
        }
        Ok(())
    }
}

/// Reduces a free-text search query to normalized terms: lowercase, split on
/// anything that is not a letter or digit, at most [`limits::MAX_TERMS`] terms of at
/// most 32 characters each, duplicates removed.
///
/// Letters are ASCII plus everything from U+00C0 up except the Latin-1 signs and
/// general punctuation; lowercase covers ASCII, Latin-1, Greek and Cyrillic. This
/// keeps Unicode tables out of the wasm while handling the languages shops use.
pub fn normalize_terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut t = String::new();
    let mut n = 0;
    // A char loop, not `split`: the standard library's searchers are large in wasm.
    for c in query.chars().chain(Some(' ')) {
        if is_word_char(c) {
            if n < 32 {
                t.push(lower(c));
            }
            n += 1;
            continue;
        }
        if n == 0 {
            continue;
        }
        n = 0;
        let w = core::mem::take(&mut t);
        if !out.iter().any(|o| *o == w) {
            out.push(w);
        }
        if out.len() == limits::MAX_TERMS {
            break;
        }
    }
    out
}

// Comparisons, not `RangeInclusive::contains` (an out-of-line function in wasm).
#[allow(clippy::manual_range_contains)]
fn is_word_char(c: char) -> bool {
    let u = c as u32;
    c.is_ascii_alphanumeric() || (u >= 0xC0 && u != 0xD7 && u != 0xF7 && !(u >= 0x2000 && u <= 0x2BFF) && !(u >= 0x3000 && u <= 0x303F) && !(u >= 0xFE30 && u <= 0xFE4F) && !(u >= 0xFF00 && u <= 0xFF0F))
}

fn lower(c: char) -> char {
    let u = c as u32;
    let l = match u {
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE | 0x391..=0x3A1 | 0x3A3..=0x3AB | 0x410..=0x42F => u + 0x20,
        0x400..=0x40F => u + 0x50,
        0x100..=0x17F if u.is_multiple_of(2) && u != 0x130 && u != 0x138 => u + 1,
        _ => u,
    };
    char::from_u32(l).unwrap_or(c)
}

/// Parses a decimal price such as `"89.90"`, `"89,9"` or `"1 299.00"` into hundredths,
/// without floats. Returns `None` for anything that is not a plain non-negative amount.
pub fn parse_price(s: &str) -> Option<i64> {
    // `str::trim` and `rfind`, as loops (smaller in wasm).
    let (mut start, mut end) = (None, 0);
    for (i, c) in s.char_indices() {
        if !is_white_space(c) {
            start = start.or(Some(i));
            end = i + c.len_utf8();
        }
    }
    let b = s.as_bytes().get(start.unwrap_or(0)..end).unwrap_or(&[]);
    // Bytes from here: every character allowed is ASCII but U+00A0 (C2 A0).
    let mut sep = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' || c == b',' {
            sep = Some(i);
        }
    }
    let (int, frac) = match sep {
        Some(i) if b.len() - i <= 3 => (&b[..i], &b[i + 1..]),
        _ => (b, &[][..]),
    };
    // Above MAX_PRICE / 100 units the price is refused anyway: no overflow checks.
    let mut v: i64 = 0;
    let mut digits = 0;
    let mut i = 0;
    while i < int.len() {
        match int[i] {
            c @ b'0'..=b'9' => {
                v = v * 10 + (c - b'0') as i64;
                if v > limits::MAX_PRICE / 100 {
                    return None;
                }
                digits += 1;
            }
            0xC2 if matches!(int.get(i + 1), Some(0xA0)) => i += 1,
            b' ' | b'\'' | b'.' | b',' => {}
            _ => return None,
        }
        i += 1;
    }
    // At most two bytes: tenths and hundredths.
    let mut f = 0;
    let mut unit = 10;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        f += (c - b'0') as i64 * unit;
        unit = 1;
    }
    if digits == 0 && frac.is_empty() {
        return None;
    }
    let cents = v * 100 + f;
    (cents <= limits::MAX_PRICE).then_some(cents)
}

/// What JS's `String#trim` trims (ECMAScript WhiteSpace and LineTerminator), as
/// the glue does (www/src/text.js): Unicode White_Space but U+0085, and U+FEFF.
fn is_white_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// The path of a page URL or path: no origin, query string or fragment. The
/// glue does this in JS (www/src/text.js `pathOf`); this is its reference.
pub fn page_path(u: &str) -> String {
    let b = u.as_bytes();
    let end = b.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(b.len());
    // Offsets of ASCII bytes, so the cuts are on character boundaries.
    let path = match b[..end].windows(3).position(|w| w == b"://") {
        Some(i) => match b[i + 3..end].iter().position(|&c| c == b'/') {
            Some(j) => u.get(i + 3 + j..end),
            None => Some("/"),
        },
        None => u.get(..end),
    };
    path.unwrap_or("").to_owned()
}

/// Converts a JS number (units) to hundredths; `None` for NaN, infinities or
/// negative values.
pub fn price_from_f64(x: f64) -> Option<i64> {
    if !x.is_finite() || x < 0.0 || x > (limits::MAX_PRICE / 100) as f64 {
        return None;
    }
    Some((x * 100.0 + 0.5) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Invalid` as it was, with the field's name in it, and its message: the
    /// reference of the texts.
    #[derive(Debug, PartialEq)]
    enum Old {
        Missing(&'static str),
        BadText(&'static str),
        OutOfRange(&'static str),
        TooMany(&'static str),
    }
    use Old as Invalid;

    fn old_message(e: &Old) -> String {
        match e {
            Old::Missing(w) => ["missing ", w].concat(),
            Old::BadText(w) => ["bad ", w, ": empty, too long or has control characters"].concat(),
            Old::OutOfRange(w) => [w, " out of range"].concat(),
            Old::TooMany(w) => ["too many ", w].concat(),
        }
    }

    /// The messages of `e.validate()` and of the reference, for comparing.
    fn said<E>(r: Result<(), E>, msg: impl Fn(&E) -> String) -> Result<(), String> {
        r.map_err(|e| msg(&e))
    }

    // The validation before it used flags (`bad_text`), as a reference.
    fn check_text(v: &Option<String>, max: usize, what: &'static str) -> Result<(), Invalid> {
        match v {
            Some(s) if !text_ok(s, max) => Err(Invalid::BadText(what)),
            _ => Ok(()),
        }
    }

    fn check_price(v: Option<i64>, what: &'static str) -> Result<(), Invalid> {
        match v {
            Some(p) if !(0..=limits::MAX_PRICE).contains(&p) => Err(Invalid::OutOfRange(what)),
            _ => Ok(()),
        }
    }

    fn old_validate(e: &Event) -> Result<(), Invalid> {
    use limits::*;
    if !(MIN_TS..=MAX_TS).contains(&e.ts) {
        return Err(Invalid::OutOfRange("timestamp"));
    }
    if e.kind.needs_item() && e.item.is_none() {
        return Err(Invalid::Missing("item"));
    }
    check_text(&e.item, ID_LEN, "item")?;
    check_text(&e.category, TEXT_LEN, "category")?;
    if let Some(c) = &e.category {
        // No empty level: no leading, trailing or doubled '/'.
        let mut prev = b'/';
        for &b in c.as_bytes() {
            if b == b'/' && prev == b'/' {
                return Err(Invalid::BadText("category"));
            }
            prev = b;
        }
        if prev == b'/' {
            return Err(Invalid::BadText("category"));
        }
    }
    check_text(&e.brand, TEXT_LEN, "brand")?;
    check_price(e.price, "price")?;
    if let Some(c) = &e.currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid::BadText("currency"));
        }
    }
    if let Some(q) = e.qty {
        if q == 0 || q > MAX_QTY {
            return Err(Invalid::OutOfRange("quantity"));
        }
    }
    check_text(&e.url, TEXT_LEN, "url")?;
    check_text(&e.slot, ID_LEN, "slot")?;
    check_text(&e.rec, ID_LEN, "rec")?;
    if let Some(d) = e.dwell_ms {
        if d > MAX_DWELL_MS {
            return Err(Invalid::OutOfRange("dwell"));
        }
    }
    check_text(&e.order, ID_LEN, "order")?;
    check_text(&e.name, ID_LEN, "name")?;
    match e.kind {
        Kind::Purchase if e.lines.is_empty() => return Err(Invalid::Missing("lines")),
        // A search names its terms, or (when the shop sends only where searches
        // lead) the category it led to.
        Kind::Search if e.terms.is_empty() && e.category.is_none() => return Err(Invalid::Missing("terms")),
        Kind::Custom if e.name.is_none() => return Err(Invalid::Missing("name")),
        _ => {}
    }
    if e.lines.len() > MAX_LINES {
        return Err(Invalid::TooMany("lines"));
    }
    for l in &e.lines {
        if !text_ok(&l.item, ID_LEN) {
            return Err(Invalid::BadText("line item"));
        }
        if l.qty == 0 || l.qty > MAX_QTY {
            return Err(Invalid::OutOfRange("line quantity"));
        }
        check_price(l.price, "line price")?;
    }
    if e.terms.len() > MAX_TERMS {
        return Err(Invalid::TooMany("terms"));
    }
    if e.terms.iter().any(|t| !text_ok(t, ID_LEN)) {
        return Err(Invalid::BadText("term"));
    }
    if e.props.len() > MAX_PROPS {
        return Err(Invalid::TooMany("props"));
    }
    for (k, v) in &e.props {
        if !text_ok(k, ID_LEN) || v.len() > TEXT_LEN || has_control(v) {
            return Err(Invalid::BadText("prop"));
        }
    }
    Ok(())
}

    fn old_validate_info(i: &ItemInfo) -> Result<(), Invalid> {
    check_text(&i.name, limits::TEXT_LEN, "name")?;
    check_text(&i.image, limits::TEXT_LEN, "image")?;
    check_text(&i.url, limits::TEXT_LEN, "url")
}

    #[test]
    fn validation_is_the_one_of_before() {
        let mut x: u64 = 0x5DEE_CE66_D1CE_B00C;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let texts = ["", "a", "shoes/running", "/a", "a/", "a//b", "x\u{7f}", "x\u{85}", "tab\there", "EUR", "eur", "EU", "ü", "<b>"];
        let long = |n: usize| "x".repeat(n);
        let opt = |r: &mut dyn FnMut(u64) -> u64| -> Option<String> {
            match r(5) {
                0 => None,
                1 => Some(long([100, 101, 256, 257][r(4) as usize])),
                _ => Some(texts[r(texts.len() as u64) as usize].to_owned()),
            }
        };
        for _ in 0..100_000 {
            let mut e = Event::new(Kind::ALL[rnd(12) as usize], [T, 0, limits::MAX_TS, limits::MAX_TS + 1, limits::MIN_TS][rnd(5) as usize % 5 * (rnd(4) == 0) as usize]);
            let r = &mut rnd;
            e.item = opt(r);
            e.category = opt(r);
            e.brand = opt(r);
            e.currency = opt(r);
            e.url = opt(r);
            e.slot = opt(r);
            e.rec = opt(r);
            e.order = opt(r);
            e.name = opt(r);
            let num = |r: &mut dyn FnMut(u64) -> u64| [0i64, 1, -1, limits::MAX_PRICE, limits::MAX_PRICE + 1][r(5) as usize];
            e.price = (r(3) > 0).then(|| num(r));
            e.qty = (r(3) == 0).then(|| [0u32, 1, limits::MAX_QTY, limits::MAX_QTY + 1][r(4) as usize]);
            e.dwell_ms = (r(3) == 0).then(|| [0u32, limits::MAX_DWELL_MS, limits::MAX_DWELL_MS + 1][r(3) as usize]);
            for _ in 0..[0, 1, 2, 101][r(4) as usize] {
                let item = opt(r).unwrap_or_default();
                e.lines.push(Line { item, qty: [0u32, 1, limits::MAX_QTY + 1][r(3) as usize], price: (r(2) == 0).then(|| num(r)) });
            }
            for _ in 0..[0, 1, 17][r(3) as usize] {
                e.terms.push(opt(r).unwrap_or_default());
            }
            for _ in 0..[0, 1, 17][r(3) as usize] {
                e.props.push((opt(r).unwrap_or_default(), opt(r).unwrap_or_default()));
            }
            assert_eq!(said(e.validate(), super::Invalid::message), said(old_validate(&e), old_message), "{e:?}");
            let info = ItemInfo { name: opt(r), image: opt(r), url: opt(r) };
            assert_eq!(said(info.validate(), super::Invalid::message), said(old_validate_info(&info), old_message), "{info:?}");
        }
    }

    const T: u64 = 1_700_000_000_000;

    fn view(item: &str) -> Event {
        Event { item: Some(item.into()), ..Event::new(Kind::ProductView, T) }
    }

    #[test]
    fn kinds_round_trip_names_and_codes() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
            assert_eq!(Kind::from_code(k.code()), Some(k));
        }
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(Kind::from_code(13), None);
        assert_eq!(Kind::parse("nonsense"), None);
        for (alias, k) in [
            ("pageview", Kind::PageView),
            ("page-view", Kind::PageView),
            ("page_view", Kind::PageView),
            ("product", Kind::ProductView),
            ("product-view", Kind::ProductView),
            ("product_view", Kind::ProductView),
            ("click", Kind::RecClick),
            ("add-to-cart", Kind::CartAdd),
            ("cart_add", Kind::CartAdd),
            ("remove-from-cart", Kind::CartRemove),
            ("cart_remove", Kind::CartRemove),
            ("order", Kind::Purchase),
        ] {
            assert_eq!(Kind::parse(alias), Some(k), "{alias}");
        }
        for bad in ["", " ", "|", "page ", "pag", "Page", "view|", "custom|", "likes"] {
            assert_eq!(Kind::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn validation_rejects_absurd_events() {
        let cases: Vec<(Event, Option<Invalid>)> = vec![
            (view("SKU-1"), None),
            (Event::new(Kind::ProductView, T), Some(Invalid::Missing("item"))),
            (view(""), Some(Invalid::BadText("item"))),
            (view(&"x".repeat(10_000)), Some(Invalid::BadText("item"))),
            (view("SKU\u{0007}"), Some(Invalid::BadText("item"))),
            (Event { price: Some(-1), ..view("a") }, Some(Invalid::OutOfRange("price"))),
            (Event { qty: Some(0), ..view("a") }, Some(Invalid::OutOfRange("quantity"))),
            (Event { currency: Some("eur".into()), ..view("a") }, Some(Invalid::BadText("currency"))),
            (Event { category: Some("shoes//x".into()), ..view("a") }, Some(Invalid::BadText("category"))),
            (Event { ts: 5, ..view("a") }, Some(Invalid::OutOfRange("timestamp"))),
            (Event::new(Kind::Purchase, T), Some(Invalid::Missing("lines"))),
            (Event::new(Kind::Search, T), Some(Invalid::Missing("terms"))),
            (Event::new(Kind::Custom, T), Some(Invalid::Missing("name"))),
            (Event::new(Kind::PageView, T), None),
        ];
        for (e, want) in cases {
            assert_eq!(e.validate().err().map(|w| w.message()), want.as_ref().map(old_message), "{e:?}");
        }
    }

    /// The names of the fields before they became [`What`]s, as every
    /// rejection of an event wrote them (in `validate`, `ItemInfo::validate`
    /// and the engine's `commit_as`).
    const NAMES_OF_BEFORE: [&str; 23] = [
        "event kind", "timestamp", "item", "category", "brand", "price", "currency", "quantity", "url", "slot", "rec", "dwell",
        "order", "name", "lines", "terms", "line item", "line quantity", "line price", "term", "props", "prop", "image",
    ];

    #[test]
    fn invalid_says_what_it_said_and_its_code_reads_back() {
        let mut codes = Vec::new();
        for (n, w) in What::ALL.into_iter().enumerate() {
            assert_eq!(w as usize, n);
            let name = NAMES_OF_BEFORE[n];
            assert_eq!(w.name(), name);
            for (new, old) in [
                (super::Invalid::Missing(w), Old::Missing(name)),
                (super::Invalid::BadText(w), Old::BadText(name)),
                (super::Invalid::OutOfRange(w), Old::OutOfRange(name)),
                (super::Invalid::TooMany(w), Old::TooMany(name)),
            ] {
                assert_eq!(new.message(), old_message(&old));
                assert_eq!(new.to_string(), old_message(&old));
                assert_eq!(super::Invalid::from_code(new.code()), Some(new));
                assert_ne!(new.code(), 0, "0 is an accepted event");
                codes.push(new.code());
            }
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 4 * 23, "one code per error");
        for bad in [0, 1, 23, 31, 32 + 23, 63 + 5 * 32, 5 << 5, u32::MAX] {
            assert_eq!(super::Invalid::from_code(bad), None, "{bad}");
        }
        // The texts www/src/messages.js gives (tests/e2e/messages.test.mjs checks it against these).
        assert_eq!(super::Invalid::Missing(What::Item).code(), 34);
        assert_eq!(super::Invalid::BadText(What::LinePrice).code(), 82);
        assert_eq!(super::Invalid::OutOfRange(What::Timestamp).code(), 97);
        assert_eq!(super::Invalid::TooMany(What::Image).code(), 150);
    }

    #[test]
    fn terms_are_normalized() {
        assert_eq!(normalize_terms("  Trail RUNNER, size 42!! trail"), ["trail", "runner", "size", "42"]);
        assert_eq!(normalize_terms("Zapatillas MONTAÑA"), ["zapatillas", "montaña"]);
        assert_eq!(normalize_terms("ЗИМА — Ski/Snow"), ["зима", "ski", "snow"]);
        assert_eq!(normalize_terms("«Ärger» über… Ökø"), ["ärger", "über", "ökø"]);
        assert!(normalize_terms("  ,,, ").is_empty());
    }

    #[test]
    fn terms_and_categories_match_the_standard_library_forms() {
        fn old_terms(query: &str) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for word in query.split(|c: char| !is_word_char(c)) {
                if word.is_empty() {
                    continue;
                }
                let t: String = word.chars().take(32).map(lower).collect();
                if !out.contains(&t) {
                    out.push(t);
                }
                if out.len() == limits::MAX_TERMS {
                    break;
                }
            }
            out
        }
        let long = "Ab".repeat(40);
        let many: String = (0..40).map(|i| ["w", &i.to_string(), " "].concat()).collect();
        for q in ["", " ", "a", "a b a", "  x--y  ", "ÀÉ Ωμέγα", &long, &[long.as_str(), "!", &long, "x"].concat(), &many, "\u{2000}q\u{3000}r"] {
            assert_eq!(normalize_terms(q), old_terms(q), "{q:?}");
        }
        for c in ["a", "a/b", "/a", "a/", "a//b", "/", "//", "ü/ñ", "a/b/c"] {
            let e = Event { category: Some(c.into()), ..view("x") };
            assert_eq!(e.validate().is_ok(), !c.split('/').any(str::is_empty), "{c:?}");
        }
    }

    #[test]
    fn control_characters_are_the_standard_librarys() {
        for u in 0..=0x10FFFFu32 {
            if let Some(c) = char::from_u32(u) {
                let s = ['a', c, 'b'].iter().collect::<String>();
                assert_eq!(has_control(&s), c.is_control(), "{u:x}");
            }
        }
    }

    #[test]
    fn word_characters_are_the_ones_of_before() {
        // The test before it was written with comparisons, as a reference.
        let old = |c: char| {
            let u = c as u32;
            c.is_ascii_alphanumeric() || (u >= 0xC0 && u != 0xD7 && u != 0xF7 && !(0x2000..=0x2BFF).contains(&u) && !(0x3000..=0x303F).contains(&u) && !(0xFE30..=0xFE4F).contains(&u) && !(0xFF00..=0xFF0F).contains(&u))
        };
        for u in 0..=0x10FFFFu32 {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(is_word_char(c), old(c), "{u:x}");
            }
        }
    }

    #[test]
    fn page_paths_are_what_the_standard_library_searches_give() {
        fn old_page_path(u: &str) -> String {
            let u = u.split(['?', '#']).next().unwrap_or("");
            match u.find("://") {
                Some(i) => {
                    let rest = u.get(i + 3..).unwrap_or("");
                    rest.find('/').and_then(|j| rest.get(j..)).unwrap_or("/").to_owned()
                }
                None => u.to_owned(),
            }
        }
        for u in PATHS {
            assert_eq!(page_path(u), old_page_path(u), "{u:?}");
        }
        assert_eq!(page_path("https://shop.example"), "/");
    }

    /// URLs and paths that stress [`page_path`].
    const PATHS: [&str; 16] = [
        "", "/", "?", "#", "://", "a://", "://x", "https://shop.example", "https://shop.example/", "https://a/b/c?d#e",
        "/p?x://y/z", "ftp://h/p#://", "/\u{fc}/\u{f1}?\u{df}", "\u{fc}://\u{f1}/\u{df}", "http:/x", "a:b:c",
    ];

    #[test]
    fn white_space_is_what_js_trims() {
        // Unicode White_Space, less U+0085 and plus U+FEFF (ECMAScript WhiteSpace and LineTerminator).
        for u in 0..=0x10FFFFu32 {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(is_white_space(c), (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}', "{u:x}");
            }
        }
    }

    #[test]
    fn prices_parse_without_floats() {
        for (s, want) in [
            ("89.90", Some(8990)),
            ("89.9", Some(8990)),
            ("89,90", Some(8990)),
            ("1 299.00", Some(129900)),
            ("1,299.00", Some(129900)),
            ("12", Some(1200)),
            ("0", Some(0)),
            ("-5", None),
            ("abc", None),
            ("", None),
            ("99999999999999999999", None),
            ("\u{3000} 12,5\u{2029}", Some(1250)),
            (" 1.2.3 ", Some(1230)),
            ("12,345", Some(1234500)),
            ("\u{85}", None),
            ("10000000", Some(1_000_000_000)),
            ("10000000,01", None),
            ("10000001", None),
            ("1\u{a0}000,5", Some(100050)),
            ("1à", None),
            (",5", Some(50)),
            (".", None),
        ] {
            assert_eq!(parse_price(s), want, "{s}");
        }
        fn old_parse_price(s: &str) -> Option<i64> {
            let s = s.trim_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
            let (int, frac) = match s.rfind(['.', ',']) {
                Some(i) if s.len() - i - 1 <= 2 => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
                _ => (s, ""),
            };
            let mut v: i64 = 0;
            let mut digits = 0;
            for c in int.chars() {
                match c {
                    '0'..='9' => {
                        v = v.checked_mul(10)?.checked_add(c as i64 - '0' as i64)?;
                        digits += 1;
                    }
                    ' ' | '\u{a0}' | '\'' | '.' | ',' => {}
                    _ => return None,
                }
            }
            let mut f = 0;
            for (i, c) in frac.chars().enumerate() {
                let d = c.to_digit(10)? as i64;
                f += if i == 0 { d * 10 } else { d };
            }
            if digits == 0 && frac.is_empty() {
                return None;
            }
            let cents = v.checked_mul(100)?.checked_add(f)?;
            (cents <= limits::MAX_PRICE).then_some(cents)
        }
        let alphabet = ['1', '9', '0', '.', ',', ' ', '\u{a0}', '\u{2003}', '\'', 'x', '-', '\u{85}', '\t', 'é', 'à', '\u{1a0}', '5'];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s: String = (0..(x % 13)).map(|i| alphabet[((x >> (8 + 4 * i)) % alphabet.len() as u64) as usize]).collect();
            assert_eq!(parse_price(&s), old_parse_price(&s), "{s:?}");
        }
        assert_eq!(price_from_f64(89.9), Some(8990));
        assert_eq!(price_from_f64(-1.0), None);
        assert_eq!(price_from_f64(f64::NAN), None);
    }

    /// The corpus the JS port (www/src/text.js) is checked against by
    /// tests/e2e/text.test.mjs: inputs and what [`parse_price`] and
    /// [`normalize_terms`] (and [`page_path`]) make of them, one JSON array per line. The terms use
    /// characters whose lower case is the same by this table and by Unicode's
    /// (the JS port lower-cases by `toLowerCase`, which covers every script).
    /// `WRITE_TEXT_FIXTURES=1 cargo test --lib js_text_fixtures` rewrites it.
    #[test]
    fn js_text_fixtures_are_what_the_rust_reference_gives() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut prices: Vec<String> = ["89.90", "89.9", "89,90", "1 299.00", "1,299.00", "12", "0", "-5", "abc", "", "99999999999999999999", "\u{3000} 12,5\u{2029}", " 1.2.3 ", "12,345", "\u{85}", "12\u{85}", "\u{feff}12", "10000000", "10000000,01", "10000001", "1\u{a0}000,5", "1,\u{a0}5", "1,\u{a0}", "1,\u{e9}", "1\u{e0}", ",5", ".", "12.", "1,,", "1.5,123"]
            .map(String::from)
            .to_vec();
        let alphabet = ['1', '9', '0', '.', ',', ' ', '\u{a0}', '\u{2003}', '\'', 'x', '-', '\u{85}', '\t', '\u{e9}', '\u{e0}', '\u{1a0}', '5', '\u{feff}', '\u{7ff}', '\u{800}', '\n'];
        for _ in 0..2000 {
            let r = next();
            prices.push((0..(r % 13)).map(|i| alphabet[((r >> (8 + 4 * i)) % alphabet.len() as u64) as usize]).collect());
        }
        let mut terms: Vec<String> = ["  Trail RUNNER, size 42!! trail", "Zapatillas MONTA\u{d1}A", "\u{417}\u{418}\u{41c}\u{410} \u{2014} Ski/Snow", "\u{ab}\u{c4}rger\u{bb} \u{fc}ber\u{2026} \u{d6}k\u{f8}", "  ,,, ", ""]
            .map(String::from)
            .to_vec();
        let letters = ['A', 'z', 'Q', 'm', '0', '9', '\u{e9}', '\u{c9}', '\u{df}', '\u{416}', '\u{436}', '\u{401}', '\u{3a9}', '\u{3c9}', '\u{100}', '\u{4e2d}', '\u{ff11}', '\u{d7}', '\u{f7}'];
        let gaps = [' ', ',', '!', '-', '_', '\u{a0}', '\u{2014}', '\u{ab}', '\u{2026}', '\u{3000}', '\u{3001}', '\u{ff0e}', '\t', '\u{fe31}'];
        for _ in 0..600 {
            let r = next();
            let n = r % 100;
            let mut s = String::new();
            let mut y = r;
            for _ in 0..n {
                y ^= y << 13;
                y ^= y >> 7;
                y ^= y << 17;
                // Long words sometimes (up to ~60 letters), many short ones often.
                let gap = if r & 1 == 0 { 4 } else { 40 };
                s.push(if y % gap == 0 { gaps[(y >> 8) as usize % gaps.len()] } else { letters[(y >> 8) as usize % letters.len()] });
            }
            terms.push(s);
        }
        let mut paths: Vec<String> = PATHS.map(String::from).to_vec();
        let parts = ["/", "?", "#", ":", "://", "a", "\u{fc}", ".", "h", "//", "\n"];
        for _ in 0..600 {
            let r = next();
            paths.push((0..(r % 12)).map(|i| parts[((r >> (8 + 4 * i)) % parts.len() as u64) as usize]).collect());
        }
        let line = |input: &str, out: String| {
            let mut l = String::from("[");
            crate::json::push_str(&mut l, input);
            l.push(',');
            l.push_str(&out);
            l.push_str("]\n");
            l
        };
        let price_lines: String = prices.iter().map(|s| line(s, parse_price(s).map_or("null".into(), |c| c.to_string()))).collect();
        let term_lines: String = terms
            .iter()
            .map(|s| {
                let mut out = String::from("[");
                for (i, t) in normalize_terms(s).iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    crate::json::push_str(&mut out, t);
                }
                out.push(']');
                line(s, out)
            })
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text");
        let path_lines: String = paths
            .iter()
            .map(|s| {
                let mut out = String::new();
                crate::json::push_str(&mut out, &page_path(s));
                line(s, out)
            })
            .collect();
        for (name, want) in [("prices.jsonl", &price_lines), ("terms.jsonl", &term_lines), ("paths.jsonl", &path_lines)] {
            let path = dir.join(name);
            if std::env::var_os("WRITE_TEXT_FIXTURES").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, want).unwrap();
            }
            let got = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(got == *want, "{} is not what the Rust reference gives: run WRITE_TEXT_FIXTURES=1 cargo test --lib js_text_fixtures", path.display());
        }
    }
}
