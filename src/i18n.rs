//! Every string Vitrina shows a shopper, in one place, but for the texts of the
//! shopper's panel: those come with the panel, which is loaded on demand
//! (`www/src/panel-text.js`, same languages and placeholders). Adding a language
//! is adding one table here and one there.
//!
//! The tables are written as (key, text) pairs and packed at compile time into
//! one string of texts per language, in the order of the English table: the
//! wasm carries the texts without a table of pointers and without the keys, and
//! a language that lacks a key does not compile. A text is asked for by its
//! index in that order ([`key`], at compile time): the recommender's reasons,
//! and the JS's `v.t(i)` through `Core::text` (its named constants are in
//! `www/src/render.js`, which `scripts/build.mjs` checks against `EN`).

/// Languages with a table, by their primary subtag.
pub const LANGS: [&str; 2] = ["en", "es"];

const EN: &[(&str, &str)] = &[
    ("like", "Like"),
    ("liked", "Liked"),
    ("unliked", "Like removed"),
    ("likes", "likes"),
    ("viewed", "You viewed this"),
    ("viewed-times", "Viewed {n} times"),
    ("empty-recent", "Products you look at will show up here."),
    ("trending", "Trending"),
    ("bestseller", "Bestseller in {c}"),
    ("bought-n", "Bought {n} times"),
    ("carts-n", "In {n} carts"),
    ("views-n", "{n} views"),
    ("paused", "Personalization is paused."),
    ("panel-open", "Your data"),
    ("why-because-viewed", "Because you viewed {x}"),
    ("why-similar-to", "Similar to {x}"),
    ("why-goes-with", "Goes with {x}"),
    ("why-completes", "Completes your {x}"),
    ("why-interest", "Popular in {x}"),
    ("why-trending", "Trending now"),
    ("why-popular", "Popular right now"),
];

const ES: &[(&str, &str)] = &[
    ("like", "Me gusta"),
    ("liked", "Te gusta"),
    ("unliked", "Ya no te gusta"),
    ("likes", "me gusta"),
    ("viewed", "Lo has visto"),
    ("viewed-times", "Visto {n} veces"),
    ("empty-recent", "Aquí aparecerán los productos que mires."),
    ("trending", "Tendencia"),
    ("bestseller", "Lo más vendido en {c}"),
    ("bought-n", "Comprado {n} veces"),
    ("carts-n", "En {n} carritos"),
    ("views-n", "{n} visitas"),
    ("paused", "La personalización está en pausa."),
    ("panel-open", "Tus datos"),
    ("why-because-viewed", "Porque viste {x}"),
    ("why-similar-to", "Parecido a {x}"),
    ("why-goes-with", "Combina con {x}"),
    ("why-completes", "Completa tu {x}"),
    ("why-interest", "Popular en {x}"),
    ("why-trending", "En tendencia"),
    ("why-popular", "Popular ahora"),
];

/// Separates the entries of a packed string (no text contains it).
const SEP: u8 = 0;

/// The size of the packed string of the texts of `t`.
const fn packed_len(t: &[(&str, &str)]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < t.len() {
        n += t[i].1.len() + 1;
        i += 1;
    }
    n
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of `key` in `t` (a compile error, out of bounds, when `t` lacks it).
const fn index_in(t: &[(&str, &str)], key: &str) -> usize {
    let mut i = 0;
    while !same(t[i].0, key) {
        i += 1;
    }
    i
}

/// The index of the text `key` (the order of `EN`), as [`text_in`] takes it;
/// in a `const`, a key `EN` lacks does not compile.
pub const fn key(key: &str) -> usize {
    index_in(EN, key)
}

/// The texts of `t` in the order of the keys of `EN`, each followed by
/// [`SEP`]. Fails to compile when `t` lacks a key.
const fn pack<const N: usize>(t: &[(&str, &str)]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut o = 0;
    let mut k = 0;
    while k < EN.len() {
        let s = t[index_in(t, EN[k].0)].1.as_bytes();
        let mut j = 0;
        while j < s.len() {
            assert!(s[j] != SEP);
            out[o] = s[j];
            o += 1;
            j += 1;
        }
        out[o] = SEP;
        o += 1;
        k += 1;
    }
    out
}

/// A packed string as `&str` (it is the concatenation of `&str`s and ASCII NULs).
const fn text(b: &'static [u8]) -> &'static str {
    match core::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    }
}

/// The texts of each language of [`LANGS`], in the order of `EN`.
const TEXTS: [&str; 2] = [text(&pack::<{ packed_len(EN) }>(EN)), text(&pack::<{ packed_len(ES) }>(ES))];

/// The primary language subtag Vitrina will use for a page language such as
/// `es-ES` (English when there is no table for it).
pub fn pick(lang: &str) -> &'static str {
    LANGS[which(lang)]
}

