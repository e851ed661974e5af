use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use common::bus::ListenOptions;
use common::config::ServiceConfig;
use common::db::Db;
use common::events::{OrderCancelled, OrderCompleted, OrderCreated};
use common::outbox::Outbox;
use common::service::{App, Service};
use common::session::SessionKeys;

use crate::config::{DEFAULT_MAX_LISTINGS_PER_HOUR, TicketsConfig};
use crate::events::order_cancelled::UnlockTicket;
use crate::events::order_completed::MarkSold;
use crate::events::order_created::LockTicket;
use crate::listing::{self, Listing};
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

/// Settings tests change; production uses the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: ListenOptions,
    /// See [`listing::MAX_AGE`].
    pub listing_max_age: Duration,
    /// See [`TicketsConfig::max_listings_per_hour`].
    pub max_listings_per_hour: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: ListenOptions::default(),
            listing_max_age: listing::MAX_AGE,
            max_listings_per_hour: DEFAULT_MAX_LISTINGS_PER_HOUR,
        }
    }
}

/// The tickets service, connected and bound but not yet serving.
pub type Application = App;

pub async fn build(config: TicketsConfig) -> anyhow::Result<Application> {
    let options = Options {
        max_listings_per_hour: config.max_listings_per_hour,
        ..Options::default()
    };
    build_with(config.service, options).await
}

/// As [`build`], with other settings (tests shorten the waits).
pub async fn build_with(config: ServiceConfig, options: Options) -> anyhow::Result<Application> {
    let schema = format!("{}\n{}", store::SCHEMA, quota::SCHEMA);
    let mut service = Service::start(config.clone(), &schema).await?;
    service.listen_options = options.listen;
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
    let listing = Arc::new(Listing::new(outbox.clone(), options.listing_max_age));
    let bus = service.bus.clone();
    service.spawn(|shutdown| listing.clone().follow(bus, shutdown));
    let state = AppState {
        db: service.db.clone(),
        outbox,
        session: config.session,
        listing,
        listing_quota: Arc::new(ListingQuota::new(options.max_listings_per_hour)),
    };
    let router = routes::tickets::router().with_state(state);
    Ok(service.into_app(router, ()))
}
