//! The wasm exports: plain functions over one [`Core`], called by the
//! hand-written JS glue `www/src/vitrina_core.js`.
//!
//! This replaces wasm-bindgen's generated glue (2.5 KB gzip of JS, and its
//! handle, allocator and string shims in the wasm; docs/size.md). The calling
//! convention is small enough to write down:
//!
//! - **Strings and bytes in**: JS asks for an input area with `i(n)` (at least
//!   `n` bytes; the pointer it returns is valid until the next `i`), writes the
//!   arguments' UTF-8 one after another, and passes each one's length; -1 passes
//!   "none" (`undefined`/`null`). [`Args`] reads them back in the same order.
//! - **Strings and bytes out**: a function stores its result in the output area
//!   and returns its length (-1 for none); JS reads it at `o()`, before the next
//!   call.
//! - **Numbers** are wasm `f64`/`i32`, converted by JS as for any wasm call (so
//!   `undefined` is NaN or 0, `true` is 1).
//! - **The engine** is a pointer returned by `n`, passed first to each method.
//!
//! Strings come from `TextEncoder`, so they are valid UTF-8 (lone surrogates
//! become U+FFFD); nothing here panics on any input.

use super::Core;
use core::cell::UnsafeCell;

/// The input and output areas (wasm is single-threaded).
struct Io {
    inp: Vec<u8>,
    out: Vec<u8>,
}
struct Shared(UnsafeCell<Io>);
// SAFETY: wasm32-unknown-unknown without atomics has one thread.
unsafe impl Sync for Shared {}
static IO: Shared = Shared(UnsafeCell::new(Io { inp: Vec::new(), out: Vec::new() }));

fn io() -> &'static mut Io {
    // SAFETY: one thread, and no export keeps a reference across calls or
    // holds two at once (the input is read through `Args` before any output is
    // stored, and the two are different fields).
    unsafe { &mut *IO.0.get() }
}

/// The arguments JS wrote in the input area, read in order.
struct Args(usize);

impl Args {
    fn new() -> Self {
        Args(0)
    }
    fn bytes(&mut self, len: i32) -> Option<&'static [u8]> {
        let inp = &io().inp;
        let len = usize::try_from(len).ok()?;
        let b = inp.get(self.0..self.0.checked_add(len)?)?;
        self.0 += len;
        Some(b)
    }
    fn opt(&mut self, len: i32) -> Option<&'static str> {
        // TextEncoder writes UTF-8; checked rather than trusted.
        crate::codec::utf8(self.bytes(len)?)
    }
    fn str(&mut self, len: i32) -> &'static str {
        self.opt(len).unwrap_or("")
    }
}

fn out(bytes: Vec<u8>) -> i32 {
    let n = bytes.len() as i32;
    io().out = bytes;
    n
}
fn out_str(s: String) -> i32 {
    out(s.into_bytes())
}

fn core(h: *mut Core) -> &'static mut Core {
    // SAFETY: `h` comes from `n` (Box::into_raw) and is never freed: one engine
    // per page, for the page's lifetime.
    unsafe { &mut *h }
}

/// The input area, at least `n` bytes; its previous content is discarded.
#[no_mangle]
pub extern "C" fn i(n: usize) -> *mut u8 {
    let inp = &mut io().inp;
    inp.clear();
    inp.resize(n, 0);
    inp.as_mut_ptr()
}

/// Where the last result is.
#[no_mangle]
pub extern "C" fn o() -> *const u8 {
    io().out.as_ptr()
}

/// `Core::new(site, client, nonce)`.
#[no_mangle]
pub extern "C" fn n(site: i32, client: i32, nonce: u32) -> *mut Core {
    let mut a = Args::new();
    let (site, client) = (a.str(site), a.str(client));
    Box::into_raw(Box::new(Core::new(site, client, nonce)))
}

/// `Core::state(which)`.
#[no_mangle]
pub extern "C" fn st(h: *mut Core, which: u32) -> u32 {
    core(h).state(which)
}

/// `Core::set(code, text, num, price)`.
#[no_mangle]
pub extern "C" fn s(h: *mut Core, code: u32, text: i32, num: f64, price: f64) -> bool {
    let text = Args::new().str(text);
    core(h).set(code as u8, text, num, price)
}

/// `Core::commit(now, mode, rand)`: 0, or the reason's code.
#[no_mangle]
pub extern "C" fn c(h: *mut Core, now: f64, mode: u32, rand: u32) -> u32 {
    core(h).commit(now, mode, rand)
}

/// `Core::answer(status, retry_after, rand)`.
#[no_mangle]
pub extern "C" fn a(h: *mut Core, status: u32, retry_after: f64, rand: f64) -> f64 {
    core(h).answer(status, retry_after, rand)
}

/// `Core::batch(i)`: bytes, or -1.
#[no_mangle]
pub extern "C" fn b(h: *mut Core, i: i32) -> i32 {
    core(h).batch(i).map_or(-1, out)
}

/// `Core::stored(which)`; also `Core::client()` (`which` 3).
#[no_mangle]
pub extern "C" fn sd(h: *mut Core, which: u32) -> i32 {
    out(core(h).stored(which))
}

/// `Core::save_profile(stored, now, json)`.
#[no_mangle]
pub extern "C" fn sp(h: *mut Core, stored: i32, now: f64, json: bool) -> i32 {
    let stored = Args::new().bytes(stored).unwrap_or(&[]);
    out(core(h).save_profile(stored, now, json))
}

/// `Core::load(stored, now, what)`; also `Core::likes(item)` (`what` 3).
#[no_mangle]
pub extern "C" fn l(h: *mut Core, stored: i32, now: f64, what: u32) -> bool {
    let stored = Args::new().bytes(stored).unwrap_or(&[]);
    core(h).load(stored, now, what)
}

/// `Core::add_item(sku, category, brand, price, in_stock)`.
#[no_mangle]
pub extern "C" fn ai(h: *mut Core, sku: i32, category: i32, brand: i32, price: f64, in_stock: bool) -> i32 {
    let mut a = Args::new();
    let (sku, category, brand) = (a.str(sku), a.opt(category), a.opt(brand));
    core(h).add_item(sku, category, brand, price, in_stock)
}

/// `Core::add_model(bytes)`.
#[no_mangle]
pub extern "C" fn am(h: *mut Core, bytes: i32) -> bool {
    let bytes = Args::new().bytes(bytes).unwrap_or(&[]);
    core(h).add_model(bytes)
}

/// `Core::shards_needed(anchor, n)`: the shard numbers as little-endian u32s.
#[no_mangle]
pub extern "C" fn sn(h: *mut Core, anchor: i32, n: u32) -> i32 {
    let v = core(h).shards_needed(Args::new().opt(anchor), n);
    // SAFETY: the bytes of the u32s (wasm is little-endian).
    out(unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len() * 4) }.to_vec())
}

/// `Core::recommend(slot, anchor, limit, now)`.
#[no_mangle]
pub extern "C" fn r(h: *mut Core, slot: i32, anchor: i32, limit: u32, now: f64) -> i32 {
    let mut a = Args::new();
    let (slot, anchor) = (a.str(slot), a.opt(anchor));
    out_str(core(h).recommend(slot, anchor, limit, now))
}

/// `Core::text(lang, key)`, or with a negative key (-1) `Core::lang(lang)`:
/// one export for both.
#[no_mangle]
pub extern "C" fn t(lang: i32, key: i32) -> i32 {
    let lang = Args::new().str(lang);
    out_str(if key < 0 { Core::lang(lang) } else { Core::text(lang, key as u32) })
}