/// [`pick`] as an index in [`LANGS`].
pub fn which(lang: &str) -> usize {
    // By plain loops (no closures over iterators in the wasm). The primary
    // subtag ends at the first '-' or '_'; its letters are compared in lower
    // case (`| 0x20` maps only `A`-`Z` onto the lower-case letters of
    // [`LANGS`], a test checks). English, the first, is also the default, so
    // only the others are compared.
    let b = lang.as_bytes();
    let mut end = 0;
    while end < b.len() && b[end] != b'-' && b[end] != b'_' {
        end += 1;
    }
    let mut k = LANGS.len();
    while k > 1 {
        k -= 1;
        let l = LANGS[k].as_bytes();
        let mut i = 0;
        while i < end && i < l.len() && b[i] | 0x20 == l[i] {
            i += 1;
        }
        if i == end && end == l.len() {
            return k;
        }
    }
    0
}

/// [`which`] as it was, the reference of a test.
#[cfg(test)]
fn old_which(lang: &str) -> usize {
    let b = lang.as_bytes();
    // The primary subtag, letters compared in lower case (`| 0x20` maps only
    // `A`-`Z` onto the lower-case letters of [`LANGS`], a test checks).
    let end = b.iter().position(|&c| c == b'-' || c == b'_').unwrap_or(b.len());
    for (k, l) in LANGS.iter().enumerate() {
        if end == l.len() && (0..end).all(|i| b[i] | 0x20 == l.as_bytes()[i]) {
            return k;
        }
    }
    0
}

/// The text for the key `key` in `lang` (as returned by [`pick`]); the key
/// itself when there is none. (By the key's name: for native callers and tests;
/// the wasm asks by index, [`text_in`].)
pub fn t<'a>(lang: &str, key: &'a str) -> &'a str {
    match EN.iter().position(|(k, _)| *k == key) {
        Some(i) => text_in(LANGS.iter().position(|l| *l == lang).unwrap_or(0), i),
        None => key,
    }
}

