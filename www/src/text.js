// Text the shop or the shopper typed, reduced in JS, where the browser's regular
// expressions and Unicode tables come free (in the wasm they cost 0.7 KB gzip:
// docs/size.md). Checked against the Rust reference (src/event.rs parse_price,
// normalize_terms) on the corpus in tests/fixtures/text/ by tests/e2e/text.test.mjs.
// Two differences, both from the browser's tables: words are letters, marks and
// digits of any script (the Rust reference took every character from U+00C0 up
// but a few punctuation blocks), lower-cased in every script (it: ASCII, Latin-1,
// Greek and Cyrillic); and a price's edges are trimmed of String#trim's white
// space (U+FEFF too, U+0085 not).

/**
 * A price written as text ("89.90", "89,9", "1 299.00", "1.299,5") in units of the
 * currency, exact to the hundredth; NaN for anything that is not a plain
 * non-negative amount. The last "." or "," followed by at most two digits
 * separates the hundredths; other dots, commas, spaces and apostrophes group digits.
 */
export function priceOf(s) {
  // At most two bytes of UTF-8 after the separator: two ASCII characters or one of U+0080 to U+07FF.
  const m = /^(.*)[.,]([\0-\x7f]{0,2}|[\x80-\u07ff])$/su.exec((s = s.trim())) || [0, s, ''];
  const digits = m[1].replace(/[ \xa0'.,]/g, '');
  const cents = +digits * 100 + +(m[2] + '00').slice(0, 2);
  return /\D/.test(digits + m[2]) || !(digits || m[2]) || cents > 1e9 ? NaN : cents / 100;
}

/** A search query as terms: lower-case words (letters, marks and digits) of at most 32 characters, no repeats, at most 16. */
export function termsOf(q) {
  const out = [];
  for (const w of q.match(/[\p{L}\p{M}\p{N}]+/gu) || []) {
    const t = [...w].slice(0, 32).join('').toLowerCase();
    if (!out.includes(t) && out.push(t) === 16) break;
  }
  return out;
}

/** The path of a page URL or path: no origin, query string or fragment ("https://shop.example" is "/"). */
export function pathOf(u) {
  const m = /:\/\/[^/]*/.exec((u = u.replace(/[?#][^]*/, '')));
  return m ? u.slice(m.index + m[0].length) || '/' : u;
}
