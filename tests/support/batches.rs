//! Batches shared by the codec tests, the wire-format document and the JS decoder's
//! fixtures (`examples/encode_fixture.rs`). Included with `#[path]`, so every user
//! sees the same events.
#![allow(dead_code)]

use vitrina::codec::Batch;
use vitrina::event::{Event, Kind, Line};

/// 2023-11-14T22:13:20Z, the base timestamp of every batch here.
pub const T: u64 = 1_700_000_000_000;
/// The high half of the event ids: random per page load in the browser.
pub const PAGE_LOAD: u64 = 0x1f3a_5c7e << 32;
/// The client id of the worked example: bytes 00 01 .. 0f, easy to spot in a dump.
pub const CLIENT: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn id(n: u64) -> u64 {
    PAGE_LOAD | n
}

/// The worked example of `docs/wire-format.md`: a page view, two product views of
/// the same item and a cart add.
pub fn worked_example() -> Batch {
    let view = |n, ts, dwell| Event {
        id: id(n),
        item: Some("SKU-000123".into()),
        category: Some("shoes/running".into()),
        brand: Some("Norte".into()),
        price: Some(8990),
        currency: Some("EUR".into()),
        dwell_ms: Some(dwell),
        ..Event::new(Kind::ProductView, ts)
    };
    let page = Event { id: id(1), url: Some("/shoes/".into()), ..Event::new(Kind::PageView, T) };
    let add = Event { qty: Some(1), dwell_ms: None, kind: Kind::CartAdd, ..view(4, T + 25_000, 0) };
    Batch {
        site: "demo".into(),
        client: CLIENT,
        session: 3,
        dropped: 0,
        events: vec![page, view(2, T + 1_500, 4_200), view(3, T + 20_000, 1_800), add],
    }
}

/// The standard sequence sizes are quoted for: 1 page view, 20 product views of
/// `SKU-000123` in `shoes/running` at 89.90 EUR, 3 cart adds, 1 purchase of 3 lines.
pub fn standard_sequence() -> Batch {
    let view = |n: u64| Event {
        id: id(n),
        item: Some("SKU-000123".into()),
        category: Some("shoes/running".into()),
        price: Some(8990),
        currency: Some("EUR".into()),
        dwell_ms: Some(2_500),
        ..Event::new(Kind::ProductView, T + n * 3_000)
    };
    let mut events = vec![Event { id: id(0), url: Some("/shop/".into()), ..Event::new(Kind::PageView, T) }];
    events.extend((1..=20).map(view));
    for n in 21..24 {
        events.push(Event { qty: Some(1), dwell_ms: None, kind: Kind::CartAdd, ..view(n) });
    }
    events.push(Event {
        id: id(24),
        order: Some("N-1".into()),
        price: Some(26_970),
        currency: Some("EUR".into()),
        lines: vec![
            Line { item: "SKU-000123".into(), qty: 1, price: Some(8_990) },
            Line { item: "SKU-000124".into(), qty: 2, price: Some(8_990) },
            Line { item: "SKU-000125".into(), qty: 1, price: None },
        ],
        ..Event::new(Kind::Purchase, T + 100_000)
    });
    Batch { site: "demo".into(), client: [0xab; 16], session: 3, dropped: 0, events }
}

/// Every kind and every field, odd values included: ids and timestamps that go
/// backwards or wrap, a negative price, Unicode and JSON-hostile strings, duplicate
/// prop keys, a line without a price, fields dropped after being inherited.
pub fn every_field() -> Batch {
    let mut events = Vec::new();
    let full = Event {
        id: u64::MAX,
        item: Some("a\"b\\c</script>".into()),
        category: Some("cañas/pesca".into()),
        brand: Some("Ñandú 😀".into()),
        price: Some(0),
        currency: Some("USD".into()),
        qty: Some(u32::MAX),
        url: Some("/x?q=1#y".into()),
        slot: Some("for-you".into()),
        rec: Some("r1".into()),
        dwell_ms: Some(0),
        order: Some("o-1".into()),
        lines: vec![
            Line { item: "a\"b\\c</script>".into(), qty: 1, price: Some(5) },
            Line { item: "line-2".into(), qty: 7, price: None },
            Line { item: "line-3".into(), qty: 1, price: Some(-3) },
        ],
        terms: vec!["trail".into(), "zapatilla".into(), "\u{1}\t\n".into()],
        name: Some("newsletter".into()),
        props: vec![("k".into(), "".into()), ("k".into(), "2".into()), ("__proto__".into(), "x".into())],
        ..Event::new(Kind::Custom, T + 9_999)
    };
    events.push(full.clone());
    for (n, k) in vitrina::event::Kind::ALL.iter().enumerate() {
        let n = n as u64;
        let mut e = Event {
            id: 1000 + n,
            item: Some("SKU-1".into()),
            category: Some("shoes/running".into()),
            price: Some(1_000_000_000 - n as i64),
            currency: Some("EUR".into()),
            ..Event::new(*k, T - n * 7)
        };
        match k {
            Kind::PageView => e.url = Some("/".into()),
            Kind::ProductView => e.dwell_ms = Some(86_400_000),
            Kind::Impression | Kind::RecClick => {
                e.slot = Some("similar".into());
                e.rec = Some("rec-42".into());
            }
            Kind::CartAdd | Kind::CartRemove => e.qty = Some(2),
            Kind::Purchase => {
                e.order = Some("N-2".into());
                e.lines = vec![Line { item: "SKU-1".into(), qty: 2, price: Some(1) }];
            }
            Kind::Search => {
                e.item = None;
                e.terms = vec!["shoe".into()];
            }
            Kind::Custom => {
                e.name = Some("n".into());
                e.props = vec![("a".into(), "b".into())];
            }
            _ => e.brand = Some("Norte".into()),
        }
        events.push(e);
    }
    // Inherit, then drop a field (no inherit), then inherit again from nothing.
    events.push(Event { id: 5, brand: Some("Norte".into()), ..Event::new(Kind::Like, 0) });
    events.push(Event { id: 4, item: Some("i".into()), ..Event::new(Kind::Like, u64::MAX) });
    events.push(Event { id: 0, ..Event::new(Kind::PageView, 1) });
    events.push(Event { id: 0, price: Some(i64::MAX), ..Event::new(Kind::PageView, 1) });
    events.push(Event { id: 1, price: Some(i64::MIN), ..Event::new(Kind::PageView, 1) });
    Batch { site: "tienda-ñ".into(), client: [0xff; 16], session: u32::MAX, dropped: 17, events }
}