/// The text number `key` (a [`key`] result) in the language `lang`, an index
/// in [`LANGS`] (a [`which`] result); "" for a number with no text.
pub fn text_in(lang: usize, key: usize) -> &'static str {
    let texts = TEXTS[lang];
    let x = texts.as_bytes();
    let (mut k, mut from) = (0, 0);
    let mut i = 0;
    while i < x.len() {
        if x[i] == SEP {
            if k == key {
                return texts.get(from..i).unwrap_or("");
            }
            (k, from) = (k + 1, i + 1);
        }
        i += 1;
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_is_the_which_of_before() {
        let parts = ["", "e", "en", "es", "EN", "Es", "eS", "fr", "esp", "-", "_", "ES", "s", "n", "\u{e9}", "E", "-x", "e\u{0}"];
        let mut x: u64 = 5;
        let mut n = 0;
        for _ in 0..60_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut s = String::new();
            for k in 0..(x >> 60) as usize % 4 {
                s.push_str(parts[(x >> (6 * k + 8)) as usize % parts.len()]);
            }
            assert_eq!(which(&s), old_which(&s), "{s:?}");
            n += (which(&s) == 1) as u32;
        }
        assert!(n > 1000, "{n} Spanish cases");
    }

    /// The texts as they were shown before they were asked for by index (the
    /// keys as JS and the recommender named them), in the order of `EN`: what
    /// `www/src/render.js`'s constants (checked against `EN` by the build) and
    /// the recommender's `WHY` give.
    const BEFORE: [(&str, &str, &str); 21] = [
        ("like", "Like", "Me gusta"),
        ("liked", "Liked", "Te gusta"),
        ("unliked", "Like removed", "Ya no te gusta"),
        ("likes", "likes", "me gusta"),
        ("viewed", "You viewed this", "Lo has visto"),
        ("viewed-times", "Viewed {n} times", "Visto {n} veces"),
        ("empty-recent", "Products you look at will show up here.", "Aquí aparecerán los productos que mires."),
        ("trending", "Trending", "Tendencia"),
        ("bestseller", "Bestseller in {c}", "Lo más vendido en {c}"),
        ("bought-n", "Bought {n} times", "Comprado {n} veces"),
        ("carts-n", "In {n} carts", "En {n} carritos"),
        ("views-n", "{n} views", "{n} visitas"),
        ("paused", "Personalization is paused.", "La personalización está en pausa."),
        ("panel-open", "Your data", "Tus datos"),
        ("why-because-viewed", "Because you viewed {x}", "Porque viste {x}"),
        ("why-similar-to", "Similar to {x}", "Parecido a {x}"),
        ("why-goes-with", "Goes with {x}", "Combina con {x}"),
        ("why-completes", "Completes your {x}", "Completa tu {x}"),
        ("why-interest", "Popular in {x}", "Popular en {x}"),
        ("why-trending", "Trending now", "En tendencia"),
        ("why-popular", "Popular right now", "Popular ahora"),
    ];

    #[test]
    fn the_texts_by_index_are_those_of_before() {
        for (i, (k, en, es)) in BEFORE.into_iter().enumerate() {
            assert_eq!(key(k), i, "{k}");
            assert_eq!(text_in(0, i), en, "{k}");
            assert_eq!(text_in(1, i), es, "{k}");
            assert_eq!((t("en", k), t("es", k)), (en, es), "{k}");
        }
        assert_eq!(EN.len(), BEFORE.len());
    }

    #[test]
    fn every_language_has_every_key() {
        for (k, _) in EN {
            assert!(ES.iter().any(|(e, _)| e == k), "es lacks {k}");
        }
        assert_eq!(EN.len(), ES.len());
        // A translation keeps the placeholders ({n} a number, {c} a category,
        // {a} an amount) that the JS fills in.
        for (k, en) in EN {
            let es = t("es", k);
            for ph in ["{n}", "{c}", "{a}"] {
                assert_eq!(en.contains(ph), es.contains(ph), "{k}: placeholder {ph} in one language only");
            }
        }
        // Keys are unique, so no entry is shadowed by an earlier one.
        for (i, (k, _)) in EN.iter().enumerate() {
            assert!(!EN[..i].iter().any(|(e, _)| e == k), "duplicate key {k}");
        }
        assert_eq!(pick("es-ES"), "es");
        assert_eq!(pick("fr"), "en");
        assert_eq!(t("es", "like"), "Me gusta");
        assert_eq!(t("en", "like"), "Like");
        // The packed tables give back every text of the tables as written.
        for (lang, table) in [("en", EN), ("es", ES), ("fr", EN)] {
            for (k, v) in table {
                assert_eq!(t(lang, k), *v);
            }
        }
        assert_eq!(t("es", "no-such-key"), "no-such-key");
        assert_eq!(t("es", ""), "");
        // By index, in the order of `EN`; past the last, nothing.
        for (lang, table) in [(0, EN), (1, ES)] {
            for (k, v) in table {
                assert_eq!(text_in(lang, key(k)), *v);
            }
            assert_eq!(text_in(lang, EN.len()), "");
            assert_eq!(text_in(lang, usize::MAX), "");
        }
        assert_eq!(pick("ES_mx"), "es");
        assert_eq!(pick("En-GB"), "en");
        assert_eq!(pick(""), "en");
    }

    /// `pick` as it was (the standard library's case-insensitive comparison).
    fn old_pick(lang: &str) -> &'static str {
        let b = lang.as_bytes();
        let primary = &b[..b.iter().position(|&c| c == b'-' || c == b'_').unwrap_or(b.len())];
        LANGS.iter().copied().find(|l| primary.eq_ignore_ascii_case(l.as_bytes())).unwrap_or("en")
    }

    #[test]
    fn pick_is_the_pick_of_before() {
        for l in LANGS {
            assert!(l.bytes().all(|c| c.is_ascii_lowercase()), "{l}: `pick` compares lower-case letters");
        }
        // Every string of up to three of these characters, and longer ones.
        let chars = ["e", "E", "n", "N", "s", "S", "\u{65}", "-", "_", "@", "%", "\u{e9}", "\u{c9}", "0", "x", "\u{2d}", "E\u{301}", "\u{0}"];
        let mut n = 0;
        for a in chars {
            for b in chars {
                for c in chars.iter().chain(&[""]) {
                    for s in [[a, b, c].concat(), [a, b, c, "-ES"].concat(), [a, b].concat(), a.to_owned()] {
                        assert_eq!(pick(&s), old_pick(&s), "{s:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 20_000);
        for s in ["es-ES", "ES_mx", "En-GB", "en", "es", "fr", "esp", "e", "", "-es", "es-", "eS", "\u{ff45}s"] {
            assert_eq!(pick(s), old_pick(s), "{s:?}");
        }
    }
}
