use common::config::{ConfigError, Env, ServiceConfig};

use crate::limits::{Limits, SignupLimits};
use crate::password::{Cost, HashLimits};

/// The auth service's settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub service: ServiceConfig,
    /// `SCRYPT_LOG_N`: log2 of scrypt's cost N (default 15).
    pub cost: Cost,
    /// `SIGNIN_MAX_FAILURES_PER_ACCOUNT` (default 5), `SIGNIN_MAX_FAILURES_PER_ADDRESS`
    /// (default 30), `SIGNIN_WINDOW_SECONDS` (default 900).
    pub limits: Limits,
    /// `PASSWORD_HASH_CONCURRENCY`: hashes running at once (default: as many as fit in
    /// 128 MiB at the configured cost, 4 at log_n 15); `PASSWORD_HASH_QUEUE_SECONDS`: how
    /// long a request waits for a slot before a 503 (default 5).
    pub hashing: HashLimits,
    /// `SIGNUP_MAX_PER_ADDRESS` (default 10) sign-ups per client address per
    /// `SIGNUP_WINDOW_SECONDS` (default 3600).
    pub signup_limits: SignupLimits,
}

pub const DEFAULT_PORT: u16 = common::catalogue::AUTH.default_port;

impl AuthConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let log_n: u8 = env.parse_or("SCRYPT_LOG_N", Cost::default().log_n)?;
        if !(4..=20).contains(&log_n) {
            return Err(ConfigError::Invalid {
                name: "SCRYPT_LOG_N".into(),
                value: log_n.to_string(),
                reason: "must be between 4 and 20".into(),
            });
        }
        let cost = Cost { log_n };
        let hashing = HashLimits::for_cost(cost);
        let concurrency: usize = env.parse_or("PASSWORD_HASH_CONCURRENCY", hashing.concurrency)?;
        if !(1..=64).contains(&concurrency) {
            return Err(ConfigError::Invalid {
                name: "PASSWORD_HASH_CONCURRENCY".into(),
                value: concurrency.to_string(),
                reason: "must be between 1 and 64".into(),
            });
        }
        let signup = SignupLimits::default();
        let per_address = env.at_least_one_or("SIGNUP_MAX_PER_ADDRESS", signup.per_address)?;
        let defaults = Limits::default();
        Ok(Self {
            service: ServiceConfig::from_env(env, common::catalogue::AUTH.name, DEFAULT_PORT)?,
            cost,
            limits: Limits {
                per_account: env
                    .parse_or("SIGNIN_MAX_FAILURES_PER_ACCOUNT", defaults.per_account)?,
                per_address: env
                    .parse_or("SIGNIN_MAX_FAILURES_PER_ADDRESS", defaults.per_address)?,
                window: env.seconds_or("SIGNIN_WINDOW_SECONDS", defaults.window.as_secs())?,
            },
            hashing: HashLimits {
                concurrency,
                queue_wait: env
                    .seconds_or("PASSWORD_HASH_QUEUE_SECONDS", hashing.queue_wait.as_secs())?,
            },
            signup_limits: SignupLimits {
                per_address,
                window: env.seconds_or("SIGNUP_WINDOW_SECONDS", signup.window.as_secs())?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut pairs = vec![
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("JWT_KEY", "0123456789abcdef0123"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn hashing_and_signup_limits_have_memory_safe_defaults() {
        let config = AuthConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config.hashing.concurrency, 4);
        assert_eq!(config.hashing.queue_wait, Duration::from_secs(5));
        assert_eq!(config.signup_limits.per_address, 10);
        assert_eq!(config.signup_limits.window, Duration::from_secs(3600));
    }

    #[test]
    fn the_default_hashing_bound_follows_the_cost() {
        let config = AuthConfig::from_env(&env(&[("SCRYPT_LOG_N", "16")])).unwrap();
        assert_eq!(config.hashing.concurrency, 2);
    }

    #[test]
    fn hashing_and_signup_limits_are_read_from_the_environment() {
        let config = AuthConfig::from_env(&env(&[
            ("PASSWORD_HASH_CONCURRENCY", "2"),
            ("PASSWORD_HASH_QUEUE_SECONDS", "1"),
            ("SIGNUP_MAX_PER_ADDRESS", "3"),
            ("SIGNUP_WINDOW_SECONDS", "60"),
        ]))
        .unwrap();
        assert_eq!(config.hashing.concurrency, 2);
        assert_eq!(config.hashing.queue_wait, Duration::from_secs(1));
        assert_eq!(config.signup_limits.per_address, 3);
        assert_eq!(config.signup_limits.window, Duration::from_secs(60));
    }

    #[test]
    fn an_invalid_limit_names_its_variable() {
        for (name, value) in [
            ("PASSWORD_HASH_CONCURRENCY", "0"),
            ("PASSWORD_HASH_CONCURRENCY", "lots"),
            ("PASSWORD_HASH_QUEUE_SECONDS", "0"),
            ("SIGNUP_MAX_PER_ADDRESS", "0"),
            ("SIGNUP_WINDOW_SECONDS", "-1"),
        ] {
            let error = AuthConfig::from_env(&env(&[(name, value)])).unwrap_err();
            assert!(error.to_string().contains(name), "{name}={value}: {error}");
        }
    }
}
