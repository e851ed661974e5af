use common::config::{ConfigError, Env, ServiceConfig};

use crate::limits::Limits;
use crate::password::Cost;

/// The auth service's settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub service: ServiceConfig,
    /// `SCRYPT_LOG_N`: log2 of scrypt's cost N (default 15).
    pub cost: Cost,
    /// `SIGNIN_MAX_FAILURES_PER_ACCOUNT` (default 5), `SIGNIN_MAX_FAILURES_PER_ADDRESS`
    /// (default 30), `SIGNIN_WINDOW_SECONDS` (default 900).
    pub limits: Limits,
}

pub const DEFAULT_PORT: u16 = 3001;

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
        let defaults = Limits::default();
        Ok(Self {
            service: ServiceConfig::from_env(env, "auth", DEFAULT_PORT)?,
            cost: Cost { log_n },
            limits: Limits {
                per_account: env
                    .parse_or("SIGNIN_MAX_FAILURES_PER_ACCOUNT", defaults.per_account)?,
                per_address: env
                    .parse_or("SIGNIN_MAX_FAILURES_PER_ADDRESS", defaults.per_address)?,
                window: env.seconds_or("SIGNIN_WINDOW_SECONDS", defaults.window.as_secs())?,
            },
        })
    }
}
