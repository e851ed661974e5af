use std::time::Duration;

use common::config::{ConfigError, Env, ServiceConfig};

pub const DEFAULT_PORT: u16 = common::catalogue::ORDERS.default_port;

/// How many open orders a buyer may hold unless `MAX_OPEN_ORDERS_PER_USER` says otherwise.
pub const DEFAULT_MAX_OPEN_ORDERS: u32 = 5;

/// The orders service's settings.
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    pub service: ServiceConfig,
    /// `ORDER_EXPIRATION_SECONDS` (default 900): how long a buyer has to pay.
    pub window: Duration,
    /// `MAX_OPEN_ORDERS_PER_USER` (default 5, at least 1): how many orders one buyer may have
    /// open (created or awaiting payment) at once; the next one is refused with 429, so that
    /// one account cannot hold every ticket reserved.
    pub max_open_orders: u32,
}

impl OrdersConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            service: ServiceConfig::from_env(env, common::catalogue::ORDERS.name, DEFAULT_PORT)?,
            window: env.seconds_or("ORDER_EXPIRATION_SECONDS", 900)?,
            max_open_orders: env
                .at_least_one_or("MAX_OPEN_ORDERS_PER_USER", DEFAULT_MAX_OPEN_ORDERS)?,
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
    fn a_buyer_may_hold_five_open_orders_by_default() {
        let config = OrdersConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config.max_open_orders, 5);
    }

    #[test]
    fn the_open_order_limit_is_read_from_the_environment() {
        let config = OrdersConfig::from_env(&env(&[("MAX_OPEN_ORDERS_PER_USER", "2")])).unwrap();
        assert_eq!(config.max_open_orders, 2);
    }

    #[test]
    fn an_open_order_limit_of_zero_is_refused_by_name() {
        let err = OrdersConfig::from_env(&env(&[("MAX_OPEN_ORDERS_PER_USER", "0")])).unwrap_err();
        assert!(
            err.to_string().contains("MAX_OPEN_ORDERS_PER_USER"),
            "{err}"
        );
    }
}
