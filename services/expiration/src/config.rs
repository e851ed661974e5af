use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = common::catalogue::EXPIRATION.default_port;

/// The expiration service's settings: only those every service has (it serves nothing but
/// health checks over HTTP).
#[derive(Debug, Clone)]
pub struct ExpirationConfig {
    pub service: ServiceConfig,
}

impl ExpirationConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env(
                env,
                common::catalogue::EXPIRATION.name,
                DEFAULT_PORT,
            )?,
        })
    }
}
