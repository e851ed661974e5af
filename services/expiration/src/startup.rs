use std::sync::Arc;

use axum::Router;
use common::bus::ListenOptions;
use common::config::ServiceConfig;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated};
use common::service::Service;
use tokio_util::sync::CancellationToken;

use crate::events::order_created::ScheduleExpiration;
use crate::events::order_finished::DropExpiration;
use crate::scheduler::Scheduler;
use crate::store;

/// The expiration service: events in, `expiration:complete` out; HTTP only for health.
pub struct Application {
    service: Service,
    scheduler: Scheduler,
}

impl Application {
    pub async fn build(config: ServiceConfig) -> anyhow::Result<Self> {
        Self::build_with(config, ListenOptions::default()).await
    }

    pub async fn build_with(config: ServiceConfig, listen: ListenOptions) -> anyhow::Result<Self> {
        let mut service = Service::start(config, store::SCHEMA).await?;
        service.listen_options = listen;
        let scheduler = Scheduler::new(service.outbox.clone());
        let db = service.db.clone();
        service.listen::<OrderCreated, _>(Arc::new(ScheduleExpiration {
            scheduler: scheduler.clone(),
            db: db.clone(),
        }));
        let drop = Arc::new(DropExpiration { db });
        service.listen::<OrderCancelled, _>(drop.clone());
        service.listen::<OrderCompleted, _>(drop);
        service.relay();
        let runner = scheduler.clone();
        service.spawn(move |shutdown| runner.run(shutdown));
        Ok(Self { service, scheduler })
    }

    /// The scheduler, so that tests can drive it deterministically.
    pub fn scheduler(&self) -> Scheduler {
        self.scheduler.clone()
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
        self.service.run(Router::new()).await
    }
}
