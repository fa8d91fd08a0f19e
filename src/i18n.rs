//! Every string Vitrina shows a shopper, in one place. Adding a language is
//! adding one table here.

/// Languages with a table, by their primary subtag.
pub const LANGS: [&str; 2] = ["en", "es"];

const EN: &[(&str, &str)] = &[
    ("like", "Like"),
    ("liked", "Liked"),
    ("likes", "likes"),
    ("viewed", "You viewed this"),
    ("viewed-times", "Viewed {n} times"),
    ("empty-recent", "Products you look at will show up here."),
];

const ES: &[(&str, &str)] = &[
    ("like", "Me gusta"),
    ("liked", "Te gusta"),
    ("likes", "me gusta"),
    ("viewed", "Lo has visto"),
    ("viewed-times", "Visto {n} veces"),
    ("empty-recent", "Aquí aparecerán los productos que mires."),
];

/// The primary language subtag Vitrina will use for a page language such as
/// `es-ES` (English when there is no table for it).
pub fn pick(lang: &str) -> &'static str {
    let primary = lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LANGS.iter().copied().find(|l| *l == primary).unwrap_or("en")
}

/// The text for `key` in `lang` (as returned by [`pick`]); English, then the key
/// itself, when missing.
pub fn t<'a>(lang: &str, key: &'a str) -> &'a str {
    let table = if lang == "es" { ES } else { EN };
    table
        .iter()
        .chain(EN)
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        for (k, _) in EN {
            assert!(ES.iter().any(|(e, _)| e == k), "es lacks {k}");
        }
        assert_eq!(EN.len(), ES.len());
        assert_eq!(pick("es-ES"), "es");
        assert_eq!(pick("fr"), "en");
        assert_eq!(t("es", "like"), "Me gusta");
        assert_eq!(t("en", "like"), "Like");
    }
}
