use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use common::bus::ListenOptions;
use common::db::Db;
use common::events::{
    ExpirationComplete, PaymentCreated, TicketCreated, TicketReservationRejected, TicketUpdated,
};
use common::outbox::Outbox;
use common::service::{App, Service};
use common::session::SessionKeys;

use crate::config::OrdersConfig;
use crate::events::expiration_complete::ExpireOrder;
use crate::events::payment_created::CompletePaidOrder;
use crate::events::reservation_rejected::CancelRejectedOrder;
use crate::events::ticket_created::ReplicateCreatedTicket;
use crate::events::ticket_updated::ReplicateUpdatedTicket;
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
    pub window: Duration,
    /// See [`OrdersConfig::max_open_orders`].
    pub max_open_orders: u32,
}

/// The orders service, connected and bound but not yet serving.
pub type Application = App;

pub async fn build(config: OrdersConfig) -> anyhow::Result<Application> {
    build_with(config, ListenOptions::default()).await
}

/// As [`build`], with consumer settings (tests shorten the waits).
pub async fn build_with(
    config: OrdersConfig,
    listen: ListenOptions,
) -> anyhow::Result<Application> {
    let mut service = Service::start(config.service.clone(), store::SCHEMA).await?;
    service.listen_options = listen;
    let (db, outbox) = (service.db.clone(), service.outbox.clone());
    service.listen::<TicketCreated, _>(Arc::new(ReplicateCreatedTicket { db: db.clone() }));
    service.listen::<TicketUpdated, _>(Arc::new(ReplicateUpdatedTicket { db: db.clone() }));
    service.listen::<TicketReservationRejected, _>(Arc::new(CancelRejectedOrder {
        outbox: outbox.clone(),
    }));
    service.listen::<ExpirationComplete, _>(Arc::new(ExpireOrder {
        outbox: outbox.clone(),
    }));
    service.listen::<PaymentCreated, _>(Arc::new(CompletePaidOrder {
        outbox: outbox.clone(),
    }));
    service.relay();
    let state = AppState {
        db,
        outbox,
        session: config.service.session,
        window: config.window,
        max_open_orders: config.max_open_orders,
    };
    let router = routes::orders::router().with_state(state);
    Ok(service.into_app(router, ()))
}
