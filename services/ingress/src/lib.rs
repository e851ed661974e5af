//! The ingress for one machine: the path-prefix routing of docs/spec.md §1 in front of every
//! service, as ingress-nginx does in Kubernetes.

pub mod config;
pub mod proxy;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use common::http::HttpLimits;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::IngressConfig;
use crate::proxy::Proxy;

/// The ingress, bound but not yet serving.
pub struct Ingress {
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
}

impl Ingress {
    pub async fn bind(config: &IngressConfig) -> anyhow::Result<Self> {
        let listener = common::http::bind(config.host, config.port).await?;
        let router = Router::new()
            .fallback(proxy::forward)
            .with_state(Arc::new(Proxy::new(config)));
        Ok(Self {
            listener,
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

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, "ingress listening");
        common::http::serve(self.listener, self.router, self.limits, shutdown).await?;
        Ok(())
    }
}
