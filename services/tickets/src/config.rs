use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = common::catalogue::TICKETS.default_port;

/// How many tickets one user may list per rolling hour unless `MAX_LISTINGS_PER_HOUR` says
/// otherwise.
pub const DEFAULT_MAX_LISTINGS_PER_HOUR: u32 = 20;

/// The tickets service's settings.
#[derive(Debug, Clone)]
pub struct TicketsConfig {
    pub service: ServiceConfig,
    /// `MAX_LISTINGS_PER_HOUR` (default 20, at least 1): how many tickets one user may list
    /// in any hour; the next listing is refused with 429 and `Retry-After`.
    pub max_listings_per_hour: u32,
    /// How long an instance keeps its serialised ticket list before reading it again
    /// ([`crate::listing::MAX_AGE`]; not a variable: tests lengthen it to see that events
    /// alone keep the list current).
    pub listing_max_age: std::time::Duration,
}

impl TicketsConfig {
    /// Every service's settings and `MAX_LISTINGS_PER_HOUR`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env(env, common::catalogue::TICKETS.name, DEFAULT_PORT)?,
            max_listings_per_hour: env
                .at_least_one_or("MAX_LISTINGS_PER_HOUR", DEFAULT_MAX_LISTINGS_PER_HOUR)?,
            listing_max_age: crate::listing::MAX_AGE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("JWT_KEY", "0123456789abcdef0123"),
        ];
        vars.extend_from_slice(extra);
        Env::from_pairs(vars)
    }

    #[test]
    fn a_user_may_list_twenty_tickets_an_hour_by_default() {
        assert_eq!(
            TicketsConfig::from_env(&env(&[]))
                .unwrap()
                .max_listings_per_hour,
            20
        );
    }

    #[test]
    fn the_listing_limit_is_read_from_the_environment() {
        let config = TicketsConfig::from_env(&env(&[("MAX_LISTINGS_PER_HOUR", "3")])).unwrap();
        assert_eq!(config.max_listings_per_hour, 3);
    }

    #[test]
    fn a_listing_limit_of_zero_or_garbage_is_refused_by_name() {
        for value in ["0", "many"] {
            let err =
                TicketsConfig::from_env(&env(&[("MAX_LISTINGS_PER_HOUR", value)])).unwrap_err();
            assert!(err.to_string().contains("MAX_LISTINGS_PER_HOUR"), "{err}");
        }
    }
}
