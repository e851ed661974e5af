//! Sign-in throttling: after too many failed attempts on one account, or from one client
//! address, within a window, further attempts get 429 until the window has passed.
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
    started: Instant,
}

#[derive(Debug, Clone)]
pub struct Limiter {
    limits: Limits,
    windows: Arc<Mutex<HashMap<String, Window>>>,
}

/// One sign-in attempt that passed the limiter; report how it went.
pub struct Attempt {
    limiter: Limiter,
    account: String,
    address: String,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Refuses the attempt when the account or the address is over its limit.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<Attempt, AuthError> {
        let account = format!("account:{email}");
        let address = format!(
            "address:{}",
            address.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
        );
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, w| now.duration_since(w.started) < self.limits.window);
        }
        for (key, limit) in [
            (&account, self.limits.per_account),
            (&address, self.limits.per_address),
        ] {
            if let Some(window) = windows.get(key) {
                let age = now.duration_since(window.started);
                if age < self.limits.window && window.failures >= limit {
                    let retry_after_secs = (self.limits.window - age).as_secs().max(1);
                    tracing::warn!(key = %key, "sign-in throttled");
                    return Err(AuthError::TooManyAttempts { retry_after_secs });
                }
            }
        }
        Ok(Attempt {
            limiter: self.clone(),
            account,
            address,
        })
    }

    fn record_failure(&self, key: &str) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(key.to_owned()).or_insert(Window {
            failures: 0,
            started: now,
        });
        if now.duration_since(window.started) >= self.limits.window {
            *window = Window {
                failures: 0,
                started: now,
            };
        }
        window.failures += 1;
    }
}

impl Attempt {
    pub fn failed(self) {
        self.limiter.record_failure(&self.account);
        self.limiter.record_failure(&self.address);
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(self) {
        let mut windows = self
            .limiter
            .windows
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        windows.remove(&self.account);
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
}
