use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::bus::ListenOptions;
use common::config::ServiceConfig;
use common::db::Db;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated};
use common::outbox::Outbox;
use common::service::Service;
use common::session::SessionKeys;
use tokio_util::sync::CancellationToken;

use crate::events::order_cancelled::UnlockTicket;
use crate::events::order_completed::MarkSold;
use crate::events::order_created::LockTicket;
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
}

/// The tickets service, connected and bound but not yet serving.
pub struct Application {
    service: Service,
    router: Router,
}

impl Application {
    pub async fn build(config: ServiceConfig) -> anyhow::Result<Self> {
        Self::build_with(config, ListenOptions::default()).await
    }

    /// As [`Application::build`], with consumer settings (tests shorten the waits).
    pub async fn build_with(config: ServiceConfig, listen: ListenOptions) -> anyhow::Result<Self> {
        let mut service = Service::start(config.clone(), store::SCHEMA).await?;
        service.listen_options = listen;
        let outbox = service.outbox.clone();
        service.listen::<OrderCreated, _>(Arc::new(LockTicket {
            outbox: outbox.clone(),
        }));
        service.listen::<OrderCancelled, _>(Arc::new(UnlockTicket {
            outbox: outbox.clone(),
        }));
        service.listen::<OrderCompleted, _>(Arc::new(MarkSold {
            outbox: outbox.clone(),
        }));
        service.relay();
        let state = AppState {
            db: service.db.clone(),
            outbox,
            session: config.session,
        };
        let router = routes::tickets::router().with_state(state);
        Ok(Self { service, router })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// The service's database, for tests that look behind the API.
    pub fn db(&self) -> common::db::Db {
        self.service.db.clone()
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.service.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.service.run(self.router).await
    }
}
