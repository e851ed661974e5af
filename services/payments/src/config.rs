use common::config::{ConfigError, Env, ServiceConfig};

use crate::gateway::stripe::DEFAULT_API_BASE;

pub const DEFAULT_PORT: u16 = 3005;

/// The payments service's settings.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    pub service: ServiceConfig,
    /// `STRIPE_KEY`: Stripe's secret key; without it the built-in sandbox takes payments.
    pub stripe_key: Option<String>,
    /// `STRIPE_API_BASE` (default `https://api.stripe.com`).
    pub stripe_api_base: String,
    /// `PAYMENT_CLAIM_STALE_SECONDS` (default 120): after this long, a charge whose request
    /// never finished (its instance crashed) may be retried, with the same idempotency key.
    pub claim_stale_secs: i64,
}

impl PaymentsConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let stripe_key = env.get("STRIPE_KEY");
        if let Some(key) = &stripe_key
            && !(key.starts_with("sk_") || key.starts_with("rk_"))
        {
            return Err(ConfigError::Invalid {
                name: "STRIPE_KEY".into(),
                value: "<hidden>".into(),
                reason: "expected a Stripe secret key (sk_… or rk_…)".into(),
            });
        }
        Ok(Self {
            service: ServiceConfig::from_env(env, "payments", DEFAULT_PORT)?,
            stripe_key,
            stripe_api_base: env
                .get("STRIPE_API_BASE")
                .unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            claim_stale_secs: env
                .seconds_or("PAYMENT_CLAIM_STALE_SECONDS", 120)?
                .as_secs() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![
            ("NATS_URL", "nats://x:4222"),
            ("JWT_KEY", "0123456789abcdef0123"),
        ];
        vars.extend_from_slice(extra);
        Env::from_pairs(vars)
    }

    #[test]
    fn the_sandbox_is_the_default() {
        let config = PaymentsConfig::from_env(&env(&[])).unwrap();
        assert!(config.stripe_key.is_none());
        assert_eq!(config.stripe_api_base, "https://api.stripe.com");
    }

    #[test]
    fn a_stripe_key_must_look_like_one_and_is_never_shown() {
        let err = PaymentsConfig::from_env(&env(&[("STRIPE_KEY", "pk_live_oops")])).unwrap_err();
        assert!(
            err.to_string().contains("STRIPE_KEY") && !err.to_string().contains("pk_live_oops")
        );
        assert!(PaymentsConfig::from_env(&env(&[("STRIPE_KEY", "sk_test_123")])).is_ok());
    }
}
