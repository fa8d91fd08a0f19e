//! Rate limiting per client network (429 + Retry-After, readable cross-origin),
//! and that the client's address is kept nowhere.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use vitrina_server::RateLimit;

fn ip(a: u8, b: u8, c: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(127, a, b, c)))
}

#[tokio::test]
async fn a_network_over_its_rate_gets_429_with_retry_after() {
    let (srv, _dir) = start_with(|c| c.rate_limit = RateLimit { per_second: 0.5, burst: 3 }).await;
    let a = srv.local_addr();
    let post_from = |from: Option<IpAddr>, client_n: u8| async move {
        request_from(from, a, "POST", "/v1/collect", &[], &batch(client_n, vec![view(1, "A", "shoes")])).await
    };
    // The burst, from three addresses of one /24: they share a bucket.
    for (n, from) in [ip(0, 0, 1), ip(0, 0, 2), ip(0, 0, 99)].into_iter().enumerate() {
        assert_eq!(post_from(from, n as u8).await.status, 200);
    }
    let r = post_from(ip(0, 0, 200), 10).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("2"), "a token comes back every 2 s");
    assert!(r.json()["error"].as_str().unwrap().contains("retry after 2 s"), "{}", r.text());
    // Another /24 has its own bucket.
    assert_eq!(post_from(ip(0, 1, 1), 11).await.status, 200);
    // The refused batch was not stored.
    let events = stored_events(a).await;
    assert_eq!(events.len(), 4);
    assert!(!events.iter().any(|e| e["client"].as_str().unwrap().ends_with("0a")));
    // Other endpoints are not limited.
    assert_eq!(get(a, "/v1/popularity").await.status, 200);
    // After the wait, one more.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(post_from(ip(0, 0, 7), 12).await.status, 200);
    assert_eq!(post_from(ip(0, 0, 7), 13).await.status, 429);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn retry_after_is_readable_cross_origin() {
    let (srv, _dir) = start_with(|c| {
        c.origins = vec!["https://shop.example.com".into()];
        c.rate_limit = RateLimit { per_second: 1.0, burst: 1 };
    })
    .await;
    let a = srv.local_addr();
    let shop = [("Origin", "https://shop.example.com")];
    let r = request(a, "POST", "/v1/collect", &shop, &sample(1)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-expose-headers"), Some("Retry-After"));
    let r = request(a, "POST", "/v1/collect", &shop, &sample(1)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://shop.example.com"));
    assert_eq!(r.header("access-control-expose-headers"), Some("Retry-After"));
    assert_eq!(r.header("retry-after"), Some("1"));
    // Not for origins that are not allowed.
    let r = request(a, "POST", "/v1/collect", &[("Origin", "https://evil.example.net")], &sample(2)).await;
    assert_eq!(r.header("access-control-expose-headers"), None);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn the_default_limit_is_generous_and_0_disables_it() {
    // Default: 50/s with a burst of 200.
    let (srv, _dir) = start().await;
    let a = srv.local_addr();
    let statuses = burst(a, 400).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!((200..400).contains(&ok), "{ok} of 400 accepted at once");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429));
    srv.stop().await.unwrap();

    let (srv, _dir) = start_with(|c| c.rate_limit = RateLimit::OFF).await;
    let statuses = burst(srv.local_addr(), 400).await;
    assert!(statuses.iter().all(|s| *s == 200), "no limit: {statuses:?}");
    srv.stop().await.unwrap();
}

/// `n` small batches from 127.0.0.1, 8 at a time; their statuses.
async fn burst(a: std::net::SocketAddr, n: u32) -> Vec<u16> {
    let mut out = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                tokio::spawn(async move {
                    let mut e = view(1, "A", "shoes");
                    e.id = i as u64;
                    post(a, &batch(1, vec![e])).await.status
                })
            })
            .collect();
        for t in tasks {
            out.push(t.await.unwrap());
        }
    }
    out
}

#[tokio::test]
async fn client_addresses_are_stored_nowhere() {
    let (srv, dir) = start_with(|c| c.rate_limit = RateLimit { per_second: 1.0, burst: 2 }).await;
    let a = srv.local_addr();
    let from = ip(23, 45, 67);
    for n in 0..4 {
        request_from(from, a, "POST", "/v1/collect", &[], &sample(n)).await;
    }
    let stats = admin_get(a, "/v1/stats").await.text();
    srv.stop().await.unwrap();
    assert!(!stats.contains("127.23"), "{stats}");
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        for needle in [&b"127.23.45.67"[..], b"127.23.45", &[127, 23, 45, 67], &[127, 23, 45]] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds {needle:?}", entry.path().display());
        }
    }
}

#[tokio::test]
async fn behind_a_proxy_the_configured_header_names_the_client() {
    let (srv, _dir) = start_with(|c| {
        c.rate_limit = RateLimit { per_second: 0.1, burst: 1 };
        c.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let a = srv.local_addr();
    let post_as = |xff: &'static str, n: u8| async move {
        request(a, "POST", "/v1/collect", &[("X-Forwarded-For", xff)], &sample(n)).await.status
    };
    // One bucket per client network, though every request comes from the proxy.
    assert_eq!(post_as("198.51.100.7", 1).await, 200);
    assert_eq!(post_as("198.51.100.8", 2).await, 429, "same /24");
    assert_eq!(post_as("203.0.113.5", 3).await, 200);
    // The last address counts (the one the proxy added), not what the client claims.
    assert_eq!(post_as("192.0.2.1, 198.51.100.9", 4).await, 429);
    assert_eq!(post_as("2001:db8:1::5", 5).await, 200);
    assert_eq!(post_as("[2001:db8:1::6]:4431", 6).await, 429, "same /48, with a port");
    srv.stop().await.unwrap();

    // Without the option, the header is ignored: everyone shares the peer's bucket.
    let (srv, _dir) = start_with(|c| c.rate_limit = RateLimit { per_second: 0.1, burst: 1 }).await;
    let a = srv.local_addr();
    let r = request(a, "POST", "/v1/collect", &[("X-Forwarded-For", "198.51.100.7")], &sample(1)).await;
    assert_eq!(r.status, 200);
    let r = request(a, "POST", "/v1/collect", &[("X-Forwarded-For", "203.0.113.5")], &sample(2)).await;
    assert_eq!(r.status, 429);
    srv.stop().await.unwrap();
}
