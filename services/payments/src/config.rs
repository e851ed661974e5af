use common::config::{ConfigError, Env, ServiceConfig};

use crate::gateway::stripe::DEFAULT_API_BASE;

pub const DEFAULT_PORT: u16 = common::catalogue::PAYMENTS.default_port;

/// Who takes the payments.
#[derive(Clone, PartialEq, Eq)]
pub enum GatewayConfig {
    /// `STRIPE_KEY` (and `STRIPE_API_BASE`, default `https://api.stripe.com`).
    Stripe {
        secret_key: String,
        api_base: String,
    },
    /// `PAYMENTS_SANDBOX=true` without `STRIPE_KEY`: the built-in sandbox, no real money.
    Sandbox,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stripe { api_base, .. } => f
                .debug_struct("Stripe")
                .field("api_base", api_base)
                .finish_non_exhaustive(),
            Self::Sandbox => f.write_str("Sandbox"),
        }
    }
}

/// The payments service's settings.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    pub service: ServiceConfig,
    pub gateway: GatewayConfig,
    /// `PAYMENT_CLAIM_STALE_SECONDS` (default 120): after this long without news, an attempt
    /// whose worker went quiet (its instance crashed) or whose outcome is unknown is
    /// reconciled with the provider by the sweeper.
    pub claim_stale_secs: i64,
}

impl PaymentsConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let sandbox = env.flag_or("PAYMENTS_SANDBOX", false)?;
        let gateway = match env.get("STRIPE_KEY") {
            Some(key) if !(key.starts_with("sk_") || key.starts_with("rk_")) => {
                return Err(ConfigError::Invalid {
                    name: "STRIPE_KEY".into(),
                    value: "<hidden>".into(),
                    reason: "expected a Stripe secret key (sk_… or rk_…)".into(),
                });
            }
            Some(secret_key) => GatewayConfig::Stripe {
                secret_key,
                api_base: env
                    .get("STRIPE_API_BASE")
                    .unwrap_or_else(|| DEFAULT_API_BASE.to_owned()),
            },
            // Never silently: a deployment that lost its secret must not give tickets away.
            None if sandbox => GatewayConfig::Sandbox,
            None => {
                return Err(ConfigError::Missing {
                    name: "STRIPE_KEY".into(),
                    help: "the Stripe secret key (sk_…); to take payments with the built-in \
                           sandbox instead (no real money), set PAYMENTS_SANDBOX=true"
                        .into(),
                });
            }
        };
        Ok(Self {
            service: ServiceConfig::from_env(env, common::catalogue::PAYMENTS.name, DEFAULT_PORT)?,
            gateway,
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
    fn without_a_stripe_key_the_service_refuses_to_start_unless_the_sandbox_is_asked_for() {
        let err = PaymentsConfig::from_env(&env(&[])).unwrap_err();
        assert!(err.to_string().contains("STRIPE_KEY"), "{err}");
        assert!(err.to_string().contains("PAYMENTS_SANDBOX"), "{err}");
        let err = PaymentsConfig::from_env(&env(&[("PAYMENTS_SANDBOX", "false")])).unwrap_err();
        assert!(err.to_string().contains("STRIPE_KEY"), "{err}");
        let config = PaymentsConfig::from_env(&env(&[("PAYMENTS_SANDBOX", "true")])).unwrap();
        assert_eq!(config.gateway, GatewayConfig::Sandbox);
    }

    #[test]
    fn a_stripe_key_wins_over_the_sandbox_and_defaults_to_stripes_address() {
        let config = PaymentsConfig::from_env(&env(&[
            ("STRIPE_KEY", "sk_test_123"),
            ("PAYMENTS_SANDBOX", "true"),
        ]))
        .unwrap();
        assert_eq!(
            config.gateway,
            GatewayConfig::Stripe {
                secret_key: "sk_test_123".into(),
                api_base: "https://api.stripe.com".into()
            }
        );
        assert!(!format!("{config:?}").contains("sk_test_123"));
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
