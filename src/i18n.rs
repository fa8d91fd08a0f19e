//! Every string Vitrina shows a shopper, in one place. Adding a language is
//! adding one table here.

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
    ("panel-title", "Your data on this device"),
    ("panel-intro", "To suggest products you may like, this shop keeps a small record of what you do here, in this browser. This is all of it."),
    ("close", "Close"),
    ("interests", "What you seem to like"),
    ("recent", "Recently viewed"),
    ("your-likes", "Your likes"),
    ("none-yet", "Nothing yet."),
    ("more-n", "and {n} more"),
    ("sharing", "Sharing with the shop"),
    ("sending-on", "On: what you do here is also sent to the shop, under a random id and without cookies, to count likes and learn which products go together."),
    ("sending-off", "Off: nothing you do here leaves this device."),
    ("send-allow", "Allow sharing"),
    ("send-stop", "Stop sharing"),
    ("pause", "Pause personalization"),
    ("resume", "Resume personalization"),
    ("download", "Download my data"),
    ("erase", "Erase everything"),
    ("erased", "Everything was erased from this device."),
    ("kind-c", "Category"),
    ("kind-b", "Brand"),
    ("kind-p", "Price"),
    ("under", "under {a}"),
    ("over", "over {a}"),
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
    ("panel-title", "Tus datos en este dispositivo"),
    ("panel-intro", "Para sugerirte productos que te puedan gustar, esta tienda guarda un pequeño registro de lo que haces aquí, en este navegador. Esto es todo."),
    ("close", "Cerrar"),
    ("interests", "Lo que parece interesarte"),
    ("recent", "Vistos recientemente"),
    ("your-likes", "Tus me gusta"),
    ("none-yet", "Nada todavía."),
    ("more-n", "y {n} más"),
    ("sharing", "Compartir con la tienda"),
    ("sending-on", "Activado: lo que haces aquí también se envía a la tienda, con un identificador aleatorio y sin cookies, para contar los me gusta y aprender qué productos van juntos."),
    ("sending-off", "Desactivado: nada de lo que haces aquí sale de este dispositivo."),
    ("send-allow", "Permitir compartir"),
    ("send-stop", "Dejar de compartir"),
    ("pause", "Pausar la personalización"),
    ("resume", "Reanudar la personalización"),
    ("download", "Descargar mis datos"),
    ("erase", "Borrarlo todo"),
    ("erased", "Se ha borrado todo de este dispositivo."),
    ("kind-c", "Categoría"),
    ("kind-b", "Marca"),
    ("kind-p", "Precio"),
    ("under", "menos de {a}"),
    ("over", "más de {a}"),
    ("why-because-viewed", "Porque viste {x}"),
    ("why-similar-to", "Parecido a {x}"),
    ("why-goes-with", "Combina con {x}"),
    ("why-completes", "Completa tu {x}"),
    ("why-interest", "Popular en {x}"),
    ("why-trending", "En tendencia"),
    ("why-popular", "Popular ahora"),
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
    }
}
