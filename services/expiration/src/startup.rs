use std::sync::Arc;

use axum::Router;
use common::bus::ListenOptions;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated};
use common::service::{App, Service};

use crate::config::ExpirationConfig;
use crate::events::order_created::ScheduleExpiration;
use crate::events::order_finished::DropExpiration;
use crate::scheduler::Scheduler;
use crate::store;

/// The expiration service: events in, `expiration:complete` out; HTTP only for health. Its
/// extra is the scheduler, so that tests can drive it deterministically.
pub type Application = App<Scheduler>;

pub async fn build(config: ExpirationConfig) -> anyhow::Result<Application> {
    build_with(config, ListenOptions::default()).await
}

/// As [`build`], with consumer settings (tests shorten the waits).
pub async fn build_with(
    config: ExpirationConfig,
    listen: ListenOptions,
) -> anyhow::Result<Application> {
    let mut service = Service::start(config.service, store::SCHEMA).await?;
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
    service.sample_count(
        common::telemetry::metrics::EXPIRATIONS_PENDING,
        "SELECT count() AS n FROM expiration WHERE done = false GROUP ALL",
        None,
    );
    service.relay();
    let runner = scheduler.clone();
    service.spawn(move |shutdown| runner.run(shutdown));
    Ok(service.into_app(Router::new(), scheduler))
}
