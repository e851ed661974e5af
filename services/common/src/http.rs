//! What every service's HTTP side shares: `/healthz` and `/readyz`, request tracing, the
//! body limit, and answers in the common error shape for unknown routes, wrong methods and
//! panics.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;

use crate::bus::Bus;
use crate::db::Db;
use crate::error::ApiError;

/// Request bodies above this are refused with 413 (docs/spec.md §2).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What `/healthz` and `/readyz` check.
///
/// - The database down: the service can answer nothing, so it is not ready (503) and
///   `/readyz` says which dependency fails; `/healthz` (liveness) does not look at it: a
///   restart would not help.
/// - NATS down (no server of the cluster reachable): the service still answers every request
///   (events wait in its outbox and are relayed once NATS is back, consumers resume), so both
///   answer 200 with `"status": "degraded"` and `"failing": ["nats"]`, and recover by
///   themselves when the client reconnects.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    pub db: Option<Db>,
    pub bus: Option<Bus>,
}

impl Readiness {
    /// The names of the dependencies that are not reachable now.
    pub async fn failing(&self) -> Vec<&'static str> {
        let mut failing = Vec::new();
        if !self.database_answers().await {
            failing.push("database");
        }
        if self.bus.as_ref().is_some_and(|bus| !bus.is_connected()) {
            failing.push("nats");
        }
        failing
    }

    async fn database_answers(&self) -> bool {
        let Some(db) = &self.db else { return true };
        let ping = tokio::time::timeout(Duration::from_secs(2), db.query("RETURN 1")).await;
        matches!(ping, Ok(Ok(_)))
    }
}

/// `ok`, `degraded` (something failing, the service still answering) or `unavailable`.
fn health_body(status: &str, failing: &[&str]) -> axum::Json<serde_json::Value> {
    if failing.is_empty() {
        axum::Json(json!({ "status": status }))
    } else {
        axum::Json(json!({ "status": status, "failing": failing }))
    }
}

/// Liveness: cheap (no database round trip, which a probe's one-second timeout could cut).
async fn healthz(State(readiness): State<Readiness>) -> Response {
    let nats_down = readiness
        .bus
        .as_ref()
        .is_some_and(|bus| !bus.is_connected());
    let failing: &[&str] = if nats_down { &["nats"] } else { &[] };
    let status = if failing.is_empty() { "ok" } else { "degraded" };
    health_body(status, failing).into_response()
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    let failing = readiness.failing().await;
    if failing.contains(&"database") {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            health_body("unavailable", &failing),
        )
            .into_response()
    } else if failing.is_empty() {
        health_body("ready", &failing).into_response()
    } else {
        health_body("degraded", &failing).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::status(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// Wraps a service's API routes with health checks, `/metrics`, error-shaped fallbacks, the
/// body limit, the refusal of cross-site requests (`http_limits::cross_site`), panic
/// recovery, and a span and metrics per request that continue the caller's trace
/// (`telemetry::http`).
pub fn service_router(api: Router, readiness: Readiness) -> Router {
    let health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness);
    api.merge(health)
        .merge(telemetry::metrics::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(http_limits::cross_site::refuse))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            telemetry::http::matched_route as telemetry::http::RouteOf,
            telemetry::http::observe,
        ))
}

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: std::net::IpAddr, port: u16) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::new(host, port);
    TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))
}

pub use http_limits::HttpLimits;

/// Serves until `shutdown` is cancelled, then lets requests in flight finish, within
/// `limits` (read timeouts and the connection cap; see [`http_limits`]).
///
/// Every accepted connection gets `TCP_NODELAY` and handlers can extract
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    http_limits::serve(listener, router, limits, async move {
        shutdown.cancelled().await
    })
    .await
}

pub use http_limits::no_delay;

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}

/// A local port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
