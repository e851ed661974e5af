use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = common::catalogue::EXPIRATION.default_port;

/// Only the settings every service has (it serves nothing but health checks over HTTP).
pub fn from_env(env: &Env) -> Result<ServiceConfig, ConfigError> {
    ServiceConfig::from_env(env, common::catalogue::EXPIRATION.name, DEFAULT_PORT)
}
