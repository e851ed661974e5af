//! Typed configuration from environment variables. Every variable is read once at start-up;
//! a missing or malformed one stops the service with a message that names it.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::bus::NatsUser;
use crate::db::DbConfig;
use crate::session::SessionKeys;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is required: {help}")]
    Missing { name: String, help: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

/// Where variables come from: the process environment, or a fixed map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    fixed: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self { fixed: None }
    }

    /// Exactly these variables and no others.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The raw value; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &str, help: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
            help: help.to_owned(),
        })
    }

    /// Parses the variable, or returns `default` when it is unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|err: T::Err| ConfigError::Invalid {
                    name: name.to_owned(),
                    value,
                    reason: err.to_string(),
                }),
        }
    }

    /// A boolean written as `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    name: name.to_owned(),
                    value,
                    reason: "expected true or false".to_owned(),
                }),
            },
        }
    }

    /// A whole number that must be at least one (a limit, a count).
    pub fn at_least_one_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialEq + From<u8>,
        T::Err: Display,
    {
        let value: T = self.parse_or(name, default)?;
        if value == T::from(0) {
            return Err(ConfigError::Invalid {
                name: name.to_owned(),
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(value)
    }

    /// A whole number of seconds that must be at least one.
    pub fn seconds_or(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(self.at_least_one_or(name, default)?))
    }
}

/// The limits every HTTP server shares (services, ingress, web server), from
/// `HTTP_HEADER_READ_TIMEOUT_SECONDS` (default 10), `HTTP_BODY_READ_TIMEOUT_SECONDS`
/// (default 30) and `HTTP_MAX_CONNECTIONS` (default 1024).
pub fn http_limits(env: &Env) -> Result<http_limits::HttpLimits, ConfigError> {
    http_limits::HttpLimits::from_lookup(|name| env.get(name)).map_err(|e| ConfigError::Invalid {
        name: e.name.to_owned(),
        value: e.value,
        reason: e.reason.to_owned(),
    })
}

/// What every backend service needs: where to listen, NATS, its database and the session key.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The service's name; also its durable consumer prefix and default database name.
    pub name: &'static str,
    pub host: IpAddr,
    /// `PORT`; 0 picks a free port (tests).
    pub port: u16,
    pub nats_url: String,
    /// `NATS_USER` (default the service's name) and `NATS_PASSWORD`: who the service signs in
    /// to NATS as; no sign-in without a password (a NATS server without users).
    pub nats_user: Option<NatsUser>,
    /// `NATS_STREAM_REPLICAS` (default 1): copies JetStream keeps of every event; 3 on a
    /// three-server cluster.
    pub nats_stream_replicas: usize,
    pub db: DbConfig,
    pub session: SessionKeys,
}

impl ServiceConfig {
    /// Reads `HOST`, `PORT`, `NATS_URL`, `SURREAL_*`, `JWT_KEY`, `SESSION_TTL_SECONDS` and
    /// `COOKIE_SECURE`.
    pub fn from_env(env: &Env, name: &'static str, default_port: u16) -> Result<Self, ConfigError> {
        Ok(Self {
            name,
            host: env.parse_or("HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env.parse_or("PORT", default_port)?,
            nats_url: env.required("NATS_URL", "the NATS server, e.g. nats://127.0.0.1:4222")?,
            nats_user: nats_user(env, name),
            nats_stream_replicas: match env.parse_or("NATS_STREAM_REPLICAS", 1_usize)? {
                replicas @ 1..=5 => replicas,
                other => {
                    return Err(ConfigError::Invalid {
                        name: "NATS_STREAM_REPLICAS".to_owned(),
                        value: other.to_string(),
                        reason: "must be between 1 and 5".to_owned(),
                    });
                }
            },
            db: DbConfig::from_env(env, name)?,
            session: session_keys_from_env(env)?,
        })
    }
}

/// `NATS_USER` (default `default_user`) with `NATS_PASSWORD`, when a password is set.
pub fn nats_user(env: &Env, default_user: &str) -> Option<NatsUser> {
    let password = env.get("NATS_PASSWORD")?;
    Some(NatsUser {
        name: env
            .get("NATS_USER")
            .unwrap_or_else(|| default_user.to_owned()),
        password,
    })
}

/// `JWT_KEY` (required, at least 16 bytes), `SESSION_TTL_SECONDS` (default one day) and
/// `COOKIE_SECURE` (default true).
pub fn session_keys_from_env(env: &Env) -> Result<SessionKeys, ConfigError> {
    let key = env.required(
        "JWT_KEY",
        "the secret that signs session tokens, shared by every service",
    )?;
    if key.len() < 16 {
        return Err(ConfigError::Invalid {
            name: "JWT_KEY".to_owned(),
            value: "<hidden>".to_owned(),
            reason: "must be at least 16 characters".to_owned(),
        });
    }
    let lifetime = env.seconds_or("SESSION_TTL_SECONDS", 24 * 60 * 60)?;
    let secure = env.flag_or("COOKIE_SECURE", true)?;
    Ok(SessionKeys::new(key.as_bytes(), lifetime, secure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("JWT_KEY", "0123456789abcdef0123"),
        ]
    }

    #[test]
    fn defaults_apply_when_only_required_variables_are_set() {
        let config = ServiceConfig::from_env(&Env::from_pairs(base()), "auth", 3001).unwrap();
        assert_eq!(config.port, 3001);
        assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(config.db.url, "surrealkv://data/auth");
        assert_eq!(config.db.database, "auth");
        assert_eq!(config.session.lifetime(), Duration::from_secs(86_400));
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = ServiceConfig::from_env(
            &Env::from_pairs([("JWT_KEY", "0123456789abcdef0123")]),
            "auth",
            3001,
        )
        .unwrap_err();
        assert!(err.to_string().contains("NATS_URL"), "{err}");
    }

    #[test]
    fn a_malformed_variable_is_named_with_its_value() {
        let mut vars = base();
        vars.push(("PORT", "eighty"));
        let err = ServiceConfig::from_env(&Env::from_pairs(vars), "auth", 3001).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name, value, .. } if name == "PORT" && value == "eighty")
        );
    }

    #[test]
    fn a_short_jwt_key_is_refused_without_showing_it() {
        let err = session_keys_from_env(&Env::from_pairs([("JWT_KEY", "short")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("JWT_KEY") && !text.contains("short"),
            "{text}"
        );
    }

    #[test]
    fn flags_accept_common_spellings() {
        let env = Env::from_pairs([("A", "off"), ("B", "YES"), ("C", "maybe")]);
        assert!(!env.flag_or("A", true).unwrap());
        assert!(env.flag_or("B", false).unwrap());
        assert!(env.flag_or("C", false).is_err());
        assert!(env.flag_or("D", true).unwrap());
    }

    #[test]
    fn zero_seconds_is_refused() {
        let env = Env::from_pairs([("ORDER_EXPIRATION_SECONDS", "0")]);
        assert!(env.seconds_or("ORDER_EXPIRATION_SECONDS", 900).is_err());
    }
}
