use std::time::Duration;

use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = 3003;

/// The orders service's settings.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    pub service: ServiceConfig,
    /// `ORDER_EXPIRATION_SECONDS` (default 900): how long a buyer has to pay.
    pub window: Duration,
}

impl OrdersConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env(env, "orders", DEFAULT_PORT)?,
            window: env.seconds_or("ORDER_EXPIRATION_SECONDS", 900)?,
        })
    }
}
