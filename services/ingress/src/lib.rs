//! The ingress for one machine: the path-prefix routing of docs/spec.md §1 in front of every
//! service, as ingress-nginx does in Kubernetes.

pub mod config;
pub mod proxy;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use common::http::HttpLimits;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::IngressConfig;
use crate::proxy::Proxy;

/// The ingress, bound but not yet serving.
pub struct Ingress {
    listener: TcpListener,
    metrics: Option<TcpListener>,
    router: Router,
    limits: HttpLimits,
}

/// Requests are named in spans and metrics by the service they go to: the ingress knows no
/// finer routes, and raw paths would make a series per ticket.
fn upstream_of(request: &Request) -> common::telemetry::http::Route {
    common::telemetry::http::Route::Named(routes::service_for(request.uri().path()))
}

/// Not for the public: metrics are served on `METRICS_PORT` only.
async fn no_metrics_here() -> common::ApiError {
    common::ApiError::NotFound
}

impl Ingress {
    pub async fn bind(config: &IngressConfig) -> anyhow::Result<Self> {
        let listener = common::http::bind(config.host, config.port).await?;
        let metrics = match config.metrics_port {
            Some(port) => Some(common::http::bind(config.host, port).await?),
            None => None,
        };
        let router = Router::new()
            .route("/metrics", any(no_metrics_here))
            .fallback(proxy::forward)
            .with_state(Arc::new(Proxy::new(config)))
            .layer(axum::middleware::from_fn_with_state(
                upstream_of as common::telemetry::http::RouteOf,
                common::telemetry::http::observe,
            ));
        Ok(Self {
            listener,
            metrics,
            router,
            limits: config.http_limits,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The port `/metrics` is served on, if any.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
            .map(|address| address.port())
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, "ingress listening");
        if let Some(metrics) = self.metrics {
            let stop = shutdown.clone();
            tokio::spawn(common::telemetry::metrics::serve(
                metrics,
                self.limits,
                async move { stop.cancelled().await },
            ));
        }
        common::http::serve(self.listener, self.router, self.limits, shutdown).await?;
        Ok(())
    }
}
