//! Requests another site made a browser send (cross-site request forgery): a form on
//! another site posting to `/_fn/signin` (signing the visitor in as the attacker), to
//! `/api/users/signout`, or to any other route that changes something. Every GitTix HTTP
//! server refuses them with 403 in the common error shape, before any handler runs, so
//! they change nothing and set or clear no cookie. tower-http has no CSRF layer, hence
//! this middleware.
//!
//! A browser says where a request comes from in `Sec-Fetch-Site`: only `same-origin` (our
//! own pages) and `none` (the user typed or bookmarked it) pass; `same-site` is a sibling
//! subdomain, which is not us either. Browsers without it send `Origin` on a cross-origin
//! POST: it must name the host and port the request was sent to (`Host`, which the
//! ingress passes on unchanged). A request with neither header (curl, the web server's own
//! calls to the services, an old browser) passes.

use axum::body::Body;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The message of the 403.
pub const MESSAGE: &str = "Cross-site requests are not allowed";

/// Refuses a state-changing request (any method but GET, HEAD and OPTIONS) that comes from
/// another site; use with `axum::middleware::from_fn`.
pub async fn refuse(request: Request<Body>, next: Next) -> Response {
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && comes_from_another_site(request.headers(), request.uri().authority()) {
        tracing::warn!(
            method = %request.method(),
            path = request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            fetch_site = ?request.headers().get("sec-fetch-site"),
            "refused a cross-site request"
        );
        let body = format!(r#"{{"errors":[{{"message":"{MESSAGE}"}}]}}"#);
        return (
            StatusCode::FORBIDDEN,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether the request's `Sec-Fetch-Site`, or without it its `Origin`, shows another site.
/// `authority` is the request URI's (HTTP/2 has no `Host` header).
pub fn comes_from_another_site(headers: &HeaderMap, authority: Option<&Authority>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or(authority.map(Authority::as_str));
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) => !same_host_and_port(origin, host),
        _ => true,
    }
}

/// Whether the origin `scheme://host[:port]` names `host[:port]`, a port left out being
/// the scheme's default. `Origin: null` (a sandboxed frame, a redirect from elsewhere)
/// names no host.
fn same_host_and_port(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let parse = |authority: &str| -> Option<(String, u16)> {
        let authority: Authority = authority.parse().ok()?;
        Some((
            authority.host().to_ascii_lowercase(),
            authority.port_u16().unwrap_or(default_port),
        ))
    };
    match (parse(authority), parse(host)) {
        (Some(origin), Some(host)) => origin == host,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_the_browser_sends_it() {
        for (site, refused) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            let request = headers(&[
                ("sec-fetch-site", site),
                ("host", "shop.example"),
                ("origin", "https://shop.example"),
            ]);
            assert_eq!(comes_from_another_site(&request, None), refused, "{site}");
        }
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_name_the_host() {
        let same = headers(&[("host", "shop.example"), ("origin", "https://shop.example")]);
        assert!(!comes_from_another_site(&same, None));
        let default_port = headers(&[
            ("host", "shop.example:443"),
            ("origin", "https://shop.example"),
        ]);
        assert!(!comes_from_another_site(&default_port, None));
        for origin in [
            "https://evil.example",
            "https://shop.example:8443",
            "null",
            "shop.example",
        ] {
            let request = headers(&[("host", "shop.example"), ("origin", origin)]);
            assert!(comes_from_another_site(&request, None), "{origin}");
        }
    }

    #[test]
    fn a_request_with_neither_header_passes() {
        assert!(!comes_from_another_site(
            &headers(&[("host", "shop.example")]),
            None
        ));
    }
}
