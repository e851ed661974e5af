//! The ingress route table (docs/spec.md §1). The Kubernetes Ingress mirrors it, and a test checks
//! that the two agree.

/// A path prefix and the service that answers it.
use common::catalogue::{self, BACKENDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: &'static str,
    pub service: &'static str,
}

/// Prefix routes, matched on whole path segments: each backend service's API prefix
/// (`common::catalogue`).
pub fn routes() -> impl Iterator<Item = Route> {
    BACKENDS.into_iter().filter_map(|backend| {
        Some(Route {
            prefix: backend.api_prefix?,
            service: backend.name,
        })
    })
}

/// Everything else goes to the web app.
pub const DEFAULT_SERVICE: &str = catalogue::WEB;

/// Every service the ingress can route to.
pub fn services() -> impl Iterator<Item = &'static str> {
    routes()
        .map(|r| r.service)
        .chain(std::iter::once(DEFAULT_SERVICE))
}

/// The service for a request path: `/api/users` and `/api/users/…` go to auth, but
/// `/api/usersx` does not.
pub fn service_for(path: &str) -> &'static str {
    routes()
        .find(|route| {
            path.strip_prefix(route.prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map_or(DEFAULT_SERVICE, |route| route.service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_route_to_their_services() {
        assert_eq!(service_for("/api/users/signup"), "auth");
        assert_eq!(service_for("/api/users"), "auth");
        assert_eq!(service_for("/api/tickets/abc"), "tickets");
        assert_eq!(service_for("/api/orders"), "orders");
        assert_eq!(service_for("/api/payments/"), "payments");
    }

    #[test]
    fn everything_else_goes_to_the_web_app() {
        for path in [
            "/",
            "/auth/signin",
            "/api/usersx",
            "/api",
            "/pkg/app.wasm",
            "/tickets/1",
        ] {
            assert_eq!(service_for(path), "web", "{path}");
        }
    }
}
