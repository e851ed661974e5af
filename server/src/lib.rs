//! The web server: renders every page of the app on the server, serves the compiled
//! WebAssembly and CSS, and runs the app's server functions (which call the services through
//! the ingress, see `app::api::backend`).

use anyhow::Context as _;
use app::api::backend::Backend;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use leptos::config::{LeptosOptions, get_configuration};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;

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

/// Pages, server functions (under `/_fn`), static files and `/healthz`.
pub fn router(options: LeptosOptions, backend: Backend) -> Router {
    let routes = generate_route_list(App);
    let context = move || provide_context(backend.clone());
    let server_fns = {
        let context = context.clone();
        move |request: Request<Body>| {
            leptos_axum::handle_server_fns_with_context(context.clone(), request)
        }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/_fn/{*name}", post(server_fns.clone()).get(server_fns))
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .layer(CompressionLayer::new())
        .with_state(options)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Logging as the services do it: `RUST_LOG`, and `LOG_FORMAT=json` for JSON lines.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// `server healthcheck`: the health of this web server (on the port of `LEPTOS_SITE_ADDR`),
/// for container health checks without curl.
pub fn healthcheck_if_asked() {
    healthcheck::run_if_asked("LEPTOS_SITE_ADDR", 3000);
}
