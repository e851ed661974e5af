//! One middleware for every HTTP server: a span per request that continues the caller's trace
//! (its `traceparent`) and hands its own to whatever the handler calls, and the request
//! metrics ([`crate::metrics::HTTP_REQUESTS`], [`crate::metrics::HTTP_DURATION`]).
//!
//! ```no_run
//! # let router: axum::Router = axum::Router::new();
//! let router = router.layer(axum::middleware::from_fn_with_state(
//!     telemetry::http::matched_route as telemetry::http::RouteOf,
//!     telemetry::http::observe,
//! ));
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::metrics::{self, HTTP_DURATION, HTTP_REQUESTS};
use crate::trace;

/// A request's route as spans and metrics name it: a pattern from a small, fixed set, never
/// the raw path (ids in paths would make a series per ticket).
#[derive(Debug, Clone)]
pub enum Route {
    /// The router's pattern (shared, not copied).
    Matched(MatchedPath),
    Named(&'static str),
}

impl Route {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(path) => path.as_str(),
            Self::Named(name) => name,
        }
    }
}

/// Names a request's route (see [`Route`]).
pub type RouteOf = fn(&Request) -> Route;

/// The router's pattern that matched (`/api/tickets/{id}`), or `unmatched`.
pub fn matched_route(request: &Request) -> Route {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(Route::Named("unmatched"), |path| {
            Route::Matched(path.clone())
        })
}

fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The middleware: see the module docs. `route_of` names the route.
pub async fn observe(
    State(route_of): State<RouteOf>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = route_of(&request);
    let method = method_label(request.method());
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {}", route.as_str()),
        otel.kind = "server",
        http.request.method = method,
        http.route = route.as_str(),
        http.response.status_code = tracing::field::Empty,
    );
    trace::continue_from_headers(&span, request.headers());
    trace::inject_into_headers(&span, request.headers_mut());
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if metrics::enabled() {
        record(
            method,
            route.as_str(),
            status,
            started.elapsed().as_secs_f64(),
        );
    }
    response
}

/// A (method, status) of one route, with its two metrics.
struct Handles {
    method: &'static str,
    status: http::StatusCode,
    requests: ::metrics::Counter,
    duration: ::metrics::Histogram,
}

thread_local! {
    /// The metrics of each (route, method, status) this thread has answered, looked up by
    /// the route's text: a request allocates nothing and hashes one short string, where the
    /// macros build, hash and look up a key of three labels and one of two every time.
    static HANDLES: RefCell<HashMap<String, Vec<Handles>>> = RefCell::new(HashMap::new());
}

fn record(method: &'static str, route: &str, status: http::StatusCode, seconds: f64) {
    HANDLES.with_borrow_mut(|routes| {
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), Vec::new());
        }
        let known = routes.get_mut(route).expect("inserted above");
        if let Some(handles) = known
            .iter()
            .find(|h| h.method == method && h.status == status)
        {
            handles.requests.increment(1);
            handles.duration.record(seconds);
            return;
        }
        let handles = Handles {
            method,
            status,
            requests: ::metrics::counter!(
                HTTP_REQUESTS,
                "method" => method,
                "route" => route.to_owned(),
                "status" => status.as_str().to_owned(),
            ),
            duration: ::metrics::histogram!(
                HTTP_DURATION,
                "method" => method,
                "route" => route.to_owned(),
            ),
        };
        handles.requests.increment(1);
        handles.duration.record(seconds);
        known.push(handles);
    });
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;
    use crate::trace::testing::Recorder;

    async fn downstream(request: Request) -> String {
        request
            .headers()
            .get(trace::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned()
    }

    fn app() -> Router {
        Router::new()
            .route("/api/tickets/{id}", get(downstream))
            .layer(axum::middleware::from_fn_with_state(
                matched_route as RouteOf,
                observe,
            ))
    }

    const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_continues_the_callers_trace_and_passes_its_own_span_on() {
        let (recorder, _guard) = Recorder::install("tickets");
        let request = Request::get("/api/tickets/t1")
            .header(trace::TRACEPARENT, CALLER)
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        let forwarded = String::from_utf8(
            axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();

        let span = recorder.span("GET /api/tickets/{id}");
        assert_eq!(
            span.span_context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(span.parent_span_id.to_string(), "b7ad6b7169203331");
        // The handler sees the server span as the parent of whatever it calls.
        assert_eq!(
            forwarded,
            format!(
                "00-0af7651916cd43dd8448eb211c80319c-{}-01",
                span.span_context.span_id()
            )
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn without_a_recorder_the_callers_trace_passes_through_unchanged() {
        let request = Request::get("/api/tickets/t1")
            .header(trace::TRACEPARENT, CALLER)
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(body, CALLER.as_bytes());
    }
}
