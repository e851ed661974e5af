//! The web server: renders every page of the app on the server, serves the compiled
//! WebAssembly and CSS, and runs the app's server functions (which call the services through
//! the ingress, see `app::api::backend`).

use std::time::Duration;

use anyhow::Context as _;
use app::api::backend::Backend;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::handler::Handler as _;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
pub use http_limits::HttpLimits;
use leptos::config::{LeptosOptions, get_configuration};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The Leptos options from `LEPTOS_CONFIG` (default `Leptos.toml`) with `LEPTOS_*`
/// variables on top, or from the variables alone when there is no file.
pub fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let file = std::env::var("LEPTOS_CONFIG").unwrap_or_else(|_| "Leptos.toml".into());
    let options = if std::path::Path::new(&file).exists() {
        get_configuration(Some(&file))
    } else {
        get_configuration(None)
    };
    Ok(options
        .with_context(|| {
            format!("reading the Leptos configuration ({file} and LEPTOS_* variables)")
        })?
        .leptos_options)
}

/// The backend client for `INGRESS_URL` (required).
pub fn backend_from_env() -> anyhow::Result<Backend> {
    let url = std::env::var("INGRESS_URL").context(
        "environment variable INGRESS_URL is required: the ingress's address, e.g. http://127.0.0.1:8080",
    )?;
    Backend::new(&url).map_err(anyhow::Error::msg)
}

/// How long a page may take to render before the browser gets a "try again" page instead:
/// longer than the backend client's own 30-second timeout would only keep people waiting.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(20);

/// Pages, server functions (under `/_fn`), static files and `/healthz`. A page that has not
/// rendered within `page_deadline` answers 503 with a static "try again" page. A
/// state-changing server function call from another site is refused (see
/// `http_limits::cross_site`), and every answer carries the `SECURITY_HEADERS`.
pub fn router(options: LeptosOptions, backend: Backend, page_deadline: Duration) -> Router {
    let routes = generate_route_list(App);
    let context = move || provide_context(backend.clone());
    let server_fns = {
        let context = context.clone();
        move |request: Request<Body>| {
            leptos_axum::handle_server_fns_with_context(context.clone(), request)
        }
    };
    // The site's files (the WebAssembly, JS, CSS and `public/`), each in the best encoding
    // the browser accepts (the Brotli and gzip copies `.ci/build-site` writes); any other
    // path gets the app's not-found page, from leptos_axum's handler. That handler is not
    // used for the files themselves: for a file it found, it (0.8.10) adds the status and
    // headers of the Leptos response options it finds from a new reactive owner, whose
    // parent is whatever render is current on the thread. Under load a stylesheet then went
    // out with a concurrent page's `302` and `Location`, and the browser followed it to the
    // sign-in page and refused the HTML as a stylesheet.
    let not_found = leptos_axum::file_and_error_handler_with_context::<LeptosOptions, _>(
        context.clone(),
        shell,
    )
    .with_state(options.clone());
    let static_files = ServeDir::new(&*options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    // Layers apply to the routes added before them: the deadline covers the pages only.
    let router = Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .layer(axum::middleware::from_fn(
            move |request: Request<Body>, next: Next| within(page_deadline, request, next),
        ))
        .route("/healthz", get(healthz))
        .route("/_fn/{*name}", post(server_fns.clone()).get(server_fns))
        .fallback_service(static_files)
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(vary_on_encoding))
        .layer(axum::middleware::from_fn(http_limits::cross_site::refuse))
        .layer(axum::middleware::from_fn_with_state(
            matched_route as telemetry::http::RouteOf,
            telemetry::http::observe,
        ));
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        })
        .with_state(options)
}

/// Headers on every answer: no MIME sniffing, no full URLs (with their ticket and order
/// ids) in the `Referer` sent to other sites, and no framing by any site (clickjacking):
/// `frame-ancestors` for today's browsers, `X-Frame-Options` for older ones. The policy
/// does not restrict scripts, styles or connections: the hydration scripts are inline and
/// carry no nonce yet. A handler that sets one of these itself keeps its own.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Every answer may come in another encoding for another `Accept-Encoding`: pages are
/// compressed on the fly, and the static files have Brotli and gzip copies (see
/// `.ci/build-site`) that the file handler picks from without saying so. `Vary` tells the
/// caches between here and the browser to keep one copy per encoding.
async fn vary_on_encoding(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let varies = response
        .headers()
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim() == "*" || name.trim().eq_ignore_ascii_case("accept-encoding"));
    if !varies {
        response.headers_mut().append(
            header::VARY,
            header::HeaderValue::from_static("accept-encoding"),
        );
    }
    response
}

/// Runs the page render, or answers 503 when it outlasts `deadline`. Pages render in
/// Leptos's async mode, so nothing has been sent yet when the deadline passes. The backend
/// client's timeouts bound every call a page makes; this bounds the render itself, which
/// has been seen to stall in tests that render several pages at once in one process.
async fn within(deadline: Duration, request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(path, ?deadline, "the page did not render in time");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::RETRY_AFTER, "5"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                Html(STALLED_PAGE),
            )
                .into_response()
        }
    }
}

const STALLED_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Temporarily unavailable · GitTix</title><link rel="stylesheet" href="/pkg/gittix.css"/></head>
<body><main class="container"><section class="card notice">
<h1>We'll be right back</h1>
<p>This page took too long to load. Please try again in a moment.</p>
<p><a href="">Try again</a></p>
</section></main></body></html>"#;

/// Serves `router` on `listener` until `shutdown` completes, within `limits` (read
/// timeouts and the connection cap, from `HTTP_*` variables: [`HttpLimits::from_env`]),
/// with `TCP_NODELAY` on every connection: pages stream in several writes, and without it
/// each one after the first waits for the browser's (or the ingress's) delayed
/// acknowledgement (what that cost: BENCHMARKS.md).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    http_limits::serve(listener, router, limits, shutdown).await
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Requests are named in spans and metrics by the route that matched (`/tickets/{id}`,
/// `/_fn/{*name}`); static files and unknown paths as `unmatched`.
pub use telemetry::http::matched_route;

/// `METRICS_PORT`, if set: where `/metrics` is served.
pub fn metrics_port() -> anyhow::Result<Option<u16>> {
    std::env::var("METRICS_PORT")
        .ok()
        .map(|port| {
            port.trim()
                .parse()
                .with_context(|| format!("METRICS_PORT {port:?} is not a port number"))
        })
        .transpose()
}

/// `server healthcheck`: the health of this web server (on the port of `LEPTOS_SITE_ADDR`),
/// for container health checks without curl.
pub fn healthcheck_if_asked() {
    healthcheck::run_if_asked("LEPTOS_SITE_ADDR", 3000);
}
