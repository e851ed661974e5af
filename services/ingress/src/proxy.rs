//! The reverse proxy: forwards method, path, query, headers (the cookie included) and body to
//! an instance of the routed service, and passes its answer back (its `Set-Cookie`
//! included). Instances of a service are used in turn; one that refuses the connection is
//! skipped. No instance reachable: 502 in the common error shape.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use common::ApiError;
use common::http::BODY_LIMIT;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::IngressConfig;
use crate::routes;

/// Headers that describe one connection and are never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

struct Upstream {
    instances: Vec<Uri>,
    next: AtomicUsize,
}

pub struct Proxy {
    client: Client<HttpConnector, Full<Bytes>>,
    upstreams: HashMap<&'static str, Upstream>,
    timeout: Duration,
    trusted_proxies: Vec<IpAddr>,
}

impl Proxy {
    pub fn new(config: &IngressConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(http_limits::CLIENT_IDLE_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build(connector);
        let upstreams = config
            .upstreams
            .iter()
            .map(|(service, instances)| {
                (
                    *service,
                    Upstream {
                        instances: instances.clone(),
                        next: AtomicUsize::new(0),
                    },
                )
            })
            .collect();
        Self {
            client,
            upstreams,
            timeout: config.timeout,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }
}

fn unavailable() -> Response {
    ApiError::status(StatusCode::BAD_GATEWAY, "Service unavailable").into_response()
}

#[tracing::instrument(skip_all, fields(method = %request.method(), path = %request.uri().path(), service))]
pub async fn forward(
    State(proxy): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let service = routes::service_for(request.uri().path());
    tracing::Span::current().record("service", service);
    let Some(upstream) = proxy
        .upstreams
        .get(service)
        .filter(|u| !u.instances.is_empty())
    else {
        tracing::warn!("no instance configured");
        return unavailable();
    };
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return ApiError::PayloadTooLarge.into_response();
    }
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return ApiError::PayloadTooLarge.into_response();
        }
        Err(_) => return ApiError::bad_request("Could not read the request body").into_response(),
    };
    let headers = forwarded_headers(&parts.headers, peer.ip(), &proxy.trusted_proxies);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();

    let count = upstream.instances.len();
    let first = upstream.next.fetch_add(1, Ordering::Relaxed);
    // A reused keep-alive connection can be closed by the instance just as a request goes
    // out on it. A GET or HEAD changes nothing, so it is sent once more; anything else
    // might have been applied, so its caller hears of the failure instead.
    let safe = matches!(parts.method, Method::GET | Method::HEAD);
    let mut resent = false;
    for attempt in 0..count + usize::from(safe) {
        let base = &upstream.instances[(first + attempt) % count];
        let Ok(uri) = format!(
            "{}{}",
            base.to_string().trim_end_matches('/'),
            path_and_query
        )
        .parse::<Uri>() else {
            return ApiError::NotFound.into_response();
        };
        let mut outgoing = hyper::Request::new(Full::new(body.clone()));
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = uri;
        *outgoing.version_mut() = Version::HTTP_11;
        *outgoing.headers_mut() = headers.clone();
        match tokio::time::timeout(proxy.timeout, proxy.client.request(outgoing)).await {
            Ok(Ok(response)) => {
                let (mut parts, incoming) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                return Response::from_parts(parts, Body::new(incoming));
            }
            Ok(Err(error)) if error.is_connect() => {
                tracing::warn!(instance = %base, error = %error, "instance unreachable, trying the next");
            }
            Ok(Err(error)) if safe && !resent => {
                resent = true;
                tracing::info!(instance = %base, error = %error, "upstream failed, sending once more");
            }
            Ok(Err(error)) => {
                tracing::warn!(instance = %base, error = %error, "upstream failed");
                return unavailable();
            }
            Err(_) => {
                tracing::warn!(instance = %base, "upstream timed out");
                return ApiError::status(StatusCode::GATEWAY_TIMEOUT, "Service timed out")
                    .into_response();
            }
        }
    }
    unavailable()
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// last address in `X-Forwarded-For` that is not a trusted proxy (walking from the right,
/// as each proxy appends the address it saw).
fn client_address(incoming: &HeaderMap, peer: IpAddr, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = incoming
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .unwrap_or(peer)
}

/// The request's headers minus hop-by-hop ones, plus `X-Forwarded-For`, `X-Real-IP`,
/// `X-Forwarded-Proto` and `X-Forwarded-Host`. `X-Real-IP` is the client's address as this
/// edge determines it: a client cannot choose it unless it is a trusted proxy.
fn forwarded_headers(incoming: &HeaderMap, peer: IpAddr, trusted: &[IpAddr]) -> HeaderMap {
    let mut headers = incoming.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::CONTENT_LENGTH);
    let client = client_address(incoming, peer, trusted).to_string();
    let ip = peer.to_string();
    let forwarded_for = match incoming
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(previous) => format!("{previous}, {ip}"),
        None => ip.clone(),
    };
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("x-forwarded-for", &forwarded_for);
    set("x-real-ip", &client);
    set("x-forwarded-proto", "http");
    if let Some(host) = incoming.get(header::HOST).and_then(|v| v.to_str().ok()) {
        set("x-forwarded-host", host);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped_and_forwarding_headers_added() {
        let mut incoming = HeaderMap::new();
        incoming.insert(header::COOKIE, HeaderValue::from_static("session=abc"));
        incoming.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        incoming.insert("x-secret", HeaderValue::from_static("1"));
        incoming.insert("x-real-ip", HeaderValue::from_static("6.6.6.6"));
        incoming.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let out = forwarded_headers(&incoming, "192.168.1.5".parse().unwrap(), &[]);
        assert_eq!(out[header::COOKIE], "session=abc");
        assert!(!out.contains_key(header::CONNECTION));
        assert!(!out.contains_key("x-secret"));
        assert_eq!(out["x-real-ip"], "192.168.1.5");
        assert_eq!(out["x-forwarded-for"], "10.0.0.1, 192.168.1.5");
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client_address_and_others_cannot() {
        let trusted: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let mut incoming = HeaderMap::new();
        incoming.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        let via_proxy = forwarded_headers(&incoming, "127.0.0.1".parse().unwrap(), &trusted);
        assert_eq!(via_proxy["x-real-ip"], "203.0.113.9");
        let direct = forwarded_headers(&incoming, "198.51.100.7".parse().unwrap(), &trusted);
        assert_eq!(direct["x-real-ip"], "198.51.100.7");
        let no_header =
            forwarded_headers(&HeaderMap::new(), "127.0.0.1".parse().unwrap(), &trusted);
        assert_eq!(no_header["x-real-ip"], "127.0.0.1");
    }
}
