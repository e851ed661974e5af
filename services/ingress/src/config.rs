use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use common::config::{self, ConfigError, Env};
use common::http::HttpLimits;
use hyper::Uri;

use crate::routes;

/// The ingress's settings.
#[derive(Debug, Clone)]
pub struct IngressConfig {
    pub host: IpAddr,
    /// `PORT`, default 8080.
    pub port: u16,
    /// `UPSTREAM_<SERVICE>`: comma-separated base URLs of each service's instances, e.g.
    /// `UPSTREAM_TICKETS=http://127.0.0.1:3002,http://127.0.0.1:3012`. A service without
    /// one answers 502.
    pub upstreams: HashMap<&'static str, Vec<Uri>>,
    /// `UPSTREAM_TIMEOUT_SECONDS`, default 30: longest wait for an upstream's answer.
    pub timeout: Duration,
    /// `TRUSTED_PROXIES`, default `127.0.0.1,::1`: peers whose `X-Forwarded-For` is believed
    /// (the web server forwarding a browser's address when it renders a page).
    pub trusted_proxies: Vec<IpAddr>,
    /// `HTTP_HEADER_READ_TIMEOUT_SECONDS`, `HTTP_BODY_READ_TIMEOUT_SECONDS`,
    /// `HTTP_MAX_CONNECTIONS`: read timeouts and the connection cap, as every server has.
    pub http_limits: HttpLimits,
    /// `METRICS_PORT`: where `/metrics` is served, on `host`; none when unset. Never on
    /// `port`, which faces the public (the ingress answers `/metrics` there with 404).
    pub metrics_port: Option<u16>,
}

pub const DEFAULT_PORT: u16 = common::catalogue::INGRESS_DEFAULT_PORT;

pub use common::catalogue::upstream_variable;

impl IngressConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut upstreams = HashMap::new();
        for service in routes::services() {
            let name = upstream_variable(service);
            let Some(list) = env.get(&name) else { continue };
            let mut uris = Vec::new();
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let uri: Uri = item.parse().map_err(|e: hyper::http::uri::InvalidUri| {
                    ConfigError::Invalid {
                        name: name.clone(),
                        value: list.clone(),
                        reason: e.to_string(),
                    }
                })?;
                if uri.scheme_str() != Some("http") || uri.authority().is_none() {
                    return Err(ConfigError::Invalid {
                        name: name.clone(),
                        value: list.clone(),
                        reason: "each upstream must be an http://host:port URL".into(),
                    });
                }
                uris.push(uri);
            }
            upstreams.insert(service, uris);
        }
        Ok(Self {
            host: env.parse_or("HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env.parse_or("PORT", DEFAULT_PORT)?,
            upstreams,
            timeout: env.seconds_or("UPSTREAM_TIMEOUT_SECONDS", 30)?,
            http_limits: config::http_limits(env)?,
            metrics_port: env
                .get("METRICS_PORT")
                .map(|_| env.parse_or("METRICS_PORT", 0))
                .transpose()?,
            trusted_proxies: match env.get("TRUSTED_PROXIES") {
                None => vec![
                    IpAddr::from([127, 0, 0, 1]),
                    IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
                ],
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse().map_err(|_| ConfigError::Invalid {
                            name: "TRUSTED_PROXIES".into(),
                            value: list.clone(),
                            reason: format!("{s:?} is not an IP address"),
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_lists_are_parsed_per_service() {
        let env = Env::from_pairs([
            ("UPSTREAM_AUTH", "http://127.0.0.1:3001"),
            (
                "UPSTREAM_TICKETS",
                "http://127.0.0.1:3002, http://127.0.0.1:3012",
            ),
        ]);
        let config = IngressConfig::from_env(&env).unwrap();
        assert_eq!(config.upstreams["auth"].len(), 1);
        assert_eq!(config.upstreams["tickets"].len(), 2);
        assert!(!config.upstreams.contains_key("orders"));
        assert_eq!(config.port, 8080);
    }

    #[test]
    fn a_bad_upstream_is_named() {
        let env = Env::from_pairs([("UPSTREAM_WEB", "ftp://x")]);
        let err = IngressConfig::from_env(&env).unwrap_err();
        assert!(err.to_string().contains("UPSTREAM_WEB"), "{err}");
    }
}
