use std::time::Duration;

use common::bus::Bus;
use common::config::ServiceConfig;
use common::db::{Db, DbConfig, new_id};
use common::events::{Event, OrderCreated, OrderStatus, OrderedTicket};
use common::money::Price;
use common::testing::{NatsServer, published};
use expiration::config::ExpirationConfig;
use expiration::scheduler::Scheduler;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// A running expiration service.
pub struct Running {
    pub scheduler: Scheduler,
    pub db: Db,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Fires whatever is still pending, with a clock two hours ahead; returns how many fired.
    pub async fn fire_everything_pending(&self) -> usize {
        self.scheduler
            .fire_due(expiration::scheduler::now_ms() + 7_200_000)
            .await
            .unwrap()
    }

    /// Stops it the way SIGTERM does, and waits until it has.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
        // Let the embedded datastore close its files.
        drop(self.db);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn config(nats: &NatsServer, db: DbConfig) -> ServiceConfig {
    common::testing::service_config("expiration", nats, db)
}

pub async fn start(nats: &NatsServer, db: DbConfig) -> Running {
    common::telemetry::init_for_tests();
    let config = ExpirationConfig {
        service: config(nats, db),
    };
    let app = expiration::startup::build_with(config, Default::default())
        .await
        .expect("the app builds");
    let (scheduler, db, shutdown) = (app.extra().clone(), app.db(), app.shutdown_token());
    let task = tokio::spawn(app.run_until_stopped());
    Running {
        scheduler,
        db,
        shutdown,
        task,
    }
}

/// A NATS server, the service on in-memory storage, and a client of the bus.
pub async fn in_memory() -> (NatsServer, Running, Bus) {
    let nats = NatsServer::start();
    let running = start(&nats, DbConfig::memory("expiration")).await;
    let bus = Bus::connect(&nats.url(), "test").await.unwrap();
    (nats, running, bus)
}

pub fn order_created(expires_at: OffsetDateTime) -> OrderCreated {
    OrderCreated {
        id: new_id(),
        version: 0,
        status: OrderStatus::Created,
        user_id: "buyer".into(),
        expires_at,
        ticket: OrderedTicket {
            id: new_id(),
            price: Price::from_cents(100).unwrap(),
            version: 0,
        },
    }
}

pub async fn publish<E: Event>(bus: &Bus, event: &E) {
    bus.publish(&new_id(), event).await.unwrap();
}

pub async fn fired(bus: &Bus) -> Vec<String> {
    published::<common::events::ExpirationComplete>(bus)
        .await
        .into_iter()
        .map(|e| e.order_id)
        .collect()
}

/// Whether the order's expiration is stored and not yet done.
pub async fn pending(db: &Db, order_id: &str) -> bool {
    let rows: Vec<bool> = db
        .query("SELECT VALUE done FROM $rid")
        .bind(("rid", common::db::RecordId::new("expiration", order_id)))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    rows == [false]
}

/// Whether the order's expiration is stored (pending or done).
pub async fn stored(db: &Db, order_id: &str) -> bool {
    let rows: Vec<common::db::RecordId> = db
        .query("SELECT VALUE id FROM $rid")
        .bind(("rid", common::db::RecordId::new("expiration", order_id)))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    !rows.is_empty()
}
