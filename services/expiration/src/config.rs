use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = 3004;

/// Only the settings every service has (it serves nothing but health checks over HTTP).
pub fn from_env(env: &Env) -> Result<ServiceConfig, ConfigError> {
    ServiceConfig::from_env(env, "expiration", DEFAULT_PORT)
}
