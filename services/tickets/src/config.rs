use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = 3002;

/// The tickets service needs only the settings every service has.
pub fn from_env(env: &Env) -> Result<ServiceConfig, ConfigError> {
    ServiceConfig::from_env(env, "tickets", DEFAULT_PORT)
}
