//! Rate limiting of `POST /v1/collect` per client network, in memory only.
//!
//! A token bucket per **truncated** address: the /24 of an IPv4 address, the /48
//! of an IPv6 one (an IPv4-mapped IPv6 address counts as IPv4). The full address
//! is never kept: it is truncated before it is used as a key, the key lives only in
//! this process's memory, and nothing here logs or persists it (see
//! `docs/privacy.md`, "On the server"). Idle buckets are forgotten.
//!
//! Each request takes one token; a bucket holds at most `burst` tokens and gains
//! `per_second` tokens a second. A request that finds no token is answered 429 with
//! `Retry-After`: the whole seconds until a token is back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle ones are swept early (a sweep is O(n): it happens
/// every `SWEEP_EVERY`, or at most once a second while the map is this large).
const SWEEP_AT: usize = 65_536;
/// How often idle buckets are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Most buckets kept at once (about 15 MB); past it, a new network is let
/// through unlimited until a sweep makes room (a flood from that many networks
/// is a job for a firewall, and refusing legitimate newcomers would be worse).
const MAX_BUCKETS: usize = 1 << 18;

/// How many requests a client network may make.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second per network; 0 disables the limit.
    pub per_second: f64,
    /// Requests a network may make at once before the rate applies.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { per_second: 50.0, burst: 200 }
    }
}

impl RateLimit {
    /// No limit at all.
    pub const OFF: RateLimit = RateLimit { per_second: 0.0, burst: 0 };

    /// Whether requests are limited.
    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }
}

/// The key of a client network: the address with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetKey {
    /// The first three bytes of an IPv4 address (/24).
    V4([u8; 3]),
    /// The first six bytes of an IPv6 address (/48).
    V6([u8; 6]),
}

impl NetKey {
    /// Truncates `ip` to its network: /24 for IPv4, /48 for IPv6.
    pub fn of(ip: IpAddr) -> NetKey {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                NetKey::V4([o[0], o[1], o[2]])
            }
            IpAddr::V6(a) => {
                let o = a.octets();
                NetKey::V6([o[0], o[1], o[2], o[3], o[4], o[5]])
            }
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter: one token bucket per [`NetKey`].
pub struct Limiter {
    limit: RateLimit,
    state: Mutex<State>,
}

struct State {
    buckets: HashMap<NetKey, Bucket>,
    swept: Instant,
}

impl Limiter {
    /// A limiter with no buckets yet.
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter { limit, state: Mutex::new(State { buckets: HashMap::new(), swept: Instant::now() }) }
    }

    /// The limit in force.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token for a request from `ip`. `Err(wait)` when there is none:
    /// `wait` is how long until there is one.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(NetKey::of(ip), Instant::now())
    }

    /// [`Limiter::check`] with the key and the clock given (for tests).
    pub fn check_at(&self, key: NetKey, now: Instant) -> Result<(), Duration> {
        if !self.limit.enabled() {
            return Ok(());
        }
        let (rate, burst) = (self.limit.per_second, self.limit.burst.max(1) as f64);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let since = now.saturating_duration_since(st.swept);
        if since >= SWEEP_EVERY || (st.buckets.len() >= SWEEP_AT && since >= Duration::from_secs(1)) {
            st.swept = now;
            // A bucket that has refilled completely is the same as no bucket.
            st.buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
        }
        if st.buckets.len() >= MAX_BUCKETS && !st.buckets.contains_key(&key) {
            return Ok(());
        }
        let b = st.buckets.entry(key).or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// Networks currently tracked.
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).buckets.len()
    }
}

/// `Retry-After` seconds for a wait: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    s.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_truncated_to_their_network() {
        assert_eq!(NetKey::of(ip("203.0.113.77")), NetKey::V4([203, 0, 113]));
        assert_eq!(NetKey::of(ip("203.0.113.77")), NetKey::of(ip("203.0.113.1")));
        assert_ne!(NetKey::of(ip("203.0.113.77")), NetKey::of(ip("203.0.114.77")));
        assert_eq!(NetKey::of(ip("::ffff:203.0.113.9")), NetKey::V4([203, 0, 113]), "IPv4-mapped counts as IPv4");
        assert_eq!(NetKey::of(ip("2001:db8:abcd:12::1")), NetKey::V6([0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd]));
        assert_eq!(NetKey::of(ip("2001:db8:abcd:12::1")), NetKey::of(ip("2001:db8:abcd:ffff:1:2:3:4")));
        assert_ne!(NetKey::of(ip("2001:db8:abcd::1")), NetKey::of(ip("2001:db8:abce::1")));
    }

    #[test]
    fn the_burst_then_the_rate() {
        let l = Limiter::new(RateLimit { per_second: 10.0, burst: 5 });
        let k = NetKey::of(ip("192.0.2.1"));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.check_at(k, t0), Ok(()));
        }
        let wait = l.check_at(k, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Another network has its own bucket.
        assert_eq!(l.check_at(NetKey::of(ip("192.0.3.1")), t0), Ok(()));
        // After 0.1 s one token is back, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(l.check_at(k, t1), Ok(()));
        assert!(l.check_at(k, t1).is_err());
        // Idle for long: the bucket is full again (never above the burst).
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..5 {
            assert_eq!(l.check_at(k, t2), Ok(()));
        }
        assert!(l.check_at(k, t2).is_err());
    }

    #[test]
    fn slow_rates_give_long_retry_after_and_off_lets_everything_through() {
        let l = Limiter::new(RateLimit { per_second: 0.25, burst: 1 });
        let k = NetKey::of(ip("2001:db8::1"));
        let t0 = Instant::now();
        assert!(l.check_at(k, t0).is_ok());
        assert_eq!(retry_after_secs(l.check_at(k, t0).unwrap_err()), 4);
        let off = Limiter::new(RateLimit::OFF);
        for _ in 0..10_000 {
            assert!(off.check_at(k, t0).is_ok());
        }
        assert_eq!(off.tracked(), 0);
    }

    #[test]
    fn idle_networks_are_forgotten() {
        let l = Limiter::new(RateLimit { per_second: 100.0, burst: 10 });
        let t0 = Instant::now();
        for n in 0..100u8 {
            l.check_at(NetKey::V4([10, 0, n]), t0).unwrap();
        }
        assert_eq!(l.tracked(), 100);
        l.check_at(NetKey::V4([10, 1, 0]), t0 + SWEEP_EVERY).unwrap();
        assert_eq!(l.tracked(), 1, "refilled buckets are swept");
    }
}
