use axum::Router;
use axum::extract::FromRef;
use common::db::Db;
use common::outbox::Outbox;
use common::service::Service;
use common::session::SessionKeys;

use crate::config::AuthConfig;
use crate::limits::Limiter;
use crate::password::Hasher;
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
    pub hasher: Hasher,
    pub limiter: Limiter,
}

/// The auth service, connected and bound but not yet serving.
pub struct Application {
    service: Service,
    router: Router,
}

impl Application {
    pub async fn build(config: AuthConfig) -> anyhow::Result<Self> {
        let service = Service::start(config.service.clone(), store::SCHEMA).await?;
        let state = AppState {
            db: service.db.clone(),
            outbox: service.outbox.clone(),
            session: config.service.session.clone(),
            hasher: Hasher::new(config.cost)?,
            limiter: Limiter::new(config.limits),
        };
        let router = routes::users::router().with_state(state);
        Ok(Self { service, router })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.service.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.service.run(self.router).await
    }
}
