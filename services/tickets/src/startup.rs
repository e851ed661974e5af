use std::sync::Arc;

use axum::extract::FromRef;
use common::bus::ListenOptions;
use common::db::Db;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated};
use common::outbox::Outbox;
use common::service::{App, Service};
use common::session::SessionKeys;

use crate::config::TicketsConfig;
use crate::events::order_cancelled::UnlockTicket;
use crate::events::order_completed::MarkSold;
use crate::events::order_created::LockTicket;
use crate::listing::Listing;
use crate::quota::{self, ListingQuota};
use crate::{routes, store};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub outbox: Outbox,
    pub session: SessionKeys,
    pub listing: Arc<Listing>,
    pub listing_quota: Arc<ListingQuota>,
}

/// The tickets service, connected and bound but not yet serving.
pub type Application = App;

pub async fn build(config: TicketsConfig) -> anyhow::Result<Application> {
    build_with(config, ListenOptions::default()).await
}

/// As [`build`], with other settings (tests shorten the waits).
pub async fn build_with(
    config: TicketsConfig,
    listen: ListenOptions,
) -> anyhow::Result<Application> {
    let schema = format!("{}\n{}", store::SCHEMA, quota::SCHEMA);
    let mut service = Service::start(config.service.clone(), &schema).await?;
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
    let listing = Arc::new(Listing::new(outbox.clone(), config.listing_max_age));
    let bus = service.bus.clone();
    service.spawn(|shutdown| listing.clone().follow(bus, shutdown));
    let state = AppState {
        db: service.db.clone(),
        outbox,
        session: config.service.session,
        listing,
        listing_quota: Arc::new(ListingQuota::new(config.max_listings_per_hour)),
    };
    let router = routes::tickets::router().with_state(state);
    Ok(service.into_app(router, ()))
}
