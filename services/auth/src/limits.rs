//! Sign-in throttling: after too many failed attempts on one account, or from one client
//! address, within a window, further attempts get 429 until the window has passed. An
//! attempt holds its place in both budgets while its password is verified, so a burst of
//! parallel guesses verifies at most the budget's worth.
//!
//! Sign-up throttling: at most so many sign-ups per client address and window.
//!
//! Counters live in memory, per instance: with N instances an attacker gets at most N times
//! the limit, which still stops guessing at scale.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::AuthError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 30,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    failures: u32,
    /// Attempts let through and still being verified: they count against the limit until
    /// they turn into a failure or a success, so parallel guesses cannot all get through
    /// before the first failure is counted.
    pending: u32,
    started: Instant,
}

impl Window {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            pending: 0,
            started: now,
        }
    }

    /// Starts a fresh window once this one has passed; pending attempts carry over.
    fn roll(&mut self, now: Instant, length: Duration) {
        if now.duration_since(self.started) >= length {
            self.failures = 0;
            self.started = now;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Limiter {
    limits: Limits,
    windows: Arc<Mutex<HashMap<String, Window>>>,
}

/// One sign-in attempt that passed the limiter and holds a place in its budgets until it
/// reports how it went. Dropped without a report (an internal error, a client that hung
/// up), it gives its place back without counting as a failure.
pub struct Attempt {
    limiter: Limiter,
    account: String,
    address: String,
    reported: bool,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses the attempt when the account or the address has no attempt left (counting
    /// those still being verified); otherwise reserves one in both.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<Attempt, AuthError> {
        let account = format!("account:{email}");
        let address = format!(
            "address:{}",
            address.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
        );
        let now = Instant::now();
        let length = self.limits.window;
        let mut windows = self.windows();
        if windows.len() > 100_000 {
            windows.retain(|_, w| w.pending > 0 || now.duration_since(w.started) < length);
        }
        for (key, limit) in [
            (&account, self.limits.per_account),
            (&address, self.limits.per_address),
        ] {
            if let Some(window) = windows.get_mut(key) {
                window.roll(now, length);
                if window.failures + window.pending >= limit {
                    // Over on failures: wait for the window. Full only of attempts still
                    // running: they end in moments.
                    let retry_after_secs = if window.failures >= limit {
                        (length - now.duration_since(window.started))
                            .as_secs()
                            .max(1)
                    } else {
                        1
                    };
                    tracing::warn!(key = %key, "sign-in throttled");
                    return Err(AuthError::TooManyAttempts { retry_after_secs });
                }
            }
        }
        for key in [&account, &address] {
            windows
                .entry(key.clone())
                .or_insert_with(|| Window::new(now))
                .pending += 1;
        }
        Ok(Attempt {
            limiter: self.clone(),
            account,
            address,
            reported: false,
        })
    }

    /// Ends one pending attempt on `key`, counting it as a failure or not.
    fn settle(&self, windows: &mut HashMap<String, Window>, key: &str, failed: bool) {
        let now = Instant::now();
        if let Some(window) = windows.get_mut(key) {
            window.pending = window.pending.saturating_sub(1);
            window.roll(now, self.limits.window);
            if failed {
                window.failures += 1;
            }
        }
    }
}

impl Attempt {
    pub fn failed(mut self) {
        self.reported = true;
        let mut windows = self.limiter.windows();
        self.limiter.settle(&mut windows, &self.account, true);
        self.limiter.settle(&mut windows, &self.address, true);
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(mut self) {
        self.reported = true;
        let mut windows = self.limiter.windows();
        self.limiter.settle(&mut windows, &self.account, false);
        self.limiter.settle(&mut windows, &self.address, false);
        if let Some(window) = windows.get_mut(&self.account) {
            window.failures = 0;
            if window.pending == 0 {
                windows.remove(&self.account);
            }
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.reported {
            let mut windows = self.limiter.windows();
            self.limiter.settle(&mut windows, &self.account, false);
            self.limiter.settle(&mut windows, &self.address, false);
        }
    }
}

/// How many sign-ups one client address may make per window.
#[derive(Debug, Clone, Copy)]
pub struct SignupLimits {
    pub per_address: u32,
    pub window: Duration,
}

impl Default for SignupLimits {
    fn default() -> Self {
        Self {
            per_address: 10,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Sign-up throttling per client address: each sign-up that gets as far as hashing counts,
/// whether or not it then succeeds, so anonymous bursts cannot keep the hashers busy.
#[derive(Debug, Clone)]
pub struct SignupLimiter {
    limits: SignupLimits,
    windows: Arc<Mutex<HashMap<IpAddr, (u32, Instant)>>>,
}

/// The address every request without one shares.
const UNKNOWN_ADDRESS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl SignupLimiter {
    pub fn new(limits: SignupLimits) -> Self {
        Self {
            limits,
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one sign-up from `address`, or refuses it when the address has used its
    /// sign-ups for this window.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), AuthError> {
        let address = address.unwrap_or(UNKNOWN_ADDRESS);
        let now = Instant::now();
        let length = self.limits.window;
        let mut windows = self.windows();
        if windows.len() > 100_000 {
            windows.retain(|_, (_, started)| now.duration_since(*started) < length);
        }
        let (count, started) = windows.entry(address).or_insert((0, now));
        if now.duration_since(*started) >= length {
            (*count, *started) = (0, now);
        }
        if *count >= self.limits.per_address {
            let retry_after_secs = (length - now.duration_since(*started)).as_secs().max(1);
            tracing::warn!(%address, "sign-up throttled");
            return Err(AuthError::TooManySignups { retry_after_secs });
        }
        *count += 1;
        Ok(())
    }

    /// Gives back a sign-up that was refused for reasons of ours (every hasher busy).
    pub fn refund(&self, address: Option<IpAddr>) {
        let address = address.unwrap_or(UNKNOWN_ADDRESS);
        if let Some((count, _)) = self.windows().get_mut(&address) {
            *count = count.saturating_sub(1);
        }
    }
}

/// The client's address: `X-Real-IP` as set by the ingress in front of every service, else
/// the peer address of the connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(forwarded.or(peer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(Limits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn an_account_is_throttled_after_its_failures() {
        let limiter = limiter();
        for _ in 0..3 {
            limiter.check("a@b.co", ip(1)).unwrap().failed();
        }
        assert!(matches!(
            limiter.check("a@b.co", ip(2)),
            Err(AuthError::TooManyAttempts { .. })
        ));
        assert!(limiter.check("other@b.co", ip(2)).is_ok());
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let limiter = limiter();
        for i in 0..5 {
            limiter
                .check(&format!("u{i}@b.co"), ip(1))
                .unwrap()
                .failed();
        }
        assert!(limiter.check("fresh@b.co", ip(1)).is_err());
        assert!(limiter.check("fresh@b.co", ip(9)).is_ok());
    }

    #[test]
    fn a_success_clears_the_account() {
        let limiter = limiter();
        for _ in 0..2 {
            limiter.check("a@b.co", ip(1)).unwrap().failed();
        }
        limiter.check("a@b.co", ip(1)).unwrap().succeeded();
        for _ in 0..2 {
            limiter.check("a@b.co", ip(1)).unwrap().failed();
        }
        assert!(limiter.check("a@b.co", ip(1)).is_ok());
    }

    #[test]
    fn the_window_ends() {
        let limiter = Limiter::new(Limits {
            per_account: 1,
            per_address: 10,
            window: Duration::from_millis(30),
        });
        limiter.check("a@b.co", ip(1)).unwrap().failed();
        assert!(limiter.check("a@b.co", ip(1)).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.check("a@b.co", ip(1)).is_ok());
    }

    #[test]
    fn attempts_being_verified_count_against_the_budget() {
        let limiter = limiter();
        let running: Vec<_> = (0..3)
            .map(|_| limiter.check("a@b.co", ip(1)).unwrap())
            .collect();
        let refused = limiter.check("a@b.co", ip(2));
        assert!(matches!(
            refused,
            Err(AuthError::TooManyAttempts {
                retry_after_secs: 1
            })
        ));
        for attempt in running {
            attempt.failed();
        }
        assert!(matches!(
            limiter.check("a@b.co", ip(2)),
            Err(AuthError::TooManyAttempts { retry_after_secs }) if retry_after_secs > 1
        ));
    }

    #[test]
    fn an_attempt_dropped_without_a_result_gives_its_place_back() {
        let limiter = limiter();
        for _ in 0..10 {
            drop(limiter.check("a@b.co", ip(1)).unwrap());
        }
        assert!(limiter.check("a@b.co", ip(1)).is_ok());
    }

    #[test]
    fn a_success_keeps_the_places_of_attempts_still_running() {
        let limiter = limiter();
        let first = limiter.check("a@b.co", ip(1)).unwrap();
        let second = limiter.check("a@b.co", ip(1)).unwrap();
        first.succeeded();
        let third = limiter.check("a@b.co", ip(1)).unwrap();
        let _fourth = limiter.check("a@b.co", ip(1)).unwrap();
        assert!(
            limiter.check("a@b.co", ip(1)).is_err(),
            "second, third and fourth run"
        );
        second.failed();
        third.failed();
        assert!(limiter.check("a@b.co", ip(1)).is_err());
    }

    #[test]
    fn signups_are_limited_per_address() {
        let limiter = SignupLimiter::new(SignupLimits {
            per_address: 2,
            window: Duration::from_secs(60),
        });
        limiter.check(ip(1)).unwrap();
        limiter.check(ip(1)).unwrap();
        assert!(matches!(
            limiter.check(ip(1)),
            Err(AuthError::TooManySignups { retry_after_secs }) if retry_after_secs > 1
        ));
        assert!(limiter.check(ip(2)).is_ok());
        limiter.refund(ip(1));
        assert!(limiter.check(ip(1)).is_ok());
    }
}
