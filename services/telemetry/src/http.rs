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

use std::borrow::Cow;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::metrics::{self, HTTP_DURATION, HTTP_REQUESTS};
use crate::trace;

/// Names a request's route for spans and metrics: a pattern from a small, fixed set, never
/// the raw path (ids in paths would make a series per ticket).
pub type RouteOf = fn(&Request) -> Cow<'static, str>;

/// The router's pattern that matched (`/api/tickets/{id}`), or `unmatched`.
pub fn matched_route(request: &Request) -> Cow<'static, str> {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(Cow::Borrowed("unmatched"), |path| {
            Cow::Owned(path.as_str().to_owned())
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
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    trace::continue_from_headers(&span, request.headers());
    trace::inject_into_headers(&span, request.headers_mut());
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if metrics::enabled() {
        let elapsed = started.elapsed().as_secs_f64();
        ::metrics::counter!(
            HTTP_REQUESTS,
            "method" => method,
            "route" => route.clone(),
            "status" => status.as_str().to_owned(),
        )
        .increment(1);
        ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed);
    }
    response
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
